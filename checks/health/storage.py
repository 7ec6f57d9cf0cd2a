"""Storage checks: SMART health per drive, the system drive against the policy, and the
drive's own short self-test.

:func:`evaluate_smart` and :func:`evaluate_system_drive` are pure (report + policy →
verdict). :func:`run_self_test` drives ``smartctl`` on the live machine through the
injected runner (``checks.system.run_command`` on a bench).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from checks.health.model import SEVERITY, Runner, Status, Verdict
from checks.i18n import Lang, Msg, msg, t
from checks.policy import ATA_ATTRIBUTES, Policy, StoragePolicy
from checks.probe.model import Smart, StorageDevice

# smartctl exit status bits (smartctl(8), "RETURN VALUES")
BIT_COMMAND_LINE = 1 << 0  # also an unknown USB bridge
BIT_OPEN_FAILED = 1 << 1
BIT_COMMAND_FAILED = 1 << 2
BIT_DISK_FAILING = 1 << 3
BIT_PREFAIL_NOW = 1 << 4
BIT_PREFAIL_PAST = 1 << 5
BIT_ERROR_LOG = 1 << 6
BIT_SELFTEST_LOG = 1 << 7

# NVMe critical_warning bits (NVM Express base spec, SMART / Health log, byte 0)
NVME_WARNING_BITS = {
    0: "available spare below threshold",
    1: "temperature out of range",
    2: "reliability degraded",
    3: "media read-only",
    4: "volatile memory backup failed",
    5: "persistent memory region read-only",
}


KIND_NAMES = {"nvme": "NVMe SSD", "ssd": "SSD", "hdd": "HDD", "emmc": "eMMC", "usb": "USB"}


def exit_status_bits(status: int | None) -> list[str]:
    """smartctl's exit status as the names of its set bits, for the evidence."""
    if not status:
        return []
    names = {
        0: "command line did not parse",
        1: "device open failed",
        2: "some SMART or ATA command failed",
        3: "SMART status: disk failing",
        4: "prefail attribute at or below threshold",
        5: "attribute at or below threshold in the past",
        6: "device error log has errors",
        7: "self-test log has errors",
    }
    return [names[b] for b in range(8) if status & (1 << b)]


def ata_counter(attr_id: int, raw: int) -> int:
    """The count a raw value means.

    Seagate packs attribute 188 as three 16-bit counters (timeouts over 0, 5 and 7.5 s:
    raw 17180131332 is 4/4/4), so a raw value above 16 bits is read as its lowest
    counter; the other attributes are plain counts.
    """
    if attr_id == 188 and raw > 0xFFFF:
        return raw & 0xFFFF
    return raw


def is_internal(dev: StorageDevice) -> bool:
    """A drive inside the laptop (not the boot stick or another USB drive)."""
    if dev.kind == "usb" or dev.protocol == "usb" or dev.transport == "usb":
        return False
    return not dev.removable


def drive_kind(dev: StorageDevice) -> str:
    if dev.kind:
        return dev.kind
    if dev.protocol == "nvme":
        return "nvme"
    if dev.rotational is True:
        return "hdd"
    if dev.rotational is False:
        return "ssd"
    return "other"


@dataclass
class _Finding:
    status: Status
    message: Msg


def _drive_repair(dev: StorageDevice, policy: Policy) -> Msg | None:
    kind = drive_kind(dev)
    if kind == "emmc":
        return None  # soldered to the board: nothing to swap
    if kind == "hdd":
        return msg("repair.replace_hdd_with_ssd")
    return msg("repair.replace_drive", min=policy.storage.min_gib)


def evaluate_smart(dev: StorageDevice, policy: Policy) -> Verdict:
    """One drive's SMART verdict. "No SMART" is its own outcome, never a pass."""
    sp: StoragePolicy = policy.storage
    smart = dev.smart
    name = dev.name
    evidence: dict[str, Any] = {
        "device": dev.path,
        "model": dev.model,
        "serial": dev.serial,
        "kind": drive_kind(dev),
        "smart_available": smart.available,
        "smart_passed": smart.passed,
        "power_on_hours": smart.power_on_hours,
        "smartctl_exit_status": smart.smartctl_exit_status,
        "smartctl_exit_bits": exit_status_bits(smart.smartctl_exit_status),
    }
    if not smart.available:
        reason = smart.unavailable_reason or "not supported"
        evidence["unavailable_reason"] = reason
        return Verdict(
            sp.no_smart, msg("storage.no_smart", name=name, reason=no_smart_reason(smart)), evidence
        )

    findings: list[_Finding] = []
    rc = smart.smartctl_exit_status or 0
    if smart.passed is False or rc & BIT_DISK_FAILING:
        findings.append(_Finding("fail", msg("storage.smart_failed", name=name)))
    if rc & BIT_PREFAIL_NOW:
        findings.append(_Finding("fail", msg("storage.prefail", name=name)))

    if smart.ata_attributes:
        evidence["ata"] = {str(k): v for k, v in sorted(smart.ata_attributes.items())}
    for attr_id, (_key, threshold) in sorted(sp.ata.by_id().items()):
        raw = smart.ata_attributes.get(attr_id)
        if raw is None:
            continue
        value = ata_counter(attr_id, raw)
        label = msg(f"ata.{attr_id}")
        if value > threshold.fail_above:
            findings.append(
                _Finding(
                    "fail",
                    msg(
                        "storage.ata_fail",
                        name=name,
                        attribute=label,
                        value=value,
                        limit=threshold.fail_above,
                    ),
                )
            )
        elif value > threshold.warn_above:
            findings.append(
                _Finding(
                    "warn",
                    msg(
                        "storage.ata_warn",
                        name=name,
                        attribute=label,
                        value=value,
                        limit=threshold.fail_above,
                    ),
                )
            )

    nvme = smart.nvme
    if nvme is not None:
        evidence["nvme"] = {
            "critical_warning": nvme.critical_warning,
            "media_errors": nvme.media_errors,
            "percentage_used": nvme.percentage_used,
            "available_spare": nvme.available_spare,
            "available_spare_threshold": nvme.available_spare_threshold,
        }
        np = sp.nvme
        if nvme.critical_warning and np.fail_on_critical_warning:
            raised = [b for b in NVME_WARNING_BITS if nvme.critical_warning & (1 << b)]
            flags = [msg(f"nvme.warning.{b}") for b in raised]
            findings.append(
                _Finding(
                    "fail",
                    msg(
                        "storage.nvme_critical",
                        name=name,
                        flags=flags or f"0x{nvme.critical_warning:02x}",
                    ),
                )
            )
        if nvme.media_errors is not None and nvme.media_errors > np.media_errors_fail_above:
            findings.append(
                _Finding(
                    "fail", msg("storage.nvme_media_errors", name=name, value=nvme.media_errors)
                )
            )
        if nvme.percentage_used is not None:
            if nvme.percentage_used >= np.percentage_used_fail_at:
                findings.append(
                    _Finding(
                        "fail", msg("storage.nvme_worn_fail", name=name, used=nvme.percentage_used)
                    )
                )
            elif nvme.percentage_used >= np.percentage_used_warn_at:
                findings.append(
                    _Finding(
                        "warn", msg("storage.nvme_worn_warn", name=name, used=nvme.percentage_used)
                    )
                )
        spare, spare_min = nvme.available_spare, nvme.available_spare_threshold
        # a threshold of 0 means the drive does not use one (Intel SSDPEK1A058GA says 0)
        if spare is not None and spare_min:
            if spare <= spare_min:
                findings.append(
                    _Finding(
                        "fail",
                        msg("storage.nvme_spare_fail", name=name, spare=spare, threshold=spare_min),
                    )
                )
            elif spare <= spare_min + np.spare_warn_margin:
                findings.append(
                    _Finding(
                        "warn",
                        msg("storage.nvme_spare_warn", name=name, spare=spare, threshold=spare_min),
                    )
                )

    if rc & BIT_SELFTEST_LOG and sp.warn_on_self_test_log_errors:
        findings.append(_Finding("warn", msg("storage.selftest_log_warn", name=name)))
    if rc & BIT_ERROR_LOG and sp.warn_on_error_log:
        findings.append(_Finding("warn", msg("storage.error_log_warn", name=name)))
    hours = smart.power_on_hours
    if hours is not None and hours > sp.power_on_hours_warn_above:
        findings.append(_Finding("warn", msg("storage.hours_warn", name=name, hours=hours)))

    evidence["findings"] = [f.message.render("en") for f in findings]
    if not findings:
        ok = (
            msg("storage.ok_hours", name=name, hours=hours)
            if hours is not None
            else msg("storage.ok", name=name)
        )
        return Verdict("pass", ok, evidence)
    top = max(findings, key=lambda f: SEVERITY[f.status])
    repair = _drive_repair(dev, policy) if top.status == "fail" else None
    return Verdict(top.status, top.message, evidence, repair=repair)


def system_drive(devices: list[StorageDevice]) -> StorageDevice | None:
    """The internal drive the OS will go on: the largest solid-state one, else the
    largest internal drive."""
    internal = [d for d in devices if is_internal(d)]
    if not internal:
        return None

    def key(d: StorageDevice) -> tuple[bool, int]:
        return (drive_kind(d) != "hdd", d.size_bytes or 0)

    return max(internal, key=key)


def evaluate_system_drive(devices: list[StorageDevice], policy: Policy) -> Verdict:
    sp = policy.storage
    dev = system_drive(devices)
    if dev is None:
        return Verdict(
            "fail",
            msg("storage.system_none"),
            {"drives": [d.path for d in devices]},
            repair=msg("repair.fit_ssd", min=sp.min_gib),
        )
    kind = drive_kind(dev)
    size_gb = round((dev.size_bytes or 0) / 1e9)
    evidence = {
        "device": dev.path,
        "model": dev.model,
        "kind": kind,
        "rotational": dev.rotational,
        "size_bytes": dev.size_bytes,
        "min_gib": sp.min_gib,
        "require_ssd": sp.require_ssd,
    }
    if sp.require_ssd and kind == "hdd":
        return Verdict(
            "fail",
            msg("storage.system_hdd", name=dev.name),
            evidence,
            repair=msg("repair.replace_hdd_with_ssd"),
        )
    # drives are sold in decimal GB, the policy counts GiB with a little slack: a
    # "128 GB" SSD (119.2 GiB) must meet a 120 GiB minimum the way people mean it
    if dev.size_bytes is not None and dev.size_bytes < sp.min_gib * 1e9 * 0.99:
        return Verdict(
            "fail",
            msg("storage.system_small", name=dev.name, size=size_gb, min=sp.min_gib),
            evidence,
            repair=_drive_repair(dev, policy),
        )
    return Verdict(
        "pass", msg("storage.system_ok", name=dev.name, kind=kind.upper(), size=size_gb), evidence
    )


# --- the short self-test (live) --------------------------------------------------------


@dataclass
class SelfTestProgress:
    running: bool
    remaining_percent: int | None = None


@dataclass
class SelfTestOutcome:
    passed: bool | None  # None: not finished / unknown
    result: str


def parse_self_test_progress(doc: dict[str, Any]) -> SelfTestProgress:
    """From ``smartctl --json -c``: is a self-test running, and how much is left."""
    ata = doc.get("ata_smart_data", {}).get("self_test", {}).get("status")
    if isinstance(ata, dict) and isinstance(ata.get("value"), int):
        # ATA self-test execution status: high nibble 0xF means "in progress"
        running = (ata["value"] >> 4) == 0xF
        remaining = ata.get("remaining_percent")
        return SelfTestProgress(running, remaining if running else 0)
    nvme = doc.get("nvme_self_test_log")
    if isinstance(nvme, dict):
        op = nvme.get("current_self_test_operation", {})
        running = bool(op.get("value")) if isinstance(op, dict) else False
        done = nvme.get("current_self_test_completion_percent")
        remaining = 100 - done if isinstance(done, int) and running else (None if running else 0)
        return SelfTestProgress(running, remaining)
    return SelfTestProgress(False, None)


NO_SELF_TEST_LOG = "no self-test log entry"


def parse_self_test_result(doc: dict[str, Any]) -> SelfTestOutcome:
    """From ``smartctl --json -l selftest``: the newest entry of the self-test log."""
    table = doc.get("ata_smart_self_test_log", {}).get("standard", {}).get("table")
    if isinstance(table, list) and table:
        status = table[0].get("status", {})
        return SelfTestOutcome(status.get("passed"), str(status.get("string", "unknown")))
    nvme = doc.get("nvme_self_test_log", {}).get("table")
    if isinstance(nvme, list) and nvme:
        res = nvme[0].get("self_test_result", {})
        value = res.get("value")
        # NVMe result 0 = completed without error; 1/2 = aborted; higher = failed
        passed = None if value in (1, 2) else value == 0
        return SelfTestOutcome(passed, str(res.get("string", f"result {value}")))
    return SelfTestOutcome(None, NO_SELF_TEST_LOG)


def _result_words(result: str) -> Msg | str:
    """The self-test's result for a summary: smartctl's own status words as the drive
    gave them (quoted data), ours from the catalogue."""
    return msg("storage.selftest_no_log") if result == NO_SELF_TEST_LOG else result


def _json(stdout: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(stdout)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def run_self_test(
    dev: StorageDevice,
    *,
    run: Runner,
    limit_s: float,
    poll_s: float = 5.0,
    progress: Callable[[str], None] = lambda _t: None,
    sleep: Callable[[float], None] = time.sleep,
    lang: Lang = "en",
    clock: Callable[[], float] = time.monotonic,
) -> Verdict:
    """Start the drive's short self-test, poll it until done or ``limit_s``, judge it."""
    name = dev.name
    evidence: dict[str, Any] = {"device": dev.path, "limit_s": limit_s}
    start = run(["smartctl", "--json", "-t", "short", dev.path], timeout=30)
    started = _json(start.stdout)
    evidence["start_exit_status"] = start.returncode
    messages = [
        m.get("string", "")
        for m in started.get("smartctl", {}).get("messages", [])
        if isinstance(m, dict)
    ]
    if start.returncode is None or (start.returncode & (BIT_OPEN_FAILED | BIT_COMMAND_FAILED)):
        error = start.error or "; ".join(messages) or f"exit status {start.returncode}"
        evidence["error"] = error
        if any("not support" in m.lower() for m in messages):
            return Verdict("skip", msg("storage.selftest_unsupported", name=name), evidence)
        return Verdict(
            "skip", msg("storage.selftest_start_failed", name=name, error=error), evidence
        )
    t0 = clock()
    remaining: int | None = None
    try:
        while True:
            sleep(poll_s)
            poll = run(["smartctl", "--json", "-c", dev.path], timeout=30)
            state = parse_self_test_progress(_json(poll.stdout))
            elapsed = clock() - t0
            if not state.running:
                break
            remaining = state.remaining_percent
            left = "?" if remaining is None else remaining
            progress(t("progress.self_test", lang, name=name, left=left))
            if elapsed >= limit_s:
                # stop it so the drive is not busy testing while it is wiped
                run(["smartctl", "-X", dev.path], timeout=30)
                evidence.update({"elapsed_s": round(elapsed, 1), "remaining_percent": remaining})
                return Verdict(
                    "warn",
                    msg(
                        "storage.selftest_timeout",
                        name=name,
                        limit=round(limit_s),
                        remaining=remaining if remaining is not None else "?",
                    ),
                    evidence,
                )
    except BaseException:
        # interrupted (Ctrl+C, a crash elsewhere): stop the drive's test too, so a wipe
        # that follows does not find the drive busy
        run(["smartctl", "-X", dev.path], timeout=30)
        raise
    log = run(["smartctl", "--json", "-l", "selftest", dev.path], timeout=30)
    outcome = parse_self_test_result(_json(log.stdout))
    evidence.update({"elapsed_s": round(clock() - t0, 1), "result": outcome.result})
    if outcome.passed is True:
        return Verdict(
            "pass",
            msg("storage.selftest_passed", name=name, seconds=round(clock() - t0)),
            evidence,
        )
    if outcome.passed is False:
        return Verdict(
            "fail",
            msg("storage.selftest_failed", name=name, result=_result_words(outcome.result)),
            evidence,
        )
    return Verdict(
        "warn",
        msg("storage.selftest_aborted", name=name, result=_result_words(outcome.result)),
        evidence,
    )


def no_smart_reason(smart: Smart) -> Msg:
    """Why a drive gives no SMART data, in words of either language.

    The probe's reason is English text (often smartctl's own message, e.g. "Unknown USB
    bridge"): the English sentence keeps it as it is, the French one says which of a few
    known cases it is; the evidence keeps the text itself."""
    raw = smart.unavailable_reason or "not supported"
    status = smart.smartctl_exit_status or 0
    lowered = raw.lower()
    if "not supported" in lowered:
        kind = "unsupported"
    elif "disabled" in lowered:
        kind = "disabled"
    elif status & BIT_OPEN_FAILED:
        kind = "open_failed"
    elif status & BIT_COMMAND_LINE or "bridge" in lowered:
        kind = "bridge"
    else:
        kind = "no_data"
    return msg(f"storage.no_smart_reason.{kind}", raw=raw)


def self_test_applies(dev: StorageDevice) -> Msg | None:
    """None when the drive can run a self-test, else why not."""
    if not dev.smart.available:
        return msg("storage.no_smart", name=dev.name, reason=no_smart_reason(dev.smart))
    if dev.smart.self_test_supported is False:
        return msg("storage.selftest_unsupported", name=dev.name)
    return None


__all__ = [
    "ATA_ATTRIBUTES",
    "evaluate_smart",
    "evaluate_system_drive",
    "run_self_test",
    "system_drive",
]
