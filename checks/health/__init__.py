"""Health checks: declarations, runner, verdicts and the grade.

Entry point for other parts of weee (``weee check``, the bench run)::

    outcome = run_health_checks(report, source, policy, unattended=True)
    outcome.to_dict(lang)   # {"checks": [...], "grade": {...}, "kit": {...} | None}
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from checks.health.declarations import CHECKS
from checks.health.grade import compute_grade
from checks.health.model import CheckContext, CheckResult, CheckSpec, Verdict
from checks.health.runner import Planned, plan_checks, run_checks
from checks.i18n import Lang
from checks.policy import Policy

if TYPE_CHECKING:
    from checks.health.terminal import Terminal
    from checks.probe.model import HardwareReport
    from checks.source import Source

CHECKS_SCHEMA = "weee-checks/1"

__all__ = [
    "CHECKS",
    "CHECKS_SCHEMA",
    "CheckContext",
    "CheckOutcome",
    "CheckResult",
    "CheckSpec",
    "Verdict",
    "run_health_checks",
]


@dataclass
class CheckOutcome:
    results: list[CheckResult]
    policy: Policy
    cosmetic: str | None = None
    kit: dict[str, Any] | None = None
    started_at: str = ""
    duration_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def grade(self, lang: Lang = "en") -> dict[str, Any]:
        return compute_grade(self.results, self.policy, cosmetic=self.cosmetic, lang=lang)

    def to_dict(self, lang: Lang = "en") -> dict[str, Any]:
        return {
            "schema": CHECKS_SCHEMA,
            "lang": lang,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
            "checks": [r.to_dict(lang) for r in self.results],
            "grade": self.grade(lang),
            "kit": self.kit,
            **self.extra,
        }


def run_health_checks(
    report: HardwareReport,
    source: Source,
    policy: Policy,
    *,
    unattended: bool = True,
    only: Sequence[str] | None = None,
    lang: Lang = "en",
    terminal: Terminal | None = None,
    progress: Callable[[str], None] = lambda _t: None,
    on_result: Callable[[CheckResult], None] = lambda _r: None,
    on_start: Callable[[Planned], None] = lambda _p: None,
    on_plan: Callable[[list[Planned]], None] = lambda _p: None,
    specs: Sequence[CheckSpec] = CHECKS,
    **context: Any,
) -> CheckOutcome:
    """Plan, run and grade the checks; ``context`` overrides CheckContext fields (fakes
    in tests: ``run=``, ``which=``). ``on_plan`` sees the whole plan before the first
    check starts (for a bar and an ETA: :class:`checks.health.runner.ChecksEta`)."""
    settings: dict[str, Any] = {"live": source.live, "is_root": os.geteuid() == 0, **context}
    ctx = CheckContext(
        report=report,
        source=source,
        policy=policy,
        lang=lang,
        unattended=unattended,
        terminal=terminal,
        progress=progress,
        **settings,
    )
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.monotonic()
    plan = plan_checks(specs, ctx, only)
    on_plan(plan)
    results = run_checks(plan, ctx, on_result=on_result, on_start=on_start)
    return CheckOutcome(
        results=results,
        policy=policy,
        cosmetic=ctx.cosmetic_grade,
        kit=ctx.kit,
        started_at=started,
        duration_s=time.monotonic() - t0,
    )
