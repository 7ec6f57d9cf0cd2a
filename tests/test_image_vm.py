"""``weee image`` on a laptop in a QEMU VM: real block devices, for real refusals and
real I/O errors.

One boot for the module. The guest runs weee from Debian's python3-* packages (older
requests/urllib3/zstandard than the host's venv) against emulated drives: an NVMe drive
bigger than the image (GPT repair, --grow-fs with resize2fs on a real block device,
asset ID via debugfs), a SATA SSD wrapped in blkdebug so a write fails with EIO, and
its own root disk, the USB stick it booted from (the running system: refused, tried for
real only here).
The image is the ext4-only test image (the guest has no mtools for a FAT ESP).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_image_support import build_images, must
from vm.harness import (
    ROOT_SERIAL,
    BlkdebugRule,
    Drive,
    VMResult,
    boot_vm,
    guest_or_skip,
    make_disk,
    write_blkdebug_config,
)

from agent.image.partitions import read_gpt

pytestmark = [pytest.mark.vm, pytest.mark.slow]

BAD_SECTOR = 4096  # inside the root partition, which starts at sector 2048

SCRIPT = """
SATA=$(disk_by_serial TESTSATA01); ROOT=$(root_disk)
lsblk -dno SERIAL,TRAN "$ROOT" > /out/root-disk.txt
run() {
  name=$1; shift
  weee image "$@" --json > /out/$name.json 2> /out/$name.err
  echo $? > /out/$name.rc
}
run root /out/img/os.img.zst "$ROOT" --yes
run nvme /out/img/os.img.zst /dev/nvme0n1 --yes --grow-fs --asset-id VM-0001
run sata /out/img/os.img.zst "$SATA" --yes --no-bmap
echo image-vm-done
"""


@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory) -> tuple[VMResult, dict[str, Path]]:
    guest = guest_or_skip()
    share = tmp_path_factory.mktemp("share")
    build_images(share / "img", "plain", kinds=("zst",))
    disks = tmp_path_factory.mktemp("disks")
    images = {
        "nvme": make_disk(disks / "nvme.img", 96 << 20),
        "sata": make_disk(disks / "sata.img", 64 << 20),
    }
    blkdebug = write_blkdebug_config(
        disks / "blkdebug.conf", [BlkdebugRule(sector=BAD_SECTOR, event="write_aio")]
    )
    result = boot_vm(
        SCRIPT,
        guest=guest,
        drives=[
            Drive("nvme", images["nvme"], "TESTNVME01"),
            Drive(
                "sata",
                images["sata"],
                "TESTSATA01",
                model="Samsung SSD 860 EVO 500GB",
                blkdebug=blkdebug,
            ),
        ],  # fmt: skip
        share=share,
        timeout=600,
    )
    assert result.exit_status == 0 and "image-vm-done" in result.console_log, result.summary()
    return result, images


def output(vm: tuple[VMResult, dict[str, Path]], name: str) -> tuple[int, Any, str]:
    share = vm[0].share_dir
    rc = int((share / f"{name}.rc").read_text())
    text = (share / f"{name}.json").read_text()
    return rc, json.loads(text) if text.strip() else None, (share / f"{name}.err").read_text()


def test_the_guests_own_root_disk_is_refused(vm: tuple[VMResult, dict[str, Path]]) -> None:
    # the disk mounted at / is the USB stick the guest booted from
    assert (vm[0].share_dir / "root-disk.txt").read_text().split() == [ROOT_SERIAL, "usb"]
    rc, result, err = output(vm, "root")
    assert rc == 3, err
    assert result["status"] == "failed"
    assert "running system" in result["error"]


def test_nvme_gets_the_image_grown_with_its_asset_id(vm: tuple[VMResult, dict[str, Path]]) -> None:
    rc, result, err = output(vm, "nvme")
    assert rc == 0, err
    assert result["status"] == "verified" and result["verification"] == "bmap-ranges"
    disk = str(vm[1]["nvme"])
    assert "No problems found" in must(["sgdisk", "-v", disk])
    gpt = read_gpt(disk)
    assert gpt is not None and gpt.backup_lba == (96 << 20) // 512 - 1
    root = gpt.partitions[-1]
    assert root.last_lba == gpt.last_usable
    spec = f"{disk}?offset={root.first_lba * 512}"
    assert must(["debugfs", "-R", "cat weee/asset-id", spec]) == "VM-0001\n"
    assert must(["debugfs", "-R", "cat etc/hostname", spec]) == "trainee-laptop\n"
    must(["e2fsck", "-fn", spec])  # clean after resize2fs in the guest
    block_count = must(["dumpe2fs", "-h", spec]).split("Block count:")[1].split()[0]
    assert int(block_count) * 4096 > 80 << 20  # grew from ~47 MiB


def test_write_error_fails_the_run(vm: tuple[VMResult, dict[str, Path]]) -> None:
    rc, result, err = output(vm, "sata")
    assert rc == 1, err
    assert result["status"] == "failed"
    assert "error at byte" in result["error"] or "Input/output error" in result["error"]
