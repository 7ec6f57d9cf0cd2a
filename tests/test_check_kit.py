"""The kit: USB ids from sysfs, the mouse recognised by its HID boot protocol, the 4G key
asked through mmcli (JSON as ModemManager prints it), the kit object for the record."""

from __future__ import annotations

import json
from typing import Any

from checks.health import run_health_checks
from checks.kit import (
    build_kit,
    is_modem,
    is_mouse,
    parse_mmcli_modem,
    query_modem,
    read_usb_devices,
)
from checks.policy import load_default_policy
from checks.probe import build_report
from checks.source import CaptureSource
from checks.system import CommandResult
from tests.conftest import CaptureFactory

USB = "sys/bus/usb/devices"


def usb_tree() -> dict[str, str]:
    files: dict[str, str] = {}

    def device(
        name: str, vid: str, pid: str, product: str, interfaces: list[tuple[str, str, str]]
    ) -> None:
        files.update(
            {
                f"{USB}/{name}/idVendor": vid + "\n",
                f"{USB}/{name}/idProduct": pid + "\n",
                f"{USB}/{name}/product": product + "\n",
            }
        )
        for i, (cls, sub, proto) in enumerate(interfaces):
            iface = f"{USB}/{name}:1.{i}"
            files.update(
                {
                    f"{iface}/bInterfaceClass": cls + "\n",
                    f"{iface}/bInterfaceSubClass": sub + "\n",
                    f"{iface}/bInterfaceProtocol": proto + "\n",
                }
            )

    device("usb1", "1d6b", "0002", "EHCI Host Controller", [("09", "00", "00")])
    device("1-1", "046d", "c077", "USB Optical Mouse", [("03", "01", "02")])
    device(
        "1-2",
        "12d1",
        "1506",
        "HUAWEI_MOBILE",
        [("ff", "02", "16"), ("ff", "02", "01"), ("08", "06", "50")],
    )
    device("1-3", "04f2", "b5ce", "Integrated Camera", [("0e", "01", "00"), ("0e", "02", "00")])
    device("1-4", "413c", "2113", "Dell KB216 Wired Keyboard", [("03", "01", "01")])
    return files


MMCLI_MODEM = {
    "modem": {
        "3gpp": {"imei": "867648043678091", "operator-name": "Orange F"},
        "generic": {
            "manufacturer": "huawei",
            "model": "E3372",
            "equipment-identifier": "867648043678091",
            "sim": "/org/freedesktop/ModemManager1/SIM/0",
        },
    }
}


class Mmcli:
    """ModemManager answering as it does on a bench with one modem."""

    def __init__(self, modem: dict[str, Any] | None = MMCLI_MODEM, installed: bool = True) -> None:
        self.modem = modem
        self.installed = installed
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str], timeout: float = 30) -> CommandResult:
        self.calls.append(list(argv))
        if not self.installed:
            return CommandResult(tuple(argv), None, b"", b"", 0.0, error="mmcli: not installed")
        if argv[1:] == ["-L", "-J"]:
            listed = ["/org/freedesktop/ModemManager1/Modem/3"] if self.modem else []
            return CommandResult(
                tuple(argv), 0, json.dumps({"modem-list": listed}).encode(), b"", 0.1
            )
        assert argv[1:] == ["-m", "3", "-J"]
        return CommandResult(tuple(argv), 0, json.dumps(self.modem).encode(), b"", 0.1)


def test_usb_devices_from_sysfs(make_capture: CaptureFactory) -> None:
    devices = read_usb_devices(CaptureSource(make_capture(usb_tree())))
    assert [d.usb_id for d in devices] == ["046d:c077", "12d1:1506", "04f2:b5ce", "413c:2113"]
    assert [d.usb_id for d in devices if is_mouse(d)] == ["046d:c077"]
    assert [d.usb_id for d in devices if is_modem(d)] == ["12d1:1506"]


def test_modem_through_mmcli(make_capture: CaptureFactory) -> None:
    devices = read_usb_devices(CaptureSource(make_capture(usb_tree())))
    modem_usb = next(d for d in devices if is_modem(d))
    runner = Mmcli()
    modem = query_modem(runner, modem_usb)
    assert modem is not None
    assert (modem.imei, modem.sim_present, modem.operator) == ("867648043678091", True, "Orange F")
    assert (modem.usb_id, modem.name, modem.queried_with) == ("12d1:1506", "huawei E3372", "mmcli")
    no_sim = json.loads(json.dumps(MMCLI_MODEM))
    no_sim["modem"]["generic"]["sim"] = "--"
    assert parse_mmcli_modem(json.dumps(no_sim))["sim_present"] is False


def test_modem_without_modemmanager_is_recorded_by_usb_id_only(
    make_capture: CaptureFactory,
) -> None:
    devices = read_usb_devices(CaptureSource(make_capture(usb_tree())))
    modem = query_modem(Mmcli(installed=False), next(d for d in devices if is_modem(d)))
    assert modem is not None
    assert (modem.usb_id, modem.imei, modem.queried_with) == ("12d1:1506", None, None)
    assert modem.note == "ModemManager (mmcli) not available"
    assert query_modem(Mmcli(installed=False), None) is None


def test_kit_object(make_capture: CaptureFactory) -> None:
    devices = read_usb_devices(CaptureSource(make_capture(usb_tree())))
    modem = query_modem(Mmcli(), next(d for d in devices if is_modem(d)))
    kit = build_kit(devices, modem, mouse_confirmed=True, sleeve=True)
    doc = kit.to_dict()
    assert doc["complete"] is True and doc["missing"] == []
    assert doc["mouse"] == {
        "usb_id": "046d:c077",
        "name": "USB Optical Mouse",
        "serial": None,
        "confirmed": True,
    }
    assert doc["modem"]["imei"] == "867648043678091"
    assert json.loads(json.dumps(doc)) == doc  # ready for the record
    unconfirmed = build_kit(devices, modem, mouse_confirmed=None, sleeve=None)
    assert unconfirmed.missing == ["mouse-unconfirmed", "sleeve-unconfirmed"]
    no_mouse = build_kit(
        [d for d in devices if not is_mouse(d)],
        None,
        mouse_confirmed=None,
        sleeve=True,
        want_modem=True,
    )
    assert no_mouse.missing == ["mouse", "modem"]


def test_kit_check_from_a_capture(make_capture: CaptureFactory) -> None:
    """The kit checks are for the live bench; from a capture they are skipped, with the reason."""
    source = CaptureSource(make_capture(usb_tree()))
    outcome = run_health_checks(build_report(source), source, load_default_policy(), only=["kit"])
    assert [r.status for r in outcome.results] == ["skip", "skip"] and outcome.kit is None


def test_no_mouse_plugged_in(make_capture: CaptureFactory) -> None:
    from checks.source import LiveSource

    tree = {k: v for k, v in usb_tree().items() if "/1-1" not in k}
    source = LiveSource(make_capture(tree), run_tools=False)
    outcome = run_health_checks(
        build_report(source),
        source,
        load_default_policy(),
        only=["kit"],
        run=Mmcli(),
        unattended=True,
    )
    assert outcome.results[0].status == "warn"
    assert outcome.results[0].verdict.message.render("fr") == "Kit incomplet : souris."


def test_kit_check_unattended_records_usb_ids_and_asks_mmcli(make_capture: CaptureFactory) -> None:
    """A live source over a sysfs tree (the root is a parameter), mmcli answering."""
    from checks.source import LiveSource

    root = make_capture(usb_tree())
    source = LiveSource(root, run_tools=False)
    runner = Mmcli()
    outcome = run_health_checks(
        build_report(source),
        source,
        load_default_policy(),
        only=["kit"],
        run=runner,
        unattended=True,
    )
    assert [r.id for r in outcome.results] == ["kit", "kit.confirm"]
    result, confirm = outcome.results
    assert result.status == "pass"
    assert result.verdict.message.render("en") == (
        "Kit plugged in and recorded: mouse 046d:c077, 4G key 12d1:1506 "
        "(to be confirmed by the technician)."
    )
    assert confirm.status == "skip"  # unattended
    assert outcome.kit is not None
    assert outcome.kit["missing"] == ["mouse-unconfirmed", "sleeve-unconfirmed"]
    assert outcome.kit["mouse"]["usb_id"] == "046d:c077"
    assert outcome.kit["modem"]["imei"] == "867648043678091"
    assert ["mmcli", "-L", "-J"] in runner.calls
    assert outcome.to_dict()["kit"] == outcome.kit


def test_kit_guided_on_a_terminal(make_capture: CaptureFactory) -> None:
    """The technician's side, on a real pseudo-terminal: the kit mouse moves over every
    zone and clicks (terminal mouse reporting: no event devices in this tree), then the
    sleeve is confirmed with one key."""
    from checks.source import LiveSource
    from tests.test_guided_keyboard import PtyScreen

    cols, rows = 120, 40

    def technician(screen: PtyScreen) -> None:
        screen.wait_for(b"Kit mouse")
        height, width = (rows - 3) // 3, cols // 3
        for r in range(3):
            for c in range(3):
                screen.type(f"\x1b[<35;{c * width + 5};{3 + r * height + 2}M".encode())
        screen.type(b"\x1b[<0;5;5M\x1b[<0;5;5m\x1b[<2;5;5M")
        screen.wait_for(b"sleeve")
        screen.type(b"y")

    source = LiveSource(make_capture(usb_tree()), run_tools=False)
    outcome = PtyScreen(cols, rows).run(
        technician,
        lambda term: run_health_checks(
            build_report(source),
            source,
            load_default_policy(),
            only=["kit.confirm"],
            run=Mmcli(),
            unattended=False,
            terminal=term,
        ),
    )
    [result] = outcome.results
    assert result.status == "pass", result.verdict.message.render("en")
    assert outcome.kit is not None
    assert outcome.kit["mouse"]["confirmed"] is True and outcome.kit["sleeve"] is True
    assert outcome.kit["mouse"]["confirmed_with"] == "terminal mouse reporting (xterm SGR)"
    assert result.verdict.message.render("en") == (
        "Kit complete: mouse 046d:c077, sleeve, 4G key 12d1:1506."
    )
