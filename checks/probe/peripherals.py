"""Webcam, audio, Bluetooth, card reader and fingerprint reader from PCI and USB lists."""

from __future__ import annotations

from checks.probe.model import PciDevice, Peripheral, UsbDevice

_PCI_KINDS = {
    "audio device": "audio",
    "multimedia audio controller": "audio",
    "bluetooth": "bluetooth",
    "sd host controller": "card-reader",
}
# lsusb names devices after the usb.ids database; these words are what it uses
_USB_KEYWORDS = (
    ("bluetooth", "bluetooth"),
    ("webcam", "webcam"),
    ("camera", "webcam"),
    ("uvc", "webcam"),
    ("fingerprint", "fingerprint"),
    ("card reader", "card-reader"),
    ("cardreader", "card-reader"),
    ("audio", "audio"),
)


def peripherals_from(pci: list[PciDevice], usb: list[UsbDevice]) -> list[Peripheral]:
    found: list[Peripheral] = []
    for d in pci:
        cls = (d.class_name or "").lower()
        kind = _PCI_KINDS.get(cls)
        if kind is None and cls == "multimedia controller" and "camera" in (d.device or "").lower():
            kind = "webcam"
        if kind is not None:
            found.append(
                Peripheral(
                    kind=kind,
                    vendor=d.vendor,
                    model=d.device,
                    bus="pci",
                    id=f"{d.vendor_id}:{d.device_id}" if d.vendor_id and d.device_id else None,
                )
            )
    for u in usb:
        desc = (u.description or "").lower()
        if u.vendor_id == "1d6b":  # Linux Foundation root hubs
            continue
        kind = next((k for word, k in _USB_KEYWORDS if word in desc), None)
        if kind is not None:
            found.append(
                Peripheral(
                    kind=kind,
                    vendor=None,
                    model=u.description,
                    bus="usb",
                    id=f"{u.vendor_id}:{u.product_id}",
                )
            )
    return found
