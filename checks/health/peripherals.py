"""Peripheral checks from the hardware report and sysfs (through the Source): Wi-Fi
adapter (and a scan when ``iw`` and root allow), Ethernet link, webcam, audio devices,
USB controllers. Presence is judged from what the probe saw; a live run adds what only
the running machine can say (link state, networks in range).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from checks.health.model import Runner, Verdict
from checks.i18n import msg
from checks.probe.buses import read_pci
from checks.probe.model import HardwareReport, NetworkInterface, PciDevice
from checks.source import Source

# PCI class 0c03 programming interfaces
USB_KINDS = {"00": "UHCI", "10": "OHCI", "20": "EHCI (USB 2)", "30": "xHCI (USB 3)", "40": "USB4"}


def _iface_evidence(i: NetworkInterface) -> dict[str, Any]:
    return {"name": i.name, "mac": i.mac, "bus": i.bus, "vendor": i.vendor, "model": i.model}


def wifi_verdict(
    report: HardwareReport,
    *,
    scan: Callable[[str], int | None] | None = None,
) -> Verdict:
    """Wi-Fi present; ``scan(ifname)`` gives the networks seen (None: could not scan)."""
    # an interface with a name first: a controller without one has no driver
    wifi = sorted((i for i in report.network if i.kind == "wifi"), key=lambda i: i.name is None)
    evidence: dict[str, Any] = {"interfaces": [_iface_evidence(i) for i in wifi]}
    if not wifi:
        return Verdict("fail", msg("wifi.none"), evidence, repair=msg("repair.fit_wifi"))
    first = wifi[0]
    name = first.name or "?"
    if not first.name:
        return Verdict("warn", msg("wifi.controller_only", model=first.model or "?"), evidence)
    if scan is not None:
        count = scan(first.name)
        evidence["networks_seen"] = count
        if count is not None:
            if count > 0:
                return Verdict("pass", msg("wifi.scan_ok", name=name, count=count), evidence)
            return Verdict("warn", msg("wifi.scan_none", name=name), evidence)
    return Verdict(
        "pass", msg("wifi.present", name=name, model=first.model or first.vendor or "?"), evidence
    )


def iw_scan(run: Runner) -> Callable[[str], int | None]:
    """A scanner using ``iw dev IF scan`` (needs root); None when it cannot scan."""

    def scan(ifname: str) -> int | None:
        # bring the interface up first: a scan on a down interface fails with ENETDOWN
        run(["ip", "link", "set", ifname, "up"], timeout=10)
        result = run(["iw", "dev", ifname, "scan"], timeout=30)
        if result.returncode != 0:
            return None
        return parse_iw_scan(result.text)

    return scan


def parse_iw_scan(text: str) -> int:
    """Distinct networks (BSS entries) in ``iw dev IF scan`` output."""
    return len(set(re.findall(r"^BSS ([0-9a-f:]{17})", text, re.M)))


def ethernet_verdict(report: HardwareReport, source: Source) -> Verdict:
    eth = [i for i in report.network if i.kind == "ethernet" and i.bus in ("pci", "usb", "other")]
    evidence: dict[str, Any] = {"interfaces": [_iface_evidence(i) for i in eth]}
    if not eth:
        # many thin laptops have no port at all: that is a fact, not a fault
        return Verdict("skip", msg("ethernet.none"), evidence)
    states = []
    for i in eth:
        if not i.name:
            continue
        carrier = (source.read_text(f"sys/class/net/{i.name}/carrier") or "").strip()
        speed = (source.read_text(f"sys/class/net/{i.name}/speed") or "").strip()
        states.append((i.name, carrier, speed))
    evidence["link"] = [
        {"name": n, "carrier": c or None, "speed_mbps": s or None} for n, c, s in states
    ]
    for name, carrier, speed in states:
        if carrier == "1":
            return Verdict("pass", msg("ethernet.link", name=name, speed=speed or "?"), evidence)
    name = eth[0].name or "?"
    if any(c == "0" for _n, c, _s in states):
        return Verdict("warn", msg("ethernet.no_link", name=name), evidence)
    return Verdict("pass", msg("ethernet.present", name=name), evidence)


def webcam_verdict(report: HardwareReport, source: Source) -> Verdict:
    cams = [p for p in report.peripherals if p.kind == "webcam"]
    v4l = [
        (source.read_text(f"sys/class/video4linux/{d}/name") or "").strip()
        for d in source.listdir("sys/class/video4linux")
    ]
    evidence: dict[str, Any] = {
        "devices": [{"model": p.model, "id": p.id, "bus": p.bus} for p in cams],
        "video4linux": [n for n in v4l if n],
    }
    if not cams and not any(v4l):
        return Verdict("fail", msg("webcam.none"), evidence, repair=msg("repair.replace_webcam"))
    model = cams[0].model if cams else next(n for n in v4l if n)
    return Verdict("pass", msg("webcam.present", model=model or "?"), evidence)


def audio_verdict(report: HardwareReport, source: Source) -> Verdict:
    devices = [p for p in report.peripherals if p.kind == "audio"]
    cards = []
    for entry in source.listdir("proc/asound"):
        if re.fullmatch(r"card\d+", entry):
            cards.append((source.read_text(f"proc/asound/{entry}/id") or entry).strip())
    evidence: dict[str, Any] = {
        "devices": [{"model": p.model, "id": p.id, "bus": p.bus} for p in devices],
        "alsa_cards": cards,
    }
    if not devices and not cards:
        return Verdict("fail", msg("audio.none"), evidence, repair=msg("repair.repair_audio"))
    model = devices[0].model if devices else cards[0]
    return Verdict("pass", msg("audio.present", model=model or "?"), evidence)


def usb_controllers(pci: list[PciDevice]) -> list[PciDevice]:
    return [d for d in pci if (d.class_name or "").lower() == "usb controller"]


def usb_verdict(source: Source, pci: list[PciDevice] | None = None) -> Verdict:
    pci = read_pci(source) if pci is None else pci
    if pci is None:
        return Verdict("skip", msg("skip.tool", tool="lspci"), {})
    controllers = usb_controllers(pci)
    kinds: list[str] = []
    for d in controllers:
        # sysfs names carry the PCI domain ("0000:00:14.0"); lspci leaves it out
        slot = d.slot if d.slot.count(":") == 2 else f"0000:{d.slot}"
        prog = (source.read_text(f"sys/bus/pci/devices/{slot}/class") or "").strip()
        kinds.append(USB_KINDS.get(prog[-2:], "USB") if prog else "USB")
    evidence = {
        "controllers": [
            {"slot": d.slot, "vendor": d.vendor, "device": d.device, "driver": d.driver}
            for d in controllers
        ],
    }
    if not controllers:
        return Verdict("fail", msg("usb.none"), evidence)
    return Verdict(
        "pass",
        msg("usb.present", count=len(controllers), kinds=", ".join(sorted(set(kinds)))),
        evidence,
    )
