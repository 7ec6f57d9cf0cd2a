"""The steps of a bench run, each a small adapter over another part's public API.

probe: ``checks.probe.build_report``; checks/guided: ``checks.health.run_health_checks``;
erase: ``agent.wipe``; image: ``agent.image.write_image``; record: ``inventory.record``
and the bench key (``inventory.benchkeys``); spool: ``inventory.spool``; sync:
``inventory.sync``; label: ``agent.run.label``.

Each step takes the :class:`RunContext`, does its work, and returns a :class:`StepOutput`
whose ``data`` the runner journals before marking the step done; :func:`restore` puts a
journalled output back into the context when a resumed run skips a finished step.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.run.profile import Profile
from agent.run.view import RunView
from checks.i18n import MESSAGES, Lang, Msg, msg, t

if TYPE_CHECKING:
    from agent.run.confirm import Confirmation, EraseRequest, Keyboard
    from checks.health import CheckOutcome
    from checks.probe.model import HardwareReport
    from checks.source import Source
    from inventory.benchkeys import Bench
    from inventory.sync import Transport


class StepAborted(Exception):
    """The run cannot go on (no hardware report, an invalid record...)."""


@dataclass
class StepOutput:
    status: str  # done | failed | skipped
    summary: str
    data: Any = None


@dataclass
class RunContext:
    profile: Profile
    view: RunView
    lang: Lang
    unattended: bool
    maintenance_ticket: str | None
    data_dir: Path
    state_dir: Path
    source_factory: Callable[[], Source]
    transport_factory: Callable[[], Transport]
    stop: threading.Event = field(default_factory=threading.Event)
    sync_attempts: int = 3
    run_id: str = ""
    # Erasing needs a decision (agent.run.confirm): the profile's erase.confirm answered
    # on ``keyboard`` (None: no terminal), or --yes typed by a human on the command line.
    assume_yes: bool = False
    keyboard: Keyboard | None = None
    # filled in as the steps run (or restored from the journal)
    source: Source | None = None
    report: HardwareReport | None = None
    hardware: dict[str, Any] | None = None
    auto_checks: CheckOutcome | None = None
    checks: dict[str, Any] | None = None
    erasures: list[dict[str, Any]] = field(default_factory=list)
    interrupted_erasures: list[dict[str, Any]] = field(default_factory=list)
    excluded: list[dict[str, str]] = field(default_factory=list)
    image: dict[str, Any] | None = None
    signed: dict[str, Any] | None = None
    record_path: str | None = None
    sync: dict[str, Any] | None = None
    label_path: str | None = None
    bench: Bench | None = None

    @property
    def steps(self) -> tuple[str, ...]:
        return self.profile.run.steps

    @property
    def grade(self) -> str | None:
        if self.checks is None:
            return None
        grade = (self.checks.get("grade") or {}).get("grade")
        return grade if isinstance(grade, str) else None

    @property
    def route(self) -> str:
        """maintenance | recycle | refurbish: what this laptop's run leads to."""
        if self.maintenance_ticket is not None:
            return "maintenance"
        if self.grade == "parts" and self.profile.run.parts == "recycle":
            return "recycle"
        return "refurbish"

    @property
    def record(self) -> dict[str, Any] | None:
        return self.signed["record"] if self.signed else None

    def say(self, id: str, **params: Any) -> str:
        """A ``run.*`` message of ``checks.i18n`` in the run's language."""
        return t(id, self.lang, **params)


# --- probe -------------------------------------------------------------------------------


def identity_facts(hardware: dict[str, Any], lang: Lang = "en") -> dict[str, Any]:
    device = hardware.get("device") or {}
    cpu = hardware.get("cpu") or {}
    memory = hardware.get("memory") or {}
    total = memory.get("total_bytes")
    return {
        "manufacturer": device.get("manufacturer"),
        "model": device.get("model"),
        "serial": device.get("serial"),
        "chassis": device.get("chassis"),
        "device_id": device.get("device_id"),
        "cpu": cpu.get("model"),
        "memory": f"{total / 2**30:.0f} {'Gio' if lang == 'fr' else 'GiB'}"
        if isinstance(total, int)
        else None,
        "storage": ", ".join(
            f"{d.get('name')} {d.get('model') or ''} {d.get('serial') or ''}".strip()
            for d in hardware.get("storage") or []
        ),
    }


def probe(ctx: RunContext) -> StepOutput:
    from checks.probe import build_report

    ctx.source = ctx.source_factory()
    ctx.report = build_report(ctx.source)
    ctx.hardware = ctx.report.to_dict()
    if ctx.profile.run.demonstration:
        # the disposable disks stand for the laptop's storage; this machine's own
        # drives, never erased, must not appear as the laptop's
        _demo_storage(ctx.hardware, ctx.profile.erase.drives)
    facts = identity_facts(ctx.hardware, ctx.lang)
    ctx.view.identity(facts)
    model = " ".join(str(facts[k]) for k in ("manufacturer", "model") if facts.get(k))
    gaps = len(ctx.hardware.get("gaps") or [])
    summary = ctx.say(
        "run.probe.summary",
        model=model or msg("run.probe.unknown_model"),
        device_id=facts.get("device_id") or msg("run.probe.no_id"),
        gaps=gaps,
    )
    return StepOutput("done", summary)


def _demo_storage(hardware: dict[str, Any], drives: tuple[str, ...]) -> None:
    """The demo's record: its disposable drives stand for the laptop's storage."""
    from agent.blockdev import list_disks, read_facts

    disks = {d.path: d for d in list_disks(facts=read_facts(), include_loop=True)}
    left_out = [d.get("path") for d in hardware.get("storage") or [] if isinstance(d, dict)]
    hardware["storage"] = [
        {
            "name": disk.name,
            "path": disk.path,
            "model": disk.model,
            "serial": disk.serial,
            "size_bytes": disk.size_bytes,
            "logical_sector_size": disk.logical_sector_size,
            "transport": disk.transport,
            "removable": disk.removable,
            "kind": disk.media_type,
        }
        for path in drives
        if (disk := disks.get(path)) is not None
    ]
    hardware["demonstration"] = {
        "note": "weee demo: the storage listed is the demo's disposable disk; this "
        "machine's own drives were neither erased nor certified",
        "drives_left_out": left_out,
    }


# --- checks ------------------------------------------------------------------------------


def _policy(ctx: RunContext) -> Any:
    from checks.policy import load_policy

    return load_policy(ctx.profile.policy.file or None)


class _ChecksProgress:
    """The checks step's bar: checks done over checks planned, the ETA from the time
    each check really gets under the policy (checks.health.runner.ChecksEta, as
    ``weee check`` uses it), what runs now and the checks' own progress sentences,
    already in the run's language."""

    def __init__(self, ctx: RunContext, policy: Any) -> None:
        self.ctx = ctx
        self.policy = policy
        self.eta: Any = None
        self.current = ""

    def plan(self, planned: list[Any]) -> None:
        from checks.health.runner import ChecksEta

        self.eta = ChecksEta.of(planned, self.policy)

    def _show(self, detail: str) -> None:
        if self.eta is None:
            return
        total = self.eta.total_s
        line = self.ctx.say(
            "run.checks.running",
            done=len(self.eta.finished),
            total=len(self.eta.expected),
            check=detail,
        )
        self.ctx.view.step_progress(
            "checks", self.eta.fraction(), self.eta.left_s() if total else None, line
        )

    def on_start(self, planned: Any) -> None:
        self.current = planned.id
        if self.eta is not None:
            self.eta.start(planned.id)
        self._show(self.current)

    def on_result(self, result: Any) -> None:
        if self.eta is not None:
            self.eta.finish(result.id)
        status = msg(f"run.check_status.{result.status}")
        self._show(self.ctx.say("run.checks.result", check=result.id, status=status))

    def progress(self, text: str) -> None:
        # the check's sentence comes rendered in the run's language (checks.i18n)
        self._show(self.ctx.say("run.checks.detail", check=self.current, detail=text))


def _run_automatic(ctx: RunContext, *, everything: bool) -> CheckOutcome:
    from checks.health import CHECKS, run_health_checks

    assert ctx.report is not None and ctx.source is not None
    specs = list(CHECKS) if everything else [c for c in CHECKS if not c.interactive]
    policy = _policy(ctx)
    shown = _ChecksProgress(ctx, policy)
    return run_health_checks(
        ctx.report,
        ctx.source,
        policy,
        unattended=True,
        lang=ctx.lang,
        specs=specs,
        progress=shown.progress,
        on_plan=shown.plan,
        on_start=shown.on_start,
        on_result=shown.on_result,
    )


def _checks_summary(ctx: RunContext, doc: dict[str, Any]) -> str:
    counts: dict[str, int] = {}
    for check in doc.get("checks") or []:
        counts[check["status"]] = counts.get(check["status"], 0) + 1
    shown = [msg(f"run.checks.count.{s}", n=n) for s, n in sorted(counts.items())]
    grade = (doc.get("grade") or {}).get("grade")
    return ctx.say(
        "run.checks.summary",
        grade=msg("run.checks.grade.parts") if grade == "parts" else grade,
        counts=shown,
    )


def checks(ctx: RunContext) -> StepOutput:
    # Without a guided step (unattended, or a profile without it) this step runs every
    # check, the interactive ones being skipped with their reason, and grades.
    guided_follows = "guided" in ctx.steps and not ctx.unattended
    outcome = _run_automatic(ctx, everything=not guided_follows)
    ctx.auto_checks = outcome
    ctx.checks = outcome.to_dict(ctx.lang)
    return StepOutput("done", _checks_summary(ctx, ctx.checks), ctx.checks)


def outcome_from_checks(doc: dict[str, Any], policy: Any) -> CheckOutcome:
    """The automatic checks' outcome read back from their journalled output, so that a
    run resumed at the guided step grades with the results the checks step recorded
    (running them again would take minutes and could give other results than the
    journal holds). Each sentence comes back in both languages; the grade is computed
    again from the statuses, components and repairs, as the first time."""
    from checks.health import CheckOutcome, CheckResult, Verdict
    from checks.i18n import Rendered

    results = []
    for c in doc.get("checks") or []:
        target = c.get("target")
        spec_id = (
            c["id"][: -len(target) - 1] if target and c["id"].endswith(f".{target}") else c["id"]
        )
        summaries = c.get("summaries") or {"en": c["summary"]}
        repair = Rendered(c.get("message_id", ""), texts=c["repairs"]) if c.get("repairs") else None
        verdict = Verdict(
            c["status"],
            Rendered(c.get("message_id", ""), texts=summaries),
            c.get("evidence") or {},
            repair=repair,
        )
        results.append(
            CheckResult(
                id=c["id"],
                spec_id=spec_id,
                component=c["component"],
                target=target,
                verdict=verdict,
                duration_s=float(c.get("duration_s") or 0.0),
                interactive=bool(c.get("interactive")),
            )
        )
    grade = doc.get("grade") or {}
    return CheckOutcome(
        results=results,
        policy=policy,
        cosmetic=grade.get("cosmetic_grade"),
        kit=doc.get("kit"),
        started_at=doc.get("started_at") or "",
        duration_s=float(doc.get("duration_s") or 0.0),
    )


def guided(ctx: RunContext) -> StepOutput:
    """The interactive checks, answered by the technician on the terminal while the full
    screen steps aside; their verdicts join the automatic ones and the laptop is graded
    again with them (the cosmetic grade typed, a failed keyboard's repair...)."""
    from checks.health import CHECKS, CheckOutcome, run_health_checks
    from checks.health.terminal import Terminal

    interactive = [c for c in CHECKS if c.interactive]
    assert ctx.checks is not None
    if any(c.get("interactive") for c in ctx.checks.get("checks") or []):
        # the checks step already ran them all (skipped: unattended from the start)
        return StepOutput("skipped", ctx.say("run.guided.unattended"), ctx.checks)
    assert ctx.report is not None and ctx.source is not None
    policy = _policy(ctx)
    if ctx.auto_checks is None:
        # resumed after a power cut: the automatic results come back from the journal
        ctx.auto_checks = outcome_from_checks(ctx.checks, policy)
    terminal = Terminal() if not ctx.unattended and Terminal.available() else None
    # Nobody to answer (--unattended on resume) or no terminal: the guided checks still
    # go into the record, skipped by the check runner with that reason, not missing.
    screen: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    if terminal is not None:
        # keys pressed while the automatic checks ran are no answers: each check's
        # Terminal enters cbreak mode with TCSAFLUSH, which drops them
        screen = ctx.view.suspended()
    try:
        with screen:
            outcome = run_health_checks(
                ctx.report,
                ctx.source,
                policy,
                unattended=ctx.unattended,
                lang=ctx.lang,
                specs=interactive,
                terminal=terminal,
            )
    finally:
        if terminal is not None:
            terminal.close()
    auto = ctx.auto_checks
    merged = CheckOutcome(
        results=[*auto.results, *outcome.results],
        policy=policy,
        # the technician's grade of the case, the kit they confirmed: the guided answers
        cosmetic=outcome.cosmetic or auto.cosmetic,
        kit=outcome.kit or auto.kit,
        started_at=auto.started_at,
        duration_s=auto.duration_s + outcome.duration_s,
    )
    ctx.checks = merged.to_dict(ctx.lang)
    if terminal is None:
        why = "run.guided.unattended" if ctx.unattended else "run.guided.no_terminal"
        return StepOutput("skipped", ctx.say(why), ctx.checks)
    return StepOutput("done", _checks_summary(ctx, ctx.checks), ctx.checks)


# --- erasure -----------------------------------------------------------------------------


def _excluded_reason(target: Any, boot: dict[str, str], explicit: bool) -> str | None:
    """Drives that are not the laptop's storage: left out of the record, not refused in it.

    The stick weee booted from, USB drives and removable media are never the donor's
    laptop storage (``inventory.record.is_laptop_drive`` says the same of the hardware
    report). An internal drive that was refused (mounted, held by LVM, holding the
    running system) stays in the record as refused: the laptop is then not certified.
    """
    if explicit or target.assessment.allowed:
        return None
    disk = target.disk
    if disk is None:
        return "; ".join(target.assessment.refusals)
    if not disk.laptop_drive:
        if disk.name in boot:
            return f"the boot medium ({boot[disk.name]})"
        return "a USB drive or removable medium"
    return None


def phase_words(phase: str, lang: Lang) -> str:
    """The erasure's and the image's phases ("pass 1/2", "verify", "write") in words."""
    if phase.startswith("pass "):
        return t("run.phase.pass", lang, n=phase[5:])
    key = f"run.phase.{phase}"
    return t(key, lang) if key in MESSAGES else phase


class _EraseProgress:
    def __init__(self, view: RunView, lang: Lang) -> None:
        self.view = view
        self.lang = lang
        self.drives: dict[str, Any] = {}
        self.lock = threading.Lock()

    def __call__(self, progress: Any) -> None:
        with self.lock:
            self.drives[progress.device] = progress
            done = sum(p.done_bytes for p in self.drives.values())
            total = sum(p.total_bytes for p in self.drives.values())
            etas = [p.eta_s for p in self.drives.values() if p.eta_s is not None]
            detail = "  ".join(
                f"{p.device} {phase_words(p.phase, self.lang)} "
                f"{100 * p.done_bytes / p.total_bytes:.0f}%"
                if p.total_bytes
                else f"{p.device} {phase_words(p.phase, self.lang)}"
                for p in self.drives.values()
            )
        self.view.step_progress(
            "erase", done / total if total else None, max(etas) if etas else None, detail
        )


def erase(ctx: RunContext) -> StepOutput:
    from agent.blockdev import boot_disks, read_facts
    from agent.wipe import Journal, Operator, WipeOptions, plan_targets
    from agent.wipe import erase as erase_drives

    if ctx.route == "maintenance":
        return StepOutput("skipped", ctx.say("run.erase.maintenance"), {"erasures": []})
    profile = ctx.profile
    options = WipeOptions(
        method=profile.erase.method,
        pattern=profile.erase.pattern,
        passes=profile.erase.passes,
        verify=profile.erase.verify,
        restore_dco=profile.erase.restore_dco,
        operator=Operator(
            technician=profile.bench.technician or None,
            organisation=profile.bench.organisation or None,
            bench=profile.bench.name or None,
            location=profile.bench.location or None,
        ),
        destination="recycle" if ctx.route == "recycle" else "reuse",
        journal_dir=ctx.state_dir / "wipe-journal",
    )
    # An erasure a power cut or a crash stopped: reported INCOMPLETE, never certified,
    # then the drive is erased again from the start below.
    journal = Journal(options.journal_dir)
    for item in journal.interrupted():
        doc = item.report.to_dict()
        ctx.interrupted_erasures.append(doc)
        ctx.view.message(
            ctx.say(
                "run.erase.incomplete",
                device=doc["media"]["device"],
                serial=doc["media"]["serial"],
                started=doc["started_at"],
                last=item.last_update,
            ),
            level="warning",
        )
        journal.acknowledge(item)
    explicit = bool(profile.erase.drives)
    # one lsblk + sysfs read for both the plan and the boot-stick exclusion
    facts = read_facts()
    # named drives may be USB drives or removable media only if the profile allows it
    targets = plan_targets(
        list(profile.erase.drives) or None,
        options,
        facts=facts,
        explicit=explicit and profile.erase.allow_usb,
    )
    boot = boot_disks(facts)
    chosen = []
    ctx.excluded = []
    for target in targets:
        reason = _excluded_reason(target, boot, explicit)
        if reason is None:
            chosen.append(target)
        else:
            ctx.excluded.append({"device": target.path, "reason": reason})
    described = []
    for target in chosen:
        disk = target.disk
        what = f"{disk.model or '?'} {disk.serial or '?'}" if disk else "?"
        size = f"{disk.size_bytes / 1e9:.1f}" if disk else "?"
        if ctx.lang == "fr":
            size = size.replace(".", ",")
        method = target.plan.first if target.plan is not None else msg("run.erase.refused")
        described.append(
            ctx.say("run.erase.target", device=target.path, what=what, gb=size, method=method)
        )
    allowed = [t for t in chosen if t.allowed]
    confirmation = None
    if allowed:
        confirmation = confirm_erasure(ctx, _erase_request(ctx, targets, allowed))
        if not confirmation.confirmed:
            from agent.run.view import why_not_confirmed

            data = {
                "erasures": [],
                "excluded": ctx.excluded,
                "interrupted": ctx.interrupted_erasures,
                "confirmation": confirmation.to_dict(),
            }
            why = why_not_confirmed(confirmation, ctx.lang)
            return StepOutput("failed", ctx.say("run.erase.not_confirmed", why=why), data)
    for line in described:
        ctx.view.message(ctx.say("run.erase.erasing", target=line))
    reports = erase_drives(
        chosen, options, progress=_EraseProgress(ctx.view, ctx.lang), stop=ctx.stop
    )
    ctx.erasures = [r.to_dict() for r in reports]
    data = {
        "erasures": ctx.erasures,
        "excluded": ctx.excluded,
        "interrupted": ctx.interrupted_erasures,
    }
    if confirmation is not None:
        data["confirmation"] = confirmation.to_dict()
    if not ctx.erasures:
        return StepOutput("failed", ctx.say("run.erase.none"), data)
    summary = ", ".join(
        ctx.say("run.erase.drive", device=e["media"]["device"], status=_erasure_word(e["status"]))
        for e in ctx.erasures
    )
    ok = all(e["status"] == "certified" for e in ctx.erasures)
    return StepOutput("done" if ok else "failed", summary, data)


def _erase_request(ctx: RunContext, targets: list[Any], allowed: list[Any]) -> EraseRequest:
    """What the confirmation screen lists: the drives to erase, and the others, why."""
    from agent.run.confirm import EraseDrive, EraseRequest, LeftOut

    drives = tuple(
        EraseDrive(
            device=t.path,
            model=t.disk.model if t.disk else None,
            serial=t.disk.serial if t.disk else None,
            size_bytes=t.disk.size_bytes if t.disk else None,
            method=t.plan.first if t.plan is not None else "?",
        )
        for t in allowed
    )
    excluded = {e["device"]: e["reason"] for e in ctx.excluded}
    left_out = tuple(
        LeftOut(
            device=t.path,
            model=t.disk.model if t.disk else None,
            serial=t.disk.serial if t.disk else None,
            reason=excluded.get(t.path) or "; ".join(t.assessment.refusals),
        )
        for t in targets
        if t not in allowed
    )
    erase = ctx.profile.erase
    return EraseRequest(erase.confirm, erase.countdown_s, drives, left_out)


def confirm_erasure(ctx: RunContext, request: EraseRequest) -> Confirmation:
    """The profile's erase.confirm (or the command line's --yes) decides; the screen or
    the log says when nobody was asked."""
    from agent.run.confirm import asker, decide
    from agent.run.view import confirmation_words

    ask = asker(ctx.view, ctx.keyboard) if ctx.keyboard is not None else None
    confirmation = decide(request, assume_yes=ctx.assume_yes, ask=ask)
    if confirmation.by in ("profile", "command-line"):
        ctx.view.message(confirmation_words(confirmation, ctx.lang), level="warning")
    return confirmation


def _erasure_word(status: str) -> Msg | str:
    key = f"run.erasure.{status}"
    return msg(key) if key in MESSAGES else status


# --- image -------------------------------------------------------------------------------


def image_target(ctx: RunContext) -> str | None:
    """The drive that receives the OS: the profile's, else the first certified internal
    drive, NVMe first, then the largest."""
    if ctx.profile.image.target != "auto":
        return ctx.profile.image.target
    candidates = [
        e["media"]
        for e in ctx.erasures
        if e["status"] == "certified" and e["media"]["type"] not in ("usb",)
    ]
    if not candidates:
        return None
    candidates.sort(key=lambda m: (m["type"] != "nvme", -int(m["size_bytes"])))
    device: str = candidates[0]["device"]
    return device


def image(ctx: RunContext) -> StepOutput:
    from agent.image import write_image

    if ctx.route != "refurbish":
        why = "run.image.maintenance" if ctx.route == "maintenance" else "run.image.parts"
        return StepOutput("skipped", ctx.say(why), None)
    source = ctx.profile.image.source
    if not source:
        return StepOutput("skipped", ctx.say("run.image.no_source"), None)
    device = image_target(ctx)
    if device is None:
        return StepOutput("failed", ctx.say("run.image.no_target"), None)
    certified = {e["media"]["device"] for e in ctx.erasures if e["status"] == "certified"}
    if device not in certified:
        # never write the OS over a drive whose erasure is not proven
        return StepOutput("failed", ctx.say("run.image.not_certified", device=device), None)
    started = time.monotonic()

    def progress(p: Any) -> None:
        if p.phase == "write":
            done, total = p.image_done, p.image_total
        else:
            done, total = p.verified, p.verify_total
        fraction = done / total if total else None
        elapsed = time.monotonic() - started
        eta = (total - done) * elapsed / done if total and done else None
        ctx.view.step_progress("image", fraction, eta, f"{device} {phase_words(p.phase, ctx.lang)}")

    ctx.view.message(ctx.say("run.image.writing", source=source, device=device))
    result = write_image(
        source,
        device,
        sha256=ctx.profile.image.sha256 or None,
        grow=ctx.profile.image.grow,
        progress=progress,
        explicit=True,
    )
    ctx.image = result.to_dict()
    if result.status == "verified":
        summary = ctx.say("run.image.verified", device=device, verification=result.verification)
        return StepOutput("done", summary, ctx.image)
    return StepOutput(
        "failed", ctx.say("run.image.failed", device=device, error=result.error), ctx.image
    )


# --- record, spool, sync ---------------------------------------------------------------


def load_or_create_bench(ctx: RunContext) -> Bench:
    from inventory.benchkeys import init_bench, load_bench

    if ctx.bench is not None:
        return ctx.bench
    key = ctx.data_dir / "bench" / "bench.key"
    if key.exists():
        ctx.bench = load_bench(ctx.data_dir)
    else:
        # first run of a new stick: the bench gets its key; the programme database
        # must register its public key (weee manage addbench) before records sync
        bench_profile = ctx.profile.bench
        ctx.bench = init_bench(
            ctx.data_dir,
            name=bench_profile.name or "bench",
            organisation=bench_profile.organisation or None,
            location=bench_profile.location or None,
            technician=bench_profile.technician or None,
        )
        ctx.view.message(
            ctx.say("run.bench.new_key", key_id=ctx.bench.key_id, path=ctx.data_dir / "bench")
        )
    return ctx.bench


def record(ctx: RunContext) -> StepOutput:
    from inventory.record import RecordInvalid, new_record

    bench = load_or_create_bench(ctx)
    kind = {"maintenance": "maintenance", "recycle": "recycling"}.get(ctx.route, "refurbishment")
    assert ctx.hardware is not None and ctx.checks is not None
    device_id = (ctx.hardware.get("device") or {}).get("device_id")
    if device_id is None:
        # Nothing stable identified this machine (no usable serial, MAC or drive serial):
        # the record still needs an id; this one never matches another laptop's.
        device_id = f"unidentified-{ctx.run_id}"
        ctx.view.message(ctx.say("run.record.no_identity", device_id=device_id), level="warning")
    try:
        doc = new_record(
            kind=kind,
            bench=bench.record_bench(ctx.profile.bench.technician or None),
            hardware=ctx.hardware,
            device_id=device_id,
            checks=ctx.checks,
            erasures=ctx.erasures,
            image=ctx.image,
            donor=ctx.profile.donor_object(),
            maintenance_ticket=ctx.maintenance_ticket,
            kit=ctx.checks.get("kit"),
        )
    except RecordInvalid as exc:
        # a bug in one of the parts, never the technician's doing: stop with the path
        raise StepAborted(ctx.say("run.record.invalid", error=exc)) from None
    ctx.signed = bench.sign(doc)
    certified = (
        msg("run.record.certified")
        if doc["certified"]
        else msg("run.record.not_certified", reason=not_certified_reason(doc))
    )
    summary = ctx.say(
        "run.record.summary",
        kind=msg(f"run.record.kind.{kind}"),
        record_id=doc["record_id"],
        certified=certified,
    )
    return StepOutput("done", summary, ctx.signed)


def not_certified_reason(record: dict[str, Any]) -> Msg:
    """``inventory.record.certified_reason`` in the technician's language."""
    from inventory.record import uncertified_cause

    cause, facts = uncertified_cause(record)
    if cause == "drives":
        facts["missing"] = [
            msg("run.reason.drive_never_erased", name=d.name)
            if d.status is None
            else msg(
                "run.reason.drive_detail" if d.detail else "run.reason.drive",
                name=d.name,
                status_word=_erasure_word(d.status),
                detail=d.detail,
            )
            for d in facts.pop("drives")
        ]
    if "status" in facts:
        facts["status_word"] = _erasure_word(facts["status"])
    if "index" in facts:
        facts["number"] = facts["index"] + 1
    return msg(f"run.reason.{cause}", **facts)


def spool(ctx: RunContext) -> StepOutput:
    bench = load_or_create_bench(ctx)
    assert ctx.signed is not None
    entry = bench.spool().add(ctx.signed, public_key=bench.public_key)
    ctx.record_path = str(entry.path)
    return StepOutput("done", str(entry.path), {"path": str(entry.path), "seq": entry.seq})


def sync(ctx: RunContext) -> StepOutput:
    from inventory.sync import Backoff, SyncStopped, load_config, sync_spool

    bench = load_or_create_bench(ctx)
    saved = load_config(ctx.data_dir)
    server = ctx.profile.server.url or saved.server
    token = ctx.profile.server.token or saved.token
    ca = ctx.profile.server.ca or saved.ca
    if not server or not token:
        return StepOutput("skipped", ctx.say("run.sync.no_server"), {"state": "local"})
    spool_ = bench.spool()
    try:
        result = sync_spool(
            spool_,
            server=server,
            token=token,
            transport=ctx.transport_factory(),
            verify=ca or True,
            public_key=bench.public_key,
            timeout=20.0,
            backoff=Backoff(attempts=ctx.sync_attempts, initial=1.0, maximum=5.0),
            progress=lambda line: ctx.view.step_progress("sync", None, None, line.strip()),
        )
    except SyncStopped as exc:
        data: dict[str, Any] = {
            "state": "offline" if exc.kind == "unavailable" else "config",
            "error": str(exc),
        }
        ctx.sync = data
        # the record is safe in the spool: the next run (or weee sync) sends it
        return StepOutput("skipped", ctx.say("run.sync.kept", error=exc), data)
    assert ctx.signed is not None
    record_id = ctx.signed["record"]["record_id"]
    entry = spool_.find(record_id)
    answer = entry.answer if entry is not None else None
    if entry is None or entry.state != "sent" or not isinstance(answer, dict):
        why = "; ".join(w for _, w in result.rejected) or ctx.say("run.sync.not_accepted")
        data = {"state": "rejected", "error": why, "answer": answer}
        ctx.sync = data
        return StepOutput("failed", ctx.say("run.sync.rejected", error=why), data)
    data = {
        "state": "sent",
        "server": server,
        "asset_id": answer.get("asset_id"),
        "status": answer.get("status"),
        "others_sent": len(result.stored) + len(result.duplicates) - 1,
    }
    ctx.sync = data
    status = answer.get("status")
    key = f"run.sync.status.{status}"
    summary = ctx.say(
        "run.sync.sent",
        status=msg(key) if key in MESSAGES else status,
        server=server,
        asset_id=data["asset_id"],
    )
    return StepOutput("done", summary, data)


def label(ctx: RunContext) -> StepOutput:
    from agent.run.label import write_label

    assert ctx.signed is not None
    asset_id = (ctx.sync or {}).get("asset_id")
    path = write_label(ctx.data_dir / "labels", ctx.signed["record"], asset_id=asset_id)
    ctx.label_path = str(path)
    return StepOutput("done", str(path), {"path": str(path), "asset_id": asset_id})


STEP_FUNCTIONS: dict[str, Callable[[RunContext], StepOutput]] = {
    "probe": probe,
    "checks": checks,
    "guided": guided,
    "erase": erase,
    "image": image,
    "record": record,
    "spool": spool,
    "sync": sync,
    "label": label,
}


def restore(ctx: RunContext, step: str, data: Any) -> None:
    """Put a journalled step output back into the context (resumed run)."""
    if data is None:
        return
    if step in ("checks", "guided"):
        ctx.checks = data
    elif step == "erase":
        ctx.erasures = data.get("erasures", [])
        ctx.excluded = data.get("excluded", [])
        ctx.interrupted_erasures = data.get("interrupted", [])
    elif step == "image":
        ctx.image = data
    elif step == "record":
        ctx.signed = data
    elif step == "spool":
        ctx.record_path = data.get("path")
    elif step == "sync":
        ctx.sync = data
    elif step == "label":
        ctx.label_path = data.get("path")
