"""Reading a drive's facts, and running its own erase commands.

Every tool goes through one injected ``run`` (``checks.system.run_command`` by default)
so tests pass in recorded outputs. Exit statuses are not trusted on their own:
``hdparm --security-set-pass`` exits 0 even when the drive aborted the command (QEMU's
SATA disk does), so each step is confirmed by reading the drive's state back.
"""

from __future__ import annotations

import fcntl
import json
import logging
import re
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from agent.blockdev import Disk
from agent.wipe.methods import (
    DriveFacts,
    HpaInfo,
    parse_dco_identify,
    parse_hdparm_identify,
    parse_hdparm_n,
    parse_nvme_id_ctrl,
    smartctl_passthrough,
)
from agent.wipe.report import HiddenAreas
from checks.system import CommandResult, run_command

log = logging.getLogger(__name__)

Run = Callable[..., CommandResult]

# The temporary ATA password: set, used once by SECURITY ERASE UNIT (which clears it),
# and removed again if anything goes wrong, so no drive leaves the bench locked.
ATA_PASSWORD = "weee"


class FirmwareError(Exception):
    """The drive refused or failed the command: the runner falls back to the next method."""


def controller_of(name: str) -> str:
    """nvme0n1 -> nvme0 (the controller character device takes admin commands)."""
    m = re.match(r"(nvme\d+)n\d+", name)
    return m.group(1) if m else name


def gather_facts(disk: Disk, run: Run = run_command) -> DriveFacts:
    """Ask the live drive what it supports (read-only commands only)."""
    facts = DriveFacts(name=disk.name, transport=disk.transport, size_bytes=disk.size_bytes)
    if disk.devtype == "loop":
        return facts  # a loop device has no firmware: overwrite only
    smart = run(["smartctl", "--json=c", "-i", disk.path], timeout=60)
    if smart.stdout:
        try:
            doc = json.loads(smart.stdout)
            if isinstance(doc, dict):
                facts.passthrough, facts.smart_notes = smartctl_passthrough(doc)
        except ValueError:
            pass
    if disk.name.startswith("nvme"):
        result = run(["nvme", "id-ctrl", f"/dev/{controller_of(disk.name)}", "-o", "json"])
        if result.ok:
            facts.nvme = parse_nvme_id_ctrl(result.stdout)
        return facts
    if disk.interface in ("ata", "usb", "scsi") and facts.passthrough:
        ident = run(["hdparm", "-I", disk.path], timeout=60)
        facts.ata = parse_hdparm_identify(ident.text) if ident.stdout else None
        if facts.ata is not None:
            facts.hpa = parse_hdparm_n(run(["hdparm", "-N", disk.path]).text)
            if facts.ata.dco_feature:
                facts.dco = parse_dco_identify(run(["hdparm", "--dco-identify", disk.path]).text)
    return facts


def hidden_areas(facts: DriveFacts) -> HiddenAreas:
    state = HiddenAreas()
    if facts.hpa is not None:
        state.hpa.present = facts.hpa.hidden
        state.hpa.native_max_sectors = facts.hpa.native_max
        state.hpa.current_max_sectors = facts.hpa.current_max
    elif facts.ata is not None:
        state.note = "HPA state unreadable (hdparm -N gave nothing)"
    if facts.dco is not None:
        state.dco.real_max_sectors = facts.dco.real_max
    if facts.dco is not None and facts.hpa is not None:
        state.dco.present = (
            facts.dco.real_max is not None and facts.dco.real_max > facts.hpa.native_max
        )
    elif facts.ata is not None:
        state.dco.present = False if not facts.ata.dco_feature else None
    if facts.nvme is not None or (facts.ata is None and facts.transport != "usb"):
        state.note = "no HPA/DCO on this kind of drive"
        state.hpa.present = False
        state.dco.present = False
    elif facts.ata is None:
        state.note = "HPA/DCO unknown: the USB bridge passes no ATA commands through"
    return state


def restore_hpa(
    disk: Disk,
    facts: DriveFacts,
    state: HiddenAreas,
    run: Run = run_command,
) -> HpaInfo | None:
    """Remove the HPA (SET MAX ADDRESS to the native max): the drive's answer read back.

    Returns ``hdparm -N`` read again once the whole native capacity is addressable,
    None when the drive kept its HPA (``state.note`` says what hdparm answered). The
    kernel still sees the old capacity until it rescans: see :func:`kernel_capacity`.
    """
    if facts.hpa is None or not facts.hpa.hidden:
        return facts.hpa
    native = facts.hpa.native_max
    result = run(["hdparm", "--yes-i-know-what-i-am-doing", "-N", f"p{native}", disk.path])
    after = parse_hdparm_n(run(["hdparm", "-N", disk.path]).text)
    if after is not None and after.current_max >= native:
        state.restored = True
        state.hpa.current_max_sectors = after.current_max
        state.note = (
            f"HPA removed: {native - facts.hpa.current_max} hidden sectors made addressable"
        )
        return after
    state.restored = False
    answer = (result.stderr_text.strip() or result.text.strip() or result.error or "").strip()
    state.note = f"HPA could not be removed: {answer or 'the drive kept its HPA'}"
    return None


def restore_dco(
    disk: Disk,
    facts: DriveFacts,
    state: HiddenAreas,
    run: Run = run_command,
) -> DriveFacts | None:
    """DEVICE CONFIGURATION RESTORE: the drive's factory capacity back.

    The exit status is not trusted: the native max (``hdparm -N``) must reach the real
    max the DCO reported. Returns the facts read again (HPA and DCO) when it did, so the
    caller checks the HPA once more; None when the DCO still hides sectors.
    """
    real = facts.dco.real_max if facts.dco is not None else None
    if real is None:
        return None
    result = run(
        ["hdparm", "--yes-i-know-what-i-am-doing", "--dco-restore", disk.path], timeout=120
    )
    hpa = parse_hdparm_n(run(["hdparm", "-N", disk.path]).text)
    dco = parse_dco_identify(run(["hdparm", "--dco-identify", disk.path]).text)
    if hpa is not None and hpa.native_max >= real:
        state.dco.restored = True
        state.restored = True
        state.hpa.native_max_sectors = hpa.native_max
        state.hpa.current_max_sectors = hpa.current_max
        hidden = real - (facts.hpa.native_max if facts.hpa is not None else real)
        state.note = f"DCO restored: {hidden} hidden sectors made addressable"
        return replace(facts, hpa=hpa, dco=dco if dco is not None else facts.dco)
    state.dco.restored = False
    state.restored = False
    answer = (result.stderr_text.strip() or result.text.strip() or result.error or "").strip()
    seen = f"native max {hpa.native_max}" if hpa is not None else "hdparm -N unreadable"
    state.note = f"DCO could not be restored ({seen}, factory max {real})" + (
        f": {answer.splitlines()[-1]}" if answer else ""
    )
    return None


def kernel_size_bytes(name: str, sys_root: str = "/sys") -> int | None:
    """The capacity the kernel reports for the device (sysfs counts 512-byte units)."""
    try:
        return int(Path(f"{sys_root}/class/block/{name}/size").read_text().strip()) * 512
    except (OSError, ValueError):
        return None


def kernel_capacity(
    disk: Disk,
    expected_bytes: int,
    *,
    sys_root: str = "/sys",
    wait_s: float = 10.0,
    poll: Callable[[float], None] = time.sleep,
) -> tuple[int | None, str | None]:
    """Make the kernel see ``expected_bytes``: rescan the device, then poll its size.

    Returns the size the kernel reports in the end (``>= expected_bytes`` on success)
    and, when it did not get there, why the rescan could not be asked for.
    """
    size = kernel_size_bytes(disk.name, sys_root)
    if size is not None and size >= expected_bytes:
        return size, None
    problem = None
    try:
        with open(f"{sys_root}/block/{disk.name}/device/rescan", "w") as fh:
            fh.write("1\n")
    except OSError as exc:
        problem = f"rescan failed: {exc.strerror or exc}"
    deadline = time.monotonic() + wait_s
    while True:
        size = kernel_size_bytes(disk.name, sys_root)
        if (size is not None and size >= expected_bytes) or time.monotonic() >= deadline:
            return size, problem
        poll(0.1)


def suspend_to_unfreeze(run: Run = run_command, seconds: int = 5) -> bool:
    """Suspend-to-RAM and wake up: most BIOSes freeze drives only at power-on."""
    result = run(["rtcwake", "-m", "mem", "-s", str(seconds)], timeout=seconds + 120)
    return result.ok


# ------------------------------------------------------------------------------ erase


def _check(result: CommandResult, what: str) -> None:
    text = (result.text + "\n" + result.stderr_text).strip()
    if not result.ok or re.search(r"(?i)\b(error|invalid|failed|abort|not supported)\b", text):
        raise FirmwareError(
            f"{what}: {text.splitlines()[-1] if text else result.error or 'failed'}"
        )


def _find_key(doc: object, key: str) -> object | None:
    if isinstance(doc, dict):
        if key in doc:
            return doc[key]
        for value in doc.values():
            found = _find_key(value, key)
            if found is not None:
                return found
    return None


def nvme_sanitize(
    disk: Disk, action: int, run: Run, poll: Callable[[float], None], timeout_s: float
) -> None:
    ctrl = f"/dev/{controller_of(disk.name)}"
    _check(run(["nvme", "sanitize", ctrl, f"--sanact={action}"], timeout=120), "nvme sanitize")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        log_result = run(["nvme", "sanitize-log", ctrl, "-o", "json"])
        try:
            doc = json.loads(log_result.stdout) if log_result.stdout else {}
        except ValueError:
            doc = {}
        sstat = _find_key(doc, "sstat")
        if not isinstance(sstat, int):
            raise FirmwareError("nvme sanitize-log unreadable: cannot tell whether it finished")
        state = sstat & 0x7
        if state == 1:
            return
        if state == 3:
            raise FirmwareError("the controller reports the sanitize operation failed")
        poll(min(10.0, max(0.5, deadline - time.monotonic())))
    raise FirmwareError(f"sanitize did not finish within {timeout_s:.0f} s")


def current_lba_format(disk: Disk, run: Run) -> int | None:
    """The namespace's LBA format index (``flbas``): Format must keep it.

    nvme-cli documents ``--lbaf`` as defaulting to 0, which on a drive formatted with
    4 KiB sectors would silently change the sector size under the OS image.
    """
    result = run(["nvme", "id-ns", disk.path, "-o", "json"])
    try:
        doc = json.loads(result.stdout) if result.ok else None
    except ValueError:
        return None
    flbas = doc.get("flbas") if isinstance(doc, dict) else None
    if not isinstance(flbas, int):
        return None
    # bits 3:0, and 6:5 as the high bits when there are more than 16 formats
    return (flbas & 0xF) | ((flbas >> 5) & 0x3) << 4


def nvme_format(disk: Disk, ses: int, run: Run, timeout_s: float) -> None:
    lbaf = current_lba_format(disk, run)
    keep = [f"--lbaf={lbaf}"] if lbaf is not None else [f"--block-size={disk.logical_sector_size}"]
    argv = ["nvme", "format", disk.path, f"--ses={ses}", *keep, "--force"]
    result = run(argv, timeout=timeout_s)
    _check(result, f"nvme format --ses={ses}")
    if "Success formatting namespace" not in result.text:
        raise FirmwareError(f"nvme format --ses={ses}: no success message: {result.text.strip()}")


def ata_sanitize(
    disk: Disk, kind: str, run: Run, poll: Callable[[float], None], timeout_s: float
) -> None:
    flag = {"crypto": "--sanitize-crypto-scramble", "block": "--sanitize-block-erase"}[kind]
    _check(
        run(["hdparm", "--yes-i-know-what-i-am-doing", flag, disk.path], timeout=120),
        f"hdparm {flag}",
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = run(["hdparm", "--sanitize-status", disk.path]).text
        if re.search(r"(?i)in process|SD2", status):
            poll(min(10.0, max(0.5, deadline - time.monotonic())))
            continue
        if re.search(r"(?i)completed with error|failed|SD1 Sanitize Frozen", status):
            raise FirmwareError(f"ATA sanitize failed: {status.strip()}")
        return
    raise FirmwareError(f"ATA sanitize did not finish within {timeout_s:.0f} s")


def ata_security_erase(disk: Disk, enhanced: bool, run: Run, timeout_s: float) -> None:
    set_pass = run(["hdparm", "--user-master", "u", "--security-set-pass", ATA_PASSWORD, disk.path])
    # hdparm exits 0 even when the drive aborts: the sense data and the drive's own
    # "enabled" state tell the truth
    after = parse_hdparm_identify(run(["hdparm", "-I", disk.path], timeout=60).text)
    if "bad/missing sense" in set_pass.stderr_text + set_pass.text or not (
        after and after.security_enabled
    ):
        raise FirmwareError("the drive did not accept the temporary security password")
    flag = "--security-erase-enhanced" if enhanced else "--security-erase"
    try:
        erase = run(
            ["hdparm", "--user-master", "u", flag, ATA_PASSWORD, disk.path], timeout=timeout_s
        )
        _check(erase, f"hdparm {flag}")
        final = parse_hdparm_identify(run(["hdparm", "-I", disk.path], timeout=60).text)
        if final is None or final.security_enabled:
            raise FirmwareError("security still enabled after SECURITY ERASE UNIT")
    except FirmwareError:
        # never leave a drive locked with our password
        run(["hdparm", "--user-master", "u", "--security-disable", ATA_PASSWORD, disk.path])
        raise


BLKSECDISCARD = 0x127D  # _IO(0x12, 125), linux/fs.h


def mmc_secure_erase(disk: Disk, fd: int | None, run: Run, timeout_s: float) -> None:
    """eMMC secure erase/trim: the BLKSECDISCARD ioctl over the whole device.

    Issued on weee's own exclusive file descriptor when it has one (``blkdiscard
    --secure`` would open the device O_EXCL itself and find it busy).
    """
    if fd is None:
        _check(run(["blkdiscard", "--secure", disk.path], timeout=timeout_s), "blkdiscard --secure")
        return
    try:
        fcntl.ioctl(fd, BLKSECDISCARD, struct.pack("QQ", 0, disk.size_bytes))
    except OSError as exc:
        raise FirmwareError(f"BLKSECDISCARD: {exc.strerror or exc}") from exc


def run_firmware_method(
    method: str,
    disk: Disk,
    *,
    run: Run = run_command,
    poll: Callable[[float], None] = time.sleep,
    drive_estimate_s: float | None = None,
    fd: int | None = None,
) -> None:
    """Run one firmware method; raises FirmwareError if the drive refused or failed it."""
    # generous: the drive's own estimate doubled, or 4 h for the slowest laptop disks
    timeout_s = max(600.0, 2 * drive_estimate_s) if drive_estimate_s else 4 * 3600.0
    if method == "nvme-sanitize-crypto":
        nvme_sanitize(disk, 4, run, poll, timeout_s)
    elif method == "nvme-sanitize-block":
        nvme_sanitize(disk, 2, run, poll, timeout_s)
    elif method == "nvme-format-crypto":
        nvme_format(disk, 2, run, timeout_s)
    elif method == "nvme-format-user-data":
        nvme_format(disk, 1, run, timeout_s)
    elif method == "ata-sanitize-crypto":
        ata_sanitize(disk, "crypto", run, poll, timeout_s)
    elif method == "ata-sanitize-block":
        ata_sanitize(disk, "block", run, poll, timeout_s)
    elif method == "ata-security-erase-enhanced":
        ata_security_erase(disk, True, run, timeout_s)
    elif method == "ata-security-erase":
        ata_security_erase(disk, False, run, timeout_s)
    elif method == "mmc-secure-erase":
        mmc_secure_erase(disk, fd, run, timeout_s)
    else:
        raise ValueError(f"not a firmware method: {method}")


def command_preview(method: str, disk: Disk) -> Sequence[str]:
    """The main command a method runs (shown by --dry-run)."""
    ctrl = f"/dev/{controller_of(disk.name)}"
    return {
        "nvme-sanitize-crypto": ["nvme", "sanitize", ctrl, "--sanact=4"],
        "nvme-sanitize-block": ["nvme", "sanitize", ctrl, "--sanact=2"],
        "nvme-format-crypto": ["nvme", "format", disk.path, "--ses=2", "--lbaf=<current>"],
        "nvme-format-user-data": ["nvme", "format", disk.path, "--ses=1", "--lbaf=<current>"],
        "ata-sanitize-crypto": ["hdparm", "--sanitize-crypto-scramble", disk.path],
        "ata-sanitize-block": ["hdparm", "--sanitize-block-erase", disk.path],
        "ata-security-erase-enhanced": ["hdparm", "--security-erase-enhanced", "...", disk.path],
        "ata-security-erase": ["hdparm", "--security-erase", "...", disk.path],
        "mmc-secure-erase": ["blkdiscard", "--secure", disk.path],
    }.get(method, [])
