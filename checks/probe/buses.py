"""PCI and USB device lists from ``lspci -vmm -nn`` and ``lsusb``."""

from __future__ import annotations

import re

from checks.probe.model import PciDevice, UsbDevice
from checks.source import Source

_BRACKET_ID = re.compile(r"^(.*?)\s*\[([0-9a-fA-F]{4})\]$")
# "00:02.0 VGA compatible controller [0300]: Intel Corporation HD Graphics 620 [8086:5916] (rev 02)"
_LSPCI_NN = re.compile(
    r"^(?P<slot>[0-9a-fA-F:.]+)\s+(?P<cls>.+?)\s+\[[0-9a-fA-F]{4}\]:\s+(?P<desc>.+?)\s+"
    r"\[(?P<vid>[0-9a-fA-F]{4}):(?P<did>[0-9a-fA-F]{4})\]"
)
_LSUSB = re.compile(
    r"^Bus (?P<bus>\d+) Device (?P<dev>\d+): "
    r"ID (?P<vid>[0-9a-fA-F]{4}):(?P<pid>[0-9a-fA-F]{4})\s*(?P<desc>.*)$"
)


def _split_id(value: str | None) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    match = _BRACKET_ID.match(value.strip())
    if match:
        return (match.group(1).strip() or None), match.group(2).lower()
    return (value.strip() or None), None


def normalise_slot(slot: str) -> str:
    """``0000:00:1f.6`` and ``00:1f.6`` name the same function."""
    slot = slot.strip().lower()
    return slot[5:] if slot.startswith("0000:") else slot


def parse_lspci(raw: str) -> list[PciDevice]:
    """``lspci -vmm -nn [-k]`` records (``-k`` adds the bound driver).

    Plain ``lspci -nn`` lines (as in the QEMU recordings) are understood too.
    """
    devices: list[PciDevice] = []
    if "Slot:" not in raw:
        for line in raw.splitlines():
            m = _LSPCI_NN.match(line.strip())
            if m:
                devices.append(
                    PciDevice(
                        slot=normalise_slot(m.group("slot")),
                        class_name=m.group("cls"),
                        vendor=None,
                        device=m.group("desc"),
                        vendor_id=m.group("vid").lower(),
                        device_id=m.group("did").lower(),
                    )
                )
        return devices
    for block in re.split(r"\n\s*\n", raw):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip() and key.strip() not in fields:
                fields[key.strip()] = value.strip()
        slot = fields.get("Slot")
        if not slot:
            continue
        cls, _ = _split_id(fields.get("Class"))
        vendor, vid = _split_id(fields.get("Vendor"))
        device, did = _split_id(fields.get("Device"))
        devices.append(
            PciDevice(
                slot=normalise_slot(slot),
                class_name=cls,
                vendor=vendor,
                device=device,
                vendor_id=vid,
                device_id=did,
                driver=fields.get("Driver") or None,
            )
        )
    return devices


def parse_lsusb(raw: str) -> list[UsbDevice]:
    devices: list[UsbDevice] = []
    for line in raw.splitlines():
        m = _LSUSB.match(line.strip())
        if m:
            devices.append(
                UsbDevice(
                    bus=m.group("bus"),
                    device_number=m.group("dev"),
                    vendor_id=m.group("vid").lower(),
                    product_id=m.group("pid").lower(),
                    description=m.group("desc").strip() or None,
                )
            )
    return devices


def read_pci(source: Source) -> list[PciDevice] | None:
    out = source.command("cmd/lspci.txt", ["lspci", "-vmm", "-nn"])
    if out is None or not out.stdout.strip():
        return None
    return parse_lspci(out.text)


def read_usb(source: Source) -> list[UsbDevice] | None:
    out = source.command("cmd/lsusb.txt", ["lsusb"])
    if out is None or not out.stdout.strip():
        return None
    return parse_lsusb(out.text)
