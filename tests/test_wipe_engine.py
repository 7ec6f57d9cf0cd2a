"""The overwrite engine on real loop devices that these tests create and detach.

Every device here is a loop device over an image file under tmp_path
(``losetup --direct-io=on``), detached in the fixture's ``finally``; nothing else on
the machine is opened for writing.
"""

from __future__ import annotations

import os
import random
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.blockdev import read_facts
from agent.wipe import Hooks, WipeOptions, erase, plan_targets
from agent.wipe.engine import sample_locations
from agent.wipe.journal import Journal
from checks.system import run_command

sys.path.insert(0, str(Path(__file__).parent / "data" / "wipe" / "scenarios"))
import dm_error  # a scenario shared with the VM guest, which has no pytest

MARKER = b"WEEE-DONOR-SECRET-0123456789"

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="loop devices need root")
needs_losetup = pytest.mark.skipif(shutil.which("losetup") is None, reason="losetup missing")

LoopFactory = Callable[[int], str]


def must(argv: list[str], *, input: bytes | None = None, timeout: float = 120.0) -> str:
    """Run a setup command of the test's own (loop devices, mounts, dm tables); its stdout."""
    result = run_command(argv, input=input, timeout=timeout)
    assert result.ok, f"{' '.join(argv)}: {result.error or result.stderr_text}"
    return result.text


def _losetup(*args: str) -> str:
    return must(["losetup", *args]).strip()


def attach_loops(tmp_path: Path) -> Iterator[LoopFactory]:
    """Create loop devices over sparse files under tmp_path; always detached after."""
    attached: list[str] = []

    def make(size: int) -> str:
        image = tmp_path / f"disk{len(attached)}.img"
        with image.open("wb") as fh:
            fh.truncate(size)
        device = _losetup("--find", "--show", "--direct-io=on", str(image))
        attached.append(device)
        return device

    try:
        yield make
    finally:
        for device in attached:
            run_command(["losetup", "-d", device])


@pytest.fixture
def loop_device(tmp_path: Path) -> Iterator[LoopFactory]:
    yield from attach_loops(tmp_path)


def plant_marker(device: str, size: int) -> list[int]:
    """The marker at the start of every MiB and in the very last sector."""
    offsets = [*range(0, size, 1 << 20), size - 512]
    with open(device, "r+b", buffering=0) as fh:
        for offset in offsets:
            fh.seek(offset)
            fh.write(MARKER)
        os.fsync(fh.fileno())
    return offsets


def read_all(device: str) -> bytes:
    fd = os.open(device, os.O_RDONLY)
    try:
        # drop cached pages so we read what the disk holds
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        chunks = []
        while chunk := os.read(fd, 8 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def options(tmp_path: Path, **kw: object) -> WipeOptions:
    return WipeOptions(journal_dir=tmp_path / "journal", **kw)  # type: ignore[arg-type]


pytestmark = [pytest.mark.root, needs_root, needs_losetup]


@pytest.mark.parametrize(
    ("pattern", "verify", "passes"),
    [("random", "full", 1), ("zero", "full", 1), ("random", "sample", 2), ("zero", "sample", 1)],
    ids=lambda v: str(v),
)
def test_no_byte_of_the_marker_survives(
    tmp_path: Path, loop_device: LoopFactory, pattern: str, verify: str, passes: int
) -> None:
    size = 48 << 20
    device = loop_device(size)
    plant_marker(device, size)
    assert read_all(device).count(MARKER) == 49

    [report] = erase([device], options(tmp_path, pattern=pattern, verify=verify, passes=passes))

    data = read_all(device)
    assert data.count(MARKER) == 0
    # not even a fragment of it: no 8-byte window of the marker is left anywhere
    assert all(data.find(MARKER[i : i + 8]) == -1 for i in range(len(MARKER) - 8))
    if pattern == "zero":
        assert data.count(0) == size
    else:
        assert data.count(0) < size // 200  # keystream: about 1/256 zero bytes
    doc = report.to_dict()
    assert doc["status"] == "certified", doc["errors"]
    assert [p["bytes_written"] for p in doc["passes"]] == [size] * passes
    assert doc["verification"]["result"] == "passed"
    assert doc["verification"]["method"] == verify
    assert doc["sanitization"] == {
        "category": "clear",
        "method": "overwrite",
        "technique": doc["sanitization"]["technique"],
        "pattern": pattern,
        "passes": passes,
    }
    if verify == "sample":
        assert doc["verification"]["samples"] == 2002  # 1000 subsections x 2 + first + last
    else:
        assert doc["verification"]["bytes_read"] == size


def _flipper(offset: int) -> Callable[[str, int], None]:
    def flip(device: str, _pass: int) -> None:
        fd = os.open(device, os.O_RDWR)
        try:
            byte = os.pread(fd, 1, offset)
            os.pwrite(fd, bytes([byte[0] ^ 0x01]), offset)
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)

    return flip


@pytest.mark.parametrize("offset", [0, 12_345_677, (32 << 20) - 1], ids=["first", "middle", "last"])
def test_full_verification_catches_one_flipped_byte(
    tmp_path: Path, loop_device: LoopFactory, offset: int
) -> None:
    device = loop_device(32 << 20)
    opts = options(
        tmp_path, pattern="random", verify="full", hooks=Hooks(after_pass=_flipper(offset))
    )
    [report] = erase([device], opts)
    assert report.status == "failed"
    assert report.verification.result == "failed"
    assert report.verification.mismatches == 1  # one sector
    assert report.verification.first_mismatch_offset == offset


def test_sample_verification_reads_first_and_last_lba(
    tmp_path: Path, loop_device: LoopFactory
) -> None:
    size = 32 << 20
    device = loop_device(size)
    opts = options(tmp_path, verify="sample", hooks=Hooks(after_pass=_flipper(size - 3)))
    [report] = erase([device], opts)
    assert report.status == "failed"
    assert report.verification.first_mismatch_offset == size - 512  # the sector's start


@pytest.mark.parametrize(
    ("size", "sector", "sample"),
    [(1 << 30, 512, 64 << 10), (500_107_862_016, 512, 64 << 10), (256 << 20, 4096, 64 << 10),
     (4 << 20, 512, 64 << 10), (1_000_000 * 512, 512, 1 << 20)],
    ids=["1GiB", "500GB-laptop-hdd", "4k-sectors", "tiny", "odd-size"],
)  # fmt: skip
def test_sample_locations_cover_every_subsection(size: int, sector: int, sample: int) -> None:
    spots = sample_locations(size, sector, 1000, sample, random.Random(7))
    assert spots[0] == (0, sector)  # first LBA
    assert spots[1] == (size - sector, sector)  # last LBA
    subsections = min(1000, size // sector)
    per = (size // sector) // subsections * sector
    assert len(spots) == 2 + 2 * subsections
    for index in range(subsections):
        start = index * per
        end = start + per if index < subsections - 1 else size
        pair = spots[2 + 2 * index : 4 + 2 * index]
        for offset, length in pair:
            assert offset % sector == 0 and length % sector == 0 and length > 0
            assert start <= offset and offset + length <= end, (index, offset, length)
    # pseudo-random: not every pair at the same relative place (when there is room)
    if per > sample:
        assert len({o - i * per for i, (o, _) in enumerate(spots[2::2][:50])}) > 10


def test_mounted_loop_device_is_refused(tmp_path: Path, loop_device: LoopFactory) -> None:
    if shutil.which("mkfs.ext4") is None:
        pytest.skip("mkfs.ext4 missing")
    device = loop_device(16 << 20)
    must(["mkfs.ext4", "-q", device])
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    must(["mount", device, str(mountpoint)])
    try:
        (mountpoint / "donor.txt").write_bytes(MARKER)
        must(["sync"])
        [target] = plan_targets([device], options(tmp_path), facts=read_facts())
        assert not target.allowed
        assert any("is mounted" in r and str(mountpoint) in r for r in target.assessment.refusals)
        [report] = erase([target], options(tmp_path))
        assert report.status == "refused"
        assert report.passes == []
        assert (mountpoint / "donor.txt").read_bytes() == MARKER
    finally:
        run_command(["umount", str(mountpoint)])


def test_parallel_drives_a_hung_drive_does_not_hold_the_others(
    tmp_path: Path, loop_device: LoopFactory
) -> None:
    fast = loop_device(24 << 20)
    hung = loop_device(24 << 20)
    plant_marker(fast, 24 << 20)
    released = threading.Event()

    def stall(device: str, offset: int) -> None:
        if device == hung and offset >= 8 << 20:
            released.wait(120)  # a drive that stops answering

    # 10 s without progress means hung: the healthy drive's pass ends with an fsync, which
    # on a host disk busy with someone else's writes (ext4 commits their dirty data
    # first) can take seconds; a 2 s limit then called the healthy drive hung too
    opts = options(tmp_path, stall_timeout_s=10.0, hooks=Hooks(before_chunk=stall))
    try:
        reports = erase([fast, hung], opts)
    finally:
        released.set()
    by_device = {r.media.device: r for r in reports}
    assert by_device[fast].status == "certified"
    assert read_all(fast).count(MARKER) == 0
    assert by_device[hung].status == "failed"
    assert any("no progress" in e for e in by_device[hung].errors)
    # nothing is left in the journal as running: both are filed
    assert Journal(tmp_path / "journal").interrupted() == []


def _device_mapper_reason() -> str | None:
    if shutil.which("dmsetup") is None:
        return "dmsetup not installed"
    probe = run_command(["dmsetup", "version"])
    if not probe.ok or "Driver version" not in probe.text:
        return "this kernel has no device-mapper (dm_mod): the VM test covers real EIO"
    return None


def test_io_error_fails_the_erasure_and_records_its_lbas(
    tmp_path: Path, loop_device: LoopFactory
) -> None:
    """A dm table with an ``error`` segment in the middle of a loop device: real EIO."""
    reason = _device_mapper_reason()
    if reason is not None:
        pytest.skip(reason)
    backing = loop_device(dm_error.SIZE)
    name = f"weee-test-{os.getpid()}"
    must(["dmsetup", "create", name], input=dm_error.dm_table(backing).encode())
    try:
        report = dm_error.erase_dm(f"/dev/mapper/{name}", str(tmp_path / "journal"))
    finally:
        run_command(["dmsetup", "remove", name])
    assert_dm_error_report(report.to_dict())  # type: ignore[attr-defined]


def assert_dm_error_report(doc: dict[str, Any]) -> None:
    start, length = dm_error.BAD_START, dm_error.BAD_LEN
    assert doc["status"] == "failed"
    [record] = doc["passes"]
    assert [(e["offset"], e["length"]) for e in record["errors"]] == [(start * 512, length * 512)]
    assert doc["verification"]["result"] == "failed"
    assert any(f"LBA {start}-{start + length - 1}" in e for e in doc["errors"]), doc["errors"]
