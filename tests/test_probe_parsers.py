"""The smaller parsers: EDID, lspci/lsusb, network, TPM, boot, cpuinfo, sizes."""

from __future__ import annotations

import pytest

from checks.probe.boot import parse_efivar_bool
from checks.probe.buses import parse_lspci, parse_lsusb
from checks.probe.cpu import parse_proc_cpuinfo
from checks.probe.display import parse_edid
from checks.probe.gpu import gpus_from_pci
from checks.probe.network import parse_interface
from checks.probe.peripherals import peripherals_from
from checks.probe.tpm import parse_tpm_sysfs
from checks.probe.values import parse_size
from tests.conftest import fixture_path


def _edid(name: bytes = b"", text: bytes = b"LP140WF6-SPB1") -> bytes:
    """A 128-byte EDID of a 14" 1920x1080 LG panel (309 x 174 mm), built field by field."""
    e = bytearray(128)
    e[0:8] = b"\x00\xff\xff\xff\xff\xff\xff\x00"
    code = ((ord("L") - 64) << 10) | ((ord("G") - 64) << 5) | (ord("D") - 64)
    e[8:10] = code.to_bytes(2, "big")
    e[10:12] = (0x0469).to_bytes(2, "little")
    e[17] = 2016 - 1990
    e[21], e[22] = 31, 17
    dtd = bytearray(18)
    dtd[0:2] = (14850).to_bytes(2, "little")  # 148.5 MHz
    dtd[2], dtd[4] = 1920 & 0xFF, (1920 >> 8) << 4
    dtd[5], dtd[7] = 1080 & 0xFF, (1080 >> 8) << 4
    dtd[12], dtd[13], dtd[14] = 309 & 0xFF, 174 & 0xFF, ((309 >> 8) << 4) | (174 >> 8)
    e[54:72] = dtd
    e[72:90] = b"\x00\x00\x00\xfe\x00" + text.ljust(13, b"\x0a")[:13]
    if name:
        e[90:108] = b"\x00\x00\x00\xfc\x00" + name.ljust(13, b"\x0a")[:13]
    return bytes(e)


def test_edid_of_a_laptop_panel() -> None:
    display = parse_edid(_edid(), "card0-eDP-1")
    assert display is not None
    assert display.internal is True and display.manufacturer == "LGD"
    assert (display.native_width, display.native_height) == (1920, 1080)
    assert (display.width_mm, display.height_mm) == (309, 174)
    assert display.diagonal_in == 14.0
    assert display.name == "LP140WF6-SPB1" and display.year == 2016


def test_edid_name_descriptor_wins_and_external_connector() -> None:
    display = parse_edid(_edid(name=b"DELL U2415"), "card0-HDMI-A-1")
    assert display is not None and display.name == "DELL U2415" and display.internal is False


@pytest.mark.parametrize("raw", [b"", b"\x00\xff", b"x" * 128, _edid()[:100]])
def test_edid_empty_or_broken(raw: bytes) -> None:
    assert parse_edid(raw, "card0-eDP-1") is None


LSPCI_VMM = """Slot:\t00:02.0
Class:\tVGA compatible controller [0300]
Vendor:\tIntel Corporation [8086]
Device:\tHD Graphics 620 [5916]
SVendor:\tLenovo [17aa]
SDevice:\tThinkPad X270 [2245]
Rev:\t02
Driver:\ti915

Slot:\t00:1f.3
Class:\tAudio device [0403]
Vendor:\tIntel Corporation [8086]
Device:\tSunrise Point-LP HD Audio [9d71]

Slot:\t00:1f.6
Class:\tEthernet controller [0200]
Vendor:\tIntel Corporation [8086]
Device:\tEthernet Connection (4) I219-V [15d8]
Driver:\te1000e

Slot:\t3a:00.0
Class:\tNetwork controller [0280]
Vendor:\tIntel Corporation [8086]
Device:\tWireless 8265 / 8275 [24fd]
"""

LSUSB = """Bus 002 Device 001: ID 1d6b:0003 Linux Foundation 3.0 root hub
Bus 001 Device 004: ID 8087:0a2b Intel Corp. Bluetooth wireless interface
Bus 001 Device 003: ID 04f2:b5ce Chicony Electronics Co., Ltd Integrated Camera
Bus 001 Device 002: ID 138a:0097 Validity Sensors, Inc. Fingerprint sensor
"""


def test_lspci_vmm_devices_gpus_and_peripherals() -> None:
    pci = parse_lspci(LSPCI_VMM)
    assert [d.slot for d in pci] == ["00:02.0", "00:1f.3", "00:1f.6", "3a:00.0"]
    (gpu,) = gpus_from_pci(pci)
    assert (gpu.vendor, gpu.model, gpu.pci_id) == (
        "Intel Corporation",
        "HD Graphics 620",
        "8086:5916",
    )
    kinds = sorted(p.kind for p in peripherals_from(pci, parse_lsusb(LSUSB)))
    assert kinds == ["audio", "bluetooth", "fingerprint", "webcam"]


def test_lspci_nn_text_of_the_qemu_recording() -> None:
    pci = parse_lspci(fixture_path("qemu-vm", "plain", "lspci.txt").read_text())
    assert len(pci) == 10
    nvme = next(d for d in pci if d.slot == "00:03.0")
    assert (nvme.vendor_id, nvme.device_id) == ("1b36", "0010")


def test_network_interfaces() -> None:
    wifi = parse_interface(
        "wlp58s0",
        "DEVTYPE=wlan\nINTERFACE=wlp58s0\n",
        "DRIVER=iwlwifi\nPCI_SLOT_NAME=0000:3a:00.0\n",
        "8C:16:45:AA:BB:CC\n",
        "1\n",
        "0\n",
    )
    assert wifi is not None and (wifi.kind, wifi.bus, wifi.pci_slot) == ("wifi", "pci", "3a:00.0")
    assert wifi.mac == "8c:16:45:aa:bb:cc"
    randomised = parse_interface(
        "wlan0", "DEVTYPE=wlan\n", "DRIVER=x\n", "8c:16:45:aa:bb:cc", "1", "3"
    )
    assert randomised is not None and randomised.mac is None
    assert parse_interface("lo", "INTERFACE=lo\n", None, "00:00:00:00:00:00", "772", "0") is None


def test_tpm_versions() -> None:
    assert parse_tpm_sysfs("2\n", None).version == "2.0"
    assert parse_tpm_sysfs(None, "Manufacturer: 0x49465800\nTCG version: 1.2\n").version == "1.2"
    assert parse_tpm_sysfs("garbage", None).version is None


def test_secure_boot_efivar() -> None:
    assert parse_efivar_bool(b"\x06\x00\x00\x00\x01") is True
    assert parse_efivar_bool(b"\x06\x00\x00\x00\x00") is False
    assert parse_efivar_bool(b"\x06") is None


ARM_CPUINFO = """processor\t: 0
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm crc32 cpuid
CPU implementer\t: 0x41

processor\t: 1
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm crc32 cpuid
CPU implementer\t: 0x41

Hardware\t: BCM2835
Model\t: Raspberry Pi 4 Model B Rev 1.4
"""

X86_CPUINFO = "".join(
    f"processor\t: {i}\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Core(TM) i5-7200U CPU @ "
    f"2.50GHz\nphysical id\t: 0\nsiblings\t: 4\ncore id\t: {i % 2}\ncpu cores\t: 2\n"
    "flags\t\t: fpu vme lm\n\n"
    for i in range(4)
)


def test_cpuinfo_x86_and_arm() -> None:
    x86 = parse_proc_cpuinfo(X86_CPUINFO)
    assert (x86.model, x86.cores, x86.threads, x86.sockets) == (
        "Intel(R) Core(TM) i5-7200U CPU @ 2.50GHz",
        2,
        4,
        1,
    )
    arm = parse_proc_cpuinfo(ARM_CPUINFO)
    assert arm.model == "Raspberry Pi 4 Model B Rev 1.4" and arm.threads == 2 and arm.cores == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (512, 512),
        ("64M", 64 * 1024**2),
        ("8 GB", 8 * 1024**3),
        ("4096 MB", 4 * 1024**3),
        ("1,5G", 1536 * 1024**2),
        ("No Module Installed", None),
        ("-3", None),
        (True, None),
    ],
)
def test_parse_size(value: object, expected: int | None) -> None:
    assert parse_size(value) == expected
