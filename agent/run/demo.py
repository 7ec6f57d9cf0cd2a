"""``weee demo``: a whole bench run on this machine, erasing only a disposable disk.

The demo makes everything it destroys and removes it afterwards: a sparse file full of
"donor data" attached as a loop device (the only drive the run may erase, named
explicitly), a small OS image (GPT + ext4) to write on it, and the embedded programme
database (``weee serve`` on SQLite, 127.0.0.1 only) with this bench registered. The
bench run itself is the real one, on the project's defaults (built-in profile and
policy): this machine is probed and checked for real, so a machine that is not a laptop
(no battery...) is graded "parts" and routed to recycling, as the policy says.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from agent.errors import UnavailableError
from agent.run.localserver import LocalServer, local_server
from agent.run.profile import PathsSection, Profile, ServerSection, load_profile
from agent.run.runner import RunOutcome, run_bench
from agent.run.view import RunView
from checks.i18n import Lang
from checks.system import run_command

MARKER = b"WEEE-DEMO-DONOR-DATA: jean.dupont@example.org, IBAN FR76 3000 6000 0112 3456"
DISK_BYTES = 256 << 20
IMAGE_BYTES = 32 << 20
STAMP = ".weee-demo"  # marks a folder the demo made, so a re-run may clear it


@dataclass
class DemoResult:
    outcome: RunOutcome
    workdir: Path
    loop_device: str
    markers_before: int
    markers_after: int
    server_url: str
    token: str
    stored_status: int | None  # GET of the record on the programme database


def count_marker(path: Path, marker: bytes = MARKER) -> int:
    count, tail = 0, b""
    with path.open("rb") as f:
        while chunk := f.read(8 << 20):
            data = tail + chunk
            count += data.count(marker)
            tail = data[-(len(marker) - 1) :]
    return count


def make_donor_disk(path: Path, size: int = DISK_BYTES) -> int:
    """A sparse disk with the donor's "data" at the start of every MiB and at the end."""
    with path.open("wb") as f:
        f.truncate(size)
        for offset in range(0, size, 1 << 20):
            f.seek(offset)
            f.write(MARKER)
        f.seek(size - 512)
        f.write(MARKER)
    return count_marker(path)


def make_demo_image(path: Path, workdir: Path) -> None:
    """A small OS image like the real ones: GPT, one ext4 partition with a few files."""
    root = workdir / "image-root"
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc" / "os-release").write_text('NAME="weee demo OS"\nID=weee-demo\n')
    (root / "README").write_text("The OS image the weee demo writes on its disposable disk.\n")
    with path.open("wb") as f:
        f.truncate(IMAGE_BYTES)
    steps = [
        ["sgdisk", "--clear", "--new=1:2048:0", "--typecode=1:8300", "--change-name=1:weee", path],
        # the partition starts at 1 MiB and ends 34 sectors before the end (backup GPT)
        [
            "mke2fs", "-q", "-t", "ext4", "-L", "weee-demo", "-E", "offset=1048576",
            "-d", root, path, f"{(IMAGE_BYTES - (1 << 20) - 34 * 512) // 1024}k",
        ],
    ]  # fmt: skip
    for argv in steps:
        result = run_command([str(a) for a in argv], timeout=60)
        if not result.ok:
            raise UnavailableError(
                f"{argv[0]} failed ({result.error or result.returncode}): "
                f"{result.stderr_text.strip()[-300:]} (scripts/setup installs gdisk, e2fsprogs)"
            )
    shutil.rmtree(root)


@contextlib.contextmanager
def loop_device(backing: Path) -> Iterator[str]:
    """Attach ``backing`` as a loop device; always detached when the block ends."""
    result = run_command(["losetup", "--find", "--show", str(backing)], timeout=30)
    if not result.ok:
        raise UnavailableError(
            f"losetup failed: {result.error or result.stderr_text.strip()} (needs root)"
        )
    device = result.text.strip()
    try:
        yield device
    finally:
        run_command(["losetup", "-d", device], timeout=30)


def prepare_workdir(workdir: Path) -> None:
    if workdir.exists():
        if not (workdir / STAMP).exists():
            raise UnavailableError(
                f"{workdir} exists and was not made by weee demo: choose another --dir"
            )
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / STAMP).write_text("made by weee demo; removed by the next demo\n")


def run_demo(
    workdir: Path,
    *,
    view: RunView,
    lang: Lang,
    unattended: bool = True,
    refurbish: bool = False,
) -> DemoResult:
    from inventory.benchkeys import init_bench

    if os.geteuid() != 0:
        raise UnavailableError("weee demo needs root: it attaches a loop device (sudo)")
    prepare_workdir(workdir)
    data_dir = workdir / "data"
    bench = init_bench(
        data_dir, name="demo-bench", organisation="weee demo", technician="demo", location="here"
    )
    image = workdir / "demo-os.img"
    make_demo_image(image, workdir)
    with tempfile.TemporaryDirectory(prefix="weee-demo-disk-", dir=workdir) as disk_dir:
        disk = Path(disk_dir) / "donor-disk.img"
        before = make_donor_disk(disk)
        view.message(f"disposable disk: {disk} ({DISK_BYTES >> 20} MiB, {before} donor markers)")
        with loop_device(disk) as device, local_server(workdir / "server") as server:
            token = server.register_bench("demo-bench", bench.public_key_path)
            profile = _demo_profile(device, image, server, token, data_dir, refurbish)
            outcome = run_bench(
                profile,
                view=view,
                lang=lang,
                unattended=unattended,
            )
            stored = None
            record_id = outcome.verdict.record_id
            if record_id and outcome.verdict.asset_id:
                stored = server.get_record(record_id, token).status_code
        after = count_marker(disk)
    return DemoResult(
        outcome=outcome,
        workdir=workdir,
        loop_device=device,
        markers_before=before,
        markers_after=after,
        server_url=server.url,
        token=token,
        stored_status=stored,
    )


def _demo_profile(
    device: str, image: Path, server: LocalServer, token: str, data_dir: Path, refurbish: bool
) -> Profile:
    profile = load_profile(None)  # the project's defaults
    return replace(
        profile,
        # the only drive this run may touch: the demo's own loop device, named explicitly;
        # a disposable disk the demo made itself: erased without asking
        erase=replace(profile.erase, drives=(device,), confirm="none"),
        image=replace(profile.image, source=str(image), target=device),
        server=ServerSection(url=server.url, token=token),
        paths=PathsSection(data_dir=str(data_dir)),
        # the disposable disk stands for the laptop's storage in the record (marked so)
        run=replace(
            profile.run, demonstration=True, parts="refurbish" if refurbish else profile.run.parts
        ),
        source="<weee demo: built-in defaults + the disposable disk and local server>",
    )
