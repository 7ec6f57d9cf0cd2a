"""The asset label a technician sticks on the laptop at the end of the run.

Two files: a PDF for 62 mm label tape (``inventory.documents.labels``: the asset ID as
text and QR code, model, serial, grade) and a plain-text version (what the screen and
the logs show). The asset ID is the one the programme database gave; offline, the label
carries the device ID until the record syncs (``weee label`` reprints it then).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.wipe.journal import atomic_write
from inventory.record import drive_coverage


def label_lines(record: dict[str, Any], *, asset_id: str | None) -> list[str]:
    device = (record.get("hardware") or {}).get("device") or {}
    grade = ((record.get("checks") or {}).get("grade") or {}).get("grade")
    # the laptop's own drives (hardware report), each erased or not: a drive left out
    # shows on the label as well as on the certificate
    drives = [c for c in drive_coverage(record) if c.state != "excluded"]
    if drives:
        erased = sum(c.state == "erased" for c in drives)
        total = len(drives)
        missing = [c.name for c in drives if c.state != "erased"]
    else:
        erasures = record.get("erasures") or []
        erased = sum(e.get("status") == "certified" for e in erasures)
        total, missing = len(erasures), []
    model = " ".join(str(device[k]) for k in ("manufacturer", "model") if device.get(k))
    if record.get("kind") == "maintenance":
        verdict = f"MAINTENANCE {record.get('maintenance_ticket') or ''}".strip()
    elif record.get("kind") == "recycling":
        verdict = "PARTS / RECYCLING"
    elif (record.get("hardware") or {}).get("demonstration"):
        verdict = "DEMONSTRATION, NOT CERTIFIED"
    else:
        verdict = "CERTIFIED" if record.get("certified") else "NOT CERTIFIED"
    return [
        f"ASSET   {asset_id or 'pending sync'}",
        f"DEVICE  {record.get('device_id')}",
        f"MODEL   {model or 'unknown'}",
        f"SERIAL  {device.get('serial') or '-'}",
        f"GRADE   {grade or '-'}",
        f"STATUS  {verdict}",
        f"ERASED  {erased}/{total} drive(s), NIST SP 800-88"
        + (f"; NOT ERASED: {', '.join(missing)}" if missing else ""),
        f"RECORD  {record.get('record_id')}",
        f"DATE    {str(record.get('created_at'))[:10]}",
    ]


def write_label(directory: Path, record: dict[str, Any], *, asset_id: str | None) -> Path:
    """The text label's path; the PDF is written beside it (same name, ``.pdf``)."""
    path = Path(directory) / f"{record['record_id']}.txt"
    lines = label_lines(record, asset_id=asset_id)
    atomic_write(path, ("\n".join(lines) + "\n").encode("utf-8"))
    write_label_pdf(path.with_suffix(".pdf"), record, asset_id=asset_id, lines=lines)
    return path


def write_label_pdf(
    path: Path, record: dict[str, Any], *, asset_id: str | None, lines: list[str]
) -> None:
    from io import BytesIO

    from inventory.documents.labels import LabelItem, render_labels

    shown = asset_id or str(record.get("device_id"))
    # the QR code: the asset ID once registered, else the record ID (found on any copy)
    item = LabelItem(
        asset_id=shown,
        qr_data=asset_id or str(record["record_id"]),
        lines=[
            lines[2].split(None, 1)[-1],  # model
            lines[3].split(None, 1)[-1],  # serial
            "Grade " + lines[4].split(None, 1)[-1],
            lines[5].split(None, 1)[-1],  # status
        ],
    )
    buffer = BytesIO()
    render_labels([item], buffer, layout="tape62")
    atomic_write(path, buffer.getvalue())
