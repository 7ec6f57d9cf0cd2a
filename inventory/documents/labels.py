"""Asset labels: the asset id as text and as a QR code, for 62 mm label tape (one label
per page, as Brother QL printers take them) and for A4 sheets of 3 x 7 labels
(63.5 x 38.1 mm, the common L7160 layout)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from reportlab.graphics import renderPDF
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from inventory.documents.common import fonts, qr_drawing


@dataclass(frozen=True)
class LabelItem:
    asset_id: str
    qr_data: str  # what the code says: the asset id, or a URL to the laptop's page
    lines: Sequence[str] = field(default_factory=tuple)  # model, serial, grade...


@dataclass(frozen=True)
class Layout:
    name: str
    page: tuple[float, float]
    label: tuple[float, float]
    columns: int
    rows: int
    margin_left: float
    margin_top: float
    pitch_x: float
    pitch_y: float

    @property
    def per_page(self) -> int:
        return self.columns * self.rows


LAYOUTS = {
    # 62 mm continuous tape or DK-11209 62 x 29 mm die-cut labels
    "tape62": Layout("tape62", (62 * mm, 29 * mm), (62 * mm, 29 * mm), 1, 1, 0, 0, 0, 0),
    "a4": Layout(
        "a4", A4, (63.5 * mm, 38.1 * mm), 3, 7, 7.25 * mm, 15.15 * mm, 66.04 * mm, 38.1 * mm
    ),
}


def _fit(text: str, font: str, size: float, width: float) -> float:
    """The largest font size up to ``size`` at which ``text`` fits in ``width``."""
    while size > 4 and stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def _draw_label(canvas: Canvas, item: LabelItem, x: float, y: float, w: float, h: float) -> None:
    regular, bold = fonts()
    pad = 2 * mm
    qr = min(h - 2 * pad, 0.42 * w)  # leave the text a readable width on sheet labels
    renderPDF.draw(qr_drawing(item.qr_data, qr), canvas, x + pad, y + (h - qr) / 2)
    text_x = x + 2 * pad + qr
    text_w = w - qr - 3 * pad
    size = _fit(item.asset_id, bold, 16, text_w)
    top = y + h - pad - size
    canvas.setFont(bold, size)
    canvas.drawString(text_x, top, item.asset_id)
    line_y = top - 2.5 * mm
    for line in item.lines:
        if line_y < y + pad:
            break
        small = _fit(line, regular, 7, text_w)
        canvas.setFont(regular, small)
        canvas.drawString(text_x, line_y - small, line)
        line_y -= small + 1.2


def render_labels(
    items: Sequence[LabelItem], out: Path | BinaryIO, *, layout: str = "tape62", skip: int = 0
) -> int:
    """Draw one label per item; ``skip`` leaves the first labels of an A4 sheet unused
    (a sheet already partly used). Returns the number of pages."""
    if not items:
        raise ValueError("no label to print")
    spec = LAYOUTS[layout]
    buffer = BytesIO()
    canvas = Canvas(buffer if isinstance(out, Path) else out, pagesize=spec.page)
    canvas.setTitle("weee asset labels")
    canvas.setAuthor("weee")
    pages = 1
    for index, item in enumerate(items, start=skip % spec.per_page):
        slot = index % spec.per_page
        if slot == 0 and index != skip % spec.per_page:
            canvas.showPage()
            pages += 1
        column, row = slot % spec.columns, slot // spec.columns
        x = spec.margin_left + column * spec.pitch_x
        y = spec.page[1] - spec.margin_top - (row + 1) * spec.pitch_y
        if spec.rows == 1:
            y = 0
        _draw_label(canvas, item, x, y, *spec.label)
    canvas.showPage()
    canvas.save()
    if isinstance(out, Path):
        out.write_bytes(buffer.getvalue())
    return pages
