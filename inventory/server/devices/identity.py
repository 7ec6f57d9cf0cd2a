"""Recognising a laptop that comes back, also when it has no usable serial number.

The facts come from the record: the agent's ``device_id``, then the hardware report.
Strong facts (device id, system serial, SMBIOS UUID, board serial) recognise a laptop on
their own. Weak facts (MACs of built-in network interfaces, drive serials) only count
when no strong fact contradicts them, because drives and USB adapters move between
laptops on the bench: the laptop sharing the most weak facts wins.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from checks.identity import clean_serial, clean_uuid
from inventory.server.devices.models import Device, DeviceIdentifier, IdentifierKind

STRONG = (
    IdentifierKind.DEVICE_ID,
    IdentifierKind.SERIAL,
    IdentifierKind.UUID,
    IdentifierKind.BOARD_SERIAL,
)
WEAK = (IdentifierKind.MAC, IdentifierKind.DRIVE_SERIAL)

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def usable(value: object) -> str | None:
    """A serial number as an identity, or None: the probe's own rule
    (``checks.identity.clean_serial``), applied again because the database also takes
    records from older agents and the API, and must never merge every "To Be Filled By
    O.E.M." laptop into one."""
    return clean_serial(value) if isinstance(value, str) else None


@dataclass(frozen=True)
class Fact:
    kind: str
    value: str


def facts_of(record: dict[str, Any]) -> list[Fact]:
    """Every identifying fact a record carries, normalised for comparison."""
    facts: list[Fact] = []
    hardware = record.get("hardware") or {}
    device = hardware.get("device") or {}

    def add(kind: str, value: object) -> None:
        v = usable(value)
        if v is not None:
            facts.append(Fact(kind, v))

    add(IdentifierKind.DEVICE_ID, record.get("device_id") or device.get("device_id"))
    serial = usable(device.get("serial"))
    if serial:
        # serials are unique per vendor only
        add(IdentifierKind.SERIAL, f"{(device.get('manufacturer') or '').strip().lower()}|{serial}")
    uuid = clean_uuid(device.get("uuid")) if isinstance(device.get("uuid"), str) else None
    if uuid:
        add(IdentifierKind.UUID, uuid)
    board = usable(device.get("board_serial"))
    if board:
        add(
            IdentifierKind.BOARD_SERIAL,
            f"{(device.get('board_manufacturer') or '').strip().lower()}|{board}",
        )
    for nic in hardware.get("network") or []:
        mac = (nic.get("mac") or "").strip().lower()
        # built-in interfaces only: a USB Ethernet adapter travels from laptop to laptop
        if _MAC.match(mac) and nic.get("bus") != "usb" and mac != "00:00:00:00:00:00":
            add(IdentifierKind.MAC, mac)
    for drive in hardware.get("storage") or []:
        if drive.get("removable") or drive.get("protocol") == "usb":
            continue  # the boot stick and other USB media are not part of the laptop
        add(IdentifierKind.DRIVE_SERIAL, drive.get("serial"))
    return list(dict.fromkeys(facts))


@dataclass(frozen=True)
class Match:
    device: Device | None
    matched_by: str  # "device_id", "serial", ..., "mac+drive_serial", or "" when new


def find_device(facts: list[Fact]) -> Match:
    if not facts:
        return Match(None, "")
    # (kind, value) pairs, so the lookup uses the unique index on both columns
    wanted = Q()
    for fact in facts:
        wanted |= Q(kind=fact.kind, value=fact.value)
    known = {
        (i.kind, i.value): i.device_id
        for i in DeviceIdentifier.objects.filter(wanted).only("kind", "value", "device_id")
    }
    for kind in STRONG:
        for fact in facts:
            if fact.kind == kind and (kind, fact.value) in known:
                return Match(Device.objects.get(pk=known[(kind, fact.value)]), kind)

    votes: Counter[int] = Counter()
    kinds: dict[int, set[str]] = {}
    for fact in facts:
        if fact.kind in WEAK and (fact.kind, fact.value) in known:
            pk = known[(fact.kind, fact.value)]
            votes[pk] += 1
            kinds.setdefault(pk, set()).add(fact.kind)
    mine = {(f.kind, f.value) for f in facts}
    for pk, _count in votes.most_common():
        if not _contradicts(pk, mine):
            return Match(Device.objects.get(pk=pk), "+".join(sorted(kinds[pk])))
    return Match(None, "")


def _contradicts(device_pk: int, mine: set[tuple[str, str]]) -> bool:
    """True when the candidate and the record both have a serial (or UUID, board serial)
    and they differ: then the shared MAC or drive moved between two different laptops."""
    theirs = DeviceIdentifier.objects.filter(
        device_id=device_pk,
        kind__in=[IdentifierKind.SERIAL, IdentifierKind.UUID, IdentifierKind.BOARD_SERIAL],
    ).values_list("kind", "value")
    for kind, value in theirs:
        my_values = {v for k, v in mine if k == kind}
        if my_values and value not in my_values:
            return True
    return False


def remember(device: Device, facts: list[Fact]) -> None:
    """Attach the facts to the laptop; a weak fact seen on another laptop moves here
    (the drive or adapter was moved), a strong one never does."""
    for fact in facts:
        existing = DeviceIdentifier.objects.filter(kind=fact.kind, value=fact.value).first()
        if existing is None:
            DeviceIdentifier.objects.create(device=device, kind=fact.kind, value=fact.value)
        elif existing.device_id != device.pk and fact.kind in WEAK:
            existing.device = device
            existing.save(update_fields=["device"])
