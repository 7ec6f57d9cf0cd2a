"""After the image is written: GPT repair, growing the last partition, the asset ID.

An image built for a 4 GB disk puts its backup GPT header at 4 GB; on a 500 GB disk
firmware and the kernel then see a damaged table, so ``sgdisk -e`` moves the backup to
the disk's real end. Growing recreates the last partition with the same start, type,
unique GUID, name and attribute bits, ending at the disk's last usable sector.

The asset ID goes into the image's first-boot configuration as two files, ``weee/asset-id``
(the ID and a newline) and ``weee/asset.json`` (ID, time, image), on the EFI system
partition when the image has one (type C12A7328-..., mounted at /boot/efi by the OS,
so the first-boot service reads /boot/efi/weee/asset-id), otherwise on the first ext2/3/4
or FAT partition (its root). They are written with debugfs (ext4) or mtools (FAT)
straight into the partition at its offset on the disk: nothing is mounted, so a
refurbished disk never appears in this system's mount table.

The partition table is read by :func:`parse_gpt`, a pure parser of the header and
entry bytes (no scraping of sgdisk's text output).
"""

from __future__ import annotations

import json
import logging
import os
import re
import struct
import tempfile
import uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agent.errors import UnavailableError, UsageError
from agent.image.errors import ImageError
from checks.system import CommandResult, run_command

log = logging.getLogger(__name__)

Runner = Callable[[Sequence[str]], CommandResult]

ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
ASSET_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
EXT_MAGIC_OFFSET = 1080  # superblock at 1024, s_magic at +56
TOOL_TIMEOUT = 600.0  # resize2fs of a large file system takes minutes


def default_runner(argv: Sequence[str]) -> CommandResult:
    return run_command(argv, timeout=TOOL_TIMEOUT)


class GptInvalid(ValueError):
    pass


@dataclass(frozen=True)
class GptPartition:
    number: int  # 1-based entry index, as sgdisk numbers them
    type_guid: str
    unique_guid: str
    first_lba: int
    last_lba: int
    attributes: int
    name: str


@dataclass(frozen=True)
class Gpt:
    sector_size: int
    current_lba: int
    backup_lba: int
    first_usable: int
    last_usable: int
    partitions: tuple[GptPartition, ...]


def _guid(raw: bytes) -> str:
    return str(uuid.UUID(bytes_le=raw)).upper()


def parse_gpt(header: bytes, entries: bytes, sector_size: int) -> Gpt:
    """Parse a GPT header sector and its entry array (UEFI spec 5.3)."""
    if header[:8] != b"EFI PART":
        raise GptInvalid("no GPT signature")
    header_size = struct.unpack_from("<I", header, 12)[0]
    if not 92 <= header_size <= sector_size:
        raise GptInvalid(f"bad GPT header size {header_size}")
    stored_crc = struct.unpack_from("<I", header, 16)[0]
    check = bytearray(header[:header_size])
    check[16:20] = b"\0\0\0\0"
    if zlib.crc32(check) != stored_crc:
        raise GptInvalid("GPT header checksum mismatch")
    current, backup, first_usable, last_usable = struct.unpack_from("<QQQQ", header, 24)
    entries_lba, count, entry_size, entries_crc = struct.unpack_from("<QIII", header, 72)
    del entries_lba
    table = entries[: count * entry_size]
    if len(table) < count * entry_size or zlib.crc32(table) != entries_crc:
        raise GptInvalid("GPT partition entries checksum mismatch")
    partitions = []
    for index in range(count):
        raw = table[index * entry_size : (index + 1) * entry_size]
        if raw[:16] == b"\0" * 16:
            continue
        first, last, attributes = struct.unpack_from("<QQQ", raw, 32)
        name = raw[56:128].decode("utf-16-le", errors="replace").split("\0", 1)[0]
        partitions.append(
            GptPartition(
                index + 1, _guid(raw[:16]), _guid(raw[16:32]), first, last, attributes, name
            )
        )
    return Gpt(sector_size, current, backup, first_usable, last_usable, tuple(partitions))


def read_gpt(path: str) -> Gpt | None:
    """The primary GPT of a disk or image file; None when there is none."""
    with open(path, "rb") as handle:
        for sector_size in (512, 4096):
            handle.seek(sector_size)
            header = handle.read(sector_size)
            if header[:8] != b"EFI PART":
                continue
            entries_lba, count, entry_size = struct.unpack_from("<QII", header, 72)
            handle.seek(entries_lba * sector_size)
            entries = handle.read(count * entry_size)
            try:
                return parse_gpt(header, entries, sector_size)
            except GptInvalid as exc:
                raise ImageError(f"{path}: the image's partition table is damaged: {exc}") from None
    return None


def _run(runner: Runner, argv: Sequence[str], what: str) -> CommandResult:
    result = runner(argv)
    if result.error and result.error.endswith("not installed"):
        raise UnavailableError(f"{what}: {result.error}")
    if not result.ok:
        detail = (result.stderr_text or result.text).strip().splitlines()
        raise ImageError(
            f"{what} failed: {result.error or (detail[-1] if detail else result.returncode)}"
        )
    return result


def repair_gpt(path: str, device_size: int, *, runner: Runner = default_runner) -> bool:
    """Move the backup GPT to the real end of the disk; True when it was needed."""
    gpt = read_gpt(path)
    if gpt is None:
        return False
    last_lba = device_size // gpt.sector_size - 1
    if gpt.backup_lba == last_lba:
        return False
    _run(runner, ["sgdisk", "-e", path], f"repairing the GPT of {path} (sgdisk -e)")
    return True


def last_partition(gpt: Gpt) -> GptPartition:
    if not gpt.partitions:
        raise ImageError("the image's partition table has no partitions to grow")
    return max(gpt.partitions, key=lambda p: p.last_lba)


def grow_last_partition(path: str, *, runner: Runner = default_runner) -> GptPartition:
    """Recreate the last partition, same start/type/GUID/name/attributes, to the disk's end."""
    gpt = read_gpt(path)
    if gpt is None:
        raise ImageError(f"{path}: --grow needs a GPT partition table; the image has none")
    part = last_partition(gpt)
    n = part.number
    argv = [
        "sgdisk",
        "-a", "1",  # keep the exact start sector, whatever alignment sgdisk prefers
        "-d", str(n),
        "-n", f"{n}:{part.first_lba}:0",
        "-t", f"{n}:{part.type_guid}",
        "-u", f"{n}:{part.unique_guid}",
        "-c", f"{n}:{part.name}",
    ]  # fmt: skip
    for bit in range(64):
        if part.attributes >> bit & 1:
            argv += ["-A", f"{n}:set:{bit}"]
    _run(runner, [*argv, path], f"growing partition {n} of {path} (sgdisk)")
    grown = read_gpt(path)
    assert grown is not None
    new = next(p for p in grown.partitions if p.number == n)
    if (new.first_lba, new.type_guid, new.unique_guid, new.name, new.attributes) != (
        part.first_lba, part.type_guid, part.unique_guid, part.name, part.attributes,
    ):  # fmt: skip
        raise ImageError(f"growing partition {n} of {path} changed more than its end")
    return new


def filesystem_at(path: str, offset: int) -> str | None:
    """ "ext" or "vfat" from the partition's first sectors; None for anything else."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        head = handle.read(2048)
    if (
        len(head) >= EXT_MAGIC_OFFSET + 2
        and head[EXT_MAGIC_OFFSET : EXT_MAGIC_OFFSET + 2] == b"\x53\xef"
    ):
        return "ext"
    if head[510:512] == b"\x55\xaa" and (
        head[54:59] == b"FAT12" or head[54:59] == b"FAT16" or head[82:87] == b"FAT32"
    ):
        return "vfat"
    return None


def grow_filesystem(
    path: str, part: GptPartition, sector_size: int, *, runner: Runner = default_runner
) -> None:
    """resize2fs the (ext4) file system of ``part`` to fill it."""
    offset = part.first_lba * sector_size
    if filesystem_at(path, offset) != "ext":
        raise ImageError(
            f"partition {part.number} does not hold an ext4 file system: cannot grow it"
        )
    spec = f"{path}?offset={offset}"  # e2fsprogs' unix I/O manager: a file system at an offset
    size_512 = (part.last_lba - part.first_lba + 1) * sector_size // 512
    # resize2fs insists on a freshly checked file system; -p repairs only what is safe.
    check = runner(["e2fsck", "-f", "-p", spec])
    if check.returncode not in (0, 1):
        raise ImageError(
            f"e2fsck of partition {part.number} failed (exit {check.returncode}): "
            f"{check.stderr_text.strip() or check.text.strip()}"
        )
    _run(runner, ["resize2fs", spec, f"{size_512}s"], f"resize2fs of partition {part.number}")


def choose_asset_partition(path: str, gpt: Gpt) -> tuple[GptPartition, str]:
    """The ESP when there is one, else the first ext/FAT partition (see module doc)."""
    for part in gpt.partitions:
        if part.type_guid == ESP_TYPE:
            fs = filesystem_at(path, part.first_lba * gpt.sector_size)
            if fs is not None:
                return part, fs
    for part in sorted(gpt.partitions, key=lambda p: p.number):
        fs = filesystem_at(path, part.first_lba * gpt.sector_size)
        if fs is not None:
            return part, fs
    raise ImageError("the image has no EFI system, ext4 or FAT partition to hold the asset ID")


def validate_asset_id(asset_id: str) -> str:
    if not ASSET_ID_PATTERN.match(asset_id):
        raise UsageError(
            f"asset ID {asset_id!r}: use 1-64 letters, digits, '.', '_' or '-', starting "
            "with a letter or digit"
        )
    return asset_id


def write_asset_id(
    path: str, asset_id: str, details: dict[str, object], *, runner: Runner = default_runner
) -> str:
    """Write weee/asset-id and weee/asset.json; return where ("partition 1 (vfat)")."""
    validate_asset_id(asset_id)
    gpt = read_gpt(path)
    if gpt is None:
        raise ImageError(f"{path}: --asset-id needs a GPT partition table; the image has none")
    part, fs = choose_asset_partition(path, gpt)
    offset = part.first_lba * gpt.sector_size
    doc = {"asset_id": asset_id, **details}
    with tempfile.TemporaryDirectory(prefix="weee-asset-") as tmp:
        id_file = os.path.join(tmp, "asset-id")
        json_file = os.path.join(tmp, "asset.json")
        with open(id_file, "w", encoding="utf-8") as handle:
            handle.write(asset_id + "\n")
        with open(json_file, "w", encoding="utf-8") as handle:
            json.dump(doc, handle, indent=2, sort_keys=True)
            handle.write("\n")
        if fs == "ext":
            _write_ext(runner, f"{path}?offset={offset}", tmp, id_file, json_file)
            written = _run(
                runner,
                ["debugfs", "-R", "cat weee/asset-id", f"{path}?offset={offset}"],
                "reading the asset ID back (debugfs)",
            ).text
        else:
            image = f"{path}@@{offset}"
            # mmd fails when weee/ exists already: that is fine, mcopy then says if not.
            runner(["mmd", "-i", image, "::/weee"])
            _run(
                runner,
                ["mcopy", "-o", "-i", image, id_file, "::/weee/asset-id"],
                "writing the asset ID (mcopy)",
            )
            _run(
                runner,
                ["mcopy", "-o", "-i", image, json_file, "::/weee/asset.json"],
                "writing the asset details (mcopy)",
            )
            written = _run(
                runner,
                ["mtype", "-i", image, "::/weee/asset-id"],
                "reading the asset ID back (mtype)",
            ).text
    if written.strip() != asset_id:
        raise ImageError(
            f"the asset ID read back from partition {part.number} is {written.strip()!r}"
        )
    return f"partition {part.number} ({'ext4' if fs == 'ext' else 'vfat'})"


def _write_ext(runner: Runner, spec: str, tmp: str, id_file: str, json_file: str) -> None:
    script = os.path.join(tmp, "debugfs.cmd")
    lines = ["mkdir weee"]
    for local, remote in ((id_file, "weee/asset-id"), (json_file, "weee/asset.json")):
        # debugfs's write never replaces a file: remove the old one first (an error if
        # absent, which debugfs reports but does not act on).
        lines += [f"rm {remote}", f"write {local} {remote}"]
        lines += [f"set_inode_field {remote} uid 0", f"set_inode_field {remote} gid 0"]
    with open(script, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    _run(runner, ["debugfs", "-w", "-f", script, spec], "writing the asset ID (debugfs)")


def reread_partitions(path: str, *, runner: Runner = default_runner) -> None:
    """Tell the kernel about the new table (best effort: loop devices may not care)."""
    result = runner(["blockdev", "--rereadpt", path])
    if not result.ok:
        log.info("%s: blockdev --rereadpt: %s", path, result.error or result.stderr_text.strip())
