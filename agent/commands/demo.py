"""``weee demo``: a whole bench run on this machine's defaults, erasing only a disk the
demo creates (a loop device) and registering the record in a local programme database."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from agent.errors import EXIT_OK
from checks.i18n import Lang


@click.command()
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/var/tmp/weee-demo"),
    show_default=True,
    help="Where the demo keeps its results (bench key, record, label, database).",
)
@click.option("--lang", type=click.Choice(["fr", "en"]), help="Language (default: the locale).")
@click.option(
    "--screen", type=click.Choice(["auto", "full", "plain"]), default="auto", show_default=True
)
@click.option(
    "--refurbish/--as-graded",
    default=True,
    show_default=True,
    help="Go on to the image even if this machine is graded 'parts' (a build machine or a "
    "VM is no laptop), so the demo shows the whole run; --as-graded follows the policy.",
)
@click.option("--guided", is_flag=True, help="Also run the guided checks (keyboard, screen...).")
def demo(workdir: Path, lang: str | None, screen: str, refurbish: bool, guided: bool) -> None:
    """Run the whole bench on this machine, erasing only a disposable loop device."""
    from agent.run.demo import DISK_BYTES, run_demo
    from agent.run.view import PlainView, RunView
    from checks.i18n import detect_lang

    language: Lang = "fr" if lang == "fr" else "en" if lang == "en" else detect_lang()
    full = screen == "full" or (screen == "auto" and sys.stdout.isatty())
    view: RunView
    if full:
        from agent.tui import BenchScreen

        view = BenchScreen(lang=language)
    else:
        view = PlainView(lang=language)
    try:
        result = run_demo(
            workdir.absolute(),
            view=view,
            lang=language,
            unattended=not guided,
            refurbish=refurbish,
        )
    finally:
        view.close()
    verdict = result.outcome.verdict
    out = click.echo
    out("")
    out(
        f"weee demo: verdict {verdict.verdict.upper()}"
        + (f", asset ID {verdict.asset_id}" if verdict.asset_id else "")
    )
    if verdict.verdict == "demonstration":
        out(
            "  the disposable disk was erased, verified and imaged as a laptop's drive would "
            "be; the record says\n  it is a demonstration, so it certifies no laptop (this "
            "machine's own disks were never erased)."
        )
    if verdict.grade == "parts" and not refurbish:
        out(
            "  this machine was graded 'parts' by the default policy (it is not a laptop in "
            "working order),\n  so the run routed it to recycling: no image. "
            "`weee demo --refurbish` goes on to the image step."
        )
    elif verdict.grade == "parts":
        out(
            "  this machine was graded 'parts' by the default policy (it is not a laptop in "
            "working order);\n  the demo imaged the disposable disk anyway to show the whole "
            "run. A bench run routes such a laptop\n  to recycling (`weee demo --as-graded`)."
        )
    out("")
    out("Where to see the result:")
    if verdict.record_path:
        out(f"  signed record     {verdict.record_path}")
        # the demo's bench key is in its own data folder: --dir makes it the trusted one
        out(
            f"    verify it:      weee verify --dir {result.workdir / 'data'} {verdict.record_path}"
        )
    if verdict.label_path:
        out(f"  asset label       {verdict.label_path}")
    out(f"  run journal       {result.outcome.archived_to}")
    db_dir = result.workdir / "server"
    stored = (
        f"stored (GET /api/v1/records/{verdict.record_id} answered {result.stored_status})"
        if result.stored_status
        else "not stored"
    )
    out(f"  programme database {db_dir / 'weee.sqlite3'}: {stored}")
    out("    serve it again: " + f"WEEE_DATA_DIR={db_dir} weee serve --bind 127.0.0.1:8000")
    out(
        "    then:           curl -H 'Authorization: Bearer "
        f"{result.token}' http://127.0.0.1:8000/api/v1/records/{verdict.record_id}"
    )
    out(
        f"    admin pages:    WEEE_DATA_DIR={db_dir} weee manage createsuperuser, "
        "then http://127.0.0.1:8000/admin/"
    )
    out(
        f"  disposable disk   {result.loop_device} ({DISK_BYTES >> 20} MiB): donor markers "
        f"{result.markers_before} before, {result.markers_after} after; detached and deleted"
    )
    if verdict.exit_code != EXIT_OK:
        sys.exit(verdict.exit_code)
