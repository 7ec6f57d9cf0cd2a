"""The checks' ETA is the time each check really gets under the policy (a 1 s stress is
1 s, not its declared 15), counted once where a background self-test overlaps the
others; ``weee run``'s checks step shows it, with the checks' own sentences in the
run's language. (``weee check``'s progress line: tests/test_check_cli.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.run.profile import PathsSection, PolicySection, Profile, RunSection
from agent.run.runner import run_bench
from agent.run.view import RunView
from checks.health import CHECKS
from checks.health.model import CheckContext
from checks.health.runner import ChecksEta, duration_words, plan_checks, with_eta
from checks.policy import Policy, load_default_policy, load_policy
from checks.probe.model import HardwareReport, Smart, StorageDevice
from checks.source import CaptureSource
from tests.conftest import CaptureFactory
from tests.test_check_language import english_in

AUTOMATIC = [c for c in CHECKS if not c.interactive]
SHORT = """\
name = "short bench"
[memory]
pattern_test_mib = 32
pattern_test_budget_s = 0.5
[storage]
self_test = false
[cpu]
stress_s = 1.0
[peripherals]
wifi_scan = false
"""


def _policy(tmp_path: Path, text: str) -> Policy:
    path = tmp_path / "programme.toml"
    path.write_text(text)
    return load_policy(str(path))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _eta(make_capture: CaptureFactory, policy: Policy, clock: Clock | None = None) -> ChecksEta:
    """The plan of the automatic checks of a live laptop with one internal SSD, run as
    root with every tool there (nothing skipped for want of them)."""
    report = HardwareReport(
        storage=[StorageDevice("sda", "/dev/sda", kind="ssd", smart=Smart(available=True))]
    )
    ctx = CheckContext(
        report,
        CaptureSource(make_capture({})),
        policy,
        live=True,
        is_root=True,
        which=lambda tool: f"/usr/sbin/{tool}",
    )
    return ChecksEta.of(plan_checks(AUTOMATIC, ctx), policy, clock=clock or Clock())


# the checks the policy does not time, once each (one drive, no battery)
QUICK = sum(c.estimated_s for c in AUTOMATIC if c.policy_s is None)


@pytest.mark.parametrize(
    ("policy_text", "stress", "memory", "self_test", "total"),
    [
        # the default policy: the 100 s self-test limit outlasts everything else
        pytest.param("", 15.0, 10.0, 100.0, 100.0, id="default"),
        # a short stress and no self-test: the foreground checks one after another
        pytest.param(SHORT, 1.0, 0.5, 0.0, 1.5 + QUICK, id="short-stress-no-self-test"),
        # a long stress outlasts a short self-test limit: the foreground decides
        pytest.param(
            "[cpu]\nstress_s = 120.0\n[storage]\nself_test_limit_s = 30.0\n",
            120.0,
            10.0,
            30.0,
            130.0 + QUICK,
            id="long-stress-short-self-test",
        ),
    ],
)
def test_each_check_gets_the_time_the_policy_gives_it(
    make_capture: CaptureFactory,
    tmp_path: Path,
    policy_text: str,
    stress: float,
    memory: float,
    self_test: float,
    total: float,
) -> None:
    policy = _policy(tmp_path, policy_text) if policy_text else load_default_policy()
    eta = _eta(make_capture, policy)
    assert eta.expected["cpu.stress"] == stress
    assert eta.expected["memory.pattern"] == memory
    assert eta.expected["storage.self_test.sda"] == self_test
    assert eta.background == {"storage.self_test.sda"}
    assert eta.total_s == pytest.approx(total)
    assert eta.left_s() == pytest.approx(total)
    assert eta.fraction() == 0.0


def test_the_declared_estimate_stays_for_checks_the_policy_does_not_time() -> None:
    policy = load_default_policy()
    for spec in AUTOMATIC:
        if spec.policy_s is None:
            assert spec.expected_s(policy) == spec.estimated_s, spec.id
    # the declared durations are the default policy's (what --list shows)
    timed = {s.id: s for s in AUTOMATIC if s.policy_s is not None}
    assert set(timed) == {"storage.self_test", "memory.pattern", "cpu.stress"}
    for spec in timed.values():
        assert spec.expected_s(policy) == spec.estimated_s, spec.id


def test_the_time_left_counts_down_and_never_goes_negative(
    make_capture: CaptureFactory, tmp_path: Path
) -> None:
    clock = Clock()
    eta = _eta(make_capture, _policy(tmp_path, SHORT), clock)
    total = eta.total_s
    eta.start("cpu.stress")
    clock.now += 0.4
    assert eta.left_s() == pytest.approx(total - 0.4)
    clock.now += 5  # the stress overran its second: it counts as done, not as -4 s
    assert eta.left_s() == pytest.approx(total - 1.0)
    eta.finish("cpu.stress")
    assert eta.left_s() == pytest.approx(total - 1.0)
    for check_id in eta.expected:
        eta.finish(check_id)
    assert eta.left_s() == 0.0 and eta.fraction() == 1.0


def test_a_background_check_counts_down_beside_the_others(make_capture: CaptureFactory) -> None:
    clock = Clock()
    eta = _eta(make_capture, load_default_policy(), clock)
    eta.start("storage.self_test.sda")
    clock.now += 40
    # 60 s of the self-test's limit left, more than every foreground check together
    assert eta.left_s() == pytest.approx(60.0)
    assert eta.fraction() == pytest.approx(0.4)


def test_progress_line_with_the_time_left(make_capture: CaptureFactory, tmp_path: Path) -> None:
    eta = _eta(make_capture, load_default_policy())
    assert duration_words(12.4) == "12 s" and duration_words(125) == "2 min 05"
    assert with_eta("cpu.stress", eta, "en") == "cpu.stress · about 1 min 40 left"
    assert with_eta("cpu.stress", eta, "fr") == "cpu.stress · reste environ 1 min 40"
    assert with_eta("cpu.stress", None, "fr") == "cpu.stress"


class Progress(RunView):
    def __init__(self) -> None:
        self.seen: list[tuple[float | None, float | None, str]] = []

    def step_progress(
        self, step: str, fraction: float | None, eta_s: float | None, detail: str
    ) -> None:
        if step == "checks":
            self.seen.append((fraction, eta_s, detail))


def test_bench_run_checks_step_eta_and_words_follow_the_policy(tmp_path: Path) -> None:
    """A real ``weee run --lang fr`` of the probe and the automatic checks on this
    machine under a policy with a 1 s stress: the step's first ETA is the policy's
    time (a few seconds, not the 25 s the declared stress and memory test add up to),
    it counts down, and the checks' own progress sentences show, in French."""
    policy = tmp_path / "programme.toml"
    policy.write_text(SHORT)
    profile = Profile(
        run=RunSection(steps=("probe", "checks")),
        policy=PolicySection(file=str(policy)),
        paths=PathsSection(data_dir=str(tmp_path / "data")),
    )
    view = Progress()
    outcome = run_bench(profile, view=view, lang="fr", unattended=True)
    assert outcome.context.checks is not None
    ran = {c["id"]: c for c in outcome.context.checks["checks"]}
    assert ran["cpu.stress"]["evidence"]["seconds"] == 1.0  # the policy's stress ran
    etas = [eta for _f, eta, _d in view.seen if eta is not None]
    declared = sum(c.estimated_s for c in AUTOMATIC if c.id in ("cpu.stress", "memory.pattern"))
    assert declared == 25
    # 1.5 s of stress and memory test, the quick checks (some skipped here) and the kit
    assert 1.5 <= etas[0] < 6, etas[0]
    assert etas[-1] < etas[0] and min(etas) >= 0
    details = [d for _f, _e, d in view.seen]
    assert any("cpu.stress : charge du processeur 1/1 s" in d for d in details), details
    assert any("test de la mémoire" in d for d in details), details
    for detail in details:
        assert english_in(detail) == [], detail
