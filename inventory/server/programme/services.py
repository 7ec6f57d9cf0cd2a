"""What coordinators do, as functions the admin and the tests call: allocate a laptop
and its kit, take a laptop back, open and close maintenance tickets, see shortages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from inventory.server.devices.lifecycle import Status, status_label
from inventory.server.devices.models import Device
from inventory.server.programme.models import (
    Accessory,
    AccessoryKind,
    Allocation,
    Cohort,
    CohortFull,
    KitSource,
    MaintenanceTicket,
    ReturnCondition,
    TicketStatus,
    Trainee,
    refusal_to_open,
)


class Refused(Exception):
    """A coordinator's action that cannot be done; the message says why."""


# Allocation field for each accessory kind
KIT_FIELDS: dict[str, str] = {
    AccessoryKind.MOUSE: "mouse",
    AccessoryKind.SLEEVE: "sleeve",
    AccessoryKind.KEY_4G: "key_4g",
}


def enrol(trainee: Trainee, cohort: Cohort | None) -> Trainee:
    """Put a trainee in a cohort (None: out of any), refused when the cohort already has
    a session's worth of trainees; the count is made under the cohort's row lock (see
    Trainee.save), so concurrent enrolments cannot make a 9th."""
    before = trainee.cohort
    trainee.cohort = cohort
    try:
        trainee.save()
    except CohortFull as exc:
        trainee.cohort = before
        raise Refused(exc.messages[0]) from None
    return trainee


def needed_kit(trainee: Trainee) -> list[str]:
    """A kit is a mouse and a sleeve, and a 4G key when there is no Wi-Fi at home."""
    kinds = [AccessoryKind.MOUSE, AccessoryKind.SLEEVE]
    if not trainee.has_home_wifi:
        kinds.append(AccessoryKind.KEY_4G)
    return kinds


def bench_kit_kinds(kit: Mapping[str, Any] | None) -> set[str]:
    """Accessories the bench assembled *and checked* with the laptop, from the record's
    ``kit`` as ``checks.kit.Kit.to_dict()`` writes it.

    A key being there is not enough: the bench records a mouse it saw on USB before the
    technician tried it (``confirmed`` None, or False when it did not answer), a 4G key
    that ModemManager never queried, and ``sleeve`` False when the technician said there
    was none. Only a mouse the technician confirmed, a 4G key that answered with its
    IMEI and a sleeve confirmed present count; the rest is taken from stock.
    """
    if not isinstance(kit, Mapping):
        return set()
    kinds: set[str] = set()
    mouse = kit.get("mouse")
    if isinstance(mouse, Mapping) and mouse.get("confirmed") is True:
        kinds.add(AccessoryKind.MOUSE)
    modem = kit.get("modem")
    if isinstance(modem, Mapping) and isinstance(modem.get("imei"), str) and modem["imei"]:
        kinds.add(AccessoryKind.KEY_4G)
    if kit.get("sleeve") is True:
        kinds.add(AccessoryKind.SLEEVE)
    return kinds


def allocate(
    device: Device,
    trainee: Trainee,
    *,
    user: Any = None,
    on: dt.date | None = None,
    use_bench_kit: bool = True,
) -> Allocation:
    """Give a certified laptop and its kit to a trainee; take from stock what the bench
    did not put in the kit. Nothing changes when something is missing (Refused)."""
    on = on or timezone.localdate()
    with transaction.atomic():
        device = Device.objects.select_for_update().get(pk=device.pk)
        if device.status != Status.CERTIFIED:
            raise Refused(
                _("Laptop %(asset)s is %(status)s: only a certified laptop can be allocated.")
                % {"asset": device.asset_id, "status": status_label(device.status)}
            )
        if Allocation.objects.filter(trainee=trainee, returned_on__isnull=True).exists():
            raise Refused(_("%(trainee)s already has a laptop.") % {"trainee": trainee})
        from_bench = bench_kit_kinds(device.bench_kit) if use_bench_kit else set()
        needed = needed_kit(trainee)
        from_stock = [k for k in needed if k not in from_bench]
        stock = {
            a.kind: a for a in Accessory.objects.select_for_update().filter(kind__in=from_stock)
        }
        missing = [k for k in from_stock if k not in stock or stock[k].quantity < 1]
        if missing:
            raise Refused(
                _("Shortage: no %(items)s in stock for this kit.")
                % {"items": ", ".join(AccessoryKind.label(k) for k in missing)}
            )
        for kind in from_stock:
            Accessory.objects.filter(pk=stock[kind].pk).update(quantity=F("quantity") - 1)
        allocation = Allocation(device=device, trainee=trainee, handed_over_on=on, created_by=user)
        for kind in needed:
            source = KitSource.BENCH if kind in from_bench else KitSource.STOCK
            setattr(allocation, KIT_FIELDS[kind], source)
        allocation.save()
        device.move_to(Status.ALLOCATED, reason=f"allocated to {trainee.reference}", user=user)
    return allocation


def take_back(
    allocation: Allocation,
    *,
    reason: str,
    kit: Mapping[str, str] | None = None,
    kit_note: str = "",
    user: Any = None,
    on: dt.date | None = None,
) -> Allocation:
    """The trainee returns the laptop: it goes back to the bench before any new allocation
    (its open tickets are closed).

    ``kit`` says how each accessory handed over came back, by kind (``"mouse"``,
    ``"sleeve"``, ``"4g_key"``) → ``ReturnCondition``: an item returned in working order
    goes back into stock, whether it came from stock or from the bench; a broken or lost
    one does not, and the condition (with ``kit_note``) is kept as the reason. An item
    not named is recorded as not recorded, and stock is left alone. Naming an item that
    was not handed over, or an unknown condition, is refused and nothing changes.
    """
    on = on or timezone.localdate()
    kit = dict(kit or {})
    with transaction.atomic():
        allocation = Allocation.objects.select_for_update().get(pk=allocation.pk)
        if allocation.returned_on is not None:
            raise Refused(_("This laptop was already returned."))
        for kind, condition in kit.items():
            if kind not in KIT_FIELDS:
                raise Refused(_("Unknown accessory: %(kind)s.") % {"kind": kind})
            if condition not in dict(ReturnCondition.choices):
                raise Refused(
                    _("Unknown condition for the %(item)s: %(condition)s.")
                    % {"item": AccessoryKind.label(kind), "condition": condition}
                )
            if condition and not getattr(allocation, KIT_FIELDS[kind]):
                raise Refused(
                    _("No %(item)s was handed over with this laptop: it cannot come back.")
                    % {"item": AccessoryKind.label(kind)}
                )
        if kit_note == "" and any(
            c in (ReturnCondition.BROKEN, ReturnCondition.LOST) for c in kit.values()
        ):
            # the condition is the reason the stock was not refilled; say so in words too
            kit_note = ", ".join(
                f"{AccessoryKind.label(k)}: {ReturnCondition.label(c)}"
                for k, c in kit.items()
                if c in (ReturnCondition.BROKEN, ReturnCondition.LOST)
            )
        back_in_stock = [k for k, c in kit.items() if c == ReturnCondition.WORKING]
        for kind in back_in_stock:
            # the row may not exist yet (stock never kept for this kind): create it at 0
            # first, then add under the row lock like allocate() subtracts
            Accessory.objects.get_or_create(kind=kind, defaults={"quantity": 0})
            Accessory.objects.select_for_update().filter(kind=kind).update(
                quantity=F("quantity") + 1
            )
        allocation.returned_on = on
        allocation.return_reason = reason
        for kind, condition in kit.items():
            setattr(allocation, f"{KIT_FIELDS[kind]}_returned", condition)
        allocation.kit_return_note = kit_note[:200]
        allocation.save(
            update_fields=[
                "returned_on",
                "return_reason",
                "mouse_returned",
                "sleeve_returned",
                "key_4g_returned",
                "kit_return_note",
            ]
        )
        allocation.tickets.filter(status=TicketStatus.OPEN).update(
            status=TicketStatus.CLOSED, closed_on=on, resolution=_("laptop returned")
        )
        device = Device.objects.select_for_update().get(pk=allocation.device_id)
        device.move_to(Status.RETURNED, reason=f"returned: {reason}"[:200], user=user)
    return allocation


def open_ticket(
    allocation: Allocation, *, problem: str, user: Any = None, on: dt.date | None = None
) -> MaintenanceTicket:
    on = on or timezone.localdate()
    with transaction.atomic():
        # the allocation as it is now (it may have been returned since it was loaded)
        allocation = Allocation.objects.select_for_update().get(pk=allocation.pk)
        refusal = refusal_to_open(allocation, on)
        if refusal:
            raise Refused(refusal)
        ticket = MaintenanceTicket.objects.create(
            allocation=allocation, problem=problem, opened_on=on
        )
        device = Device.objects.select_for_update().get(pk=allocation.device_id)
        if device.status == Status.ALLOCATED:
            device.move_to(Status.MAINTENANCE, reason=f"ticket {ticket.reference}", user=user)
    return ticket


def close_ticket(
    ticket: MaintenanceTicket, *, resolution: str, user: Any = None, on: dt.date | None = None
) -> MaintenanceTicket:
    on = on or timezone.localdate()
    with transaction.atomic():
        ticket.status = TicketStatus.CLOSED
        ticket.closed_on = on
        ticket.resolution = resolution
        ticket.save(update_fields=["status", "closed_on", "resolution"])
        device = Device.objects.select_for_update().get(pk=ticket.allocation.device_id)
        still_open = MaintenanceTicket.objects.filter(
            allocation__device=device, status=TicketStatus.OPEN
        ).exists()
        if device.status == Status.MAINTENANCE and not still_open:
            device.move_to(Status.ALLOCATED, reason=f"ticket {ticket.reference} closed", user=user)
    return ticket


def shortages() -> dict[str, dict[str, int]]:
    """Per accessory: in stock, needed by trainees of a cohort still waiting for a laptop,
    and the shortage (needed - in stock, at least 0)."""
    waiting = Trainee.objects.filter(cohort__isnull=False).exclude(
        pk__in=Allocation.objects.filter(returned_on__isnull=True).values("trainee_id")
    )
    needed = {kind: 0 for kind, _label in AccessoryKind.choices}
    for trainee in waiting:
        for kind in needed_kit(trainee):
            needed[kind] += 1
    stock = {a.kind: a.quantity for a in Accessory.objects.all()}
    return {
        kind: {
            "in_stock": stock.get(kind, 0),
            "needed": count,
            "shortage": max(0, count - stock.get(kind, 0)),
        }
        for kind, count in needed.items()
    }
