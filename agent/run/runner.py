"""``weee run``: one laptop's whole pass over the bench, resumable after a power cut.

probe -> automatic checks -> guided checks -> erasure -> image -> signed record -> spool
-> sync -> asset label. The profile names the steps; each step's state and output are
journalled (``agent.run.journal``) before the next starts. At start, an unfinished run of
the same laptop is resumed at its first unfinished step; an unfinished run of another
laptop (the stick moved) is archived as abandoned and a new run starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import EXIT_FAILED, EXIT_INCOMPLETE, EXIT_OK
from agent.run import steps as steps_module
from agent.run.journal import RunJournal, RunState
from agent.run.profile import Profile
from agent.run.steps import RunContext, StepAborted, StepOutput
from agent.run.view import RunView, Verdict, step_name
from agent.wipe.report import now_iso
from checks.i18n import Lang
from inventory.record import derive_certified

if TYPE_CHECKING:
    from agent.run.confirm import Keyboard
    from checks.source import Source
    from inventory.sync import Transport


StepFunction = Callable[[RunContext], StepOutput]


@dataclass
class RunOutcome:
    verdict: Verdict
    state: RunState
    context: RunContext
    archived_to: Path | None


def _live_source() -> Source:
    from checks.source import LiveSource

    return LiveSource()


def _requests_transport() -> Transport:
    from inventory.sync import requests_transport

    return requests_transport()


def run_bench(
    profile: Profile,
    *,
    view: RunView,
    lang: Lang = "en",
    unattended: bool = False,
    maintenance_ticket: str | None = None,
    source_factory: Callable[[], Source] = _live_source,
    transport_factory: Callable[[], Transport] = _requests_transport,
    env: dict[str, str] | None = None,
    sync_attempts: int = 3,
    step_functions: Mapping[str, StepFunction] | None = None,
    assume_yes: bool = False,
    keyboard: Keyboard | None = None,
) -> RunOutcome:
    """Run (or resume) the bench run; returns the verdict. Never raises for a failing
    laptop: a failed erasure is a verdict, not an exception.

    ``keyboard``: the technician's terminal, where the erasure is confirmed as the
    profile's ``erase.confirm`` says (None: no terminal, so only ``none`` or
    ``assume_yes`` erase). ``step_functions`` replaces the step adapters (tests pass
    fakes in)."""
    functions = {**steps_module.STEP_FUNCTIONS, **(step_functions or {})}
    mode = "maintenance" if maintenance_ticket is not None else "refurbishment"
    steps = list(profile.run.steps)
    if mode == "maintenance":
        # re-diagnosis of a returning laptop: never erase, never image
        steps = [s for s in steps if s not in ("erase", "image")]
    ctx = RunContext(
        profile=profile,
        view=view,
        lang=lang,
        unattended=unattended,
        maintenance_ticket=maintenance_ticket,
        data_dir=profile.data_dir(env),
        state_dir=profile.state_dir(env),
        source_factory=source_factory,
        transport_factory=transport_factory,
        sync_attempts=sync_attempts,
        assume_yes=assume_yes,
        keyboard=keyboard,
    )
    journal = RunJournal(ctx.state_dir)
    journal.ensure_writable()
    state = journal.load()
    if state is not None and state.ended_at is None and state.mode == mode:
        state.boots += 1
        view.message(
            ctx.say("run.resuming", run_id=state.run_id, started=state.started_at, boot=state.boots)
        )
    else:
        if state is not None:
            journal.archive(state, reason="abandoned: another kind of run was started")
        state = journal.start(mode=mode, steps=steps, maintenance_ticket=maintenance_ticket)
    journal.save(state)
    ctx.run_id = state.run_id
    view.plan(steps, {name: s.status for name, s in state.steps.items()})

    interrupted = False
    try:
        for step in steps:
            step_state = state.steps[step]
            if step != "probe" and step_state.status in ("done", "failed", "skipped"):
                steps_module.restore(ctx, step, journal.read_output(step))
                continue
            output = _run_step(ctx, journal, state, step, functions[step])
            if step == "probe":
                device_id = (ctx.hardware or {}).get("device", {}).get("device_id")
                if state.device_id is not None and device_id != state.device_id:
                    view.message(
                        ctx.say("run.other_laptop", device_id=device_id, previous=state.device_id),
                        level="warning",
                    )
                    journal.archive(state, reason=f"abandoned: laptop {device_id} came next")
                    state = journal.start(
                        mode=mode, steps=steps, maintenance_ticket=maintenance_ticket
                    )
                    ctx.run_id = state.run_id
                    _finish_step(journal, state, step, output, time.monotonic())
                state.device_id = device_id
                journal.save(state)
                if output.status != "done":
                    break
    except StepAborted as exc:
        view.message(str(exc), level="error")
    except KeyboardInterrupt:
        interrupted = True
        ctx.stop.set()
        view.message(ctx.say("run.interrupted"), level="warning")

    verdict = compute_verdict(ctx, state, interrupted=interrupted)
    archived: Path | None = None
    if not interrupted:
        state.ended_at = now_iso()
        state.verdict = verdict.to_dict()
        journal.save(state)
        archived = journal.archive(state)
    view.verdict(verdict)
    return RunOutcome(verdict, state, ctx, archived)


def _finish_step(
    journal: RunJournal, state: RunState, step: str, output: StepOutput, started: float
) -> None:
    step_state = state.steps[step]
    if output.data is not None:
        journal.write_output(step, output.data)
    step_state.status = output.status
    step_state.summary = output.summary
    step_state.ended_at = now_iso()
    step_state.duration_s = round(time.monotonic() - started, 3)
    journal.save(state)


def _run_step(
    ctx: RunContext, journal: RunJournal, state: RunState, step: str, function: StepFunction
) -> StepOutput:
    step_state = state.steps[step]
    step_state.status = "running"
    step_state.started_at = now_iso()
    step_state.attempts += 1
    journal.save(state)
    ctx.view.step_started(step)
    started = time.monotonic()
    try:
        output = function(ctx)
    except StepAborted as exc:
        output = StepOutput("failed", str(exc))
        _finish_step(journal, state, step, output, started)
        ctx.view.step_finished(step, output.status, output.summary)
        raise
    _finish_step(journal, state, step, output, started)
    ctx.view.step_finished(step, output.status, output.summary)
    return output


def _demonstration(record: dict[str, Any]) -> bool:
    return bool((record.get("hardware") or {}).get("demonstration"))


def _as_a_laptop(record: dict[str, Any]) -> dict[str, Any]:
    """A demonstration's record judged as if its disposable disk were a laptop's drive:
    what the run itself achieved (never what the record says: it is not certified)."""
    if not _demonstration(record):
        return record
    hardware = {k: v for k, v in record["hardware"].items() if k != "demonstration"}
    return {**record, "hardware": hardware}


def compute_verdict(ctx: RunContext, state: RunState, *, interrupted: bool) -> Verdict:
    record = ctx.record
    asset_id = (ctx.sync or {}).get("asset_id")
    reasons: list[str] = []
    for name, step_state in state.steps.items():
        if step_state.status == "failed":
            step = step_name(name, ctx.lang)
            reasons.append(ctx.say("run.reason.step", step=step, summary=step_state.summary))
    for doc in ctx.interrupted_erasures:
        reasons.append(
            ctx.say(
                "run.reason.incomplete_erasure",
                device=doc["media"]["device"],
                started=doc["started_at"],
            )
        )
    sync_state = (ctx.sync or {}).get("state")
    if sync_state in ("offline", "config", "rejected"):
        reasons.append(ctx.say("run.reason.sync", error=ctx.sync.get("error") if ctx.sync else ""))
    if interrupted:
        kind, code = "interrupted", EXIT_INCOMPLETE
    elif record is None:
        kind, code = "failed", EXIT_FAILED
        if not reasons:
            reasons.append(ctx.say("run.reason.no_record"))
    elif ctx.route == "maintenance":
        kind, code = "maintenance", EXIT_OK
    elif ctx.route == "recycle":
        from inventory.record import erasure_cause

        # recycled parts leave the bench too: every drive of the laptop erased first
        if erasure_cause(_as_a_laptop(record)) is None:
            kind, code = "recycling", EXIT_OK
        else:
            kind, code = "failed", EXIT_FAILED
            reasons.insert(0, steps_module.not_certified_reason(record).render(ctx.lang))
        reasons.insert(0, ctx.say("run.reason.parts"))
    elif record["certified"]:
        kind, code = "certified", EXIT_OK
    elif _demonstration(record) and derive_certified(_as_a_laptop(record)):
        # weee demo: everything a certificate needs was done on the disposable disk; the
        # record itself is never certified (it certifies no laptop), the run succeeded
        kind, code = "demonstration", EXIT_OK
        reasons.insert(0, steps_module.not_certified_reason(record).render(ctx.lang))
    else:
        kind, code = "failed", EXIT_FAILED
        reasons.insert(0, steps_module.not_certified_reason(record).render(ctx.lang))
    return Verdict(
        verdict=kind,
        exit_code=code,
        asset_id=asset_id,
        device_id=state.device_id,
        record_id=record["record_id"] if record else None,
        reasons=reasons,
        grade=ctx.grade,
        record_path=ctx.record_path,
        label_path=ctx.label_path,
        server=(ctx.sync or {}).get("server"),
    )


def summary(outcome: RunOutcome) -> dict[str, Any]:
    """What ``weee run --json`` prints."""
    return {
        "verdict": outcome.verdict.to_dict(),
        "run_id": outcome.state.run_id,
        "boots": outcome.state.boots,
        "steps": {
            name: {"status": s.status, "summary": s.summary, "duration_s": s.duration_s}
            for name, s in outcome.state.steps.items()
        },
        "journal": str(outcome.archived_to) if outcome.archived_to else None,
    }
