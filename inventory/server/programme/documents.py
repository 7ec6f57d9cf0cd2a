"""The PDFs coordinators and donors print: the handover receipt and the batch erasure
certificate. Written here with reportlab because ``inventory/documents`` (the bench-side
certificates) did not exist when this was written; the texts follow the active language.
"""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from inventory.server.devices.models import Device, Record, RecordKind
from inventory.server.programme.models import Allocation, Batch

_GRID = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef4")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
    ]
)


def _build(story: list[Any], *, wide: bool = False, title: str = "") -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4) if wide else A4,
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
    """The laptop's latest refurbishment run that erased something."""
    for record in device.records.filter(kind=RecordKind.REFURBISHMENT).order_by("-created_at"):
        if record.record.get("erasures"):
            return record
    return None


def batch_certificate_rows(batch: Batch) -> list[dict[str, Any]]:
    """One row per drive of the batch's laptops (a laptop never erased gets one row)."""
    rows = []
    for device in batch.devices.order_by("asset_id"):
        record = latest_erasure_record(device)
        if record is None:
            rows.append({"device": device, "record": None, "erasure": None})
            continue
        for erasure in record.record["erasures"]:
            rows.append({"device": device, "record": record, "erasure": erasure})
    return rows


def batch_certificate_pdf(batch: Batch) -> bytes:
    styles = getSampleStyleSheet()
    title = _("Certificate of data erasure")
    rows = batch_certificate_rows(batch)
    header = [
        _("Laptop"),
        _("Drive (model, serial, size)"),
        _("Method (NIST SP 800-88)"),
        _("Verification"),
        _("Result"),
        _("Erased on"),
        _("Record, signing key"),
    ]
    body: list[list[Any]] = [header]
    small = styles["Normal"].clone("small", fontSize=7, leading=8)
    certified = 0
    for row in rows:
        device = row["device"]
        erasure = row["erasure"]
        laptop = Paragraph(
            f"{device.asset_id}<br/>{device.manufacturer} {device.model}<br/>{device.serial or ''}",
            small,
        )
        if erasure is None:
            body.append([laptop, _("no erasure recorded"), "", "", _("NOT CERTIFIED"), "", ""])
            continue
        media = erasure["media"]
        sanitization = erasure["sanitization"]
        verification = erasure["verification"]
        size_gb = (media.get("size_bytes") or 0) / 1e9
        result = erasure["status"]
        if result == "certified":
            certified += 1
        body.append(
            [
                laptop,
                Paragraph(
                    f"{media.get('model') or '?'}<br/>{media.get('serial') or _('no serial')}"
                    f"<br/>{size_gb:.0f} GB {media.get('type')}",
                    small,
                ),
                Paragraph(
                    f"{sanitization['category']}: {sanitization['method']}"
                    f"<br/>{sanitization.get('technique') or ''}",
                    small,
                ),
                Paragraph(
                    f"{verification['method']}: {verification['result']}"
                    f"<br/>{verification.get('mismatches', 0)} mismatches",
                    small,
                ),
                _("CERTIFIED") if result == "certified" else _("NOT CERTIFIED") + f" ({result})",
                (erasure.get("ended_at") or erasure.get("started_at") or "")[:10],
                Paragraph(f"{row['record'].record_id}<br/>{row['record'].key_id}", small),
            ]
        )
    table = Table(
        body,
        repeatRows=1,
        colWidths=[40 * mm, 45 * mm, 55 * mm, 32 * mm, 28 * mm, 22 * mm, 45 * mm],
    )
    table.setStyle(_GRID)
    story = [
        Paragraph(title, styles["Title"]),
        Paragraph(
            _("Donor: %(donor)s. Collection batch: %(batch)s. Issued on %(day)s.")
            % {
                "donor": batch.donor.name,
                "batch": batch.reference,
                "day": timezone.localdate().isoformat(),
            },
            styles["Normal"],
        ),
        Paragraph(
            _(
                "%(certified)d of %(total)d drives erased and verified according to NIST SP "
                "800-88 Rev. 1. Each bench run is a record signed (Ed25519) by the bench that "
                "produced it; anyone can check it offline with `weee verify`."
            )
            % {"certified": certified, "total": len(rows)},
            styles["Normal"],
        ),
        Spacer(1, 5 * mm),
        table,
    ]
    return _build(story, wide=True, title=title)
