"""Hypothesis: truncated, random and hostile input never makes a parser raise."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.identity import IdentityFacts, clean_serial, clean_uuid, device_id, normalise_mac
from checks.probe import build_report
from checks.probe.battery import parse_uevent
from checks.probe.boot import parse_efivar_bool
from checks.probe.buses import parse_lspci, parse_lsusb
from checks.probe.cpu import parse_dmi_processor, parse_proc_cpuinfo, parse_py_cpuinfo
from checks.probe.display import parse_edid
from checks.probe.dmi import parse_device, parse_dmi_sysfs, parse_dmidecode
from checks.probe.memory import parse_meminfo, parse_memory_dmi
from checks.probe.network import parse_interface
from checks.probe.storage import parse_lsblk, parse_smartctl
from checks.probe.tpm import parse_tpm_dmi, parse_tpm_sysfs
from checks.source import CaptureSource
from tests.conftest import FIXTURES

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _seed(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


DMI_SEED = _seed(FIXTURES / "qemu-vm" / "plain" / "dmidecode.txt")
SMART_SEED = _seed(FIXTURES / "smartctl" / "scrutiny-smart-ata.json")
LSBLK_SEED = _seed(FIXTURES / "qemu-vm" / "plain" / "lsblk.json")
UEVENT_SEED = _seed(FIXTURES / "power_supply" / "dell-gr43747-charge" / "BAT0" / "uevent")


def _mutations(seed: bytes) -> st.SearchStrategy[bytes]:
    """Random bytes, truncations of a real recording, and a recording with bytes flipped."""
    truncated = st.integers(0, max(len(seed), 1)).map(lambda n: seed[:n])

    def flip(args: tuple[int, bytes]) -> bytes:
        pos, junk = args
        pos = min(pos, len(seed))
        return seed[:pos] + junk + seed[pos + len(junk) :]

    flipped = st.tuples(st.integers(0, max(len(seed), 1)), st.binary(min_size=1, max_size=16)).map(
        flip
    )
    return st.one_of(st.binary(max_size=2048), truncated, flipped)


def _text(strategy: st.SearchStrategy[bytes]) -> st.SearchStrategy[str]:
    return strategy.map(lambda b: b.decode("utf-8", errors="replace"))


def _json_values() -> st.SearchStrategy[object]:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.text(max_size=12), children, max_size=5),
        ),
        max_leaves=20,
    )


@FUZZ
@given(_text(_mutations(DMI_SEED)))
def test_dmidecode_parsers(raw: str) -> None:
    records = parse_dmidecode(raw)
    parse_device(records)
    parse_memory_dmi(records)
    parse_dmi_processor(records)
    parse_tpm_dmi(records)


@FUZZ
@given(_mutations(SMART_SEED), st.one_of(st.none(), st.integers(-5, 300)))
def test_smartctl_parser(raw: bytes, status: int | None) -> None:
    parse_smartctl(raw, status)


@FUZZ
@given(_json_values())
def test_smartctl_and_lsblk_with_odd_json_shapes(value: object) -> None:
    raw = json.dumps(value)
    parse_smartctl(raw)
    parse_lsblk(raw)
    parse_py_cpuinfo(raw)
    parse_smartctl(json.dumps({"ata_smart_attributes": {"table": value}, "smart_status": value}))
    parse_lsblk(json.dumps({"blockdevices": [value] if not isinstance(value, list) else value}))


@FUZZ
@given(_mutations(LSBLK_SEED))
def test_lsblk_parser(raw: bytes) -> None:
    parse_lsblk(raw)


@FUZZ
@given(_text(_mutations(UEVENT_SEED)))
def test_uevent_parser(raw: str) -> None:
    battery = parse_uevent(raw, "BAT0")
    assert battery.health_pct is None or battery.health_pct >= 0


TEXT_PARSERS: list[Callable[[str], object]] = [
    parse_proc_cpuinfo,
    parse_meminfo,
    parse_lspci,
    parse_lsusb,
    lambda s: parse_tpm_sysfs(s, s),
    lambda s: parse_dmi_sysfs({"product_name": s, "chassis_type": s, "product_uuid": s}),
    lambda s: parse_interface("x", s, s, s, s, s),
    clean_serial,
    clean_uuid,
    normalise_mac,
    lambda s: device_id(IdentityFacts(manufacturer=s, serial=s, builtin_macs=(s,))),
]


@pytest.mark.parametrize("parser", TEXT_PARSERS, ids=lambda p: getattr(p, "__name__", "lambda"))
@FUZZ
@given(raw=st.text(max_size=600))
def test_text_parsers(parser: Callable[[str], object], raw: str) -> None:
    parser(raw)


@FUZZ
@given(st.binary(max_size=300))
def test_binary_parsers(raw: bytes) -> None:
    parse_edid(raw, "card0-eDP-1")
    parse_edid(b"\x00\xff\xff\xff\xff\xff\xff\x00" + raw, "card0-eDP-1")
    parse_efivar_bool(raw)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    dmi=st.binary(max_size=400),
    smart=st.binary(max_size=400),
    uevent=st.binary(max_size=200),
    lsblk=st.binary(max_size=200),
)
def test_whole_report_from_garbage_capture(
    tmp_path_factory: pytest.TempPathFactory, dmi: bytes, smart: bytes, uevent: bytes, lsblk: bytes
) -> None:
    root = tmp_path_factory.mktemp("garbage")
    for key, data in {
        "cmd/dmidecode.txt": dmi,
        "cmd/smartctl/sda.json": smart,
        "cmd/smartctl/sda.json.rc": dmi[:3],
        "sys/class/power_supply/BAT0/uevent": uevent,
        "cmd/lsblk.json": lsblk,
        "proc/cpuinfo": smart,
        "cmd/lspci.txt": uevent,
        "sys/class/drm/card0-eDP-1/edid": dmi,
    }.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(data)
    report = build_report(CaptureSource(root))
    json.dumps(report.to_dict())
