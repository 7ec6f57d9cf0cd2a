"""The report page (inside the admin) and its CSV export."""

from __future__ import annotations

import csv
import datetime as dt

from django.contrib import admin
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from inventory.server.reports.figures import MEASURES, PERIODS, Report, build_report

PERIOD_LABELS = {"month": _lazy("month"), "quarter": _lazy("quarter"), "year": _lazy("year")}


def _day(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@permission_required("programme.view_reports", raise_exception=True)
def report(request: HttpRequest) -> HttpResponse:
    period = request.GET.get("period", "month")
    if period not in PERIODS:
        period = "month"
    figures = build_report(
        start=_day(request.GET.get("start")), end=_day(request.GET.get("end")), period=period
    )
    if request.GET.get("format") == "csv":
        return _csv(figures)
    context = {
        **admin.site.each_context(request),
        "title": _("Programme report"),
        "report": figures,
        "total_rows": [figures.total],
        "measures": MEASURES,
        "periods": [(p, PERIOD_LABELS[p]) for p in PERIODS],
        "query": request.GET.urlencode(),
        "start": request.GET.get("start", ""),
        "end": request.GET.get("end", ""),
    }
    return TemplateResponse(request, "reports/report.html", context)


def _csv(figures: Report) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="weee-report.csv"'
    writer = csv.writer(response)
    writer.writerow(["section", "key", *MEASURES, "co2e_avoided_kg"])
    sections = [
        (f"period:{figures.period}", figures.by_period),
        ("donor", figures.by_donor),
        ("cohort", figures.by_cohort),
        ("total", [figures.total]),
    ]
    for section, rows in sections:
        for row in rows:
            writer.writerow([section, row.key, *(row.counts[m] for m in MEASURES), row.co2e_kg])
    writer.writerow([])
    writer.writerow(["co2e_factor_kg_per_reused_laptop", figures.factor_kg])
    writer.writerow(["co2e_factor_source", figures.factor_source])
    return response
