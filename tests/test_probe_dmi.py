"""dmidecode recordings of 201 real notebooks, each replayed as a one-file capture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checks.probe import build_report
from checks.probe.dmi import marketing_model, parse_device, parse_dmi_sysfs, parse_dmidecode
from checks.source import CaptureSource
from tests.conftest import FIXTURES, TEST_DATA, CaptureFactory, fixture_path

EXPECTED: dict[str, dict[str, object]] = json.loads(
    (TEST_DATA / "dmidecode_expected.json").read_text()
)["cases"]


@pytest.mark.parametrize("dump", sorted(EXPECTED))
def test_dmidecode_dump(dump: str, make_capture: CaptureFactory) -> None:
    expected = EXPECTED[dump]
    capture = make_capture({"cmd/dmidecode.txt": fixture_path("dmidecode", dump)})
    report = build_report(CaptureSource(capture))
    assert report.device.manufacturer == expected["manufacturer"]
    assert report.device.model == expected["model"]
    assert report.device.serial is None  # anonymised as "--" at source: a placeholder
    assert report.device.chassis == expected["chassis"]
    assert report.memory.total_bytes == expected["memory_total_bytes"]
    assert len(report.memory.modules) == expected["modules"]
    assert report.cpu.model == expected["cpu_model"]
    # only dmidecode was given: everything it does not say stays empty
    assert report.storage == [] and report.batteries == [] and report.displays == []
    assert report.firmware.boot_mode is None
    assert any(g.what == "cmd/lsblk.json" for g in report.gaps)


def test_every_dump_has_expected_values() -> None:
    dumps = {p.name for p in (FIXTURES / "dmidecode").glob("*.txt")}
    if not dumps:
        pytest.skip("dmidecode recordings not available")
    assert dumps == set(EXPECTED)


def test_lenovo_marketing_name_comes_from_version() -> None:
    assert marketing_model("LENOVO", "20AWA15L00", "ThinkPad T440p") == "ThinkPad T440p"
    assert marketing_model("LENOVO", "20AWA15L00", None) == "20AWA15L00"
    assert marketing_model("Acer", None, "V1.28") is None  # a board revision, not a model
    assert marketing_model("Dell Inc.", "Latitude 3340", "A01") == "Latitude 3340"


def test_docking_station_is_not_the_chassis() -> None:
    raw = (
        "Handle 0x0003, DMI type 3, 22 bytes\nChassis Information\n\tType: Docking Station\n\n"
        "Handle 0x0004, DMI type 3, 22 bytes\nChassis Information\n\tType: Convertible\n"
    )
    assert parse_device(parse_dmidecode(raw)).chassis == "convertible"


def test_record_without_handle_line_is_recovered() -> None:
    # seen in a Dell Latitude dump whose Handle line was overwritten by anonymisation
    raw = (
        "Handle 0x0200, DMI type 2, 9 bytes\nBase Board Information\n\tManufacturer: Dell\n\n"
        "5977B1E14E8F708A5CB03358AE2DB83A\nChassis Information\n\tType: Portable\n"
    )
    assert parse_device(parse_dmidecode(raw)).chassis == "laptop"


def test_qemu_lenovo_identity() -> None:
    dump = fixture_path("qemu-vm", "plain", "dmidecode.txt").read_text()
    device = parse_device(parse_dmidecode(dump))
    assert device.manufacturer == "LENOVO"
    assert device.model == "ThinkPad X1 Carbon 5th"
    assert device.serial == "PF0XXXXX"
    assert device.uuid == "4c4c4544-0042-3510-8051-b2c04f4e3432"
    assert device.raw["system_product_name"] == "20HRCTO1WW"


def test_sysfs_fallback_matches_dmidecode_for_the_same_machine(tmp_path: Path) -> None:
    # dmi_sysfs.txt is `grep -r . /sys/class/dmi/id/` from the same VM as dmidecode.txt
    lines = fixture_path("qemu-vm", "plain", "dmi_sysfs.txt").read_text().splitlines()
    files = {}
    for line in lines:
        path, _, value = line.partition(":")
        files[path.rsplit("/", 1)[-1]] = value
    from_sysfs = parse_dmi_sysfs(files)
    from_dmidecode = parse_device(
        parse_dmidecode(fixture_path("qemu-vm", "plain", "dmidecode.txt").read_text())
    )
    for attr in ("manufacturer", "model", "serial", "chassis", "uuid", "bios_version"):
        assert getattr(from_sysfs, attr) == getattr(from_dmidecode, attr), attr


def test_non_root_capture_reads_dmi_from_sysfs(make_capture: CaptureFactory) -> None:
    # as a user, dmidecode fails and product_serial/board_serial/product_uuid are 0400:
    # the capture holds only the world-readable attributes
    files: dict[str, bytes | str | Path] = {}
    for line in fixture_path("qemu-vm", "plain", "dmi_sysfs.txt").read_text().splitlines():
        path, _, value = line.partition(":")
        name = path.rsplit("/", 1)[-1]
        if name not in ("product_serial", "board_serial", "product_uuid", "chassis_serial"):
            files[f"sys/class/dmi/id/{name}"] = value + "\n"
    report = build_report(CaptureSource(make_capture(files)))
    assert report.device.manufacturer == "LENOVO"
    assert report.device.model == "ThinkPad X1 Carbon 5th"
    assert report.device.chassis == "laptop" and report.device.serial is None
    assert ("device.serial", "readable by root only (run as root for serials)") in {
        (g.what, g.why) for g in report.gaps
    }
