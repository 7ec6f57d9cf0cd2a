"""The timed checks on this machine: the memory pattern test and the CPU stress honour
their time budgets; temperature and throttling verdicts from given sensor readings."""

from __future__ import annotations

import os
import time
from collections import namedtuple
from typing import Any

import pytest

from checks.health import run_health_checks
from checks.health.cpu import (
    StressRun,
    StressSample,
    evaluate_sensors,
    evaluate_stress,
    read_temperatures,
    run_stress,
    throttle_counts,
)
from checks.health.memory import pattern_test
from checks.policy import load_default_policy, parse_policy
from checks.probe import build_report
from checks.source import CaptureSource, LiveSource
from tests.conftest import CaptureFactory

POLICY = load_default_policy()
Temp = namedtuple("Temp", "label current high critical")


def test_memory_pattern_test_finds_no_error_in_good_ram() -> None:
    verdict = pattern_test(64, 30)
    assert verdict.status == "pass"
    assert verdict.evidence["patterns_done"] == 5
    assert verdict.evidence["bytes_written_and_verified"] == 5 * 64 * 1024 * 1024


class Ticks:
    """A clock that advances 10 ms each time it is read: the budget is honoured in reads
    of the clock, the same on a quiet machine and a loaded one (a stopwatch is not)."""

    def __init__(self) -> None:
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return (self.reads - 1) / 100


def test_memory_pattern_test_honours_its_budget() -> None:
    clock = Ticks()
    verdict = pattern_test(2048, 0.3, clock=clock)
    assert verdict.status == "pass"
    # writing stops at the budget (at most 30 clock reads of 10 ms, one per 1 MiB chunk
    # written), in the first of the five patterns; what was written is verified
    written = verdict.evidence["bytes_written_and_verified"]
    assert 0 < written <= 30 * 1024 * 1024 and written % (1024 * 1024) == 0
    assert verdict.evidence["patterns_done"] == 0
    assert verdict.evidence["duration_s"] <= 0.35  # the budget and the last few reads
    assert clock.reads <= 35


def test_memory_pattern_test_leaves_the_system_its_memory() -> None:
    verdict = pattern_test(256, 5, available_bytes=lambda: 520 * 1024 * 1024)
    assert verdict.status == "skip" and verdict.message.id == "memory.pattern_short"


def test_stress_runs_on_every_core_for_its_budget() -> None:
    start = time.monotonic()
    run = run_stress(2.0, source=LiveSource("/"), sample_s=0.5)
    took = time.monotonic() - start
    # at least its budget; the workers stop by themselves at the deadline: had they to
    # be terminated, joining them would add 5 s each (a loaded machine adds far less)
    assert 2.0 <= took < 2.0 + 5.0, took
    assert run.workers == (os.cpu_count() or 1)
    # one sample every 0.5 s (a sleep is never shorter: a loaded machine can only make
    # fewer), the last one at the deadline; times are rounded to 0.1 s
    times = [s.t for s in run.samples]
    assert 1 <= len(times) <= 5, times
    assert all(b - a >= 0.5 - 0.1 for a, b in zip(times[:-2], times[1:-1], strict=True)), times
    assert times[-1] >= 2.0 - 0.1, times
    assert evaluate_stress(run, POLICY).status in ("pass", "warn")


def test_stress_reads_the_temperature_even_when_its_budget_is_already_spent() -> None:
    # as when starting the workers took the whole (short) budget on a loaded machine:
    # the edge tests below run 0.6 s and must always have a sample to judge
    run = run_stress(0.0, source=LiveSource("/"), sample_s=0.2, sensors=lambda: hot(95.0))
    assert [s.temp_c for s in run.samples] == [95.0]
    assert evaluate_stress(run, POLICY).status == "warn"


def hot(celsius: float) -> dict[str, list[Any]]:
    return {
        "coretemp": [
            Temp("Package id 0", celsius, 100.0, 100.0),
            Temp("Core 0", celsius - 2, 100.0, 100.0),
        ]
    }


@pytest.mark.parametrize(
    ("celsius", "status", "message"),
    [
        (70.0, "pass", "cpu.stress_ok"),
        (89.9, "pass", "cpu.stress_ok"),
        (90.0, "warn", "cpu.stress_hot_warn"),
        (99.9, "warn", "cpu.stress_hot_warn"),
        (100.0, "fail", "cpu.stress_hot_fail"),
    ],
)
def test_stress_temperature_edges(celsius: float, status: str, message: str) -> None:
    run = run_stress(0.6, source=LiveSource("/"), sample_s=0.2, sensors=lambda: hot(celsius))
    verdict = evaluate_stress(run, POLICY)
    assert (verdict.status, verdict.message.id) == (status, message)
    assert verdict.evidence["peak_c"] == celsius


def _run(mhz: list[float], max_mhz: float | None = 3000.0, throttles: int = 0) -> StressRun:
    samples = [StressSample(float(i), 60.0, m) for i, m in enumerate(mhz)]
    return StressRun(
        seconds=len(mhz), workers=4, samples=samples, max_mhz=max_mhz, throttle_events=throttles
    )


@pytest.mark.parametrize(
    ("run", "status"),
    [
        (_run([3000, 2900, 2800, 2700]), "pass"),
        (_run([3000, 2900, 1500, 1500]), "pass"),  # exactly half of the maximum
        (_run([3000, 2900, 1499, 1600]), "warn"),  # below half, late in the run
        (_run([1000, 1000, 2800, 2700]), "pass"),  # slow start does not count
        (_run([3000, 3000, 3000, 3000], max_mhz=None), "pass"),
        (_run([3000, 3000, 3000, 3000], throttles=3), "warn"),
    ],
)
def test_throttling_verdicts(run: StressRun, status: str) -> None:
    assert evaluate_stress(run, POLICY).status == status


def test_throttle_counters_from_sysfs(make_capture: CaptureFactory) -> None:
    capture = make_capture(
        {
            "sys/devices/system/cpu/cpu0/thermal_throttle/core_throttle_count": "4\n",
            "sys/devices/system/cpu/cpu0/thermal_throttle/package_throttle_count": "9\n",
            "sys/devices/system/cpu/cpu1/thermal_throttle/core_throttle_count": "0\n",
        }
    )
    counts = throttle_counts(CaptureSource(capture))
    assert counts == {
        "cpu0/core_throttle_count": 4,
        "cpu0/package_throttle_count": 9,
        "cpu1/core_throttle_count": 0,
    }


def test_sensor_sanity() -> None:
    assert evaluate_sensors([]).status == "warn"
    assert evaluate_sensors(read_temperatures(lambda: hot(45.0))).status == "pass"
    broken = read_temperatures(lambda: {"acpitz": [Temp("", 0.0, None, None)], **hot(45.0)})
    verdict = evaluate_sensors(broken)
    assert verdict.status == "warn" and "acpitz" in verdict.message.render("en")


def test_default_unattended_live_run_within_its_budgets() -> None:
    """Every automatic check gives a verdict on this machine; the timed ones keep to
    their budgets (shortened here: the benchmark measures the default ones)."""
    policy = parse_policy(
        "[cpu]\nstress_s = 2.0\n[memory]\npattern_test_mib = 64\npattern_test_budget_s = 2.0\n"
    )
    source = LiveSource("/")
    start = time.monotonic()
    outcome = run_health_checks(build_report(source), source, policy, unattended=True)
    took = time.monotonic() - start
    by_id = {r.id: r for r in outcome.results}
    assert by_id["memory.pattern"].status in ("pass", "skip")
    # the policy's 2 s, not the default 15 s (a loaded machine adds to it, never
    # takes from it)
    assert 2.0 <= by_id["cpu.stress"].duration_s < 10, by_id["cpu.stress"].duration_s
    assert all(r.status == "skip" for r in outcome.results if r.interactive)
    assert took < 30
    doc = outcome.to_dict("fr")
    assert doc["grade"]["policy"]["sha256"] == policy.sha256
