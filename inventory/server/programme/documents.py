"""The PDFs coordinators and donors print: the handover receipt (here, in the active
language) and a batch's erasure certificates, drawn by ``inventory.documents`` (the same
code that prints them on the bench) from the signed records as stored."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from inventory.documents.certificate import render_batch_summary, render_certificates
from inventory.server.devices.models import Device, Record, RecordKind
from inventory.server.programme.models import Allocation, Batch


def _build(story: list[Any], *, title: str = "") -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=title,
        author="weee",
    )
    doc.build(story)
    return buffer.getvalue()


def handover_receipt_pdf(allocation: Allocation) -> bytes:
    styles = getSampleStyleSheet()
    device = allocation.device
    trainee = allocation.trainee
    title = _("Laptop handover receipt")
    rows = [
        [_("Trainee"), f"{trainee.name} ({trainee.reference})"],
        [_("Cohort"), str(trainee.cohort or "-")],
        [_("Handed over on"), allocation.handed_over_on.isoformat()],
        [_("Laptop"), f"{device.asset_id}: {device.manufacturer} {device.model}".strip()],
        [_("Serial number"), device.serial or _("none readable")],
        [_("Grade"), device.grade or "-"],
    ]
    for item, source in allocation.kit_items():
        rows.append([item, source])
    rows.append(
        [
            _("Maintenance ticket valid until"),
            allocation.ticket_valid_until.isoformat(),
        ]
    )
    table = Table(rows, colWidths=[60 * mm, 110 * mm])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold"),
            ]
        )
    )
    signatures = Table(
        [[_("Signature of the trainee"), _("Signature of the coordinator")], ["\n\n\n", ""]],
        colWidths=[85 * mm, 85 * mm],
    )
    signatures.setStyle(
        TableStyle(
            [("BOX", (0, 1), (0, 1), 0.4, colors.black), ("BOX", (1, 1), (1, 1), 0.4, colors.black)]
        )
    )
    story = [
        Paragraph(title, styles["Title"]),
        Paragraph(
            _(
                "The trainee named below receives this refurbished laptop and its "
                "accessories. Its storage was erased and certified before the handover. "
                "Repairs are covered by a maintenance ticket valid %(years)d years."
            )
            % {"years": settings.WEEE_TICKET_VALIDITY_YEARS},
            styles["Normal"],
        ),
        Spacer(1, 6 * mm),
        table,
        Spacer(1, 10 * mm),
        signatures,
    ]
    return _build(story, title=title)


def latest_erasure_record(device: Device) -> Record | None:
    """The laptop's latest run that erased something (a laptop recycled for parts is
    erased too, and its donor needs that proof as much as any other)."""
    runs = device.records.filter(kind__in=[RecordKind.REFURBISHMENT, RecordKind.RECYCLING])
    for record in runs.order_by("-created_at", "-pk"):
        if record.record.get("erasures"):
            return record
    return None


def batch_records(batch: Batch) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The signed files of the batch's laptops (each laptop's latest erasure run) and the
    asset id of each record."""
    docs: list[dict[str, Any]] = []
    asset_ids: dict[str, str] = {}
    for device in batch.devices.order_by("asset_id"):
        record = latest_erasure_record(device)
        if record is not None:
            docs.append(json.loads(record.signed_file))
            asset_ids[str(record.record_id)] = device.asset_id or ""
    return docs, asset_ids


def document_language() -> str:
    """The certificates' language for the active Django language (the request's, set by
    the language switcher): French for any French, else English."""
    return "fr" if (get_language() or "en").lower().startswith("fr") else "en"


def batch_summary_pdf(
    batch: Batch, *, url_pattern: str | None = None, lang: str = "en"
) -> bytes | None:
    """The donor's erasure summary of a batch (one line per laptop, every drive named),
    drawn by the bench-side certificate code so both ends print the same facts; None when
    no laptop of the batch has been erased yet."""
    return _batch_pdf(batch, render_batch_summary, url_pattern, lang)


def batch_certificates_pdf(
    batch: Batch, *, url_pattern: str | None = None, lang: str = "en"
) -> bytes | None:
    """One NIST SP 800-88 Appendix G certificate page per laptop of the batch."""
    return _batch_pdf(batch, render_certificates, url_pattern, lang)


def _batch_pdf(
    batch: Batch, render: Callable[..., Any], url_pattern: str | None, lang: str
) -> bytes | None:
    docs, asset_ids = batch_records(batch)
    if not docs:
        return None
    out = io.BytesIO()
    render(docs, out, asset_ids=asset_ids, url_pattern=url_pattern, lang=lang)
    return out.getvalue()
