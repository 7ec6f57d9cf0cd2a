"""What the documents share: fonts, QR codes, and how values are written."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

# DejaVu covers the accents, Cyrillic, Greek, Arabic letters of donors' and technicians'
# names; the PDF core fonts stop at Latin-1. Debian ships it (fonts-dejavu-core).
_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


@functools.cache
def fonts() -> tuple[str, str]:
    """(regular, bold) font names, registered with reportlab on first use."""
    regular, bold = _DEJAVU / "DejaVuSans.ttf", _DEJAVU / "DejaVuSans-Bold.ttf"
    if regular.exists() and bold.exists():
        pdfmetrics.registerFont(TTFont("WeeeSans", str(regular)))
        pdfmetrics.registerFont(TTFont("WeeeSans-Bold", str(bold)))
        return "WeeeSans", "WeeeSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def qr_drawing(data: str, size: float) -> Drawing:
    """A square QR code of ``size`` points encoding ``data``."""
    widget = QrCodeWidget(data, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def human_size(size: int | None) -> str:
    """Decimal units, as drive makers print them on the label (500 GB, not 465.8 GiB)."""
    if size is None:
        return "unknown"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return (
                f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}".replace(".0 ", " ")
            )
        value /= 1000
    raise AssertionError("unreachable")


def when(stamp: str | None) -> str:
    """An ISO timestamp as people read it, in UTC."""
    if not stamp:
        return "-"
    moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def text(value: object) -> str:
    return "-" if value is None or value == "" else str(value)


def verification_target(record_id: str, url_pattern: str | None) -> str:
    """What the QR code of a certificate says: the verification URL, or the record id."""
    return url_pattern.format(record_id=record_id) if url_pattern else record_id
