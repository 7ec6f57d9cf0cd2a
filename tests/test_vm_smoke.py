"""The VM harness itself: a laptop-shaped guest boots, sees its parts, runs weee.

One boot for the whole module (about 20 s under software emulation); each test reads
what that boot left in the results share.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from vm.harness import (
    ROOT_SERIAL,
    THINKPAD_X1_CARBON_5,
    Drive,
    VMResult,
    boot_vm,
    count_marker,
    guest_or_skip,
    make_disk,
)

pytestmark = [pytest.mark.vm, pytest.mark.slow]

MARKER = b"WEEE-SMOKE-MARKER-0123456789"

SCRIPT = """
cat /sys/class/dmi/id/sys_vendor /sys/class/dmi/id/product_name \
    /sys/class/dmi/id/product_version /sys/class/dmi/id/chassis_type > /out/dmi.txt
lsblk --json --bytes --output NAME,SERIAL,SIZE,TRAN,ROTA,RM,TYPE > /out/lsblk.json
root_disk > /out/root-disk.txt
weee probe --json > /out/probe.json 2> /out/probe.err
echo "probe exit $?"
# no --yes, no terminal: the profile's default confirmation (a countdown) cannot be
# given, so nothing may be erased
printf '[policy]\nfile = "/weee/tests/vm/laptop-policy.toml"\n[paths]\ndata_dir = "/tmp/d"\n' \
    > /tmp/profile.toml
weee run --profile /tmp/profile.toml --unattended --screen plain --json > /out/run.json
echo "run exit $?"
"""


@pytest.fixture(scope="module")
def smoke_boot(tmp_path_factory: pytest.TempPathFactory) -> VMResult:
    guest = guest_or_skip()
    disks = tmp_path_factory.mktemp("disks")
    drives = [
        Drive("nvme", make_disk(disks / "nvme.img", 64 << 20, marker=MARKER), "TESTNVME01"),
        Drive(
            "sata",
            make_disk(disks / "sata.img", 64 << 20, marker=MARKER),
            "TESTSATA01",
            model="Samsung SSD 860 EVO 500GB",
        ),
        Drive("usb", make_disk(disks / "usb.img", 32 << 20), "TESTUSB01"),
    ]
    result = boot_vm(
        SCRIPT,
        guest=guest,
        drives=drives,
        smbios=THINKPAD_X1_CARBON_5,
        share=tmp_path_factory.mktemp("share"),
        timeout=180,
    )
    assert result.exit_status == 0, result.summary()
    # the guest only read its disks: the markers are all still there
    assert count_marker(disks / "nvme.img", MARKER) == 65, "the smoke boot changed a disk"
    return result


def test_it_presents_the_laptop_identity(smoke_boot: VMResult) -> None:
    dmi = (smoke_boot.share_dir / "dmi.txt").read_text().split("\n")
    assert dmi[:4] == ["LENOVO", "20HRCTO1WW", "ThinkPad X1 Carbon 5th", "10"]  # 10 = Notebook


def test_it_presents_nvme_sata_and_usb_disks(smoke_boot: VMResult) -> None:
    devices = json.loads((smoke_boot.share_dir / "lsblk.json").read_text())["blockdevices"]
    by_serial = {d["serial"]: d for d in devices if d.get("serial")}
    assert by_serial["TESTNVME01"]["tran"] == "nvme"
    assert by_serial["TESTSATA01"]["tran"] == "sata"
    assert by_serial["TESTSATA01"]["rota"] is False  # rotation_rate=1: an SSD
    assert by_serial["TESTUSB01"]["tran"] == "usb"
    assert by_serial["TESTNVME01"]["size"] == 64 << 20


def test_it_booted_from_a_usb_stick(smoke_boot: VMResult) -> None:
    # the disk mounted at / is the removable USB stick the harness attached, as the
    # stick a bench laptop boots weee from
    devices = json.loads((smoke_boot.share_dir / "lsblk.json").read_text())["blockdevices"]
    root = (smoke_boot.share_dir / "root-disk.txt").read_text().strip()
    [stick] = [d for d in devices if f"/dev/{d['name']}" == root]
    assert (stick["serial"], stick["tran"], stick["rm"]) == (ROOT_SERIAL, "usb", True)
    assert not any(d["name"].startswith("vd") for d in devices)  # no virtio disk left
    # and weee's own probe says so: a USB, removable drive, not one of the laptop's
    report = json.loads((smoke_boot.share_dir / "probe.json").read_text())
    [disk] = [d for d in report["storage"] if d["path"] == root]
    assert disk["serial"] == ROOT_SERIAL
    assert disk["transport"] == "usb"
    assert disk["removable"] is True


def test_weee_probe_runs_in_the_guest(smoke_boot: VMResult) -> None:
    probe_file: Path = smoke_boot.share_dir / "probe.json"
    err = (smoke_boot.share_dir / "probe.err").read_text()
    assert "probe exit 0" in smoke_boot.console_log, err[-2000:]
    report = json.loads(probe_file.read_text())
    device = report["device"]
    assert device["manufacturer"] == "LENOVO"
    assert "X1 Carbon" in (device.get("model") or "")
    assert device["chassis"] == "laptop"
    serials = {d.get("serial") for d in report["storage"]}
    assert {"TESTNVME01", "TESTSATA01", "TESTUSB01"} <= serials


def test_weee_run_erases_nothing_without_a_yes(smoke_boot: VMResult) -> None:
    # (the fixture also checked that every marker is still on the NVMe drive)
    assert "run exit 1" in smoke_boot.console_log
    summary = json.loads((smoke_boot.share_dir / "run.json").read_text())
    assert summary["steps"]["erase"]["status"] == "failed"
    # the stick's default, a countdown, needs someone at the screen: a run without a
    # terminal erases nothing, and says why
    said = summary["steps"]["erase"]["summary"]
    assert said.startswith("not confirmed: no terminal") and "nothing erased" in said, said
    assert summary["verdict"]["verdict"] == "failed"
