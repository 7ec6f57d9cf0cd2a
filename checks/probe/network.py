"""Network adapters: interfaces from ``/sys/class/net`` joined with PCI/USB names.

Virtual interfaces (loopback, bridges, VPNs) have no ``device`` link and are left
out; a PCI network controller without a driver still appears, without a name.
"""

from __future__ import annotations

from checks.identity import normalise_mac
from checks.probe.buses import normalise_slot
from checks.probe.model import NetworkInterface, PciDevice
from checks.probe.values import parse_key_values
from checks.source import Source

_NET_CLASSES = {"ethernet controller": "ethernet", "network controller": "wifi"}
_DEVTYPES = {"wlan": "wifi", "wwan": "wwan", "bluetooth": "bluetooth"}


def parse_interface(
    name: str,
    uevent: str | None,
    device_uevent: str | None,
    address: str | None,
    type_code: str | None,
    addr_assign_type: str | None,
) -> NetworkInterface | None:
    """One physical interface from its sysfs files; None for virtual ones."""
    if device_uevent is None:
        return None
    fields = parse_key_values(uevent or "")
    dev = parse_key_values(device_uevent)
    devtype = fields.get("DEVTYPE", "")
    kind = _DEVTYPES.get(devtype)
    if kind is None:
        kind = "ethernet" if (type_code or "").strip() == "1" else "other"
    slot = dev.get("PCI_SLOT_NAME")
    if slot:
        bus = "pci"
    elif "PRODUCT" in dev or dev.get("DEVTYPE", "").startswith("usb"):
        bus = "usb"
    elif dev.get("MODALIAS", "").startswith("virtio"):
        bus = "virtio"
    elif "SDIO_ID" in dev or dev.get("MODALIAS", "").startswith("sdio"):
        bus = "sdio"
    else:
        bus = "other"
    mac = normalise_mac(address)
    # 1: random, 3: set by userspace (NetworkManager MAC randomisation): not the card's own
    if (addr_assign_type or "").strip() in ("1", "3"):
        mac = None
    return NetworkInterface(
        name=name,
        kind=kind,
        mac=mac,
        bus=bus,
        pci_slot=normalise_slot(slot) if slot else None,
    )


def read_network(source: Source, pci: list[PciDevice] | None) -> list[NetworkInterface]:
    interfaces: list[NetworkInterface] = []
    for name in source.listdir("sys/class/net"):
        base = f"sys/class/net/{name}"
        iface = parse_interface(
            name,
            source.read_text(f"{base}/uevent"),
            source.read_text(f"{base}/device/uevent"),
            source.read_text(f"{base}/address"),
            source.read_text(f"{base}/type"),
            source.read_text(f"{base}/addr_assign_type"),
        )
        if iface is not None:
            interfaces.append(iface)
    by_slot = {d.slot: d for d in pci or []}
    seen_slots = set()
    for iface in interfaces:
        dev = by_slot.get(iface.pci_slot or "")
        if dev is not None:
            seen_slots.add(dev.slot)
            iface.vendor, iface.model = dev.vendor, dev.device
    for dev in pci or []:
        kind = _NET_CLASSES.get((dev.class_name or "").lower())
        if kind is None or dev.slot in seen_slots:
            continue
        # A controller with a driver has its interface above (virtio's sits one level
        # down and cannot be joined by slot); one without a driver is worth showing:
        # a Wi-Fi card Debian has no firmware for is a repair item.
        if dev.driver is None:
            full_slot = dev.slot if dev.slot.count(":") == 2 else f"0000:{dev.slot}"
            uevent = source.read_text(f"sys/bus/pci/devices/{full_slot}/uevent")
            if uevent is not None and "DRIVER" in parse_key_values(uevent):
                continue
        interfaces.append(
            NetworkInterface(
                name=None,
                kind=kind,
                vendor=dev.vendor,
                model=dev.device,
                bus="pci",
                pci_slot=dev.slot,
            )
        )
    return interfaces
