"""Real EIO in the middle of a disk: a device-mapper table with an ``error`` segment.

Used by ``tests/test_wipe_engine.py`` on a host whose kernel has device-mapper, and run
inside the QEMU guest by ``tests/test_wipe_vm.py`` (``python3 dm_error.py``), whose
Debian kernel always has it. No pytest here: the guest has none.

A dm device is refused as a wipe target (it is not a disk), so the engine is driven
through the API with a hand-made plan: what this exercises is the fault handling
(bounded retries, sector-exact error ranges, FAILED, never certified).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

BAD_START = 8192  # 512-byte sectors
BAD_LEN = 16
SIZE = 16 << 20


def dm_table(backing: str, size: int = SIZE) -> str:
    sectors = size // 512
    rest = BAD_START + BAD_LEN
    return (
        f"0 {BAD_START} linear {backing} 0\n"
        f"{BAD_START} {BAD_LEN} error\n"
        f"{rest} {sectors - rest} linear {backing} {rest}\n"
    )


def erase_dm(device: str, journal_dir: str, size: int = SIZE) -> object:
    from agent.blockdev import Assessment, Disk
    from agent.wipe import Target, WipeOptions, erase
    from agent.wipe.methods import DriveFacts, Plan

    name = os.path.basename(device)
    disk = Disk(name=name, path=device, size_bytes=size, logical_sector_size=512,
                physical_sector_size=512, model="dm-error", serial=None, vendor=None,
                transport=None, rotational=None, removable=False, hotplug=False,
                read_only=False, devtype="disk")  # fmt: skip
    target = Target(device, Assessment(device, name, disk), disk,
                    facts=DriveFacts(name=name, transport=None, size_bytes=size),
                    plan=Plan(["overwrite"], ["dm error scenario"]))  # fmt: skip
    options = WipeOptions(pattern="zero", retries=1, journal_dir=journal_dir)
    [report] = erase([target], options)
    return report


def main() -> int:
    """Guest side: make the loop + dm devices, erase, print the report, clean up."""
    sys.path.insert(0, os.environ.get("WEEE_SOURCE", "/weee"))
    work = tempfile.mkdtemp()
    image = os.path.join(work, "disk.img")
    with open(image, "wb") as fh:
        fh.truncate(SIZE)
    run = subprocess.run
    loop = run(["losetup", "--find", "--show", image], capture_output=True, text=True,
               check=True).stdout.strip()  # fmt: skip
    try:
        run(["dmsetup", "create", "weee-err"], input=dm_table(loop), text=True, check=True)
        try:
            report = erase_dm("/dev/mapper/weee-err", os.path.join(work, "journal"))
        finally:
            run(["dmsetup", "remove", "weee-err"], check=False)
    finally:
        run(["losetup", "-d", loop], check=False)
    print(json.dumps(report.to_dict()))  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(main())
