"""The QEMU notebook recordings (Lenovo SMBIOS, NVMe + SATA SSD + USB stick) as captures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from checks.probe import build_report
from checks.source import CaptureSource
from tests.conftest import CaptureFactory, fixture_path

# recording file -> capture key (the recordings predate the capture layout)
LAYOUT = {
    "dmidecode.txt": "cmd/dmidecode.txt",
    "lsblk.json": "cmd/lsblk.json",
    "lspci.txt": "cmd/lspci.txt",
    "smartctl_nvme.json": "cmd/smartctl/nvme0n1.json",
    "smartctl_sata.json": "cmd/smartctl/sda.json",
    "smartctl_usb.json": "cmd/smartctl/sdb.json",
}


def _capture_of(folder: Path, make_capture: CaptureFactory) -> Path:
    files: dict[str, bytes | str | Path] = {}
    statuses = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^(\S+) rc=(\d+) ::", (folder / "rc.txt").read_text(), re.M)
    }
    for name, key in LAYOUT.items():
        files[key] = folder / name
        files[key + ".rc"] = statuses[name] + "\n"
    return make_capture(files)


@pytest.mark.parametrize("folder", ["plain", "nvme-critical-warning"])
def test_qemu_notebook(folder: str, make_capture: CaptureFactory) -> None:
    report = build_report(CaptureSource(_capture_of(fixture_path("qemu-vm", folder), make_capture)))
    assert report.device.manufacturer == "LENOVO"
    assert report.device.model == "ThinkPad X1 Carbon 5th"
    assert report.device.chassis == "laptop"
    assert report.device.device_id_basis == "system-serial"
    assert report.cpu.model == "Intel(R) Core(TM) i7-7600U CPU @ 2.80GHz"
    disks = {d.name: d for d in report.storage}
    assert sorted(disks) == ["nvme0n1", "sda", "sdb", "vda"]

    sata = disks["sda"]
    assert (sata.model, sata.serial, sata.protocol) == (
        "Samsung SSD 860 EVO 500GB",
        "TESTSATA01",
        "ata",
    )
    # plain: smartctl -a gave no rotation rate, so the kernel's rota=1 (QEMU's default)
    # stands; the other recording has "rotation_rate": 0 and the drive's word wins.
    assert sata.rotational is (folder == "plain")
    assert sata.smart.passed is True and sata.smart.power_on_hours == 1
    assert sata.size_bytes == 64 * 1024**2

    usb = disks["sdb"]
    assert usb.protocol == "usb" and usb.serial == "TESTUSB01"
    assert usb.smart.available is False and usb.smart.smartctl_exit_status == 1
    assert "USB bridge" in (usb.smart.unavailable_reason or "")

    nvme = disks["nvme0n1"]
    assert nvme.protocol == "nvme" and nvme.serial == "TESTNVME01" and nvme.kind == "nvme"
    assert nvme.smart.nvme is not None
    warning = 4 if folder == "nvme-critical-warning" else 0
    assert nvme.smart.nvme.critical_warning == warning
    assert nvme.smart.passed is (warning == 0)

    assert disks["vda"].smart.unavailable_reason == "smartctl output missing"
    assert [g.pci_id for g in report.gpus] == ["1234:1111"]  # QEMU's standard VGA
