"""Taking in a signed record from a bench: every check at the edge, then one transaction.

Order of the checks, so that each refusal says the most useful thing:
JSON → envelope and key (is it this bench's key?) → signature → schema and consistency
rules (``inventory.record.validate_record``, the same definition the bench used) →
clock → already stored? (same content: idempotent; different content: conflict).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from inventory.record import RecordInvalid, validate_record
from inventory.server.benches.models import Bench
from inventory.server.devices import identity
from inventory.server.devices.lifecycle import TransitionRefused, status_from_record
from inventory.server.devices.models import Device, Record, RecordKind
from inventory.signing import SignatureInvalid, canonical_bytes, parse_signed_bytes, verify_signed

log = logging.getLogger("weee.api")


class IngestError(Exception):
    """A refused upload: HTTP status, a short machine-readable error, a human detail."""

    def __init__(self, status: int, error: str, detail: Any = None) -> None:
        super().__init__(f"{status} {error}: {detail}")
        self.status = status
        self.error = error
        self.detail = detail


@dataclass
class IngestResult:
    status: str  # "stored" | "duplicate"
    record: Record
    warnings: list[str] = field(default_factory=list)

    @property
    def http_status(self) -> int:
        return 201 if self.status == "stored" else 200

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": self.status,
            "record_id": str(self.record.record_id),
            "device_id": self.record.record.get("device_id"),
            "asset_id": self.record.device.asset_id,
        }
        if self.warnings:
            body["warnings"] = self.warnings
        return body


def ingest(body: bytes, bench: Bench) -> IngestResult:
    doc = _parse(body)
    signature = doc["signature"]
    if signature.get("public_key") != bench.public_key:
        raise IngestError(
            403,
            "foreign-key",
            f"the record is signed by key {signature.get('key_id')!r}, which is not the key "
            f"registered for bench {bench.name!r} ({bench.key_id})",
        )
    try:
        verified = verify_signed(doc, public_key=bench.public_key_bytes)
    except SignatureInvalid as exc:
        raise IngestError(422, "bad-signature", exc.reason) from None
    record = verified.record
    try:
        validate_record(record)
    except RecordInvalid as exc:
        raise IngestError(
            400,
            "schema-violation",
            [{"path": p.path, "message": p.message} for p in exc.problems],
        ) from None
    claimed = record["bench"]["id"]
    if claimed != verified.key_id:
        # signed by this bench but naming another: a copied record or a misconfigured
        # bench; either way its certificates would name the wrong bench
        raise IngestError(
            400,
            "bench-mismatch",
            f"record.bench.id is {claimed!r} but the record is signed by key "
            f"{verified.key_id} (bench {bench.name!r})",
        )
    created_at = dt.datetime.fromisoformat(record["created_at"].replace("Z", "+00:00"))
    skew = dt.timedelta(hours=settings.WEEE_RECORD_MAX_CLOCK_SKEW_HOURS)
    if created_at > timezone.now() + skew:
        raise IngestError(
            400,
            "from-the-future",
            f"created_at {record['created_at']} is in the future: check the bench's clock",
        )
    digest = hashlib.sha256(canonical_bytes(record)).hexdigest()

    # Two uploads racing on the same record or the same new laptop: the loser's insert
    # hits a unique constraint, rolls back, and the second attempt finds the winner's rows.
    for attempt in range(3):
        existing = Record.objects.filter(record_id=record["record_id"]).first()
        if existing is not None:
            return _duplicate_or_conflict(existing, digest, signature["value"])
        try:
            with transaction.atomic():
                return _store(body, record, signature, digest, bench, created_at)
        except IntegrityError:
            if attempt == 2:
                raise
            log.info("record %s: concurrent upload, retrying", record["record_id"])
    raise AssertionError("unreachable")


def _parse(body: bytes) -> dict[str, Any]:
    try:
        doc = parse_signed_bytes(body)
    except ValueError as exc:
        raise IngestError(400, "malformed", str(exc)) from None
    if not isinstance(doc, dict) or set(doc) != {"record", "signature"}:
        raise IngestError(
            400,
            "malformed",
            'a signed record is a JSON object with exactly the keys "record" and "signature"',
        )
    if not isinstance(doc["record"], dict) or not isinstance(doc["signature"], dict):
        raise IngestError(400, "malformed", '"record" and "signature" must be JSON objects')
    return doc


def _duplicate_or_conflict(existing: Record, digest: str, signature: str) -> IngestResult:
    if existing.content_sha256 == digest and existing.signature == signature:
        return IngestResult("duplicate", existing)
    raise IngestError(
        409,
        "conflict",
        f"record {existing.record_id} is already stored with different content",
    )


# Any constant: the key of the PostgreSQL advisory lock that serialises identity matching.
_IDENTITY_LOCK_KEY = 0x77656565  # "weee"


def _serialise_identity_matching() -> None:
    """Make find-or-create of a laptop one at a time, until the transaction ends.

    Two first runs of one new laptop uploaded at once would otherwise both find nothing
    and create two laptops with two asset IDs (seen with eight concurrent uploads on
    PostgreSQL). Matching is fuzzy (serials, MACs, drive serials), so no unique key can
    catch it; a transaction-scoped advisory lock serialises just this part of an upload.
    SQLite needs nothing: its IMMEDIATE transactions (settings) already serialise writers.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_IDENTITY_LOCK_KEY])


def _store(
    body: bytes,
    record: dict[str, Any],
    signature: dict[str, Any],
    digest: str,
    bench: Bench,
    created_at: dt.datetime,
) -> IngestResult:
    warnings: list[str] = []
    facts = identity.facts_of(record)
    _serialise_identity_matching()
    match = identity.find_device(facts)
    hardware_device = record["hardware"].get("device") or {}
    if match.device is None:
        device = Device.objects.create(device_id=record["device_id"])
    else:
        # lock the laptop: two runs of the same laptop uploaded at once must not
        # interleave their status moves
        device = Device.objects.select_for_update().get(pk=match.device.pk)
    identity.remember(device, facts)

    stored = Record.objects.create(
        record_id=record["record_id"],
        device=device,
        bench=bench,
        kind=record["kind"],
        created_at=created_at,
        signed_file=body.decode("utf-8"),
        record=record,
        content_sha256=digest,
        key_id=signature["key_id"],
        signature=signature["value"],
        certified=record["certified"],
        grade=((record.get("checks") or {}).get("grade") or {}).get("grade") or "",
        technician=(record.get("bench") or {}).get("technician") or "",
        matched_by=match.matched_by,
        maintenance_ticket_ref=record.get("maintenance_ticket") or "",
    )

    latest = not device.records.filter(created_at__gt=created_at).exists()
    if record["kind"] == RecordKind.REFURBISHMENT and latest:
        # the laptop's description follows its latest refurbishment run (a board or
        # drive may have been replaced); an older run uploaded late changes nothing
        device.device_id = record["device_id"]
        device.manufacturer = hardware_device.get("manufacturer") or device.manufacturer
        device.model = hardware_device.get("model") or device.model
        device.serial = identity.usable(hardware_device.get("serial")) or device.serial
        device.board_serial = (
            identity.usable(hardware_device.get("board_serial")) or device.board_serial
        )
        device.grade = stored.grade
        device.bench_kit = record.get("kit")
    _attach_batch(device, record)
    device.save()

    if record["kind"] == RecordKind.MAINTENANCE:
        warnings += _attach_ticket(stored, device)
    elif latest:
        target = status_from_record(record)
        try:
            device.move_to(target, reason=f"{record['kind']} run", record=stored)
        except TransitionRefused as exc:
            warnings.append(f"{exc} The record is stored; the laptop keeps its status.")
    log.info(
        "stored record %s from bench %s: %s %s (%s)",
        stored.record_id,
        bench.name,
        device.asset_id,
        device.status,
        match.matched_by or "new laptop",
    )
    return IngestResult("stored", stored, warnings)


def _attach_batch(device: Device, record: dict[str, Any]) -> None:
    from inventory.server.programme.models import Batch, Donor

    donor = record.get("donor")
    if not donor or device.batch_id is not None:
        return
    owner, _ = Donor.objects.get_or_create(name=donor["name"].strip())
    reference = (donor.get("batch") or "").strip() or "-"
    device.batch, _ = Batch.objects.get_or_create(donor=owner, reference=reference)


def _attach_ticket(stored: Record, device: Device) -> list[str]:
    from inventory.server.programme.models import MaintenanceTicket

    reference = stored.maintenance_ticket_ref
    if not reference:
        return ["a maintenance run without a ticket reference: kept in the laptop's history"]
    ticket = (
        MaintenanceTicket.objects.select_related("allocation")
        .filter(reference__iexact=reference.strip())
        .first()
    )
    if ticket is None:
        return [f"maintenance ticket {reference!r} does not exist: the run is kept unattached"]
    if ticket.allocation.device_id != device.pk:
        return [
            f"maintenance ticket {reference!r} belongs to another laptop: the run is kept "
            "unattached"
        ]
    stored.maintenance_ticket = ticket
    stored.save(update_fields=["maintenance_ticket"])
    return []
