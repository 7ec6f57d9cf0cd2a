"""Each role sees and does only its part: technician, coordinator, donor, admin."""

from __future__ import annotations

import pytest
from django.urls import reverse

from inventory.server.devices.models import Device
from inventory.server.programme import services
from inventory.server.programme.models import Batch, Cohort, Trainee
from inventory.server.samples import record

pytestmark = pytest.mark.django_db

TECHNICIAN_PAGES = [
    "/admin/benches/bench/",
    "/admin/benches/bench/add/",
    "/admin/benches/rejectedupload/",
    "/admin/devices/device/",
    "/admin/devices/record/",
]
COORDINATOR_PAGES = [
    "/admin/programme/donor/",
    "/admin/programme/batch/",
    "/admin/programme/cohort/",
    "/admin/programme/trainee/",
    "/admin/programme/trainee/add/",
    "/admin/programme/accessory/",
    "/admin/programme/allocation/",
    "/admin/programme/allocation/add/",
    "/admin/programme/maintenanceticket/",
    "/admin/programme/maintenanceticket/add/",
    "/admin/reports/",
    "/admin/devices/device/",
]


def status(client, user, url: str) -> int:
    client.force_login(user)
    return int(client.get(url).status_code)


@pytest.mark.parametrize("url", TECHNICIAN_PAGES)
def test_a_technician_works_on_benches_and_runs(client, users, url):
    assert status(client, users.technician, url) == 200


@pytest.mark.parametrize("url", [u for u in COORDINATOR_PAGES if u not in TECHNICIAN_PAGES])
def test_a_technician_does_not_see_the_programme(client, users, url):
    assert status(client, users.technician, url) == 403


@pytest.mark.parametrize("url", COORDINATOR_PAGES)
def test_a_coordinator_runs_the_programme(client, users, url):
    assert status(client, users.coordinator, url) == 200


@pytest.mark.parametrize("url", ["/admin/benches/bench/", "/admin/benches/bench/add/"])
def test_a_coordinator_does_not_manage_benches(client, users, url):
    assert status(client, users.coordinator, url) == 403


def test_nobody_edits_a_signed_record_in_the_admin(client, users, api, key):
    api.store(record(key))
    pk = Device.objects.get().records.get().pk
    for user in (users.coordinator, users.technician, users.admin):
        client.force_login(user)
        page = client.get(f"/admin/devices/record/{pk}/change/")
        assert page.status_code == 200
        assert b'name="_save"' not in page.content
        assert client.post(f"/admin/devices/record/{pk}/delete/").status_code == 403


@pytest.mark.parametrize("url", TECHNICIAN_PAGES + COORDINATOR_PAGES + ["/admin/"])
def test_a_donor_has_no_admin_access(client, users, url):
    client.force_login(users.donor)
    response = client.get(url)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize("url", TECHNICIAN_PAGES + COORDINATOR_PAGES)
def test_an_admin_sees_everything(client, users, url):
    assert status(client, users.admin, url) == 200


@pytest.fixture
def batches(users, api, key):
    """A batch of each donor, each with a laptop erased on the bench."""
    api.store(record(key, donor={"name": "Ville de Lyon", "batch": "L-1"}))
    api.store(record(key, donor={"name": "Acme SA", "batch": "A-1"}))
    mine = Batch.objects.get(donor__name="Ville de Lyon", reference="L-1")
    theirs = Batch.objects.get(donor__name="Acme SA", reference="A-1")
    return mine, theirs


def test_a_donor_sees_only_its_own_batches(client, users, batches):
    client.force_login(users.donor)
    page = client.get("/donor/").content.decode()
    assert "L-1" in page
    assert "A-1" not in page


def test_a_donor_downloads_its_certificate_but_not_another_donors(client, users, batches):
    mine, theirs = batches
    client.force_login(users.donor)
    for name in ("batch-certificate", "batch-certificates"):
        own = client.get(reverse(name, args=[mine.pk]))
        assert own.status_code == 200
        assert own["Content-Type"] == "application/pdf"
        assert client.get(reverse(name, args=[theirs.pk])).status_code == 404


def test_a_donor_cannot_print_handover_receipts(client, users, api, key, stock):
    laptop = Device.objects.get(asset_id=api.store(record(key))["asset_id"])
    cohort = Cohort.objects.create(name="C1")
    allocation = services.allocate(
        laptop, Trainee.objects.create(reference="T1", name="Ana", cohort=cohort)
    )
    url = reverse("handover-receipt", args=[allocation.pk])
    assert status(client, users.donor, url) == 302  # to the admin login: not staff
    assert status(client, users.technician, url) == 403
    assert status(client, users.coordinator, url) == 200


def test_anonymous_visitors_are_sent_to_log_in(client, batches):
    mine, _ = batches
    for url in ("/donor/", reverse("batch-certificate", args=[mine.pk]), "/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_the_home_page_sends_each_role_to_its_place(client, users):
    client.force_login(users.donor)
    assert client.get("/")["Location"] == "/donor/"
    client.force_login(users.coordinator)
    assert client.get("/")["Location"] == "/admin/"
