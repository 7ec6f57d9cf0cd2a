"""Storage verdicts over the smartctl recordings of real drives, and the policy's edges.

Each recording is replayed as a one-drive capture through the probe, then judged. The
expected verdict is worked out here from the recording's own JSON (smart_status, the raw
attribute table, the NVMe health log, the exit status) and the policy's thresholds, not
copied from weee's output.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from checks.health.model import SEVERITY
from checks.health.storage import (
    evaluate_smart,
    evaluate_system_drive,
    parse_self_test_progress,
    parse_self_test_result,
    run_self_test,
)
from checks.policy import ATA_ATTRIBUTES, Policy, load_default_policy, parse_policy
from checks.probe import build_report
from checks.probe.model import NvmeHealth, Smart, StorageDevice
from checks.source import CaptureSource
from checks.system import CommandResult
from tests.conftest import CaptureFactory, fixture_files

RECORDINGS = fixture_files("smartctl", "*.json")
POLICY = load_default_policy()


def _kname(recording: Path) -> str:
    return "nvme0n1" if "nvme" in recording.name.lower() else "sda"


def _count(attr: dict[str, Any]) -> int:
    """The count behind an ATA raw value, read from smartctl's own raw string: Seagate's
    attribute 188 prints as "2 2 2" (three counters) or as their packed 48-bit number."""
    raw = attr["raw"]
    parts = str(raw.get("string", "")).split()
    if attr["id"] == 188 and len(parts) > 1:
        return int(parts[0])
    value = int(raw["value"])
    if attr["id"] == 188 and value > 0xFFFF:
        return value & 0xFFFF
    return value


def expected_status(doc: dict[str, Any], policy: Policy) -> str:
    sp = policy.storage
    rc = int(doc.get("smartctl", {}).get("exit_status", 0))
    passed = doc.get("smart_status", {}).get("passed")
    table = doc.get("ata_smart_attributes", {}).get("table", [])
    log = doc.get("nvme_smart_health_information_log")
    if passed is None and not table and log is None:
        return sp.no_smart
    found = ["pass"]
    if passed is False or rc & 8 or rc & 16:
        found.append("fail")
    for attr in table:
        name = next((n for n, i in ATA_ATTRIBUTES.items() if i == attr["id"]), None)
        if name is None:
            continue
        limits = getattr(sp.ata, name)
        count = _count(attr)
        found.append(
            "fail" if count > limits.fail_above else "warn" if count > limits.warn_above else "pass"
        )
    if log is not None:
        np = sp.nvme
        if log["critical_warning"]:
            found.append("fail")
        if log["media_errors"] > np.media_errors_fail_above:
            found.append("fail")
        used = log["percentage_used"]
        found.append(
            "fail"
            if used >= np.percentage_used_fail_at
            else "warn"
            if used >= np.percentage_used_warn_at
            else "pass"
        )
        spare, floor = log["available_spare"], log["available_spare_threshold"]
        if floor:
            found.append(
                "fail"
                if spare <= floor
                else "warn"
                if spare <= floor + np.spare_warn_margin
                else "pass"
            )
    if rc & 128 and sp.warn_on_self_test_log_errors:
        found.append("warn")
    hours = doc.get("power_on_time", {}).get("hours")
    if hours is not None and hours > sp.power_on_hours_warn_above:
        found.append("warn")
    return max(found, key=lambda s: SEVERITY[s])


def _drive(recording: Path, make_capture: CaptureFactory) -> StorageDevice:
    capture = make_capture({f"cmd/smartctl/{_kname(recording)}.json": recording})
    report = build_report(CaptureSource(capture))
    assert len(report.storage) == 1
    return report.storage[0]


@pytest.mark.parametrize("recording", RECORDINGS, ids=lambda p: p.name)
def test_every_recorded_drive_gets_the_verdict_its_smart_data_calls_for(
    recording: Path, make_capture: CaptureFactory
) -> None:
    doc = json.loads(recording.read_text())
    verdict = evaluate_smart(_drive(recording, make_capture), POLICY)
    assert verdict.status == expected_status(doc, POLICY)
    both = verdict.message.both()
    assert both["en"] and both["fr"] and both["en"] != both["fr"]
    assert verdict.evidence["device"].startswith("/dev/")
    if verdict.status == "fail":
        assert verdict.repair is not None


def test_recordings_are_all_there() -> None:
    if not RECORDINGS:
        pytest.skip("smartctl recordings not available")
    assert len(RECORDINGS) >= 100


def test_nvme_drive_with_media_errors_fails(make_capture: CaptureFactory) -> None:
    recording = next((p for p in RECORDINGS if p.name == "scrutiny-smart-nvme-failed.json"), None)
    if recording is None:
        pytest.skip("scrutiny recordings not available")
    verdict = evaluate_smart(_drive(recording, make_capture), POLICY)
    assert verdict.status == "fail"
    assert verdict.message.id == "storage.nvme_media_errors"
    assert verdict.evidence["nvme"]["media_errors"] == 7
    assert "7" in verdict.message.render("en") and "7" in verdict.message.render("fr")


def test_failed_smartctl_run_is_no_smart_never_a_pass(make_capture: CaptureFactory) -> None:
    recording = next((p for p in RECORDINGS if p.name == "scrutiny-smart-fail.json"), None)
    if recording is None:
        pytest.skip("scrutiny recordings not available")
    drive = _drive(recording, make_capture)
    assert evaluate_smart(drive, POLICY).status == "warn"
    skip_policy = parse_policy('[storage]\nno_smart = "skip"\n')
    verdict = evaluate_smart(drive, skip_policy)
    assert verdict.status == "skip"
    assert verdict.message.id == "storage.no_smart"
    assert "Open failed" in verdict.evidence["unavailable_reason"]


def test_clean_drives_pass(make_capture: CaptureFactory) -> None:
    """Drives whose counters are all zero and hours low pass (there are many)."""
    clean = []
    for recording in RECORDINGS:
        doc = json.loads(recording.read_text())
        table = doc.get("ata_smart_attributes", {}).get("table", [])
        counters = [a["raw"]["value"] for a in table if a["id"] in ATA_ATTRIBUTES.values()]
        log = doc.get("nvme_smart_health_information_log") or {}
        if (
            doc.get("smart_status", {}).get("passed") is True
            and not any(counters)
            and not log.get("media_errors")
            and not log.get("critical_warning")
            and log.get("percentage_used", 0) < 80
            and (doc.get("power_on_time", {}).get("hours") or 0) <= 15000
            and not doc["smartctl"]["exit_status"] & 0b10011000
        ):
            clean.append(recording)
    if not clean:
        pytest.skip("no recordings")
    assert len(clean) >= 20
    for recording in clean:
        verdict = evaluate_smart(_drive(recording, make_capture), POLICY)
        assert verdict.status == "pass", recording.name


# --- thresholds at their edges, on hand-built drives ----------------------------------


def ata_drive(**attrs: int) -> StorageDevice:
    return StorageDevice(
        name="sda",
        path="/dev/sda",
        kind="ssd",
        rotational=False,
        size_bytes=256_000_000_000,
        smart=Smart(
            available=True,
            passed=True,
            power_on_hours=100,
            ata_attributes={int(k): v for k, v in attrs.items()},
        ),
    )


@pytest.mark.parametrize("name", sorted(ATA_ATTRIBUTES))
def test_ata_attribute_edges(name: str) -> None:
    attr = ATA_ATTRIBUTES[name]
    limits = getattr(POLICY.storage.ata, name)
    at = {str(attr): limits.warn_above}
    assert evaluate_smart(ata_drive(**at), POLICY).status == "pass"
    over_warn = limits.warn_above + 1
    status = "fail" if over_warn > limits.fail_above else "warn"
    assert evaluate_smart(ata_drive(**{str(attr): over_warn}), POLICY).status == status
    assert evaluate_smart(ata_drive(**{str(attr): limits.fail_above}), POLICY).status in (
        "pass",
        "warn",
    )
    failing = evaluate_smart(ata_drive(**{str(attr): limits.fail_above + 1}), POLICY)
    assert failing.status == "fail"
    assert failing.evidence["ata"][str(attr)] == limits.fail_above + 1


def test_seagate_packed_command_timeouts_use_the_lowest_counter() -> None:
    packed = (4 << 32) | (4 << 16) | 4  # smartctl shows "4 4 4"
    verdict = evaluate_smart(ata_drive(**{"188": packed}), POLICY)
    assert verdict.status == "warn"
    assert verdict.message.params["value"] == 4


def nvme_drive(**health: int) -> StorageDevice:
    values = {
        "critical_warning": 0,
        "media_errors": 0,
        "percentage_used": 0,
        "available_spare": 100,
        "available_spare_threshold": 10,
    }
    values.update(health)
    return StorageDevice(
        name="nvme0n1",
        path="/dev/nvme0n1",
        kind="nvme",
        protocol="nvme",
        rotational=False,
        size_bytes=512_000_000_000,
        smart=Smart(available=True, passed=True, power_on_hours=10, nvme=NvmeHealth(**values)),
    )


@pytest.mark.parametrize(
    ("health", "status", "message"),
    [
        ({}, "pass", "storage.ok_hours"),
        ({"critical_warning": 4}, "fail", "storage.nvme_critical"),
        ({"media_errors": 1}, "fail", "storage.nvme_media_errors"),
        ({"percentage_used": 79}, "pass", "storage.ok_hours"),
        ({"percentage_used": 80}, "warn", "storage.nvme_worn_warn"),
        ({"percentage_used": 99}, "warn", "storage.nvme_worn_warn"),
        ({"percentage_used": 100}, "fail", "storage.nvme_worn_fail"),
        ({"available_spare": 10}, "fail", "storage.nvme_spare_fail"),
        ({"available_spare": 11}, "warn", "storage.nvme_spare_warn"),
        ({"available_spare": 20}, "warn", "storage.nvme_spare_warn"),
        ({"available_spare": 21}, "pass", "storage.ok_hours"),
        ({"available_spare": 0, "available_spare_threshold": 0}, "pass", "storage.ok_hours"),
    ],
)
def test_nvme_edges(health: dict[str, int], status: str, message: str) -> None:
    verdict = evaluate_smart(nvme_drive(**health), POLICY)
    assert (verdict.status, verdict.message.id) == (status, message)


def test_critical_warning_names_the_bits() -> None:
    verdict = evaluate_smart(nvme_drive(critical_warning=0b1001), POLICY)
    assert "available spare below threshold" in verdict.message.render("en")
    assert "media read-only" in verdict.message.render("en")


@pytest.mark.parametrize(("hours", "status"), [(15000, "pass"), (15001, "warn")])
def test_power_on_hours_edge(hours: int, status: str) -> None:
    drive = ata_drive()
    drive.smart.power_on_hours = hours
    assert evaluate_smart(drive, POLICY).status == status


def test_overall_smart_failure_fails_an_hdd_with_the_ssd_repair() -> None:
    drive = dataclasses.replace(ata_drive(), kind="hdd", rotational=True)
    drive.smart.passed = False
    verdict = evaluate_smart(drive, POLICY)
    assert verdict.status == "fail" and verdict.message.id == "storage.smart_failed"
    assert (
        verdict.repair is not None and verdict.repair.render("en") == "replace the HDD with an SSD"
    )


def test_self_test_log_errors_warn_only_when_the_policy_says() -> None:
    drive = ata_drive()
    drive.smart.smartctl_exit_status = 128
    assert evaluate_smart(drive, POLICY).status == "warn"
    quiet = parse_policy("[storage]\nwarn_on_self_test_log_errors = false\n")
    assert evaluate_smart(drive, quiet).status == "pass"


# --- the system drive ---------------------------------------------------------------


def disk(name: str, kind: str, size: int, **kw: Any) -> StorageDevice:
    return StorageDevice(
        name=name, path=f"/dev/{name}", kind=kind, rotational=kind == "hdd", size_bytes=size, **kw
    )


@pytest.mark.parametrize(
    ("drives", "status", "repair"),
    [
        ([disk("sda", "ssd", 128_000_000_000)], "pass", None),
        ([disk("sda", "ssd", int(120 * 1e9 * 0.99))], "pass", None),
        (
            [disk("sda", "ssd", int(120 * 1e9 * 0.99) - 1)],
            "fail",
            "replace the drive with an SSD of at least 120 GB",
        ),
        ([disk("sda", "hdd", 500_000_000_000)], "fail", "replace the HDD with an SSD"),
        (
            [disk("sda", "hdd", 500_000_000_000), disk("nvme0n1", "nvme", 256_000_000_000)],
            "pass",
            None,
        ),
        ([disk("mmcblk0", "emmc", 64_000_000_000)], "fail", None),
        (
            [disk("sdb", "usb", 64_000_000_000, transport="usb")],
            "fail",
            "fit an SSD of at least 120 GB",
        ),
        ([], "fail", "fit an SSD of at least 120 GB"),
    ],
    ids=[
        "ssd-128",
        "ssd-at-edge",
        "ssd-below-edge",
        "hdd",
        "hdd-and-nvme",
        "emmc-small",
        "only-usb",
        "none",
    ],
)
def test_system_drive_against_policy(
    drives: list[StorageDevice], status: str, repair: str | None
) -> None:
    verdict = evaluate_system_drive(drives, POLICY)
    assert verdict.status == status
    assert (verdict.repair.render("en") if verdict.repair else None) == repair


def test_hdd_is_fine_when_the_policy_allows_it() -> None:
    policy = parse_policy("[storage]\nrequire_ssd = false\n")
    assert evaluate_system_drive([disk("sda", "hdd", 500_000_000_000)], policy).status == "pass"


# --- the self-test, driven through a runner that replays smartctl's answers ----------


class ReplayRunner:
    """Answers smartctl calls from a script of JSON documents; records the argv."""

    def __init__(self, answers: list[tuple[int, dict[str, Any]]]) -> None:
        self.answers = answers
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str], timeout: float = 30) -> CommandResult:
        self.calls.append(list(argv))
        rc, doc = self.answers.pop(0) if self.answers else (0, {})
        return CommandResult(tuple(argv), rc, json.dumps(doc).encode(), b"", 0.01)


def _progress(value: int, remaining: int | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"value": value, "string": "x"}
    if remaining is not None:
        status["remaining_percent"] = remaining
    return {"ata_smart_data": {"self_test": {"status": status}}}


def _log(passed: bool, text: str) -> dict[str, Any]:
    return {
        "ata_smart_self_test_log": {
            "standard": {"table": [{"status": {"passed": passed, "string": text}}]}
        }
    }


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s


@pytest.mark.parametrize(
    ("log", "status"),
    [
        (_log(True, "Completed without error"), "pass"),
        (_log(False, "Completed: read failure"), "fail"),
    ],
)
def test_self_test_polls_until_done(log: dict[str, Any], status: str) -> None:
    runner = ReplayRunner(
        [(0, {}), (0, _progress(249, 90)), (0, _progress(242, 20)), (0, _progress(0)), (0, log)]
    )
    clock = FakeClock()
    seen: list[str] = []
    verdict = run_self_test(
        ata_drive(),
        run=runner,
        limit_s=120,
        poll_s=5,
        progress=seen.append,
        sleep=clock.sleep,
        clock=clock,
    )
    assert verdict.status == status
    assert runner.calls[0] == ["smartctl", "--json", "-t", "short", "/dev/sda"]
    assert runner.calls[-1] == ["smartctl", "--json", "-l", "selftest", "/dev/sda"]
    assert seen == [
        "sda: SMART short self-test, 90 % left",
        "sda: SMART short self-test, 20 % left",
    ]


def test_self_test_time_limit_aborts_the_test() -> None:
    runner = ReplayRunner([(0, {})] + [(0, _progress(249, 90))] * 50)
    clock = FakeClock()
    verdict = run_self_test(
        ata_drive(), run=runner, limit_s=30, poll_s=5, sleep=clock.sleep, clock=clock
    )
    assert verdict.status == "warn" and verdict.message.id == "storage.selftest_timeout"
    assert ["smartctl", "-X", "/dev/sda"] in runner.calls
    assert clock.now <= 35


def test_self_test_unsupported_is_a_skip() -> None:
    answer = {
        "smartctl": {"messages": [{"string": "NVMe self-test not supported", "severity": "error"}]}
    }
    runner = ReplayRunner([(4, answer)])
    verdict = run_self_test(nvme_drive(), run=runner, limit_s=30, sleep=lambda _s: None)
    assert verdict.status == "skip" and verdict.message.id == "storage.selftest_unsupported"


def test_self_test_json_shapes_of_recorded_drives() -> None:
    recording = next((p for p in RECORDINGS if p.name == "scrutiny-smart-ata.json"), None)
    if recording is None:
        pytest.skip("scrutiny recordings not available")
    doc = json.loads(recording.read_text())
    # that drive was recorded with a self-test running, 10 % left
    progress = parse_self_test_progress(doc)
    assert progress.running and progress.remaining_percent == 10
    outcome = parse_self_test_result(doc)
    assert outcome.passed is True and outcome.result == "Completed without error"
