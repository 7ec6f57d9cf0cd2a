"""The write pipeline: download/decompression, checking, writing and read-back overlap.

The calling thread fills page-aligned buffers from the decompressor (zstd, lzma, zlib,
hashlib, pread/pwrite and memcmp all release the GIL on large buffers); a hashing thread
checks each bmap range's checksum (and the whole-image sha256); a writing thread hands
the mapped parts to ``WRITERS`` pwrite threads (several requests in flight on disjoint
ranges), flushes the device every 64 MiB and only then hands the buffers on;
``VERIFIERS`` threads read those bytes back from the disk (O_DIRECT) and compare them
with the buffer, byte for byte, before the buffer is reused. Buffers circulate through
bounded queues, so memory stays at ``buffers x chunk`` (128 MiB, plus one scratch chunk
for the unmapped areas of a bmap image) however big the image.

Measured on the 1 GiB benchmark image (loop device, direct-io): with one writer the
pwrite thread was busy ~80 % of the wall time while the verifier waited; the
decompressor, waiting for buffers, reached the unmapped tail only when the disk was done.

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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from agent.image.bmap import Bmap
from agent.image.decompress import Decompressor
from agent.image.errors import ChecksumMismatch, CorruptImage, ImageError
from agent.image.target import Target, aligned_buffer

CHUNK = 16 << 20
BUFFERS = 8  # written buffers wait for a flush and the read-back before reuse

SYNC_EVERY = 64 << 20
VERIFIERS = 2  # readers of written batches, each on its own buffers
WRITERS = 2  # pwrites in flight on disjoint ranges
WRITE_SIZE = 8 << 20  # longest single pwrite: a 16 MiB range is shared by two writers


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
    verifiers: int = VERIFIERS,
    writers: int = WRITERS,
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
    counted = threading.Lock()  # several writers and verifiers add to the counters

    def hash_stage() -> None:
        while (item := stages.get(to_hash)) is not None:
            if item[0] == "end":
                hasher.finish(item[1])
                stages.put(to_write, ("end",))
                return
            _, offset, buffer, count = item
            pieces = hasher.chunk(offset, memoryview(buffer)[:count])
            stages.put(to_write, ("data", buffer, pieces))

    def write_piece(offset: int, data: memoryview) -> None:
        if stages.abort.is_set():
            return
        target.write(offset, data)
        with counted:
            counters["written"] += len(data)

    def write_stage() -> None:
        unsynced = 0
        held: list[tuple[Any, list[tuple[int, memoryview]]]] = []
        in_flight: list[Future[None]] = []
        # One pwrite at a time left the disk idle between requests (the writer was
        # the busy stage, ~80 % of the wall time, while the verifier waited): with a
        # few writes in flight on disjoint ranges the device queue stays fed. pwrite
        # releases the GIL.
        pool = ThreadPoolExecutor(max(1, writers), thread_name_prefix="weee-image-pwrite")

        def hand_over() -> None:
            for future in in_flight:
                future.result()  # a write error surfaces here, before anything is verified
            in_flight.clear()
            # Only flushed data is read back. An O_DIRECT write returns once the device
            # has acknowledged it, which for a real disk may mean its volatile write
            # cache, and for a loop device (direct-io) an O_DIRECT write to the backing
            # file whose block allocation (after a discard punched holes) is still only
            # in the journal. fsync() on the block device sends a cache flush (the loop
            # driver turns it into fsync of the backing file): after it the data would
            # survive a power cut, so reading it back proves what the disk really keeps.
            target.flush()
            for entry in held:
                stages.put(to_verify, entry)
            held.clear()

        try:
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
                    # Split so that several writers share a long range; the split points
                    # are multiples of WRITE_SIZE from an aligned start: still aligned.
                    for start in range(0, len(data), WRITE_SIZE):
                        part = data[start : start + WRITE_SIZE]
                        in_flight.append(pool.submit(write_piece, offset + start, part))
                    unsynced += len(data)
                held.append((buffer, pieces))
                if unsynced >= sync_every or len(held) >= hold_limit:
                    hand_over()
                    unsynced = 0
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

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
                with counted:
                    counters["verified"] += len(data)
            free.put(buffer)
        stages.put(to_verify, "end")  # the next verifier stops too

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
    verifier_threads = [
        stages.thread(verify_stage, f"weee-image-verify-{n}") for n in range(max(1, verifiers))
    ]
    position = 0
    last_report = 0.0
    # Chunks that no bmap range touches are decompressed into a scratch buffer of their
    # own and dropped (nothing hashes or writes them when no whole-image sha256 is
    # asked for): they no longer wait for a pipeline buffer to come back from the
    # read-back, so the decompressor runs ahead through the unmapped areas (58 % of the
    # benchmark image, mostly after the data) while the disk finishes the mapped ones,
    # instead of after it.
    skip_unmapped = extents is not None and not whole_sha256
    mapped = extents if extents is not None else []
    ends = [e.offset + e.length for e in mapped]
    scratch: Any = None
    try:
        while not stages.abort.is_set():
            index = bisect.bisect_right(ends, position)  # first range ending after position
            unmapped = skip_unmapped and (
                index == len(ends) or mapped[index].offset >= position + chunk_size
            )
            if unmapped:
                scratch = scratch if scratch is not None else aligned_buffer(chunk_size)
                buffer = scratch
            else:
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
            if count and not unmapped:
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
        for verifier in verifier_threads:
            while verifier.is_alive():
                verifier.join(0.25)
                report("verify", position)
    except BaseException as exc:
        stages.fail(exc)
    for worker in [*workers, *verifier_threads]:
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
