"""The asset label a technician sticks on the laptop at the end of the run.

A plain-text label (what a thermal label printer takes, and what the screen shows): the
asset ID the programme database gave (or, offline, the device ID until the record syncs),
the model, the grade and the verdict, the record ID to find the certificate again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.wipe.journal import atomic_write


def label_lines(record: dict[str, Any], *, asset_id: str | None) -> list[str]:
    device = (record.get("hardware") or {}).get("device") or {}
    grade = ((record.get("checks") or {}).get("grade") or {}).get("grade")
    erasures = record.get("erasures") or []
    erased = sum(e.get("status") == "certified" for e in erasures)
    model = " ".join(str(device[k]) for k in ("manufacturer", "model") if device.get(k))
    if record.get("kind") == "maintenance":
        verdict = f"MAINTENANCE {record.get('maintenance_ticket') or ''}".strip()
    elif record.get("kind") == "recycling":
        verdict = "PARTS / RECYCLING"
    else:
        verdict = "CERTIFIED" if record.get("certified") else "NOT CERTIFIED"
    return [
        f"ASSET   {asset_id or 'pending sync'}",
        f"DEVICE  {record.get('device_id')}",
        f"MODEL   {model or 'unknown'}",
        f"SERIAL  {device.get('serial') or '-'}",
        f"GRADE   {grade or '-'}",
        f"STATUS  {verdict}",
        f"ERASED  {erased}/{len(erasures)} drive(s), NIST SP 800-88",
        f"RECORD  {record.get('record_id')}",
        f"DATE    {str(record.get('created_at'))[:10]}",
    ]


def write_label(directory: Path, record: dict[str, Any], *, asset_id: str | None) -> Path:
    path = Path(directory) / f"{record['record_id']}.txt"
    text = "\n".join(label_lines(record, asset_id=asset_id)) + "\n"
    atomic_write(path, text.encode("utf-8"))
    return path
