"""``weee label``: asset labels (62 mm tape or A4 sheets), asset id as text and QR code."""

from __future__ import annotations

from pathlib import Path

import click

from agent.commands.bench import data_dir_option
from agent.commands.certificate import load_printable, output_option, public_key_option, record_args
from agent.commands.verify import read_public_key
from agent.errors import UsageError
from inventory.benchkeys import default_data_dir
from inventory.documents.common import when
from inventory.documents.labels import LAYOUTS, LabelItem, render_labels


@click.command()
@record_args
@data_dir_option
@click.option(
    "--asset-id", "asset_ids", multiple=True, help="Print a label for this asset id (repeatable)."
)
@click.option("--layout", type=click.Choice(sorted(LAYOUTS)), default="tape62", show_default=True)
@click.option(
    "--skip", type=click.IntRange(0, 20), default=0, help="A4: labels already used on the sheet."
)
@click.option(
    "--qr-url",
    metavar="PATTERN",
    help="Make the QR code a URL, e.g. https://db.example.org/assets/{asset_id}.",
)
@public_key_option
@output_option
def label(
    records: tuple[str, ...],
    data_dir: Path | None,
    asset_ids: tuple[str, ...],
    layout: str,
    skip: int,
    qr_url: str | None,
    public_key: str | None,
    output: Path | None,
) -> None:
    """Print asset labels for synced RECORDS (files or spooled record ids) or --asset-id."""
    if qr_url is not None and "{asset_id}" not in qr_url:
        raise UsageError("--qr-url must contain {asset_id}")
    if not records and not asset_ids:
        raise UsageError("name the records to label, or give --asset-id")

    def qr(asset_id: str) -> str:
        return qr_url.format(asset_id=asset_id) if qr_url else asset_id

    items = [LabelItem(a, qr(a)) for a in asset_ids]
    if records:
        key = read_public_key(public_key) if public_key else None
        for item in load_printable(records, data_dir or default_data_dir(), key):
            record = item.doc["record"]
            if not item.asset_id:
                raise UsageError(
                    f"record {record['record_id']} has no asset id yet: run 'weee sync' first "
                    "(the programme database gives it), or give --asset-id"
                )
            device = record["hardware"].get("device") or {}
            grade = (record["checks"].get("grade") or {}).get("grade")
            lines = [
                " ".join(str(v) for v in (device.get("manufacturer"), device.get("model")) if v),
                f"S/N {device.get('serial') or '-'}",
                f"Grade {grade or '-'}, {'certified' if record['certified'] else 'NOT certified'} "
                f"{when(record['created_at'])[:10]}",
            ]
            items.append(
                LabelItem(item.asset_id, qr(item.asset_id), [line for line in lines if line])
            )
    output = output or Path(f"weee-labels-{layout}.pdf")
    pages = render_labels(items, output, layout=layout, skip=skip)
    click.echo(f"{output}: {len(items)} label(s) on {pages} page(s)")
