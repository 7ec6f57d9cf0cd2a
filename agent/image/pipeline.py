"""The write and verify pipelines: download/decompression, hashing and disk I/O overlap.

Write: the calling thread fills page-aligned buffers from the decompressor (zstd, lzma,
zlib and hashlib all release the GIL on large buffers), a hashing thread checks each
extent's checksum, a writing thread pwrite()s the mapped parts. Buffers circulate
through bounded queues, so memory stays at ``buffers x chunk`` however big the image.
Verify: a reading thread reads the extents back (O_DIRECT) while the calling thread
hashes them and compares with the digests taken while writing, which were themselves
checked against the bmap.

An *extent* is the unit that is checked and named in errors: a bmap range, or without
a bmap a fixed 64 MiB segment of the image.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from agent.image.bmap import Bmap
from agent.image.decompress import Decompressor
from agent.image.errors import ChecksumMismatch, CorruptImage, ImageError
from agent.image.target import Target, aligned_buffer

CHUNK = 8 << 20
BUFFERS = 8
SEGMENT = 64 << 20

ProgressFn = Callable[[str, int, "int | None"], None]  # phase, done bytes, total bytes


@dataclass(frozen=True)
class Extent:
    offset: int
    length: int
    expected: str | None  # hex digest the bmap gives, None without a bmap
    label: str


@dataclass(frozen=True)
class CheckedExtent:
    extent: Extent
    digest: str  # computed while writing; equal to expected when there was one


@dataclass
class WriteOutcome:
    image_bytes: int
    bytes_written: int
    checked: list[CheckedExtent]
    sha256: str | None
    algorithm: str


def bmap_extents(bmap: Bmap) -> list[Extent]:
    extents = []
    for r in bmap.ranges:
        offset, length = r.byte_span(bmap.block_size, bmap.image_size)
        extents.append(
            Extent(offset, length, r.checksum, r.describe(bmap.block_size, bmap.image_size))
        )
    return extents


def _segment(index: int) -> Extent:
    start = index * SEGMENT
    return Extent(start, SEGMENT, None, f"bytes {start}-{start + SEGMENT - 1}")


class _Stages:
    """Shared failure handling: the first error stops every stage and is re-raised."""

    def __init__(self) -> None:
        self.abort = threading.Event()
        self.error: BaseException | None = None
        self._lock = threading.Lock()

    def fail(self, exc: BaseException) -> None:
        with self._lock:
            if self.error is None:
                self.error = exc
        self.abort.set()

    def put(self, q: queue.Queue[Any], item: Any) -> None:
        while not self.abort.is_set():
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def get(self, q: queue.Queue[Any]) -> Any:
        while not self.abort.is_set():
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                continue
        return None

    def thread(self, target: Callable[[], None], name: str) -> threading.Thread:
        def run() -> None:
            try:
                target()
            except BaseException as exc:
                self.fail(exc)

        worker = threading.Thread(target=run, name=name, daemon=True)
        worker.start()
        return worker

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error


class _Hasher:
    """Walks extents in image order, hashing the parts of each chunk they cover."""

    def __init__(self, extents: list[Extent] | None, algorithm: str, whole_sha256: bool) -> None:
        self.algorithm = algorithm
        self._fixed = extents  # None: open-ended 64 MiB segments
        self._index = 0
        self._hash = hashlib.new(algorithm)
        self._position_in_extent = 0
        self.checked: list[CheckedExtent] = []
        self.whole = hashlib.sha256() if whole_sha256 else None

    def _current(self) -> Extent | None:
        if self._fixed is None:
            return _segment(self._index)
        return self._fixed[self._index] if self._index < len(self._fixed) else None

    def _close(self, extent: Extent) -> None:
        digest = self._hash.hexdigest()
        if extent.expected is not None and digest != extent.expected:
            raise ChecksumMismatch(
                f"the image does not match its bmap in {extent.label}: "
                f"{self.algorithm} is {digest}, the bmap says {extent.expected}"
            )
        self.checked.append(CheckedExtent(extent, digest))
        self._hash = hashlib.new(self.algorithm)
        self._position_in_extent = 0
        self._index += 1

    def chunk(self, offset: int, view: memoryview) -> list[tuple[int, memoryview]]:
        """Hash one chunk; return the (offset, data) pieces to write, merged when adjacent."""
        if self.whole is not None:
            self.whole.update(view)
        end = offset + len(view)
        pieces: list[tuple[int, memoryview]] = []
        while (extent := self._current()) is not None and extent.offset < end:
            extent_end = extent.offset + extent.length
            start, stop = max(extent.offset, offset), min(extent_end, end)
            piece = view[start - offset : stop - offset]
            self._hash.update(piece)
            self._position_in_extent += len(piece)
            if pieces and pieces[-1][0] + len(pieces[-1][1]) == start:
                first = pieces[-1][0]
                pieces[-1] = (first, view[first - offset : stop - offset])
            else:
                pieces.append((start, piece))
            if stop < extent_end:
                break
            self._close(extent)
        return pieces

    def finish(self, image_bytes: int) -> None:
        extent = self._current()
        if self._fixed is None:
            if extent is not None and self._position_in_extent:
                # The last segment is shorter than 64 MiB: record its real length.
                self._fixed = None
                short = Extent(
                    extent.offset,
                    self._position_in_extent,
                    None,
                    f"bytes {extent.offset}-{extent.offset + self._position_in_extent - 1}",
                )
                self._close(short)
            return
        if extent is not None:
            raise CorruptImage(
                f"the image ends at byte {image_bytes}, before {extent.label} that the bmap maps"
            )


def write_pipeline(
    decompressor: Decompressor,
    target: Target,
    *,
    extents: list[Extent] | None,
    algorithm: str,
    image_size: int | None,
    whole_sha256: bool,
    progress: ProgressFn | None = None,
    chunk_size: int = CHUNK,
    buffers: int = BUFFERS,
) -> WriteOutcome:
    stages = _Stages()
    hasher = _Hasher(extents, algorithm, whole_sha256)
    free: queue.Queue[Any] = queue.Queue()
    for _ in range(buffers):
        free.put(aligned_buffer(chunk_size))
    to_hash: queue.Queue[Any] = queue.Queue(buffers)
    to_write: queue.Queue[Any] = queue.Queue(buffers)
    written = [0]

    def hash_stage() -> None:
        while (item := stages.get(to_hash)) is not None and item != "end":
            offset, buffer, count = item
            pieces = hasher.chunk(offset, memoryview(buffer)[:count])
            stages.put(to_write, (buffer, pieces))
        if item == "end":
            stages.put(to_write, "end")

    def write_stage() -> None:
        while (item := stages.get(to_write)) is not None and item != "end":
            buffer, pieces = item
            for offset, data in pieces:
                target.write(offset, data)
                written[0] += len(data)
            free.put(buffer)

    workers = [
        stages.thread(hash_stage, "weee-image-hash"),
        stages.thread(write_stage, "weee-image-write"),
    ]
    position = 0
    last_report = 0.0
    try:
        while not stages.abort.is_set():
            buffer = stages.get(free)
            if buffer is None:
                break
            view = memoryview(buffer)
            count = 0
            while count < chunk_size:
                got = decompressor.readinto(view[count:])
                if not got:
                    break
                count += got
            del view
            if count:
                stages.put(to_hash, (position, buffer, count))
                position += count
            if progress is not None and (
                time.monotonic() - last_report > 0.25 or count < chunk_size
            ):
                last_report = time.monotonic()
                progress("write", position, image_size)
            if count < chunk_size:
                decompressor.finish()
                stages.put(to_hash, "end")
                break
    except BaseException as exc:
        stages.fail(exc)
    for worker in workers:
        worker.join()
    stages.raise_error()
    if image_size is not None and extents is not None and position > image_size:
        raise CorruptImage(
            f"the image is {position} bytes, longer than the {image_size} its bmap gives"
        )
    hasher.finish(position)
    target.flush()
    return WriteOutcome(
        image_bytes=position,
        bytes_written=written[0],
        checked=hasher.checked,
        sha256=hasher.whole.hexdigest() if hasher.whole is not None else None,
        algorithm=algorithm,
    )


def _read_plan(
    checked: list[CheckedExtent], chunk_size: int
) -> Iterator[tuple[int, int, int, bool]]:
    """(extent index, offset, length, last piece of the extent) in read order."""
    for index, item in enumerate(checked):
        offset, remaining = item.extent.offset, item.extent.length
        while remaining:
            length = min(remaining, chunk_size)
            remaining -= length
            yield index, offset, length, remaining == 0
            offset += length


def verify_pipeline(
    target: Target,
    checked: list[CheckedExtent],
    algorithm: str,
    *,
    progress: ProgressFn | None = None,
    chunk_size: int = CHUNK,
    buffers: int = 4,
) -> int:
    """Read every written extent back and compare; return the bytes read."""
    total = sum(item.extent.length for item in checked)
    if checked:
        first = checked[0].extent.offset
        last = checked[-1].extent
        target.drop_cache(first, last.offset + last.length - first)
    stages = _Stages()
    free: queue.Queue[Any] = queue.Queue()
    for _ in range(buffers):
        free.put(aligned_buffer(chunk_size + target.alignment))
    filled: queue.Queue[Any] = queue.Queue(buffers)

    def read_stage() -> None:
        for index, offset, length, last in _read_plan(checked, chunk_size):
            buffer = stages.get(free)
            if buffer is None:
                return
            rounded = -(-length // target.alignment) * target.alignment
            got = target.read_into(offset, memoryview(buffer)[:rounded])
            if got < length:
                raise ImageError(
                    f"{target.path}: the device ended at byte {offset + got} while verifying"
                )
            stages.put(filled, (index, buffer, length, last))
        stages.put(filled, "end")

    reader = stages.thread(read_stage, "weee-image-verify-read")
    done = 0
    last_report = 0.0
    digest = hashlib.new(algorithm)
    try:
        while (item := stages.get(filled)) is not None and item != "end":
            index, buffer, length, last = item
            view = memoryview(buffer)[:length]
            digest.update(view)
            view.release()
            free.put(buffer)
            done += length
            if last:
                expected = checked[index]
                if digest.hexdigest() != expected.digest:
                    raise ChecksumMismatch(
                        f"verification failed: {target.path} does not hold the image in "
                        f"{expected.extent.label} ({algorithm} read back {digest.hexdigest()}, "
                        f"written {expected.digest})"
                    )
                digest = hashlib.new(algorithm)
            if progress is not None and time.monotonic() - last_report > 0.25:
                last_report = time.monotonic()
                progress("verify", done, total)
    except BaseException as exc:
        stages.fail(exc)
    reader.join()
    stages.raise_error()
    if progress is not None:
        progress("verify", done, total)
    return done
