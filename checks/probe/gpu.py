"""Graphics adapters: PCI display-class functions."""

from __future__ import annotations

from checks.probe.model import Gpu, PciDevice

_GPU_CLASSES = ("vga compatible controller", "3d controller", "display controller")


def gpus_from_pci(devices: list[PciDevice]) -> list[Gpu]:
    return [
        Gpu(
            vendor=d.vendor,
            model=d.device,
            pci_slot=d.slot,
            pci_id=f"{d.vendor_id}:{d.device_id}" if d.vendor_id and d.device_id else None,
        )
        for d in devices
        if (d.class_name or "").lower() in _GPU_CLASSES
    ]
