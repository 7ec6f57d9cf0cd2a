"""The check runner: expands the declarations per device, skips what cannot run (with
the reason), runs the rest, and times each one.

Checks marked ``background`` (a drive's self-test, which the drive runs on its own while
we only poll it) start first in threads so they overlap with the foreground checks;
that is what keeps the default unattended run under two minutes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from checks.health.model import CheckContext, CheckResult, CheckSpec, Target, Verdict
from checks.health.storage import is_internal
from checks.i18n import Lang, Msg, msg, t
from checks.system import which as system_which

if TYPE_CHECKING:
    from checks.policy import Policy

log = logging.getLogger(__name__)


@dataclass
class Planned:
    spec: CheckSpec
    target: Target | None
    id: str
    component: str
    skip: Verdict | None = None


def matches(check_id: str, spec_id: str, component: str, only: Sequence[str] | None) -> bool:
    """``--only storage`` selects storage.*; ``--only storage.smart.sda`` one check;
    a component name (``webcam``) selects every check about it."""
    if not only:
        return True
    for want in only:
        if check_id == want or check_id.startswith(want + ".") or spec_id == want:
            return True
        if component == want:
            return True
    return False


def _targets(spec: CheckSpec, ctx: CheckContext) -> list[Target | None]:
    if spec.per == "storage":
        return [Target(d.name, d) for d in ctx.report.storage]
    if spec.per == "battery":
        return [Target(b.name, b) for b in ctx.report.batteries] or [None]
    return [None]


def _component(spec: CheckSpec, target: Target | None) -> str:
    # the boot stick or another USB drive says nothing about the laptop
    if spec.per == "storage" and target is not None and not is_internal(target.obj):
        return "external-storage"
    return spec.component


def skip_reason(spec: CheckSpec, ctx: CheckContext) -> Msg | None:
    if spec.interactive and ctx.unattended:
        return msg("skip.unattended")
    if spec.requires.terminal and ctx.terminal is None:
        return msg("skip.no_terminal")
    if spec.requires.live and not ctx.live:
        return msg("skip.capture")
    if spec.requires.root and not ctx.is_root:
        return msg("skip.root")
    finder = ctx.which or system_which
    for tool in spec.requires.tools:
        if finder(tool) is None:
            return msg("skip.tool", tool=tool)
    return None


def plan_checks(
    specs: Sequence[CheckSpec], ctx: CheckContext, only: Sequence[str] | None = None
) -> list[Planned]:
    planned: list[Planned] = []
    for spec in specs:
        reason = skip_reason(spec, ctx)
        for target in _targets(spec, ctx):
            check_id = spec.id if target is None else f"{spec.id}.{target.key}"
            component = _component(spec, target)
            if not matches(check_id, spec.id, component, only):
                continue
            skip: Verdict | None = None
            if reason is not None:
                skip = Verdict("skip", reason, {})
            elif spec.applies is not None and target is not None:
                why = spec.applies(target)
                if why is not None:
                    skip = Verdict("skip", why, {})
            planned.append(Planned(spec, target, check_id, component, skip))
    return planned


def _run_one(p: Planned, ctx: CheckContext) -> CheckResult:
    start = time.monotonic()
    if p.skip is not None:
        verdict = p.skip
    else:
        try:
            verdict = p.spec.run(ctx, p.target)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # one broken check must not lose the others' results
            log.debug("check %s crashed", p.id, exc_info=True)
            verdict = Verdict("skip", msg("skip.crashed", error=f"{type(exc).__name__}: {exc}"), {})
    return CheckResult(
        id=p.id,
        spec_id=p.spec.id,
        component=p.component,
        target=p.target.key if p.target else None,
        verdict=verdict,
        duration_s=time.monotonic() - start,
        interactive=p.spec.interactive,
    )


def run_checks(
    plan: Sequence[Planned],
    ctx: CheckContext,
    *,
    on_result: Callable[[CheckResult], None] = lambda _r: None,
    on_start: Callable[[Planned], None] = lambda _p: None,
) -> list[CheckResult]:
    results: dict[str, CheckResult] = {}
    background = [p for p in plan if p.spec.background and p.skip is None]
    futures: dict[str, Future[CheckResult]] = {}
    with ThreadPoolExecutor(
        max_workers=max(1, len(background)), thread_name_prefix="check"
    ) as pool:
        try:
            for p in background:
                on_start(p)
                futures[p.id] = pool.submit(_run_one, p, ctx)
            for p in plan:
                if p.id in futures:
                    continue
                on_start(p)
                result = _run_one(p, ctx)
                results[p.id] = result
                ctx.results.append(result)
                on_result(result)
            for check_id, future in futures.items():
                ctx.progress(t("progress.waiting", ctx.lang, check=check_id))
                result = future.result()
                results[check_id] = result
                ctx.results.append(result)
                on_result(result)
        except BaseException:
            # Ctrl+C: tell the background checks (a drive self-test) to stop now rather
            # than let the pool wait for them to finish
            ctx.cancelled.set()
            raise
    return [results[p.id] for p in plan]


# --- how long the planned checks still take (the bar and ETA of weee check and weee run) --


def _runs_in_background(p: Planned) -> bool:
    # the runner's own rule: a background check that is skipped runs (instantly) in order
    return p.spec.background and p.skip is None


@dataclass
class ChecksEta:
    """Time left for a plan of checks, from the time each check really gets under the
    policy (:meth:`CheckSpec.expected_s`: a policy with a 1 s stress gives 1 s, not the
    declared 15), fed with the runner's ``on_start``/``on_result``.

    Background checks (a drive self-test) overlap the foreground ones, so the whole
    takes as long as the longer of the two: the foreground checks one after another,
    or the longest background check. A running check counts down from its start; one
    that overruns its time counts as nearly done, not as negative time."""

    expected: dict[str, float]
    background: frozenset[str] = frozenset()
    clock: Callable[[], float] = time.monotonic
    started: dict[str, float] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)

    @classmethod
    def of(
        cls, plan: Sequence[Planned], policy: Policy, clock: Callable[[], float] = time.monotonic
    ) -> ChecksEta:
        return cls(
            expected={p.id: 0.0 if p.skip else p.spec.expected_s(policy) for p in plan},
            background=frozenset(p.id for p in plan if _runs_in_background(p)),
            clock=clock,
        )

    def start(self, check_id: str) -> None:
        self.started.setdefault(check_id, self.clock())

    def finish(self, check_id: str) -> None:
        self.finished.add(check_id)

    def _span(self, left: Callable[[str], float]) -> float:
        foreground = sum(left(i) for i in self.expected if i not in self.background)
        background = max((left(i) for i in self.background), default=0.0)
        return max(foreground, background)

    @property
    def total_s(self) -> float:
        """The whole plan, before anything ran."""
        return self._span(lambda i: self.expected[i])

    def left_s(self) -> float:
        now = self.clock()

        def left(check_id: str) -> float:
            if check_id in self.finished:
                return 0.0
            expected = self.expected.get(check_id, 0.0)
            if check_id in self.started:
                return max(0.0, expected - (now - self.started[check_id]))
            return expected

        return self._span(left)

    def fraction(self) -> float | None:
        """Share of the plan done (None for a plan with no time in it)."""
        total = self.total_s
        if total <= 0:
            return None
        return min(1.0, max(0.0, 1.0 - self.left_s() / total))


def duration_words(seconds: float) -> str:
    """``12 s``, ``2 min 05``: read alike in French and English."""
    s = max(0, int(seconds + 0.5))
    return f"{s} s" if s < 60 else f"{s // 60} min {s % 60:02d}"


def with_eta(text: str, eta: ChecksEta | None, lang: Lang) -> str:
    """A progress line with the time the checks still take."""
    if eta is None or eta.total_s <= 0:
        return text
    return t("progress.eta", lang, text=text, eta=duration_words(eta.left_s()))
