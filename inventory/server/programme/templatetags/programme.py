"""The coordinator's summary on the admin index: what is ready, who waits, what lacks."""

from __future__ import annotations

from typing import Any

from django import template

from inventory.server.devices.lifecycle import Status
from inventory.server.devices.models import Device
from inventory.server.programme.models import (
    AccessoryKind,
    Allocation,
    MaintenanceTicket,
    TicketStatus,
    Trainee,
)
from inventory.server.programme.services import shortages

register = template.Library()


@register.inclusion_tag("programme/summary.html")
def programme_summary() -> dict[str, Any]:
    waiting = (
        Trainee.objects.filter(cohort__isnull=False)
        .exclude(pk__in=Allocation.objects.filter(returned_on__isnull=True).values("trainee_id"))
        .count()
    )
    lacking = [
        (AccessoryKind.label(kind), figures["shortage"])
        for kind, figures in shortages().items()
        if figures["shortage"]
    ]
    return {
        "ready": Device.objects.filter(status=Status.CERTIFIED).count(),
        "ready_status": Status.CERTIFIED,
        "in_maintenance": Device.objects.filter(status=Status.MAINTENANCE).count(),
        "open_tickets": MaintenanceTicket.objects.filter(status=TicketStatus.OPEN).count(),
        "waiting": waiting,
        "lacking": lacking,
    }
