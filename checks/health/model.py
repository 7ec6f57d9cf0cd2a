"""What a check is (a declaration, as data) and what it gives (a verdict).

A :class:`CheckSpec` says what a check needs (tools, root, the live machine, a person
at a terminal), how long it takes, whether it touches data, and whether it expands to
one check per drive or battery. The runner reads those declarations to decide what to
run and to skip the rest with a stated reason; the checks themselves only judge.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from checks.i18n import Lang, Msg
from checks.system import CommandResult, run_command

if TYPE_CHECKING:
    from checks.health.terminal import Terminal
    from checks.policy import Policy
    from checks.probe.model import HardwareReport
    from checks.source import Source

Status = Literal["pass", "warn", "fail", "skip"]
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail", "skip")
# how bad each status is, to combine several findings into one verdict
SEVERITY: dict[str, int] = {"pass": 0, "skip": 1, "warn": 2, "fail": 3}

Runner = Callable[..., CommandResult]


@dataclass(frozen=True)
class Requires:
    tools: tuple[str, ...] = ()  # each must be installed, else skip
    root: bool = False
    live: bool = False  # needs the running machine (not a capture replay)
    terminal: bool = False  # a person answers at a terminal


@dataclass
class Verdict:
    status: Status
    message: Msg
    evidence: dict[str, Any] = field(default_factory=dict)
    # what would turn this "fail" into a pass: a repair message; None when nothing can
    repair: Msg | None = None


@dataclass(frozen=True)
class Target:
    """One thing a per-device check is expanded over (a drive, a battery)."""

    key: str  # "sda", "BAT0": appended to the check id
    obj: Any


@dataclass(frozen=True)
class CheckSpec:
    id: str  # "storage.smart"; per-device ids append the target: "storage.smart.sda"
    component: str  # what the verdict is about, for the grade: storage, battery, wifi, ...
    run: Callable[[CheckContext, Target | None], Verdict]
    estimated_s: float = 0.1
    requires: Requires = Requires()
    interactive: bool = False
    destructive: bool = False
    # "storage" / "battery": one check per drive / battery of the report
    per: Literal["storage", "battery"] | None = None
    # runs alongside the others (a drive self-test works on its own; we only poll it)
    background: bool = False
    # shown by --list: what the check does, one line
    title: str = ""
    # a check that only applies to some targets (self-test only on SMART-capable drives)
    applies: Callable[[Target], Msg | None] | None = None
    # the time the policy gives the check (the stress's length, a time limit or budget):
    # ``estimated_s`` holds for the default policy only, a programme may set 1 s or 60 s
    policy_s: Callable[[Policy], float] | None = None

    def expected_s(self, policy: Policy) -> float:
        """How long the check takes under ``policy``: the policy's time where it sets
        one, else the declared estimate."""
        return self.estimated_s if self.policy_s is None else self.policy_s(policy)

    def declaration(self) -> dict[str, Any]:
        """The declaration as data (``weee check --list --json``)."""
        return {
            "id": self.id,
            "title": self.title,
            "component": self.component,
            "requires": {
                "tools": list(self.requires.tools),
                "root": self.requires.root,
                "live": self.requires.live,
                "terminal": self.requires.terminal,
            },
            "estimated_s": self.estimated_s,
            "interactive": self.interactive,
            "destructive": self.destructive,
            "per": self.per,
            "background": self.background,
        }


@dataclass
class CheckContext:
    """Everything a check may use; tests build one with fakes instead of patching."""

    report: HardwareReport
    source: Source
    policy: Policy
    lang: Lang = "en"
    live: bool = False
    is_root: bool = False
    unattended: bool = True
    terminal: Terminal | None = None
    run: Runner = run_command
    which: Callable[[str], str | None] | None = None
    progress: Callable[[str], None] = lambda _text: None
    # results gathered so far, for checks that build on others (the grade, the kit)
    results: list[CheckResult] = field(default_factory=list)
    # the kit object, filled by the kit check
    kit: dict[str, Any] | None = None
    # the cosmetic grade entered by the technician
    cosmetic_grade: str | None = None
    # set when the run stops early (Ctrl+C): background checks end at their next wait
    cancelled: threading.Event = field(default_factory=threading.Event)

    def wait(self, seconds: float) -> None:
        """Sleep for a background check; raises CheckCancelled when the run stops."""
        if self.cancelled.wait(seconds):
            raise CheckCancelled("the run was stopped")


class CheckCancelled(Exception):
    """A background check stopped because the run was interrupted."""


@dataclass
class CheckResult:
    """One line of ``checks[]`` in ``weee check --json``."""

    id: str
    spec_id: str
    component: str
    target: str | None
    verdict: Verdict
    duration_s: float = 0.0
    interactive: bool = False

    @property
    def status(self) -> Status:
        return self.verdict.status

    def to_dict(self, lang: Lang) -> dict[str, Any]:
        v = self.verdict
        out: dict[str, Any] = {
            "id": self.id,
            "status": v.status,
            "summary": v.message.render(lang),
            "summaries": v.message.both(),
            "message_id": v.message.id,
            "evidence": v.evidence,
            "component": self.component,
            "target": self.target,
            "interactive": self.interactive,
            "duration_s": round(self.duration_s, 3),
        }
        if v.repair is not None:
            out["repair"] = v.repair.render(lang)
            out["repairs"] = v.repair.both()
        return out


def worst(statuses: Sequence[Status]) -> Status:
    return max(statuses, key=lambda s: SEVERITY[s], default="pass")
