"""``weee bench``: the bench's identity and signing key."""

from __future__ import annotations

import json
from pathlib import Path

import click

from agent.errors import RefusedError, UsageError
from inventory.benchkeys import BenchError, BenchExists, default_data_dir, init_bench, load_bench

data_dir_option = click.option(
    "--dir",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data directory on the stick (default: $WEEE_DATA_DIR, /var/lib/weee as root, "
    "else ~/.local/share/weee).",
)


@click.group()
def bench() -> None:
    """Create and show the bench's identity and signing key."""


@bench.command()
@data_dir_option
@click.option("--name", required=True, help="Name of this bench, e.g. 'lille-bench-2'.")
@click.option("--organisation", help="Organisation that runs the bench.")
@click.option("--location", help="Where the bench is.")
@click.option("--technician", help="Default technician named in the records.")
@click.option("--force", is_flag=True, help="Replace an existing key (needs a new registration).")
def init(
    data_dir: Path | None,
    name: str,
    organisation: str | None,
    location: str | None,
    technician: str | None,
    force: bool,
) -> None:
    """Create the bench's Ed25519 key pair and identity."""
    directory = data_dir or default_data_dir()
    try:
        created = init_bench(
            directory,
            name=name,
            organisation=organisation,
            location=location,
            technician=technician,
            force=force,
        )
    except BenchExists as exc:
        raise RefusedError(str(exc)) from None
    except (BenchError, OSError) as exc:
        raise UsageError(f"cannot create the bench in {directory}: {exc}") from None
    click.echo(f"Bench {created.identity.name!r} created in {directory}")
    click.echo(f"key id:     {created.key_id}")
    click.echo(f"public key: {created.public_key_b64}")
    click.echo(
        "Register it with the programme database: "
        f"weee manage addbench --name {created.identity.name} "
        f"--public-key-file {created.public_key_path}"
    )


@bench.command()
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(data_dir: Path | None, as_json: bool) -> None:
    """Print the bench's identity, public key and key id (for registration)."""
    directory = data_dir or default_data_dir()
    try:
        current = load_bench(directory)
    except BenchError as exc:
        raise UsageError(str(exc)) from None
    info = {
        **current.identity.__dict__,
        "public_key": current.public_key_b64,
        "public_key_file": str(current.public_key_path),
        "data_dir": str(directory),
    }
    if as_json:
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))
    else:
        for key, value in info.items():
            click.echo(f"{key + ':':17} {value if value is not None else '-'}")
    for warning in current.warnings:
        click.echo(f"warning: {warning}", err=True)
