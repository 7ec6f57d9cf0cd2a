"""``weee probe``: the hardware report of this machine or of a capture."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from agent.errors import UsageError

if TYPE_CHECKING:
    import tarfile

    from checks.probe.model import HardwareReport
    from checks.source import Source


@contextmanager
def open_source(capture: str | None) -> Iterator[Source]:
    """A CaptureSource for a folder or a ``.tar.gz`` made by ``weee capture --tar``,
    or the live system when ``capture`` is None."""
    from checks.source import CaptureSource, LiveSource

    if capture is None:
        yield LiveSource()
        return
    path = Path(capture)
    if path.is_dir():
        yield CaptureSource(path)
        return
    if not path.exists():
        raise UsageError(f"capture not found: {path}")
    # tarfile and tempfile (which imports random) cost a live probe time it never needs
    import tarfile
    import tempfile

    if not tarfile.is_tarfile(path):
        raise UsageError(f"not a capture folder or tar archive: {path}")
    with tempfile.TemporaryDirectory(prefix="weee-capture-") as tmp:
        try:
            with tarfile.open(path) as tar:
                _safe_extract(tar, Path(tmp))
        except (tarfile.TarError, OSError) as exc:
            raise UsageError(f"cannot unpack {path}: {exc}") from exc
        entries = os.listdir(tmp)
        root = Path(tmp)
        if len(entries) == 1 and (root / entries[0]).is_dir():
            root = root / entries[0]  # archives hold the capture folder itself
        yield CaptureSource(root)


def _safe_extract(tar: tarfile.TarFile, dest: Path, *, builtin_filter: bool | None = None) -> None:
    """Extract regular files and folders only, never outside ``dest``."""
    import tarfile

    if builtin_filter is None:
        builtin_filter = hasattr(tarfile, "data_filter")
    if builtin_filter:
        # "data" filter: no absolute paths, no links out, no device files
        tar.extractall(dest, filter="data")
        return
    # Python < 3.11.4 (Debian 12 ships 3.11.2) has no extraction filters: check by hand.
    for member in tar.getmembers():
        parts = Path(member.name).parts
        if member.name.startswith("/") or ".." in parts:
            raise UsageError(f"unsafe path in archive: {member.name}")
        if member.isdir():
            (dest / member.name).mkdir(parents=True, exist_ok=True)
        elif member.isfile():
            source = tar.extractfile(member)
            if source is None:
                continue
            target = dest / member.name
            target.parent.mkdir(parents=True, exist_ok=True)
            with source, open(target, "wb") as out:
                out.write(source.read())
        # links, devices and fifos are skipped: a capture holds none


def report_json(report: HardwareReport) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.option(
    "--from",
    "capture",
    metavar="CAPTURE",
    help="Read a capture folder (or .tar.gz) made by `weee capture` instead of this machine.",
)
def probe(as_json: bool, capture: str | None) -> None:
    """Identify this laptop: model, serial, CPU, memory, disks, battery, screen, ..."""
    from checks.probe import build_report

    with open_source(capture) as source:
        report = build_report(source)
    if as_json:
        click.echo(report_json(report))
    else:
        from agent.commands.probe_view import show_report

        show_report(report)
