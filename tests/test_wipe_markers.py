"""A firmware erase is proven by the run's own markers, on real loop devices.

Before the drive's command, weee writes a marker of this run over every sampled block
(durable: O_DIRECT, then fsync); after it, a block passes only when its marker is gone.
A loop device has no firmware, so the drive's side of ``nvme format`` is played by the
``run`` passed in: it does nothing and answers success (a drive that lies), zeroes the
whole device with ``dd`` (block erase, Format), fills it with random data (what a
crypto erase leaves), or puts back what the device held before the markers (a drive
whose volatile cache lost the marker writes and that did not erase either).
Everything else is the product's own path: the plan, the exclusive open, the
snapshot, the markers, the read-back, the fallback, the report.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from test_wipe_engine import LoopFactory, attach_loops, needs_losetup, needs_root, read_all

from agent.blockdev import Assessment, Disk
from agent.wipe import Target, WipeOptions, erase
from agent.wipe.methods import DriveFacts, Plan
from agent.wipe.report import ErasureReport
from checks.system import CommandResult, run_command

pytestmark = [pytest.mark.root, needs_root, needs_losetup]

COMMANDS = Path(__file__).parent / "data" / "wipe" / "qemu-commands"
SIZE = 64 << 20  # 1,000 subsections of 131 sectors: the samples leave blank gaps between
SAMPLES = 2002


@pytest.fixture
def loop_device(tmp_path: Path) -> Iterator[LoopFactory]:
    yield from attach_loops(tmp_path)


def fill_with_data(device: str) -> None:
    """A donor's drive: data (non-uniform) everywhere."""
    fd = os.open(device, os.O_WRONLY)
    try:
        for offset in range(0, SIZE, 1 << 20):
            os.pwrite(fd, os.urandom(1 << 20), offset)
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def target(device: str, methods: list[str]) -> Target:
    name = os.path.basename(device)
    disk = Disk(name=name, path=device, size_bytes=SIZE, logical_sector_size=512,
                physical_sector_size=512, model="Test NVMe", serial="MARKER-1", vendor=None,
                transport="nvme", rotational=False, removable=False, hotplug=False,
                read_only=False, devtype="disk")  # fmt: skip
    facts = DriveFacts(name=name, transport="nvme", size_bytes=SIZE)
    return Target(device, Assessment(device, name, disk), disk, facts, Plan(methods, ["test"]))


def drive(device: str, behaviour: str, before: bytes) -> Any:
    """The drive's side of ``nvme format``; ``before``: the device's content at the start."""

    def run(argv: Sequence[str], timeout: float = 30) -> CommandResult:
        args = tuple(argv)
        if args[:2] != ("nvme", "format"):
            return CommandResult(args, None, b"", b"", 0, error="not a drive command")
        if behaviour in ("zeroes", "noise"):
            source = "/dev/zero" if behaviour == "zeroes" else "/dev/urandom"
            # dd opens without O_EXCL, so it writes while weee holds the device open
            done = run_command(
                ["dd", f"if={source}", f"of={device}", "bs=1M", f"count={SIZE >> 20}",
                 "oflag=direct", "conv=fsync,notrunc", "status=none"],
                timeout=120,
            )  # fmt: skip
            assert done.ok, done.stderr_text
        elif behaviour == "loses-markers":
            fd = os.open(device, os.O_WRONLY)
            try:
                os.pwrite(fd, before, 0)
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
        else:
            assert behaviour == "nothing"
        return CommandResult(args, 0, (COMMANDS / "nvme_format_ses1.txt").read_bytes(), b"", 0)

    return run


def erase_with(
    tmp_path: Path, device: str, behaviour: str, methods: list[str]
) -> tuple[ErasureReport, bytes]:
    before = read_all(device)
    opts = WipeOptions(journal_dir=tmp_path / "journal", run=drive(device, behaviour, before))
    [report] = erase([target(device, methods)], opts)
    return report, before


FIRMWARE_ONLY = ["nvme-format-user-data"]  # --method firmware: no overwrite fallback


@pytest.mark.parametrize(
    ("content", "behaviour", "status", "found"),
    [
        # the defect of issue #11: uniform before, uniform "after", certified
        ("blank", "nothing", "failed", SAMPLES),
        ("data", "nothing", "failed", SAMPLES),
        ("blank", "zeroes", "certified", 0),
        ("data", "zeroes", "certified", 0),
        ("data", "noise", "certified", 0),
        # no marker left, but the old content is back: the snapshot comparison catches it
        ("data", "loses-markers", "failed", 0),
    ],
    ids=lambda v: str(v),
)
def test_firmware_erase_is_proven_by_the_markers(
    tmp_path: Path,
    loop_device: LoopFactory,
    content: str,
    behaviour: str,
    status: str,
    found: int,
) -> None:
    device = loop_device(SIZE)
    if content == "data":
        fill_with_data(device)
    report, before = erase_with(tmp_path, device, behaviour, FIRMWARE_ONLY)
    doc = report.to_dict()
    check = doc["verification"]
    assert doc["status"] == status, doc["errors"]
    assert check["method"] == "sample" and check["samples"] == SAMPLES
    assert check["markers_written"] == SAMPLES
    assert check["markers_found"] == found
    after = read_all(device)
    if status == "certified":
        assert check["result"] == "passed" and check["mismatches"] == 0 and doc["errors"] == []
    else:
        assert check["result"] == "failed" and check["mismatches"] == SAMPLES
        assert doc["sanitization"]["method"] == "nvme-format-user-data"
    if behaviour == "nothing":
        # the markers are on the medium: blank regions were not blank any more
        assert after != before
    if behaviour == "zeroes":
        assert after.count(0) == SIZE


def test_a_lying_drive_over_blank_regions_is_overwritten_instead(
    tmp_path: Path, loop_device: LoopFactory
) -> None:
    """auto mode: the failed marker check falls back to the overwrite, which certifies."""
    device = loop_device(SIZE)
    report, _ = erase_with(tmp_path, device, "nothing", ["nvme-format-user-data", "overwrite"])
    assert report.status == "certified", report.errors
    assert report.sanitization.method == "overwrite"
    technique = report.sanitization.technique
    assert "nvme-format-user-data: verification failed" in technique
    assert f"{SAMPLES} of {SAMPLES} markers written before the erase were still there" in technique
    assert report.verification.method == "full" and report.verification.markers_written is None
    assert report.errors == []
