"""The erasure certificate (one A4 page per laptop) and the donor batch summary.

The certificate carries the fields of NIST SP 800-88 Rev. 1 Appendix G ("Sample
Certificate of Sanitization"): who performed the sanitization (person, organisation,
location), the media (make, model, serial, type, size, source), the sanitization
(category, method, technique, tool and version, verification, result, destination) and
who validated it and when. Here the validation is the bench's Ed25519 signature over the
record, which anyone can check offline; the QR code leads to the record's verification.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepInFrame,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from inventory.documents.common import (
    fonts,
    human_size,
    qr_drawing,
    text,
    verification_target,
    when,
)
from inventory.documents.words import Translate, translator
from inventory.record import DriveCoverage, derive_certified, drive_coverage, uncertified_cause
from inventory.trust import TrustVerdict

GREEN = colors.HexColor("#1b7a3a")
RED = colors.HexColor("#b3261e")
GREY = colors.HexColor("#eeeeee")

DESTINATIONS = {
    "reuse": "Reuse: refurbished laptop for a digital-inclusion programme",
    "recycle": "Recycling",
}
STATUS_WORDS = {
    "certified": "SANITIZED AND VERIFIED",
    "failed": "FAILED",
    "incomplete": "INCOMPLETE (interrupted)",
    "refused": "REFUSED (not erased)",
    "skipped": "SKIPPED (not erased)",
}


def _word(table: Mapping[str, str], value: str, t: Translate) -> str:
    """A record value put in words (a status, a destination); an unknown one as is."""
    return t(table[value]) if value in table else value


def _styles() -> dict[str, ParagraphStyle]:
    regular, bold = fonts()
    return {
        "title": ParagraphStyle("title", fontName=bold, fontSize=16, leading=20),
        "subtitle": ParagraphStyle("subtitle", fontName=regular, fontSize=8.5, leading=11),
        "section": ParagraphStyle("section", fontName=bold, fontSize=10, leading=13, spaceBefore=5),
        "cell": ParagraphStyle("cell", fontName=regular, fontSize=7.5, leading=9),
        "key": ParagraphStyle(
            "key", fontName=bold, fontSize=7, leading=9, textColor=colors.HexColor("#444444")
        ),
        "banner": ParagraphStyle(
            "banner", fontName=bold, fontSize=10.5, leading=13, textColor=colors.white
        ),
        "small": ParagraphStyle("small", fontName=regular, fontSize=6.5, leading=8),
    }


def _p(value: object, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text(value)), style)


def _grid(pairs: Sequence[tuple[str, object]], width: float, columns: int = 2) -> Table:
    """Key/value pairs laid out in ``columns`` pairs per row."""
    styles = _styles()
    rows: list[list[Any]] = []
    for start in range(0, len(pairs), columns):
        row: list[Any] = []
        for key, value in pairs[start : start + columns]:
            row += [_p(key, styles["key"]), _p(value, styles["cell"])]
        row += [""] * (2 * columns - len(row))
        rows.append(row)
    key_width = 30 * mm
    value_width = width / columns - key_width
    table = Table(rows, colWidths=[key_width, value_width] * columns)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#bbbbbb")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                *[("BACKGROUND", (c, 0), (c, -1), GREY) for c in range(0, 2 * columns, 2)],
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    return table


def _banner(message: str, ok: bool, width: float) -> Table:
    table = Table([[_p(message, _styles()["banner"])]], colWidths=[width])
    table.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), GREEN if ok else RED)]))
    return table


def _hidden_areas(hidden: Mapping[str, Any], t: Translate) -> str:
    hpa = hidden.get("hpa") or {}
    dco = hidden.get("dco") or {}
    words = {True: t("present"), False: t("none"), None: t("not checked")}
    out = t("HPA {hpa}, DCO {dco}").format(
        hpa=words[hpa.get("present")], dco=words[dco.get("present")]
    )
    if hidden.get("restored"):
        out += t("; hidden area removed before erasure")
    if hidden.get("native_size_bytes"):
        out += t("; native size erased: {size} ({bytes} bytes)").format(
            size=human_size(hidden["native_size_bytes"]), bytes=hidden["native_size_bytes"]
        )
    if hidden.get("note"):
        out += f" ({hidden['note']})"
    return out


def _verification(v: Mapping[str, Any], t: Translate) -> str:
    if v["method"] == "none":
        return t("not verified")
    what = (
        t("full read-back")
        if v["method"] == "full"
        else t("NIST sampling, {samples} samples").format(samples=text(v.get("samples")))
    )
    result = v["result"].upper()
    return t("{what}, {size} read, {mismatches} mismatches: {result}").format(
        what=what,
        size=human_size(v["bytes_read"]),
        mismatches=v["mismatches"],
        result=t(result) if result in ("PASSED", "FAILED", "NOT-DONE") else result,
    )


def _drive_pairs(erasure: Mapping[str, Any], t: Translate) -> list[tuple[str, object]]:
    media, how = erasure["media"], erasure["sanitization"]
    passes = t("{n} pass(es)").format(n=how["passes"]) + (
        t(", pattern {pattern}").format(pattern=how["pattern"]) if how.get("pattern") else ""
    )
    errors = "; ".join(erasure["errors"]) or t("none")
    category = how["category"].capitalize()
    return [
        (t("Media make"), media.get("manufacturer")),
        (t("Model"), media.get("model")),
        (t("Serial number"), media.get("serial")),
        (t("Media type"), f"{media['type'].upper()} ({media['interface']}), {media['device']}"),
        (
            t("Capacity"),
            t("{size} ({bytes} bytes)").format(
                size=human_size(media["size_bytes"]), bytes=media["size_bytes"]
            ),
        ),
        (t("Hidden areas"), _hidden_areas(erasure["hidden_areas"], t)),
        (t("Category"), t(category) if category in ("Clear", "Purge") else category),
        (t("Method"), how["method"]),
        (t("Technique"), how["technique"]),
        (t("Passes"), passes),
        (t("Tool"), f"{erasure['tool']['name']} {erasure['tool']['version']}"),
        (t("Verification"), _verification(erasure["verification"], t)),
        (t("Started"), when(erasure["started_at"])),
        (t("Ended"), when(erasure["ended_at"])),
        (t("Result"), _word(STATUS_WORDS, erasure["status"], t)),
        (t("Errors"), errors),
        (t("Destination"), _word(DESTINATIONS, erasure["destination"], t)),
        (t("Erasure id"), erasure["erasure_id"]),
    ]


_CAUSE_PHRASES = {
    "no_erasure": "the record holds no erasure",
    "erasure": "erasures[{index}] ({device}) is {status}",
    "no_image": "the record holds no image result",
    "image": "the image is {status}",
    "drives": "{erased} of {total} drives erased — {missing}",
    "demonstration": "a demonstration: a disposable disk stood for the laptop's drives",
    "no_drive_listed": "the hardware report lists no drive of the laptop",
    "all_certified": "every drive is erased and certified and the image verified",
}


def _drive_status(drive: DriveCoverage, t: Translate) -> str:
    """Why a drive of the laptop was not erased, in the document's language."""
    if drive.status is None:
        return t("never erased")
    word = _word(STATUS_WORDS, drive.status, t)
    return f"{word}: {drive.detail}" if drive.detail else word


def _laptop_drive_count(record: Mapping[str, Any]) -> int:
    """How many drives of the laptop the record covers: its hardware report's (USB and
    removable media excluded), else its erasures (a record whose report lists none)."""
    drives = [c for c in drive_coverage(record) if c.state != "excluded"]
    return len(drives) if drives else len(record["erasures"])


def _never_erased(record: Mapping[str, Any]) -> list[DriveCoverage]:
    """The laptop's drives that no erasure of the record even tried."""
    return [c for c in drive_coverage(record) if c.state == "not_erased" and c.status is None]


def _coverage_pair(drive: DriveCoverage, t: Translate) -> tuple[str, str]:
    """One drive of the hardware report: erased, NOT ERASED (why) or excluded."""
    what = " ".join(
        str(part)
        for part in (
            drive.model,
            drive.serial and f"S/N {drive.serial}",
            drive.size_bytes and human_size(drive.size_bytes),
        )
        if part
    )
    if drive.state == "erased":
        state = t("erased and verified")
    elif drive.state == "excluded":
        state = t("excluded: USB or removable, not the laptop's")
    else:
        state = f"{t('NOT ERASED')}: {_drive_status(drive, t)}"
    return drive.device, f"{what} — {state}" if what else state


def not_certified_reason(record: Mapping[str, Any], t: Translate) -> str:
    """``inventory.record.certified_reason`` in the document's language."""
    cause, facts = uncertified_cause(record)
    if cause == "drives":
        facts["missing"] = ", ".join(
            f"{d.name} ({_drive_status(d, t)})" for d in facts.pop("drives")
        )
    if "status" in facts:
        facts["status"] = repr(facts["status"])
    if "index" in facts:
        facts["number"] = facts["index"] + 1
    return t(_CAUSE_PHRASES[cause]).format(**facts)


def not_verified_band(signer: TrustVerdict, t: Translate) -> str:
    return t("NOT VERIFIED: signed by an unknown key {key_id}").format(key_id=signer.key_id)


def _validation_text(
    record: Mapping[str, Any],
    signature: Mapping[str, Any],
    signer: TrustVerdict | None,
    target: str,
    t: Translate,
) -> str:
    facts = {
        "bench": record["bench"].get("name"),
        "key_id": signature["key_id"],
        "date": when(record["created_at"]),
        "signature": signature["value"][:32],
        "target": target,
    }
    if signer is None:
        return t(
            "Digitally signed by bench {bench} with Ed25519 key {key_id} on {date}. "
            "Signature {signature}... Anyone can check this record offline: weee verify "
            "<record file> --public-key <the bench's public key>. The code leads to the "
            "record's verification: {target}"
        ).format(**facts)
    if signer.trusted:
        return t(
            "Digitally signed by bench {bench} with Ed25519 key {key_id} on {date}, a key "
            "known from {source}. Signature {signature}... Anyone can check this record "
            "offline: weee verify <record file> --public-key <the bench's public key>. The "
            "code leads to the record's verification: {target}"
        ).format(**{**facts, "bench": signer.bench or facts["bench"], "source": signer.source})
    return t(
        "NOT VERIFIED: signed on {date} with Ed25519 key {key_id}, which is not a known "
        "bench key, so nothing proves which bench wrote this record (it names bench "
        "{bench}). Signature {signature}... Check it: weee verify <record file> --public-key "
        "<the bench's public key>. The code leads to the record's verification: {target}"
    ).format(**facts)


def certificate_page(
    doc: Mapping[str, Any],
    *,
    width: float,
    height: float,
    url_pattern: str | None,
    asset_id: str | None = None,
    lang: str = "en",
    signer: TrustVerdict | None = None,
) -> Flowable:
    """One laptop's certificate, shrunk if needed so that it always fits one page.

    ``signer`` is how the printer judged the signing key (:mod:`inventory.trust`): a
    trusted key names its bench and trust source; an unknown one puts a red "NOT
    VERIFIED" banner on the page and never says which bench signed. Without it the
    caller has checked the signature against the bench's registered key (the server)."""
    t = translator(lang)
    styles = _styles()
    record, signature = doc["record"], doc["signature"]
    device = record["hardware"].get("device") or {}
    bench = record["bench"]
    donor = record.get("donor") or {}
    story: list[Flowable] = [
        Paragraph(escape(t("Certificate of Sanitization")), styles["title"]),
        Paragraph(
            escape(
                t(
                    "Media sanitization per NIST SP 800-88 Rev. 1, Appendix G. "
                    "Record {record_id} ({kind}), {date}."
                ).format(
                    record_id=record["record_id"],
                    kind=record["kind"],
                    date=when(record["created_at"]),
                )
            ),
            styles["subtitle"],
        ),
        Spacer(1, 3 * mm),
    ]
    unverified = signer is not None and not signer.trusted
    if signer is not None and not signer.trusted:
        story += [_banner(not_verified_band(signer, t), False, width), Spacer(1, 2 * mm)]
    erasures = record["erasures"]
    # the record's own rule, applied again: a record signed before a rule existed (or by
    # an agent that got it wrong) never prints more than its facts say
    certified = derive_certified(record)
    n_drives = _laptop_drive_count(record)
    if certified and unverified:
        # what the record claims, from a signer nobody vouches for: never a green result
        message = t(
            "RESULT: NOT VERIFIED. The record claims {n} drive(s) sanitized and verified, "
            "but its signer is unknown."
        ).format(n=n_drives)
    elif certified:
        message = t(
            "RESULT: CERTIFIED. All {n} drive(s) sanitized and verified; OS image verified."
        ).format(n=n_drives)
    else:
        message = t("RESULT: NOT CERTIFIED: {reason}.").format(
            reason=not_certified_reason(record, t)
        )
    story += [_banner(message, certified and not unverified, width)]
    story += [Spacer(1, 2 * mm)]

    story += [
        Paragraph(escape(t("Laptop and media source")), styles["section"]),
        _grid(
            [
                (t("Manufacturer"), device.get("manufacturer")),
                (t("Model"), device.get("model")),
                (t("Serial number"), device.get("serial")),
                (t("Device id"), record["device_id"]),
                (t("Asset id"), asset_id),
                (t("Media source (donor)"), donor.get("name")),
                (t("Donor batch"), donor.get("batch")),
                (t("Date"), when(record["created_at"])),
            ],
            width,
        ),
    ]
    coverage = drive_coverage(record)
    if coverage:
        story += [
            Paragraph(escape(t("Drives of the laptop")), styles["section"]),
            _grid([_coverage_pair(c, t) for c in coverage], width, columns=1),
        ]
    if not erasures:
        story.append(Paragraph(escape(t("No drive was erased in this record.")), styles["cell"]))
    for number, erasure in enumerate(erasures, 1):
        story += [
            Paragraph(
                escape(
                    t("Drive {number} of {total}: {device}").format(
                        number=number, total=len(erasures), device=erasure["media"]["device"]
                    )
                ),
                styles["section"],
            ),
            _grid(_drive_pairs(erasure, t), width),
        ]
    image = record.get("image")
    if image:
        story += [
            Paragraph(escape(t("Operating system image")), styles["section"]),
            _grid(
                [
                    (t("Image"), image["source"]),
                    (t("Result"), f"{image['status']} ({image['verification']})"),
                    ("SHA-256", image.get("sha256")),
                    (t("Written"), when(image["ended_at"])),
                ],
                width,
            ),
        ]
    story += [
        Paragraph(escape(t("Sanitization performed by")), styles["section"]),
        _grid(
            [
                (t("Name"), bench.get("technician")),
                (t("Organisation"), bench.get("organisation")),
                (t("Bench"), bench.get("name")),
                (t("Location"), bench.get("location")),
            ],
            width,
        ),
        Paragraph(escape(t("Validation")), styles["section"]),
    ]
    qr_size = 30 * mm
    target = verification_target(record["record_id"], url_pattern)
    validation = Paragraph(
        escape(_validation_text(record, signature, signer, target, t)), styles["cell"]
    )
    table = Table(
        [[validation, qr_drawing(target, qr_size)]],
        colWidths=[width - qr_size - 4 * mm, qr_size + 4 * mm],
    )
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story.append(table)
    return KeepInFrame(width, height, story, mode="shrink")


Output = Path | BinaryIO


PageBand = Callable[[int], str | None]  # page number -> the red band's words, or none


def _band_painter(band: PageBand) -> Callable[[Canvas, Any], None]:
    """Draws the red band across the top margin of the pages ``band`` names."""

    def paint(canvas: Canvas, doc: Any) -> None:
        message = band(canvas.getPageNumber())
        if not message:
            return
        width, height = doc.pagesize
        canvas.saveState()
        canvas.setFillColor(RED)
        canvas.rect(0, height - 11 * mm, width, 9 * mm, stroke=0, fill=1)
        canvas.setFillColor(colors.white)
        canvas.setFont(fonts()[1], 11)
        canvas.drawCentredString(width / 2, height - 7.8 * mm, message)
        canvas.restoreState()

    return paint


def _build(
    out: Output,
    pagesize: tuple[float, float],
    story: list[Flowable],
    title: str,
    band: PageBand | None = None,
) -> None:
    doc = SimpleDocTemplate(
        BytesIO() if isinstance(out, Path) else out,
        pagesize=pagesize,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=title,
        author="weee",
        creator="weee",
    )
    if band is None:
        doc.build(story)
    else:
        painter = _band_painter(band)
        doc.build(story, onFirstPage=painter, onLaterPages=painter)
    if isinstance(out, Path):
        buffer = doc.filename
        assert isinstance(buffer, BytesIO)
        out.write_bytes(buffer.getvalue())


def render_certificates(
    docs: Sequence[Mapping[str, Any]],
    out: Output,
    *,
    url_pattern: str | None = None,
    asset_ids: Mapping[str, str] | None = None,
    lang: str = "en",
    signers: Sequence[TrustVerdict | None] | None = None,
) -> int:
    """One certificate page per signed record in ``docs``; returns the page count.

    ``url_pattern`` (e.g. ``https://db.example.org/verify/{record_id}``) is what the QR
    code opens; without it the code holds the record id. ``asset_ids`` maps record ids to
    the asset ids the programme database gave them. ``lang`` is "en" or "fr".
    ``signers``, one per doc (in order: two files may carry the same record id), is the
    trust verdict on each signing key: the page of a record signed by an unknown key
    carries a red "NOT VERIFIED" band.
    """
    t = translator(lang)
    if not docs:
        raise ValueError("no record to certify")
    judged = list(signers) if signers is not None else [None] * len(docs)
    if len(judged) != len(docs):
        raise ValueError("one signer verdict per record")
    width, height = A4[0] - 28 * mm, A4[1] - 24 * mm
    story: list[Flowable] = []
    for index, doc in enumerate(docs):
        if index:
            story.append(PageBreak())
        record_id = doc["record"]["record_id"]
        story.append(
            certificate_page(
                doc,
                width=width,
                height=height,
                url_pattern=url_pattern,
                asset_id=(asset_ids or {}).get(record_id),
                lang=lang,
                signer=judged[index],
            )
        )
    bands = [not_verified_band(s, t) if s and not s.trusted else None for s in judged]

    def band(page: int) -> str | None:  # one page per record: KeepInFrame shrinks to fit
        return bands[page - 1] if page <= len(bands) else None

    _build(out, A4, story, t("Certificate of Sanitization"), band if any(bands) else None)
    return len(docs)


def render_batch_summary(
    docs: Sequence[Mapping[str, Any]],
    out: Output,
    *,
    url_pattern: str | None = None,
    asset_ids: Mapping[str, str] | None = None,
    lang: str = "en",
    signers: Sequence[TrustVerdict | None] | None = None,
) -> None:
    """The donor's summary of a collection batch: one line per laptop, every drive named;
    ``lang`` is "en" or "fr". With ``signers`` (one trust verdict per doc), a record
    signed by an unknown key is marked NOT VERIFIED on its line, and every page carries a
    red band."""
    t = translator(lang)
    if not docs:
        raise ValueError("no record in the batch")
    styles = _styles()
    records = [doc["record"] for doc in docs]
    donors = sorted({(r.get("donor") or {}).get("name") or "-" for r in records})
    batches = sorted({(r.get("donor") or {}).get("batch") or "-" for r in records})
    drives = [e for r in records for e in r["erasures"]]
    # a drive of a laptop that was never even tried counts, and shows, as not sanitized
    never = [c for r in records for c in _never_erased(r)]
    total_drives = len(drives) + len(never)
    certified_drives = sum(e["status"] == "certified" for e in drives)
    certified = sum(derive_certified(r) for r in records)
    judged = list(signers) if signers is not None else [None] * len(docs)
    if len(judged) != len(docs):
        raise ValueError("one signer verdict per record")
    unknown = {index for index, s in enumerate(judged) if s is not None and not s.trusted}
    width = landscape(A4)[0] - 28 * mm
    story: list[Flowable] = [
        Paragraph(escape(t("Data Sanitization Summary")), styles["title"]),
        Paragraph(
            escape(
                t(
                    "Donor: {donors}. Batch: {batches}. Media sanitization per NIST SP "
                    "800-88 Rev. 1. Each line has its own signed record and certificate "
                    "(weee verify checks them offline)."
                ).format(donors=", ".join(donors), batches=", ".join(batches))
            ),
            styles["subtitle"],
        ),
        Spacer(1, 3 * mm),
        _banner(
            t(
                "{laptops} laptop(s), {drives} drive(s): {good} drive(s) sanitized and "
                "verified, {bad} not; {certified} laptop(s) certified."
            ).format(
                laptops=len(records),
                drives=total_drives,
                good=certified_drives,
                bad=total_drives - certified_drives,
                certified=certified,
            ),
            certified_drives == total_drives,
            width,
        ),
        Spacer(1, 3 * mm),
    ]
    header = [
        "#",
        t("Laptop"),
        t("Serial"),
        t("Asset"),
        t("Drives: make model serial, method, verification, result"),
        t("Date"),
        t("Record"),
    ]
    rows: list[list[Any]] = [[_p(h, styles["key"]) for h in header]]
    for number, record in enumerate(records, 1):
        device = record["hardware"].get("device") or {}
        lines = [
            escape(
                f"{text(e['media'].get('manufacturer'))} {text(e['media'].get('model'))} "
                f"{text(e['media'].get('serial'))}, {e['sanitization']['method']} "
                f"({e['sanitization']['category']}), {_verification(e['verification'], t)}. "
                f"{t('Result')}: {_word(STATUS_WORDS, e['status'], t)}"
            )
            for e in record["erasures"]
        ] + [
            escape(f"{c.device} {text(c.serial)}: {t('NOT ERASED')} ({t('never erased')})")
            for c in _never_erased(record)
        ]
        lines = lines or [escape(t("no drive erased"))]
        rows.append(
            [
                _p(number, styles["cell"]),
                _p(
                    f"{text(device.get('manufacturer'))} {text(device.get('model'))}",
                    styles["cell"],
                ),
                _p(device.get("serial"), styles["cell"]),
                _p((asset_ids or {}).get(record["record_id"]), styles["cell"]),
                Paragraph("<br/>".join(f"• {line}" for line in lines), styles["cell"]),
                _p(when(record["created_at"]), styles["cell"]),
                Paragraph(
                    escape(verification_target(record["record_id"], url_pattern))
                    + "<br/>"
                    + escape(t("CERTIFIED") if derive_certified(record) else t("NOT CERTIFIED"))
                    + (
                        "<br/>" + escape(t("NOT VERIFIED: unknown signing key"))
                        if number - 1 in unknown
                        else ""
                    ),
                    styles["small"],
                ),
            ]
        )
    table = Table(
        rows,
        colWidths=[8 * mm, 34 * mm, 26 * mm, 20 * mm, width - 176 * mm, 28 * mm, 60 * mm],
        repeatRows=1,
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#bbbbbb")),
                ("BACKGROUND", (0, 0), (-1, 0), GREY),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story.append(table)
    message = t("NOT VERIFIED: {n} record(s) signed by an unknown key").format(n=len(unknown))
    _build(
        out,
        landscape(A4),
        story,
        t("Data Sanitization Summary"),
        (lambda page: message) if unknown else None,
    )
