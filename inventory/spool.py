"""The spool: signed records on the stick's data partition, written before any upload.

A record must survive a power cut at any instant, so every file is written atomically:
a temporary file in the same directory, written and fsync'd, renamed over its final name
(atomic on POSIX file systems), then the directory is fsync'd so the rename itself is
durable. Readers only ever see whole files.

Layout under the spool directory::

    records/000001-<record_id>.json   the signed record (never changed once written);
                                      the sequence number fixes the upload order
    sent/<record_id>.json             the server's answer once the record is stored
    rejected/<record_id>.json         the server's answer when it refused the record
    .lock                             flock'd by writers; the kernel drops it on death

State changes are new marker files, never edits, so they are as crash-safe as the
records. A marker lost to a crash only means the record is uploaded once more, which the
server answers with "duplicate": the record is still stored exactly once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inventory.record import RecordInvalid, validate_record
from inventory.signing import (
    SignatureInvalid,
    inspect_signed_bytes,
    signed_file_bytes,
    verify_signed,
)

log = logging.getLogger(__name__)

TMP_PREFIX = ".tmp-"
_RECORD_NAME = re.compile(r"^(?P<seq>[0-9]{6,})-(?P<record_id>[0-9a-f-]{36})\.json$")
_MARKER_NAME = re.compile(r"^(?P<record_id>[0-9a-f-]{36})\.json$")

# Test hook: called with the name of each step of a write, so a test can kill the
# process at every one of them.
Checkpoint = Callable[[str], None]


def _no_checkpoint(step: str) -> None:
    pass


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(
    path: Path, data: bytes, *, mode: int = 0o644, checkpoint: Checkpoint = _no_checkpoint
) -> None:
    """Write ``data`` to ``path`` so that ``path`` holds either its old content or all of
    ``data``, never a part, whatever happens (crash, kill, power cut)."""
    directory = path.parent
    tmp = directory / f"{TMP_PREFIX}{path.name}.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        checkpoint("tmp-created")
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        checkpoint("tmp-written")
        os.fsync(fd)
        checkpoint("tmp-synced")
    finally:
        os.close(fd)
    os.rename(tmp, path)
    checkpoint("renamed")
    fsync_dir(directory)
    checkpoint("dir-synced")


class SpoolError(Exception):
    """A record cannot be spooled (invalid, or conflicting with a spooled one)."""


@dataclass(frozen=True)
class SpoolEntry:
    seq: int
    record_id: str
    path: Path
    state: str  # "pending" | "sent" | "rejected"
    answer: dict[str, Any] | None  # the server's answer for sent/rejected records


def _read_marker(path: Path) -> dict[str, Any]:
    """A marker's server answer; a marker is written atomically, but a stick can rot, and
    the state it stands for (sent/rejected) is what matters, not its content."""
    try:
        answer = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        return {"error": f"unreadable marker {path.name}: {exc}"}
    return answer if isinstance(answer, dict) else {"error": f"unexpected marker {path.name}"}


class Spool:
    def __init__(self, root: Path, *, checkpoint: Checkpoint = _no_checkpoint) -> None:
        self.root = Path(root)
        self.records_dir = self.root / "records"
        self.sent_dir = self.root / "sent"
        self.rejected_dir = self.root / "rejected"
        self._checkpoint = checkpoint

    # -- writing ------------------------------------------------------------------------

    def _ensure_dirs(self) -> None:
        for directory in (self.root, self.records_dir, self.sent_dir, self.rejected_dir):
            if not directory.is_dir():
                directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                # a new directory's own name must be durable too, or a power cut could
                # take it away with the fsync'd records inside
                fsync_dir(directory.parent)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self._ensure_dirs()
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._checkpoint("locked")
            # We hold the lock, so no writer is alive: any temporary file is a leftover
            # of a writer that died, and never a record.
            for directory in (self.records_dir, self.sent_dir, self.rejected_dir):
                for stale in directory.glob(f"{TMP_PREFIX}*"):
                    log.info("removing %s, left by an interrupted write", stale)
                    stale.unlink()
            yield
        finally:
            os.close(fd)

    def add(self, doc: Mapping[str, Any], *, public_key: bytes | None = None) -> SpoolEntry:
        """Spool a signed record; adding the same record again is a no-op.

        The document is verified (signature, schema, consistency) first: nothing invalid
        enters the spool. Raises :class:`SpoolError`.
        """
        try:
            verify_signed(doc, public_key)
            validate_record(doc["record"])
        except (SignatureInvalid, RecordInvalid) as exc:
            raise SpoolError(f"refusing to spool an invalid record: {exc}") from None
        record_id = doc["record"]["record_id"]
        data = signed_file_bytes(doc)
        with self._locked():
            existing = self.find(record_id)
            if existing is not None:
                if existing.path.read_bytes() != data:
                    raise SpoolError(
                        f"record {record_id} is already spooled with a different content "
                        f"({existing.path})"
                    )
                return existing
            seq = max((seq for seq, _, _ in self._scan()), default=0) + 1
            path = self.records_dir / f"{seq:06d}-{record_id}.json"
            atomic_write(path, data, mode=0o600, checkpoint=self._checkpoint)
        return SpoolEntry(seq, record_id, path, "pending", None)

    def _mark(self, directory: Path, record_id: str, answer: Mapping[str, Any]) -> None:
        if self.find(record_id) is None:
            raise SpoolError(f"record {record_id} is not in the spool")
        data = json.dumps(dict(answer), sort_keys=True, indent=2).encode("utf-8") + b"\n"
        with self._locked():
            atomic_write(directory / f"{record_id}.json", data, checkpoint=self._checkpoint)

    def mark_sent(self, record_id: str, answer: Mapping[str, Any]) -> None:
        self._mark(self.sent_dir, record_id, answer)

    def mark_rejected(self, record_id: str, answer: Mapping[str, Any]) -> None:
        self._mark(self.rejected_dir, record_id, answer)

    def unreject(self, record_id: str) -> None:
        """Make a rejected record pending again (after the server was fixed)."""
        with self._locked():
            marker = self.rejected_dir / f"{record_id}.json"
            if marker.exists():
                marker.unlink()
                fsync_dir(self.rejected_dir)

    # -- reading ------------------------------------------------------------------------

    def _scan(self) -> list[tuple[int, str, Path]]:
        found = []
        if self.records_dir.is_dir():
            for path in self.records_dir.iterdir():
                match = _RECORD_NAME.match(path.name)
                if match:
                    found.append((int(match["seq"]), match["record_id"], path))
        return sorted(found)

    @staticmethod
    def _markers(directory: Path) -> dict[str, Path]:
        if not directory.is_dir():
            return {}
        return {
            m["record_id"]: path
            for path in directory.iterdir()
            if (m := _MARKER_NAME.match(path.name))
        }

    def entries(self) -> list[SpoolEntry]:
        """Every spooled record, in the order it was written."""
        sent = self._markers(self.sent_dir)
        rejected = self._markers(self.rejected_dir)
        out = []
        for seq, record_id, path in self._scan():
            state, marker = "pending", None
            if record_id in sent:
                state, marker = "sent", sent[record_id]
            elif record_id in rejected:
                state, marker = "rejected", rejected[record_id]
            answer = _read_marker(marker) if marker else None
            out.append(SpoolEntry(seq, record_id, path, state, answer))
        return out

    def pending(self) -> list[SpoolEntry]:
        return [entry for entry in self.entries() if entry.state == "pending"]

    def find(self, record_id: str) -> SpoolEntry | None:
        for entry in self.entries():
            if entry.record_id == record_id:
                return entry
        return None

    def load(self, entry: SpoolEntry, public_key: bytes | None = None) -> dict[str, Any]:
        """The signed document of ``entry``, checked again: a stick can rot.

        Raises :class:`SpoolError` naming what is wrong with the file.
        """
        verdict = inspect_signed_bytes(entry.path.read_bytes(), public_key)
        if not verdict.ok:
            problems = "; ".join(str(p) for p in verdict.problems)
            raise SpoolError(f"{entry.path} is damaged: {problems}")
        doc: dict[str, Any] = json.loads(entry.path.read_bytes())
        return doc
