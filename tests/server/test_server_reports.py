"""Laptops received, certified, allocated and recycled per period, donor and cohort;
CO2e avoided with a configurable factor whose source is printed; CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from inventory.server.devices.models import Device
from inventory.server.programme import services
from inventory.server.programme.models import Cohort, Trainee
from inventory.server.reports.figures import build_report, period_of
from inventory.server.samples import hardware, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def programme(api, key, stock):
    """Lyon gave 3 laptops (2 certified, 1 recycled), Acme 1 (certified); two of the
    certified ones went to trainees of two cohorts, in March and April 2026."""
    lyon = {"name": "Ville de Lyon", "batch": "L1"}
    acme = {"name": "Acme SA", "batch": "A1"}
    laptops = [
        api.store(record(key, donor=lyon, hw=hardware(serial="L-1"))),
        api.store(record(key, donor=lyon, hw=hardware(serial="L-2"))),
        api.store(record(key, donor=lyon, hw=hardware(serial="L-3"), certified=False)),
        api.store(record(key, donor=acme, hw=hardware(serial="A-1"))),
    ]
    api.store(
        record(key, kind="recycling", certified=False, erased=True, hw=hardware(serial="L-3"))
    )
    spring = Cohort.objects.create(name="Spring")
    summer = Cohort.objects.create(name="Summer")
    for asset, cohort, day in (
        (laptops[0]["asset_id"], spring, dt.date(2026, 3, 10)),
        (laptops[3]["asset_id"], summer, dt.date(2026, 4, 20)),
    ):
        trainee = Trainee.objects.create(reference=f"T-{asset}", name="x", cohort=cohort)
        services.allocate(Device.objects.get(asset_id=asset), trainee, on=day)


def test_it_counts_per_donor_and_per_cohort(programme, settings):
    settings.WEEE_CO2E_FACTOR_KG = 124.0
    report = build_report()
    donors = {row.key: dict(row.counts) for row in report.by_donor}
    assert donors == {
        "Acme SA": {"received": 1, "certified": 1, "allocated": 1},
        "Ville de Lyon": {"received": 3, "certified": 2, "allocated": 1, "recycled": 1},
    }
    cohorts = {row.key: (row.counts["allocated"], row.co2e_kg) for row in report.by_cohort}
    assert cohorts == {"Spring": (1, 124.0), "Summer": (1, 124.0)}
    assert report.total.co2e_kg == 248.0


def test_it_counts_per_period_and_filters_by_date(programme):
    report = build_report(start=dt.date(2026, 4, 1), end=dt.date(2026, 4, 30), period="month")
    allocated = {row.key: row.counts["allocated"] for row in report.by_period}
    assert allocated == {"2026-04": 1}
    assert report.total.counts["allocated"] == 1


@pytest.mark.parametrize(
    "day, period, key",
    [
        (dt.date(2026, 3, 31), "month", "2026-03"),
        (dt.date(2026, 3, 31), "quarter", "2026-Q1"),
        (dt.date(2026, 4, 1), "quarter", "2026-Q2"),
        (dt.date(2026, 12, 31), "year", "2026"),
    ],
)
def test_periods(day, period, key):
    assert period_of(day, period) == key


def test_the_factor_is_a_setting_and_its_source_is_printed(client, users, programme, settings):
    settings.WEEE_CO2E_FACTOR_KG = 169.0
    settings.WEEE_CO2E_FACTOR_SOURCE = "earlier action: 24.505 t for 145 laptops"
    client.force_login(users.coordinator)
    page = client.get("/admin/reports/").content.decode()
    assert "338.0" in page
    assert "169.0 kg per laptop reused by a trainee" in page
    assert "earlier action: 24.505 t for 145 laptops" in page


def test_the_default_factor_names_ademe(client, users, programme):
    client.force_login(users.coordinator)
    page = client.get("/admin/reports/", headers={"Accept-Language": "fr"}).content.decode()
    assert "ADEME" in page
    assert "124,0 kg par portable réemployé" in page  # French decimal comma


def test_the_csv_export_has_every_section_and_the_source(client, users, programme):
    client.force_login(users.coordinator)
    response = client.get("/admin/reports/?period=year&format=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "section",
        "key",
        "received",
        "certified",
        "allocated",
        "recycled",
        "co2e_avoided_kg",
    ]
    assert ["donor", "Ville de Lyon", "3", "2", "1", "1", "124.0"] in rows
    assert ["cohort", "Spring", "0", "0", "1", "0", "124.0"] in rows
    assert rows[-1][0] == "co2e_factor_source" and "ADEME" in rows[-1][1]


def test_the_admin_index_links_the_report_for_coordinators_only(client, users):
    client.force_login(users.coordinator)
    assert b"/admin/reports/" in client.get("/admin/").content
    client.force_login(users.technician)
    assert b"/admin/reports/" not in client.get("/admin/").content
