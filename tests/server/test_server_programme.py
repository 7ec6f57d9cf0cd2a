"""Cohorts, stock, allocation of a laptop and its kit, returns, maintenance tickets."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F

from inventory.server.devices.models import Device
from inventory.server.programme import services
from inventory.server.programme.models import (
    Accessory,
    Allocation,
    Cohort,
    CohortFull,
    MaintenanceTicket,
    Trainee,
)
from inventory.server.samples import bench_kit, hardware, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def cohort() -> Cohort:
    return Cohort.objects.create(name="Session 2026-A", starts_on=dt.date(2026, 1, 5))


def trainee(cohort: Cohort, ref: str = "TR-001", *, wifi: bool = True) -> Trainee:
    return Trainee.objects.create(
        reference=ref, name=f"Trainee {ref}", cohort=cohort, has_home_wifi=wifi
    )


def certified_laptop(api, key, *, kit=None, serial: str | None = None) -> Device:
    body = api.store(record(key, hw=hardware(serial=serial), kit=kit))
    return Device.objects.get(asset_id=body["asset_id"])


def quantities() -> dict[str, int]:
    return dict(Accessory.objects.values_list("kind", "quantity"))


def test_a_cohort_holds_eight_trainees(cohort):
    for i in range(8):
        t = Trainee(reference=f"TR-{i}", name="x", cohort=cohort)
        t.full_clean()
        t.save()
    ninth = Trainee(reference="TR-9", name="x", cohort=cohort)
    with pytest.raises(ValidationError, match="a session is 8"):
        ninth.full_clean()


def test_the_model_refuses_a_ninth_trainee_even_without_a_form(cohort):
    for i in range(8):
        Trainee.objects.create(reference=f"TR-{i}", name="x", cohort=cohort)
    with pytest.raises(CohortFull, match="a session is 8"):
        Trainee.objects.create(reference="TR-9", name="x", cohort=cohort)
    other = Cohort.objects.create(name="Session 2026-B")
    moving = Trainee.objects.create(reference="TR-M", name="x", cohort=other)
    with pytest.raises(services.Refused, match="a session is 8"):
        services.enrol(moving, cohort)
    assert moving.cohort == other
    assert Trainee.objects.filter(cohort=cohort).count() == 8
    # a trainee of a full cohort can still be edited, or leave it
    staying = Trainee.objects.get(reference="TR-0")
    staying.name = "renamed"
    staying.save()
    services.enrol(staying, None)
    services.enrol(moving, cohort)
    assert Trainee.objects.filter(cohort=cohort).count() == 8


def enrol_at_once(cohort: Cohort, trainees: list[Trainee]) -> list[str]:
    """Enrol each trainee from its own thread (its own database connection), all released
    together by a barrier; returns "ok" or the refusal of each."""
    barrier = threading.Barrier(len(trainees))

    def one(person: Trainee) -> str:
        try:
            barrier.wait(timeout=30)
            services.enrol(person, cohort)
            return "ok"
        except services.Refused as exc:
            return str(exc)
        finally:
            connection.close()  # the thread's own connection: the test database is dropped after

    with ThreadPoolExecutor(max_workers=len(trainees)) as pool:
        return list(pool.map(one, trainees))


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3",
    reason="the in-memory SQLite test database (shared cache) fails a second writer "
    "instead of queueing it; test_server_postgres.py runs this race on PostgreSQL",
)
def test_concurrent_enrolments_cannot_make_a_ninth_trainee():
    cohort = Cohort.objects.create(name="Race")
    for i in range(6):
        Trainee.objects.create(reference=f"TR-{i}", name="x", cohort=cohort)
    racers = [Trainee.objects.create(reference=f"RACE-{i}", name="x") for i in range(10)]
    results = enrol_at_once(cohort, racers)
    assert sorted(results).count("ok") == 2, results
    assert all(r == "ok" or "a session is 8" in r for r in results), results
    assert Trainee.objects.filter(cohort=cohort).count() == 8


def test_allocation_takes_a_mouse_and_a_sleeve_from_stock(api, key, cohort, stock):
    laptop = certified_laptop(api, key)
    allocation = services.allocate(laptop, trainee(cohort, wifi=True))
    assert (allocation.mouse, allocation.sleeve, allocation.key_4g) == ("stock", "stock", "")
    assert quantities() == {"mouse": 4, "sleeve": 4, "4g_key": 2}
    laptop.refresh_from_db()
    assert laptop.status == "allocated"


def test_a_trainee_without_wifi_at_home_also_gets_a_4g_key(api, key, cohort, stock):
    allocation = services.allocate(certified_laptop(api, key), trainee(cohort, wifi=False))
    assert allocation.key_4g == "stock"
    assert quantities()["4g_key"] == 1


def test_the_kit_assembled_on_the_bench_is_not_taken_from_stock(api, key, cohort, stock):
    laptop = certified_laptop(api, key, kit=bench_kit(mouse=True, sleeve=True))
    allocation = services.allocate(laptop, trainee(cohort, wifi=False))
    assert (allocation.mouse, allocation.sleeve, allocation.key_4g) == ("bench", "bench", "stock")
    assert quantities() == {"mouse": 5, "sleeve": 5, "4g_key": 1}


@pytest.mark.parametrize(
    "kit, counted",
    [
        pytest.param(None, set(), id="no-kit"),
        pytest.param(bench_kit(mouse=True, sleeve=True), {"mouse", "sleeve"}, id="confirmed"),
        pytest.param(bench_kit(mouse=None, sleeve=True), {"sleeve"}, id="mouse-not-asked"),
        pytest.param(bench_kit(mouse=False, sleeve=True), {"sleeve"}, id="mouse-no-answer"),
        pytest.param(bench_kit(mouse=True, sleeve=False), {"mouse"}, id="sleeve-absent"),
        pytest.param(bench_kit(mouse=True, sleeve=None), {"mouse"}, id="sleeve-not-asked"),
        pytest.param(
            bench_kit(mouse=True, sleeve=True, modem="answered"),
            {"mouse", "sleeve", "4g_key"},
            id="modem-answered",
        ),
        pytest.param(
            bench_kit(mouse=True, sleeve=True, modem="unqueried"),
            {"mouse", "sleeve"},
            id="modem-seen-on-usb-only",
        ),
    ],
)
def test_only_checked_bench_kit_items_count(kit, counted):
    assert services.bench_kit_kinds(kit) == counted


def test_an_unconfirmed_bench_mouse_and_unqueried_4g_key_come_from_stock(api, key, cohort, stock):
    laptop = certified_laptop(api, key, kit=bench_kit(mouse=False, sleeve=True, modem="unqueried"))
    allocation = services.allocate(laptop, trainee(cohort, wifi=False))
    assert (allocation.mouse, allocation.sleeve, allocation.key_4g) == ("stock", "bench", "stock")
    assert quantities() == {"mouse": 4, "sleeve": 5, "4g_key": 1}


def test_a_shortage_refuses_the_allocation_and_changes_nothing(api, key, cohort, stock):
    Accessory.objects.filter(kind="4g_key").update(quantity=0)
    laptop = certified_laptop(api, key)
    with pytest.raises(services.Refused, match="Shortage: no 4G key in stock"):
        services.allocate(laptop, trainee(cohort, wifi=False))
    assert quantities() == {"mouse": 5, "sleeve": 5, "4g_key": 0}
    assert Allocation.objects.count() == 0
    laptop.refresh_from_db()
    assert laptop.status == "certified"


def test_shortages_count_the_kits_of_trainees_still_waiting(cohort, stock):
    Accessory.objects.filter(kind="4g_key").update(quantity=1)
    for i in range(3):
        trainee(cohort, f"TR-{i}", wifi=False)
    assert services.shortages()["4g_key"] == {"in_stock": 1, "needed": 3, "shortage": 2}
    assert services.shortages()["mouse"]["shortage"] == 0


def test_only_a_certified_laptop_can_be_allocated(api, key, cohort, stock):
    body = api.store(record(key, certified=False))
    laptop = Device.objects.get(asset_id=body["asset_id"])
    with pytest.raises(services.Refused, match="only a certified laptop"):
        services.allocate(laptop, trainee(cohort))


def test_a_trainee_gets_one_laptop_at_a_time(api, key, cohort, stock):
    person = trainee(cohort)
    services.allocate(certified_laptop(api, key), person)
    with pytest.raises(services.Refused, match="already has a laptop"):
        services.allocate(certified_laptop(api, key), person)


def test_a_returned_laptop_goes_back_to_the_bench_before_reallocation(api, key, cohort, stock):
    laptop = certified_laptop(api, key, serial="RET-1")
    first = services.allocate(laptop, trainee(cohort, "TR-1"))
    services.take_back(first, reason="trainee moved away")
    laptop.refresh_from_db()
    assert laptop.status == "returned"
    with pytest.raises(services.Refused, match="only a certified laptop"):
        services.allocate(laptop, trainee(cohort, "TR-2"))
    # re-certified on the bench (wiped again), then given to someone else
    api.store(record(key, hw=hardware(serial="RET-1")))
    laptop.refresh_from_db()
    second = services.allocate(laptop, Trainee.objects.get(reference="TR-2"))
    assert second.device == laptop
    statuses = list(laptop.events.values_list("to_status", flat=True))
    assert statuses[-4:] == ["allocated", "returned", "certified", "allocated"]


def test_a_kit_returned_in_working_order_goes_back_into_stock(api, key, cohort, stock):
    laptop = certified_laptop(api, key, kit=bench_kit(mouse=True, sleeve=False))
    given = services.allocate(laptop, trainee(cohort, wifi=False))
    assert (given.mouse, given.sleeve, given.key_4g) == ("bench", "stock", "stock")
    assert quantities() == {"mouse": 5, "sleeve": 4, "4g_key": 1}
    back = services.take_back(
        given,
        reason="end of training",
        kit={"mouse": "working", "sleeve": "working", "4g_key": "working"},
    )
    # the bench's mouse joins the stock too: it is a checked, working mouse now
    assert quantities() == {"mouse": 6, "sleeve": 5, "4g_key": 2}
    back.refresh_from_db()
    assert (back.mouse_returned, back.sleeve_returned, back.key_4g_returned) == (
        "working",
        "working",
        "working",
    )
    assert back.kit_return_note == ""


def test_a_lost_or_broken_accessory_is_not_restocked_and_the_reason_is_kept(
    api, key, cohort, stock
):
    given = services.allocate(certified_laptop(api, key), trainee(cohort, wifi=False))
    assert quantities() == {"mouse": 4, "sleeve": 4, "4g_key": 1}
    back = services.take_back(
        given, reason="moved away", kit={"mouse": "broken", "sleeve": "working", "4g_key": "lost"}
    )
    assert quantities() == {"mouse": 4, "sleeve": 5, "4g_key": 1}
    back.refresh_from_db()
    assert (back.mouse_returned, back.sleeve_returned, back.key_4g_returned) == (
        "broken",
        "working",
        "lost",
    )
    assert back.kit_return_note == "mouse: returned broken, 4G key: lost (not returned)"
    assert back.kit_returns() == [
        ("Mouse", "returned broken"),
        ("Sleeve", "returned in working order"),
        ("4G key", "lost (not returned)"),
    ]


def test_the_coordinators_own_words_are_kept_as_the_reason(api, key, cohort, stock):
    given = services.allocate(certified_laptop(api, key), trainee(cohort))
    back = services.take_back(
        given, reason="x", kit={"mouse": "lost"}, kit_note="left on the bus, line 12"
    )
    back.refresh_from_db()
    assert back.kit_return_note == "left on the bus, line 12"
    assert (back.mouse_returned, back.sleeve_returned) == ("lost", "")
    assert quantities() == {"mouse": 4, "sleeve": 4, "4g_key": 2}


@pytest.mark.parametrize(
    "kit, refusal",
    [
        pytest.param({"4g_key": "working"}, "No 4G key was handed over", id="not-handed-over"),
        pytest.param({"mouse": "stolen"}, "Unknown condition for the mouse", id="bad-condition"),
        pytest.param({"keyboard": "working"}, "Unknown accessory: keyboard", id="bad-kind"),
    ],
)
def test_a_wrong_kit_return_is_refused_and_changes_nothing(api, key, cohort, stock, kit, refusal):
    given = services.allocate(certified_laptop(api, key), trainee(cohort, wifi=True))
    with pytest.raises(services.Refused, match=refusal):
        services.take_back(given, reason="x", kit={"mouse": "working", **kit})
    given.refresh_from_db()
    assert given.returned_on is None and given.mouse_returned == ""
    assert quantities() == {"mouse": 4, "sleeve": 4, "4g_key": 2}


def test_a_returned_kit_refills_a_kind_with_no_stock_row(api, key, cohort):
    laptop = certified_laptop(api, key, kit=bench_kit(mouse=True, sleeve=True))
    given = services.allocate(laptop, trainee(cohort))  # nothing taken from stock
    services.take_back(given, reason="x", kit={"mouse": "working", "sleeve": "broken"})
    assert quantities() == {"mouse": 1}


def test_a_laptop_returned_twice_restocks_once(api, key, cohort, stock):
    given = services.allocate(certified_laptop(api, key), trainee(cohort))
    services.take_back(given, reason="x", kit={"mouse": "working"})
    with pytest.raises(services.Refused, match="already returned"):
        services.take_back(given, reason="x", kit={"mouse": "working"})
    assert quantities()["mouse"] == 5


def test_stock_never_goes_negative(api, key, cohort, stock):
    Accessory.objects.filter(kind="mouse").update(quantity=1)
    services.allocate(certified_laptop(api, key), trainee(cohort, "TR-1"))
    with pytest.raises(services.Refused, match="Shortage: no mouse"):
        services.allocate(certified_laptop(api, key), trainee(cohort, "TR-2"))
    assert quantities()["mouse"] == 0
    # and the database itself refuses a negative count, whoever writes it
    with pytest.raises(IntegrityError), transaction.atomic():
        Accessory.objects.filter(kind="mouse").update(quantity=F("quantity") - 1)
    assert quantities()["mouse"] == 0


@pytest.fixture
def allocation(api, key, cohort, stock) -> Allocation:
    laptop = certified_laptop(api, key, serial="TICKET-1")
    return services.allocate(laptop, trainee(cohort), on=dt.date(2024, 3, 1))


def test_a_ticket_opens_within_three_years_of_the_handover(allocation):
    ticket = services.open_ticket(allocation, problem="screen flickers", on=dt.date(2027, 2, 28))
    assert ticket.reference == f"T-{ticket.pk:06d}"
    allocation.device.refresh_from_db()
    assert allocation.device.status == "maintenance"
    services.close_ticket(ticket, resolution="cable reseated", on=dt.date(2027, 3, 2))
    allocation.device.refresh_from_db()
    assert allocation.device.status == "allocated"


def test_a_ticket_is_refused_after_three_years_with_the_reason(allocation):
    with pytest.raises(services.Refused) as refused:
        services.open_ticket(allocation, problem="battery", on=dt.date(2027, 3, 2))
    assert str(refused.value) == (
        "The maintenance ticket expired on 2027-03-01 (3 years after the handover of 2024-03-01)."
    )
    assert MaintenanceTicket.objects.count() == 0


def test_the_admin_form_refuses_an_expired_ticket_with_the_reason(allocation):
    ticket = MaintenanceTicket(allocation=allocation, problem="x", opened_on=dt.date(2028, 1, 1))
    with pytest.raises(ValidationError, match="expired on 2027-03-01"):
        ticket.full_clean()


def test_a_ticket_is_refused_once_the_laptop_was_returned(allocation):
    services.take_back(allocation, reason="end of training", on=dt.date(2025, 1, 1))
    with pytest.raises(services.Refused, match="was returned on 2025-01-01"):
        services.open_ticket(allocation, problem="x", on=dt.date(2025, 2, 1))


def test_a_maintenance_bench_run_attaches_to_its_ticket(api, key, allocation):
    ticket = services.open_ticket(allocation, problem="slow", on=dt.date(2025, 5, 1))
    body = api.store(
        record(
            key,
            kind="maintenance",
            hw=hardware(serial="TICKET-1"),
            maintenance_ticket=ticket.reference,
        )
    )
    assert body["asset_id"] == allocation.device.asset_id
    assert "warnings" not in body
    assert list(ticket.records.values_list("kind", flat=True)) == ["maintenance"]
    allocation.device.refresh_from_db()
    assert allocation.device.status == "maintenance"  # the run changes no status, no wipe


def test_a_maintenance_run_naming_an_unknown_ticket_is_kept_with_a_warning(api, key, allocation):
    body = api.store(
        record(
            key, kind="maintenance", hw=hardware(serial="TICKET-1"), maintenance_ticket="T-999999"
        )
    )
    assert body["warnings"] == [
        "maintenance ticket 'T-999999' does not exist: the run is kept unattached"
    ]
    assert allocation.device.records.filter(kind="maintenance").count() == 1


def test_a_refurbishment_run_on_an_allocated_laptop_keeps_its_status(api, key, allocation):
    body = api.store(record(key, hw=hardware(serial="TICKET-1")))
    assert "cannot become certified" in body["warnings"][0]
    allocation.device.refresh_from_db()
    assert allocation.device.status == "allocated"
