"""``weee wipe`` on a laptop in a QEMU VM: firmware erase, refusals and I/O errors for real.

One boot for the module. The guest has an emulated NVMe drive (QEMU 7.2 implements
Format NVM with secure erase but not Sanitize: ``auto`` must discover that and fall
back), a SATA SSD whose image is wrapped in blkdebug so that writing sector 4096 fails
with EIO, and a USB stick. Its root disk is the USB stick it booted from, a throw-away
snapshot, so the refusal of the running system's disk is tried for real there (never on
the host).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_wipe_engine import assert_dm_error_report
from vm.harness import (
    ROOT_SERIAL,
    BlkdebugRule,
    Drive,
    VMResult,
    boot_vm,
    count_marker,
    guest_or_skip,
    make_disk,
    write_blkdebug_config,
)

pytestmark = [pytest.mark.vm, pytest.mark.slow]

MARKER = b"WEEE-VM-DONOR-SECRET-42"
BAD_SECTOR = 4096

SCRIPT = """
J=/out/journal
SATA=$(disk_by_serial TESTSATA01); USB=$(disk_by_serial TESTUSB01); ROOT=$(root_disk)
echo "$SATA $USB $ROOT" > /out/names.txt
lsblk -dno SERIAL,TRAN,RM "$ROOT" > /out/root-disk.txt
run() {
  name=$1; shift
  weee wipe "$@" --journal-dir $J --json > /out/$name.json 2> /out/$name.err
  echo $? > /out/$name.rc
}
run root "$ROOT" --yes
run plan /dev/nvme0n1 --dry-run
run nvme /dev/nvme0n1 --method firmware --yes
run sata "$SATA" --yes --verify full
run usb-default --dry-run
run usb "$USB" --yes --pattern zero --verify sample
# every drive, no names: the failing SATA drive taken out of the guest, a clean SATA
# drive of the laptop mounted (refused), the NVMe drive erasable: exit 3, not 0
echo 1 > /sys/block/${SATA##*/}/device/delete
MOUNTED=$(disk_by_serial TESTSATA02)
mkfs.ext4 -q -F "$MOUNTED" && mkdir -p /mnt/laptop && mount "$MOUNTED" /mnt/laptop
run all --yes --pattern zero --verify sample
umount /mnt/laptop
modprobe loop 2> /dev/null; modprobe dm_mod 2> /dev/null
if dmsetup version > /dev/null 2>&1; then
  python3 /weee/tests/data/wipe/scenarios/dm_error.py > /out/dm.json 2> /out/dm.err
else
  echo "no device-mapper in the guest" > /out/dm.err
fi
ls $J/active > /out/active.txt
echo wipe-vm-done
"""


@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory) -> tuple[VMResult, dict[str, Path]]:
    guest = guest_or_skip()
    disks = tmp_path_factory.mktemp("disks")
    images = {
        "nvme": make_disk(disks / "nvme.img", 64 << 20, marker=MARKER),
        "sata": make_disk(disks / "sata.img", 32 << 20, marker=MARKER),
        "usb": make_disk(disks / "usb.img", 16 << 20, marker=MARKER),
        "sata2": make_disk(disks / "sata2.img", 16 << 20, marker=MARKER),
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
            Drive("sata", images["sata2"], "TESTSATA02"),
            Drive("usb", images["usb"], "TESTUSB01"),
        ],  # fmt: skip
        share=tmp_path_factory.mktemp("share"),
        timeout=420,
    )
    assert result.exit_status == 0 and "wipe-vm-done" in result.console_log, result.summary()
    return result, images


def output(vm: tuple[VMResult, dict[str, Path]], name: str) -> tuple[int, Any, str]:
    share = vm[0].share_dir
    rc = int((share / f"{name}.rc").read_text())
    text = (share / f"{name}.json").read_text()
    return rc, json.loads(text) if text.strip() else None, (share / f"{name}.err").read_text()


def test_the_guests_own_root_disk_is_refused_for_real(vm: tuple[VMResult, dict[str, Path]]) -> None:
    # the disk mounted at / is the USB stick the guest booted from
    assert (vm[0].share_dir / "root-disk.txt").read_text().split() == [ROOT_SERIAL, "usb", "1"]
    rc, reports, err = output(vm, "root")
    assert rc == 3, err
    [report] = reports
    assert report["status"] == "refused"
    assert any("boot medium" in e for e in report["errors"]), report["errors"]


def test_every_drive_with_a_laptop_drive_refused_exits_3_not_0(
    vm: tuple[VMResult, dict[str, Path]],
) -> None:
    """``weee wipe --yes`` with no names erases what it may, but a laptop drive that was
    refused (mounted) leaves the laptop not done: exit 3. The boot stick and the USB
    drive are refused too, without counting: they are not the laptop's."""
    rc, reports, err = output(vm, "all")
    assert rc == 3, err
    by_serial = {r["media"]["serial"]: r for r in reports}
    assert by_serial["TESTNVME01"]["status"] == "certified"
    refused = by_serial["TESTSATA02"]
    assert refused["status"] == "refused"
    assert any("mounted" in e for e in refused["errors"]), refused["errors"]
    assert "TESTSATA01" not in by_serial  # taken out of the guest before the run
    for serial in ("TESTUSB01", ROOT_SERIAL):
        assert by_serial[serial]["status"] == "refused"
    assert "NOT ERASED" in err and "this laptop is not done" in err
    assert count_marker(vm[1]["sata2"], MARKER) > 0  # the mounted drive was not touched


def test_auto_discovers_format_not_sanitize(vm: tuple[VMResult, dict[str, Path]]) -> None:
    rc, plan, err = output(vm, "plan")
    assert rc == 0, err
    [target] = plan["targets"]
    assert target["methods"] == ["nvme-format-user-data", "overwrite"]
    assert any("Sanitize not supported" in r for r in target["reasons"])
    assert any("no crypto erase" in r for r in target["reasons"])  # fna=0: --ses=2 untrusted


def test_nvme_firmware_format_erases_the_marker(vm: tuple[VMResult, dict[str, Path]]) -> None:
    rc, reports, err = output(vm, "nvme")
    assert rc == 0, err
    [report] = reports
    assert report["status"] == "certified", report["errors"]
    assert report["sanitization"]["method"] == "nvme-format-user-data"
    assert report["sanitization"]["category"] == "purge"
    assert report["media"]["serial"] == "TESTNVME01"
    assert report["verification"]["method"] == "sample"
    assert report["verification"]["samples"] == 2002
    assert report["verification"]["result"] == "passed"
    assert count_marker(vm[1]["nvme"], MARKER) == 0
    assert vm[1]["nvme"].read_bytes().count(0) == 64 << 20  # Format leaves zeros


def test_write_error_fails_the_erasure_with_its_lba(vm: tuple[VMResult, dict[str, Path]]) -> None:
    rc, reports, err = output(vm, "sata")
    assert rc == 1, err
    [report] = reports
    assert report["status"] == "failed"
    assert report["sanitization"]["method"] == "overwrite"  # QEMU's SATA: no Security set
    [record] = report["passes"]
    assert record["errors"], record
    first = record["errors"][0]
    assert first["offset"] == BAD_SECTOR * 512 and first["length"] == 512
    assert "Input/output error" in first["error"]
    # the rest of the disk was still overwritten
    assert count_marker(vm[1]["sata"], MARKER) <= 1


def test_usb_stick_only_when_named(vm: tuple[VMResult, dict[str, Path]]) -> None:
    _sata, usb_path, root_path = (vm[0].share_dir / "names.txt").read_text().split()
    _rc, plan, err = output(vm, "usb-default")
    by_device = {t["device"]: t for t in plan["targets"]}
    assert by_device[usb_path]["allowed"] is False, err
    assert any("name it explicitly" in r for r in by_device[usb_path]["refusals"])
    # the stick the guest booted from is in no default plan either, as the boot medium
    assert by_device[root_path]["allowed"] is False, err
    assert any("boot medium" in r for r in by_device[root_path]["refusals"])
    rc, reports, err = output(vm, "usb")
    assert rc == 0, err
    [report] = reports
    assert report["status"] == "certified"
    assert report["media"]["type"] == "usb"
    assert report["sanitization"]["pattern"] == "zero"
    assert count_marker(vm[1]["usb"], MARKER) == 0


def test_every_journal_entry_was_filed(vm: tuple[VMResult, dict[str, Path]]) -> None:
    assert (vm[0].share_dir / "active.txt").read_text().split() == []


def test_dm_error_segment_fails_the_erasure(vm: tuple[VMResult, dict[str, Path]]) -> None:
    """Real EIO from a device-mapper ``error`` target (the host kernel may lack dm)."""
    share = vm[0].share_dir
    text = (share / "dm.json").read_text() if (share / "dm.json").exists() else ""
    assert text.strip(), (share / "dm.err").read_text()[-3000:]
    assert_dm_error_report(json.loads(text))


# The plug is pulled once the journal shows pass 1 under way, not a fixed second after
# the journal appeared: an emulated guest on a loaded host may still be preparing then.
POWER_CUT_FIRST_BOOT = r"""
weee wipe /dev/nvme0n1 --method overwrite --passes 35 --yes --journal-dir /out/j \
    > /out/first.json 2> /out/first.err &
wipe=$!
pass_started() {
  for f in /out/j/active/*.json; do
    [ -e "$f" ] && ! grep -q '"passes": \[\]' "$f" && return 0
  done
  return 1
}
until pass_started || ! kill -0 "$wipe" 2> /dev/null; do sleep 0.2; done
echo WEEE-PULL-THE-PLUG
wait
echo "the erasure finished before the power cut"
"""

POWER_CUT_SECOND_BOOT = """
weee wipe /dev/nvme0n1 --dry-run --journal-dir /out/j > /dev/null 2> /out/after.err
echo $? > /out/after.rc
"""


def test_a_power_cut_mid_pass_is_reported_incomplete_after_reboot(tmp_path: Path) -> None:
    guest = guest_or_skip()
    nvme = make_disk(tmp_path / "nvme.img", 64 << 20, marker=MARKER)
    share = tmp_path / "share"
    drives = [Drive("nvme", nvme, "TESTNVME01")]
    first = boot_vm(
        POWER_CUT_FIRST_BOOT,
        guest=guest,
        drives=drives,
        share=share,
        timeout=300,
        power_cut_on="WEEE-PULL-THE-PLUG",
        power_cut_delay=1.0,
    )
    assert first.power_cut, first.summary()
    [entry] = (share / "j" / "active").glob("*.json")
    assert json.loads(entry.read_text())["report"]["passes"], "the cut came before pass 1"
    second = boot_vm(POWER_CUT_SECOND_BOOT, guest=guest, drives=drives, share=share, timeout=240)
    assert second.exit_status == 0, second.summary()
    err = (share / "after.err").read_text()
    assert int((share / "after.rc").read_text()) == 4, err  # EXIT_INCOMPLETE
    assert "INCOMPLETE" in err and "TESTNVME01" in err and "NOT certified" in err
