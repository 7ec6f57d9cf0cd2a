"""Battery verdicts over the recorded power_supply uevents of real packs, and the edges.

Each recording is replayed as a capture through the probe and the check runner; the
expected health is worked out here from the uevent's own energy/charge fields.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.health import run_health_checks
from checks.health.battery import ac_online, evaluate_battery
from checks.policy import load_default_policy, parse_policy
from checks.probe import build_report
from checks.probe.model import Battery
from checks.source import CaptureSource
from tests.conftest import FIXTURES, CaptureFactory

POLICY = load_default_policy()
UEVENTS = (
    sorted((FIXTURES / "power_supply").glob("*/*/uevent"))
    if (FIXTURES / "power_supply").is_dir()
    else []
)


def _fields(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        out[key.removeprefix("POWER_SUPPLY_")] = value.strip()
    return out


def expected_health(fields: dict[str, str]) -> float | None:
    for unit in ("ENERGY", "CHARGE"):
        full, design = fields.get(f"{unit}_FULL"), fields.get(f"{unit}_FULL_DESIGN")
        if full and design and int(design) > 0:
            return int(full) / int(design) * 100
    return None


def expected_status(fields: dict[str, str], on_ac: bool | None) -> str:
    bp = POLICY.battery
    if fields.get("PRESENT") == "0":
        return "fail"
    health = expected_health(fields)
    found = ["pass"]
    if health is None:
        found.append("warn")
    elif health < bp.min_health_pct:
        found.append("fail")
    elif health < bp.warn_health_pct:
        found.append("warn")
    cycles = int(fields.get("CYCLE_COUNT", "0"))
    if cycles not in (0, 65535):  # sentinels for "unknown"
        found.append(
            "fail" if cycles > bp.max_cycles else "warn" if cycles > bp.warn_cycles else "pass"
        )
    if on_ac and fields.get("STATUS") == "Discharging":
        found.append("fail")
    order = ["pass", "warn", "fail"]
    return max(found, key=order.index)


def _capture(uevent: Path, make_capture: CaptureFactory, ac: str | None = None) -> Path:
    name = uevent.parent.name
    files: dict[str, str | bytes | Path] = {f"sys/class/power_supply/{name}/uevent": uevent}
    if ac is not None:
        files["sys/class/power_supply/AC/uevent"] = (
            f"POWER_SUPPLY_NAME=AC\nPOWER_SUPPLY_TYPE=Mains\nPOWER_SUPPLY_ONLINE={ac}\n"
        )
    return make_capture(files)


@pytest.mark.parametrize("uevent", UEVENTS, ids=lambda p: p.parent.parent.name)
@pytest.mark.parametrize("ac", [None, "1", "0"], ids=["ac-unknown", "on-ac", "on-battery"])
def test_recorded_battery_verdict(
    uevent: Path, ac: str | None, make_capture: CaptureFactory
) -> None:
    fields = _fields(uevent)
    source = CaptureSource(_capture(uevent, make_capture, ac))
    report = build_report(source)
    outcome = run_health_checks(report, source, POLICY, only=["battery"])
    [result] = outcome.results
    name = uevent.parent.name
    assert result.id == f"battery.health.{name}"
    on_ac = None if ac is None else ac == "1"
    assert result.status == expected_status(fields, on_ac)
    health = expected_health(fields)
    if health is not None:
        assert result.verdict.evidence["health_pct"] == pytest.approx(health, abs=0.1)
    assert result.verdict.evidence["on_ac"] is on_ac
    doc = result.to_dict("fr")
    assert doc["summary"] == doc["summaries"]["fr"] != doc["summaries"]["en"]


def test_discharging_on_mains_names_the_fault(make_capture: CaptureFactory) -> None:
    dell = next((u for u in UEVENTS if "dell" in str(u)), None)
    if dell is None:
        pytest.skip("battery recordings not available")
    source = CaptureSource(_capture(dell, make_capture, ac="1"))
    verdict = evaluate_battery(build_report(source).batteries[0], POLICY, on_ac=ac_online(source))
    assert verdict.status == "fail" and verdict.message.id == "battery.not_charging"
    assert verdict.repair is not None and verdict.repair.render("en") == "replace the battery"


def test_uncalibrated_pack_is_unknown_not_healthy(make_capture: CaptureFactory) -> None:
    bq = next((u for u in UEVENTS if "bq27000" in str(u)), None)
    if bq is None:
        pytest.skip("battery recordings not available")
    source = CaptureSource(_capture(bq, make_capture))
    verdict = evaluate_battery(build_report(source).batteries[0], POLICY, on_ac=None)
    assert verdict.status == "warn" and verdict.message.id == "battery.unknown"
    assert verdict.evidence["cycles"] is None  # 65535 is the gauge's "don't know"


def pack(
    health: float | None = 90.0,
    cycles: int | None = None,
    status: str = "Discharging",
    **kw: object,
) -> Battery:
    design = 50.0
    full = design * health / 100 if health is not None else None
    return Battery(
        name="BAT0",
        present=True,
        status=status,
        design_wh=design,
        full_wh=full,
        now_wh=kw.pop("now_wh", full),  # type: ignore[arg-type]
        health_pct=health,
        cycles=cycles,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("health", "status"),
    [
        (100.0, "pass"),
        (80.0, "pass"),
        (79.9, "warn"),
        (60.0, "warn"),
        (59.9, "fail"),
        (104.0, "pass"),
    ],
)
def test_health_edges(health: float, status: str) -> None:
    assert evaluate_battery(pack(health), POLICY, on_ac=False).status == status


@pytest.mark.parametrize(
    ("cycles", "status"), [(600, "pass"), (601, "warn"), (1000, "warn"), (1001, "fail")]
)
def test_cycle_edges(cycles: int, status: str) -> None:
    assert evaluate_battery(pack(cycles=cycles), POLICY, on_ac=False).status == status


@pytest.mark.parametrize(
    ("status", "charge", "verdict"),
    [
        ("Charging", 40.0, "pass"),
        ("Full", 50.0, "pass"),
        ("Discharging", 40.0, "fail"),
        ("Not charging", 40.0, "warn"),
        ("Not charging", 80.0, "pass"),  # a charge threshold at work
    ],
)
def test_charging_on_mains(status: str, charge: float, verdict: str) -> None:
    bat = pack(90.0, status=status, now_wh=charge * 45.0 / 100)
    assert evaluate_battery(bat, POLICY, on_ac=True).status == verdict
    assert evaluate_battery(bat, POLICY, on_ac=False).status == "pass"


def test_absent_battery_fails_unless_the_policy_does_not_require_one() -> None:
    bat = Battery(name="BAT0", present=False)
    assert evaluate_battery(bat, POLICY, on_ac=None).status == "fail"
    relaxed = parse_policy("[battery]\nrequired = false\n")
    assert evaluate_battery(bat, relaxed, on_ac=None).status == "warn"
    worn = pack(30.0)
    assert evaluate_battery(worn, relaxed, on_ac=None).status == "warn"


def test_no_battery_at_all(make_capture: CaptureFactory) -> None:
    source = CaptureSource(make_capture({"proc/meminfo": "MemTotal: 8000000 kB\n"}))
    outcome = run_health_checks(build_report(source), source, POLICY, only=["battery"])
    [result] = outcome.results
    assert result.id == "battery.health" and result.status == "fail"
    assert (
        result.verdict.repair is not None
        and result.verdict.repair.render("fr") == "installer une batterie"
    )
