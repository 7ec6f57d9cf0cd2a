"""The write pipeline: download/decompression, checking, writing and read-back overlap.

The calling thread fills page-aligned buffers from the decompressor (zstd, lzma, zlib,
hashlib, pread/pwrite and memcmp all release the GIL on large buffers); a hashing thread
checks each bmap range's checksum (and the whole-image sha256); a writing thread
pwrite()s the mapped parts, flushes the device every 64 MiB and only then hands the
buffers on; a verifying thread reads those bytes back from the disk (O_DIRECT) and
compares them with the buffer, byte for byte, before the buffer is reused. Buffers
circulate through bounded queues, so memory stays at ``buffers x chunk`` (128 MiB)
however big the image.

An *extent* is a bmap range: the unit that is checked and named in errors.
"""

from __future__ import annotations

import bisect
import ctypes
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
BUFFERS = 8  # written buffers wait for a flush and the read-back before reuse

SYNC_EVERY = 64 << 20


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
        self._fixed = extents  # None: no bmap, the whole image is written
        self._index = 0
        self._hash = hashlib.new(algorithm)
        self._position_in_extent = 0
        self.checked: list[CheckedExtent] = []
        self.whole = hashlib.sha256() if whole_sha256 else None

    def _current(self) -> Extent | None:
        assert self._fixed is not None
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
        if self._fixed is None:  # no bmap: all of it is written
            return [(offset, view)]
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
        if self._fixed is None:
            return
        extent = self._current()
        if extent is not None:
            raise CorruptImage(
                f"the image ends at byte {image_bytes}, before {extent.label} that the bmap maps"
            )


def _load_memcmp() -> Callable[[int, int, int], int] | None:
    try:
        function = ctypes.CDLL(None).memcmp
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    function.restype = ctypes.c_int
    return function


# libc's memcmp compares 16 MiB in ~2 ms and releases the GIL (ctypes does); comparing
# memoryviews with == goes element by element (~30 ms), slower than hashing them.
_MEMCMP = _load_memcmp()


def same_bytes(a: memoryview, b: memoryview) -> bool:
    if len(a) != len(b):
        return False
    if not len(a):
        return True
    if _MEMCMP is None or a.readonly or b.readonly:
        return a.tobytes() == b.tobytes()
    address_a = ctypes.addressof(ctypes.c_char.from_buffer(a))
    address_b = ctypes.addressof(ctypes.c_char.from_buffer(b))
    return _MEMCMP(address_a, address_b, len(a)) == 0


def first_difference(a: memoryview, b: memoryview) -> int:
    """Offset of the first byte that differs (only called once a difference is known)."""
    step = 4096
    for start in range(0, len(a), step):
        if not same_bytes(a[start : start + step], b[start : start + step]):
            return start + next(
                i for i in range(min(step, len(a) - start)) if a[start + i] != b[start + i]
            )
    return len(a)


def _label_at(offset: int, extents: list[Extent] | None) -> str:
    if extents:
        index = bisect.bisect_right([e.offset for e in extents], offset) - 1
        if index >= 0:
            return extents[index].label
    return f"MiB {offset >> 20} of the image"


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
    """Write the image and read every written byte back, overlapped.

    Each buffer's data is first checked (the bmap range checksums, the whole-image
    sha256), then written. The writer keeps the written buffers until it has flushed
    the device (every ``sync_every`` bytes), then hands them to the verifier, which
    reads the same bytes back from the disk (O_DIRECT) and compares them byte for byte
    with the checked data before the buffer is reused. So verification only ever reads
    what the disk acknowledged as flushed, proves the disk holds exactly the data that
    matched the checksums, and costs a memcmp instead of a second hash.

    ``stats`` (``written``, ``verified`` bytes) stays readable when this raises, so a
    failed run still says how much of the disk it changed.
    """
    stages = _Stages()
    hasher = _Hasher(extents, algorithm, whole_sha256)
    free: queue.Queue[Any] = queue.Queue()
    for _ in range(buffers):
        free.put(aligned_buffer(chunk_size))
    to_hash: queue.Queue[Any] = queue.Queue(buffers)
    to_write: queue.Queue[Any] = queue.Queue(buffers)
    to_verify: queue.Queue[Any] = queue.Queue()  # never holds more than `buffers` items
    hold_limit = max(1, buffers // 2)  # flush early rather than starve the decompressor
    counters = stats if stats is not None else {}
    counters.update(written=0, verified=0)

    def hash_stage() -> None:
        while (item := stages.get(to_hash)) is not None:
            if item[0] == "end":
                hasher.finish(item[1])
                stages.put(to_write, ("end",))
                return
            _, offset, buffer, count = item
            pieces = hasher.chunk(offset, memoryview(buffer)[:count])
            stages.put(to_write, ("data", buffer, pieces))

    def write_stage() -> None:
        unsynced = 0
        held: list[tuple[Any, list[tuple[int, memoryview]]]] = []

        def hand_over() -> None:
            target.flush()
            for entry in held:
                stages.put(to_verify, entry)
            held.clear()

        while (item := stages.get(to_write)) is not None:
            if item[0] == "end":
                hand_over()
                stages.put(to_verify, "end")
                return
            _, buffer, pieces = item
            if not pieces:  # nothing mapped in this chunk
                free.put(buffer)
                continue
            for offset, data in pieces:
                target.write(offset, data)
                counters["written"] += len(data)
                unsynced += len(data)
            held.append((buffer, pieces))
            if unsynced >= sync_every or len(held) >= hold_limit:
                hand_over()
                unsynced = 0

    def verify_stage() -> None:
        read_back = memoryview(aligned_buffer(chunk_size + target.alignment))
        while (item := stages.get(to_verify)) is not None and item != "end":
            buffer, pieces = item
            for offset, data in pieces:
                # O_DIRECT reads bypass the page cache; the ordinary fallback must too.
                target.drop_cache(offset, len(data))
                rounded = -(-len(data) // target.alignment) * target.alignment
                got = target.read_into(offset, read_back[:rounded])
                if got < len(data):
                    raise ImageError(
                        f"{target.path}: the device ended at byte {offset + got} while verifying"
                    )
                if not same_bytes(read_back[: len(data)], data):
                    at = offset + first_difference(read_back[: len(data)], data)
                    raise ChecksumMismatch(
                        f"verification failed: {target.path} does not hold the image at "
                        f"byte {at}, in {_label_at(at, extents)}"
                    )
                counters["verified"] += len(data)
            free.put(buffer)

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
    verifiers = [stages.thread(verify_stage, "weee-image-verify")]
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
