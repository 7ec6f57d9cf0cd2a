"""``weee verify``: check signed records offline (signature, schema, consistency)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from agent.errors import EXIT_FAILED, UsageError, WeeeError
from inventory.signing import FileVerdict, inspect_signed_bytes, key_id_of, parse_public_key


def read_public_key(value: str) -> bytes:
    """``--public-key`` is a file (base64 or PEM) or the base64 key itself."""
    path = Path(value)
    try:
        data = path.read_bytes() if path.is_file() else value.encode("utf-8")
        return parse_public_key(data)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--public-key {value!r}: {exc}") from None


def describe(path: Path, verdict: FileVerdict) -> list[str]:
    lines = []
    record = verdict.record or {}
    if verdict.ok:
        certified = "certified" if record.get("certified") else "NOT certified"
        lines.append(
            f"OK   {path}: record {record.get('record_id')} ({record.get('kind')}, {certified}) "
            f"for device {record.get('device_id')}"
        )
        if verdict.key_trusted:
            lines.append(f"     signed by the expected key {verdict.key_id}")
        else:
            lines.append(
                f"     signed by key {verdict.key_id}, which was NOT checked against a known "
                "bench key (give --public-key to prove which bench signed it)"
            )
    else:
        lines.append(f"FAIL {path}:")
        lines.extend(f"     {problem}" for problem in verdict.problems)
    return lines


@click.command()
@click.argument("records", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--public-key",
    "public_key",
    metavar="FILE|BASE64",
    help="The signing bench's public key: the record must be signed by it.",
)
@click.option(
    "--ignore-layout",
    is_flag=True,
    help="Accept a reformatted file whose signed content is intact.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON verdict per record.")
def verify(
    records: tuple[Path, ...], public_key: str | None, ignore_layout: bool, as_json: bool
) -> None:
    """Check signed RECORDS offline: signature, schema and consistency.

    Exit status 0 when every record is valid, 1 when one is not (each problem is named),
    2 when a file cannot be read.
    """
    key = read_public_key(public_key) if public_key else None
    failed = 0
    for path in records:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        verdict = inspect_signed_bytes(data, key, check_layout=not ignore_layout)
        failed += not verdict.ok
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "file": str(path),
                        "ok": verdict.ok,
                        "record_id": (verdict.record or {}).get("record_id"),
                        "key_id": verdict.key_id,
                        "key_trusted": verdict.key_trusted,
                        "expected_key_id": key_id_of(key) if key else None,
                        "problems": [
                            {"path": p.path, "message": p.message} for p in verdict.problems
                        ],
                    },
                    ensure_ascii=False,
                )
            )
        else:
            for line in describe(path, verdict):
                click.echo(line)
    if failed:
        raise WeeeError(f"{failed} of {len(records)} record(s) failed verification", EXIT_FAILED)
