"""Placeholder serials and the stable device identifier.

Firmware ships with strings that look like data but are not: ``To Be Filled By O.E.M.``,
``Default string``, ``0123456789``, all-zero UUIDs. :func:`is_placeholder` recognises
them so that the probe reports ``None`` instead, and :func:`device_id` computes the
identifier a laptop keeps across reinstalls (rule and rationale: ``docs/identity.md``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

ID_PREFIX = "wd1"  # version of the rule: a new rule gets a new prefix, old ids stay valid

# Compared after lower-casing and removing everything but letters and digits, so that
# "To be filled by O.E.M.", "TO BE FILLED BY OEM" and "To_Be_Filled_By_OEM" all match.
_PLACEHOLDERS = {
    "tobefilledbyoem",
    "tobefilledbyoemtobefilledbyoem",
    "defaultstring",
    "systemserialnumber",
    "systemproductname",
    "systemmanufacturer",
    "systemversion",
    "systemskunumber",
    "systemsku",
    "chassisserialnumber",
    "chassismanufacturer",
    "chassisversion",
    "baseboardserialnumber",
    "type2boardserialnumber",
    "boardserialnumber",
    "serialnumber",
    "serial",
    "sn",
    "sernum",
    "sernum0",
    "notspecified",
    "notapplicable",
    "notavailable",
    "notavail",
    "notprovided",
    "notdefined",
    "notset",
    "none",
    "null",
    "na",
    "nodata",
    "unknown",
    "unknow",
    "invalid",
    "default",
    "oem",
    "empty",
    "blank",
    "xxxxxxxxxx",
    "0123456789",
    "123456789",
    "1234567890",
    "12345678",
    "01234567",
    "0123456789abcdef",
    "123456789abc",
    "abcdefghijkl",
    "noassetinformation",
    "noassettag",
    "assettag",
    "assettagnum",
    "partnum0",
    "partnum1",
    "manufacturer00",
    "manufacturer01",
    "modulemanufacturer",
    "modulepartnumber",
    "moduleserialnumber",
    "dimmserial",
    "customermanufacturer",
    "oemoem",
    "ssn",
    "tbd",
    "tbdbyoem",
    "abcd",
    "undefined",
}

# SMBIOS UUIDs that many machines share (all-zero, all-F, and the AMI/Insyde template)
_PLACEHOLDER_UUIDS = {
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "03000200-0400-0500-0006-000700080009",
    "00020003-0004-0005-0006-000700080009",
    "12345678-1234-5678-90ab-cddeefaabbcc",
}

# Numbered templates: "A1_Manufacturer0", "Array1_PartNumber0", "SerNum3", "PartNum1"
_PLACEHOLDER_PATTERN = re.compile(
    r"^(?:a\d+|array\d+|dimm\d+)?(?:manufacturer|partnumber|partnum|serialnumber|sernum|"
    r"serial|assettag|assettagnum)\d*$"
)

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _squash(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", value.lower())


def is_placeholder(value: str | None) -> bool:
    """True for missing, empty, or well-known filler strings that identify nothing."""
    if value is None:
        return True
    text = value.strip()
    if not text:
        return True
    squashed = _squash(text)
    if not squashed:  # "--", "..", "  ", "#"
        return True
    if squashed in _PLACEHOLDERS:
        return True
    if _PLACEHOLDER_PATTERN.match(squashed):
        return True
    # One character repeated: "00000000", "FFFFFFFF", "xxxxxxx", "11111111"
    if len(set(squashed)) == 1 and (len(squashed) >= 3 or squashed[0] in "0x"):
        return True
    return False


def clean_serial(value: str | None) -> str | None:
    """A serial number as written, or None when missing or a placeholder."""
    if value is None:
        return None
    text = value.strip().strip("\x00").strip()
    return None if is_placeholder(text) else text


def clean_uuid(value: str | None) -> str | None:
    """A lower-case SMBIOS UUID, or None when missing, malformed or a shared template."""
    if value is None:
        return None
    text = value.strip().lower()
    if not _UUID_RE.match(text) or text in _PLACEHOLDER_UUIDS:
        return None
    if len(set(text.replace("-", ""))) == 1:
        return None
    return text


def normalise_mac(value: str | None) -> str | None:
    """``aa:bb:cc:dd:ee:ff`` or None for missing, all-zero, broadcast or locally assigned."""
    if value is None:
        return None
    text = value.strip().lower().replace("-", ":")
    if not re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", text):
        return None
    if text in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
        return None
    return text


def is_universal_mac(mac: str) -> bool:
    """A burnt-in address (not locally administered, not multicast): stable hardware."""
    first = int(mac[:2], 16)
    return not (first & 0x02) and not (first & 0x01)


@dataclass(frozen=True)
class IdentityFacts:
    """What the identifier may rest on, already cleaned (placeholders are None)."""

    manufacturer: str | None = None
    serial: str | None = None
    board_serial: str | None = None
    uuid: str | None = None
    builtin_macs: tuple[str, ...] = ()  # burnt-in MACs of built-in (PCI/SDIO) adapters
    internal_drive_serials: tuple[str, ...] = ()  # non-removable, non-USB drives


@dataclass(frozen=True)
class DeviceId:
    """The identifier and the basis it rests on."""

    value: str
    basis: str  # system-serial | board-serial | system-uuid | mac | drive-serial


def _vendor_key(manufacturer: str | None) -> str:
    # Serials are unique per vendor only; the vendor string is squashed so that
    # "Hewlett-Packard" vs "HEWLETT PACKARD" across BIOS updates does not change the id.
    if manufacturer is None or is_placeholder(manufacturer):
        return ""
    return _squash(manufacturer)


def _digest(basis: str, parts: Iterable[str]) -> DeviceId:
    text = basis + "\n" + "\n".join(parts)
    value = hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
    return DeviceId(f"{ID_PREFIX}-{value}", basis)


def device_id(facts: IdentityFacts) -> DeviceId | None:
    """The stable identifier of a device, from the first usable basis (docs/identity.md).

    Order: system serial, board serial, SMBIOS UUID (all survive a reinstall and a
    drive swap), then the lowest burnt-in MAC of a built-in adapter, then the sorted
    serials of internal drives (survive a reinstall, not a drive swap). None when
    nothing trustworthy is known: a missing id is better than a shared one.
    """
    vendor = _vendor_key(facts.manufacturer)
    serial = clean_serial(facts.serial)
    if serial is not None:
        return _digest("system-serial", [vendor, serial.upper()])
    board = clean_serial(facts.board_serial)
    if board is not None:
        return _digest("board-serial", [vendor, board.upper()])
    uuid = clean_uuid(facts.uuid)
    if uuid is not None:
        return _digest("system-uuid", [uuid])
    macs = sorted(
        m for m in (normalise_mac(x) for x in facts.builtin_macs) if m and is_universal_mac(m)
    )
    if macs:
        return _digest("mac", [macs[0]])
    drives = sorted(
        {s.upper() for s in (clean_serial(x) for x in facts.internal_drive_serials) if s}
    )
    if drives:
        return _digest("drive-serial", drives)
    return None
