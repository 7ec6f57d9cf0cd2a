"""``weee check``: health checks, the grade against the programme policy, the kit."""

from __future__ import annotations

import json
import sys
import threading
from typing import TYPE_CHECKING, Any

import click

from agent.errors import UsageError

if TYPE_CHECKING:
    from checks.health import CheckResult
    from checks.health.runner import Planned
    from checks.i18n import Lang

STATUS_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}
STATUS_LABEL: dict[str, dict[str, str]] = {
    "en": {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "skip": "SKIP"},
    "fr": {"pass": "OK", "warn": "ATTN", "fail": "ÉCHEC", "skip": "IGNORÉ"},
}


class _Progress:
    """One transient status line on stderr; silent while a guided check owns the screen
    (the background self-test keeps reporting from its thread)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.paused = False
        self.lock = threading.Lock()

    def __call__(self, text: str) -> None:
        if not self.enabled or self.paused:
            return
        with self.lock:
            sys.stderr.write("\r\x1b[2K" + text[:100])
            sys.stderr.flush()

    def clear(self) -> None:
        if self.enabled and not self.paused:
            with self.lock:
                sys.stderr.write("\r\x1b[2K")
                sys.stderr.flush()


def _split_only(values: tuple[str, ...]) -> list[str]:
    return [part.strip() for v in values for part in v.split(",") if part.strip()]


@click.command()
@click.option(
    "--from",
    "capture",
    metavar="CAPTURE",
    help="Judge a capture folder (or .tar.gz) instead of this machine.",
)
@click.option("--json", "as_json", is_flag=True, help="Print checks[] and the grade as JSON.")
@click.option("--unattended", is_flag=True, help="Skip the guided checks that need a technician.")
@click.option(
    "--policy", "policy_file", metavar="FILE", help="Programme policy (TOML) over the default one."
)
@click.option(
    "--only",
    multiple=True,
    metavar="IDS",
    help="Only these checks (comma-separated ids or prefixes: storage, keyboard, cpu.stress).",
)
@click.option(
    "--lang", type=click.Choice(["fr", "en"]), help="Language of the output (default: the locale)."
)
@click.option(
    "--layout", type=click.Choice(["us", "fr"]), help="Keyboard layout drawn by the keyboard check."
)
@click.option("--list", "list_checks", is_flag=True, help="List the declared checks and exit.")
@click.option(
    "--default-policy",
    "show_policy",
    is_flag=True,
    help="Print the documented default policy and exit.",
)
def check(
    capture: str | None,
    as_json: bool,
    unattended: bool,
    policy_file: str | None,
    only: tuple[str, ...],
    lang: str | None,
    layout: str | None,
    list_checks: bool,
    show_policy: bool,
) -> None:
    """Check this laptop's health and grade it against the programme policy."""
    from agent.commands.probe import open_source
    from checks.health import CHECKS, run_health_checks
    from checks.health.runner import ChecksEta, with_eta
    from checks.health.terminal import Terminal
    from checks.i18n import detect_lang
    from checks.policy import default_policy_text, load_policy
    from checks.probe import build_report

    language: Lang = "fr" if lang == "fr" else "en" if lang == "en" else detect_lang()
    if show_policy:
        click.echo(default_policy_text(), nl=False)
        return
    if list_checks:
        if as_json:
            click.echo(json.dumps([c.declaration() for c in CHECKS], indent=2))
        else:
            # the time each check gets under the programme's policy (its stress, budget)
            listed = load_policy(policy_file)
            for c in CHECKS:
                flags = [
                    f
                    for f, on in (("interactive", c.interactive), ("per " + str(c.per), c.per))
                    if on
                ]
                click.echo(
                    f"{c.id:20} ~{c.expected_s(listed):>5.0f} s  {c.title}"
                    + (f"  [{', '.join(flags)}]" if flags else "")
                )
        return
    ids = _split_only(only)
    known = (
        {c.id for c in CHECKS}
        | {c.id.split(".")[0] for c in CHECKS}
        | {c.component for c in CHECKS}
    )
    for want in ids:
        if not any(want == k or want.startswith(k + ".") for k in known):
            raise UsageError(f"--only: unknown check {want!r} (see weee check --list)")
    policy = load_policy(policy_file)

    terminal = Terminal() if (not unattended and Terminal.available()) else None
    progress = _Progress(enabled=sys.stderr.isatty())
    interactive_ids: set[str] = set()
    # the time left from what each check really gets under this policy (as weee run)
    eta: list[ChecksEta] = []

    def on_plan(plan: list[Planned]) -> None:
        eta.append(ChecksEta.of(plan, policy))

    def said(text: str) -> None:
        progress(with_eta(text, eta[0] if eta else None, language))

    def on_start(p: Planned) -> None:
        if eta:
            eta[0].start(p.id)
        if p.spec.interactive and p.skip is None:
            progress.clear()
            progress.paused = True
            interactive_ids.add(p.id)
        elif p.skip is None:
            said(p.id)

    def on_result(r: CheckResult) -> None:
        if eta:
            eta[0].finish(r.id)
        if r.id in interactive_ids:
            progress.paused = False
        progress.clear()

    with open_source(capture) as source:
        report = build_report(source)
        extra_run: dict[str, Any] = {}
        if layout:
            import dataclasses
            from functools import partial

            from checks.health import guided

            drawn = partial(guided.keyboard_check, layout=layout)
            extra_run["specs"] = [
                dataclasses.replace(c, run=drawn) if c.id == "keyboard" else c for c in CHECKS
            ]
        outcome = run_health_checks(
            report,
            source,
            policy,
            unattended=unattended,
            only=ids or None,
            lang=language,
            terminal=terminal,
            progress=said,
            on_result=on_result,
            on_start=on_start,
            on_plan=on_plan,
            **extra_run,
        )
    progress.clear()
    doc = outcome.to_dict(language)
    doc["device_id"] = report.device.device_id
    doc["source"] = {"live": source.live, "capture": capture}
    if as_json:
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    _show(doc, language)


def _show(doc: dict[str, Any], lang: Lang) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True, style="cyan")
    table.add_column()
    table.add_column(justify="right", style="dim", no_wrap=True)
    for c in doc["checks"]:
        status = c["status"]
        seconds = f"{c['duration_s']:.1f} s" if c["duration_s"] >= 0.5 else ""
        table.add_row(
            Text(STATUS_LABEL[lang][status], style=STATUS_STYLE[status]),
            c["id"],
            c["summary"],
            seconds,
        )
    console.print(table)
    g = doc["grade"]
    fr = lang == "fr"
    verdict = (
        ("ÉLIGIBLE" if fr else "ELIGIBLE")
        if g["eligible"]
        else ("NON ÉLIGIBLE" if fr else "NOT ELIGIBLE")
    )
    style = "bold green" if g["eligible"] else "bold red"
    line = Text()
    line.append(verdict, style=style)
    line.append(f"  {'note' if fr else 'grade'} {g['grade']}", style="bold")
    line.append(f"  ({g['policy']['name']}, {g['policy']['sha256'][:12]})", style="dim")
    console.print()
    console.print(line)
    for reason in g["reasons"]:
        console.print(f"  - {reason}")
    if g["repairs"]:
        console.print(("Réparations : " if fr else "Repairs: ") + "; ".join(g["repairs"]))
    if g["unchecked"]:
        console.print(
            Text(
                ("Non vérifié : " if fr else "Not checked: ") + ", ".join(g["unchecked"]),
                style="dim",
            )
        )
    console.print(Text(f"{doc['duration_s']:.1f} s", style="dim"))
