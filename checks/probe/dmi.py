"""Identity, BIOS and chassis from ``dmidecode`` (root) or ``/sys/class/dmi/id`` (fallback).

``parse_dmidecode`` splits dmidecode's text into records; ``parse_device`` turns the
records into a :class:`Device`. Without root, dmidecode fails and the kernel's DMI
attributes give most of the same strings (serials and UUID stay root-only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from checks.identity import clean_serial, clean_uuid
from checks.probe.model import Device
from checks.probe.values import raw_text, text, to_int
from checks.source import Source

# SMBIOS chassis types (DMTF DSP0134 7.4.1) -> the report's chassis vocabulary
_CHASSIS_BY_NAME = {
    "portable": "laptop",
    "laptop": "laptop",
    "notebook": "laptop",
    "hand held": "laptop",
    "sub notebook": "laptop",
    "convertible": "convertible",
    "detachable": "convertible",
    "tablet": "tablet",
    "desktop": "desktop",
    "low profile desktop": "desktop",
    "pizza box": "desktop",
    "mini tower": "desktop",
    "tower": "desktop",
    "space-saving": "desktop",
    "lunch box": "desktop",
    "sealed-case pc": "desktop",
    "mini pc": "desktop",
    "stick pc": "desktop",
    "all in one": "all-in-one",
    "main server chassis": "server",
    "rack mount chassis": "server",
    "multi-system": "server",
    "blade": "server",
    "blade enclosure": "server",
}
_CHASSIS_NAMES_BY_CODE = {
    1: "Other",
    2: "Unknown",
    3: "Desktop",
    4: "Low Profile Desktop",
    5: "Pizza Box",
    6: "Mini Tower",
    7: "Tower",
    8: "Portable",
    9: "Laptop",
    10: "Notebook",
    11: "Hand Held",
    12: "Docking Station",
    13: "All In One",
    14: "Sub Notebook",
    15: "Space-saving",
    16: "Lunch Box",
    17: "Main Server Chassis",
    18: "Expansion Chassis",
    19: "Sub Chassis",
    20: "Bus Expansion Chassis",
    21: "Peripheral Chassis",
    22: "RAID Chassis",
    23: "Rack Mount Chassis",
    24: "Sealed-case PC",
    25: "Multi-system",
    26: "CompactPCI",
    27: "AdvancedTCA",
    28: "Blade",
    29: "Blade Enclosure",
    30: "Tablet",
    31: "Convertible",
    32: "Detachable",
    33: "IoT Gateway",
    34: "Embedded PC",
    35: "Mini PC",
    36: "Stick PC",
}

# Titles of the structures the probe uses, to recover a record whose "Handle" line is
# missing (seen in an anonymised Dell Latitude dump where it was overwritten).
_TYPES_BY_TITLE = {
    "BIOS Information": 0,
    "System Information": 1,
    "Base Board Information": 2,
    "Chassis Information": 3,
    "Processor Information": 4,
    "Physical Memory Array": 16,
    "Memory Device": 17,
    "TPM Device": 43,
}

_HANDLE_RE = re.compile(r"^Handle (0x[0-9A-Fa-f]+), DMI type (\d+), (\d+) bytes")

SYSFS_DMI_FILES = (
    "sys_vendor",
    "product_name",
    "product_version",
    "product_serial",
    "product_uuid",
    "product_sku",
    "product_family",
    "chassis_type",
    "board_vendor",
    "board_name",
    "board_serial",
    "bios_vendor",
    "bios_version",
    "bios_date",
)


@dataclass
class DmiRecord:
    """One dmidecode structure: its type, its title and its ``Key: value`` lines."""

    type: int
    handle: str
    title: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)


def parse_dmidecode(raw: str) -> list[DmiRecord]:
    """Records of dmidecode's default text output (any version from 2.x to 3.6)."""
    records: list[DmiRecord] = []
    current: DmiRecord | None = None
    list_key: str | None = None
    for line in raw.splitlines():
        match = _HANDLE_RE.match(line)
        if match:
            current = DmiRecord(type=int(match.group(2)), handle=match.group(1))
            records.append(current)
            list_key = None
            continue
        if not line.strip():
            continue
        if not line.startswith("\t"):
            title = line.strip()
            if current is not None and not current.title and title in _TYPES_BY_TITLE:
                current.title = title
            elif title in _TYPES_BY_TITLE and (current is None or current.fields):
                current = DmiRecord(type=_TYPES_BY_TITLE[title], handle="", title=title)
                records.append(current)
                list_key = None
            elif current is not None and not current.title and not current.fields:
                current.title = title
            continue
        if current is None:
            continue
        if line.startswith("\t\t"):
            if list_key is not None:
                current.lists.setdefault(list_key, []).append(line.strip())
            continue
        key, sep, value = line[1:].partition(":")
        if not sep:
            continue
        key = key.strip()
        value = value.strip()
        if value:
            current.fields.setdefault(key, value)
            list_key = None
        else:
            list_key = key  # "Characteristics:", "Flags:" and other nested lists
    return records


def records_of(records: list[DmiRecord], dmi_type: int) -> list[DmiRecord]:
    return [r for r in records if r.type == dmi_type]


def chassis_from_name(name: str | None) -> str | None:
    if name is None:
        return None
    key = name.strip().lower()
    if key in ("", "unknown"):
        return None
    return _CHASSIS_BY_NAME.get(key, "other")


def marketing_model(
    manufacturer: str | None, product: str | None, version: str | None
) -> str | None:
    """The name on the case: Lenovo writes it in Version, the machine type in Product Name."""
    if manufacturer and manufacturer.strip().lower() == "lenovo":
        # Version is "ThinkPad T440p" / "Lenovo ideapad 330-17IKB"; a bare "Lenovo" or
        # "ThinkPad" (some older IdeaPads, some boards) says less than the machine type.
        if version and version.strip().lower() not in ("lenovo", "thinkpad", "ideapad"):
            return version
    # Other vendors' Version holds a board revision ("V1.28", "REV:1.0"): never a model.
    return product


def iso_date(value: str | None) -> str | None:
    """``MM/DD/YYYY`` (SMBIOS) to ``YYYY-MM-DD``; anything else kept as written."""
    if value is None:
        return None
    match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})", value.strip())
    if not match:
        return value
    month, day, year = (int(x) for x in match.groups())
    if year < 100:
        year += 1900 if year >= 80 else 2000
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return value


def parse_device(records: list[DmiRecord]) -> Device:
    """The device identity from dmidecode records (types 0, 1, 2, 3)."""
    system = next(iter(records_of(records, 1)), None)
    board = next(iter(records_of(records, 2)), None)
    bios = next(iter(records_of(records, 0)), None)
    chassis_records = records_of(records, 3)
    # A laptop on a dock lists the docking station as a second chassis; the first
    # chassis that is not a dock is the machine itself.
    chassis = next(
        (c for c in chassis_records if c.fields.get("Type", "").lower() != "docking station"),
        next(iter(chassis_records), None),
    )

    def f(rec: DmiRecord | None, key: str) -> str | None:
        return rec.fields.get(key) if rec is not None else None

    raw = {
        "system_manufacturer": raw_text(f(system, "Manufacturer")),
        "system_product_name": raw_text(f(system, "Product Name")),
        "system_version": raw_text(f(system, "Version")),
        "system_serial": raw_text(f(system, "Serial Number")),
        "system_uuid": raw_text(f(system, "UUID")),
        "system_sku": raw_text(f(system, "SKU Number")),
        "system_family": raw_text(f(system, "Family")),
        "board_manufacturer": raw_text(f(board, "Manufacturer")),
        "board_product_name": raw_text(f(board, "Product Name")),
        "board_serial": raw_text(f(board, "Serial Number")),
        "chassis_type": raw_text(f(chassis, "Type")),
        "chassis_serial": raw_text(f(chassis, "Serial Number")),
        "bios_vendor": raw_text(f(bios, "Vendor")),
        "bios_version": raw_text(f(bios, "Version")),
        "bios_date": raw_text(f(bios, "Release Date")),
    }
    return _device_from_raw(raw)


def _device_from_raw(raw: dict[str, str | None]) -> Device:
    manufacturer = text(raw.get("system_manufacturer"))
    product = text(raw.get("system_product_name"))
    version = text(raw.get("system_version"))
    return Device(
        manufacturer=manufacturer,
        model=marketing_model(manufacturer, product, version),
        serial=clean_serial(raw.get("system_serial")),
        chassis=chassis_from_name(raw.get("chassis_type")),
        sku=text(raw.get("system_sku")),
        family=text(raw.get("system_family")),
        uuid=clean_uuid(raw.get("system_uuid")),
        board_manufacturer=text(raw.get("board_manufacturer")),
        board_model=text(raw.get("board_product_name")),
        board_serial=clean_serial(raw.get("board_serial")),
        bios_vendor=text(raw.get("bios_vendor")),
        bios_version=text(raw.get("bios_version")),
        bios_date=iso_date(text(raw.get("bios_date"))),
        raw={k: v for k, v in raw.items() if v is not None},
    )


def parse_dmi_sysfs(files: dict[str, str | None]) -> Device:
    """The device identity from ``/sys/class/dmi/id/<name>`` contents (name -> text)."""

    def g(name: str) -> str | None:
        return raw_text(files.get(name))

    code = to_int(g("chassis_type"))
    raw = {
        "system_manufacturer": g("sys_vendor"),
        "system_product_name": g("product_name"),
        "system_version": g("product_version"),
        "system_serial": g("product_serial"),
        "system_uuid": g("product_uuid"),
        "system_sku": g("product_sku"),
        "system_family": g("product_family"),
        "board_manufacturer": g("board_vendor"),
        "board_product_name": g("board_name"),
        "board_serial": g("board_serial"),
        "chassis_type": _CHASSIS_NAMES_BY_CODE.get(code) if code is not None else None,
        "bios_vendor": g("bios_vendor"),
        "bios_version": g("bios_version"),
        "bios_date": g("bios_date"),
    }
    return _device_from_raw(raw)


def read_dmidecode(source: Source) -> list[DmiRecord] | None:
    """dmidecode's records, or None when it could not run (not root, not installed)."""
    out = source.command("cmd/dmidecode.txt", ["dmidecode"])
    if out is None or not out.stdout.strip():
        return None
    records = parse_dmidecode(out.text)
    if not records:
        why = f" (exit status {out.returncode})" if out.returncode else ""
        source.note_gap("cmd/dmidecode.txt", f"no SMBIOS records in the output{why}")
        return None
    return records


def read_device(source: Source, records: list[DmiRecord] | None) -> Device:
    if records is not None:
        return parse_device(records)
    files = {name: source.read_text(f"sys/class/dmi/id/{name}") for name in SYSFS_DMI_FILES}
    if not any(files.values()):
        source.note_gap("device", "no DMI data (dmidecode unavailable, no /sys/class/dmi/id)")
        return Device()
    if files.get("product_serial") is None:
        source.note_gap("device.serial", "readable by root only (run as root for serials)")
    return parse_dmi_sysfs(files)
