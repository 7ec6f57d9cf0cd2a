"""The policy applied to hand-built laptops: memory and CPU at their thresholds' edges,
and the grade (eligible or not, A/B/C/parts, repairs)."""

from __future__ import annotations

from typing import Any

import pytest

from checks.health.cpu import cpu_generation, evaluate_cpu_model
from checks.health.grade import compute_grade
from checks.health.memory import evaluate_memory_size
from checks.health.model import CheckResult, Status, Verdict
from checks.i18n import Msg, msg
from checks.policy import load_default_policy, parse_policy
from checks.probe.model import Cpu, Memory, MemoryModule

POLICY = load_default_policy()
GIB = 1 << 30


def memory(gib: float, *, source: str = "dmi", **kw: Any) -> Memory:
    return Memory(total_bytes=int(gib * GIB), total_source=source, **kw)


@pytest.mark.parametrize(
    ("mem", "status", "repair"),
    [
        (memory(8), "pass", None),
        (memory(16), "pass", None),
        (memory(7.5), "fail", "add 1 GB RAM"),
        (memory(6), "fail", "add 2 GB RAM"),
        (memory(4), "fail", "add 4 GB RAM"),
        (memory(2), "fail", "add 8 GB RAM"),
        # /proc/meminfo leaves out firmware and GPU memory: 7.6 GiB there is 8 GB fitted
        (memory(7.6, source="meminfo"), "pass", None),
        (memory(6.8, source="meminfo"), "fail", "add 1 GB RAM"),
        # the board takes 4 GB at most: no repair reaches 8
        (memory(4, max_capacity_bytes=4 * GIB), "fail", None),
        (
            memory(
                4,
                slots_free=0,
                modules=[MemoryModule(size_bytes=4 * GIB, form_factor="Row Of Chips")],
            ),
            "fail",
            None,
        ),
        (
            memory(
                4, slots_free=0, modules=[MemoryModule(size_bytes=4 * GIB, form_factor="SODIMM")]
            ),
            "fail",
            "add 4 GB RAM",
        ),
    ],
    ids=[
        "8-at-edge",
        "16",
        "7.5",
        "6",
        "4",
        "2",
        "meminfo-7.6",
        "meminfo-6.8",
        "max-4",
        "soldered",
        "sodimm-full",
    ],
)
def test_memory_against_policy(mem: Memory, status: str, repair: str | None) -> None:
    verdict = evaluate_memory_size(mem, POLICY)
    assert verdict.status == status
    assert (verdict.repair.render("en") if verdict.repair else None) == repair


def test_memory_minimum_is_the_policys() -> None:
    assert evaluate_memory_size(memory(4), parse_policy("[memory]\nmin_gib = 4\n")).status == "pass"
    assert evaluate_memory_size(Memory(), POLICY).status == "warn"


@pytest.mark.parametrize(
    ("model", "status"),
    [
        ("Intel(R) Core(TM) i5-6300U CPU @ 2.40GHz", "pass"),
        ("Intel(R) Core(TM) i5-5300U CPU @ 2.30GHz", "fail"),
        ("Intel(R) Core(TM) i7-4600U CPU @ 2.10GHz", "fail"),
        ("11th Gen Intel(R) Core(TM) i5-1135G7 @ 2.40GHz", "pass"),
        ("Intel(R) Core(TM) i5-10210U CPU @ 1.60GHz", "pass"),
        ("Intel(R) Core(TM) m3-6Y30 CPU @ 0.90GHz", "pass"),
        ("AMD Ryzen 5 2500U with Radeon Vega Mobile Gfx", "pass"),
        ("AMD Ryzen 5 PRO 1500", "fail"),
        ("Intel(R) Celeron(R) N4020 CPU @ 1.10GHz", "fail"),
    ],
)
def test_cpu_generation_edges(model: str, status: str) -> None:
    verdict = evaluate_cpu_model(Cpu(model=model), POLICY)
    assert verdict.status == status
    assert verdict.repair is None  # a CPU is never swapped on a laptop


def test_other_cpus_when_the_policy_accepts_them() -> None:
    policy = parse_policy("[cpu]\naccept_other_cpus = true\nmin_intel_core_generation = 8\n")
    assert evaluate_cpu_model(Cpu(model="Intel(R) Celeron(R) N4020"), policy).status == "pass"
    assert evaluate_cpu_model(Cpu(model="Intel(R) Core(TM) i5-7200U"), policy).status == "fail"


@pytest.mark.parametrize(
    ("model", "family", "generation"),
    [
        ("Intel(R) Core(TM) i5 CPU       M 520  @ 2.40GHz", "intel-core", 1),
        ("Intel(R) Core(TM) i5-2520M CPU @ 2.50GHz", "intel-core", 2),
        ("12th Gen Intel(R) Core(TM) i5-1235U", "intel-core", 12),
        ("13th Gen Intel(R) Core(TM) i7-13700H", "intel-core", 13),
        ("Intel(R) Core(TM) Ultra 5 125U", "intel-core", 14),
        ("AMD Ryzen 7 PRO 4750U with Radeon Graphics", "amd-ryzen", 4),
        ("AMD Ryzen AI 9 HX 370 w/ Radeon 890M", "amd-ryzen", 9),
        ("Intel(R) Core(TM)2 Duo CPU     P8600  @ 2.40GHz", "other", None),
    ],
)
def test_cpu_generation_parsing(model: str, family: str, generation: int | None) -> None:
    gen = cpu_generation(model)
    assert (gen.family, gen.generation) == (family, generation)


# --- the grade -----------------------------------------------------------------------


def result(
    check_id: str, component: str, status: Status, repair: Msg | None = None, **evidence: Any
) -> CheckResult:
    verdict = Verdict(status, msg("memory.ok", gib=8), dict(evidence), repair=repair)
    return CheckResult(check_id, check_id, component, None, verdict)


def healthy() -> list[CheckResult]:
    return [
        result("storage.system", "storage", "pass"),
        result("storage.smart.sda", "storage", "pass"),
        result("battery.health.BAT0", "battery", "pass", health_pct=92.0),
        result("memory.size", "memory", "pass"),
        result("cpu.model", "cpu", "pass"),
        result("wifi", "wifi", "pass"),
        result("webcam", "webcam", "pass"),
        result("audio", "audio", "pass"),
        result("usb", "usb", "pass"),
        result("keyboard", "keyboard", "pass"),
        result("screen", "screen", "pass"),
        result("touchpad", "touchpad", "pass"),
    ]


def replace(results: list[CheckResult], check_id: str, new: CheckResult) -> list[CheckResult]:
    return [new if r.id == check_id else r for r in results]


def test_healthy_laptop_is_eligible_grade_a() -> None:
    g = compute_grade(healthy(), POLICY)
    assert (g["eligible"], g["grade"], g["reasons"], g["repairs"]) == (True, "A", [], [])
    assert g["policy"] == {"name": "weee default policy", "sha256": POLICY.sha256}
    assert set(g) >= {"eligible", "grade", "reasons", "repairs", "policy"}


def test_warnings_lower_the_grade() -> None:
    one = replace(healthy(), "storage.smart.sda", result("storage.smart.sda", "storage", "warn"))
    assert compute_grade(one, POLICY)["grade"] == "B"
    three = one + [result("cpu.sensors", "sensors", "warn"), result("cpu.stress", "cpu", "warn")]
    assert compute_grade(three, POLICY)["grade"] == "C"
    assert compute_grade(three, POLICY)["eligible"] is True


@pytest.mark.parametrize(("health", "grade"), [(80.0, "A"), (79.9, "B")])
def test_battery_health_edge_for_grade_a(health: float, grade: str) -> None:
    results = replace(
        healthy(),
        "battery.health.BAT0",
        result("battery.health.BAT0", "battery", "pass", health_pct=health),
    )
    assert compute_grade(results, POLICY)["grade"] == grade


@pytest.mark.parametrize(("cosmetic", "grade"), [("A", "A"), ("B", "B"), ("C", "C"), (None, "A")])
def test_cosmetic_grade_caps_the_grade(cosmetic: str | None, grade: str) -> None:
    assert compute_grade(healthy(), POLICY, cosmetic=cosmetic)["grade"] == grade


def test_a_repairable_fault_lists_the_repair() -> None:
    results = replace(
        healthy(),
        "battery.health.BAT0",
        result(
            "battery.health.BAT0", "battery", "fail", msg("repair.replace_battery"), health_pct=41.0
        ),
    )
    g = compute_grade(results, POLICY, lang="fr")
    assert g["eligible"] is False
    assert g["repairs"] == ["remplacer la batterie"]
    assert g["translations"]["en"]["repairs"] == ["replace the battery"]
    assert g["grade"] in ("A", "B", "C")
    assert len(g["reasons"]) == 1


def test_more_repairs_than_allowed_is_parts() -> None:
    results = replace(
        healthy(),
        "storage.system",
        result("storage.system", "storage", "fail", msg("repair.replace_hdd_with_ssd")),
    )
    results = replace(
        results,
        "memory.size",
        result("memory.size", "memory", "fail", msg("repair.add_ram", gib=4)),
    )
    g = compute_grade(results, POLICY)
    assert (g["eligible"], g["repairs"]) == (False, ["replace the HDD with an SSD", "add 4 GB RAM"])
    assert g["grade"] != "parts"
    results = replace(
        results,
        "battery.health.BAT0",
        result("battery.health.BAT0", "battery", "fail", msg("repair.replace_battery")),
    )
    g = compute_grade(results, POLICY)
    assert g["grade"] == "parts"
    assert any("3 repairs" in r for r in g["reasons"])
    assert compute_grade(results, parse_policy("[grade]\nmax_repairs = 3\n"))["grade"] != "parts"


def test_a_fault_with_no_repair_is_parts() -> None:
    results = replace(healthy(), "cpu.model", result("cpu.model", "cpu", "fail"))
    g = compute_grade(results, POLICY)
    assert (g["eligible"], g["grade"]) == (False, "parts")
    assert g["reasons"][0].endswith("(no repair possible)")


def test_a_fault_of_something_not_required_is_only_a_warning() -> None:
    results = healthy() + [result("ethernet", "ethernet", "fail")]
    g = compute_grade(results, POLICY)
    assert (g["eligible"], g["grade"], g["warnings"]) == (True, "B", ["ethernet"])
    relaxed = parse_policy('[peripherals]\nrequired = ["wifi"]\n')
    no_cam = replace(
        healthy(), "webcam", result("webcam", "webcam", "fail", msg("repair.replace_webcam"))
    )
    assert compute_grade(no_cam, relaxed)["eligible"] is True
    assert compute_grade(no_cam, POLICY)["eligible"] is False


def test_unchecked_required_checks_are_listed_and_block_only_if_the_policy_says() -> None:
    results = replace(healthy(), "keyboard", result("keyboard", "keyboard", "skip"))
    g = compute_grade(results, POLICY)
    assert (g["eligible"], g["unchecked"]) == (True, ["keyboard"])
    strict = parse_policy("[peripherals]\nunchecked_blocks = true\n")
    g = compute_grade(results, strict)
    assert g["eligible"] is False and g["reasons"] == ["Not checked: keyboard."]


def test_the_kit_and_usb_sticks_do_not_change_the_grade() -> None:
    results = healthy() + [
        result("kit", "kit", "warn"),
        result("storage.smart.sdb", "external-storage", "warn"),
    ]
    assert compute_grade(results, POLICY)["grade"] == "A"
