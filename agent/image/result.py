"""The image result, as the record carries it (contract ``weee-image/1``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agent.errors import EXIT_FAILED, EXIT_OK

SCHEMA = "weee-image/1"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class ImageResult:
    source: str
    device: str
    status: str = "failed"  # "verified" | "failed"
    bytes_written: int = 0
    image_bytes: int = 0
    sha256: str | None = None  # whole-image digest, when it was computed
    bmap: bool = False
    verification: str = "none"  # "bmap-ranges" | "sha256" | "none"
    started_at: str = field(default_factory=now_iso)
    ended_at: str | None = None
    duration_s: float = 0.0
    error: str | None = None
    # Not part of the record: how the command should exit, and what was done after
    # the write (for the CLI's summary).
    exit_code: int = EXIT_FAILED
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "verified" and self.exit_code == EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "status": self.status,
            "source": self.source,
            "device": self.device,
            "bytes_written": self.bytes_written,
            "image_bytes": self.image_bytes,
            "sha256": self.sha256,
            "bmap": self.bmap,
            "verification": self.verification,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_s": round(self.duration_s, 3),
            "error": self.error,
        }
