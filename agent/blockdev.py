"""Block devices: which disks exist, and which of them may be destroyed.

Used by ``weee wipe`` and ``weee image`` before either opens a device for writing.

Reading is separate from deciding: :func:`read_facts` gathers ``lsblk --json --bytes
--output-all``, ``/proc/self/mountinfo``, ``/proc/swaps`` and the sysfs block tree
under a ``root`` (``/`` live, a recorded tree in tests) into a :class:`SystemFacts`;
:func:`assess_facts` is a pure function of those facts. So the refusal of the boot
medium is tested on this machine's real facts without ever opening its disk.

Refusals that nothing overrides: the medium the running system booted from, anything
mounted (the disk or any partition or device stacked on it), anything held by
LVM/RAID/device-mapper (sysfs ``holders/``), swap, read-only devices, partitions (we
erase whole disks), RAM/compressed-RAM/optical devices. Removable and USB media are
refused unless named explicitly, because the boot stick of *another* bench run, or a
customer's backup drive plugged in by mistake, looks exactly like a target.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checks.system import CommandResult, run_command

log = logging.getLogger(__name__)

Runner = Callable[[Sequence[str]], CommandResult]

# Where a running system's boot medium is mounted: "/" and "/boot" on an installed
# system; Debian live (live-boot) mounts the stick at /run/live/medium (older:
# /lib/live/mount/medium), dracut's dmsquash-live at /run/initramfs/live, Ubuntu's
# casper at /cdrom, Arch ISO at /run/archiso/bootmnt.
BOOT_MOUNTPOINTS = (
    "/",
    "/boot",
    "/boot/efi",
    "/efi",
    "/run/live/medium",
    "/lib/live/mount/medium",
    "/run/initramfs/live",
    "/cdrom",
    "/run/archiso/bootmnt",
)

# Kernel names of devices that are never storage a donor left data on.
_NEVER_TARGET_PREFIXES = ("zram", "ram", "sr", "fd", "md", "dm-", "nbd")


def _runner_default(argv: Sequence[str]) -> CommandResult:
    return run_command(argv, timeout=30)


def is_ata_transport(transport: str | None) -> bool:
    """lsblk's TRAN of a drive that speaks ATA directly (HPA and DCO exist there)."""
    tran = transport or ""
    return tran in ("sata", "ata", "pata") or tran.startswith("ata")


@dataclass(frozen=True)
class Disk:
    """A whole block device as lsblk and sysfs describe it."""

    name: str  # kernel name: sda, nvme0n1, mmcblk0, loop3
    path: str  # /dev/sda
    size_bytes: int
    logical_sector_size: int
    physical_sector_size: int
    model: str | None
    serial: str | None
    vendor: str | None
    transport: str | None  # lsblk "tran": sata, nvme, usb, mmc, ...
    rotational: bool | None
    removable: bool
    hotplug: bool
    read_only: bool
    devtype: str  # lsblk "type": disk, loop, rom
    wwn: str | None = None
    partitions: tuple[str, ...] = ()
    mountpoints: tuple[str, ...] = ()  # of the disk and everything stacked on it

    @property
    def media_type(self) -> str:
        """The erasure report's ``media.type``: hdd|ssd|nvme|emmc|usb|other."""
        if self.transport == "usb":
            return "usb"
        if self.name.startswith("nvme") or self.transport == "nvme":
            return "nvme"
        if self.name.startswith("mmcblk") or self.transport == "mmc":
            return "emmc"
        if self.devtype == "disk" and self.rotational is True:
            return "hdd"
        if self.devtype == "disk" and self.rotational is False:
            return "ssd"
        return "other"

    @property
    def laptop_drive(self) -> bool:
        """A drive of the laptop itself: not USB, not removable media (the boot stick, a
        card in the reader). ``inventory.record.is_laptop_drive`` is the same rule on the
        record's hardware report: a laptop drive left unerased is never certified."""
        return self.transport != "usb" and not self.removable

    @property
    def interface(self) -> str:
        """The erasure report's ``media.interface``: ata|nvme|scsi|mmc|usb|other."""
        tran = self.transport or ""
        if tran == "usb":
            return "usb"
        if tran == "nvme" or self.name.startswith("nvme"):
            return "nvme"
        if is_ata_transport(tran):
            return "ata"
        if tran in ("sas", "spi", "fc", "iscsi", "scsi"):
            return "scsi"
        if tran == "mmc" or self.name.startswith("mmcblk"):
            return "mmc"
        return "other"

    def describe(self) -> str:
        """One line a technician checks before saying yes: model, serial, size."""
        model = self.model or "unknown model"
        serial = self.serial or "no serial"
        return f"{self.path}  {model}  serial {serial}  {human_size(self.size_bytes)}"


@dataclass(frozen=True)
class Mount:
    devno: str  # "maj:min" of the mounted filesystem (0:N for non-block filesystems)
    mountpoint: str
    fstype: str
    source: str


@dataclass(frozen=True)
class BlockNode:
    """One entry of /sys/class/block: a disk, partition, loop, dm or md device."""

    name: str
    devno: str | None
    partition_of: str | None  # parent disk when this is a partition
    slaves: tuple[str, ...]  # devices this one is built on (dm, md)
    holders: tuple[str, ...]  # devices built on this one
    removable: bool
    read_only: bool
    size_bytes: int | None
    backing_file: str | None  # loop devices
    dm_name: str | None


@dataclass
class SystemFacts:
    """Everything the safety assessment looks at, read once."""

    lsblk: list[dict[str, Any]]
    mounts: list[Mount]
    swaps: list[str]
    blocks: dict[str, BlockNode]
    live: bool = True  # paths may be resolved on this system (symlinks under /dev)
    errors: list[str] = field(default_factory=list)


@dataclass
class Assessment:
    """Whether ``path`` may be destroyed, and every reason it may not."""

    path: str
    name: str | None
    disk: Disk | None
    refusals: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.refusals


# ---------------------------------------------------------------------------- parsing


def human_size(n: int) -> str:
    """Decimal units, as drive labels print them (a "500 GB" drive is 500.1e9 bytes)."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def _size(value: object) -> int:
    """lsblk --bytes gives ints; recordings made without --bytes give "64M"."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        units = {"B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}
        if text and text[-1].upper() in units:
            try:
                return int(float(text[:-1]) * units[text[-1].upper()])
            except ValueError:
                return 0
    return 0


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text or None


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip() in ("1", "true")
    if isinstance(value, int):
        return value != 0
    return False


def parse_lsblk(text: str | bytes) -> list[dict[str, Any]]:
    """The ``blockdevices`` tree of ``lsblk --json``; [] for empty or broken output."""
    try:
        doc = json.loads(text)
    except ValueError:
        return []
    devices = doc.get("blockdevices") if isinstance(doc, dict) else None
    return [d for d in devices if isinstance(d, dict)] if isinstance(devices, list) else []


def _walk(entry: dict[str, Any]) -> Iterable[dict[str, Any]]:
    yield entry
    for child in entry.get("children") or []:
        if isinstance(child, dict):
            yield from _walk(child)


def _mountpoints(entry: dict[str, Any]) -> list[str]:
    points = entry.get("mountpoints")
    if not isinstance(points, list):
        points = [entry.get("mountpoint")]
    return [p for p in points if isinstance(p, str) and p]


def disk_from_lsblk(entry: dict[str, Any]) -> Disk:
    name = str(entry.get("kname") or entry.get("name") or "")
    partitions = tuple(
        str(c.get("kname") or c.get("name"))
        for c in entry.get("children") or []
        if isinstance(c, dict) and c.get("type") == "part"
    )
    mounted: list[str] = []
    for node in _walk(entry):
        mounted.extend(_mountpoints(node))
    rota = entry.get("rota")
    return Disk(
        name=name,
        path=str(entry.get("path") or f"/dev/{name}"),
        size_bytes=_size(entry.get("size")),
        logical_sector_size=_size(entry.get("log-sec")) or 512,
        physical_sector_size=_size(entry.get("phy-sec")) or 512,
        model=_clean(entry.get("model")),
        serial=_clean(entry.get("serial")),
        vendor=_clean(entry.get("vendor")),
        transport=_clean(entry.get("tran")),
        rotational=_bool(rota) if rota is not None else None,
        removable=_bool(entry.get("rm")),
        hotplug=_bool(entry.get("hotplug")),
        read_only=_bool(entry.get("ro")),
        devtype=str(entry.get("type") or "disk"),
        wwn=_clean(entry.get("wwn")),
        partitions=partitions,
        mountpoints=tuple(mounted),
    )


def _unescape_mountinfo(field_text: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \040 \011 \012 \134
    out = field_text
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        out = out.replace(code, char)
    return out


def parse_mountinfo(text: str) -> list[Mount]:
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields = left.split()
        tail = right.split()
        if len(fields) < 5 or len(tail) < 2:
            continue
        mounts.append(
            Mount(
                devno=fields[2],
                mountpoint=_unescape_mountinfo(fields[4]),
                fstype=tail[0],
                source=_unescape_mountinfo(tail[1]),
            )
        )
    return mounts


def parse_swaps(text: str) -> list[str]:
    lines = text.splitlines()[1:]  # header: Filename Type Size Used Priority
    return [_unescape_mountinfo(line.split()[0]) for line in lines if line.split()]


# ---------------------------------------------------------------------------- reading


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def _listdir(path: Path) -> tuple[str, ...]:
    try:
        return tuple(sorted(os.listdir(path)))
    except OSError:
        return ()


def read_block_nodes(root: str | os.PathLike[str] = "/") -> dict[str, BlockNode]:
    """/sys/class/block under ``root``: partitions, stacking and loop backing files."""
    base = Path(root) / "sys/class/block"
    nodes: dict[str, BlockNode] = {}
    for name in _listdir(base):
        node = base / name
        partition_of = None
        if (node / "partition").exists():
            # /sys/class/block/sda1 -> ../../devices/.../block/sda/sda1: the parent dir
            try:
                partition_of = node.resolve().parent.name
            except OSError:
                partition_of = None
        size = _read(node / "size")
        backing = _read(node / "loop" / "backing_file")
        dm_name = _read(node / "dm" / "name")
        nodes[name] = BlockNode(
            name=name,
            devno=(_read(node / "dev") or "").strip() or None,
            partition_of=partition_of,
            slaves=_listdir(node / "slaves"),
            holders=_listdir(node / "holders"),
            removable=(_read(node / "removable") or "0").strip() == "1",
            read_only=(_read(node / "ro") or "0").strip() == "1",
            # sysfs "size" is always in 512-byte units, whatever the sector size
            size_bytes=int(size.strip()) * 512 if size and size.strip().isdigit() else None,
            backing_file=backing.strip() if backing and backing.strip() else None,
            dm_name=dm_name.strip() if dm_name and dm_name.strip() else None,
        )
    return nodes


def read_facts(
    root: str | os.PathLike[str] = "/",
    *,
    run: Runner | None = None,
    lsblk_args: Sequence[str] = (),
) -> SystemFacts:
    """Gather the facts under ``root`` (lsblk is run only for the live root)."""
    root_path = Path(root)
    live = root_path.resolve() == Path("/")
    errors: list[str] = []
    lsblk: list[dict[str, Any]] = []
    recorded = root_path / "cmd" / "lsblk.json"
    if live:
        result = (run or _runner_default)(
            ["lsblk", "--json", "--bytes", "--output-all", *lsblk_args]
        )
        if result.ok:
            lsblk = parse_lsblk(result.stdout)
        else:
            why = result.error or result.stderr_text.strip() or f"exit {result.returncode}"
            errors.append(f"lsblk failed: {why}")
    elif recorded.exists():
        lsblk = parse_lsblk(recorded.read_bytes())
    mountinfo = _read(root_path / "proc/self/mountinfo")
    if mountinfo is None:
        errors.append("cannot read /proc/self/mountinfo")
    swaps = _read(root_path / "proc/swaps")
    return SystemFacts(
        lsblk=lsblk,
        mounts=parse_mountinfo(mountinfo or ""),
        swaps=parse_swaps(swaps or ""),
        blocks=read_block_nodes(root_path),
        live=live,
        errors=errors,
    )


def list_disks(*, facts: SystemFacts | None = None, include_loop: bool = False) -> list[Disk]:
    """Whole disks from lsblk (loop devices only when asked: tests and benchmarks)."""
    facts = facts if facts is not None else read_facts()
    disks = []
    for entry in facts.lsblk:
        disk = disk_from_lsblk(entry)
        if disk.devtype == "loop" and not include_loop:
            continue
        if disk.devtype not in ("disk", "loop"):
            continue
        if disk.name.startswith(_NEVER_TARGET_PREFIXES):
            continue
        if disk.devtype == "loop" and disk.size_bytes == 0:
            continue  # an unattached loop device
        disks.append(disk)
    return disks


# --------------------------------------------------------------------- the assessment


def _name_of_path(path: str, facts: SystemFacts) -> str:
    """Kernel name of a device path: follows /dev/disk/by-id/... and /dev/mapper/..."""
    if facts.live and os.path.exists(path):
        path = os.path.realpath(path)
    base = os.path.basename(path.rstrip("/"))
    if path.startswith("/dev/mapper/"):
        for node in facts.blocks.values():
            if node.dm_name == base:
                return node.name
    return base


def _mount_containing(file_path: str, mounts: Sequence[Mount]) -> Mount | None:
    best: Mount | None = None
    for mount in mounts:
        point = mount.mountpoint.rstrip("/") or "/"
        inside = file_path == point or file_path.startswith(point.rstrip("/") + "/")
        # later mounts on the same point hide earlier ones: >= keeps the last one
        if inside and (best is None or len(point) >= len(best.mountpoint.rstrip("/") or "/")):
            best = mount
    return best


def _mount_device(mount: Mount, facts: SystemFacts) -> str | None:
    """Kernel name of the block device behind a mount, if there is one."""
    by_devno = {n.devno: n.name for n in facts.blocks.values() if n.devno}
    if mount.devno in by_devno:
        return by_devno[mount.devno]
    # btrfs and some others report an anonymous 0:N device: trust the source instead
    if mount.source.startswith("/dev/"):
        name = _name_of_path(mount.source, facts)
        if name in facts.blocks:
            return name
    return None


def underlying_disks(
    name: str, facts: SystemFacts, _seen: frozenset[str] = frozenset()
) -> set[str]:
    """The whole disks a device lives on: through partitions, dm/md slaves and loops."""
    if name in _seen:
        return set()
    seen = _seen | {name}
    node = facts.blocks.get(name)
    if node is None:
        return {name}
    if node.partition_of:
        return underlying_disks(node.partition_of, facts, seen)
    if node.slaves:
        found: set[str] = set()
        for slave in node.slaves:
            found |= underlying_disks(slave, facts, seen)
        return found
    if node.backing_file:
        # a live system's root squashfs is a loop device on a file on the stick
        backing = node.backing_file.removesuffix(" (deleted)")
        mount = _mount_containing(backing, facts.mounts)
        device = _mount_device(mount, facts) if mount else None
        found = {name}
        if device:
            found |= underlying_disks(device, facts, seen)
        return found
    return {name}


def boot_disks(facts: SystemFacts) -> dict[str, str]:
    """Disks holding the running system, each with the mount point that shows it."""
    found: dict[str, str] = {}
    for point in BOOT_MOUNTPOINTS:
        mounts = [m for m in facts.mounts if m.mountpoint == point]
        if not mounts:
            continue
        device = _mount_device(mounts[-1], facts)
        if device is None:
            continue
        for disk in underlying_disks(device, facts):
            found.setdefault(disk, point)
    return found


def _stack(name: str, facts: SystemFacts) -> set[str]:
    """The device and everything built on it (partitions, dm/md holders), recursively."""
    out = {name}
    todo = [name]
    while todo:
        current = todo.pop()
        node = facts.blocks.get(current)
        children = [n.name for n in facts.blocks.values() if n.partition_of == current]
        if node is not None:
            children += list(node.holders)
        for child in children:
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def _lsblk_entry(name: str, facts: SystemFacts) -> dict[str, Any] | None:
    for top in facts.lsblk:
        for entry in _walk(top):
            if entry.get("kname") == name or entry.get("name") == name:
                return entry
    return None


def assess_facts(path: str, facts: SystemFacts, *, explicit: bool) -> Assessment:
    """Pure: may ``path`` be destroyed, given ``facts``? Every reason it may not."""
    name = _name_of_path(path, facts)
    entry = _lsblk_entry(name, facts)
    node = facts.blocks.get(name)
    disk = disk_from_lsblk(entry) if entry is not None else None
    result = Assessment(path=path, name=name, disk=disk)
    refuse = result.refusals.append

    if entry is None and node is None:
        refuse(f"{path}: no such block device")
        return result
    if facts.errors:
        # without the full picture nothing is provably safe
        refuse("cannot check safety: " + "; ".join(facts.errors))
    if node is not None and node.partition_of:
        refuse(f"{path} is a partition of /dev/{node.partition_of}: weee erases whole disks")
        return result
    devtype = str(entry.get("type")) if entry is not None else "disk"
    if devtype not in ("disk", "loop") or name.startswith(_NEVER_TARGET_PREFIXES):
        refuse(f"{path} ({name}, {devtype}) is RAM, optical or virtual: not a data disk")
        return result
    size = node.size_bytes if node is not None and node.size_bytes is not None else None
    if size is None:
        size = disk.size_bytes if disk is not None else 0
    if size == 0:
        refuse(f"{path} has no medium (size 0)")

    boot = boot_disks(facts)
    if name in boot:
        refuse(f"{path} holds the running system (mounted at {boot[name]}): the boot medium")

    stack = _stack(name, facts)
    mounted = []
    for mount in facts.mounts:
        device = _mount_device(mount, facts)
        if device is not None and (device in stack or name in underlying_disks(device, facts)):
            mounted.append(f"{mount.mountpoint} (/dev/{device})")
    if disk is not None:  # lsblk sees mounts of other namespaces' views too
        for point in disk.mountpoints:
            if not any(m.startswith(point + " ") for m in mounted):
                mounted.append(point)
    if mounted:
        refuse(f"{path} is mounted: " + ", ".join(dict.fromkeys(mounted)))

    holders = sorted(
        h for part in stack for h in (facts.blocks[part].holders if part in facts.blocks else ())
    )
    if holders:
        described = []
        for holder in dict.fromkeys(holders):
            dm = facts.blocks[holder].dm_name if holder in facts.blocks else None
            described.append(f"{holder} ({dm})" if dm else holder)
        refuse(f"{path} is in use by " + ", ".join(described) + " (LVM, RAID or device-mapper)")

    # A loop device over the disk itself (``losetup /dev/sdX``, or ``mount -o offset=``
    # on a whole disk) shows neither in holders/ nor as a mount of the disk, and O_EXCL
    # does not see it either.
    backed = sorted(
        n.name
        for n in facts.blocks.values()
        if n.backing_file
        and n.name != name
        and n.backing_file.startswith("/dev/")
        and _name_of_path(n.backing_file.removesuffix(" (deleted)"), facts) in stack
    )
    if backed:
        users = ", ".join(f"/dev/{b}" for b in backed)
        refuse(f"{path} is in use as the backing device of {users}")

    swapping = []
    for swap in facts.swaps:
        swap_name = _name_of_path(swap, facts)
        if swap_name in facts.blocks:
            disks = underlying_disks(swap_name, facts)
        else:  # a swap file: the disk of the filesystem holding it
            swap_mount = _mount_containing(swap, facts.mounts)
            device = _mount_device(swap_mount, facts) if swap_mount else None
            disks = underlying_disks(device, facts) if device else set()
        if name in disks or swap_name in stack:
            swapping.append(swap)
    if swapping:
        refuse(f"{path} holds active swap: " + ", ".join(swapping))

    read_only = (disk.read_only if disk else False) or (node.read_only if node else False)
    if read_only:
        refuse(f"{path} is read-only")

    removable = (disk.removable if disk else False) or (node.removable if node else False)
    external = disk is not None and disk.transport == "usb"
    if removable or external:
        what = "a USB drive" if external else "removable media"
        if explicit:
            result.notes.append(f"{path} is {what}: erased because it was named explicitly")
        else:
            refuse(f"{path} is {what}: name it explicitly to erase it")
    return result


def assess(
    disk_path: str,
    *,
    explicit: bool,
    facts: SystemFacts | None = None,
    root: str | os.PathLike[str] = "/",
) -> Assessment:
    """May ``disk_path`` be destroyed? Reads the facts under ``root`` unless given."""
    return assess_facts(
        disk_path, facts if facts is not None else read_facts(root), explicit=explicit
    )
