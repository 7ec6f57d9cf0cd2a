"""The overwrite engine: every sector written, then read back, at the disk's own speed.

One drive per call (the runner gives each drive its own thread). The device is opened
``O_DIRECT`` (no page cache between us and the disk: what is read back comes from the
disk) and ``O_EXCL`` (the kernel refuses the open while anything has the device mounted
or claimed: a last safety net under :mod:`agent.blockdev`).

Speed: large aligned chunks (8 MiB, dd's best block size here) handled by a few worker
threads, each generating (or regenerating and comparing) one chunk while the others'
requests keep the disk busy: AES-CTR, libc ``memcmp`` and the I/O system calls all
release the GIL. The buffers are made once per job and reused; the only flush is one
``fsync`` per pass (``O_DIRECT`` needs no page-cache flush or drop). Measured with
``benchmarks/wipe.py``: on a disk-backed loop device the disk sets the pace (4 to
16 MiB chunks and 2 to 8 workers all time within the host disk's own drift, so the
defaults stay). The CPU cost is about 0.5 s per GiB erased and verified, nearly all
of it the keystream generated twice (write, then verify) and the comparison: only a
device faster than the free CPU (a RAM-backed loop device on a loaded 2-core machine)
leaves weee behind dd.

Faults: a failing chunk is retried; if it still fails, it is redone sector by sector so
the report names the exact LBA ranges that could not be written (or read), and the
pass goes on so the rest of the disk is still overwritten. Any such error fails the
erasure. A stop request (Ctrl-C) ends the job between chunks; the report then stays
incomplete.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from agent.wipe.pattern import AlignedBuffer, Pattern, first_difference, is_uniform, same_bytes
from agent.wipe.pattern import zero_buffer as shared_zeros
from agent.wipe.report import ErasureReport, IoError, PassRecord, Verification, now_iso

log = logging.getLogger(__name__)

MiB = 1 << 20
DEFAULT_CHUNK = 8 * MiB
MAX_ERROR_RANGES = 256  # past this the drive is beyond use: stop hammering it


@dataclass
class OverwriteSpec:
    pattern: str = "random"  # zero|random
    passes: int = 1
    verify: str = "full"  # none|sample|full (after the last pass)
    chunk_bytes: int = DEFAULT_CHUNK
    retries: int = 2
    subsections: int = 1000  # NIST sampling: >= 1000 equal subsections
    sample_bytes: int = 64 * 1024  # bytes read at each sampled location
    io_depth: int = 4  # chunks in flight at once (one worker thread each)


@dataclass
class Progress:
    device: str
    phase: str  # "pass 1/2", "verify", "firmware", "done"
    done_bytes: int
    total_bytes: int
    rate_bps: float  # over the current phase
    eta_s: float | None  # of the whole job


@dataclass
class Hooks:
    """Test seams passed in by the caller (never patched in)."""

    # called after each pass has been written and flushed, before verification
    after_pass: Callable[[str, int], None] | None = None
    # called before each chunk's I/O: lets a test stall one drive
    before_chunk: Callable[[str, int], None] | None = None


class Stopped(Exception):
    """The job was asked to stop (Ctrl-C, stall): the erasure stays incomplete."""


@dataclass
class JobContext:
    device: str
    size_bytes: int
    sector: int
    stop: threading.Event = field(default_factory=threading.Event)
    progress: Callable[[Progress], None] | None = None
    checkpoint: Callable[[ErasureReport], None] | None = None
    hooks: Hooks = field(default_factory=Hooks)
    # monotonic time of the last completed chunk: the runner's stall watchdog reads it
    last_activity: float = field(default_factory=time.monotonic)


class _Meter:
    """Rate and ETA over the job's whole amount of work."""

    def __init__(self, ctx: JobContext, total: int) -> None:
        self.ctx = ctx
        self.total = total
        self.done_before_phase = 0
        self.phase = ""
        self.phase_done = 0
        self.phase_start = time.monotonic()
        self.last_emit = 0.0
        self.last_checkpoint = time.monotonic()

    def start(self, phase: str) -> None:
        self.done_before_phase += self.phase_done
        self.phase_done = 0
        self.phase = phase
        self.phase_start = time.monotonic()
        self.emit(force=True)

    def advance(self, n: int, report: ErasureReport | None = None) -> None:
        self.phase_done += n
        now = time.monotonic()
        self.ctx.last_activity = now
        if now - self.last_emit >= 0.25:
            self.emit()
        if report is not None and self.ctx.checkpoint and now - self.last_checkpoint >= 5:
            self.last_checkpoint = now
            self.ctx.checkpoint(report)

    def emit(self, force: bool = False) -> None:
        if self.ctx.progress is None:
            return
        now = time.monotonic()
        self.last_emit = now
        took = now - self.phase_start
        rate = self.phase_done / took if took > 0.05 else 0.0
        done = self.done_before_phase + self.phase_done
        eta = (self.total - done) / rate if rate > 0 else None
        self.ctx.progress(Progress(self.ctx.device, self.phase, done, self.total, rate, eta))


def _chunks(size: int, chunk: int) -> Iterator[tuple[int, int]]:
    offset = 0
    while offset < size:
        length = min(chunk, size - offset)
        yield offset, length
        offset += length


def _coalesce(errors: list[IoError], offset: int, length: int, message: str) -> None:
    last = errors[-1] if errors else None
    if last is not None and last.offset + last.length == offset and last.error == message:
        last.length += length
    else:
        errors.append(IoError(offset, length, message))


def _err(exc: OSError) -> str:
    return f"{exc.strerror or exc} (errno {exc.errno})"


class _Device:
    """Positional I/O with bounded retries and sector-exact error ranges."""

    def __init__(self, fd: int, ctx: JobContext, retries: int) -> None:
        self.fd = fd
        self.ctx = ctx
        self.retries = retries

    def _once_write(self, buf: AlignedBuffer, start: int, offset: int, length: int) -> None:
        done = 0
        while done < length:
            n = os.pwrite(self.fd, buf.view[start + done : start + length], offset + done)
            if n <= 0:
                raise OSError(5, "short write")
            done += n

    def _once_read(self, buf: AlignedBuffer, start: int, offset: int, length: int) -> None:
        done = 0
        while done < length:
            n = os.preadv(self.fd, [buf.view[start + done : start + length]], offset + done)
            if n <= 0:
                raise OSError(5, "unexpected end of device")
            done += n

    def transfer(
        self, write: bool, buf: AlignedBuffer, offset: int, length: int, errors: list[IoError]
    ) -> None:
        """Write (or read) a chunk; on failure, sector by sector, recording bad ranges."""
        once = self._once_write if write else self._once_read
        last: OSError | None = None
        for _attempt in range(self.retries + 1):
            try:
                once(buf, 0, offset, length)
                return
            except OSError as exc:
                last = exc
        log.warning("%s: I/O error at byte %d (+%d): %s", self.ctx.device, offset, length, last)
        sector = self.ctx.sector
        for sub in range(0, length, sector):
            failure: OSError | None = None
            for _attempt in range(self.retries + 1):
                try:
                    once(buf, sub, offset + sub, min(sector, length - sub))
                    failure = None
                    break
                except OSError as exc:
                    failure = exc
            if failure is not None:
                _coalesce(errors, offset + sub, min(sector, length - sub), _err(failure))
                if len(errors) > MAX_ERROR_RANGES:
                    raise TooManyErrors(
                        f"more than {MAX_ERROR_RANGES} unreadable/unwritable ranges"
                    )


class TooManyErrors(Exception):
    pass


def open_device(path: str, *, write: bool) -> int:
    flags = (os.O_RDWR | os.O_EXCL) if write else os.O_RDONLY
    return os.open(path, flags | os.O_DIRECT | os.O_CLOEXEC)


class _Buffers:
    """One pair of aligned chunk buffers per I/O worker, made once per job.

    Every pass and the verification reuse them: fresh mmaps per phase cost a page fault
    and a kernel zeroing per 4 KiB page on first touch (24,000 faults per GiB erased
    and verified, about a tenth of the job's CPU time), for nothing.
    """

    def __init__(self, workers: int, chunk: int) -> None:
        self.chunk = chunk
        self.pairs = [(AlignedBuffer(chunk), AlignedBuffer(chunk)) for _ in range(workers)]

    def close(self) -> None:
        for buf, scratch in self.pairs:
            buf.close()
            scratch.close()


def _parallel(
    ctx: JobContext,
    buffers: _Buffers,
    work: Callable[[AlignedBuffer, AlignedBuffer, int, int], None],
) -> None:
    """Run ``work(buf, scratch, offset, length)`` over every chunk, one thread per
    buffer pair.

    Each worker owns two aligned buffers and does the whole job of a chunk (generate and
    write, or read, regenerate and compare). AES-CTR, ``memcmp`` and the I/O system
    calls all release the GIL, so with several workers the disk always has requests
    queued while the CPU prepares the next ones: the disk, not Python, sets the pace.
    Chunks are handed out in disk order. The first exception stops every worker and is
    raised here.
    """
    items = _chunks(ctx.size_bytes, buffers.chunk)
    lock = threading.Lock()
    failures: list[BaseException] = []
    halt = threading.Event()

    def next_item() -> tuple[int, int] | None:
        with lock:
            return next(items, None)

    def worker(buf: AlignedBuffer, scratch: AlignedBuffer) -> None:
        try:
            while not halt.is_set():
                if ctx.stop.is_set():
                    raise Stopped()
                item = next_item()
                if item is None:
                    return
                work(buf, scratch, item[0], item[1])
        except BaseException as exc:  # handed to the calling thread
            failures.append(exc)
            halt.set()

    threads = [
        threading.Thread(target=worker, args=pair, name=f"weee-io-{ctx.device}-{i}", daemon=True)
        for i, pair in enumerate(buffers.pairs)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        # a stop request is the least informative failure: report any other first
        failures.sort(key=lambda e: isinstance(e, Stopped))
        raise failures[0]


def overwrite(report: ErasureReport, spec: OverwriteSpec, ctx: JobContext) -> None:
    """Run every pass and the verification into ``report`` (the caller calls finish())."""
    size = ctx.size_bytes
    chunk = max(ctx.sector, spec.chunk_bytes - spec.chunk_bytes % ctx.sector)
    verify_total = {"full": size, "none": 0}.get(spec.verify, 0)
    meter = _Meter(ctx, size * spec.passes + verify_total)
    zeros = bytes(chunk)
    fd = open_device(ctx.device, write=True)
    buffers = _Buffers(max(1, spec.io_depth), chunk)
    try:
        device = _Device(fd, ctx, spec.retries)
        pattern = Pattern(spec.pattern)
        for number in range(1, spec.passes + 1):
            # a fresh key per pass: verification checks the last one
            pattern = Pattern(spec.pattern)
            record = PassRecord(number=number, pattern=spec.pattern, started_at=now_iso())
            report.passes.append(record)
            if ctx.checkpoint:
                ctx.checkpoint(report)
            meter.start(f"pass {number}/{spec.passes}")
            _write_pass(device, pattern, record, buffers, zeros, meter, report)
            os.fsync(fd)  # the drive's write cache too, before we call the pass done
            record.ended_at = now_iso()
            if ctx.checkpoint:
                ctx.checkpoint(report)
            if ctx.hooks.after_pass:
                ctx.hooks.after_pass(ctx.device, number)
        if spec.verify == "full":
            meter.start("verify")
            verify_full(report, device, pattern, buffers, zeros, meter)
        elif spec.verify == "sample":
            meter.start("verify (sample)")
            verify_sample(report, device, pattern, spec, zeros)
        else:
            report.verification = Verification(method="none", result="not-done")
        meter.start("done")
    except TooManyErrors as exc:
        report.fail(f"{ctx.device}: {exc}; erasure abandoned")
    finally:
        buffers.close()
        os.close(fd)


def _write_pass(
    device: _Device,
    pattern: Pattern,
    record: PassRecord,
    buffers: _Buffers,
    zeros: bytes,
    meter: _Meter,
    report: ErasureReport,
) -> None:
    ctx = device.ctx
    lock = threading.Lock()
    zero_source = shared_zeros(buffers.chunk) if pattern.constant else None

    def work(buf: AlignedBuffer, _scratch: AlignedBuffer, offset: int, length: int) -> None:
        if ctx.hooks.before_chunk:
            ctx.hooks.before_chunk(ctx.device, offset)
        source = zero_source if zero_source is not None else buf
        if zero_source is None:
            pattern.fill(offset, buf, length, zeros)
        errors: list[IoError] = []
        device.transfer(True, source, offset, length, errors)
        with lock:
            record.errors.extend(errors)
            record.bytes_written += length
            meter.advance(length, report)

    _parallel(ctx, buffers, work)
    record.errors.sort(key=lambda e: e.offset)


def verify_full(
    report: ErasureReport,
    device: _Device,
    pattern: Pattern,
    buffers: _Buffers,
    zeros: bytes,
    meter: _Meter,
) -> None:
    ctx = device.ctx
    result = Verification(method="full", started_at=now_iso(), samples=None)
    report.verification = result
    read_errors: list[IoError] = []
    lock = threading.Lock()
    zero_source = shared_zeros(buffers.chunk) if pattern.constant else None

    def work(buf: AlignedBuffer, scratch: AlignedBuffer, offset: int, length: int) -> None:
        if ctx.hooks.before_chunk:
            ctx.hooks.before_chunk(ctx.device, offset)
        errors: list[IoError] = []
        device.transfer(False, buf, offset, length, errors)
        expected = zero_source if zero_source is not None else scratch
        if zero_source is None:
            pattern.fill(offset, scratch, length, zeros)
        bad: list[int] = []
        if not same_bytes(buf, 0, expected, 0, length):
            unreadable = {
                o
                for e in errors
                for o in range(e.offset - offset, e.offset - offset + e.length, ctx.sector)
            }
            bad = [
                b
                for b in first_difference(buf, expected, length, ctx.sector)
                if b not in unreadable
            ]
        with lock:
            read_errors.extend(errors)
            result.mismatches += len(bad)
            if bad:
                exact = next(
                    (
                        i
                        for i in range(bad[0], bad[0] + ctx.sector)
                        if buf.view[i] != expected.view[i]
                    ),
                    bad[0],
                )
                if (
                    result.first_mismatch_offset is None
                    or offset + exact < result.first_mismatch_offset
                ):
                    result.first_mismatch_offset = offset + exact
            result.bytes_read += length
            meter.advance(length, report)

    _parallel(ctx, buffers, work)
    read_errors.sort(key=lambda e: e.offset)
    _finish_verification(report, result, read_errors, ctx.sector)


def _finish_verification(
    report: ErasureReport, result: Verification, read_errors: list[IoError], sector: int
) -> None:
    for err in read_errors:
        # an unreadable sector cannot be shown erased: it counts as a mismatch
        result.mismatches += max(1, err.length // sector)
        if result.first_mismatch_offset is None or err.offset < result.first_mismatch_offset:
            result.first_mismatch_offset = err.offset
        report.fail(
            f"read error during verification at LBA {err.offset // sector}"
            f"-{(err.offset + err.length) // sector - 1}: {err.error}"
        )
    result.ended_at = now_iso()
    result.result = "passed" if result.mismatches == 0 else "failed"


def sample_locations(
    size: int, sector: int, subsections: int, sample_bytes: int, rng: random.Random
) -> list[tuple[int, int]]:
    """NIST SP 800-88 sampling: (offset, length) of the blocks to read back.

    The first and the last LBA, then ``subsections`` equal subsections of the device
    with two pseudo-random locations in each. Every block is sector-aligned and lies
    inside its subsection (a subsection smaller than ``sample_bytes`` is read whole).
    """
    total_sectors = size // sector
    subsections = max(1, min(subsections, total_sectors))
    per = total_sectors // subsections  # sectors per subsection (the rest joins the last)
    block = max(1, sample_bytes // sector)
    spots: list[tuple[int, int]] = [(0, sector), ((total_sectors - 1) * sector, sector)]
    for index in range(subsections):
        first = index * per
        count = per if index < subsections - 1 else total_sectors - first
        length = min(block, count)
        for _ in range(2):
            start = first + rng.randrange(0, count - length + 1)
            spots.append((start * sector, length * sector))
    return spots


def read_samples(
    device: _Device, spots: list[tuple[int, int]], errors: list[IoError]
) -> Iterator[tuple[int, int, AlignedBuffer]]:
    """Read each sampled block (one reused buffer); failures land in ``errors``."""
    biggest = max(length for _, length in spots)
    buf = AlignedBuffer(biggest)
    try:
        for offset, length in spots:
            if device.ctx.stop.is_set():
                raise Stopped()
            before = len(errors)
            device.transfer(False, buf, offset, length, errors)
            if len(errors) == before:
                yield offset, length, buf
    finally:
        buf.close()


def verify_sample(
    report: ErasureReport,
    device: _Device,
    pattern: Pattern,
    spec: OverwriteSpec,
    zeros: bytes,
) -> None:
    ctx = device.ctx
    if len(zeros) < spec.sample_bytes:
        zeros = bytes(spec.sample_bytes)
    rng = random.Random(secrets.randbits(64))
    spots = sample_locations(ctx.size_bytes, ctx.sector, spec.subsections, spec.sample_bytes, rng)
    result = Verification(method="sample", started_at=now_iso(), samples=len(spots))
    report.verification = result
    read_errors: list[IoError] = []
    expected = AlignedBuffer(max(n for _, n in spots))
    try:
        for offset, length, buf in read_samples(device, spots, read_errors):
            if pattern.constant:
                expected_buf = shared_zeros(length)
            else:
                # keystream offsets are 16-byte aligned; sectors are 512-aligned
                pattern.fill(offset, expected, length, zeros)
                expected_buf = expected
            if not same_bytes(buf, 0, expected_buf, 0, length):
                bad = first_difference(buf, expected_buf, length, ctx.sector)
                result.mismatches += len(bad)
                if result.first_mismatch_offset is None:
                    result.first_mismatch_offset = offset + bad[0]
            result.bytes_read += length
            ctx.last_activity = time.monotonic()
    finally:
        expected.close()
    _finish_verification(report, result, read_errors, ctx.sector)


# ------------------------------------------------------- firmware-erase verification


@dataclass
class SampleImage:
    """What a sampled block looked like before a firmware erase (its SHA-256 only:
    2,002 blocks of 64 KiB per drive would otherwise sit in memory)."""

    offset: int
    length: int
    digest: bytes


def snapshot_samples(device: _Device, spots: list[tuple[int, int]]) -> list[SampleImage]:
    errors: list[IoError] = []
    return [
        SampleImage(offset, length, hashlib.sha256(buf.view[:length]).digest())
        for offset, length, buf in read_samples(device, spots, errors)
    ]


@dataclass
class Markers:
    """The run's own markers, written over every sampled block before a firmware erase.

    The marker is the AES-256-CTR keystream of a key made for this run (kept in memory
    only), addressed by disk offset like the random overwrite pattern: every 16 bytes of
    every block differ, nothing on a donor's drive can hold it by chance, and any block
    can be regenerated to compare. ``written`` holds the (offset, length) of the blocks
    whose marker reached the medium.
    """

    pattern: Pattern = field(default_factory=lambda: Pattern("random"))
    written: set[tuple[int, int]] = field(default_factory=set)


def write_markers(device: _Device, spots: list[tuple[int, int]]) -> Markers:
    """Write the run's marker over each sampled block and make it durable.

    O_DIRECT takes the writes past the page cache and the final ``fsync`` flushes the
    drive's own write cache, so a marker read back after the erase comes from the medium.
    A block that cannot be written keeps no marker: its verification fails.
    """
    markers = Markers()
    biggest = max(length for _, length in spots)
    buf = AlignedBuffer(biggest)
    zeros = bytes(biggest)
    try:
        for offset, length in spots:
            if device.ctx.stop.is_set():
                raise Stopped()
            markers.pattern.fill(offset, buf, length, zeros)
            errors: list[IoError] = []
            device.transfer(True, buf, offset, length, errors)
            if not errors:
                markers.written.add((offset, length))
            device.ctx.last_activity = time.monotonic()
        os.fsync(device.fd)
    finally:
        buf.close()
    return markers


def verify_after_firmware(
    report: ErasureReport,
    device: _Device,
    spots: list[tuple[int, int]],
    before: list[SampleImage],
    markers: Markers,
) -> None:
    """Read every sampled block back after a firmware erase.

    A block passes when none of its sectors still holds the run's marker and it does
    not hold its old (pre-marker) non-uniform content: what a block erase or Format
    leaves (uniform 0x00 or 0xFF) or what a crypto erase leaves (noise) passes; a
    drive that did nothing still returns the marker, blank regions included. The old
    content comparison catches a drive that lost the marker writes (a volatile cache)
    and did not erase either. A block whose marker could not be written, or that
    cannot be read back, proves nothing: it fails.
    """
    result = Verification(
        method="sample",
        started_at=now_iso(),
        samples=len(spots),
        markers_written=sum(1 for spot in spots if spot in markers.written),
        markers_found=0,
    )
    report.verification = result
    read_errors: list[IoError] = []
    # keyed by offset and length: the first-LBA sample and a subsection's may share
    # an offset
    old = {(s.offset, s.length): s.digest for s in before}
    sector = device.ctx.sector
    expected = AlignedBuffer(max(length for _, length in spots))
    zeros = bytes(expected.size)
    try:
        for offset, length, buf in read_samples(device, spots, read_errors):
            result.bytes_read += length
            device.ctx.last_activity = time.monotonic()
            markers.pattern.fill(offset, expected, length, zeros)
            differing = first_difference(buf, expected, length, sector)
            survived = len(differing) < -(-length // sector)  # some sector kept its marker
            now = bytes(buf.view[:length])
            unchanged = not is_uniform(now) and old.get((offset, length)) == (
                hashlib.sha256(now).digest()
            )
            if survived:
                result.markers_found = (result.markers_found or 0) + 1
            if survived or unchanged or (offset, length) not in markers.written:
                result.mismatches += 1
                if result.first_mismatch_offset is None or offset < result.first_mismatch_offset:
                    result.first_mismatch_offset = offset
    finally:
        expected.close()
    _finish_verification(report, result, read_errors, sector)
