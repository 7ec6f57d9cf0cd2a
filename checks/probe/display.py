"""Panels and monitors from the EDID blobs under ``/sys/class/drm/<connector>/edid``."""

from __future__ import annotations

import math

from checks.probe.model import Display
from checks.source import Source

_EDID_HEADER = b"\x00\xff\xff\xff\xff\xff\xff\x00"
_INTERNAL_CONNECTORS = ("eDP", "LVDS", "DSI")


def _descriptor_text(block: bytes) -> str | None:
    raw = block[5:18].split(b"\x0a", 1)[0]
    value = raw.decode("ascii", errors="replace").strip()
    return value or None


def parse_edid(raw: bytes, connector: str = "unknown") -> Display | None:
    """The display an EDID describes, or None when the blob is empty or not an EDID."""
    if len(raw) < 128 or not raw.startswith(_EDID_HEADER):
        return None
    display = Display(connector=connector, internal=is_internal(connector))
    code = int.from_bytes(raw[8:10], "big")
    letters = [(code >> shift) & 0x1F for shift in (10, 5, 0)]
    if all(1 <= c <= 26 for c in letters):
        display.manufacturer = "".join(chr(64 + c) for c in letters)
    display.product_code = int.from_bytes(raw[10:12], "little")
    serial_number = int.from_bytes(raw[12:16], "little")
    year = raw[17]
    if 0 < year < 0xFF:
        display.year = 1990 + year
    width_cm, height_cm = raw[21], raw[22]
    name: str | None = None
    free_text: list[str] = []
    serial_text: str | None = None
    for offset in (54, 72, 90, 108):
        block = raw[offset : offset + 18]
        if len(block) < 18:
            break
        pixel_clock = int.from_bytes(block[0:2], "little")
        if pixel_clock:
            if display.native_width is None:  # the first detailed timing is the native mode
                display.native_width = block[2] | ((block[4] & 0xF0) << 4)
                display.native_height = block[5] | ((block[7] & 0xF0) << 4)
                w_mm = block[12] | ((block[14] & 0xF0) << 4)
                h_mm = block[13] | ((block[14] & 0x0F) << 8)
                if w_mm and h_mm:
                    display.width_mm, display.height_mm = w_mm, h_mm
            continue
        tag = block[3]
        value = _descriptor_text(block)
        if tag == 0xFC:
            name = value
        elif tag == 0xFF:
            serial_text = value
        elif tag == 0xFE and value:
            free_text.append(value)
    if display.width_mm is None and width_cm and height_cm:
        display.width_mm, display.height_mm = width_cm * 10, height_cm * 10
    if display.width_mm and display.height_mm:
        diagonal = math.hypot(display.width_mm, display.height_mm) / 25.4
        display.diagonal_in = round(diagonal, 1)
    # Laptop panels rarely carry a name descriptor; their part number ("LP140WF6-SPB1")
    # sits in the last unspecified-text descriptor.
    display.name = name or (free_text[-1] if free_text else None)
    display.serial = serial_text or (str(serial_number) if serial_number else None)
    return display


def is_internal(connector: str) -> bool:
    # connector names are "card0-eDP-1", "card1-LVDS-1", "card0-DSI-1"
    parts = connector.split("-")
    return len(parts) >= 2 and parts[1] in _INTERNAL_CONNECTORS


def read_displays(source: Source) -> list[Display]:
    displays: list[Display] = []
    for entry in source.listdir("sys/class/drm"):
        if not entry.startswith("card") or "-" not in entry:
            continue
        raw = source.read(f"sys/class/drm/{entry}/edid")
        if not raw:
            continue
        display = parse_edid(raw, entry)
        if display is not None:
            displays.append(display)
    return displays
