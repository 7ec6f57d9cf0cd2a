"""The bench stick: ``scripts/build-live-image`` builds it, and a laptop boots it.

The emulated ThinkPad boots the image from a USB stick through its firmware (OVMF for
UEFI, SeaBIOS for legacy BIOS), systemd starts ``weee run`` on tty1 with the profile
of the stick's data partition (the documented default), and the run erases the
laptop's NVMe drive and leaves its record and journal on the data partition.
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
    if prebuilt:  # a developer's image from this very tree, to skip the 5-minute build
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


def _read_data_partition(stick: Path, where: Path) -> Path:
    """Copy the WEEEDATA file system out of the stick image and unpack it (debugfs)."""
    offset, size = _partition(stick, 4)
    part = where / "data.ext4"
    with stick.open("rb") as src, part.open("wb") as dst:
        src.seek(offset)
        remaining = size
        while remaining:
            chunk = src.read(min(remaining, 8 << 20))
            dst.write(chunk)
            remaining -= len(chunk)
    out = where / "data"
    out.mkdir()
    result = run_command(["debugfs", "-R", f"rdump / {out}", str(part)], timeout=120)
    assert result.ok, result.stderr_text
    return out


@pytest.mark.parametrize("firmware", ["uefi", "bios"])
def test_the_stick_boots_into_the_bench_run_and_erases_the_laptop(
    live_image: Path, firmware: str, tmp_path: Path
) -> None:
    if firmware == "uefi" and not OVMF_CODE.exists():
        pytest.skip("OVMF not installed (scripts/setup --dev installs ovmf)")
    stick = tmp_path / "stick.img"
    shutil.copyfile(live_image, stick)
    # nobody at this bench: no guided checks (the rest of the profile: the defaults)
    _write_data_file(stick, "profile.toml", "[run]\nunattended = true\n", tmp_path)
    nvme = make_disk(tmp_path / "nvme.img", 64 << 20, marker=MARKER)
    result = boot_disk(
        stick,
        firmware="uefi" if firmware == "uefi" else "bios",
        work=tmp_path / "vm",
        drives=[Drive("nvme", nvme, "LIVENVME0001")],
        stop_on="weee-bench: weee run ended",
        timeout=900,
    )
    assert result.power_cut, result.summary()  # stopped once the run had ended
    assert "weee-bench: weee run starting" in result.console_log
    # the default policy grades QEMU's laptop (no battery, 1.5 GiB) "parts": recycling
    assert "weee run ended with status 0" in result.console_log, result.summary()
    assert count_marker(nvme, MARKER) == 0

    data = _read_data_partition(stick, tmp_path)
    records = list((data / "spool" / "records").glob("*.json"))
    assert len(records) == 1
    record = json.loads(records[0].read_text())["record"]
    assert record["hardware"]["device"]["model"] == "ThinkPad X1 Carbon 5th"
    assert [e["media"]["serial"] for e in record["erasures"]] == ["LIVENVME0001"]
    assert record["erasures"][0]["status"] == "certified"
    runs = list((data / "state" / "run" / "runs").glob("*/run.json"))
    assert len(runs) == 1
    assert json.loads(runs[0].read_text())["verdict"]["verdict"] == "recycling"
