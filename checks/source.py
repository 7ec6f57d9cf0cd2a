"""Where the probe reads from: the live system, or a capture folder.

The probe never opens ``/sys`` or runs a tool itself: it asks a :class:`Source`.
A :class:`LiveSource` reads files under a root path (``/`` on a bench) and runs tools
through :func:`checks.system.run_command`; a :class:`CaptureSource` reads the same
things back from a capture folder (``../shared/docs/capture-format.md``); a
:class:`LiveSource` given ``record_to`` writes everything it reads into a new capture,
so that ``weee probe --from DIR`` reproduces the live report exactly.

Keys are capture-relative paths: ``sys/class/power_supply/BAT0/uevent`` for files,
``cmd/dmidecode.txt`` for command outputs. A command's exit status is kept beside its
output as ``<key>.rc`` (an extra file, which the format allows) because smartctl's
status is a bit mask the checks need.
"""

from __future__ import annotations

import json
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from checks.system import DEFAULT_TIMEOUT, run_command

log = logging.getLogger(__name__)

CAPTURE_FORMAT = "weee-capture/1"
MAX_FILE_BYTES = 4 * 1024 * 1024  # sysfs/procfs files are small; refuse absurd ones


@dataclass(frozen=True)
class Output:
    """A command's captured output."""

    stdout: bytes
    returncode: int | None  # None: unknown (capture without .rc) or could not run

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")


@dataclass
class Gap:
    """Something the probe could not read, and why (shown in the report)."""

    what: str
    why: str


def _safe_key(key: str) -> PurePosixPath:
    p = PurePosixPath(key)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise ValueError(f"bad capture key: {key!r}")
    return p


class Source(ABC):
    """Read-only access to a machine's raw facts."""

    live: bool = False

    def __init__(self) -> None:
        self.gaps: list[Gap] = []

    def note_gap(self, what: str, why: str) -> None:
        if not any(g.what == what and g.why == why for g in self.gaps):
            self.gaps.append(Gap(what, why))
        log.debug("gap: %s: %s", what, why)

    @abstractmethod
    def read(self, key: str) -> bytes | None:
        """Bytes of a file (``sys/...``, ``proc/...``), or None when absent/unreadable."""

    @abstractmethod
    def listdir(self, key: str) -> list[str]:
        """Sorted entry names of a directory, or [] when absent."""

    @abstractmethod
    def command(
        self, key: str, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT
    ) -> Output | None:
        """Output of a tool, stored as ``key`` (``cmd/...``); None when unavailable."""

    @abstractmethod
    def produce(self, key: str, producer: Callable[[], bytes | None]) -> bytes | None:
        """Data made by Python code on the live system (stored as ``key`` in captures)."""

    def read_text(self, key: str) -> str | None:
        data = self.read(key)
        if data is None:
            return None
        return data.decode("utf-8", errors="replace")

    def read_json(self, key: str) -> object | None:
        data = self.read(key)
        if data is None:
            return None
        try:
            return json.loads(data)
        except (ValueError, RecursionError) as exc:
            self.note_gap(key, f"not valid JSON: {exc}")
            return None


class LiveSource(Source):
    """The running system, files read under ``root``; optionally recorded to a capture."""

    live = True

    def __init__(
        self,
        root: str | os.PathLike[str] = "/",
        *,
        record_to: str | os.PathLike[str] | None = None,
        run_tools: bool = True,
    ) -> None:
        super().__init__()
        self.root = Path(root)
        self.run_tools = run_tools
        self.record_to = Path(record_to) if record_to is not None else None
        if self.record_to is not None:
            self.record_to.mkdir(parents=True, exist_ok=True)
            meta = {
                "format": CAPTURE_FORMAT,
                "captured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "hostname": os.uname().nodename,
                "as_root": os.geteuid() == 0,
            }
            self._record("capture.json", json.dumps(meta, indent=2).encode())

    def _record(self, key: str, data: bytes) -> None:
        if self.record_to is None:
            return
        dest = self.record_to / _safe_key(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)

    def read(self, key: str) -> bytes | None:
        path = self.root / _safe_key(key)
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            # EACCES without root, EIO/ENODATA on some sysfs attributes: a gap, not a crash
            self.note_gap(key, exc.strerror or str(exc))
            return None
        if len(data) > MAX_FILE_BYTES:
            self.note_gap(key, "file too large")
            return None
        self._record(key, data)
        return data

    def listdir(self, key: str) -> list[str]:
        path = self.root / _safe_key(key)
        try:
            return sorted(os.listdir(path))
        except OSError:
            return []

    def command(
        self, key: str, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT
    ) -> Output | None:
        if not self.run_tools:
            return None
        result = run_command(argv, timeout=timeout)
        if result.error is not None and result.returncode is None:
            self.note_gap(key, result.error)
            return None
        self._record(key, result.stdout)
        self._record(key + ".rc", f"{result.returncode}\n".encode())
        if result.returncode != 0 and not result.stdout:
            why = result.stderr_text.strip().splitlines()
            self.note_gap(key, why[-1] if why else f"exit status {result.returncode}")
        return Output(result.stdout, result.returncode)

    def produce(self, key: str, producer: Callable[[], bytes | None]) -> bytes | None:
        try:
            data = producer()
        except Exception as exc:  # a library probing odd hardware may raise anything
            self.note_gap(key, f"{type(exc).__name__}: {exc}")
            return None
        if data is not None:
            self._record(key, data)
        return data


class CaptureSource(Source):
    """A capture folder: the same keys, read back; every file optional."""

    live = False

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        if not self.path.is_dir():
            raise FileNotFoundError(f"capture folder not found: {self.path}")

    def read(self, key: str) -> bytes | None:
        path = self.path / _safe_key(key)
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        except OSError as exc:
            self.note_gap(key, exc.strerror or str(exc))
            return None
        if len(data) > MAX_FILE_BYTES:
            self.note_gap(key, "file too large")
            return None
        return data

    def listdir(self, key: str) -> list[str]:
        try:
            return sorted(os.listdir(self.path / _safe_key(key)))
        except OSError:
            return []

    def command(
        self, key: str, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT
    ) -> Output | None:
        data = self.read(key)
        if data is None:
            return None
        rc_text = self.read_text(key + ".rc")
        try:
            rc = int(rc_text.strip()) if rc_text is not None else None
        except ValueError:
            rc = None
        return Output(data, rc)

    def produce(self, key: str, producer: Callable[[], bytes | None]) -> bytes | None:
        return self.read(key)
