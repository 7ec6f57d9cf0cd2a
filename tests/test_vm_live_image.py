"""The bench stick: ``scripts/build-live-image`` builds it, and a laptop boots it.

The emulated ThinkPad boots the image from a USB stick through its firmware (OVMF for
UEFI, SeaBIOS for legacy BIOS), systemd starts ``weee run`` on tty1 with the profile
of the stick's data partition, and the run erases the laptop's NVMe drive and leaves
its record and journal on the data partition (UEFI: the whole run; BIOS: up to the
erasure, see its test).

The image is built by the fixture at every test run from this source tree (weee is
laid on a Debian base that ``scripts/build-live-image`` caches in ``WEEE_VM_CACHE``:
about 20-25 s when that base is cached, 3-4 min when it is not).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from pathlib import Path

import pytest
from vm.harness import (
    OVMF_CODE,
    REPO,
    Drive,
    boot_disk,
    count_marker,
    make_disk,
    vm_unavailable_reason,
)

from checks.system import run_command

pytestmark = [pytest.mark.vm, pytest.mark.slow]

MARKER = b"LIVE-STICK-DONOR-DATA:marie.curie@example.org"


@pytest.fixture(scope="module")
def live_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reason = vm_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    prebuilt = os.environ.get("WEEE_LIVE_IMAGE")
    if prebuilt:  # a developer's image from this very tree, to skip even the layer build
        return Path(prebuilt)
    out = tmp_path_factory.mktemp("live") / "weee-live.img"
    result = run_command([str(REPO / "scripts" / "build-live-image"), str(out)], timeout=1800)
    assert result.ok, result.stderr_text[-3000:]
    return out


def _partition(image: Path, number: int) -> tuple[int, int]:
    """(offset, size) in bytes of GPT partition ``number`` of ``image``."""
    with image.open("rb") as f:
        f.seek(512)
        header = f.read(92)
        entries_lba, count, size = struct.unpack_from("<QII", header, 72)
        f.seek(entries_lba * 512 + (number - 1) * size)
        entry = f.read(size)
    first, last = struct.unpack_from("<QQ", entry, 32)
    return first * 512, (last - first + 1) * 512


def _write_data_file(stick: Path, name: str, content: str, where: Path) -> None:
    """Put a file on the stick's data partition, as a technician would (debugfs)."""
    offset, size = _partition(stick, 4)
    part = where / "data-w.ext4"
    with stick.open("rb") as src:
        src.seek(offset)
        part.write_bytes(src.read(size))
    local = where / name
    local.write_text(content)
    commands = where / "debugfs.cmd"
    commands.write_text(f"rm {name}\nwrite {local} {name}\n")
    result = run_command(["debugfs", "-w", "-f", str(commands), str(part)], timeout=60)
    assert result.ok, result.stderr_text
    with stick.open("r+b") as dst:
        dst.seek(offset)
        dst.write(part.read_bytes())
    part.unlink()


def _read_data_partition(stick: Path, where: Path, *, replay_journal: bool = False) -> Path:
    """Copy the WEEEDATA file system out of the stick image and unpack it (debugfs).

    ``replay_journal``: the VM was killed, so what weee fsynced may be only in the ext4
    journal; e2fsck replays it on the copy (debugfs reads the file system as it lies)."""
    offset, size = _partition(stick, 4)
    part = where / "data.ext4"
    with stick.open("rb") as src, part.open("wb") as dst:
        src.seek(offset)
        remaining = size
        while remaining:
            chunk = src.read(min(remaining, 8 << 20))
            dst.write(chunk)
            remaining -= len(chunk)
    if replay_journal:
        # 0: clean, 1: errors corrected (the replayed journal); more: a damaged file system
        checked = run_command(["e2fsck", "-fy", str(part)], timeout=120)
        assert checked.returncode in (0, 1), checked.text + checked.stderr_text
    out = where / "data"
    out.mkdir()
    result = run_command(["debugfs", "-R", f"rdump / {out}", str(part)], timeout=120)
    assert result.ok, result.stderr_text
    return out


def _stick(live_image: Path, where: Path, *, profile: str = "[run]\nunattended = true\n") -> Path:
    """A copy of the built image, as a technician's stick with ``profile`` on its data
    partition (by default: nobody at this bench, no guided checks; the rest: defaults)."""
    stick = where / "stick.img"
    shutil.copyfile(live_image, stick)
    _write_data_file(stick, "profile.toml", profile, where)
    return stick


def test_uefi_boot_runs_the_whole_bench_run_and_erases_the_laptop(
    live_image: Path, tmp_path: Path
) -> None:
    """UEFI (OVMF): GRUB x86_64-efi, the kernel, the root file system, weee run on tty1
    with the stick's profile, and the whole run to its end: the NVMe drive erased (no
    marker left), the signed record and the run journal on the data partition."""
    if not OVMF_CODE.exists():
        pytest.skip("OVMF not installed (scripts/setup --dev installs ovmf)")
    stick = _stick(live_image, tmp_path)
    nvme = make_disk(tmp_path / "nvme.img", 64 << 20, marker=MARKER)
    result = boot_disk(
        stick,
        firmware="uefi",
        work=tmp_path / "vm",
        drives=[Drive("nvme", nvme, "LIVENVME0001")],
        stop_on="weee-bench: weee run ended",
        timeout=900,
    )
    assert result.power_cut, result.summary()  # stopped once the run had ended
    assert "weee-bench: weee run starting" in result.console_log
    # the default policy grades QEMU's laptop (no battery, 1.5 GiB) "parts": recycling
    assert "weee run ended with status 0" in result.console_log, result.summary()
    assert "weee-bench: step erase finished" in result.console_log  # told on the console
    assert count_marker(nvme, MARKER) == 0

    data = _read_data_partition(stick, tmp_path, replay_journal=True)
    records = list((data / "spool" / "records").glob("*.json"))
    assert len(records) == 1
    record = json.loads(records[0].read_text())["record"]
    assert record["hardware"]["device"]["model"] == "ThinkPad X1 Carbon 5th"
    assert [e["media"]["serial"] for e in record["erasures"]] == ["LIVENVME0001"]
    assert record["erasures"][0]["status"] == "certified"
    runs = list((data / "state" / "run" / "runs").glob("*/run.json"))
    assert len(runs) == 1
    assert json.loads(runs[0].read_text())["verdict"]["verdict"] == "recycling"


# A wipe-only bench without network (no image, no sync): a plan that only the stick's
# profile can give the run (the default has every step)
BIOS_PROFILE = """[run]
unattended = true
steps = ["probe", "checks", "guided", "erase", "record", "spool", "label"]
"""


def test_bios_boot_reaches_the_bench_run_with_the_sticks_profile(
    live_image: Path, tmp_path: Path
) -> None:
    """Legacy BIOS (SeaBIOS): the boot path is what this variant proves, not the run.

    SeaBIOS can boot the stick only through GRUB i386-pc (sector 0's boot code, the core
    in the BIOS boot partition), which loads the kernel and the initrd; the initrd finds
    the root file system by its label; systemd mounts the data partition and starts
    weee run on tty1, which opens its run journal on the data partition with the plan of
    the stick's profile. The VM is stopped there (~1 s after the journal appears).

    The rest of the run does not depend on the firmware that booted the kernel: the UEFI
    variant runs it to the end on the same root file system and checks the erased drive,
    and the other VM tests (tests/test_vm_*.py: tests/vm/harness.py boots QEMU's default
    firmware, SeaBIOS) probe, check and erase under SeaBIOS's SMBIOS tables and "bios"
    boot mode. Running the whole run
    again here proved nothing more and cost CI ~75 s (this test: 125 s with the whole
    run, 49 s stopped here, measured on the 2-core machine)."""
    stick = _stick(live_image, tmp_path, profile=BIOS_PROFILE)
    nvme = make_disk(tmp_path / "nvme.img", 64 << 20, marker=MARKER)
    result = boot_disk(
        stick,
        firmware="bios",
        work=tmp_path / "vm",
        drives=[Drive("nvme", nvme, "LIVENVME0001")],
        stop_on="weee-bench: run journal opened",
        timeout=900,
    )
    assert result.power_cut, result.summary()  # stopped once the run had started
    assert "weee-bench: weee run starting" in result.console_log

    # killed: the data partition's ext4 journal is replayed first, as a reboot would
    data = _read_data_partition(stick, tmp_path, replay_journal=True)
    current = data / "state" / "run" / "current" / "run.json"
    assert current.exists(), sorted(str(p) for p in (data / "state").rglob("*"))
    run = json.loads(current.read_text())
    assert run["mode"] == "refurbishment"
    assert list(run["steps"]) == [
        "probe", "checks", "guided", "erase", "record", "spool", "label"
    ]  # fmt: skip
    assert run["boots"] == 1 and run["ended_at"] is None
