"""``weee wipe``: certified erasure of every internal drive (or the drives named).

The order of things is the safety story: report what earlier runs left unfinished;
plan (which drives, refused ones with their reasons, the method per drive, the expected
duration); show model, serial and size of everything about to be destroyed; ask
(``--yes`` or typing ``ERASE``); only then open a drive for writing. ``--dry-run``
stops after the plan.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from agent.blockdev import human_size
from agent.errors import (
    EXIT_FAILED,
    EXIT_INCOMPLETE,
    EXIT_OK,
    EXIT_REFUSED,
    RefusedError,
    WeeeError,
)
from agent.wipe import engine
from agent.wipe.firmware import command_preview
from agent.wipe.journal import Journal, atomic_write
from agent.wipe.report import ErasureReport, Operator
from agent.wipe.runner import Target, WipeOptions, erase, plan_targets

CONFIRM_WORD = "ERASE"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = int(seconds)
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def plan_to_dict(targets: list[Target], options: WipeOptions) -> dict[str, Any]:
    out = []
    for t in targets:
        disk = t.disk
        out.append(
            {
                "device": t.path,
                "model": disk.model if disk else None,
                "serial": disk.serial if disk else None,
                "size_bytes": disk.size_bytes if disk else None,
                "allowed": t.allowed,
                "laptop_drive": t.disk.laptop_drive if t.disk else None,
                "refusals": t.assessment.refusals,
                "notes": t.assessment.notes,
                "methods": t.plan.methods if t.plan else [],
                "reasons": t.plan.reasons if t.plan else [],
                "frozen": t.plan.frozen if t.plan else None,
                "expected_duration_s": round(t.estimate_s, 1) if t.estimate_s else None,
            }
        )
    return {
        "targets": out,
        "options": {
            "method": options.method,
            "pattern": options.pattern,
            "passes": options.passes,
            "verify": options.verify,
        },
    }


def print_plan(console: Console, targets: list[Target], options: WipeOptions) -> None:
    for t in targets:
        if t.allowed and t.disk is not None and t.plan is not None:
            console.print(f"[bold]ERASE[/bold]  {t.disk.describe()}")
            first = t.plan.methods[0]
            how = first
            if first == "overwrite":
                how = (
                    f"overwrite, {options.pattern}, {options.passes} pass(es), "
                    f"verify {options.verify}"
                )
            else:
                how += f"  ({' '.join(command_preview(first, t.disk))})"
            console.print(f"       method: {how}")
            if len(t.plan.methods) > 1:
                console.print(f"       fallback: {' -> '.join(t.plan.methods[1:])}")
            for reason in t.plan.reasons:
                console.print(f"       note: {reason}")
            for note in t.assessment.notes:
                console.print(f"       note: {note}")
            console.print(f"       expected duration: about {_duration(t.estimate_s)}")
        else:
            label = t.disk.describe() if t.disk is not None else t.path
            console.print(f"[bold]REFUSED[/bold] {label}")
            for reason in t.assessment.refusals:
                console.print(f"       {reason}")
    allowed = [t for t in targets if t.allowed]
    if (
        allowed
        and options.verify == "none"
        and any(t.plan and t.plan.first == "overwrite" for t in allowed)
    ):
        console.print("[bold yellow]--verify none: an unverified overwrite is never certified[/]")
    if allowed:
        longest = max((t.estimate_s or 0.0) for t in allowed)
        total = sum(t.disk.size_bytes for t in allowed if t.disk)
        console.print(
            f"{len(allowed)} drive(s), {human_size(total)}, in parallel: about {_duration(longest)}"
        )


def refused_laptop_drives(targets: list[Target], *, explicit: bool) -> list[Target]:
    """The refusals that leave the laptop not done: every refused drive that was named;
    with no names, every refused drive of the laptop itself (the boot stick and other USB
    or removable media are refused too, but they are not the laptop's)."""
    return [
        t for t in targets if not t.allowed and (explicit or t.disk is None or t.disk.laptop_drive)
    ]


def exit_code(reports: list[ErasureReport], *, refused: bool) -> int:
    """``refused``: a drive that had to be erased was refused (see refused_laptop_drives)."""
    statuses = [r.status for r in reports]
    if "failed" in statuses:
        return EXIT_FAILED
    if "incomplete" in statuses:
        return EXIT_INCOMPLETE
    if refused:
        return EXIT_REFUSED
    return EXIT_OK


class _LiveProgress:
    """One rich progress bar per drive on stderr: phase, MB/s, ETA."""

    def __init__(self, console: Console) -> None:
        self.bars = Progress(
            TextColumn("{task.fields[device]:<14}"),
            TextColumn("{task.fields[phase]:<16}"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%"),
            TextColumn("{task.fields[rate]:>11}"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}
        self.lock = threading.Lock()

    def __call__(self, p: engine.Progress) -> None:
        with self.lock:
            if p.device not in self.tasks:
                self.tasks[p.device] = self.bars.add_task(
                    "", total=max(1, p.total_bytes), device=p.device, phase=p.phase, rate=""
                )
            rate = f"{p.rate_bps / 1e6:.0f} MB/s" if p.rate_bps else ""
            self.bars.update(
                self.tasks[p.device],
                completed=p.done_bytes,
                total=max(1, p.total_bytes),
                phase=p.phase,
                rate=rate,
            )


def _write_output(reports: list[ErasureReport], report_file: str | None, as_json: bool) -> None:
    doc = [r.to_dict() for r in reports]
    data = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if report_file:
        atomic_write(Path(report_file), data.encode())
    if as_json:
        click.echo(data, nl=False)


@click.command()
@click.argument("devices", nargs=-1)
@click.option(
    "--method",
    type=click.Choice(["auto", "firmware", "overwrite"]),
    default="auto",
    show_default=True,
    help="auto: the strongest method the drive supports, overwrite as the fallback.",
)
@click.option(
    "--pattern", type=click.Choice(["zero", "random"]), default="random", show_default=True
)
@click.option("--passes", type=click.IntRange(1, 35), default=1, show_default=True)
@click.option(
    "--verify",
    type=click.Choice(["none", "sample", "full"]),
    default="full",
    show_default=True,
    help="Read-back after an overwrite (firmware erases are always sample-verified).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan; open nothing for writing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print the erasure reports as JSON.")
@click.option(
    "--report", "report_file", type=click.Path(dir_okay=False), help="Write the reports here."
)
@click.option(
    "--journal-dir",
    type=click.Path(file_okay=False),
    help="Where interrupted erasures are remembered (default $WEEE_STATE_DIR/wipe-journal).",
)
@click.option("--allow-suspend", is_flag=True, help="Suspend-to-RAM to unfreeze frozen drives.")
@click.option("--technician", help="Who erases (goes into the report).")
@click.option("--organisation", help="Organisation (goes into the report).")
@click.option("--bench", "bench_name", help="Bench name (goes into the report).")
@click.option("--location", help="Where (goes into the report).")
@click.option(
    "--destination", type=click.Choice(["reuse", "recycle"]), default="reuse", show_default=True
)
@click.option(
    "--stall-timeout",
    type=click.FloatRange(min=1),
    default=300,
    show_default=True,
    help="Seconds without progress after which a drive is declared hung.",
)
def wipe(
    devices: tuple[str, ...],
    method: str,
    pattern: str,
    passes: int,
    verify: str,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    report_file: str | None,
    journal_dir: str | None,
    allow_suspend: bool,
    technician: str | None,
    organisation: str | None,
    bench_name: str | None,
    location: str | None,
    destination: str,
    stall_timeout: float,
) -> None:
    """Erase drives to NIST SP 800-88 and verify it (all internal drives by default).

    Exit status: 0 every drive certified; 1 one failed; 4 one was interrupted
    (INCOMPLETE); 3 a drive was refused: a named one, or, with no names, one of the
    laptop's own drives (mounted, holding the running system, held by LVM...), so the
    laptop is not done. The boot stick and other USB or removable media are refused
    without making the exit status non-zero.
    """
    console = Console(stderr=True, soft_wrap=True)
    options = WipeOptions(
        method=method,
        pattern=pattern,
        passes=passes,
        verify=verify,
        operator=Operator(technician, organisation, bench_name, location),
        destination=destination,
        allow_suspend=allow_suspend,
        journal_dir=journal_dir,
        stall_timeout_s=stall_timeout,
    )
    journal = Journal(journal_dir)
    previous = journal.interrupted()
    for item in previous:
        media = item.report.media
        console.print(
            f"[bold red]INCOMPLETE[/bold red] {media.device} ({media.model or 'unknown model'}, "
            f"serial {media.serial or 'none'}): erasure started {item.report.started_at} "
            "was interrupted and is NOT certified"
        )
        if not dry_run:
            journal.acknowledge(item)
    interrupted = [i.report for i in previous]

    targets = plan_targets(list(devices) or None, options)
    if not targets:
        raise RefusedError("no drives found to erase")
    print_plan(console, targets, options)
    if dry_run:
        if as_json:
            click.echo(json.dumps(plan_to_dict(targets, options), indent=2))
        refused = refused_laptop_drives(targets, explicit=bool(devices))
        sys.exit(EXIT_REFUSED if refused else (EXIT_INCOMPLETE if previous else EXIT_OK))

    allowed = [t for t in targets if t.allowed]
    if not allowed:
        _write_output(interrupted + [r for r in erase(targets, options)], report_file, as_json)
        raise RefusedError("every drive was refused: nothing erased")
    if not yes:
        console.print(
            f"[bold red]All data on the {len(allowed)} drive(s) marked ERASE "
            "will be destroyed.[/bold red]"
        )
        try:
            answer = click.prompt(
                f"Type {CONFIRM_WORD} to continue", default="", show_default=False, err=True
            )
        except click.Abort:  # end of input: nobody confirmed
            answer = ""
        if answer.strip() != CONFIRM_WORD:
            raise WeeeError("not confirmed: nothing erased", exit_code=EXIT_REFUSED)

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        console.print(
            f"[bold red]signal {signum}: stopping; these erasures stay INCOMPLETE[/bold red]"
        )
        stop.set()

    old = signal.signal(signal.SIGTERM, on_signal)
    live = _LiveProgress(console)
    try:
        with live.bars:
            try:
                reports = erase(targets, options, progress=live, stop=stop)
            except KeyboardInterrupt:  # second Ctrl-C during the grace period
                stop.set()
                raise
    finally:
        signal.signal(signal.SIGTERM, old)
    for r in reports:
        colour = {"certified": "green", "refused": "yellow"}.get(r.status, "red")
        console.print(
            f"[bold {colour}]{r.status.upper()}[/bold {colour}] {r.media.device} "
            f"{r.sanitization.method} verification {r.verification.result}"
            + (f": {'; '.join(r.errors)}" if r.errors else "")
        )
    # an interrupted earlier erasure of a drive that is now certified is history only
    certified = {r.media.serial or r.media.device for r in reports if r.status == "certified"}
    pending = [i for i in interrupted if (i.media.serial or i.media.device) not in certified]
    _write_output(interrupted + reports, report_file, as_json)
    refused = refused_laptop_drives(targets, explicit=bool(devices))
    for t in refused:
        console.print(
            f"[bold yellow]NOT ERASED[/bold yellow] {t.path}: "
            + "; ".join(t.assessment.refusals)
            + " — this laptop is not done"
        )
    sys.exit(exit_code(reports + pending, refused=bool(refused)))
