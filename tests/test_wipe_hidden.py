"""Hidden areas (ATA HPA and DCO) block certification unless erased, on real loop devices.

The drive is a loop device over an image file of the drive's factory size; what the
kernel sees is the loop device's size limit. An HPA (or a DCO) is the part of the file
past that limit, holding the donor's data. The drive's side of ``hdparm -N``,
``hdparm -N p<n>``, ``--dco-identify`` and ``--dco-restore`` is played by the ``run``
passed in: it answers from the drive's registers and, when the drive accepts a new
capacity, changes the loop device's size limit (``LOOP_SET_STATUS64``: the kernel sees
the new size at once) unless the case is a kernel that keeps the old size. Everything
else is the product's own path: the runner, the rescan and sysfs size, the overwrite
over the native size and its full read-back.
"""

from __future__ import annotations

import fcntl
import json
import os
import struct
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from test_wipe_engine import MARKER, needs_losetup, needs_root

from agent.blockdev import Assessment, Disk
from agent.wipe import Target, WipeOptions, erase
from agent.wipe.methods import AtaCaps, DcoInfo, DriveFacts, HpaInfo, Plan
from agent.wipe.report import ErasureReport, HiddenAreas, Media, Sanitization
from checks.system import CommandResult, run_command
from inventory.documents.certificate import _hidden_areas
from inventory.documents.words import translator

pytestmark = [pytest.mark.root, needs_root, needs_losetup]

MiB = 1 << 20
DATA = Path(__file__).parent / "data" / "wipe"
SCHEMA = Path(__file__).parents[1] / "inventory" / "schema" / "record-1.schema.json"
LOOP_SET_STATUS64 = 0x4C04
LOOP_GET_STATUS64 = 0x4C05
LO_SIZELIMIT = 32  # struct loop_info64: lo_device, lo_inode, lo_rdevice, lo_offset, then this


def set_sizelimit(device: str, size: int) -> None:
    """What the kernel sees of the drive: the loop device's size limit, changed in place."""
    fd = os.open(device, os.O_RDONLY | os.O_CLOEXEC)
    try:
        info = bytearray(232)
        fcntl.ioctl(fd, LOOP_GET_STATUS64, info)
        struct.pack_into("=Q", info, LO_SIZELIMIT, size)
        fcntl.ioctl(fd, LOOP_SET_STATUS64, bytes(info))
    finally:
        os.close(fd)


@dataclass
class Drive:
    """An ATA drive's capacity registers, in 512-byte sectors, and how it behaves."""

    device: str
    current: int  # the max address the host sees (an HPA below native)
    native: int  # native max (a DCO below real)
    real: int  # the factory max (DCO identify)
    refuse_hpa: bool = False  # SET MAX ADDRESS aborted
    refuse_dco: bool = False  # DEVICE CONFIGURATION RESTORE aborted (DCO frozen)
    kernel_follows: bool = True  # the kernel sees a new capacity
    hpa_unreadable: bool = False  # hdparm -N gives nothing
    dco_unreadable: bool = False  # hdparm --dco-identify gives nothing
    hpa_feature: bool = True  # hdparm -I lists the Host Protected Area feature set
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def resize(self) -> None:
        if self.kernel_follows:
            set_sizelimit(self.device, self.current * 512)

    def run(self, argv: Sequence[str], timeout: float = 30) -> CommandResult:
        args = tuple(argv)
        self.calls.append(args)
        ok = CommandResult(args, 0, b"", b"", 0)
        if args[:2] == ("hdparm", "-N"):
            if self.hpa_unreadable:
                return CommandResult(args, 5, b"", b"READ_NATIVE_MAX_ADDRESS failed\n", 0)
            state = "enabled" if self.current < self.native else "disabled"
            text = (
                f"\n{self.device}:\n max sectors   = {self.current}/{self.native}, HPA is {state}\n"
            )
            return CommandResult(args, 0, text.encode(), b"", 0)
        if args[:3] == ("hdparm", "--yes-i-know-what-i-am-doing", "-N"):
            if self.refuse_hpa:
                return CommandResult(
                    args, 5, b"", b"SET_MAX_ADDRESS failed: Input/output error\n", 0
                )
            self.current = min(int(args[3].lstrip("p")), self.native)
            self.resize()
            return ok
        if args[:2] == ("hdparm", "--dco-identify"):
            # hdparm 9.65's output (the recorded laptop HDD), with this drive's real max
            recorded = (DATA / "hdd-hpa" / "hdparm-dco-identify.txt").read_text()
            text = recorded.replace("/dev/sda", self.device).replace("976773168", str(self.real))
            return CommandResult(args, 0, text.encode(), b"", 0)
        if args[:3] == ("hdparm", "--yes-i-know-what-i-am-doing", "--dco-restore"):
            if self.refuse_dco or self.current < self.native:  # ATA: aborted while an HPA is set
                return CommandResult(args, 5, b"", b"DCO restore failed: Input/output error\n", 0)
            # the factory configuration back: the native max is the real max again, and the
            # drive comes back with the old max address set (an HPA to remove in turn)
            self.native = self.real
            return ok
        return CommandResult(args, None, b"", b"", 0, error="not a drive command")


@dataclass
class Case:
    """A drive of ``real`` MiB whose host sees ``current`` MiB (``native`` below a DCO)."""

    current: int
    native: int
    real: int
    status: str
    reason: str | None = None  # in the report's errors when it fails
    restore_dco: bool = False
    refuse_hpa: bool = False
    refuse_dco: bool = False
    kernel_follows: bool = True
    hpa_unreadable: bool = False
    dco_unreadable: bool = False
    hpa_feature: bool = True
    kernel_current: int | None = None  # what the kernel sees at the start, if not current


CASES = {
    "hpa-removed": Case(30, 32, 32, "certified"),
    "hpa-refused": Case(30, 32, 32, "failed", "HPA could not be removed", refuse_hpa=True),
    "hpa-kernel-keeps-old-size": Case(
        30, 32, 32, "failed", "kernel still reports 61440 sectors", kernel_follows=False
    ),
    "hpa-unreadable": Case(30, 32, 32, "failed", "HPA state unreadable", hpa_unreadable=True),
    # QEMU's SATA disk: no HPA feature set, so its identify size is its native size
    "no-hpa-feature": Case(32, 32, 32, "certified", hpa_unreadable=True, hpa_feature=False),
    "dco-unreadable": Case(32, 32, 32, "failed", "DCO state unreadable", dco_unreadable=True),
    # no HPA now, but a removal earlier in this boot that the kernel never saw
    "kernel-behind-an-earlier-removal": Case(
        32, 32, 32, "failed", "reboot and run again", kernel_current=30
    ),
    "dco-restored": Case(30, 31, 32, "certified", restore_dco=True),
    "dco-not-allowed": Case(30, 31, 32, "failed", "does not allow restoring it"),
    "dco-restore-refused": Case(
        31, 31, 32, "failed", "DCO could not be restored", restore_dco=True, refuse_dco=True
    ),
    "no-hidden-area": Case(32, 32, 32, "certified"),
}


@pytest.fixture
def drive_file(tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    image = tmp_path / "drive.img"
    attached: list[str] = []
    try:
        yield image, attached
    finally:
        for device in attached:
            run_command(["losetup", "-d", device])


def donor_drive(image: Path, size: int) -> None:
    """The donor's data everywhere, and the marker in every 64 KiB block."""
    with image.open("wb") as fh:
        for _ in range(0, size, 64 << 10):
            fh.write(MARKER + os.urandom((64 << 10) - len(MARKER)))


def file_bytes(image: Path) -> bytes:
    fd = os.open(image, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # what the disk holds
        return image.read_bytes()
    finally:
        os.close(fd)


def ata_target(device: str, drive: Drive) -> Target:
    name = os.path.basename(device)
    size = drive.current * 512
    disk = Disk(name=name, path=device, size_bytes=size, logical_sector_size=512,
                physical_sector_size=512, model="ST500LM021-1KJ152", serial="HPA-TEST-1",
                vendor="ATA", transport="sata", rotational=True, removable=False,
                hotplug=False, read_only=False, devtype="disk")  # fmt: skip
    ata = AtaCaps(hpa_feature=drive.hpa_feature, dco_feature=True, lba_sectors=drive.current)
    hpa = None if drive.hpa_unreadable else HpaInfo(drive.current, drive.native, True)
    dco = None if drive.dco_unreadable else DcoInfo(drive.real)
    facts = DriveFacts(name=name, transport="sata", size_bytes=size, ata=ata, hpa=hpa,
                       dco=dco)  # fmt: skip
    return Target(device, Assessment(device, name, disk), disk, facts, Plan(["overwrite"], ["t"]))


def attach_case_drive(image: Path, case: Case, attached: list[str]) -> tuple[str, Drive]:
    """The case's drive: the donor's data over its factory size in ``image``, attached
    as a loop device limited to what the kernel sees (appended to ``attached``, for the
    caller to detach), and its registers."""
    donor_drive(image, case.real * MiB)
    seen = (case.kernel_current or case.current) * MiB
    device = run_command(
        ["losetup", "--find", "--show", "--direct-io=on", f"--sizelimit={seen}", str(image)]
    ).text.strip()
    assert device.startswith("/dev/loop")
    attached.append(device)
    sectors = MiB // 512
    drive = Drive(
        device,
        case.current * sectors,
        case.native * sectors,
        case.real * sectors,
        refuse_hpa=case.refuse_hpa,
        refuse_dco=case.refuse_dco,
        kernel_follows=case.kernel_follows,
        hpa_unreadable=case.hpa_unreadable,
        dco_unreadable=case.dco_unreadable,
        hpa_feature=case.hpa_feature,
    )
    return device, drive


def erasure_schema_errors(doc: dict[str, Any]) -> list[str]:
    schema = json.loads(SCHEMA.read_text())
    sub = {"$ref": "#/$defs/erasure", "$defs": schema["$defs"]}
    return [e.message for e in jsonschema.Draft202012Validator(sub).iter_errors(doc)]


@pytest.mark.parametrize("name", list(CASES))
def test_hidden_area_is_erased_or_blocks_certification(
    tmp_path: Path, drive_file: tuple[Path, list[str]], name: str
) -> None:
    case = CASES[name]
    image, attached = drive_file
    device, drive = attach_case_drive(image, case, attached)
    before = file_bytes(image)
    options = WipeOptions(
        journal_dir=tmp_path / "journal",
        run=drive.run,
        restore_dco=case.restore_dco,
        capacity_wait_s=0.5,
    )
    [report] = erase([ata_target(device, drive)], options)
    doc = report.to_dict()
    assert erasure_schema_errors(doc) == []
    hidden = doc["hidden_areas"]
    after = file_bytes(image)
    assert doc["status"] == case.status, doc["errors"]
    if case.status == "certified":
        # every sector of the factory size written, the formerly hidden tail included
        assert doc["media"]["size_bytes"] == case.real * MiB
        assert hidden["native_size_bytes"] == case.real * MiB
        assert doc["verification"]["bytes_read"] == case.real * MiB
        assert after.count(MARKER) == 0
        # the formerly hidden tail: every sector of it rewritten, the very last included
        hidden_from = case.current * MiB
        changed = [
            o
            for o in range(hidden_from, case.real * MiB, 512)
            if after[o : o + 512] != before[o : o + 512]
        ]
        assert len(changed) == (case.real * MiB - hidden_from) // 512
        assert hidden["restored"] is (True if case.current < case.real else None)
        assert hidden["dco"]["restored"] is (True if case.native < case.real else None)
    else:
        assert case.reason is not None and case.reason in " ".join(doc["errors"])
        assert "nothing was erased" in " ".join(doc["errors"])
        assert doc["passes"] == [] and doc["verification"]["result"] == "not-done"
        assert after == before  # not one byte written
        assert hidden["native_size_bytes"] is None
    if case.native < case.real and case.restore_dco and not case.refuse_dco:
        restore = ("hdparm", "--yes-i-know-what-i-am-doing", "--dco-restore", device)
        assert restore in drive.calls
        # the HPA went first (a drive aborts DCO RESTORE while one is set), and again after
        removals = [c for c in drive.calls if c[:3] == restore[:2] + ("-N",)]
        assert len(removals) == 2
        assert drive.calls.index(removals[0]) < drive.calls.index(restore)
        assert drive.calls.index(restore) < drive.calls.index(removals[1])
    if name == "dco-not-allowed":
        assert drive.calls == []  # refused before the drive was touched


def test_journalled_report_keeps_the_hidden_area_fields() -> None:
    report = ErasureReport.from_dict(
        {
            **_minimal_report().to_dict(),
            "hidden_areas": {
                "hpa": {"present": True, "native_max_sectors": 8, "current_max_sectors": 8},
                "dco": {"present": False, "real_max_sectors": 8, "restored": None},
                "restored": True,
                "note": "HPA removed",
                "native_size_bytes": 4096,
            },
        }
    )
    assert report.hidden_areas.native_size_bytes == 4096
    assert report.hidden_areas.dco.real_max_sectors == 8


def _minimal_report() -> ErasureReport:
    return ErasureReport(
        media=Media("/dev/sda", None, None, None, "hdd", "ata", 4096, 512),
        sanitization=Sanitization.for_method("overwrite", pattern="zero", passes=1),
    )


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_certificate_states_the_native_size_erased(lang: str) -> None:
    state = HiddenAreas(restored=True, native_size_bytes=500107862016)
    state.hpa.present = True
    state.dco.present = False
    line = _hidden_areas(json.loads(json.dumps(_as_dict(state))), translator(lang))
    assert "500107862016" in line
    old = _hidden_areas(json.loads(json.dumps(_as_dict(HiddenAreas()))), translator(lang))
    assert "500107862016" not in old  # an older record without the field still prints


def _as_dict(state: HiddenAreas) -> dict[str, Any]:
    doc = asdict(state)
    if state.native_size_bytes is None:
        del doc["native_size_bytes"]  # as in a record made before the field existed
    return doc
