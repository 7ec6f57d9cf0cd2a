"""CPU checks: generation against the policy, a short stress with a temperature and
throttling watch, and sensors that read sane values.

The stress runs one worker process per logical CPU (SHA-256 over a buffer keeps a core
busy in C, outside the GIL) for a fixed time while the parent samples psutil's sensors
and frequencies; a cooling fault shows as heat, a falling clock or the kernel's
thermal-throttle counters going up.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil

from checks.health.model import Verdict
from checks.i18n import Lang, msg, t
from checks.policy import Policy
from checks.probe.model import Cpu
from checks.source import Source

# --- generation ----------------------------------------------------------------------

_INTEL_CORE = re.compile(r"\bCore\(?(?:TM)?\)?\s*(?:i[3579]|m[357])[- ](\d{1,5})([A-Z]\w*)?", re.I)
# first generation, old spelling: "Intel(R) Core(TM) i5 CPU       M 520  @ 2.40GHz"
_INTEL_CORE_OLD = re.compile(r"\bCore\(?(?:TM)?\)?\s*i[3579]\s+CPU\s+[A-Z]{0,2}\s*\d{3}\b", re.I)
_INTEL_ULTRA = re.compile(r"\bCore\(?(?:TM)?\)?\s*Ultra\b", re.I)
_AMD_RYZEN = re.compile(
    r"\bRyzen\b(?:\s+AI)?(?:\s+(?:PRO|Threadripper))?\s+\d\s+(?:PRO\s+)?(\d)(\d{3})", re.I
)
_AMD_RYZEN_AI = re.compile(r"\bRyzen\s+AI\b", re.I)


@dataclass(frozen=True)
class CpuGeneration:
    family: str  # "intel-core" | "amd-ryzen" | "other"
    generation: int | None


def cpu_generation(model: str) -> CpuGeneration:
    """Family and generation from the marketing name.

    Intel Core: i5-520M is 1, i5-2520M is 2, i5-6300U is 6, i5-1035G1 is 10,
    i5-1235U is 12, i7-10510U and i7-12700H are 10 and 12 (five digits: two leading
    digits); Core Ultra is counted as 14. AMD Ryzen: the first digit of the model
    number (Ryzen 5 3500U is 3); the "Ryzen AI" renaming counts as 9.
    """
    if _INTEL_ULTRA.search(model):
        return CpuGeneration("intel-core", 14)
    m = _INTEL_CORE.search(model)
    if m:
        digits = m.group(1)
        if len(digits) == 1:  # Core m3-7Y30: the digit before the Y
            gen = int(digits)
        elif len(digits) == 3:
            gen = 1
        elif len(digits) == 5 or digits.startswith("1"):
            gen = int(digits[:2])
        else:
            gen = int(digits[0])
        return CpuGeneration("intel-core", gen)
    if _INTEL_CORE_OLD.search(model):
        return CpuGeneration("intel-core", 1)
    if _AMD_RYZEN_AI.search(model):
        return CpuGeneration("amd-ryzen", 9)
    m = _AMD_RYZEN.search(model)
    if m:
        return CpuGeneration("amd-ryzen", int(m.group(1)))
    return CpuGeneration("other", None)


def evaluate_cpu_model(cpu: Cpu, policy: Policy) -> Verdict:
    cp = policy.cpu
    if not cpu.model:
        return Verdict("warn", msg("cpu.unknown"), {"model": None})
    gen = cpu_generation(cpu.model)
    evidence: dict[str, Any] = {
        "model": cpu.model,
        "family": gen.family,
        "generation": gen.generation,
        "cores": cpu.cores,
        "threads": cpu.threads,
    }
    minimum = {
        "intel-core": cp.min_intel_core_generation,
        "amd-ryzen": cp.min_amd_ryzen_generation,
    }.get(gen.family)
    evidence["min_generation"] = minimum
    if minimum is None:
        if cp.accept_other_cpus:
            return Verdict("pass", msg("cpu.ok", model=cpu.model), evidence)
        return Verdict("fail", msg("cpu.other_rejected", model=cpu.model), evidence)
    assert gen.generation is not None
    if gen.generation < minimum:
        return Verdict(
            "fail",
            msg("cpu.too_old", model=cpu.model, generation=gen.generation, min=minimum),
            evidence,
        )
    return Verdict("pass", msg("cpu.ok", model=cpu.model), evidence)


# --- sensors -------------------------------------------------------------------------

# chip names whose readings are the CPU package or cores (coretemp: Intel, k10temp /
# zenpower: AMD); acpitz and others are read when nothing better is there
CPU_CHIPS = ("coretemp", "k10temp", "zenpower", "cpu_thermal", "cpu-thermal")
SANE_RANGE_C = (5.0, 115.0)


@dataclass
class SensorReading:
    chip: str
    label: str
    celsius: float


def read_temperatures(
    sensors: Callable[[], dict[str, list[Any]]] = psutil.sensors_temperatures,
) -> list[SensorReading]:
    try:
        data = sensors()
    except (OSError, RuntimeError):
        return []
    return [
        SensorReading(chip, entry.label or chip, float(entry.current))
        for chip, entries in data.items()
        for entry in entries
        if entry.current is not None
    ]


def cpu_temperature(readings: list[SensorReading]) -> float | None:
    cpu = [r.celsius for r in readings if r.chip in CPU_CHIPS]
    pool = cpu or [r.celsius for r in readings]
    sane = [c for c in pool if SANE_RANGE_C[0] <= c <= SANE_RANGE_C[1]]
    return max(sane) if sane else None


def evaluate_sensors(readings: list[SensorReading]) -> Verdict:
    evidence: dict[str, Any] = {
        "readings": [{"chip": r.chip, "label": r.label, "celsius": r.celsius} for r in readings]
    }
    if not readings:
        return Verdict("warn", msg("cpu.sensors_none"), evidence)
    insane = [r for r in readings if not SANE_RANGE_C[0] <= r.celsius <= SANE_RANGE_C[1]]
    # some chips (acpitz on old Dells) report a fixed 0 or 127: worth a warning, since
    # the fan control may rely on it
    if insane:
        detail = ", ".join(f"{r.chip}/{r.label} {r.celsius:g} °C" for r in insane[:3])
        return Verdict("warn", msg("cpu.sensors_insane", detail=detail), evidence)
    temps = [r.celsius for r in readings]
    return Verdict(
        "pass",
        msg("cpu.sensors_ok", count=len(readings), low=round(min(temps)), high=round(max(temps))),
        evidence,
    )


# --- stress ----------------------------------------------------------------------------


def _burn(deadline: float) -> None:
    """Worker: keep one core busy until ``deadline`` (monotonic clock)."""
    block = os.urandom(1 << 16)
    while time.monotonic() < deadline:
        for _ in range(64):
            block = hashlib.sha256(block).digest() * 2048


def throttle_counts(source: Source) -> dict[str, int]:
    """Intel's per-CPU thermal throttle event counters, when the kernel exposes them."""
    counts: dict[str, int] = {}
    for cpu in source.listdir("sys/devices/system/cpu"):
        if not re.fullmatch(r"cpu\d+", cpu):
            continue
        for kind in ("core_throttle_count", "package_throttle_count"):
            text = source.read_text(f"sys/devices/system/cpu/{cpu}/thermal_throttle/{kind}")
            if text and text.strip().isdigit():
                counts[f"{cpu}/{kind}"] = int(text.strip())
    return counts


@dataclass
class StressSample:
    t: float
    temp_c: float | None
    mean_mhz: float | None


@dataclass
class StressRun:
    seconds: float
    workers: int
    samples: list[StressSample] = field(default_factory=list)
    max_mhz: float | None = None
    throttle_events: int = 0


def run_stress(
    seconds: float,
    *,
    source: Source,
    workers: int | None = None,
    max_mhz: float | None = None,
    sample_s: float = 1.0,
    sensors: Callable[[], dict[str, list[Any]]] = psutil.sensors_temperatures,
    progress: Callable[[str], None] = lambda _t: None,
    lang: Lang = "en",
) -> StressRun:
    workers = workers or os.cpu_count() or 1
    before = throttle_counts(source)
    freq = psutil.cpu_freq()
    max_mhz = max_mhz or (freq.max if freq and freq.max else None)
    run = StressRun(seconds=seconds, workers=workers, max_mhz=max_mhz)
    start = time.monotonic()
    deadline = start + seconds
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_burn, args=(deadline,), daemon=True) for _ in range(workers)]
    try:
        for p in procs:
            p.start()
        # at least one sample, even when starting the workers took the whole budget (a
        # loaded machine, a short run): a run with no temperature would pass unseen
        while True:
            time.sleep(min(sample_s, max(0.0, deadline - time.monotonic())))
            temp = cpu_temperature(read_temperatures(sensors))
            freqs = psutil.cpu_freq(percpu=True) or []
            mean = sum(f.current for f in freqs) / len(freqs) if freqs else None
            elapsed = time.monotonic() - start
            run.samples.append(StressSample(round(elapsed, 1), temp, mean))
            # the sentence from the catalogue; the readings after it are numbers and
            # units, the same in every language
            progress(
                t("progress.cpu_stress", lang, elapsed=round(elapsed), seconds=round(seconds))
                + (f", {temp:.0f} °C" if temp is not None else "")
                + (f", {mean:.0f} MHz" if mean else "")
            )
            if time.monotonic() >= deadline:
                break
    finally:
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)
    after = throttle_counts(source)
    run.throttle_events = sum(max(0, after.get(k, 0) - v) for k, v in before.items())
    return run


def evaluate_stress(run: StressRun, policy: Policy) -> Verdict:
    cp = policy.cpu
    temps = [s.temp_c for s in run.samples if s.temp_c is not None]
    # judge the clock on the second half, once turbo budgets have run out
    late = [s.mean_mhz for s in run.samples[len(run.samples) // 2 :] if s.mean_mhz]
    peak = max(temps) if temps else None
    ratio = (min(late) / run.max_mhz) if late and run.max_mhz else None
    evidence: dict[str, Any] = {
        "seconds": run.seconds,
        "workers": run.workers,
        "peak_c": peak,
        "max_mhz": run.max_mhz,
        "lowest_late_mhz": min(late) if late else None,
        "frequency_ratio": round(ratio, 2) if ratio is not None else None,
        "throttle_events": run.throttle_events,
        "samples": [
            {"t": s.t, "c": s.temp_c, "mhz": s.mean_mhz and round(s.mean_mhz)} for s in run.samples
        ],
    }
    seconds = round(run.seconds)
    if peak is not None and peak >= cp.temperature_fail_c:
        return Verdict(
            "fail",
            msg("cpu.stress_hot_fail", peak=round(peak), limit=round(cp.temperature_fail_c)),
            evidence,
            repair=msg("repair.clean_cooling"),
        )
    if run.throttle_events:
        return Verdict(
            "warn",
            msg(
                "cpu.stress_throttled",
                detail=msg("cpu.throttle_events", count=run.throttle_events),
            ),
            evidence,
        )
    if ratio is not None and ratio < cp.throttle_warn_ratio:
        assert run.max_mhz is not None
        detail = msg("cpu.throttle_clock", low=round(min(late)), max=round(run.max_mhz))
        return Verdict("warn", msg("cpu.stress_throttled", detail=detail), evidence)
    if peak is not None and peak >= cp.temperature_warn_c:
        return Verdict("warn", msg("cpu.stress_hot_warn", peak=round(peak)), evidence)
    if peak is None:
        return Verdict(
            "warn", msg("cpu.stress_ok_nosensor", seconds=seconds, workers=run.workers), evidence
        )
    return Verdict(
        "pass",
        msg("cpu.stress_ok", seconds=seconds, workers=run.workers, peak=round(peak)),
        evidence,
    )
