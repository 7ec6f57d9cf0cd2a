"""What coordinators do in the admin, through its forms: returns, tickets, languages."""

from __future__ import annotations

import datetime as dt

import pytest

from inventory.server.devices.models import Device
from inventory.server.programme import services
from inventory.server.programme.models import (
    Accessory,
    Allocation,
    Cohort,
    MaintenanceTicket,
    Trainee,
)
from inventory.server.samples import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def allocation(api, key, stock):
    laptop = Device.objects.get(asset_id=api.store(record(key))["asset_id"])
    trainee = Trainee.objects.create(
        reference="TR-1", name="Ana", cohort=Cohort.objects.create(name="C")
    )
    return services.allocate(laptop, trainee, on=dt.date(2023, 1, 10))


def test_a_coordinator_records_a_return_in_the_allocation_form(client, users, allocation):
    client.force_login(users.coordinator)
    response = client.post(
        f"/admin/programme/allocation/{allocation.pk}/change/",
        {"returned_on": "2025-06-01", "return_reason": "moved away"},
    )
    assert response.status_code == 302, response.content
    allocation.refresh_from_db()
    assert allocation.returned_on == dt.date(2025, 6, 1)
    assert allocation.device.status == "returned"
    assert allocation.device.events.last().user == users.coordinator


def test_a_coordinator_records_the_kit_coming_back_in_the_allocation_form(
    client, users, allocation
):
    client.force_login(users.coordinator)
    response = client.post(
        f"/admin/programme/allocation/{allocation.pk}/change/",
        {
            "returned_on": "2025-06-01",
            "return_reason": "end of training",
            "mouse_returned": "working",
            "sleeve_returned": "broken",
            "kit_return_note": "zip torn",
        },
    )
    assert response.status_code == 302, response.content
    allocation.refresh_from_db()
    assert (allocation.mouse_returned, allocation.sleeve_returned) == ("working", "broken")
    assert allocation.kit_return_note == "zip torn"
    assert dict(Accessory.objects.values_list("kind", "quantity")) == {
        "mouse": 5,
        "sleeve": 4,
        "4g_key": 2,
    }
    url = f"/admin/programme/allocation/{allocation.pk}/change/"
    assert "Sleeve: returned broken" in client.get(url).content.decode()
    french = client.get(url, headers={"Accept-Language": "fr"}).content.decode()
    assert "Souris: rendu en état de marche" in french


def test_the_allocation_form_refuses_returning_an_item_never_handed_over(client, users, allocation):
    client.force_login(users.coordinator)
    response = client.post(
        f"/admin/programme/allocation/{allocation.pk}/change/",
        {"returned_on": "2025-06-01", "return_reason": "x", "key_4g_returned": "working"},
    )
    assert response.status_code == 200
    assert "No 4G key was handed over with this laptop." in response.content.decode()
    allocation.refresh_from_db()
    assert allocation.returned_on is None
    assert Accessory.objects.get(kind="4g_key").quantity == 2


def test_an_expired_ticket_is_refused_in_the_form_with_the_reason(client, users, allocation):
    client.force_login(users.coordinator)
    response = client.post(
        "/admin/programme/maintenanceticket/add/",
        {"allocation": allocation.pk, "opened_on": "2026-02-01", "problem": "keyboard"},
    )
    assert response.status_code == 200  # the form again, with the error
    assert "The maintenance ticket expired on 2026-01-10" in response.content.decode()
    assert MaintenanceTicket.objects.count() == 0


def test_a_ticket_opened_and_closed_in_the_admin_moves_the_laptop(client, users, allocation):
    client.force_login(users.coordinator)
    response = client.post(
        "/admin/programme/maintenanceticket/add/",
        {"allocation": allocation.pk, "opened_on": "2025-02-01", "problem": "keyboard"},
    )
    assert response.status_code == 302, response.content
    ticket = MaintenanceTicket.objects.get()
    assert Device.objects.get().status == "maintenance"
    response = client.post(
        f"/admin/programme/maintenanceticket/{ticket.pk}/change/",
        {"status": "closed", "closed_on": "2025-02-03", "resolution": "new keyboard"},
    )
    assert response.status_code == 302, response.content
    assert Device.objects.get().status == "allocated"


def test_the_allocation_form_offers_only_certified_laptops_and_waiting_trainees(
    client, users, allocation, api, key
):
    ready = Device.objects.get(asset_id=api.store(record(key))["asset_id"])
    not_ready = Device.objects.get(asset_id=api.store(record(key, certified=False))["asset_id"])
    waiting = Trainee.objects.create(reference="TR-2", name="Bo")
    client.force_login(users.coordinator)
    form = client.get("/admin/programme/allocation/add/").context["adminform"].form
    assert list(form.fields["device"].queryset) == [ready]
    assert not_ready not in form.fields["device"].queryset
    assert list(form.fields["trainee"].queryset) == [waiting]
    assert Allocation.objects.count() == 1


def test_the_admin_speaks_french(client, users):
    client.force_login(users.coordinator)
    page = client.get("/admin/", headers={"Accept-Language": "fr"}).content.decode()
    assert "Stagiaires" in page or "stagiaires" in page
    assert "Rapports du programme" in page
    assert 'id="language-form"' in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    page = client.get("/admin/", headers={"Accept-Language": "fr"}).content.decode()
    assert "Programme reports" in page


def test_a_cohort_of_nine_is_refused_in_the_cohort_form(client, users):
    client.force_login(users.coordinator)
    data = {
        "name": "Too big",
        "starts_on": "",
        "trainees-TOTAL_FORMS": "9",
        "trainees-INITIAL_FORMS": "0",
        "trainees-MIN_NUM_FORMS": "0",
        "trainees-MAX_NUM_FORMS": "1000",
    }
    for i in range(9):
        data[f"trainees-{i}-reference"] = f"R{i}"
        data[f"trainees-{i}-name"] = f"N{i}"
        data[f"trainees-{i}-has_home_wifi"] = "on"
    response = client.post("/admin/programme/cohort/add/", data)
    assert response.status_code == 200
    assert "A session is 8 trainees, not 9." in response.content.decode()
    assert not Cohort.objects.filter(name="Too big").exists()
    for i in range(8, 9):
        del data[f"trainees-{i}-reference"], data[f"trainees-{i}-name"]
    data["trainees-TOTAL_FORMS"] = "8"
    assert client.post("/admin/programme/cohort/add/", data).status_code == 302
    assert Cohort.objects.get(name="Too big").trainees.count() == 8


def test_the_admin_index_shows_what_is_ready_who_waits_and_what_lacks(
    client, users, allocation, api, key
):
    from inventory.server.programme.models import Accessory

    api.store(record(key))  # a second certified laptop, not yet allocated
    for i in range(3):
        Trainee.objects.create(
            reference=f"W{i}", name="x", cohort=Cohort.objects.get(), has_home_wifi=False
        )
    Accessory.objects.filter(kind="4g_key").update(quantity=1)
    client.force_login(users.coordinator)
    page = client.get("/admin/").content.decode()
    assert '<td class="ready">1</td>' in page
    assert '<td class="waiting">3</td>' in page
    assert "Shortage of 4G key" in page
    client.force_login(users.technician)
    assert "programme-summary" not in client.get("/admin/").content.decode()


def test_a_technician_registers_a_bench_in_the_admin_and_its_token_uploads(client, users):
    import re

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from inventory.server.samples import public_key_b64, signed

    key = Ed25519PrivateKey.generate()
    client.force_login(users.technician)
    response = client.post(
        "/admin/benches/bench/add/",
        {
            "name": "atelier-2",
            "organisation": "",
            "location": "",
            "active": "on",
            "public_key": public_key_b64(key),
        },
        follow=True,
    )
    token = re.search(r"copy it to the bench now\): ([\w-]+)", response.content.decode())
    assert token, response.content.decode()[:2000]
    upload = client.post(
        "/api/v1/records",
        data=signed(record(key), key),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token.group(1)}"},
    )
    assert upload.status_code == 201


def test_the_bench_form_refuses_a_key_that_is_not_ed25519(client, users):
    client.force_login(users.technician)
    response = client.post(
        "/admin/benches/bench/add/", {"name": "b", "public_key": "bm90IGEga2V5", "active": "on"}
    )
    assert response.status_code == 200
    assert "not an Ed25519 public key" in response.content.decode()
