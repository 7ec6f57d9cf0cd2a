"""``write_image``: the whole operation, from source to a verified, repaired disk.

Plan (open the source, find and check the bmap, size the image and the target, ask
agent.blockdev whether the target may be destroyed) -> write -> flush -> read back
and verify -> GPT repair, grow, asset ID. Every expected failure ends as an
:class:`ImageResult` with status "failed", the error and its exit code: the bench run
records it, and a half-written disk is never reported as good.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, cast

from agent import __version__, blockdev
from agent.blockdev import human_size
from agent.errors import EXIT_INCOMPLETE, EXIT_OK, RefusedError, UsageError, WeeeError
from agent.image import partitions
from agent.image.bmap import Bmap, BmapInvalid, parse_bmap
from agent.image.decompress import (
    Decompressor,
    SparseRawStream,
    detect_format,
    open_decompressor,
    zstd_content_size,
)
from agent.image.errors import ChecksumMismatch, CorruptImage, ImageTooLarge
from agent.image.pipeline import CHUNK, ProgressFn, bmap_extents, write_and_verify
from agent.image.result import ImageResult, now_iso
from agent.image.source import (
    OpenedSource,
    Prefetcher,
    find_bmap,
    is_url,
    open_source,
    read_bmap_bytes,
)
from agent.image.target import device_size, open_target

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

SHA256_PATTERN = re.compile(r"^[0-9a-fA-F]{64}$")

# path, explicit -> (refusals, one-line description: model, serial, size)
SafetyFn = Callable[[str, bool], tuple[list[str], str]]


def blockdev_safety(path: str, explicit: bool) -> tuple[list[str], str]:
    """The same refusals as ``weee wipe`` (agent.blockdev), for block devices.

    A regular file is a disk image (tests, VM disks): writing it destroys only itself.
    """
    is_block, size = device_size(path)
    if not is_block:
        return [], f"{path}  image file  {human_size(size)}"
    assessment = blockdev.assess(path, explicit=explicit)
    description = assessment.disk.describe() if assessment.disk else f"{path}  {human_size(size)}"
    return list(assessment.refusals), description


@dataclass
class ImagePlan:
    source: OpenedSource
    fmt: str  # raw | zstd | xz | gzip
    bmap: Bmap | None
    bmap_location: str | None
    image_size: int | None  # exact size when known
    size_at_least: int | None  # lower bound (zstd's first frame) when the exact size is not
    device: str
    device_is_block: bool
    device_size: int
    device_description: str
    refusals: list[str] = field(default_factory=list)

    def describe(self) -> list[str]:
        size = (
            human_size(self.image_size)
            if self.image_size is not None
            else f"at least {human_size(self.size_at_least)}"
            if self.size_at_least
            else "size unknown until decompressed"
        )
        lines = [f"source: {self.source.name} ({self.fmt}, {size})"]
        if self.bmap is not None:
            mapped, whole = self.bmap.mapped_bytes, self.bmap.image_size
            lines.append(
                f"bmap:   {self.bmap_location} (format {self.bmap.version}, "
                f"{human_size(mapped)} mapped of {human_size(whole)})"
            )
        else:
            lines.append("bmap:   none (the whole image is written)")
        lines.append(f"target: {self.device_description}")
        return lines


def plan_image(
    source: str,
    device: str,
    *,
    bmap: str | bool | None = None,
    explicit: bool = True,
    safety: SafetyFn = blockdev_safety,
    session: requests.Session | None = None,
    retries: int = 5,
    backoff_s: float = 0.5,
) -> ImagePlan:
    """Open the source and look at everything; write nothing. ``bmap``: a path/URL, None
    to look beside the image, False to write the whole image."""
    is_block, size = device_size(device)
    if not is_url(source) and os.path.exists(source) and os.path.samefile(source, device):
        raise UsageError(f"{device} is the image itself: it cannot be written onto itself")
    refusals, description = safety(device, explicit)
    bmap_doc: Bmap | None = None
    location: str | None = None
    if isinstance(bmap, str):
        raw = read_bmap_bytes(bmap, session=session)
        if raw is None:
            raise UsageError(f"{bmap}: no such bmap file")
        location = bmap
    elif bmap is None:
        found = find_bmap(source, session=session)
        location, raw = found if found is not None else (None, None)
    else:
        raw = None
    if raw is not None:
        try:
            bmap_doc = parse_bmap(raw)
        except BmapInvalid as exc:
            raise UsageError(f"{location}: {exc}") from None
    opened = open_source(source, session=session, retries=retries, backoff_s=backoff_s)
    try:
        head = opened.stream.peek(64)[:64]  # type: ignore[attr-defined]
        fmt = detect_format(head, source)
    except BaseException:
        opened.close()
        raise
    image_size: int | None = None
    at_least: int | None = None
    if bmap_doc is not None:
        image_size = bmap_doc.image_size
        raw_size = opened.compressed_size if fmt == "raw" else None
        if raw_size is not None and raw_size < image_size:
            opened.close()
            raise CorruptImage(
                f"{source} has {raw_size} bytes, its bmap {location} says {image_size}: "
                "the image file is truncated"
            )
        if raw_size is not None and raw_size > image_size:
            opened.close()
            raise UsageError(
                f"{location} is the bmap of another image: it describes {image_size} bytes, "
                f"{source} has {raw_size}"
            )
    elif fmt == "raw":
        image_size = opened.compressed_size
    elif fmt == "zstd":
        at_least = zstd_content_size(head)
    return ImagePlan(
        opened,
        fmt,
        bmap_doc,
        location,
        image_size,
        at_least,
        device,
        is_block,
        size,
        description,
        refusals,
    )


def check_fits(plan: ImagePlan) -> None:
    known = plan.image_size if plan.image_size is not None else plan.size_at_least
    if known is not None and known > plan.device_size:
        raise ImageTooLarge(
            f"the image ({human_size(known)}, {known} bytes) is larger than {plan.device} "
            f"({human_size(plan.device_size)}, {plan.device_size} bytes)"
        )


def write_image(
    source: str,
    device: str,
    *,
    bmap: str | bool | None = None,
    sha256: str | None = None,
    progress: ProgressFn | None = None,
    grow: bool = False,
    grow_fs: bool = False,
    asset_id: str | None = None,
    explicit: bool = True,
    safety: SafetyFn = blockdev_safety,
    session: requests.Session | None = None,
    retries: int = 5,
    backoff_s: float = 0.5,
    chunk_size: int = CHUNK,
    runner: partitions.Runner = partitions.default_runner,
    plan: ImagePlan | None = None,
) -> ImageResult:
    """Write, verify and finish ``source`` onto ``device``; never raises for expected
    failures (see ``result.status``, ``.error``, ``.exit_code``)."""
    result = ImageResult(source=source, device=device, started_at=now_iso())
    started = time.monotonic()
    target = None
    prefetcher: Prefetcher | None = None
    stats: dict[str, int] = {}
    try:
        if sha256 is not None and not SHA256_PATTERN.match(sha256):
            raise UsageError(f"--sha256 {sha256!r}: expected 64 hex digits")
        if asset_id is not None:
            partitions.validate_asset_id(asset_id)
        if plan is None:
            plan = plan_image(
                source,
                device,
                bmap=bmap,
                explicit=explicit,
                safety=safety,
                session=session,
                retries=retries,
                backoff_s=backoff_s,
            )
        result.bmap = plan.bmap is not None
        if plan.image_size is not None:
            result.image_bytes = plan.image_size
        # Asked again even when the plan just did: a technician may have mounted the
        # disk while the confirmation prompt waited.
        refusals = safety(device, explicit)[0]
        if refusals:
            raise RefusedError(f"refusing to write {device}: " + "; ".join(refusals))
        if grow_fs and not plan.device_is_block:
            # resize2fs truncates a regular file to the new file system's size, ignoring
            # the partition's offset: it would cut the end off an image file.
            raise UsageError("--grow-fs works on block devices only, not on image files")
        check_fits(plan)

        target = open_target(device)
        if plan.bmap is not None:
            extents = bmap_extents(plan.bmap)
            algorithm = plan.bmap.checksum_type or "sha256"
        else:
            extents, algorithm = None, "sha256"
        decompressor: Decompressor
        if plan.bmap is not None and plan.fmt == "raw" and plan.source.http is None and not sha256:
            spans = [(e.offset, e.offset + e.length) for e in bmap_extents(plan.bmap)]
            fd = plan.source.stream.fileno()
            decompressor = SparseRawStream(fd, plan.bmap.image_size, spans)
        else:
            prefetcher = Prefetcher(plan.source.stream)
            decompressor = open_decompressor(cast(BinaryIO, prefetcher), plan.fmt)
        # Named before it runs, so a failed read-back says which check failed.
        result.verification = "bmap-ranges" if plan.bmap is not None else "sha256"
        outcome = write_and_verify(
            decompressor, target, extents=extents, algorithm=algorithm,
            image_size=plan.image_size if plan.image_size is not None else plan.size_at_least,
            whole_sha256=plan.bmap is None or sha256 is not None,
            progress=progress, chunk_size=chunk_size, stats=stats,
        )  # fmt: skip
        result.bytes_written = outcome.bytes_written
        result.image_bytes = outcome.image_bytes
        if outcome.image_bytes == 0:
            raise CorruptImage(f"{source}: the image is empty")
        result.sha256 = outcome.sha256
        if sha256 is not None and outcome.sha256 != sha256.lower():
            result.sha256 = None  # not the digest of the image that was meant
            raise ChecksumMismatch(
                f"the image's sha256 is {outcome.sha256}, expected {sha256.lower()}: "
                f"{device} holds a wrong image"
            )
        if plan.source.http is not None and plan.source.http.resumes:
            result.notes.append(f"download resumed {plan.source.http.resumes} time(s)")
        target.close()
        target = None

        if partitions.repair_gpt(device, plan.device_size, runner=runner):
            result.notes.append("backup GPT moved to the end of the disk (sgdisk -e)")
        if grow or grow_fs:
            grown = partitions.grow_last_partition(device, runner=runner)
            result.notes.append(f"partition {grown.number} grown to sector {grown.last_lba}")
            if grow_fs:
                gpt = partitions.read_gpt(device)
                assert gpt is not None
                partitions.grow_filesystem(device, grown, gpt.sector_size, runner=runner)
                result.notes.append(f"ext4 file system of partition {grown.number} grown")
        if asset_id is not None:
            where = partitions.write_asset_id(
                device, asset_id,
                {"written_at": now_iso(), "image": source, "image_sha256": result.sha256,
                 "agent": {"name": "weee", "version": __version__}},
                runner=runner,
            )  # fmt: skip
            result.notes.append(f"asset ID {asset_id} written to {where}: weee/asset-id")
        if plan.device_is_block:
            partitions.reread_partitions(device, runner=runner)
        result.status = "verified"
        result.exit_code = EXIT_OK
    except WeeeError as exc:
        result.error = exc.message
        result.exit_code = exc.exit_code
        result.bytes_written = max(result.bytes_written, stats.get("written", 0))
    except KeyboardInterrupt:
        result.error = "interrupted: the disk holds a partial image"
        result.exit_code = EXIT_INCOMPLETE
        result.bytes_written = max(result.bytes_written, stats.get("written", 0))
    finally:
        if target is not None:
            target.close()
        if prefetcher is not None:
            prefetcher.close()
        if plan is not None:
            plan.source.close()
        result.ended_at = now_iso()
        result.duration_s = time.monotonic() - started
    return result
