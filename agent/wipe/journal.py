"""The erasure journal: an interrupted erasure is never forgotten.

Before a drive is touched its report is written to ``<dir>/active/<erasure_id>.json``;
the report is rewritten at every pass boundary and every few seconds; when the erasure
ends its final report moves to ``<dir>/done/``. Every write is atomic (temporary file,
fsync, rename, fsync of the directory), so a power cut leaves either the old or the new
version, never half of one.

So whatever stops a run (Ctrl-C, SIGKILL, a power cut, a kernel panic), its entry stays
in ``active/``. The next run finds entries whose process is gone (a different boot, or
no live process with that pid and start time), reports each as ``incomplete``, and
files it under ``done/``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from agent.wipe.report import ErasureReport, now_iso

log = logging.getLogger(__name__)

JOURNAL_FORMAT = "weee-wipe-journal/1"


def default_state_dir() -> Path:
    return Path(os.environ.get("WEEE_STATE_DIR") or "/var/lib/weee")


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def _process_started(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, OSError):
        return None


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a power cut
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):  # filesystems without dir fsync
            raise
    finally:
        os.close(dir_fd)


@dataclass
class Interrupted:
    """An erasure that a previous run started and never finished."""

    report: ErasureReport
    path: Path
    last_update: str | None


class Journal:
    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        base = Path(directory) if directory is not None else default_state_dir()
        self.directory = base / "wipe-journal" if directory is None else base
        self.active = self.directory / "active"
        self.done = self.directory / "done"
        self._me = os.getpid()
        self._me_started = _process_started(self._me)
        self._boot = _boot_id()
        self._closed: set[str] = set()

    def ensure_writable(self) -> None:
        """Fail early (before any disk is touched) if the journal cannot be written."""
        self.active.mkdir(parents=True, exist_ok=True)
        self.done.mkdir(parents=True, exist_ok=True)
        probe = self.active / f".probe-{self._me}"
        atomic_write(probe, b"ok")
        probe.unlink()

    def _entry(self, report: ErasureReport, state: str) -> bytes:
        doc: dict[str, Any] = {
            "format": JOURNAL_FORMAT,
            "state": state,
            "pid": self._me,
            "process_started": self._me_started,
            "boot_id": self._boot,
            "updated_at": now_iso(),
            "report": report.to_dict(),
        }
        return json.dumps(doc, indent=1).encode()

    def record(self, report: ErasureReport) -> None:
        """Write the running state of ``report`` (start, pass boundaries, checkpoints)."""
        if report.erasure_id in self._closed:
            return  # a hung drive's thread waking up after its erasure was filed as failed
        atomic_write(self.active / f"{report.erasure_id}.json", self._entry(report, "running"))

    def close(self, report: ErasureReport) -> Path:
        """File the final report under done/ and drop the active entry."""
        self._closed.add(report.erasure_id)
        final = self.done / f"{report.erasure_id}.json"
        atomic_write(final, self._entry(report, "finished"))
        with contextlib.suppress(FileNotFoundError):
            (self.active / f"{report.erasure_id}.json").unlink()
        return final

    def _still_running(self, doc: dict[str, Any]) -> bool:
        if doc.get("boot_id") and self._boot and doc["boot_id"] != self._boot:
            return False  # the machine rebooted (power cut, crash) since
        pid = doc.get("pid")
        if not isinstance(pid, int) or pid == self._me:
            return False
        started = _process_started(pid)
        recorded = doc.get("process_started")
        if started is None:
            return False
        # a recycled pid belongs to a process that started later
        return not (isinstance(recorded, float) and abs(started - recorded) > 1.0)

    def interrupted(self) -> list[Interrupted]:
        """Entries whose run is gone, reported as incomplete (oldest first)."""
        found: list[Interrupted] = []
        if not self.active.is_dir():
            return found
        for path in sorted(self.active.glob("*.json")):
            try:
                doc = json.loads(path.read_bytes())
                report = ErasureReport.from_dict(doc["report"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("%s: unreadable journal entry (%s): kept for inspection", path, exc)
                continue
            if self._still_running(doc):
                continue
            report.status = "incomplete"
            report.errors.append(
                "interrupted: the run that erased this drive stopped before it finished "
                f"(last journal update {doc.get('updated_at')})"
            )
            report.ended_at = None
            report.duration_s = None
            found.append(Interrupted(report, path, doc.get("updated_at")))
        found.sort(key=lambda i: i.report.started_at)
        return found

    def acknowledge(self, item: Interrupted) -> Path:
        """The interruption has been reported: file it as a final incomplete report."""
        final = self.done / f"{item.report.erasure_id}.json"
        atomic_write(final, self._entry(item.report, "interrupted"))
        with contextlib.suppress(FileNotFoundError):
            item.path.unlink()
        return final
