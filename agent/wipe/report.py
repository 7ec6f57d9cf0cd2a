"""The erasure report: one per drive, part of the signed record (``weee-erasure/1``).

Field names are a contract (team brief, "Erasure report"); they carry the NIST SP 800-88
Appendix G items: who and where, the media, the sanitisation category and technique, the
tool, each pass, the verification, the hidden areas, the result and the destination.

A report says ``certified`` only through :meth:`ErasureReport.finish`, which grants it
when every pass completed without error and verification passed, and never otherwise.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from agent import __version__

SCHEMA = "weee-erasure/1"

STATUSES = ("certified", "failed", "incomplete", "refused", "skipped")

# method -> (NIST category, one-sentence technique)
METHODS: dict[str, tuple[str, str]] = {
    "nvme-sanitize-crypto": (
        "purge",
        "NVMe Sanitize, crypto erase: the controller changed the media encryption key.",
    ),
    "nvme-sanitize-block": (
        "purge",
        "NVMe Sanitize, block erase: the controller erased every block of the media.",
    ),
    "nvme-format-crypto": (
        "purge",
        "NVMe Format NVM with cryptographic erase (SES=2): the namespace's key was changed.",
    ),
    "nvme-format-user-data": (
        "purge",
        "NVMe Format NVM with user data erase (SES=1): the controller erased the namespace.",
    ),
    "ata-sanitize-crypto": (
        "purge",
        "ATA SANITIZE CRYPTO SCRAMBLE: the drive changed its internal encryption key.",
    ),
    "ata-sanitize-block": (
        "purge",
        "ATA SANITIZE BLOCK ERASE: the drive erased every block of its media.",
    ),
    "ata-security-erase-enhanced": (
        "purge",
        "ATA SECURITY ERASE UNIT, enhanced mode: the drive erased all user and reallocated areas.",
    ),
    "ata-security-erase": (
        "clear",
        "ATA SECURITY ERASE UNIT, normal mode: the drive overwrote its user-addressable area.",
    ),
    "mmc-secure-erase": (
        "purge",
        "eMMC secure erase/trim (BLKSECDISCARD): the device physically erased the blocks.",
    ),
    "overwrite": (
        "clear",
        "Overwrite of every user-addressable sector from the host, then read back.",
    ),
}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Operator:
    technician: str | None = None
    organisation: str | None = None
    bench: str | None = None
    location: str | None = None


@dataclass
class Media:
    device: str
    manufacturer: str | None
    model: str | None
    serial: str | None
    type: str  # hdd|ssd|nvme|emmc|usb|other
    interface: str  # ata|nvme|scsi|mmc|usb|other
    size_bytes: int
    logical_sector_size: int


@dataclass
class Sanitization:
    category: str  # clear|purge
    method: str
    technique: str
    pattern: str | None  # zero|random|None (firmware)
    passes: int

    @classmethod
    def for_method(
        cls, method: str, *, pattern: str | None = None, passes: int = 1
    ) -> Sanitization:
        category, technique = METHODS[method]
        if method == "overwrite":
            kind = "pseudo-random data (AES-256-CTR keystream)" if pattern == "random" else "zeros"
            technique = (
                f"Overwrite of every user-addressable sector with {kind}, "
                f"{passes} pass{'es' if passes != 1 else ''}, then read back."
            )
        return cls(category, method, technique, pattern, passes)


@dataclass
class HpaState:
    present: bool | None = None
    native_max_sectors: int | None = None
    current_max_sectors: int | None = None


@dataclass
class DcoState:
    present: bool | None = None
    real_max_sectors: int | None = None  # the factory capacity (hdparm --dco-identify)
    restored: bool | None = None  # DEVICE CONFIGURATION RESTORE run and confirmed


@dataclass
class HiddenAreas:
    hpa: HpaState = field(default_factory=HpaState)
    dco: DcoState = field(default_factory=DcoState)
    restored: bool | None = None  # a hidden area (HPA or DCO) was made addressable
    note: str | None = None
    # the drive's native capacity in bytes, as the kernel saw it when the erasure began:
    # what was erased (None when not checked: no HPA/DCO on this kind of drive)
    native_size_bytes: int | None = None


@dataclass
class IoError:
    offset: int
    length: int
    error: str


@dataclass
class PassRecord:
    number: int
    pattern: str
    started_at: str
    ended_at: str | None = None
    bytes_written: int = 0
    errors: list[IoError] = field(default_factory=list)


@dataclass
class Verification:
    method: str = "none"  # full|sample|none
    started_at: str | None = None
    ended_at: str | None = None
    bytes_read: int = 0
    samples: int | None = None
    mismatches: int = 0
    first_mismatch_offset: int | None = None
    result: str = "not-done"  # passed|failed|not-done
    # firmware erase: the run's markers written over the sampled blocks before the
    # erase, and how many of them were still there after it (None: no markers used)
    markers_written: int | None = None
    markers_found: int | None = None


EVIDENCE_MAX_CHARS = 4096


def clip_output(text: str, limit: int = EVIDENCE_MAX_CHARS) -> str:
    """A tool's output cut to ``limit`` characters: its start and its end, where the
    verdict usually is (``hdparm -I`` prints its Security section last)."""
    if len(text) <= limit:
        return text
    head = limit // 4
    tail = limit - head
    return f"{text[:head]}\n[... {len(text) - head - tail} characters cut ...]\n{text[-tail:]}"


@dataclass
class Evidence:
    """One drive-state read a firmware method based a decision on, kept as it was."""

    command: str  # the argv, shell-quoted
    exit_status: int | None  # None: the program could not run or timed out
    output: str  # stdout then stderr, clipped to EVIDENCE_MAX_CHARS


@dataclass
class ErasureReport:
    media: Media
    sanitization: Sanitization
    operator: Operator = field(default_factory=Operator)
    hidden_areas: HiddenAreas = field(default_factory=HiddenAreas)
    passes: list[PassRecord] = field(default_factory=list)
    verification: Verification = field(default_factory=Verification)
    status: str = "incomplete"  # until finish() says otherwise
    started_at: str = field(default_factory=now_iso)
    ended_at: str | None = None
    duration_s: float | None = None
    errors: list[str] = field(default_factory=list)
    destination: str = "reuse"
    erasure_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    tool_version: str = __version__
    evidence: list[Evidence] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.errors.append(message)

    def finish(self, *, interrupted: bool = False) -> None:
        """Set the final status: certified only when everything was done and verified."""
        self.ended_at = now_iso()
        took = (parse_iso(self.ended_at) - parse_iso(self.started_at)).total_seconds()
        self.duration_s = round(took, 3)
        if self.status in ("refused", "skipped"):
            return
        pass_errors = any(p.errors for p in self.passes)
        all_passes_ended = bool(self.passes) and all(p.ended_at for p in self.passes)
        if self.errors or pass_errors or self.verification.result == "failed":
            self.status = "failed"
        elif interrupted or not all_passes_ended:
            self.status = "incomplete"
        elif self.verification.result == "passed" and len(self.passes) >= 1:
            self.status = "certified"
        else:
            # finished but never verified: the contract forbids certifying it
            self.status = "failed"
            self.errors.append("erasure was not verified")

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "erasure_id": self.erasure_id,
            "status": self.status,
            "operator": asdict(self.operator),
            "media": asdict(self.media),
            "sanitization": asdict(self.sanitization),
            "tool": {"name": "weee", "version": self.tool_version},
            "hidden_areas": asdict(self.hidden_areas),
            "passes": [asdict(p) for p in self.passes],
            "verification": asdict(self.verification),
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_s": self.duration_s,
            "errors": list(self.errors),
            "destination": self.destination,
            "evidence": [asdict(e) for e in self.evidence],
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> ErasureReport:
        """Back from JSON (the journal); raises KeyError/TypeError on a broken document."""
        hidden = doc.get("hidden_areas") or {}
        report = cls(
            media=Media(**doc["media"]),
            sanitization=Sanitization(**doc["sanitization"]),
            operator=Operator(**(doc.get("operator") or {})),
            hidden_areas=HiddenAreas(
                hpa=HpaState(**(hidden.get("hpa") or {})),
                dco=DcoState(**(hidden.get("dco") or {})),
                restored=hidden.get("restored"),
                note=hidden.get("note"),
                native_size_bytes=hidden.get("native_size_bytes"),
            ),
            passes=[
                PassRecord(**{**p, "errors": [IoError(**e) for e in p.get("errors", [])]})
                for p in doc.get("passes", [])
            ],
            verification=Verification(**(doc.get("verification") or {})),
            status=doc["status"],
            started_at=doc["started_at"],
            ended_at=doc.get("ended_at"),
            duration_s=doc.get("duration_s"),
            errors=list(doc.get("errors", [])),
            destination=doc.get("destination", "reuse"),
            erasure_id=doc["erasure_id"],
            tool_version=(doc.get("tool") or {}).get("version", __version__),
            evidence=[Evidence(**e) for e in doc.get("evidence") or []],
        )
        return report
