"""The firmware-erase path of the runner, on real loop devices.

A loop device has no firmware, so the drive's command is played by a runner passed in
(``WipeOptions.run``) that does to the device what a drive would: zero it (an honest
Format), nothing at all (a drive that says "success" and lies), or refuse (QEMU's
recorded answer to Sanitize). Everything else is real: the exclusive open, the sample
snapshot before the command, the read-back after it, the fallback to overwrite.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from test_wipe_engine import (
    MARKER,
    LoopFactory,
    attach_loops,
    needs_losetup,
    needs_root,
    plant_marker,
    read_all,
)

from agent.blockdev import Assessment, Disk
from agent.wipe import Target, WipeOptions, erase
from agent.wipe.methods import DriveFacts, Plan
from checks.system import CommandResult

pytestmark = [pytest.mark.root, needs_root, needs_losetup]

COMMANDS = Path(__file__).parent / "data" / "wipe" / "qemu-commands"
SIZE = 24 << 20


@pytest.fixture
def loop_device(tmp_path: Path) -> Iterator[LoopFactory]:
    yield from attach_loops(tmp_path)


def used_drive(device: str) -> None:
    """A donor's drive: full of data (non-uniform everywhere), markers included."""
    with open(device, "r+b", buffering=0) as fh:
        for offset in range(0, SIZE, 1 << 20):
            fh.seek(offset)
            fh.write(os.urandom(1 << 20))
        os.fsync(fh.fileno())
    plant_marker(device, SIZE)


def target(device: str, methods: list[str]) -> Target:
    name = os.path.basename(device)
    disk = Disk(name=name, path=device, size_bytes=SIZE, logical_sector_size=512,
                physical_sector_size=512, model="Test NVMe", serial="FW-TEST-1", vendor=None,
                transport="nvme", rotational=False, removable=False, hotplug=False,
                read_only=False, devtype="disk")  # fmt: skip
    facts = DriveFacts(name=name, transport="nvme", size_bytes=SIZE)
    return Target(device, Assessment(device, name, disk), disk, facts, Plan(methods, ["test"]))


def drive(device: str, *, honest: bool, calls: list[tuple[str, ...]]) -> Any:
    """The drive's side of ``nvme format`` / ``nvme sanitize``."""

    def run(argv: Sequence[str], timeout: float = 30) -> CommandResult:
        args = tuple(argv)
        calls.append(args)
        if args[:2] == ("nvme", "sanitize"):
            # QEMU 7.2's recorded answer: Invalid Command Opcode, exit status 1
            return CommandResult(
                args, 1, (COMMANDS / "nvme_sanitize_crypto.txt").read_bytes(), b"", 0
            )
        if args[:2] == ("nvme", "format"):
            if honest:
                fd = os.open(device, os.O_WRONLY)  # not exclusive: weee holds O_EXCL
                try:
                    for offset in range(0, SIZE, 1 << 20):
                        os.pwrite(fd, bytes(1 << 20), offset)
                    os.fsync(fd)
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)
            return CommandResult(args, 0, (COMMANDS / "nvme_format_ses1.txt").read_bytes(), b"", 0)
        return CommandResult(args, None, b"", b"", 0, error="not a drive command")

    return run


def test_format_is_verified_by_the_sample_read_back(
    tmp_path: Path, loop_device: LoopFactory
) -> None:
    device = loop_device(SIZE)
    used_drive(device)
    calls: list[tuple[str, ...]] = []
    opts = WipeOptions(journal_dir=tmp_path / "j", run=drive(device, honest=True, calls=calls))
    [report] = erase([target(device, ["nvme-format-user-data", "overwrite"])], opts)
    doc = report.to_dict()
    assert doc["status"] == "certified", doc["errors"]
    assert doc["sanitization"]["method"] == "nvme-format-user-data"
    assert doc["sanitization"]["category"] == "purge"
    assert "Tried first" not in doc["sanitization"]["technique"]
    assert doc["verification"]["method"] == "sample" and doc["verification"]["samples"] == 2002
    assert doc["passes"][0]["pattern"] == "firmware"
    assert calls[-1] == ("nvme", "format", device, "--ses=1", "--block-size=512", "--force")
    assert read_all(device).count(MARKER) == 0


def test_refused_sanitize_falls_through_to_format(tmp_path: Path, loop_device: LoopFactory) -> None:
    device = loop_device(SIZE)
    used_drive(device)
    calls: list[tuple[str, ...]] = []
    opts = WipeOptions(journal_dir=tmp_path / "j", run=drive(device, honest=True, calls=calls))
    plan = ["nvme-sanitize-crypto", "nvme-format-user-data", "overwrite"]
    [report] = erase([target(device, plan)], opts)
    assert report.status == "certified"
    assert report.sanitization.method == "nvme-format-user-data"
    assert "nvme-sanitize-crypto: refused by the drive" in report.sanitization.technique
    assert "Invalid Command Opcode" in report.sanitization.technique
    assert [c[:2] for c in calls if c[1] != "id-ns"] == [("nvme", "sanitize"), ("nvme", "format")]


def test_a_drive_that_lies_is_overwritten_instead(tmp_path: Path, loop_device: LoopFactory) -> None:
    device = loop_device(SIZE)
    used_drive(device)
    opts = WipeOptions(journal_dir=tmp_path / "j", run=drive(device, honest=False, calls=[]))
    [report] = erase([target(device, ["nvme-format-user-data", "overwrite"])], opts)
    assert report.status == "certified", report.errors
    assert report.sanitization.method == "overwrite"
    assert "nvme-format-user-data: verification failed" in report.sanitization.technique
    assert report.errors == []
    assert [p.pattern for p in report.passes] == ["random"]
    assert read_all(device).count(MARKER) == 0


def test_a_drive_that_lies_is_never_certified(tmp_path: Path, loop_device: LoopFactory) -> None:
    device = loop_device(SIZE)
    used_drive(device)
    opts = WipeOptions(journal_dir=tmp_path / "j", run=drive(device, honest=False, calls=[]))
    [report] = erase([target(device, ["nvme-format-user-data"])], opts)  # --method firmware
    assert report.status == "failed"
    assert report.verification.result == "failed"
    assert report.verification.mismatches == 2002  # every sample still holds its marker
    assert report.verification.markers_found == report.verification.markers_written == 2002


def test_secure_discard_refused_by_a_loop_device(tmp_path: Path, loop_device: LoopFactory) -> None:
    """The real BLKSECDISCARD ioctl: a loop device does not support it -> overwrite."""
    device = loop_device(SIZE)
    used_drive(device)
    [report] = erase(
        [target(device, ["mmc-secure-erase", "overwrite"])], WipeOptions(journal_dir=tmp_path / "j")
    )
    assert report.status == "certified"
    assert report.sanitization.method == "overwrite"
    assert "mmc-secure-erase: refused by the drive (BLKSECDISCARD" in report.sanitization.technique
    assert read_all(device).count(MARKER) == 0
