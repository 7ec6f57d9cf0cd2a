"""``weee certificate``: erasure certificates (one page per laptop) and batch summaries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from agent.commands.verify import build_trust, trust_options
from agent.errors import EXIT_FAILED, RefusedError, UsageError, WeeeError
from inventory.benchkeys import default_data_dir
from inventory.spool import Spool
from inventory.sync import load_config
from inventory.trust import TRUSTED_FILE, TrustError, TrustStore, TrustVerdict, inspect_trusted


@dataclass(frozen=True)
class Printable:
    doc: dict[str, Any]
    source: str  # the file it came from
    asset_id: str | None  # given by the programme database when the record was synced
    signer: TrustVerdict | None = None  # who signed it, as the trust store judged


def load_printable(
    refs: tuple[str, ...],
    data_dir: Path,
    public_key: bytes | None,
    batch: str | None = None,
    *,
    trust: TrustStore | None = None,
    allow_unknown: bool | None = None,
) -> list[Printable]:
    """Records named by file path or spooled record id (all spooled ones when ``refs`` is
    empty), each verified first: nothing is printed from a record that does not verify,
    nor from one signed by an unknown key unless ``allow_unknown`` (its ``signer`` then
    says it is not trusted; None: the command has no --allow-unknown-signer). ``trust``
    defaults to the bench in ``data_dir``, its trusted-benches file and ``public_key``."""
    if trust is None:
        try:
            trust = TrustStore.build(data_dir, public_keys=[public_key] if public_key else [])
        except TrustError as exc:
            raise UsageError(str(exc)) from None
    spool = Spool(data_dir / "spool")
    entries = spool.entries()
    assets = {e.record_id: (e.answer or {}).get("asset_id") for e in entries if e.state == "sent"}
    paths: list[Path] = []
    for ref in refs:
        if Path(ref).is_file():
            paths.append(Path(ref))
            continue
        matches = [e.path for e in entries if e.record_id.startswith(ref.lower())]
        if len(matches) != 1:
            found = "no file or spooled record" if not matches else "several spooled records"
            raise UsageError(f"{ref!r}: {found} by that name")
        paths += matches
    if not refs:
        paths = [e.path for e in entries]
    out = []
    for path in paths:
        data = path.read_bytes()  # read once: what is printed is what was verified
        verdict, signer = inspect_trusted(data, trust)
        if not verdict.ok:
            problems = "; ".join(str(p) for p in verdict.problems)
            raise WeeeError(
                f"refusing to print {path}: it does not verify: {problems}", EXIT_FAILED
            )
        assert signer is not None  # a valid file has a checked signature
        if not signer.trusted and not allow_unknown:
            if allow_unknown is None:  # weee label: its options are --dir and --public-key
                fix = f"add the bench to {data_dir / TRUSTED_FILE} or give --public-key"
            else:
                fix = (
                    "add the bench with --trusted FILE, --public-key or --server URL, or "
                    "give --allow-unknown-signer to print it marked NOT VERIFIED"
                )
            raise RefusedError(
                f"refusing to print {path}: {signer.reason} "
                f"(known keys: {trust.describe_sources()}; {fix})"
            )
        doc = json.loads(data)
        if batch is not None and ((doc["record"].get("donor") or {}).get("batch")) != batch:
            continue
        out.append(Printable(doc, str(path), assets.get(doc["record"]["record_id"]), signer))
    if not out:
        raise UsageError("no record to print" + (f" in batch {batch!r}" if batch else ""))
    return out


def default_verify_url(data_dir: Path) -> str | None:
    server = load_config(data_dir).server
    return f"{server.rstrip('/')}/verify/{{record_id}}" if server else None


record_args = click.argument("records", nargs=-1)
public_key_option = click.option(
    "--public-key", metavar="FILE|BASE64", help="One more trusted bench key."
)
output_option = click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="PDF file to write."
)


@click.command()
@record_args
@trust_options
@click.option("--batch", help="Only the records of this donor batch.")
@click.option(
    "--summary", is_flag=True, help="One summary of the batch instead of one page per laptop."
)
@click.option(
    "--verify-url",
    metavar="PATTERN",
    help="What the QR code opens, e.g. https://db.example.org/verify/{record_id} "
    "(default: the sync server's /verify/{record_id}; the bare record id without server).",
)
@click.option(
    "--lang",
    type=click.Choice(["fr", "en"]),
    help="Language of the certificate (default: the locale).",
)
@output_option
def certificate(
    records: tuple[str, ...],
    data_dir: Path | None,
    trusted_file: Path | None,
    public_keys: tuple[str, ...],
    server: str | None,
    ca: str | None,
    allow_unknown: bool,
    batch: str | None,
    summary: bool,
    verify_url: str | None,
    lang: str | None,
    output: Path | None,
) -> None:
    """Print erasure certificates for RECORDS (files or spooled record ids; default: every
    spooled record), NIST SP 800-88 Appendix G fields, one page per laptop.

    Only records signed by a known bench key are printed (this bench's own, the
    trusted-benches file, --public-key, the benches registered at --server): an unknown
    signer is refused (exit 3). With --allow-unknown-signer it is printed with a red
    "NOT VERIFIED" band on every page (exit 0, a warning on stderr)."""
    from checks.i18n import detect_lang
    from inventory.documents.certificate import render_batch_summary, render_certificates

    lang = lang or detect_lang()
    directory = data_dir or default_data_dir()
    if verify_url is not None and "{record_id}" not in verify_url:
        raise UsageError("--verify-url must contain {record_id}")
    store = build_trust(directory, trusted_file, public_keys, server, ca)
    items = load_printable(
        records, directory, None, batch, trust=store, allow_unknown=allow_unknown
    )
    pattern = verify_url or default_verify_url(directory)
    docs = [item.doc for item in items]
    assets = {item.doc["record"]["record_id"]: item.asset_id for item in items if item.asset_id}
    signers = [item.signer for item in items]  # in order: two files may share a record id
    for item in items:
        if item.signer and not item.signer.trusted:
            message = f"{item.source}: {item.signer.reason}; printed with a NOT VERIFIED band"
            click.echo(f"warning: {message}", err=True)
    if summary:
        output = output or Path(f"weee-summary-{batch or 'all'}.pdf")
        render_batch_summary(
            docs, output, url_pattern=pattern, asset_ids=assets, lang=lang, signers=signers
        )
        click.echo(f"{output}: summary of {len(docs)} laptop(s)")
    else:
        output = output or Path(
            f"weee-certificate-{docs[0]['record']['record_id']}.pdf"
            if len(docs) == 1
            else "weee-certificates.pdf"
        )
        pages = render_certificates(
            docs, output, url_pattern=pattern, asset_ids=assets, lang=lang, signers=signers
        )
        click.echo(f"{output}: {pages} certificate page(s)")
