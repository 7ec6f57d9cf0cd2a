"""The write and verify pipelines: download/decompression, hashing and disk I/O overlap.

The calling thread fills page-aligned buffers from the decompressor (zstd, lzma, zlib,
hashlib and pread/pwrite all release the GIL on large buffers), a hashing thread checks
each extent's checksum, a writing thread pwrite()s the mapped parts and flushes the
device every 64 MiB, and two verifying threads read the flushed extents back (O_DIRECT)
and hash them, comparing with the digests taken while writing, which were themselves checked
against the bmap. Buffers circulate through bounded queues, so memory stays at
``buffers x chunk`` however big the image.

An *extent* is the unit that is checked and named in errors: a bmap range, or without
a bmap a fixed 64 MiB segment of the image.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.image.bmap import Bmap
from agent.image.decompress import Decompressor
from agent.image.errors import ChecksumMismatch, CorruptImage, ImageError
from agent.image.target import Target, aligned_buffer

CHUNK = 16 << 20
BUFFERS = 6
SEGMENT = 64 << 20

SYNC_EVERY = 64 << 20
VERIFY_BUFFERS = 3


@dataclass(frozen=True)
class Progress:
    phase: str  # "write" while the image streams in, then "verify" for the tail
    image_done: int  # bytes of the (decompressed) image consumed
    image_total: int | None
    written: int
    verified: int
    verify_total: int | None


ProgressFn = Callable[[Progress], None]


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
    bytes_verified: int
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


class _Durable:
    """How many extents are written *and* flushed: the verifier may read those."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.count = 0
        self.final = False

    def publish(self, count: int, *, final: bool = False) -> None:
        with self._condition:
            self.count = max(self.count, count)
            self.final = self.final or final
            self._condition.notify_all()

    def wait_beyond(self, index: int, abort: threading.Event) -> bool:
        """Wait until extent ``index`` is durable; False when there will be no more."""
        with self._condition:
            while not abort.is_set():
                if index < self.count:
                    return True
                if self.final:
                    return False
                self._condition.wait(0.1)
        return False


def write_and_verify(
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
    sync_every: int = SYNC_EVERY,
    stats: dict[str, int] | None = None,
) -> WriteOutcome:
    """Write the image and read every written extent back, overlapped.

    The writer flushes the device every ``sync_every`` bytes and then publishes how
    many extents are complete; the verifier reads those back (O_DIRECT) behind it, so
    verification costs little more than the write itself, yet only ever reads data
    that the disk has acknowledged as flushed.

    ``stats`` (``written``, ``verified`` bytes) stays readable when this raises, so a
    failed run still says how much of the disk it changed.
    """
    stages = _Stages()
    hasher = _Hasher(extents, algorithm, whole_sha256)
    durable = _Durable()
    free: queue.Queue[Any] = queue.Queue()
    for _ in range(buffers):
        free.put(aligned_buffer(chunk_size))
    to_hash: queue.Queue[Any] = queue.Queue(buffers)
    to_write: queue.Queue[Any] = queue.Queue(buffers)
    counters = stats if stats is not None else {}
    counters.update(written=0, verified=0)

    def hash_stage() -> None:
        while (item := stages.get(to_hash)) is not None:
            if item[0] == "end":
                hasher.finish(item[1])
                stages.put(to_write, ("end", len(hasher.checked)))
                return
            _, offset, buffer, count = item
            pieces = hasher.chunk(offset, memoryview(buffer)[:count])
            stages.put(to_write, ("data", buffer, pieces, len(hasher.checked)))

    def write_stage() -> None:
        unsynced = 0
        while (item := stages.get(to_write)) is not None:
            if item[0] == "end":
                target.flush()
                durable.publish(item[1], final=True)
                return
            _, buffer, pieces, complete = item
            for offset, data in pieces:
                target.write(offset, data)
                counters["written"] += len(data)
                unsynced += len(data)
            free.put(buffer)
            if unsynced >= sync_every:
                target.flush()
                durable.publish(complete)
                unsynced = 0

    read_free: queue.Queue[Any] = queue.Queue()
    for _ in range(VERIFY_BUFFERS):
        read_free.put(aligned_buffer(chunk_size + target.alignment))
    to_check: queue.Queue[Any] = queue.Queue(VERIFY_BUFFERS)

    def read_back_stage() -> None:
        """Reads flushed extents back, in order; hashing happens in check_stage."""
        index = 0
        while durable.wait_beyond(index, stages.abort):
            offset, remaining = (
                hasher.checked[index].extent.offset,
                hasher.checked[index].extent.length,
            )
            # O_DIRECT reads bypass the page cache; the ordinary fallback must too.
            target.drop_cache(offset, remaining)
            while remaining:
                buffer = stages.get(read_free)
                if buffer is None:
                    return
                length = min(remaining, chunk_size)
                rounded = -(-length // target.alignment) * target.alignment
                got = target.read_into(offset, memoryview(buffer)[:rounded])
                if got < length:
                    raise ImageError(
                        f"{target.path}: the device ended at byte {offset + got} while verifying"
                    )
                offset += length
                remaining -= length
                stages.put(to_check, (index, buffer, length, remaining == 0))
            index += 1
        stages.put(to_check, None)

    def check_stage() -> None:
        digest = hashlib.new(algorithm)
        while (item := stages.get(to_check)) is not None:
            index, buffer, length, last = item
            digest.update(memoryview(buffer)[:length])
            read_free.put(buffer)
            counters["verified"] += length
            if not last:
                continue
            written = hasher.checked[index]
            if digest.hexdigest() != written.digest:
                raise ChecksumMismatch(
                    f"verification failed: {target.path} does not hold the image in "
                    f"{written.extent.label} ({algorithm} read back {digest.hexdigest()}, "
                    f"written {written.digest})"
                )
            digest = hashlib.new(algorithm)

    def report(phase: str, position: int) -> None:
        if progress is not None:
            verify_total = (
                sum(e.length for e in extents) if extents is not None else image_size or None
            )
            progress(Progress(phase, position, image_size, counters["written"],
                              counters["verified"], verify_total))  # fmt: skip

    workers = [
        stages.thread(hash_stage, "weee-image-hash"),
        stages.thread(write_stage, "weee-image-write"),
    ]
    verifiers = [
        stages.thread(read_back_stage, "weee-image-read-back"),
        stages.thread(check_stage, "weee-image-check"),
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
                stages.put(to_hash, ("data", position, buffer, count))
                position += count
            if time.monotonic() - last_report > 0.25:
                last_report = time.monotonic()
                report("write", position)
            if count < chunk_size:
                decompressor.finish()
                if extents is not None and image_size is not None and position > image_size:
                    raise CorruptImage(
                        f"the image is {position} bytes, longer than the {image_size} "
                        "its bmap gives"
                    )
                stages.put(to_hash, ("end", position))
                break
        for worker in workers:
            while worker.is_alive():
                worker.join(0.25)
                report("write", position)
        for verifier in verifiers:
            while verifier.is_alive():
                verifier.join(0.25)
                report("verify", position)
    except BaseException as exc:
        stages.fail(exc)
    for worker in [*workers, *verifiers]:
        worker.join()
    stages.raise_error()
    report("verify", position)
    return WriteOutcome(
        image_bytes=position,
        bytes_written=counters["written"],
        bytes_verified=counters["verified"],
        checked=hasher.checked,
        sha256=hasher.whole.hexdigest() if hasher.whole is not None else None,
        algorithm=algorithm,
    )
