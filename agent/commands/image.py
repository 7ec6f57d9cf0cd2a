"""``weee image SOURCE DEVICE``: write an OS image, streamed, checked and verified."""

from __future__ import annotations

import json
import sys
import time

import click

from agent.errors import RefusedError, UsageError, WeeeError
from agent.image.errors import ImageError
from agent.image.partitions import validate_asset_id
from agent.image.progress import ProgressPrinter
from agent.image.result import ImageResult, now_iso
from agent.image.writer import SHA256_PATTERN, check_fits, plan_image, write_image


def _confirm(device: str, description: str) -> None:
    """A typed confirmation: the device path itself, not a reflexive 'y'."""
    if not sys.stdin.isatty():
        raise UsageError("not a terminal: pass --yes to confirm overwriting " + device)
    click.echo(f"ALL DATA ON {description} WILL BE DESTROYED.", err=True)
    typed = click.prompt(f"Type {device} to continue", err=True, default="", show_default=False)
    if typed.strip() != device:
        raise UsageError("not confirmed: nothing was written")


@click.command()
@click.argument("source")
@click.argument("device")
@click.option(
    "--bmap",
    "bmap_location",
    metavar="FILE|URL",
    help="Block map (bmaptool XML). Default: NAME.bmap beside the image, if any.",
)
@click.option("--no-bmap", is_flag=True, help="Write the whole image even if a bmap exists.")
@click.option("--sha256", metavar="HEX", help="Expected sha256 of the whole (decompressed) image.")
@click.option("--grow", is_flag=True, help="Grow the last GPT partition to the end of the disk.")
@click.option(
    "--grow-fs",
    is_flag=True,
    help="Also grow its ext4 file system (implies --grow; block devices only).",
)
@click.option("--asset-id", metavar="ID",
              help="Write weee/asset-id (and weee/asset.json) on the ESP or first ext4/FAT "
                   "partition, for the image's first boot.")  # fmt: skip
@click.option(
    "--retries",
    default=5,
    show_default=True,
    help="Download resumes allowed in a row after a dropped connection.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Check source, bmap and target; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the image result as JSON.")
def image(source: str, device: str, bmap_location: str | None, no_bmap: bool,
          sha256: str | None, grow: bool, grow_fs: bool, asset_id: str | None, retries: int,
          yes: bool, dry_run: bool, as_json: bool) -> None:  # fmt: skip
    """Write the OS image SOURCE (file or http(s) URL; raw, .zst, .xz or .gz) onto DEVICE.

    Only the blocks a bmap maps are written, each range is checked against its
    checksum, and everything written is read back from the disk and verified.
    """
    started, clock = now_iso(), time.monotonic()
    try:
        _image(source, device, bmap_location, no_bmap, sha256, grow, grow_fs, asset_id,
               retries, yes, dry_run, as_json)  # fmt: skip
    except WeeeError as exc:
        if as_json and not dry_run and not isinstance(exc, _AlreadyReported):
            # The record wants a result for every attempt, also one refused up front.
            failed = ImageResult(source=source, device=device, started_at=started,
                                 ended_at=now_iso(), duration_s=time.monotonic() - clock,
                                 error=exc.message)  # fmt: skip
            click.echo(json.dumps(failed.to_dict(), indent=2))
        raise


class _AlreadyReported(WeeeError):
    """The write ran and printed its own result."""


def _image(source: str, device: str, bmap_location: str | None, no_bmap: bool,
           sha256: str | None, grow: bool, grow_fs: bool, asset_id: str | None, retries: int,
           yes: bool, dry_run: bool, as_json: bool) -> None:  # fmt: skip
    if bmap_location and no_bmap:
        raise UsageError("--bmap and --no-bmap contradict each other")
    # Bad arguments are said before the confirmation prompt, not after it.
    if sha256 is not None and not SHA256_PATTERN.match(sha256):
        raise UsageError(f"--sha256 {sha256!r}: expected 64 hex digits")
    if asset_id is not None:
        validate_asset_id(asset_id)
    bmap: str | bool | None = False if no_bmap else bmap_location
    plan = plan_image(source, device, bmap=bmap, retries=retries)
    try:
        for line in plan.describe():
            click.echo(line, err=True)
        if dry_run:
            problems = list(plan.refusals)
            try:
                check_fits(plan)
            except ImageError as exc:
                problems.append(exc.message)
            if as_json:
                click.echo(json.dumps({
                    "dry_run": True, "source": source, "format": plan.fmt,
                    "bmap": plan.bmap_location, "image_bytes": plan.image_size,
                    "device": device, "device_bytes": plan.device_size,
                    "device_description": plan.device_description,
                    "refusals": plan.refusals, "problems": problems,
                }, indent=2))  # fmt: skip
            for problem in problems:
                click.echo(f"would refuse: {problem}", err=True)
            if plan.refusals:
                raise RefusedError(f"refusing to write {device}: " + "; ".join(plan.refusals))
            if problems:
                raise ImageError(problems[0])
            click.echo("dry run: nothing was written", err=True)
            return
        if plan.refusals:
            raise RefusedError(f"refusing to write {device}: " + "; ".join(plan.refusals))
        if grow_fs and not plan.device_is_block:
            raise UsageError("--grow-fs works on block devices only, not on image files")
        check_fits(plan)
        if not yes:
            _confirm(device, plan.device_description)
    except BaseException:
        plan.source.close()
        raise
    printer = ProgressPrinter()
    result = write_image(source, device, sha256=sha256, progress=printer, grow=grow,
                         grow_fs=grow_fs, asset_id=asset_id, plan=plan)  # fmt: skip
    printer.end()
    for note in result.notes:
        click.echo(note, err=True)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    if not result.ok:
        raise _AlreadyReported(f"FAILED: {result.error}", exit_code=result.exit_code)
    click.echo(
        f"verified: {device} holds {source} ({result.verification}, "
        f"{result.bytes_written} bytes written in {result.duration_s:.1f} s)",
        err=True,
    )
