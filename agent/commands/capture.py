"""``weee capture``: record every raw output the probe reads, for replay anywhere."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from agent.errors import UsageError

if TYPE_CHECKING:
    from checks.probe.model import HardwareReport


def make_capture(directory: Path) -> HardwareReport:
    """Probe the live system recording to ``directory``; returns the live report."""
    from checks.probe import build_report
    from checks.probe.report import GAPS_KEY
    from checks.source import LiveSource

    source = LiveSource(record_to=directory)
    report = build_report(source)
    gaps = [{"what": g.what, "why": g.why} for g in report.gaps]
    (directory / GAPS_KEY).write_text(json.dumps(gaps, indent=2) + "\n")
    return report


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--tar",
    "tar_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also pack the capture as a .tar.gz (for a support request).",
)
def capture(directory: Path, tar_path: Path | None) -> None:
    """Record this machine's raw hardware data into DIRECTORY (replay: probe --from)."""
    if directory.exists() and any(directory.iterdir()):
        raise UsageError(f"{directory} is not empty: choose a new folder")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {directory}: {exc.strerror or exc}") from exc
    gaps = len(make_capture(directory).gaps)
    files = sum(len(f) for _, _, f in os.walk(directory))
    click.echo(f"capture written to {directory} ({files} files, {gaps} gaps)")
    if os.geteuid() != 0:
        click.echo("note: not root: serials, memory modules and SMART need root", err=True)
    if tar_path is not None:
        try:
            with tarfile.open(tar_path, "w:gz") as tar:
                tar.add(directory, arcname=directory.resolve().name or "capture")
        except OSError as exc:
            raise UsageError(f"cannot write {tar_path}: {exc.strerror or exc}") from exc
        click.echo(f"archive written to {tar_path}")
