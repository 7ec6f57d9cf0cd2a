"""Device safety: which disks weee may destroy.

The refusal rules run on recorded system trees (a sysfs/procfs layout written by the
test under tmp_path, plus lsblk JSON) and, read-only, on this machine's own facts: the
disk holding ``/`` here must be refused. Nothing in this module opens a disk.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agent import blockdev

QEMU_VM = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "qemu-vm" / "plain"
if not QEMU_VM.exists():  # CI lays shared/ beside the clone
    QEMU_VM = Path(__file__).resolve().parents[1].parent / "shared/fixtures/qemu-vm/plain"


@dataclass
class Node:
    devno: str
    size_sectors: int = 2048
    parent: str | None = None  # partition of
    slaves: tuple[str, ...] = ()
    holders: tuple[str, ...] = ()
    removable: bool = False
    ro: bool = False
    backing: str | None = None
    dm_name: str | None = None


@dataclass
class Machine:
    blocks: dict[str, Node]
    mountinfo: list[tuple[str, str, str, str]]  # devno, mountpoint, fstype, source
    swaps: list[str] = field(default_factory=list)
    lsblk: list[dict[str, Any]] = field(default_factory=list)


def disk(name: str, *, tran: str | None = "sata", rm: bool = False, ro: bool = False,
         children: list[dict[str, Any]] | None = None, mounts: list[str] | None = None,
         model: str = "Disk", typ: str = "disk") -> dict[str, Any]:  # fmt: skip
    return {
        "kname": name, "name": name, "path": f"/dev/{name}", "type": typ, "size": 1 << 20,
        "tran": tran, "rm": rm, "ro": ro, "rota": False, "model": model, "serial": f"SN-{name}",
        "log-sec": 512, "phy-sec": 4096, "mountpoints": mounts or [None],
        "children": children or [],
    }  # fmt: skip


def part(name: str, mounts: list[str] | None = None) -> dict[str, Any]:
    return {"kname": name, "name": name, "type": "part", "mountpoints": mounts or [None]}


def write_tree(root: Path, machine: Machine) -> None:
    devices = root / "sys/devices/virtual/block"
    cls = root / "sys/class/block"
    cls.mkdir(parents=True)
    for name, node in machine.blocks.items():
        where = devices / node.parent / name if node.parent else devices / name
        where.mkdir(parents=True, exist_ok=True)
        (where / "dev").write_text(node.devno + "\n")
        (where / "size").write_text(f"{node.size_sectors}\n")
        (where / "removable").write_text("1\n" if node.removable else "0\n")
        (where / "ro").write_text("1\n" if node.ro else "0\n")
        (where / "slaves").mkdir()
        (where / "holders").mkdir()
        for s in node.slaves:
            (where / "slaves" / s).touch()
        for h in node.holders:
            (where / "holders" / h).touch()
        if node.parent:
            (where / "partition").write_text("1\n")
        if node.backing:
            (where / "loop").mkdir()
            (where / "loop/backing_file").write_text(node.backing + "\n")
        if node.dm_name:
            (where / "dm").mkdir()
            (where / "dm/name").write_text(node.dm_name + "\n")
        os.symlink(os.path.relpath(where, cls), cls / name)
    proc = root / "proc/self"
    proc.mkdir(parents=True)
    lines = [
        f"{i + 20} 1 {devno} / {point.replace(' ', chr(92) + '040')} rw - {fs} {src} rw"
        for i, (devno, point, fs, src) in enumerate(machine.mountinfo)
    ]
    (proc / "mountinfo").write_text("\n".join(lines) + "\n")
    swaps = ["Filename\tType\tSize\tUsed\tPriority"]
    swaps += [f"{s}\tpartition\t1024\t0\t-2" for s in machine.swaps]
    (root / "proc/swaps").write_text("\n".join(swaps) + "\n")
    (root / "cmd").mkdir()
    (root / "cmd/lsblk.json").write_text(json.dumps({"blockdevices": machine.lsblk}))


MACHINES: dict[str, Machine] = {
    # an installed laptop: EFI partition, LVM root, swap partition; a second SATA disk
    "installed-lvm": Machine(
        blocks={
            "nvme0n1": Node("259:0"),
            "nvme0n1p1": Node("259:1", parent="nvme0n1"),
            "nvme0n1p2": Node("259:2", parent="nvme0n1", holders=("dm-0",)),
            "nvme0n1p3": Node("259:3", parent="nvme0n1"),
            "dm-0": Node("253:0", slaves=("nvme0n1p2",), dm_name="vg-root"),
            "sda": Node("8:0"),
        },
        mountinfo=[
            ("253:0", "/", "ext4", "/dev/mapper/vg-root"),
            ("259:1", "/boot/efi", "vfat", "/dev/nvme0n1p1"),
            ("0:22", "/proc", "proc", "proc"),
        ],
        swaps=["/dev/nvme0n1p3"],
        lsblk=[
            disk(
                "nvme0n1",
                tran="nvme",
                children=[
                    part("nvme0n1p1", ["/boot/efi"]),
                    part("nvme0n1p2"),
                    part("nvme0n1p3", ["[SWAP]"]),
                ],
            ),  # fmt: skip
            disk("sda"),
        ],
    ),
    # booted from a Debian live stick: / is an overlay, the stick is at /run/live/medium
    # and the root squashfs is a loop device on a file of the stick
    "live-stick": Machine(
        blocks={
            "sda": Node("8:0"),
            "sda1": Node("8:1", parent="sda"),
            "sdb": Node("8:16", removable=True),
            "sdb1": Node("8:17", parent="sdb"),
            "loop0": Node("7:0", backing="/run/live/medium/live/filesystem.squashfs"),
            "sdc": Node("8:32", holders=("md0",)),
            "md0": Node("9:0", slaves=("sdc",)),
            "sdd": Node("8:48"),
            "mmcblk0": Node("179:0"),
            "mmcblk0boot0": Node("179:8", ro=True),
            "zram0": Node("252:0"),
            "sde": Node("8:64"),
            "loop1": Node("7:1", backing="/dev/sde"),
        },
        mountinfo=[
            ("0:31", "/", "overlay", "overlay"),
            ("8:17", "/run/live/medium", "iso9660", "/dev/sdb1"),
            ("7:0", "/run/live/rootfs/filesystem.squashfs", "squashfs", "/dev/loop0"),
            ("8:1", "/mnt/old data", "ntfs", "/dev/sda1"),
        ],
        lsblk=[
            disk("sda", children=[part("sda1", ["/mnt/old data"])]),
            disk("sdb", tran="usb", rm=True, children=[part("sdb1", ["/run/live/medium"])]),
            disk("loop0", tran=None, typ="loop", mounts=["/run/live/rootfs/filesystem.squashfs"]),
            disk("sdc", children=[{"kname": "md0", "name": "md0", "type": "raid1"}]),
            disk("sdd", tran="usb"),
            disk("mmcblk0", tran=None),
            disk("mmcblk0boot0", tran=None, ro=True),
            disk("zram0", tran=None),
            disk("sde"),
            disk("loop1", tran=None, typ="loop"),
        ],
    ),
}

# (machine, path, explicit, expected refusal fragments; [] = allowed)
CASES = [
    ("installed-lvm", "/dev/nvme0n1", True,
     ["boot medium", "mounted", "in use by dm-0 (vg-root)", "swap"]),
    ("installed-lvm", "/dev/sda", False, []),
    ("installed-lvm", "/dev/nvme0n1p1", True, ["is a partition"]),
    ("installed-lvm", "/dev/sdx", True, ["no such block device"]),
    ("live-stick", "/dev/sdb", True, ["boot medium", "mounted: /run/live/medium"]),
    ("live-stick", "/dev/loop0", True, ["mounted: /run/live/rootfs"]),
    ("live-stick", "/dev/sda", True, ["mounted: /mnt/old data"]),
    ("live-stick", "/dev/sdc", True, ["in use by md0"]),
    ("live-stick", "/dev/sdd", False, ["USB drive: name it explicitly"]),
    ("live-stick", "/dev/sdd", True, []),
    ("live-stick", "/dev/mmcblk0", False, []),
    ("live-stick", "/dev/mmcblk0boot0", True, ["read-only"]),
    ("live-stick", "/dev/zram0", True, ["not a data disk"]),
    ("live-stick", "/dev/sde", True, ["backing device of /dev/loop1"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("machine", "path", "explicit", "expected"),
    CASES,
    ids=[f"{m}:{p}:{'explicit' if e else 'default'}" for m, p, e, _ in CASES],
)
def test_assessment_on_recorded_tree(
    tmp_path: Path, machine: str, path: str, explicit: bool, expected: list[str]
) -> None:
    write_tree(tmp_path, MACHINES[machine])
    result = blockdev.assess(path, explicit=explicit, root=tmp_path)
    text = " | ".join(result.refusals)
    for fragment in expected:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    assert result.allowed == (not expected), text


def test_live_stick_boot_medium_is_found_through_the_squashfs_loop(tmp_path: Path) -> None:
    write_tree(tmp_path, MACHINES["live-stick"])
    facts = blockdev.read_facts(tmp_path)
    assert blockdev.boot_disks(facts) == {"sdb": "/run/live/medium"}
    assert blockdev.underlying_disks("loop0", facts) == {"loop0", "sdb"}


def test_list_disks_leaves_out_loop_and_ram_devices(tmp_path: Path) -> None:
    write_tree(tmp_path, MACHINES["live-stick"])
    facts = blockdev.read_facts(tmp_path)
    names = [d.name for d in blockdev.list_disks(facts=facts)]
    assert names == ["sda", "sdb", "sdc", "sdd", "mmcblk0", "mmcblk0boot0", "sde"]
    assert "loop0" in [d.name for d in blockdev.list_disks(facts=facts, include_loop=True)]


@pytest.mark.skipif(not QEMU_VM.exists(), reason="shared fixtures not laid beside the tree")
def test_disks_from_the_recorded_qemu_vm_lsblk() -> None:
    entries = blockdev.parse_lsblk((QEMU_VM / "lsblk.json").read_bytes())
    disks = {e["kname"]: blockdev.disk_from_lsblk(e) for e in entries}
    assert disks["sda"].serial == "TESTSATA01"
    assert disks["sda"].size_bytes == 64 << 20  # recorded without --bytes: "64M"
    assert (disks["sda"].media_type, disks["sda"].interface) == ("hdd", "ata")
    assert (disks["nvme0n1"].media_type, disks["nvme0n1"].interface) == ("nvme", "nvme")
    assert (disks["sdb"].media_type, disks["sdb"].interface) == ("usb", "usb")
    assert disks["vda"].mountpoints == ("/",)


def test_this_machines_root_disk_is_refused() -> None:
    """Read-only: the facts of this very machine, and the pure assessment of them."""
    facts = blockdev.read_facts("/")
    root_mount = [m for m in facts.mounts if m.mountpoint == "/"][-1]
    device = blockdev._mount_device(root_mount, facts)
    if device is None:
        pytest.skip(f"/ is not on a block device here ({root_mount.fstype})")
    for disk_name in blockdev.underlying_disks(device, facts):
        result = blockdev.assess(f"/dev/{disk_name}", explicit=True, facts=facts)
        assert any("boot medium" in r for r in result.refusals), result.refusals
