"""``weee sync``: upload the spooled records to the programme database."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from agent.commands.bench import data_dir_option
from agent.errors import EXIT_FAILED, UnavailableError, UsageError, WeeeError
from inventory.benchkeys import BenchError, default_data_dir, load_bench
from inventory.spool import Spool, SpoolError
from inventory.sync import (
    Backoff,
    SyncConfig,
    SyncStopped,
    load_config,
    requests_transport,
    save_config,
    sync_spool,
)


def _summary(entry_path: Path) -> dict[str, Any]:
    try:
        record = json.loads(entry_path.read_bytes())["record"]
        return {
            "device_id": record.get("device_id"),
            "kind": record.get("kind"),
            "created_at": record.get("created_at"),
            "certified": record.get("certified"),
        }
    except (OSError, ValueError, KeyError, TypeError):
        return {"device_id": None, "kind": None, "created_at": None, "certified": None}


def show_status(spool: Spool, config: SyncConfig, as_json: bool) -> None:
    entries = spool.entries()
    counts = {
        state: sum(e.state == state for e in entries) for state in ("pending", "sent", "rejected")
    }
    listed = [
        {
            "seq": e.seq,
            "record_id": e.record_id,
            "state": e.state,
            **_summary(e.path),
            "answer": e.answer,
        }
        for e in entries
        if e.state != "sent"
    ]
    if as_json:
        click.echo(json.dumps({"server": config.server, **counts, "records": listed}, indent=2))
        return
    click.echo(f"server:   {config.server or '(not configured)'}")
    click.echo(f"spool:    {spool.root}")
    click.echo(
        f"records:  {len(entries)} ({counts['sent']} sent, {counts['pending']} pending, "
        f"{counts['rejected']} rejected)"
    )
    for item in listed:
        certified = "certified" if item["certified"] else "not certified"
        click.echo(
            f"  {item['state']:8} #{item['seq']:<5} {item['record_id']}  {item['created_at']}  "
            f"{item['device_id']}  {item['kind']}, {certified}"
        )
        if item["state"] == "rejected" and item["answer"]:
            click.echo(
                f"           server said: HTTP {item['answer'].get('http_status')} "
                f"{json.dumps(item['answer'].get('answer'))}"
            )


@click.command()
@data_dir_option
@click.option("--server", help="Programme database URL, e.g. https://weee.example.org")
@click.option("--token", help="This bench's API token (or $WEEE_TOKEN).")
@click.option(
    "--ca",
    type=click.Path(dir_okay=False, exists=True),
    help="CA certificate bundle for a private TLS server.",
)
@click.option("--save", is_flag=True, help="Remember --server, --token and --ca for later runs.")
@click.option("--status", "status_only", is_flag=True, help="Only show what is pending; no upload.")
@click.option(
    "--retry-rejected", is_flag=True, help="Send the records the server rejected once more."
)
@click.option(
    "--attempts",
    type=click.IntRange(1, 100),
    default=6,
    show_default=True,
    help="Tries per record before giving up for this run.",
)
@click.option("--json", "as_json", is_flag=True, help="With --status: print JSON.")
def sync(
    data_dir: Path | None,
    server: str | None,
    token: str | None,
    ca: str | None,
    save: bool,
    status_only: bool,
    retry_rejected: bool,
    attempts: int,
    as_json: bool,
) -> None:
    """Upload pending records to the programme database, in order, each exactly once.

    Safe to interrupt and to run again: every answer is written to the spool at once.
    Exit status 0 when everything was stored, 1 when the server rejected a record or one
    is damaged, 5 when the server could not be reached (run again later).
    """
    directory = data_dir or default_data_dir()
    stored = load_config(directory)
    config = SyncConfig(
        server=server or os.environ.get("WEEE_SERVER") or stored.server,
        token=token or os.environ.get("WEEE_TOKEN") or stored.token,
        ca=ca or stored.ca,
    )
    if save:
        save_config(directory, config)
        click.echo(f"saved the server settings in {directory / 'bench'}")
    spool = Spool(directory / "spool")
    if status_only:
        show_status(spool, config, as_json)
        return
    if not config.server:
        raise UsageError("no server: give --server URL (and --save to remember it)")
    if not config.token:
        raise UsageError(
            "no bench token: give --token (from 'weee manage addbench') or set WEEE_TOKEN"
        )
    parts = urlsplit(config.server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--server {config.server!r}: expected http(s)://HOST[:PORT]")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        click.echo(
            f"warning: {config.server} is plain HTTP: the bench token travels unencrypted",
            err=True,
        )
    try:
        bench = load_bench(directory)
    except BenchError as exc:
        raise UsageError(str(exc)) from None
    if retry_rejected:
        for entry in spool.entries():
            if entry.state == "rejected":
                spool.unreject(entry.record_id)
    if not spool.pending():
        click.echo("nothing to upload: every record is sent")
        return
    try:
        result = sync_spool(
            spool,
            server=config.server,
            token=config.token,
            transport=requests_transport(),
            verify=config.verify,
            public_key=bench.public_key,
            backoff=Backoff(attempts=attempts),
            progress=click.echo,
        )
    except SyncStopped as exc:
        left = len(spool.pending())
        message = f"{exc}; {left} record(s) still pending, run 'weee sync' again"
        if exc.kind == "unavailable":
            raise UnavailableError(message) from None
        raise UsageError(message) from None
    except SpoolError as exc:
        raise WeeeError(str(exc)) from None
    click.echo(
        f"{len(result.stored)} stored, {len(result.duplicates)} already there, "
        f"{len(result.rejected)} rejected, {len(result.damaged)} damaged"
    )
    if not result.ok:
        for record_id, why in result.rejected + result.damaged:
            click.echo(f"  {record_id}: {why}", err=True)
        raise WeeeError("some records were not stored (see above; weee sync --status)", EXIT_FAILED)
