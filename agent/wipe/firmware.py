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
import shlex
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path

from agent.blockdev import Disk, is_ata_transport
from agent.wipe.methods import (
    DriveFacts,
    HpaInfo,
    flag,
    parse_dco_identify,
    parse_hdparm_identify,
    parse_hdparm_n,
    parse_nvme_id_ctrl,
    security_section,
    smartctl_passthrough,
)
from agent.wipe.report import Evidence, HiddenAreas, clip_output
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
    if facts.ata is None and is_ata_transport(facts.transport):
        # an ATA drive that did not answer IDENTIFY (RAID/RST mode, an SG_IO error):
        # its hidden areas are unknown, not absent
        state.note = "HPA/DCO unknown: the ATA drive's IDENTIFY could not be read (hdparm -I)"
    elif facts.nvme is not None or (facts.ata is None and facts.transport != "usb"):
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


def _output(result: CommandResult) -> str:
    """Everything a command said: stdout, then stderr, then why it could not run."""
    parts = [result.text, result.stderr_text, f"[{result.error}]" if result.error else ""]
    return "\n".join(p.rstrip("\n") for p in parts if p)


def _keep(evidence: list[Evidence] | None, argv: Sequence[str], result: CommandResult) -> str:
    """Keep one command and its raw output in the erasure's evidence; return the output."""
    text = _output(result)
    if evidence is not None:
        evidence.append(Evidence(shlex.join(argv), result.returncode, clip_output(text)))
    return text


def _read(
    run: Run, argv: list[str], evidence: list[Evidence] | None, **kwargs: float
) -> tuple[CommandResult, str]:
    result = run(argv, **kwargs)
    return result, _keep(evidence, argv, result)


def _last_line(text: str, result: CommandResult) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else result.error or f"exit status {result.returncode}, no output"


def _check(result: CommandResult, text: str, what: str) -> None:
    if not result.ok or re.search(r"(?i)\b(error|invalid|failed|abort|not supported)\b", text):
        raise FirmwareError(f"{what}: {_last_line(text, result)}")


class Outcome(Enum):
    SUCCEEDED = "succeeded"
    IN_PROGRESS = "in progress"
    FAILED = "failed"


@dataclass(frozen=True)
class StatusRead:
    """What one read of a drive's own state says about the erase it was given."""

    outcome: Outcome
    detail: str
    progress: float | None = None  # the fraction done, while in progress


# ------------------------------------------------------------------ ATA SANITIZE

# Every state hdparm prints (hdparm.c, sanitize_states_str); ``--sanitize-status``
# itself only ever prints SD0, SD1 or SD2 (get_sanitize_state), then the line below
# when the drive sets "Sanitize Operation Completed Without Error" (COUNT bit 15).
ATA_SANITIZE_STATES = {
    "SD0 Sanitize Idle": "SD0",
    "SD1 Sanitize Frozen": "SD1",
    "SD2 Sanitize operation In Process": "SD2",
    "SD3 Sanitize Operation Failed": "SD3",
    "SD4 Sanitize Operation succeeded": "SD4",
}
ATA_SANITIZE_DONE = "Last Sanitize Operation Completed Without Error"


def parse_ata_sanitize_status(result: CommandResult) -> StatusRead:
    """``hdparm --sanitize-status``: success only on "completed without error".

    "SD0 Sanitize Idle" alone means no sanitize operation completed without error (it
    never ran, or failed and the drive went back to idle); a status whose registers did
    not come back (``SG_IO: bad/missing sense data``, e.g. through a USB bridge) says
    nothing trustworthy; a status read that failed, is empty or unrecognised is a failure.
    """
    text = _output(result)
    if "bad/missing sense" in text:
        why = "its status registers did not come back (SG_IO: bad/missing sense data)"
        return StatusRead(Outcome.FAILED, f"{why}: its state cannot be trusted")
    reason = re.search(r"SANITIZE device error reason: (.+)", text)
    if reason:
        return StatusRead(Outcome.FAILED, f"the drive reports: {reason.group(1).strip()}")
    if not result.ok:
        return StatusRead(Outcome.FAILED, f"status unreadable: {_last_line(text, result)}")
    state = re.search(r"^\s*State:\s+(.+?)\s*$", result.text, re.MULTILINE)
    if "Sanitize status:" not in result.text or not state:
        return StatusRead(Outcome.FAILED, "no sanitize status in hdparm's output")
    name = ATA_SANITIZE_STATES.get(state.group(1))
    if name is None:
        return StatusRead(Outcome.FAILED, f"unrecognised sanitize state {state.group(1)!r}")
    if name == "SD2":
        progress = re.search(r"Progress:\s+0x([0-9a-fA-F]+)", result.text)
        fraction = int(progress.group(1), 16) / 0x10000 if progress else None
        return StatusRead(Outcome.IN_PROGRESS, state.group(1), fraction)
    if name == "SD1":
        why = "the drive refuses sanitize commands until its next power cycle"
        return StatusRead(Outcome.FAILED, f"SD1 Sanitize Frozen: {why}")
    done = re.search(rf"^\s*{ATA_SANITIZE_DONE}\s*$", result.text, re.MULTILINE)
    if name == "SD3" or not done:
        why = "no sanitize operation completed without error"
        return StatusRead(Outcome.FAILED, f"{state.group(1)}, and {why}")
    return StatusRead(Outcome.SUCCEEDED, f"{state.group(1)}: {ATA_SANITIZE_DONE}")


def ata_sanitize(
    disk: Disk,
    kind: str,
    run: Run,
    poll: Callable[[float], None],
    timeout_s: float,
    evidence: list[Evidence] | None = None,
) -> None:
    flag = {"crypto": "--sanitize-crypto-scramble", "block": "--sanitize-block-erase"}[kind]
    result, text = _read(
        run, ["hdparm", "--yes-i-know-what-i-am-doing", flag, disk.path], evidence, timeout=120
    )
    # The drive clears "completed without error" when it starts a sanitize operation
    # (ACS-3 SANITIZE STATUS EXT, COUNT bit 15, kept across power cycles): once the
    # command was accepted with its registers read back, the flag seen afterwards is
    # this operation's result and not an earlier one's.
    accepted = "Operation started in background" in result.text
    if not result.ok or not accepted or "bad/missing sense" in text:
        raise FirmwareError(f"hdparm {flag}: not accepted: {_last_line(text, result)}")
    status_argv = ["hdparm", "--sanitize-status", disk.path]
    deadline = time.monotonic() + timeout_s
    seen_in_progress = False
    while True:
        status = run(status_argv)
        read = parse_ata_sanitize_status(status)
        if read.outcome is Outcome.IN_PROGRESS and time.monotonic() < deadline:
            if not seen_in_progress:  # the first read in progress, and the last read
                _keep(evidence, status_argv, status)
            seen_in_progress = True
            poll(min(10.0, max(0.5, deadline - time.monotonic())))
            continue
        _keep(evidence, status_argv, status)
        if read.outcome is Outcome.SUCCEEDED:
            return
        if read.outcome is Outcome.IN_PROGRESS:
            raise FirmwareError(f"ATA sanitize did not finish within {timeout_s:.0f} s")
        raise FirmwareError(f"ATA sanitize: {read.detail}")


# ------------------------------------------------------------------ NVMe Sanitize

# SSTAT bits 2:0, Sanitize Operation Status (NVM Express Base 2.0, Sanitize Status log)
NVME_SANITIZE_STATUS = {
    0: "the NVM subsystem has never been sanitized",
    1: "the most recent sanitize completed successfully",
    2: "a sanitize operation is in progress",
    3: "the most recent sanitize failed",
    4: "the most recent sanitize (No-Deallocate After Sanitize) completed successfully",
}


@dataclass(frozen=True)
class NvmeSanitizeLog:
    sos: int  # SSTAT bits 2:0
    sprog: int  # progress, numerator over 65536 (FFFFh when not in progress)
    global_erased: int | None = None  # SSTAT bit 8
    passes: int | None = None  # SSTAT bits 7:3
    cdw10: int | None = None  # dword 10 of the Sanitize command that started it

    @property
    def operation(self) -> tuple[int, int | None, int | None, int | None]:
        """What identifies the most recent sanitize operation in the log."""
        return (self.sos, self.global_erased, self.passes, self.cdw10)

    def read(self) -> StatusRead:
        what = NVME_SANITIZE_STATUS.get(self.sos, f"unknown sanitize status {self.sos}")
        if self.sos == 2:
            return StatusRead(Outcome.IN_PROGRESS, what, self.sprog / 0x10000)
        if self.sos in (1, 4):
            return StatusRead(Outcome.SUCCEEDED, what)
        return StatusRead(Outcome.FAILED, what)


def _json_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_nvme_sanitize_log(text: str) -> NvmeSanitizeLog:
    """``nvme sanitize-log -o json``, as nvme-cli 1.x and 2.x print it.

    The log is nested under the device name (``{"nvme0": {...}}``), and ``sstat`` is an
    object whose ``status`` reads ``"(N) description"`` (N = SSTAT bits 2:0); nvme-cli
    2.7 to 2.8 keyed that string by its own description instead of ``status``. A bare
    integer ``sstat`` (the whole register) is read too. Raises ValueError otherwise.
    """
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    if "sstat" in doc:
        body = doc
    else:
        bodies = [v for v in doc.values() if isinstance(v, dict) and "sstat" in v]
        if len(bodies) != 1:
            raise ValueError("no sanitize log (sstat) in the JSON")
        body = bodies[0]
    sprog = _json_int(body.get("sprog"))
    if sprog is None:
        raise ValueError("no sanitize progress (sprog) in the log")
    cdw10 = _json_int(body.get("cdw10_info"))
    sstat = body["sstat"]
    register = _json_int(sstat)
    if register is not None:
        gde, passes = (register >> 8) & 1, (register >> 3) & 0x1F
        return NvmeSanitizeLog(register & 0x7, sprog, gde, passes, cdw10)
    if not isinstance(sstat, dict):
        raise ValueError("sstat is neither a number nor an object")
    statuses = [sstat["status"]] if "status" in sstat else list(sstat.values())
    found = [m for s in statuses if isinstance(s, str) and (m := re.match(r"\((\d+)\) ", s))]
    if len(found) != 1:
        raise ValueError("no '(N) status' in sstat")
    return NvmeSanitizeLog(
        int(found[0].group(1)),
        sprog,
        _json_int(sstat.get("global_erased")),
        _json_int(sstat.get("no_cmplted_passes")),
        cdw10,
    )


def _sanitize_log(run: Run, argv: list[str]) -> tuple[NvmeSanitizeLog | None, CommandResult]:
    result = run(argv)
    if not result.ok:
        return None, result
    try:
        return parse_nvme_sanitize_log(result.text), result
    except ValueError:
        return None, result


def nvme_sanitize(
    disk: Disk,
    action: int,
    run: Run,
    poll: Callable[[float], None],
    timeout_s: float,
    evidence: list[Evidence] | None = None,
) -> None:
    ctrl = f"/dev/{controller_of(disk.name)}"
    log_argv = ["nvme", "sanitize-log", ctrl, "-o", "json"]
    # SSTAT tells how the MOST RECENT sanitize ended and survives power cycles: a drive
    # sanitized by its previous owner says "completed successfully" before anything is
    # issued. So the log is read before the command, and a success after it counts only
    # if the log was seen to move: this operation seen in progress (SSTAT 2), or a log
    # whose operation differs from the one before (status, Global Data Erased, passes or
    # command dword 10 changed). A crypto erase finishing before the first read, on a
    # drive crypto-erased before and never written since, looks unchanged and is not
    # counted (the runner falls back to the next method). With no readable log before,
    # only an operation seen in progress counts.
    before, before_result = _sanitize_log(run, log_argv)
    _keep(evidence, log_argv, before_result)
    result, text = _read(
        run, ["nvme", "sanitize", ctrl, f"--sanact={action}"], evidence, timeout=120
    )
    _check(result, text, "nvme sanitize")
    deadline = time.monotonic() + timeout_s
    seen_in_progress = False
    while True:
        log_now, log_result = _sanitize_log(run, log_argv)
        if log_now is None:
            _keep(evidence, log_argv, log_result)
            raise FirmwareError(
                "nvme sanitize-log unreadable: cannot tell whether the sanitize finished: "
                + _last_line(_output(log_result), log_result)
            )
        read = log_now.read()
        if read.outcome is Outcome.IN_PROGRESS and time.monotonic() < deadline:
            if not seen_in_progress:  # the first read in progress, and the last read
                _keep(evidence, log_argv, log_result)
            seen_in_progress = True
            poll(min(10.0, max(0.5, deadline - time.monotonic())))
            continue
        _keep(evidence, log_argv, log_result)
        if read.outcome is Outcome.IN_PROGRESS:
            raise FirmwareError(f"sanitize did not finish within {timeout_s:.0f} s")
        if read.outcome is Outcome.FAILED:
            raise FirmwareError(f"nvme sanitize-log: {read.detail}")
        if seen_in_progress or (before is not None and before.operation != log_now.operation):
            return
        raise FirmwareError(
            f"nvme sanitize-log: {read.detail}, but the log is the same as before the "
            "command: this sanitize was not seen to run"
        )


# ------------------------------------------------------------------ NVMe Format


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


NVME_FORMAT_DONE = "Success formatting namespace"


def nvme_format(
    disk: Disk, ses: int, run: Run, timeout_s: float, evidence: list[Evidence] | None = None
) -> None:
    """Success only on exit status 0 AND nvme-cli's own success message."""
    lbaf = current_lba_format(disk, run)
    keep = [f"--lbaf={lbaf}"] if lbaf is not None else [f"--block-size={disk.logical_sector_size}"]
    argv = ["nvme", "format", disk.path, f"--ses={ses}", *keep, "--force"]
    result, text = _read(run, argv, evidence, timeout=timeout_s)
    _check(result, text, f"nvme format --ses={ses}")
    if NVME_FORMAT_DONE not in result.text:
        raise FirmwareError(
            f"nvme format --ses={ses}: no success message: {_last_line(text, result)}"
        )


# ------------------------------------------------------------------ ATA SECURITY ERASE UNIT

# the Security section's flags (hdparm identify.c: "\tnot\t<flag>" or "\t\t<flag>")
SECURITY_WORDS = ("supported", "enabled", "locked", "frozen", "expired")


@dataclass(frozen=True)
class AtaSecurity:
    supported: bool
    enabled: bool
    locked: bool
    frozen: bool
    expired: bool


def parse_ata_security(text: str) -> AtaSecurity:
    """The Security section of ``hdparm -I``; ValueError unless it states both whether
    security is enabled and whether the drive is locked."""
    if "ATA device" not in text and "Model Number" not in text:
        raise ValueError("no ATA identify data")
    lines = security_section(text)
    if lines is None:
        raise ValueError("no Security section")
    flags = {word: flag(lines, word) for word in SECURITY_WORDS}
    if flags["enabled"] is None or flags["locked"] is None:
        raise ValueError("the Security section does not say whether it is enabled and locked")
    return AtaSecurity(
        supported=flags["supported"] is True,
        enabled=flags["enabled"],
        locked=flags["locked"],
        frozen=flags["frozen"] is True,
        expired=flags["expired"] is True,
    )


def _security_state(
    run: Run, disk: Disk, evidence: list[Evidence] | None
) -> tuple[AtaSecurity | None, str]:
    """Read the drive's security state back: (state, why not) ."""
    result, text = _read(run, ["hdparm", "-I", disk.path], evidence, timeout=60)
    if not result.ok:
        return None, f"hdparm -I failed: {_last_line(text, result)}"
    try:
        return parse_ata_security(result.text), ""
    except ValueError as exc:
        return None, f"hdparm -I: {exc}"


def ata_security_erase(
    disk: Disk,
    enhanced: bool,
    run: Run,
    timeout_s: float,
    evidence: list[Evidence] | None = None,
) -> None:
    disable = ["hdparm", "--user-master", "u", "--security-disable", ATA_PASSWORD, disk.path]
    set_pass, set_text = _read(
        run,
        ["hdparm", "--user-master", "u", "--security-set-pass", ATA_PASSWORD, disk.path],
        evidence,
    )
    # hdparm exits 0 even when the drive aborts: the sense data and the drive's own
    # "enabled" state tell the truth
    after, why = _security_state(run, disk, evidence)
    if (
        not set_pass.ok
        or "bad/missing sense" in set_text
        or after is None
        or not after.enabled
        or after.locked
    ):
        if after is None or after.enabled:  # never leave our password behind
            _read(run, disable, evidence)
        state = why or ("enabled" if after and after.enabled else "security not enabled")
        raise FirmwareError(f"the drive did not accept the temporary security password ({state})")
    flag = "--security-erase-enhanced" if enhanced else "--security-erase"
    try:
        erase_argv = ["hdparm", "--user-master", "u", flag, ATA_PASSWORD, disk.path]
        erase, text = _read(run, erase_argv, evidence, timeout=timeout_s)
        _check(erase, text, f"hdparm {flag}")
        final, why = _security_state(run, disk, evidence)
        if final is None:
            raise FirmwareError(f"security state unreadable after SECURITY ERASE UNIT ({why})")
        if final.enabled or final.locked:
            still = " and ".join(
                w for w, on in (("enabled", final.enabled), ("locked", final.locked)) if on
            )
            raise FirmwareError(f"security still {still} after SECURITY ERASE UNIT")
    except FirmwareError:
        # never leave a drive locked with our password
        _read(run, disable, evidence)
        raise


BLKSECDISCARD = 0x127D  # _IO(0x12, 125), linux/fs.h


def mmc_secure_erase(
    disk: Disk, fd: int | None, run: Run, timeout_s: float, evidence: list[Evidence] | None = None
) -> None:
    """eMMC secure erase/trim: the BLKSECDISCARD ioctl over the whole device.

    Issued on weee's own exclusive file descriptor when it has one (``blkdiscard
    --secure`` would open the device O_EXCL itself and find it busy).
    """
    if fd is None:
        result, text = _read(
            run, ["blkdiscard", "--secure", disk.path], evidence, timeout=timeout_s
        )
        _check(result, text, "blkdiscard --secure")
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
    evidence: list[Evidence] | None = None,
) -> None:
    """Run one firmware method; raises FirmwareError if the drive refused or failed it.

    Every state read the decision rests on (and the erase command's own answer) is
    appended to ``evidence`` with its raw output, whether the method succeeded or not.
    """
    # generous: the drive's own estimate doubled, or 4 h for the slowest laptop disks
    timeout_s = max(600.0, 2 * drive_estimate_s) if drive_estimate_s else 4 * 3600.0
    if method == "nvme-sanitize-crypto":
        nvme_sanitize(disk, 4, run, poll, timeout_s, evidence)
    elif method == "nvme-sanitize-block":
        nvme_sanitize(disk, 2, run, poll, timeout_s, evidence)
    elif method == "nvme-format-crypto":
        nvme_format(disk, 2, run, timeout_s, evidence)
    elif method == "nvme-format-user-data":
        nvme_format(disk, 1, run, timeout_s, evidence)
    elif method == "ata-sanitize-crypto":
        ata_sanitize(disk, "crypto", run, poll, timeout_s, evidence)
    elif method == "ata-sanitize-block":
        ata_sanitize(disk, "block", run, poll, timeout_s, evidence)
    elif method == "ata-security-erase-enhanced":
        ata_security_erase(disk, True, run, timeout_s, evidence)
    elif method == "ata-security-erase":
        ata_security_erase(disk, False, run, timeout_s, evidence)
    elif method == "mmc-secure-erase":
        mmc_secure_erase(disk, fd, run, timeout_s, evidence)
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
