"""Where the image comes from: a local file or an http(s) URL, streamed.

URLs go through :mod:`agent.image.http` (resumable); it and ``requests`` are imported
only for URLs, which keeps ``weee image`` quick to start from a local file.
:class:`Prefetcher` reads the source ahead in its own thread, so disk or network reads
overlap decompression, hashing and the writes.
"""

from __future__ import annotations

import io
import logging
import os
import queue
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from agent.image.decompress import COMPRESSION_SUFFIXES
from agent.image.errors import SourceNotFound

if TYPE_CHECKING:
    import requests

    from agent.image.http import HttpReader

log = logging.getLogger(__name__)

STREAM_BUFFER = 1 << 20
PREFETCH_BLOCK = 4 << 20
PREFETCH_DEPTH = 8


def is_url(source: str) -> bool:
    return urllib.parse.urlsplit(source).scheme in ("http", "https")


@dataclass
class OpenedSource:
    name: str  # the path or URL, as given
    stream: BinaryIO  # buffered, so the format can be sniffed with peek()
    compressed_size: int | None  # bytes of the file itself, when known
    http: HttpReader | None = None

    def close(self) -> None:
        self.stream.close()


def open_source(
    source: str,
    *,
    session: requests.Session | None = None,
    retries: int = 5,
    backoff_s: float = 0.5,
) -> OpenedSource:
    if is_url(source):
        from agent.image.http import HttpReader

        reader = HttpReader(source, session=session, retries=retries, backoff_s=backoff_s)
        stream = io.BufferedReader(reader, buffer_size=STREAM_BUFFER)
        return OpenedSource(source, stream, reader.size, reader)
    try:
        raw = open(source, "rb", buffering=0)
    except FileNotFoundError:
        raise SourceNotFound(f"{source}: no such image file") from None
    except IsADirectoryError:
        raise SourceNotFound(f"{source}: is a directory, not an image file") from None
    except PermissionError:
        raise SourceNotFound(f"{source}: permission denied") from None
    size = os.fstat(raw.fileno()).st_size
    # Read once, front to back: a larger readahead window keeps the disk streaming.
    os.posix_fadvise(raw.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
    return OpenedSource(source, io.BufferedReader(raw, buffer_size=STREAM_BUFFER), size)


def bmap_candidates(source: str) -> list[str]:
    """Where bmaptool users put the bmap: ``name.bmap`` beside ``name.img[.zst]``.

    For ``os.img.zst``: ``os.img.zst.bmap``, ``os.img.bmap``, ``os.bmap``.
    """
    parts = urllib.parse.urlsplit(source) if is_url(source) else None
    path = parts.path if parts else source
    names = [path + ".bmap"]
    stem = path
    for suffix in COMPRESSION_SUFFIXES:
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            names.append(stem + ".bmap")
            break
    base, ext = os.path.splitext(stem)
    if ext and "/" not in ext:
        names.append(base + ".bmap")
    unique = list(dict.fromkeys(names))
    if parts:
        return [urllib.parse.urlunsplit(parts._replace(path=n, query="")) for n in unique]
    return unique


def read_bmap_bytes(
    location: str, *, session: requests.Session | None = None, guessing: bool = False
) -> bytes | None:
    """The bmap at a path or URL; None when there is none there."""
    if is_url(location):
        from agent.image.http import fetch_bytes

        return fetch_bytes(location, session=session, guessing=guessing)
    try:
        with open(location, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SourceNotFound(f"{location}: cannot read the bmap: {exc.strerror}") from None


def find_bmap(source: str, *, session: requests.Session | None = None) -> tuple[str, bytes] | None:
    for candidate in bmap_candidates(source):
        raw = read_bmap_bytes(candidate, session=session, guessing=True)
        if raw is not None:
            return candidate, raw
    return None


class Prefetcher(io.RawIOBase):
    """Reads ``inner`` ahead in a thread, up to ``depth`` blocks; errors surface on read."""

    def __init__(
        self, inner: BinaryIO, *, block: int = PREFETCH_BLOCK, depth: int = PREFETCH_DEPTH
    ) -> None:
        super().__init__()
        self._inner = inner
        self._block = block
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(depth)
        self._stop = threading.Event()
        self._pending = memoryview(b"")
        self._eof = False
        self._thread = threading.Thread(target=self._run, name="weee-image-fetch", daemon=True)
        self._thread.start()

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                data = self._inner.read(self._block)
                self._put(data)
                if not data:
                    return
        except BaseException as exc:  # handed to the reading thread
            self._put(exc)

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        if not self._pending and not self._eof:
            item = self._queue.get()
            if isinstance(item, BaseException):
                self._eof = True
                raise item
            self._pending = memoryview(item)
            self._eof = not item
        return bool(self._pending)

    def read(self, size: int = -1) -> bytes:
        if not self._fill():
            return b""
        if size < 0 or size >= len(self._pending):
            data, self._pending = self._pending, memoryview(b"")
        else:
            data, self._pending = self._pending[:size], self._pending[size:]
        return bytes(data)

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if not self._fill():
            return 0
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def close(self) -> None:
        self._stop.set()
        deadline = time.monotonic() + 2.0
        while self._thread.is_alive() and time.monotonic() < deadline:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                self._thread.join(0.05)
        # A thread still inside a stalled network read is left to its timeout: it is a
        # daemon, and it stops at its next put (_stop is set).
        super().close()
