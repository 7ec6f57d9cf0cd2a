"""In a real browser (headless Debian chromium driven by Playwright): a coordinator
allocates a laptop with its kit and prints the handover receipt; a donor downloads its
batch certificate and cannot see another donor's batch."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from checks.system import run_command
from inventory.server.devices.models import Device
from inventory.server.programme.models import Accessory, Allocation, Batch, Cohort, Trainee
from inventory.server.samples import bench_kit, hardware, record

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium not installed"),
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "a-long-test-password-42"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright runs an event loop in this thread; the ORM calls of the test around it
    # are still plain synchronous code
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True, locale="en-GB")
    page = context.new_page()
    # generous: each wait ends as soon as the page is there; headless chromium on a
    # loaded 2-core CI machine is slow to lay out and to render the PDFs
    page.set_default_timeout(60_000)
    yield page
    context.close()


def log_in(page: Any, url: str, username: str) -> None:
    page.goto(url)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("[type=submit]")


def pdf_text(path: str | Path) -> str:
    data = Path(path).read_bytes()
    assert data.startswith(b"%PDF")
    if not shutil.which("pdftotext"):
        return ""
    result = run_command(["pdftotext", "-layout", "-", "-"], input=data, timeout=30)
    return " ".join(result.text.split())


def test_a_coordinator_allocates_a_laptop_with_its_kit_and_prints_the_receipt(
    live_server, page, users, api, key, stock
):
    body = api.store(
        record(key, hw=hardware(serial="PF0BROWSER"), kit=bench_kit(mouse=True, sleeve=None))
    )
    laptop = Device.objects.get(asset_id=body["asset_id"])
    cohort = Cohort.objects.create(name="Session Browser")
    trainee = Trainee.objects.create(
        reference="TR-B1", name="Samir B.", cohort=cohort, has_home_wifi=False
    )

    log_in(page, f"{live_server.url}/admin/login/", "coord")
    page.goto(f"{live_server.url}/admin/programme/allocation/add/")
    page.select_option("select[name=device]", value=str(laptop.pk))
    page.select_option("select[name=trainee]", value=str(trainee.pk))
    page.click("input[name=_save]")
    page.wait_for_selector("ul.messagelist a.receipt")
    assert "Laptop allocated." in page.inner_text("ul.messagelist")

    with page.expect_download() as download:
        page.click("ul.messagelist a.receipt")
    text = pdf_text(download.value.path())
    if text:
        for words in (
            "Samir B. (TR-B1)",
            laptop.asset_id,
            "PF0BROWSER",
            "Mouse assembled on the bench",
            "Sleeve from stock",
            "4G key from stock",
        ):
            assert words in text, f"{words!r} missing from the receipt: {text}"

    allocation = Allocation.objects.get()
    assert (allocation.device, allocation.trainee) == (laptop, trainee)
    assert dict(Accessory.objects.values_list("kind", "quantity")) == {
        "mouse": 5,
        "sleeve": 4,
        "4g_key": 1,
    }


def test_the_coordinator_sees_a_shortage_as_a_form_error(live_server, page, users, api, key, stock):
    Accessory.objects.filter(kind="4g_key").update(quantity=0)
    laptop = Device.objects.get(asset_id=api.store(record(key))["asset_id"])
    trainee = Trainee.objects.create(reference="TR-B2", name="Lina", has_home_wifi=False)
    log_in(page, f"{live_server.url}/admin/login/", "coord")
    page.goto(f"{live_server.url}/admin/programme/allocation/add/")
    page.select_option("select[name=device]", value=str(laptop.pk))
    page.select_option("select[name=trainee]", value=str(trainee.pk))
    page.click("input[name=_save]")
    assert "Shortage: no 4G key in stock" in page.inner_text("ul.errorlist")
    assert Allocation.objects.count() == 0


def test_a_donor_downloads_its_certificate_and_cannot_see_another_donors_batch(
    live_server, page, users, api, key
):
    api.store(
        record(
            key,
            donor={"name": "Ville de Lyon", "batch": "LY-2026-1"},
            hw=hardware(drives=[("sda", "S3Z9LYON")]),
        )
    )
    api.store(
        record(
            key,
            donor={"name": "Acme SA", "batch": "ACME-7"},
            hw=hardware(drives=[("sda", "WDACME")]),
        )
    )
    theirs = Batch.objects.get(reference="ACME-7")

    log_in(page, f"{live_server.url}/donor/", "donor")
    page.wait_for_selector("a.certificate")
    listing = page.inner_text("body")
    assert "LY-2026-1" in listing
    assert "ACME-7" not in listing

    with page.expect_download() as download:
        page.click("a.certificate")
    text = pdf_text(download.value.path())
    if text:
        assert "S3Z9LYON" in text and "WDACME" not in text

    response = page.goto(f"{live_server.url}/donor/batches/{theirs.pk}/certificate.pdf")
    assert response is not None and response.status == 404
    response = page.goto(f"{live_server.url}/admin/programme/batch/")
    assert "/admin/login/" in page.url  # no admin for donors
