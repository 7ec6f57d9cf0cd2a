"""``weee verify``: check signed records offline (signature, schema, consistency) and that
a known bench signed them (:mod:`inventory.trust`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from agent.commands.bench import data_dir_option
from agent.errors import EXIT_FAILED, EXIT_REFUSED, UnavailableError, UsageError, WeeeError
from inventory.benchkeys import default_data_dir
from inventory.signing import FileVerdict, parse_public_key
from inventory.trust import (
    TRUSTED_FILE,
    TrustError,
    TrustStore,
    TrustUnavailable,
    TrustVerdict,
    inspect_trusted,
)

F = TypeVar("F", bound=Callable[..., Any])


def read_public_key(value: str) -> bytes:
    """``--public-key`` is a file (base64 or PEM) or the base64 key itself."""
    path = Path(value)
    try:
        data = path.read_bytes() if path.is_file() else value.encode("utf-8")
        return parse_public_key(data)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--public-key {value!r}: {exc}") from None


def trust_options(func: F) -> F:
    """The options that say which bench keys are trusted (verify, certificate, label)."""
    options = [
        data_dir_option,
        click.option(
            "--trusted",
            "trusted_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help=f"Trusted-benches file (TOML [[bench]] name, public_key; default: "
            f"{TRUSTED_FILE} in the data directory, when it exists).",
        ),
        click.option(
            "--public-key",
            "public_keys",
            multiple=True,
            metavar="FILE|BASE64",
            help="One more trusted bench key (repeatable).",
        ),
        click.option(
            "--server",
            metavar="URL",
            help="Also trust the benches registered with this programme database "
            "(fetched from its public /api/v1/benches).",
        ),
        click.option(
            "--ca",
            type=click.Path(exists=True, dir_okay=False),
            help="CA certificate bundle for a --server with a private TLS certificate.",
        ),
        click.option(
            "--allow-unknown-signer",
            "allow_unknown",
            is_flag=True,
            help="Show a record signed by an unknown key anyway, marked NOT VERIFIED.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def build_trust(
    data_dir: Path | None,
    trusted_file: Path | None,
    public_keys: tuple[str, ...],
    server: str | None,
    ca: str | None,
) -> TrustStore:
    """The trust store of the options, or a clear error (never a traceback)."""
    keys = [read_public_key(value) for value in public_keys]
    try:
        return TrustStore.build(
            data_dir or default_data_dir(),
            trusted_file=trusted_file,
            public_keys=keys,
            server=server,
            ca=ca,
        )
    except TrustUnavailable as exc:
        raise UnavailableError(str(exc)) from None
    except TrustError as exc:
        raise UsageError(str(exc)) from None


def _content(record: dict[str, Any]) -> str:
    certified = "certified" if record.get("certified") else "NOT certified"
    return (
        f"record {record.get('record_id')} ({record.get('kind')}, {certified}) "
        f"for device {record.get('device_id')}"
    )


def describe(
    path: Path,
    verdict: FileVerdict,
    trust: TrustVerdict | None,
    store: TrustStore,
    allow_unknown: bool,
) -> list[str]:
    record = verdict.record or {}
    if not verdict.ok:
        return [f"FAIL {path}:", *(f"     {problem}" for problem in verdict.problems)]
    assert trust is not None  # a valid file has a checked signature
    if trust.trusted:
        return [f"OK   {path}: {_content(record)}", f"     {trust.describe()}"]
    lines = [f"FAIL {path}: {trust.reason}"]
    if allow_unknown:
        claimed = (record.get("bench") or {}).get("name")
        lines += [
            f"     NOT VERIFIED, shown because of --allow-unknown-signer: {_content(record)}",
            f"     the record says bench {claimed!r}, but nothing proves it",
        ]
    lines.append(
        f"     known keys: {store.describe_sources()} "
        "(add the bench with --trusted FILE, --public-key or --server URL)"
    )
    return lines


def verdict_json(
    path: Path, verdict: FileVerdict, trust: TrustVerdict | None, allow_unknown: bool
) -> dict[str, Any]:
    verified = verdict.ok and trust is not None and trust.trusted
    record = verdict.record or {}
    show = verified or (verdict.ok and allow_unknown)
    return {
        "file": str(path),
        "ok": verified,  # intact AND signed by a known bench key
        "intact": verdict.ok,  # signature, schema and layout, whoever signed
        "record_id": record.get("record_id"),
        "key_id": verdict.key_id,
        "key_trusted": verified,
        "trust": trust.to_json() if trust else None,
        "record": record if show else None,
        "problems": [{"path": p.path, "message": p.message} for p in verdict.problems],
    }


@click.command()
@click.argument("records", nargs=-1, required=True, type=click.Path(path_type=Path))
@trust_options
@click.option(
    "--ignore-layout",
    is_flag=True,
    help="Accept a reformatted file whose signed content is intact.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON verdict per record.")
def verify(
    records: tuple[Path, ...],
    data_dir: Path | None,
    trusted_file: Path | None,
    public_keys: tuple[str, ...],
    server: str | None,
    ca: str | None,
    allow_unknown: bool,
    ignore_layout: bool,
    as_json: bool,
) -> None:
    """Check signed RECORDS offline: signature, schema and consistency, and that a known
    bench key signed them: this bench's own key, the trusted-benches file, --public-key,
    or the benches registered at --server.

    Exit status 0 when every record is valid and signed by a known key; 1 when one is not
    valid (each problem is named); 3 when every record is valid but one is signed by an
    unknown key ("not verified", also with --allow-unknown-signer, which only shows its
    content); 2 for an unreadable file or trust source; 5 when --server cannot be reached.
    """
    store = build_trust(data_dir, trusted_file, public_keys, server, ca)
    failed = unknown = 0
    for path in records:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        verdict, trust = inspect_trusted(data, store, check_layout=not ignore_layout)
        failed += not verdict.ok
        unknown += verdict.ok and trust is not None and not trust.trusted
        if as_json:
            click.echo(
                json.dumps(verdict_json(path, verdict, trust, allow_unknown), ensure_ascii=False)
            )
        else:
            for line in describe(path, verdict, trust, store, allow_unknown):
                click.echo(line)
    if failed:
        raise WeeeError(f"{failed} of {len(records)} record(s) failed verification", EXIT_FAILED)
    if unknown:
        raise WeeeError(
            f"{unknown} of {len(records)} record(s) signed by an unknown key: not verified",
            EXIT_REFUSED,
        )
