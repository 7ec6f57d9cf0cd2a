"""The grade: eligible for a trainee or not (with reasons), A/B/C or "parts", and the
repairs that would make the laptop eligible. Pure: verdicts + policy → grade object.

A "fail" of something the programme requires blocks eligibility; its repair (if any)
goes on the list. A blocker with no repair (an old CPU, soldered memory too small) or
more repairs than the policy allows sends the laptop to parts. The letter grade is the
laptop's condition once the listed repairs are done: the worse of the technician's
cosmetic grade and a health grade from the warnings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from checks.health.model import CheckResult
from checks.i18n import LANGS, Lang, Msg, msg
from checks.policy import Policy

ALWAYS_REQUIRED = ("storage", "memory", "cpu")
GRADES = ("A", "B", "C")
NOT_GRADED = ("kit", "external-storage")


def required_components(policy: Policy) -> set[str]:
    req = set(ALWAYS_REQUIRED) | set(policy.peripherals.required)
    if policy.battery.required:
        req.add("battery")
    return req


def _worse(a: str, b: str | None) -> str:
    if b is None:
        return a
    return max(a, b)  # "A" < "B" < "C"


def compute_grade(
    results: Sequence[CheckResult],
    policy: Policy,
    *,
    cosmetic: str | None = None,
    lang: Lang = "en",
) -> dict[str, Any]:
    required = required_components(policy)
    blockers = [r for r in results if r.status == "fail" and r.component in required]
    # the kit goes with the laptop but says nothing about its condition
    warnings = [
        r
        for r in results
        if r.component not in NOT_GRADED
        and (r.status == "warn" or (r.status == "fail" and r.component not in required))
    ]
    unchecked = [r.id for r in results if r.status == "skip" and r.component in required]

    reasons: list[Msg] = []
    repairs: list[Msg] = []
    unrepairable = False
    for r in blockers:
        summary = r.verdict.message
        if r.verdict.repair is None:
            unrepairable = True
            reasons.append(msg("grade.no_repair", summary=summary))
        else:
            reasons.append(summary)
            if r.verdict.repair not in repairs:
                repairs.append(r.verdict.repair)
    if unchecked and policy.peripherals.unchecked_blocks:
        reasons.append(msg("grade.unchecked", checks=unchecked))
    eligible = not reasons

    battery_health: list[float] = [
        float(r.verdict.evidence["health_pct"])
        for r in results
        if r.component == "battery" and r.verdict.evidence.get("health_pct") is not None
    ]
    health = "A"
    if warnings or any(h < policy.grade.grade_a_min_battery_health_pct for h in battery_health):
        health = "B"
    if len(warnings) > policy.grade.grade_b_max_warnings:
        health = "C"
    grade = _worse(health, cosmetic if cosmetic in GRADES else None)
    if unrepairable:
        grade = "parts"
    elif len(repairs) > policy.grade.max_repairs:
        grade = "parts"
        reasons.append(
            msg("grade.too_many_repairs", count=len(repairs), max=policy.grade.max_repairs)
        )

    return {
        "eligible": eligible,
        "grade": grade,
        "reasons": [m.render(lang) for m in reasons],
        "repairs": [m.render(lang) for m in repairs],
        "policy": policy.identity(),
        "unchecked": unchecked,
        "warnings": [r.id for r in warnings],
        "health_grade": health,
        "cosmetic_grade": cosmetic,
        "translations": {
            other: {
                "reasons": [m.render(other) for m in reasons],
                "repairs": [m.render(other) for m in repairs],
            }
            for other in LANGS
        },
    }
