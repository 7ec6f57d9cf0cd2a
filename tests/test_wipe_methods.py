"""Method selection from what drives say about themselves (recorded or spec-written).

Each folder of tests/data/wipe is one drive: its ``nvme id-ctrl``, ``hdparm -I/-N``,
``smartctl`` outputs and ``case.json`` with the expected plan. The facts go through the
same ``gather_facts`` as on a bench, with a runner that replays the recordings instead
of running the tools.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest

from agent.blockdev import Disk
from agent.wipe.firmware import (
    FirmwareError,
    gather_facts,
    hidden_areas,
    kernel_capacity,
    restore_hpa,
    run_firmware_method,
)
from agent.wipe.methods import parse_hdparm_identify, select_plan
from agent.wipe.runner import manufacturer_of
from checks.system import CommandResult

DATA = Path(__file__).parent / "data" / "wipe"
CASES = sorted(p.name for p in DATA.iterdir() if (p / "case.json").exists())
COMMANDS = DATA / "qemu-commands"


def replay(folder: Path, calls: list[tuple[str, ...]] | None = None) -> Any:
    """A command runner that answers from the recordings in ``folder``."""
    files = {
        ("smartctl",): "smartctl.json",
        ("nvme", "id-ctrl"): "nvme-id-ctrl.json",
        ("hdparm", "-I"): "hdparm-I.txt",
        ("hdparm", "-N"): "hdparm-N.txt",
        ("hdparm", "--dco-identify"): "hdparm-dco-identify.txt",
    }

    def run(argv: Sequence[str], timeout: float = 30) -> CommandResult:
        args = tuple(argv)
        if calls is not None:
            calls.append(args)
        for prefix, name in sorted(files.items(), key=lambda kv: -len(kv[0])):
            if args[: len(prefix)] == prefix and (folder / name).exists():
                return CommandResult(args, 0, (folder / name).read_bytes(), b"", 0.0)
        return CommandResult(args, None, b"", b"", 0.0, error="not recorded")

    return run


def disk_for(case: dict[str, Any]) -> Disk:
    name = case["name"]
    return Disk(
        name=name,
        path=f"/dev/{name}",
        size_bytes=case["size_bytes"],
        logical_sector_size=512,
        physical_sector_size=512,
        model=None,
        serial=None,
        vendor=None,
        transport=case["transport"],
        rotational=None,
        removable=False,
        hotplug=False,
        read_only=False,
        devtype="disk",
    )


@pytest.fixture(params=CASES)
def case(request: pytest.FixtureRequest) -> tuple[Path, dict[str, Any]]:
    folder = DATA / request.param
    return folder, json.loads((folder / "case.json").read_text())


@pytest.mark.parametrize("mode", ["auto", "firmware"])
def test_plan_from_recorded_facts(case: tuple[Path, dict[str, Any]], mode: str) -> None:
    folder, expected = case
    facts = gather_facts(disk_for(expected), replay(folder))
    plan = select_plan(facts, mode)
    assert plan.methods == expected[mode], plan.reasons
    assert plan.frozen == expected.get("frozen", False)
    if "drive_estimate_s" in expected and mode == "auto":
        assert plan.drive_estimate_s == expected["drive_estimate_s"]


def test_overwrite_mode_is_overwrite_only(case: tuple[Path, dict[str, Any]]) -> None:
    folder, expected = case
    facts = gather_facts(disk_for(expected), replay(folder))
    assert select_plan(facts, "overwrite").methods == ["overwrite"]


def test_frozen_drive_with_suspend_allowed() -> None:
    folder = DATA / "sata-ssd-frozen"
    expected = json.loads((folder / "case.json").read_text())
    plan = select_plan(gather_facts(disk_for(expected), replay(folder)), allow_suspend=True)
    assert plan.methods == expected["auto_with_suspend"]
    assert plan.needs_suspend and plan.frozen
    without = select_plan(gather_facts(disk_for(expected), replay(folder)))
    assert any(r.startswith("frozen") for r in without.reasons)


def test_hidden_areas_are_read(case: tuple[Path, dict[str, Any]]) -> None:
    folder, expected = case
    state = asdict(hidden_areas(gather_facts(disk_for(expected), replay(folder))))
    for key, value in expected.get("hidden_areas", {}).items():
        # the fields case.json names (a later field added to the report keeps old cases)
        got = {k: state[key][k] for k in value} if isinstance(value, dict) else state[key]
        assert got == value


def test_qemu_nvme_ses2_is_not_trusted() -> None:
    """QEMU accepts --ses=2 though fna says no crypto erase: the plan follows fna."""
    folder = DATA / "qemu-nvme"
    facts = gather_facts(disk_for(json.loads((folder / "case.json").read_text())), replay(folder))
    assert facts.nvme is not None and facts.nvme.fna == 0
    assert "nvme-format-crypto" not in select_plan(facts).methods


# ------------------------------------------------------------ firmware steps (replayed)


def recorded_command(name: str) -> CommandResult:
    """One of the QEMU guest's recorded command outputs, with its exit status."""
    rc_line = next(
        line for line in (COMMANDS / "rc.txt").read_text().splitlines() if line.startswith(name)
    )
    m = re.match(r"\S+ rc=(\d+) :: (.*)", rc_line)
    assert m
    return CommandResult(
        tuple(m.group(2).split()), int(m.group(1)), (COMMANDS / name).read_bytes(), b"", 0.0
    )


def scripted(
    answers: dict[tuple[str, ...], CommandResult | list[CommandResult]],
    calls: list[tuple[str, ...]],
) -> Any:
    def run(argv: Sequence[str], timeout: float = 30) -> CommandResult:
        args = tuple(argv)
        calls.append(args)
        for prefix, answer in answers.items():
            if args[: len(prefix)] == prefix:
                if isinstance(answer, list):
                    return answer.pop(0)
                return answer
        return CommandResult(args, 0, b"", b"", 0.0)

    return run


NVME = disk_for({"name": "nvme0n1", "size_bytes": 64 << 20, "transport": "nvme"})
SATA = disk_for({"name": "sda", "size_bytes": 64 << 20, "transport": "sata"})


def test_nvme_format_keeps_the_lba_format_and_succeeds() -> None:
    calls: list[tuple[str, ...]] = []
    id_ns = json.loads(recorded_command("nvme_id_ns.json").stdout)
    id_ns["flbas"] = 0x2  # a namespace on LBA format 2 (say 4 KiB sectors)
    run = scripted(
        {
            ("nvme", "id-ns"): CommandResult((), 0, json.dumps(id_ns).encode(), b"", 0),
            ("nvme", "format"): recorded_command("nvme_format_ses1.txt"),
        },
        calls,
    )
    run_firmware_method("nvme-format-user-data", NVME, run=run)
    assert calls[-1] == ("nvme", "format", "/dev/nvme0n1", "--ses=1", "--lbaf=2", "--force")


def test_nvme_format_without_id_ns_keeps_the_block_size() -> None:
    calls: list[tuple[str, ...]] = []
    run = scripted({("nvme", "format"): recorded_command("nvme_format_ses1.txt")}, calls)
    run_firmware_method("nvme-format-user-data", NVME, run=run)
    assert calls[-1] == ("nvme", "format", "/dev/nvme0n1", "--ses=1", "--block-size=512", "--force")


def test_nvme_sanitize_refused_by_qemu_falls_through() -> None:
    calls: list[tuple[str, ...]] = []
    run = scripted({("nvme", "sanitize"): recorded_command("nvme_sanitize_crypto.txt")}, calls)
    with pytest.raises(FirmwareError, match="Invalid Command Opcode"):
        run_firmware_method("nvme-sanitize-crypto", NVME, run=run, poll=lambda s: None)
    assert calls[1] == ("nvme", "sanitize", "/dev/nvme0", "--sanact=4")  # after the log read


def test_nvme_sanitize_polls_the_log_until_done() -> None:
    calls: list[tuple[str, ...]] = []
    log = [
        CommandResult((), 0, json.dumps({"nvme0": {"sprog": 65535, "sstat": 0}}).encode(), b"", 0),
        CommandResult((), 0, json.dumps({"nvme0": {"sprog": 100, "sstat": 2}}).encode(), b"", 0),
        CommandResult(
            (), 0, json.dumps({"nvme0": {"sprog": 65535, "sstat": 0x101}}).encode(), b"", 0
        ),
    ]
    run = scripted({("nvme", "sanitize-log"): log}, calls)
    waits: list[float] = []
    run_firmware_method("nvme-sanitize-block", NVME, run=run, poll=waits.append)
    assert calls[1][-1] == "--sanact=2" and len(waits) == 1  # calls[0]: the log before


def test_ata_password_rejected_although_hdparm_exits_0() -> None:
    """QEMU's SATA disk aborts SECURITY SET PASSWORD; hdparm still exits 0."""
    calls: list[tuple[str, ...]] = []
    set_pass = recorded_command("hdparm_security_set_pass.txt")
    assert set_pass.returncode == 0
    no_security = CommandResult((), 0, (DATA / "qemu-sata" / "hdparm-I.txt").read_bytes(), b"", 0)
    run = scripted({("hdparm", "--user-master", "u", "--security-set-pass"): set_pass,
                    ("hdparm", "-I"): no_security}, calls)  # fmt: skip
    with pytest.raises(FirmwareError, match="did not accept"):
        run_firmware_method("ata-security-erase", SATA, run=run)
    assert not any("--security-erase" in c for c in calls)


def _identify(enabled: bool) -> CommandResult:
    text = (DATA / "sata-ssd-sanitize" / "hdparm-I.txt").read_text()
    if enabled:
        text = text.replace("\tnot\tenabled\n", "\t\tenabled\n")
    assert (parse_hdparm_identify(text) or pytest.fail("unparsable")).security_enabled == enabled
    return CommandResult((), 0, text.encode(), b"", 0)


def test_ata_security_erase_enhanced_sequence() -> None:
    calls: list[tuple[str, ...]] = []
    run = scripted({("hdparm", "-I"): [_identify(True), _identify(False)]}, calls)
    run_firmware_method("ata-security-erase-enhanced", SATA, run=run, drive_estimate_s=120)
    assert [c[3] for c in calls if c[1] == "--user-master"] == [
        "--security-set-pass",
        "--security-erase-enhanced",
    ]


def test_failed_ata_erase_removes_the_password() -> None:
    calls: list[tuple[str, ...]] = []
    failed = CommandResult((), 5, b"", b"SECURITY_ERASE: Input/output error", 0)
    erase = ("hdparm", "--user-master", "u", "--security-erase")
    run = scripted({("hdparm", "-I"): [_identify(True)], erase: failed}, calls)
    with pytest.raises(FirmwareError):
        run_firmware_method("ata-security-erase", SATA, run=run)
    assert calls[-1][:4] == ("hdparm", "--user-master", "u", "--security-disable")


@pytest.mark.parametrize(
    ("model", "vendor", "maker"),
    [
        ("Samsung SSD 860 EVO 500GB", "ATA     ", "Samsung"),
        ("ST500LM021-1KJ152", "ATA", "Seagate"),
        ("WDC PC SN530 SDBPNPZ-256G-1002", None, "Western Digital"),
        ("CT500MX500SSD1", "ATA", "Crucial"),
        ("HFS256G39TND-N210A", None, "SK hynix"),
        ("TOSHIBA MQ01ABD100", "ATA", "Toshiba"),
        ("Ultra USB 3.0", "SanDisk ", "SanDisk"),
        ("STRANGE DISK", None, None),
        (None, "0x1af4", None),
    ],
)
def test_report_names_the_maker(model: str | None, vendor: str | None, maker: str | None) -> None:
    disk = disk_for({"name": "sda", "size_bytes": 1 << 30, "transport": "sata"})
    disk = replace(disk, model=model, vendor=vendor)
    assert manufacturer_of(disk) == maker


@pytest.mark.parametrize("removed", [True, False], ids=["removed", "drive-refuses"])
def test_hpa_is_removed_before_erasing(removed: bool) -> None:
    folder = DATA / "hdd-hpa"
    case = json.loads((folder / "case.json").read_text())
    disk = disk_for(case)
    facts = gather_facts(disk, replay(folder))
    state = hidden_areas(facts)
    after = (
        "976773168/976773168, HPA is disabled" if removed else "976771055/976773168, HPA is enabled"
    )
    calls: list[tuple[str, ...]] = []
    run = scripted(
        {
            ("hdparm", "-N", "/dev/sda"): CommandResult(
                (), 0, f" max sectors   = {after}\n".encode(), b"", 0
            )
        },
        calls,
    )
    result = restore_hpa(disk, facts, state, run)
    assert calls[0] == ("hdparm", "--yes-i-know-what-i-am-doing", "-N", "p976773168", "/dev/sda")
    assert state.restored is removed
    assert state.hpa.present is True and state.hpa.native_max_sectors == 976773168
    if removed:
        assert result is not None and result.current_max == 976773168
        assert state.hpa.current_max_sectors == 976773168
        assert "2113 hidden sectors" in (state.note or "")
    else:
        assert result is None
        assert "could not be removed" in (state.note or "")


@pytest.mark.parametrize("kernel_follows", [True, False], ids=["rescanned", "stays-small"])
def test_kernel_capacity_rescans_and_waits(tmp_path: Path, kernel_follows: bool) -> None:
    """The kernel's size (sysfs, 512-byte units) must reach the native size."""
    disk = disk_for({"name": "sda", "size_bytes": 976771055 * 512, "transport": "sata"})
    size = tmp_path / "class" / "block" / "sda" / "size"
    rescan = tmp_path / "block" / "sda" / "device" / "rescan"
    size.parent.mkdir(parents=True)
    rescan.parent.mkdir(parents=True)
    size.write_text("976771055\n")
    rescan.write_text("")
    polls: list[float] = []

    def poll(seconds: float) -> None:  # the kernel finishes its rescan meanwhile
        polls.append(seconds)
        if kernel_follows and rescan.read_text() == "1\n":
            size.write_text("976773168\n")

    seen, problem = kernel_capacity(
        disk,
        976773168 * 512,
        sys_root=str(tmp_path),
        wait_s=0 if not kernel_follows else 60,
        poll=poll,
    )
    assert rescan.read_text() == "1\n" and problem is None
    assert seen == (976773168 if kernel_follows else 976771055) * 512
    if kernel_follows:
        assert polls  # it waited for the kernel
