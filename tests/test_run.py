"""The runner's journal and routing, with the steps replaced by fakes (passed in).

What the real steps do end to end is tested on a loop device (test_run_demo.py) and in
the VM (test_vm_bench.py); here: order, resume after an interruption, another laptop,
maintenance and parts routing, verdicts and exit codes.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.errors import EXIT_FAILED, EXIT_INCOMPLETE, EXIT_OK
from agent.run.confirm import (
    Confirmation,
    EraseDrive,
    EraseRequest,
    Keyboard,
    LeftOut,
    Prompt,
    asker,
    decide,
)
from agent.run.profile import PathsSection, Profile, RunSection
from agent.run.runner import RunOutcome, run_bench
from agent.run.steps import RunContext, StepOutput
from agent.run.view import PlainView, RunView
from checks.i18n import Lang


class Recorder(RunView):
    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []

    def step_started(self, step: str) -> None:
        self.events.append(("started", step))

    def step_finished(self, step: str, status: str, summary: str) -> None:
        self.events.append(("finished", step, status))

    def message(self, text: str, *, level: str = "info") -> None:
        self.events.append(("message", level, text))


class FakeBench:
    """Fake steps that record their calls and build just enough context."""

    def __init__(self, *, device_id: str = "dev-A", grade: str = "A") -> None:
        self.device_id = device_id
        self.grade = grade
        self.calls: list[str] = []
        self.interrupt_at: str | None = None
        self.erasure_status = "certified"

    def functions(self) -> dict[str, Callable[[RunContext], StepOutput]]:
        names = ("probe", "checks", "guided", "erase", "image", "record", "spool", "sync")
        return {name: self._step(name) for name in (*names, "label")}

    def _step(self, name: str) -> Callable[[RunContext], StepOutput]:
        def run(ctx: RunContext) -> StepOutput:
            self.calls.append(name)
            if self.interrupt_at == name:
                raise KeyboardInterrupt
            return getattr(self, name)(ctx)

        return run

    def probe(self, ctx: RunContext) -> StepOutput:
        ctx.hardware = {
            "device": {"device_id": self.device_id},
            "storage": [{"name": "sda", "path": "/dev/sda", "removable": False}],
        }
        return StepOutput("done", "probed")

    def checks(self, ctx: RunContext) -> StepOutput:
        ctx.checks = {"grade": {"grade": self.grade}}
        return StepOutput("done", "checked", ctx.checks)

    def guided(self, ctx: RunContext) -> StepOutput:
        return StepOutput("skipped", "unattended", ctx.checks)

    def erase(self, ctx: RunContext) -> StepOutput:
        ctx.erasures = [{"status": self.erasure_status, "media": {"device": "/dev/sda"}}]
        status = "done" if self.erasure_status == "certified" else "failed"
        return StepOutput(status, "erased", {"erasures": ctx.erasures})

    def image(self, ctx: RunContext) -> StepOutput:
        if ctx.route != "refurbish":
            return StepOutput("skipped", "no image")
        ctx.image = {"status": "verified"}
        return StepOutput("done", "imaged", ctx.image)

    def record(self, ctx: RunContext) -> StepOutput:
        certified = bool(ctx.erasures) and all(e["status"] == "certified" for e in ctx.erasures)
        certified = certified and ctx.image is not None
        kind = {"maintenance": "maintenance", "recycle": "recycling"}.get(
            ctx.route, "refurbishment"
        )
        ctx.signed = {
            "record": {
                "record_id": f"rec-{len(self.calls)}",
                "kind": kind,
                "certified": certified,
                "hardware": ctx.hardware,
                "erasures": ctx.erasures,
                "image": ctx.image,
            }
        }
        return StepOutput("done", "recorded", ctx.signed)

    def spool(self, ctx: RunContext) -> StepOutput:
        return StepOutput("done", "spooled", {"path": "/spool/x.json"})

    def sync(self, ctx: RunContext) -> StepOutput:
        ctx.sync = {"state": "sent", "asset_id": "W-000042", "server": "http://db"}
        return StepOutput("done", "sent", ctx.sync)

    def label(self, ctx: RunContext) -> StepOutput:
        return StepOutput("done", "labelled", {"path": "/labels/x.txt"})


def _profile(tmp_path: Path, steps: tuple[str, ...] | None = None) -> Profile:
    run = RunSection(steps=steps) if steps else RunSection()
    return Profile(run=run, paths=PathsSection(data_dir=str(tmp_path / "data")))


def _run(tmp_path: Path, fake: FakeBench, **kwargs: Any) -> RunOutcome:
    return run_bench(
        _profile(tmp_path),
        view=kwargs.pop("view", Recorder()),
        step_functions=fake.functions(),
        env={},
        **kwargs,
    )


def _current(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "data" / "state" / "run" / "current" / "run.json"
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def test_it_runs_every_step_in_order_and_certifies(tmp_path: Path) -> None:
    fake = FakeBench()
    view = Recorder()
    outcome = _run(tmp_path, fake, view=view, unattended=True)
    assert fake.calls == list(_profile(tmp_path).run.steps)
    assert outcome.verdict.verdict == "certified"
    assert outcome.verdict.exit_code == EXIT_OK
    assert outcome.verdict.asset_id == "W-000042"
    assert [e for e in view.events if e[0] == "started"] == [("started", s) for s in fake.calls]
    # the finished run is archived whole, the way cleared for the next laptop
    assert outcome.archived_to is not None
    archived = json.loads((outcome.archived_to / "run.json").read_text())
    assert archived["verdict"]["verdict"] == "certified"
    assert (outcome.archived_to / "erase.json").exists()
    assert not (tmp_path / "data" / "state" / "run" / "current").exists()


def test_an_interrupted_run_resumes_at_the_step_it_stopped_in(tmp_path: Path) -> None:
    fake = FakeBench()
    fake.interrupt_at = "erase"
    first = _run(tmp_path, fake, unattended=True)
    assert first.verdict.verdict == "interrupted"
    assert first.verdict.exit_code == EXIT_INCOMPLETE
    state = _current(tmp_path)
    assert state["steps"]["checks"]["status"] == "done"
    assert state["steps"]["erase"]["status"] == "running"  # what a power cut leaves too

    fake.calls.clear()
    fake.interrupt_at = None
    second = _run(tmp_path, fake, unattended=True)
    # the probe always runs (is it the same laptop?), finished steps are not redone
    assert fake.calls[:2] == ["probe", "erase"]
    assert "checks" not in fake.calls
    assert second.state.run_id == first.state.run_id
    assert second.state.boots == 2
    assert second.state.steps["erase"].attempts == 2
    assert second.verdict.verdict == "certified"
    assert second.context.checks == {"grade": {"grade": "A"}}  # restored from the journal


def test_another_laptop_does_not_inherit_an_unfinished_run(tmp_path: Path) -> None:
    fake = FakeBench(device_id="laptop-A")
    fake.interrupt_at = "erase"
    first = _run(tmp_path, fake, unattended=True)

    other = FakeBench(device_id="laptop-B")
    view = Recorder()
    second = _run(tmp_path, other, view=view, unattended=True)
    assert second.state.run_id != first.state.run_id
    assert "checks" in other.calls  # everything again, for this laptop
    assert second.state.device_id == "laptop-B"
    old = tmp_path / "data" / "state" / "run" / "runs" / first.state.run_id / "run.json"
    assert "laptop laptop-B came next" in json.loads(old.read_text())["archived"]["reason"]
    assert any("another laptop" in e[2] for e in view.events if e[0] == "message")


def test_maintenance_never_erases_nor_images(tmp_path: Path) -> None:
    fake = FakeBench()
    outcome = _run(tmp_path, fake, unattended=True, maintenance_ticket="T-2026-0042")
    assert "erase" not in fake.calls and "image" not in fake.calls
    assert outcome.verdict.verdict == "maintenance"
    assert outcome.verdict.exit_code == EXIT_OK
    assert outcome.context.record is not None
    assert outcome.context.record["kind"] == "maintenance"
    assert outcome.state.maintenance_ticket == "T-2026-0042"


def test_a_laptop_graded_parts_is_erased_and_routed_to_recycling(tmp_path: Path) -> None:
    fake = FakeBench(grade="parts")
    outcome = _run(tmp_path, fake, unattended=True)
    assert "erase" in fake.calls
    assert outcome.state.steps["image"].status == "skipped"
    assert outcome.verdict.verdict == "recycling"
    assert outcome.context.record is not None
    assert outcome.context.record["kind"] == "recycling"
    assert outcome.verdict.reasons[0].startswith("graded parts")


def test_a_failed_erasure_is_a_failed_verdict_not_a_crash(tmp_path: Path) -> None:
    fake = FakeBench()
    fake.erasure_status = "failed"
    outcome = _run(tmp_path, fake, unattended=True)
    assert outcome.verdict.verdict == "failed"
    assert outcome.verdict.exit_code == EXIT_FAILED
    assert any(r.startswith("Data erasure:") for r in outcome.verdict.reasons)
    assert fake.calls[-1] == "label"  # the record and the label still happen


@pytest.mark.parametrize("profile_parts", ["refurbish"])
def test_the_profile_can_send_parts_laptops_through_refurbishment(
    tmp_path: Path, profile_parts: str
) -> None:
    fake = FakeBench(grade="parts")
    profile = Profile(
        run=RunSection(parts=profile_parts), paths=PathsSection(data_dir=str(tmp_path))
    )
    outcome = run_bench(
        profile, view=RunView(), step_functions=fake.functions(), env={}, unattended=True
    )
    assert outcome.verdict.verdict == "certified"
    assert "image" in fake.calls


# --- the guided step, with the real steps on a capture (no terminal needed) ---------


def test_journalled_checks_grade_again_exactly_as_they_were() -> None:
    """A run resumed at the guided step rebuilds the automatic results from checks.json:
    read back, they render and grade as the originals did, in both languages."""
    from agent.run.steps import outcome_from_checks
    from checks.health import CheckOutcome, CheckResult, Verdict
    from checks.i18n import msg
    from checks.policy import load_policy

    def result(id: str, component: str, verdict: Verdict, target: str | None = None) -> Any:
        return CheckResult(id, id.removesuffix(f".{target}"), component, target, verdict, 0.25)

    policy = load_policy(None)
    original = CheckOutcome(
        results=[
            result("memory.size", "memory", Verdict("pass", msg("skip.root"), {"gib": 8})),
            result(
                "storage.self_test.sda",
                "storage",
                Verdict("skip", msg("skip.tool", tool="smartctl"), {}),
                target="sda",
            ),
            result(
                "keyboard",
                "keyboard",
                Verdict(
                    "fail",
                    msg("keyboard.missing", count=1, total=77, keys="q"),
                    {"keys_missing": ["q"]},
                    repair=msg("repair.replace_keyboard"),
                ),
            ),
            result("cpu.sensors", "sensors", Verdict("warn", msg("skip.root"), {})),
        ],
        policy=policy,
        cosmetic="B",
        kit={"sleeve": True},
        started_at="2026-11-26T09:00:00+00:00",
        duration_s=12.5,
    )
    for lang, other in (("en", "fr"), ("fr", "en")):
        doc = original.to_dict(lang)  # type: ignore[arg-type]
        again = outcome_from_checks(json.loads(json.dumps(doc)), policy)
        assert again.to_dict(lang) == doc  # type: ignore[arg-type]
        assert again.to_dict(other) == original.to_dict(other)  # type: ignore[arg-type]
    assert again.grade()["repairs"] == ["replace the keyboard"]


def test_resumed_unattended_the_guided_checks_are_recorded_as_skipped(
    tmp_path: Path, make_capture: Any
) -> None:
    """Stopped in the guided step, then started again with --unattended: the guided
    checks are in the record, skipped with their reason, not missing from it."""
    from agent.run import steps
    from checks.health import CHECKS
    from checks.source import CaptureSource

    capture = make_capture({})
    profile = _profile(tmp_path, steps=("probe", "checks", "guided", "record", "spool"))

    def stopped(ctx: RunContext) -> StepOutput:
        raise KeyboardInterrupt

    first = run_bench(
        profile,
        view=RunView(),
        env={},
        source_factory=lambda: CaptureSource(capture),
        step_functions={"guided": stopped},
    )
    assert first.verdict.verdict == "interrupted"
    journalled = _current(tmp_path)
    assert journalled["steps"]["guided"]["status"] == "running"

    second = run_bench(
        profile,
        view=RunView(),
        env={},
        unattended=True,
        source_factory=lambda: CaptureSource(capture),
        step_functions={"guided": steps.guided},
    )
    assert second.state.steps["guided"].status == "skipped"
    assert second.state.steps["checks"].attempts == 1
    record = second.context.record
    assert record is not None
    checks = {c["id"]: c for c in record["checks"]["checks"]}
    for spec in (c for c in CHECKS if c.interactive):
        assert checks[spec.id]["status"] == "skip", spec.id
        assert checks[spec.id]["summary"] == "Skipped: needs a technician (unattended run)."
    assert record["checks"]["grade"]["cosmetic_grade"] is None


# --- the erasure's confirmation (agent.run.confirm) --------------------------------------


def _request(mode: str, seconds: int = 30) -> EraseRequest:
    drives = (EraseDrive("/dev/sda", "WDC WD5000LPVX", "WX91A", 500_107_862_016, "overwrite"),)
    left_out = (LeftOut("/dev/sdb", "SanDisk Cruzer", "4C53", "a USB drive or removable medium"),)
    return EraseRequest(mode, seconds, drives, left_out)


@pytest.mark.parametrize(
    ("mode", "assume_yes", "terminal", "confirmed", "by"),
    [
        ("type", False, False, False, "no-terminal"),
        ("countdown", False, False, False, "no-terminal"),
        ("none", False, False, True, "profile"),
        ("none", False, True, True, "profile"),  # never asks
        ("type", True, False, True, "command-line"),
        ("countdown", True, True, True, "command-line"),
        ("type", False, True, False, "key"),  # whatever the technician answered
        ("countdown", False, True, False, "key"),
    ],
)
def test_who_decides_the_erasure(
    mode: str, assume_yes: bool, terminal: bool, confirmed: bool, by: str
) -> None:
    asked: list[EraseRequest] = []

    def ask(request: EraseRequest) -> Confirmation:
        asked.append(request)
        return Confirmation(request.mode, False, "key")

    outcome = decide(_request(mode), assume_yes=assume_yes, ask=ask if terminal else None)
    assert (outcome.mode, outcome.confirmed, outcome.by) == (mode, confirmed, by)
    assert len(asked) == (1 if by == "key" else 0)


class PromptRecorder(RunView):
    def __init__(self) -> None:
        self.prompts: list[Prompt] = []
        self.shown = threading.Event()

    def erase_prompt(self, prompt: Prompt) -> None:
        self.prompts.append(prompt)
        self.shown.set()


def _answer(
    request: EraseRequest, keys: list[bytes], *, before: bytes = b"", view: RunView | None = None
) -> tuple[Confirmation, PromptRecorder]:
    """``request`` asked on a real pseudo-terminal; ``keys`` typed once the prompt is
    shown, ``before`` typed ahead, before it."""
    master, slave = os.openpty()
    recorder = PromptRecorder()
    shown = view if view is not None else recorder
    try:
        if before:
            os.write(master, before)
            assert select.select([slave], [], [], 10)[0]  # arrived (a whole line)

        def technician() -> None:
            if view is None:
                assert recorder.shown.wait(30)
            else:
                time.sleep(0.5)
            for key in keys:
                if key == b"<hang up>":
                    os.close(master)
                    return
                os.write(master, key)
                time.sleep(0.05)

        hands = threading.Thread(target=technician)
        hands.start()
        outcome = asker(shown, Keyboard(slave))(request)
        hands.join()
    finally:
        os.close(slave)
        with contextlib.suppress(OSError):
            os.close(master)
    return outcome, recorder


@pytest.mark.parametrize(
    ("keys", "before", "confirmed", "by", "typed"),
    [
        ([b"ERASE\r"], b"", True, "typed", "ERASE"),
        ([b"erase\r"], b"", False, "typed", "erase"),
        ([b"no\r"], b"", False, "typed", "no"),
        ([b"\r"], b"", False, "typed", ""),
        ([b"ERASEX", b"\x7f", b"\r"], b"", True, "typed", "ERASE"),  # rubbed out
        ([b"\x1b[A", b"ERASE\r"], b"", True, "typed", "ERASE"),  # an arrow is no answer
        # ERASE typed ahead, before the screen asked, is dropped: the answer is "no"
        ([b"no\r"], b"ERASE\r", False, "typed", "no"),
        ([b"ERA", b"<hang up>"], b"", False, "closed", "ERA"),
    ],
)
def test_type_erases_only_when_erase_is_typed_on_the_screen(
    keys: list[bytes], before: bytes, confirmed: bool, by: str, typed: str
) -> None:
    outcome, view = _answer(_request("type"), keys, before=before)
    assert (outcome.confirmed, outcome.by, outcome.typed) == (confirmed, by, typed)
    assert view.prompts[0].typed == "" and view.prompts[-1].outcome == outcome


@pytest.mark.parametrize(
    ("seconds", "keys", "before", "confirmed", "by"),
    [
        (1, [], b"", True, "countdown"),  # nobody stopped it
        (30, [b"x"], b"", False, "key"),
        (30, [b"\r"], b"", False, "key"),
        (1, [], b"x\r", True, "countdown"),  # a key typed ahead stops nothing
        (30, [b"<hang up>"], b"", False, "closed"),
    ],
)
def test_countdown_erases_when_it_runs_out_and_any_key_stops_it(
    seconds: int, keys: list[bytes], before: bytes, confirmed: bool, by: str
) -> None:
    outcome, view = _answer(_request("countdown", seconds), keys, before=before)
    assert (outcome.confirmed, outcome.by, outcome.seconds) == (confirmed, by, seconds)
    shown = [p.left_s for p in view.prompts if p.outcome is None]
    assert shown[0] == seconds  # the countdown is shown from its start
    if confirmed:
        assert shown == list(range(seconds, 0, -1)) and outcome.left_s == 0
    else:
        assert outcome.left_s is not None and 0 < outcome.left_s <= seconds


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_plain_log_lists_the_drives_and_counts_down(lang: Lang) -> None:
    out = io.StringIO()
    outcome, _ = _answer(_request("countdown", 2), [], view=PlainView(out, lang=lang))
    assert outcome.confirmed
    log = out.getvalue()
    words = {
        "en": ("about to ERASE", "500.1 GB  serial WX91A", "Not erased:", "Erasing in 2 s"),
        "fr": ("va EFFACER", "500,1 Go  n° de série WX91A", "Non effacés", "Effacement dans 2 s"),
    }[lang]
    for word in (*words, "/dev/sda  WDC WD5000LPVX", "/dev/sdb (SanDisk Cruzer 4C53)"):
        assert word in log, log
    assert "a USB drive or removable medium" in log
    assert log.rstrip().endswith(
        "countdown over: erasing" if lang == "en" else "compte à rebours terminé : effacement"
    )


def test_the_plain_log_echoes_what_is_typed() -> None:
    out = io.StringIO()
    outcome, _ = _answer(_request("type"), [b"ERASEX", b"\x7f", b"\r"], view=PlainView(out))
    assert outcome.confirmed
    log = out.getvalue()
    assert "Type ERASE to go on (then Enter); anything else erases nothing: ERASEX\b \b\n" in log
    assert log.rstrip().endswith("ERASE typed: erasing")
