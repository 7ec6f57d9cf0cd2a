"""smartctl recordings of 105 real drives, each replayed as a one-file capture; lsblk."""

from __future__ import annotations

import json

import pytest

from checks.probe import build_report
from checks.probe.storage import merge_disk, parse_lsblk, parse_smartctl
from checks.source import CaptureSource
from tests.conftest import TEST_DATA, CaptureFactory, fixture_path

EXPECTED: dict[str, dict[str, object]] = json.loads(
    (TEST_DATA / "smartctl_expected.json").read_text()
)["cases"]


def _kname(recording: str) -> str:
    """The kernel name a recording was made on ("...-sdq.json" -> sdq), else sda/nvme0n1."""
    stem = recording.removesuffix(".json").rsplit("-", 1)[-1]
    if stem.startswith(("sd", "nvme")) and stem.isalnum():
        return stem + "n1" if stem.startswith("nvme") and "n" not in stem[4:] else stem
    return "nvme0n1" if "nvme" in recording.lower() else "sda"


@pytest.mark.parametrize("recording", sorted(EXPECTED))
def test_smartctl_recording(recording: str, make_capture: CaptureFactory) -> None:
    expected = EXPECTED[recording]
    name = _kname(recording)
    capture = make_capture({f"cmd/smartctl/{name}.json": fixture_path("smartctl", recording)})
    report = build_report(CaptureSource(capture))
    assert [d.name for d in report.storage] == [name]
    disk = report.storage[0]
    assert disk.path == f"/dev/{name}"
    assert disk.model == expected["model"]
    assert disk.serial == expected["serial"]
    assert disk.size_bytes == expected["size_bytes"]
    assert disk.protocol == expected["protocol"]
    assert disk.rotational == expected["rotational"]
    assert disk.smart.power_on_hours == expected["power_on_hours"]
    assert disk.smart.passed == expected["passed"]
    assert disk.smart.smartctl_exit_status == expected["exit_status"]
    # only one smartctl file was given: the rest of the report is empty
    assert report.device.manufacturer is None and report.cpu.model is None
    assert report.batteries == [] and report.memory.total_bytes is None


def test_ata_attributes_carry_the_raw_values_the_checks_need() -> None:
    raw = fixture_path("smartctl", "scrutiny-smart-ata.json").read_bytes()
    smart = parse_smartctl(raw).smart
    table = json.loads(raw)["ata_smart_attributes"]["table"]
    by_id = {row["id"]: row["raw"]["value"] for row in table}
    for attr in (5, 9, 187, 188, 196, 197, 198):
        if attr in by_id:
            assert smart.ata_attributes[attr] == by_id[attr]
    assert smart.available and smart.self_test_supported is True
    assert smart.nvme is None


def test_failing_nvme_reports_media_errors() -> None:
    raw = fixture_path("smartctl", "scrutiny-smart-nvme-failed.json").read_bytes()
    log = json.loads(raw)["nvme_smart_health_information_log"]
    nvme = parse_smartctl(raw).smart.nvme
    assert nvme is not None
    assert nvme.media_errors == log["media_errors"] > 0
    assert nvme.critical_warning == log["critical_warning"]
    assert nvme.available_spare_threshold == log["available_spare_threshold"]


def test_failed_smartctl_run_is_unavailable_with_its_reason() -> None:
    info = parse_smartctl(fixture_path("smartctl", "scrutiny-smart-fail.json").read_bytes())
    assert info.smart.available is False
    assert "Open failed" in (info.smart.unavailable_reason or "")
    assert info.smart.smartctl_exit_status == 2


def test_usb_bridge_gives_no_smart_and_says_why() -> None:
    info = parse_smartctl(fixture_path("qemu-vm", "plain", "smartctl_usb.json").read_bytes(), 1)
    assert info.smart.available is False
    assert info.smart.unavailable_reason == "/dev/sdb: Unknown USB bridge [0x46f4:0x0001 (0x000)]"
    assert info.smart.passed is None


@pytest.mark.parametrize(("folder", "warning"), [("plain", 0), ("nvme-critical-warning", 4)])
def test_qemu_nvme_critical_warning(folder: str, warning: int) -> None:
    raw = fixture_path("qemu-vm", folder, "smartctl_nvme.json").read_bytes()
    nvme = parse_smartctl(raw).smart.nvme
    assert nvme is not None and nvme.critical_warning == warning


def test_lsblk_without_bytes_option() -> None:
    # the QEMU recording is `lsblk -J -O` without --bytes: sizes like "64M"
    disks = {
        d.name: d for d in parse_lsblk(fixture_path("qemu-vm", "plain", "lsblk.json").read_bytes())
    }
    assert sorted(disks) == ["nvme0n1", "sda", "sdb", "vda"]
    assert disks["sda"].size_bytes == 64 * 1024**2
    assert disks["vda"].size_bytes == 1024**3
    assert disks["sdb"].transport == "usb" and disks["sdb"].serial == "TESTUSB01"


def test_lsblk_with_bytes_and_old_string_booleans() -> None:
    raw = json.dumps(
        {
            "blockdevices": [
                {
                    "kname": "sda",
                    "name": "sda",
                    "type": "disk",
                    "size": "500107862016",
                    "rota": "1",
                    "rm": "0",
                    "tran": "sata",
                    "serial": "WD-WX1",
                    "model": "WDC",
                },
                {"kname": "loop0", "name": "loop0", "type": "loop", "size": 4096},
                {"kname": "zram0", "name": "zram0", "type": "disk", "size": 0},
                {"kname": "sr0", "name": "sr0", "type": "rom", "size": 1},
            ]
        }
    )
    (disk,) = parse_lsblk(raw)
    assert disk.size_bytes == 500107862016 and disk.rotational is True
    assert disk.removable is False
    merged = merge_disk("sda", disk, None)
    assert merged.protocol == "ata" and merged.kind == "hdd"
    assert merged.smart.available is False


def test_usb_disk_protocol_is_usb_even_when_smartctl_speaks_ata() -> None:
    disks = {
        d.name: d for d in parse_lsblk(fixture_path("qemu-vm", "plain", "lsblk.json").read_bytes())
    }
    sat = parse_smartctl(fixture_path("qemu-vm", "plain", "smartctl_usb_sat.json").read_bytes(), 2)
    merged = merge_disk("sdb", disks["sdb"], sat)
    assert merged.protocol == "usb" and merged.kind == "usb"
    assert merged.smart.available is False


def test_every_smartctl_recording_has_expected_values() -> None:
    from tests.conftest import fixture_files

    found = {p.name for p in fixture_files("smartctl", "*.json")}
    if not found:
        pytest.skip("smartctl recordings not available")
    assert found == set(EXPECTED)


def test_broken_lsblk_falls_back_to_the_smartctl_files(make_capture: CaptureFactory) -> None:
    capture = make_capture(
        {
            "cmd/lsblk.json": b"lsblk: failed to access sysfs directory",
            "cmd/smartctl/sda.json": fixture_path("smartctl", "scrutiny-smart-ata.json"),
            "cmd/smartctl/nvme0n1.json": fixture_path("smartctl", "scrutiny-smart-nvme.json"),
        }
    )
    report = build_report(CaptureSource(capture))
    assert sorted(d.name for d in report.storage) == ["nvme0n1", "sda"]
    assert any(g.what == "storage" for g in report.gaps)
