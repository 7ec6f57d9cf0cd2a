"""Certificates, batch summaries and asset labels: rendered to PNG (pdftoppm), their text
read back (pdftotext) and their QR codes decoded (zbarimg), as a person would check them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_record_samples import part, sample_record

from agent.cli import main
from agent.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from checks.system import run_command, which
from inventory.benchkeys import Bench, init_bench
from inventory.spool import Spool

pytestmark = pytest.mark.skipif(
    not (which("pdftoppm") and which("pdftotext")), reason="poppler-utils is not installed"
)

URL = "https://weee.example.org/verify/{record_id}"


def pdf_text(pdf: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    result = run_command(["pdftotext", "-layout", *pages, str(pdf), "-"])
    assert result.ok, result.stderr_text
    return " ".join(result.text.split())  # words only: the layout wraps long values


def pdf_pages(pdf: Path) -> int:
    result = run_command(["pdfinfo", str(pdf)])
    return int(re.search(r"Pages:\s+(\d+)", result.text).group(1))  # type: ignore[union-attr]


def page_size_mm(pdf: Path) -> tuple[float, float]:
    found = re.search(
        r"Page size:\s+([\d.]+) x ([\d.]+) pts", run_command(["pdfinfo", str(pdf)]).text
    )
    assert found
    return round(float(found[1]) / 72 * 25.4, 1), round(float(found[2]) / 72 * 25.4, 1)


def render_png(pdf: Path, dpi: int = 150) -> list[Path]:
    result = run_command(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(pdf.with_suffix(""))])
    assert result.ok, result.stderr_text
    pngs = sorted(pdf.parent.glob(f"{pdf.stem}-*.png"))
    assert pngs and all(p.stat().st_size > 5000 for p in pngs)  # a blank page is ~1 kB
    return pngs


def qr_codes(png: Path) -> list[str]:
    if not which("zbarimg"):
        pytest.skip("zbar-tools is not installed (scripts/setup --dev installs it)")
    result = run_command(["zbarimg", "-q", "--raw", str(png)])
    return result.text.split()


def failed_erasure() -> dict[str, Any]:
    erasure = part("erasure-sda-overwrite")
    erasure["status"] = "failed"
    erasure["passes"][0]["errors"] = [{"offset": 4096, "length": 512, "error": "I/O error"}]
    erasure["verification"].update(result="not-done", method="none", bytes_read=0)
    erasure["errors"] = ["write error at byte 4096"]
    return erasure


@pytest.fixture
def bench_data(tmp_path: Path) -> tuple[Path, Bench]:
    data = tmp_path / "data"
    bench = init_bench(
        data, name="bench-1", organisation="Atelier Réemploi Nord", technician="Amina Diallo"
    )
    return data, bench


def spool_records(bench: Bench, *records: dict[str, Any]) -> Spool:
    spool = bench.spool()
    for record in records:
        spool.add(bench.sign({**record, "bench": bench.record_bench()}))
    return spool


CASES = {
    "certified": (
        lambda: sample_record(1),
        ["RESULT: CERTIFIED", "SANITIZED AND VERIFIED", "PASSED"],
    ),
    "failed-drive": (
        lambda: sample_record(2, erasures=[failed_erasure(), part("erasure-nvme-sanitize")]),
        [
            "NOT CERTIFIED",
            "1 of 2 drives erased — sda (FAILED: write error at byte 4096",
            "FAILED",
            "write error at byte 4096",
        ],
    ),
}

# NIST SP 800-88 Appendix G: who, organisation, media make/model/serial, category, method,
# tool and version, verification, result, destination, date; and the validation.
APPENDIX_G = [
    "Certificate of Sanitization",
    "NIST SP 800-88",
    "Amina Diallo",
    "Atelier Réemploi Nord",
    "Lille",
    "LENOVO",
    "ThinkPad T440p",
    "PB01234X",
    "Seagate",
    "ST500LM021-1KJ152",
    "W62ABC12",
    "Samsung SSD 970 EVO Plus 250GB",
    "S4EUNX0N123456A",
    "Category",
    "Clear",
    "Purge",
    "overwrite",
    "nvme-sanitize-crypto",
    "weee 0.1.0",
    "Verification",
    "full read-back",
    "NIST sampling, 2002 samples",
    "Result",
    "Destination",
    "Reuse",
    "2026-11-25",
    "Métropole Européenne de Lille",
    "Digitally signed by bench bench-1",
]


@pytest.mark.parametrize("case", sorted(CASES))
def test_certificate_page_carries_the_appendix_g_fields(
    case: str, bench_data: tuple[Path, Bench], tmp_path: Path
) -> None:
    data, bench = bench_data
    make, expected = CASES[case]
    record = make()
    spool = spool_records(bench, record)
    spool.mark_sent(record["record_id"], {"status": "stored", "asset_id": "W-000042"})
    out = tmp_path / "cert.pdf"
    done = CliRunner().invoke(
        main,
        [
            "certificate",
            record["record_id"],
            "--dir",
            str(data),
            "-o",
            str(out),
            "--verify-url",
            URL,
        ],
    )
    assert done.exit_code == EXIT_OK, done.output
    assert pdf_pages(out) == 1
    text = pdf_text(out)
    missing = [
        field for field in APPENDIX_G + expected + [bench.key_id, "W-000042"] if field not in text
    ]
    assert not missing, f"missing on the certificate: {missing}"
    (png,) = render_png(out)
    assert qr_codes(png) == [URL.format(record_id=record["record_id"])]


@pytest.fixture(autouse=True)
def english_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    # weee certificate speaks the locale's language unless --lang says otherwise
    monkeypatch.setenv("LC_ALL", "C.UTF-8")


# Appendix G's fields as the French certificate names them, and French words for values
APPENDIX_G_FR = [
    "Certificat d'effacement des données",
    "selon NIST SP 800-88 Rev. 1, annexe G",
    "Ordinateur portable et provenance des supports",
    "Fabricant",
    "Modèle",
    "Numéro de série",
    "Id. de l'appareil",
    "N° d'inventaire",
    "Donateur",
    "Lot du donateur",
    "Disque 1 sur 2 : /dev/sda",
    "Marque",
    "Type de support",
    "Capacité",
    "Zones cachées",
    "Catégorie",
    "Effacement (Clear)",
    "Purge (Purge)",
    "Méthode",
    "Technique",
    "Passes",
    "Outil",
    "Vérification",
    "Début",
    "Fin",
    "Résultat",
    "Erreurs",
    "Destination",
    "Réemploi : ordinateur reconditionné",
    "Id. d'effacement",
    "Effacement réalisé par",
    "Nom",
    "Organisme",
    "Banc",
    "Lieu",
    "Validation",
    "Signé numériquement par le banc bench-1",
    # the record's own facts stay as signed
    "Amina Diallo",
    "Atelier Réemploi Nord",
    "W62ABC12",
    "nvme-sanitize-crypto",
    "weee 0.1.0",
]


@pytest.mark.parametrize(
    "case, expected",
    [
        (
            "certified",
            [
                "RÉSULTAT : CERTIFIÉ",
                "EFFACÉ ET VÉRIFIÉ",
                "relecture complète",
                "échantillonnage NIST, 2002 échantillons",
                "RÉUSSIE",
                "Image du système d'exploitation",
            ],
        ),
        (
            "failed-drive",
            [
                "RÉSULTAT : NON CERTIFIÉ : 1 disque(s) effacé(s) sur 2 — sda (ÉCHEC",
                "ÉCHEC",
                "non vérifié",
                "write error at byte 4096",
            ],
        ),
    ],
)
def test_the_french_certificate_names_every_field_in_french(
    case: str, expected: list[str], bench_data: tuple[Path, Bench], tmp_path: Path
) -> None:
    data, bench = bench_data
    record = CASES[case][0]()
    spool = spool_records(bench, record)
    spool.mark_sent(record["record_id"], {"status": "stored", "asset_id": "W-000042"})
    out = tmp_path / "certificat.pdf"
    args = ["certificate", record["record_id"], "--dir", str(data), "-o", str(out)]
    done = CliRunner().invoke(main, [*args, "--lang", "fr"])
    assert done.exit_code == EXIT_OK, done.output
    assert pdf_pages(out) == 1
    text = pdf_text(out)
    missing = [field for field in APPENDIX_G_FR + expected if field not in text]
    assert not missing, f"missing on the French certificate: {missing}"
    english = ["Certificate of Sanitization", "Serial number", "Media make", "Performed by"]
    assert not [word for word in english if word in text]


def test_the_french_batch_summary(bench_data: tuple[Path, Bench], tmp_path: Path) -> None:
    data, bench = bench_data
    spool_records(
        bench,
        sample_record(1),
        sample_record(2, erasures=[failed_erasure(), part("erasure-nvme-sanitize")]),
    )
    out = tmp_path / "recap.pdf"
    args = ["certificate", "--dir", str(data), "--summary", "-o", str(out), "--lang", "fr"]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == EXIT_OK, done.output
    text = pdf_text(out)
    for expected in [
        "Récapitulatif de l'effacement des données",
        "Donateur : Métropole Européenne de Lille",
        "Lot : MEL-2026-11",
        "2 ordinateur(s), 4 disque(s) : 3 disque(s) effacé(s) et vérifié(s), 1 non ; "
        "1 ordinateur(s) certifié(s)",
        "Ordinateur",
        "N° de série",
        "Inventaire",
        "Disques : marque modèle n° de série, méthode, vérification,",  # "résultat" wraps
        "Enregistrement",
        "Résultat: ÉCHEC",
        "NON CERTIFIÉ",
    ]:
        assert expected in text, expected


def test_the_certificate_language_follows_the_locale(
    bench_data: tuple[Path, Bench], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, bench = bench_data
    spool_records(bench, sample_record(1))
    monkeypatch.setenv("LC_ALL", "fr_FR.UTF-8")
    out = tmp_path / "c.pdf"
    done = CliRunner().invoke(main, ["certificate", "--dir", str(data), "-o", str(out)])
    assert done.exit_code == EXIT_OK, done.output
    assert "Certificat d'effacement des données" in pdf_text(out)
    done = CliRunner().invoke(main, ["certificate", "--dir", str(data), "--lang", "de"])
    assert done.exit_code == EXIT_USAGE and "'de' is not one of" in done.output


def test_an_unknown_document_language_is_refused() -> None:
    from inventory.documents.words import translator

    with pytest.raises(ValueError, match="unknown language 'de'"):
        translator("de")


def test_one_certificate_page_per_laptop(bench_data: tuple[Path, Bench], tmp_path: Path) -> None:
    data, bench = bench_data
    records = [sample_record(n) for n in range(3)]
    spool_records(bench, *records)
    out = tmp_path / "all.pdf"
    done = CliRunner().invoke(main, ["certificate", "--dir", str(data), "-o", str(out)])
    assert done.exit_code == EXIT_OK, done.output
    assert pdf_pages(out) == 3
    pngs = render_png(out, dpi=60)
    for page, (record, png) in enumerate(zip(records, pngs, strict=True), 1):
        assert record["record_id"] in pdf_text(out, page)
        assert qr_codes(png) == [record["record_id"]]  # no server: the code is the record id


def test_many_drives_still_fit_one_page(bench_data: tuple[Path, Bench], tmp_path: Path) -> None:
    data, bench = bench_data
    drives = []
    for number in range(5):
        drive = part("erasure-sda-overwrite")
        drive["erasure_id"] = f"0b0d3c3e-6c1e-4a0e-9a53-4f4c2d8b7e1{number}"
        drive["media"]["serial"] = f"SERIAL-{number}"
        drives.append(drive)
    spool_records(bench, sample_record(5, erasures=drives))
    out = tmp_path / "five.pdf"
    assert (
        CliRunner().invoke(main, ["certificate", "--dir", str(data), "-o", str(out)]).exit_code == 0
    )
    assert pdf_pages(out) == 1
    assert all(f"SERIAL-{n}" in pdf_text(out) for n in range(5))


def test_batch_summary_names_every_drive_and_the_totals(
    bench_data: tuple[Path, Bench], tmp_path: Path
) -> None:
    data, bench = bench_data
    other_batch = {"name": "Ville de Roubaix", "batch": "RBX-1"}
    spool_records(
        bench,
        sample_record(1),
        sample_record(2, erasures=[failed_erasure(), part("erasure-nvme-sanitize")]),
        sample_record(3, donor=other_batch),
    )
    out = tmp_path / "summary.pdf"
    args = [
        "certificate",
        "--dir",
        str(data),
        "--summary",
        "--batch",
        "MEL-2026-11",
        "-o",
        str(out),
    ]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == EXIT_OK, done.output
    text = pdf_text(out)
    for expected in [
        "Data Sanitization Summary",
        "Métropole Européenne de Lille",
        "MEL-2026-11",
        "2 laptop(s), 4 drive(s): 3 drive(s) sanitized and verified, 1 not; 1 laptop(s) certified",
        "W62ABC12",
        "S4EUNX0N123456A",
        "FAILED",
        "00000000-0000-4000-8000-000000000001",
        "NOT CERTIFIED",
    ]:
        assert expected in text, expected
    assert "Roubaix" not in text and "000000000003" not in text
    render_png(out, dpi=60)


def test_a_tampered_record_is_never_certified(
    bench_data: tuple[Path, Bench], tmp_path: Path
) -> None:
    data, bench = bench_data
    spool = spool_records(bench, sample_record(1))
    path = spool.entries()[0].path
    path.write_bytes(path.read_bytes().replace(b'"passed"', b'"failed"', 1))
    done = CliRunner().invoke(main, ["certificate", str(path), "-o", str(tmp_path / "x.pdf")])
    assert done.exit_code == EXIT_FAILED and "does not verify" in done.output
    assert not (tmp_path / "x.pdf").exists()


def test_certificate_of_an_unknown_record_is_a_usage_error(bench_data: tuple[Path, Bench]) -> None:
    done = CliRunner().invoke(main, ["certificate", "nope", "--dir", str(bench_data[0])])
    assert done.exit_code == EXIT_USAGE and "no file or spooled record" in done.output


def test_tape_label_of_a_synced_record(bench_data: tuple[Path, Bench], tmp_path: Path) -> None:
    data, bench = bench_data
    record = sample_record(1)
    spool = spool_records(bench, record)
    out = tmp_path / "tape.pdf"
    args = ["label", record["record_id"], "--dir", str(data), "-o", str(out)]
    unsynced = CliRunner().invoke(main, args)
    assert unsynced.exit_code == EXIT_USAGE and "weee sync" in unsynced.output
    spool.mark_sent(record["record_id"], {"status": "stored", "asset_id": "W-000042"})
    done = CliRunner().invoke(main, args)
    assert done.exit_code == EXIT_OK, done.output
    assert page_size_mm(out) == (62.0, 29.0)
    text = pdf_text(out)
    assert all(
        s in text
        for s in ["W-000042", "LENOVO ThinkPad T440p", "S/N PB01234X", "Grade B, certified"]
    )
    (png,) = render_png(out, dpi=300)
    assert qr_codes(png) == ["W-000042"]


def test_a4_sheet_of_labels(tmp_path: Path) -> None:
    out = tmp_path / "sheet.pdf"
    ids = [f"W-{n:06d}" for n in range(1, 24)]
    args = [
        "label",
        "--layout",
        "a4",
        "--skip",
        "2",
        "--qr-url",
        "https://db.example.org/a/{asset_id}",
    ]
    for asset in ids:
        args += ["--asset-id", asset]
    done = CliRunner().invoke(main, [*args, "-o", str(out)])
    assert done.exit_code == EXIT_OK, done.output
    assert page_size_mm(out) == (210.0, 297.0)
    assert pdf_pages(out) == 2  # 2 used + 19 on the first sheet, 4 on the second
    first, second = render_png(out, dpi=200)
    assert sorted(qr_codes(first)) == [f"https://db.example.org/a/{a}" for a in ids[:19]]
    assert sorted(qr_codes(second)) == [f"https://db.example.org/a/{a}" for a in ids[19:]]
    assert all(a in pdf_text(out) for a in ids)


def test_documents_render_into_a_stream_for_the_server() -> None:
    # the programme database serves them from memory (inventory.server.programme.documents)
    from io import BytesIO

    from test_record_samples import test_key

    from inventory.documents.certificate import render_batch_summary, render_certificates
    from inventory.documents.labels import LabelItem, render_labels
    from inventory.signing import sign_record

    docs = [sign_record(sample_record(n), test_key()) for n in range(2)]
    for render in (
        lambda out: render_certificates(docs, out),
        lambda out: render_batch_summary(docs, out),
        lambda out: render_labels([LabelItem("W-1", "W-1")], out, layout="a4"),
    ):
        stream = BytesIO()
        render(stream)
        assert stream.getvalue().startswith(b"%PDF-") and len(stream.getvalue()) > 1000
