"""The handover receipt and the donor's erasure certificates, read back with pdftotext."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from django.urls import reverse

from checks.system import run_command
from inventory.server.devices.models import Device
from inventory.server.programme import services
from inventory.server.programme.models import Batch, Cohort, Trainee
from inventory.server.samples import bench_kit, hardware, record

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) missing"),
]


def pdf_text(data: bytes) -> str:
    result = run_command(["pdftotext", "-layout", "-", "-"], input=data, timeout=30)
    assert result.ok, result.stderr_text
    return " ".join(result.text.split())


@pytest.fixture
def allocation(api, key, stock):
    body = api.store(
        record(
            key,
            hw=hardware(serial="PF0RECEIPT"),
            kit=bench_kit(mouse=True, sleeve=True),
        )
    )
    cohort = Cohort.objects.create(name="Session B")
    person = Trainee.objects.create(
        reference="TR-77", name="Nadia K.", cohort=cohort, has_home_wifi=False
    )
    laptop = Device.objects.get(asset_id=body["asset_id"])
    return services.allocate(laptop, person, on=dt.date(2026, 4, 2))


@pytest.mark.parametrize(
    "language, expected",
    [
        (
            "en",
            [
                "Laptop handover receipt",
                "Nadia K. (TR-77)",
                "Session B",
                "PF0RECEIPT",
                "4G key from stock",
                "Mouse assembled on the bench",
                "2029-04-02",
                "Signature of the trainee",
            ],
        ),
        (
            "fr",
            [
                "Reçu de remise",
                "Nadia K. (TR-77)",
                "Clé 4G",
                "2029-04-02",
                "Signature du stagiaire",
            ],
        ),
    ],
)
def test_the_handover_receipt_names_the_trainee_laptop_kit_and_ticket(
    client, users, allocation, language, expected
):
    client.force_login(users.coordinator)
    response = client.get(
        reverse("handover-receipt", args=[allocation.pk]), headers={"Accept-Language": language}
    )
    assert response.status_code == 200
    text = pdf_text(response.content)
    for words in expected:
        assert words in text, f"{words!r} missing from: {text}"
    assert allocation.device.asset_id in text


def test_the_batch_summary_names_every_drive_and_its_result(client, users, api, key):
    donor = {"name": "Ville de Lyon", "batch": "2026-04"}
    good = api.store(record(key, donor=donor, hw=hardware(drives=[("sda", "S3Z9GOOD")])))
    bad = api.store(
        record(key, donor=donor, certified=False, hw=hardware(drives=[("sda", "WDBAD123")]))
    )
    batch = Batch.objects.get(reference="2026-04")
    client.force_login(users.donor)
    text = pdf_text(client.get(reverse("batch-certificate", args=[batch.pk])).content)
    assert "Ville de Lyon" in text
    assert "S3Z9GOOD" in text and "WDBAD123" in text
    assert good["asset_id"] in text and bad["asset_id"] in text
    assert "1 drive(s) sanitized and verified, 1 not" in text
    pages = client.get(reverse("batch-certificates", args=[batch.pk])).content
    assert pdf_text(pages).count("S3Z9GOOD") >= 1
    # the QR code and its caption lead to this server's verify page
    assert "http://testserver/verify/" in pdf_text(pages).replace(" ", "")


def test_the_donor_gets_its_certificates_in_the_language_it_chose(client, users, api, key):
    donor = {"name": "Ville de Lyon", "batch": "2026-05"}
    api.store(record(key, donor=donor, hw=hardware(drives=[("sda", "S3Z9FRANCE")])))
    batch = Batch.objects.get(reference="2026-05")
    client.force_login(users.donor)
    # the language switcher of the donor's page
    client.post("/i18n/setlang/", {"language": "fr", "next": "/donor/"})
    summary = pdf_text(client.get(reverse("batch-certificate", args=[batch.pk])).content)
    for words in [
        "Récapitulatif de l'effacement des données",
        "Donateur : Ville de Lyon",
        "1 ordinateur(s), 1 disque(s) : 1 disque(s) effacé(s) et vérifié(s), 0 non",
        "S3Z9FRANCE",
    ]:
        assert words in summary, f"{words!r} missing from: {summary}"
    pages = pdf_text(client.get(reverse("batch-certificates", args=[batch.pk])).content)
    for words in [
        "Certificat d'effacement des données",
        "annexe G",
        "Numéro de série",
        "Catégorie",
        "Méthode",
        "Vérification",
        "Résultat",
        "Destination",
        "Effacement réalisé par",
        "Organisme",
        "Signé numériquement par le banc bench-1",
    ]:
        assert words in pages, f"{words!r} missing from: {pages}"
    assert "Certificate of Sanitization" not in pages
    # and back to English
    client.post("/i18n/setlang/", {"language": "en", "next": "/donor/"})
    pages = pdf_text(client.get(reverse("batch-certificates", args=[batch.pk])).content)
    assert "Certificate of Sanitization" in pages and "Serial number" in pages


def test_the_verify_page_behind_the_qr_code_rechecks_the_signature(client, api, key):
    body = api.store(record(key, hw=hardware(drives=[("sda", "S3Z9VERIFY")])))
    page = client.get(f"/verify/{body['record_id']}").content.decode()
    assert "signature valid, made by bench bench-1" in page
    assert "S3Z9VERIFY" in page and body["asset_id"] in page
    assert client.get("/verify/00000000-0000-4000-8000-000000000000").status_code == 404
    assert client.get("/verify/nonsense").status_code == 404


def test_the_verify_page_shows_a_record_altered_in_the_database(client, api, key):
    from inventory.server.devices.models import Record

    body = api.store(record(key))
    stored = Record.objects.get()
    stored.signed_file = stored.signed_file.replace('"grade": "A"', '"grade": "B"')
    stored.save()
    page = client.get(f"/verify/{body['record_id']}").content.decode()
    assert "does NOT check" in page


def test_a_laptop_erased_then_recycled_is_on_its_donors_certificate(client, users, api, key):
    donor = {"name": "Ville de Lyon", "batch": "R-1"}
    hw = hardware(serial="RECYCLED1", drives=[("sda", "S3Z9RECYC")])
    api.store(record(key, donor=donor, hw=hw, certified=False))
    rec = record(key, kind="recycling", donor=donor, hw=hw)  # erased and imaged: certified
    api.store(rec)
    batch = Batch.objects.get(reference="R-1")
    client.force_login(users.donor)
    text = pdf_text(client.get(reverse("batch-certificate", args=[batch.pk])).content)
    assert "1 drive(s) sanitized and verified, 0 not" in text
