"""``weee run``: the whole bench run on this laptop (see ``agent.run``)."""

from __future__ import annotations

import json
import signal
import sys
from types import FrameType

import click

from agent.errors import EXIT_OK, UsageError, WeeeError
from agent.run.view import RunView
from checks.i18n import Lang


@click.command()
@click.option(
    "--profile",
    "profile_file",
    metavar="FILE",
    help="Bench profile (TOML); default: the built-in one (see --default-profile).",
)
@click.option(
    "--unattended",
    is_flag=True,
    help="No guided checks; the erasure is still confirmed as the profile's erase.confirm says.",
)
@click.option(
    "--maintenance",
    metavar="TICKET",
    help="Re-diagnose a returning laptop under this maintenance ticket: no erasure, no image.",
)
@click.option(
    "--lang", type=click.Choice(["fr", "en"]), help="Language (default: profile, then locale)."
)
@click.option(
    "--screen",
    type=click.Choice(["auto", "full", "plain"]),
    default="auto",
    show_default=True,
    help="full: the technician's full-screen display; plain: one line per event.",
)
@click.option(
    "--yes",
    "assume_yes",
    is_flag=True,
    help="Erase without asking, whatever the profile's erase.confirm says (a human's "
    "explicit choice: the bench stick never passes it).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run's summary as JSON at the end.")
@click.option(
    "--default-profile", "show_profile", is_flag=True, help="Print the documented default profile."
)
def run(
    profile_file: str | None,
    unattended: bool,
    maintenance: str | None,
    lang: str | None,
    screen: str,
    as_json: bool,
    show_profile: bool,
    assume_yes: bool,
) -> None:
    """Probe, check, erase, image, certify and register this laptop, resuming after a
    power cut at the step where it stopped."""
    from agent.run import PlainView, load_profile, run_bench, summary
    from agent.run.confirm import Keyboard
    from agent.run.profile import default_profile_text
    from checks.i18n import detect_lang

    if show_profile:
        click.echo(default_profile_text(), nl=False)
        return
    if maintenance is not None and not maintenance.strip():
        raise UsageError("--maintenance needs the ticket number")
    profile = load_profile(profile_file)
    unattended = unattended or profile.run.unattended
    chosen = lang or profile.run.lang
    language: Lang = "fr" if chosen == "fr" else "en" if chosen == "en" else detect_lang()
    full = screen == "full" or (screen == "auto" and sys.stdout.isatty() and not as_json)
    view: RunView
    if full:
        from agent.tui import BenchScreen

        # asked before the screen starts: rich's Live then stands in for sys.stdout, and
        # some versions of it (Debian 12's, on the stick) say it is no terminal
        shown_on_terminal = sys.stdout.isatty()
        view = BenchScreen(lang=language)
    else:
        stream = sys.stderr if as_json else sys.stdout
        view = PlainView(stream, lang=language)
        shown_on_terminal = stream.isatty()
    # The erasure is confirmed on the terminal: keys from stdin, the list of drives and
    # the countdown where the technician sees them. Without both, "type" and "countdown"
    # erase nothing (a countdown nobody sees is no decision).
    keyboard = Keyboard.on_stdin() if shown_on_terminal else None

    def terminate(signum: int, frame: FrameType | None) -> None:
        # SIGTERM (shutdown, systemd stop) takes the same path as Ctrl-C: the erasure
        # stops cleanly, is reported incomplete, and the run resumes next time
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        outcome = run_bench(
            profile,
            view=view,
            lang=language,
            unattended=unattended,
            maintenance_ticket=maintenance.strip() if maintenance else None,
            assume_yes=assume_yes,
            keyboard=keyboard,
        )
    except OSError as exc:
        raise WeeeError(f"the run journal cannot be written: {exc}") from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        view.close()
    if as_json:
        click.echo(json.dumps(summary(outcome), indent=2, ensure_ascii=False))
    if outcome.verdict.exit_code != EXIT_OK:
        sys.exit(outcome.verdict.exit_code)
