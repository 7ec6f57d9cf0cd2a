"""Installed memory and its modules from SMBIOS types 16/17, ``/proc/meminfo`` as fallback."""

from __future__ import annotations

import re

from checks.identity import clean_serial
from checks.probe.dmi import DmiRecord, records_of
from checks.probe.model import Memory, MemoryModule
from checks.probe.values import parse_size, text, to_int
from checks.source import Source

_SPEED_RE = re.compile(r"(\d+)\s*(MT/s|MHz)", re.IGNORECASE)


def _speed(value: str | None) -> int | None:
    match = _SPEED_RE.search(value or "")
    return int(match.group(1)) if match else None


def _module_size(value: str | None) -> int | None:
    if value is None:
        return None
    size = parse_size(value)
    return size if size else None  # "No Module Installed", "0 MB", "Unknown"


def parse_memory_dmi(records: list[DmiRecord]) -> Memory:
    """Modules and slots of the system memory arrays (flash and video arrays left out)."""
    arrays = records_of(records, 16)
    system_arrays = {
        a.handle.lower()
        for a in arrays
        if a.fields.get("Use", "System Memory").lower() == "system memory"
    }
    other_arrays = {a.handle.lower() for a in arrays} - system_arrays
    # A device whose array handle points nowhere (coreboot on the System76 Galago Pro)
    # is counted: only a reference to a flash or video array excludes it.
    devices = [
        d
        for d in records_of(records, 17)
        if d.fields.get("Array Handle", "").lower() not in other_arrays
    ]
    modules: list[MemoryModule] = []
    free = 0
    for d in devices:
        size = _module_size(d.fields.get("Size"))
        if size is None:
            free += 1
            continue
        mtype = text(d.fields.get("Type"))
        modules.append(
            MemoryModule(
                locator=text(d.fields.get("Locator")),
                size_bytes=size,
                type=None if mtype in ("Unknown", "Other", "<OUT OF SPEC>") else mtype,
                speed_mts=_speed(d.fields.get("Speed")),
                configured_speed_mts=_speed(
                    d.fields.get("Configured Memory Speed")
                    or d.fields.get("Configured Clock Speed")
                ),
                form_factor=text(d.fields.get("Form Factor")),
                manufacturer=text(d.fields.get("Manufacturer")),
                part_number=text(d.fields.get("Part Number")),
                serial=clean_serial(d.fields.get("Serial Number")),
            )
        )
    max_caps = [
        parse_size(a.fields.get("Maximum Capacity"))
        for a in arrays
        if a.handle.lower() in system_arrays
    ]
    total = sum(m.size_bytes or 0 for m in modules)
    return Memory(
        total_bytes=total or None,
        total_source="dmi" if total else None,
        slots_total=len(devices) or None,
        slots_free=free if devices else None,
        max_capacity_bytes=sum(c for c in max_caps if c) or None,
        modules=modules,
    )


def parse_meminfo(raw: str) -> int | None:
    """MemTotal in bytes (what the kernel can use: less than what is installed)."""
    for line in raw.splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            value = to_int(parts[1]) if len(parts) >= 2 else None
            if value is not None and value > 0:
                return value * 1024
    return None


def read_memory(source: Source, dmi: list[DmiRecord] | None) -> Memory:
    memory = parse_memory_dmi(dmi) if dmi is not None else Memory()
    if memory.total_bytes is None:
        raw = source.read_text("proc/meminfo")
        total = parse_meminfo(raw) if raw is not None else None
        if total is not None:
            memory.total_bytes = total
            memory.total_source = "meminfo"
            source.note_gap("memory.modules", "no DMI memory data: total from /proc/meminfo")
        else:
            source.note_gap("memory", "no DMI memory data and no /proc/meminfo")
    return memory
