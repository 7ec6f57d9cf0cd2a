"""The programme's figures: laptops received, certified, allocated and recycled, per
period, per donor and per cohort, and the CO2e their reuse avoided.

Computed in Python over one query per kind of event: a programme handles thousands of
laptops, not millions, and this stays the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from inventory.server.devices.lifecycle import Status
from inventory.server.devices.models import Device, DeviceEvent
from inventory.server.programme.models import Allocation

MEASURES = ("received", "certified", "allocated", "recycled")
PERIODS = ("month", "quarter", "year")
NO_DONOR = "-"
NO_COHORT = "-"


def period_of(day: dt.date, period: str) -> str:
    if period == "year":
        return f"{day.year}"
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year}-{day.month:02d}"


@dataclass
class Row:
    key: str
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def co2e_kg(self) -> float:
        # a laptop avoids a new one's manufacture when it reaches a trainee
        return round(self.counts["allocated"] * settings.WEEE_CO2E_FACTOR_KG, 1)


@dataclass
class Report:
    start: dt.date | None
    end: dt.date | None
    period: str
    by_period: list[Row]
    by_donor: list[Row]
    by_cohort: list[Row]
    total: Row
    factor_kg: float
    factor_source: str


def _local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def build_report(
    *, start: dt.date | None = None, end: dt.date | None = None, period: str = "month"
) -> Report:
    """Counts of events whose day is within [start, end] (either bound optional)."""
    events: list[tuple[str, dt.date, str, str]] = []  # measure, day, donor, cohort

    donors = {
        pk: name or NO_DONOR for pk, name in Device.objects.values_list("pk", "batch__donor__name")
    }
    for pk, created in Device.objects.values_list("pk", "created_at"):
        events.append(("received", _local_day(created), donors[pk], NO_COHORT))
    first_certified = (
        Device.objects.filter(records__certified=True)
        .annotate(first=Min("records__created_at"))
        .values_list("pk", "first")
    )
    for pk, first in first_certified:
        events.append(("certified", _local_day(first), donors[pk], NO_COHORT))
    for device_pk, day, cohort in Allocation.objects.values_list(
        "device_id", "handed_over_on", "trainee__cohort__name"
    ):
        events.append(("allocated", day, donors[device_pk], cohort or NO_COHORT))
    for device_pk, at in DeviceEvent.objects.filter(to_status=Status.RECYCLED).values_list(
        "device_id", "at"
    ):
        events.append(("recycled", _local_day(at), donors[device_pk], NO_COHORT))

    periods: dict[str, Row] = {}
    by_donor: dict[str, Row] = {}
    by_cohort: dict[str, Row] = {}
    total = Row("total")
    for measure, day, donor, cohort in events:
        if (start and day < start) or (end and day > end):
            continue
        periods.setdefault(period_of(day, period), Row(period_of(day, period))).counts[measure] += 1
        by_donor.setdefault(donor, Row(donor)).counts[measure] += 1
        if measure == "allocated":
            by_cohort.setdefault(cohort, Row(cohort)).counts[measure] += 1
        total.counts[measure] += 1
    return Report(
        start=start,
        end=end,
        period=period,
        by_period=[periods[k] for k in sorted(periods)],
        by_donor=[by_donor[k] for k in sorted(by_donor)],
        by_cohort=[by_cohort[k] for k in sorted(by_cohort)],
        total=total,
        factor_kg=settings.WEEE_CO2E_FACTOR_KG,
        factor_source=settings.WEEE_CO2E_FACTOR_SOURCE,
    )
