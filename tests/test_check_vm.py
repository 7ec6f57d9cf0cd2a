"""`weee check` on a laptop-shaped QEMU guest, as root, with real smartctl on emulated
drives: the SATA drive's SMART short self-test is started and polled for real, the NVMe
drive raising a critical warning fails, the USB stick is no-SMART and not self-tested.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from vm.harness import (
    ROOT_SERIAL,
    THINKPAD_X1_CARBON_5,
    Drive,
    boot_vm,
    guest_or_skip,
    make_disk,
)

pytestmark = [pytest.mark.vm, pytest.mark.slow]

SCRIPT = f"""
for serial in TESTSATA01 TESTUSB01 {ROOT_SERIAL}; do
  echo "$serial $(disk_by_serial $serial)" >> /out/names.txt
done
weee check --unattended --json --lang en --only storage,memory,cpu.model,usb \
    > /out/check.json 2> /out/check.err
echo "check exit $?"
"""


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    guest = guest_or_skip()
    disks = tmp_path_factory.mktemp("disks")
    drives = [
        Drive(
            "nvme",
            make_disk(disks / "nvme.img", 64 << 20),
            "TESTNVME01",
            properties={"smart_critical_warning": "4"},
        ),
        Drive(
            "sata",
            make_disk(disks / "sata.img", 64 << 20),
            "TESTSATA01",
            model="Samsung SSD 860 EVO 500GB",
        ),
        Drive("usb", make_disk(disks / "usb.img", 32 << 20), "TESTUSB01"),
    ]
    share = tmp_path_factory.mktemp("share")
    result = boot_vm(
        SCRIPT, guest=guest, drives=drives, smbios=THINKPAD_X1_CARBON_5, share=share, timeout=300
    )
    assert result.exit_status == 0, result.summary()
    out = Path(share) / "check.json"
    assert out.exists(), result.summary() + (Path(share) / "check.err").read_text()
    doc: dict[str, Any] = json.loads(out.read_text())
    # the kernel names of the sd* disks, by serial (their order is the probing order)
    lines = (Path(share) / "names.txt").read_text().splitlines()
    doc["names"] = {serial: path.removeprefix("/dev/") for serial, path in map(str.split, lines)}
    return doc


def by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in doc["checks"]}


def test_sata_self_test_runs_for_real(checked: dict[str, Any]) -> None:
    test = by_id(checked)[f"storage.self_test.{checked['names']['TESTSATA01']}"]
    assert test["status"] == "pass", test
    assert test["evidence"]["result"] == "Completed without error"
    assert test["evidence"]["start_exit_status"] == 0


def test_nvme_critical_warning_fails_and_blocks(checked: dict[str, Any]) -> None:
    smart = by_id(checked)["storage.smart.nvme0n1"]
    assert smart["status"] == "fail"
    assert smart["evidence"]["nvme"]["critical_warning"] == 4
    assert checked["grade"]["eligible"] is False
    assert any("replace the drive" in r for r in checked["grade"]["repairs"])


@pytest.mark.parametrize("serial", ["TESTUSB01", ROOT_SERIAL])  # a stick; the boot stick
def test_usb_stick_is_external_and_not_self_tested(checked: dict[str, Any], serial: str) -> None:
    checks = by_id(checked)
    name = checked["names"][serial]
    usb = checks[f"storage.smart.{name}"]
    assert usb["target"] == name
    assert usb["component"] == "external-storage"
    assert usb["status"] == "warn" and usb["message_id"] == "storage.no_smart"
    assert checks[f"storage.self_test.{name}"]["status"] == "skip"


def test_guest_runs_the_other_automatic_checks(checked: dict[str, Any]) -> None:
    checks = by_id(checked)
    memory = checks["memory.size"]
    # the guest has 1 GiB and its SMBIOS memory array says 1 GiB is the most it takes
    assert (memory["status"], memory["message_id"]) == ("fail", "memory.small_max")
    assert "repair" not in memory
    assert memory["evidence"]["max_capacity_bytes"] == 1 << 30
    assert checked["grade"]["grade"] == "parts"
    assert checks["usb"]["status"] == "pass"
