"""Donors and their batches, trainees and cohorts, accessory stock, allocations of a
certified laptop and its kit, and maintenance tickets."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from inventory.server.choices import Choices


class Donor(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    contact = models.CharField(_("contact"), max_length=200, blank=True)
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("logins"),
        blank=True,
        related_name="donors",
        help_text=_("People of this donor who may download its erasure certificates."),
    )

    class Meta:
        verbose_name = _("donor")
        verbose_name_plural = _("donors")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Batch(models.Model):
    donor = models.ForeignKey(
        Donor, verbose_name=_("donor"), related_name="batches", on_delete=models.PROTECT
    )
    reference = models.CharField(_("reference"), max_length=100)
    collected_on = models.DateField(_("collected on"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("collection batch")
        verbose_name_plural = _("collection batches")
        ordering = ["-collected_on", "reference"]
        constraints = [
            models.UniqueConstraint(fields=["donor", "reference"], name="batch_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.donor} / {self.reference}"


class Cohort(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)

    class Meta:
        verbose_name = _("cohort")
        verbose_name_plural = _("cohorts")
        ordering = ["-starts_on", "name"]

    def __str__(self) -> str:
        return self.name


class Trainee(models.Model):
    """The least personal data the programme needs: no address, no birth date."""

    reference = models.CharField(_("reference"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    cohort = models.ForeignKey(
        Cohort,
        verbose_name=_("cohort"),
        null=True,
        blank=True,
        related_name="trainees",
        on_delete=models.PROTECT,
    )
    has_home_wifi = models.BooleanField(
        _("has Wi-Fi at home"),
        default=True,
        help_text=_("A trainee without Wi-Fi at home receives a 4G key."),
    )

    class Meta:
        verbose_name = _("trainee")
        verbose_name_plural = _("trainees")
        ordering = ["reference"]

    def __str__(self) -> str:
        return f"{self.reference} {self.name}"

    def clean(self) -> None:
        refusal = cohort_full_refusal(self)
        if refusal:
            raise ValidationError({"cohort": refusal})

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, refusing (CohortFull) to make a cohort larger than a session.

        The count is taken with the cohort's row locked (SELECT ... FOR UPDATE, inside
        this transaction), so two coordinators enrolling the 8th and a 9th trainee at the
        same moment are serialised: the second one counts 8 and is refused. clean() gives
        the same message to forms earlier; this is the guarantee. (QuerySet.update() and
        bulk_create() bypass save(), as everywhere in Django: nothing here uses them on
        trainees.)"""
        with transaction.atomic():
            if self.cohort_id is not None:
                Cohort.objects.select_for_update().filter(pk=self.cohort_id).first()
                refusal = cohort_full_refusal(self)
                if refusal:
                    raise CohortFull(refusal)
            super().save(*args, **kwargs)


class CohortFull(ValidationError):
    """Enrolling this trainee would make the cohort larger than a session."""


def cohort_full_refusal(trainee: Trainee) -> str | None:
    """Why the trainee cannot join its cohort (full), or None. A trainee already saved
    in that cohort is not counted twice, and is never refused for staying where it is."""
    if trainee.cohort_id is None:
        return None
    if (
        trainee.pk is not None
        and Trainee.objects.filter(pk=trainee.pk, cohort_id=trainee.cohort_id).exists()
    ):
        return None
    size = settings.WEEE_COHORT_SIZE
    if Trainee.objects.filter(cohort_id=trainee.cohort_id).count() >= size:
        return str(_("This cohort already has %(n)d trainees: a session is %(n)d.") % {"n": size})
    return None


class AccessoryKind(Choices):
    MOUSE = "mouse"
    SLEEVE = "sleeve"
    KEY_4G = "4g_key"

    choices = [
        (MOUSE, _("mouse")),
        (SLEEVE, _("sleeve")),
        (KEY_4G, _("4G key")),
    ]


class Accessory(models.Model):
    kind = models.CharField(_("kind"), max_length=20, choices=AccessoryKind.choices, unique=True)
    quantity = models.PositiveIntegerField(_("in stock"), default=0)

    class Meta:
        verbose_name = _("accessory stock")
        verbose_name_plural = _("accessory stock")
        ordering = ["kind"]

    def __str__(self) -> str:
        return f"{AccessoryKind.label(self.kind)}: {self.quantity}"


class KitSource(Choices):
    NONE = ""
    BENCH = "bench"
    STOCK = "stock"

    choices = [
        (NONE, _("not given")),
        (BENCH, _("assembled on the bench")),
        (STOCK, _("from stock")),
    ]


class ReturnCondition(Choices):
    """What came back of a kit item when the laptop was returned. Only WORKING goes back
    into stock; the others are the reason it does not."""

    NONE = ""
    WORKING = "working"
    BROKEN = "broken"
    LOST = "lost"

    choices = [
        (NONE, _("not recorded")),
        (WORKING, _("returned in working order")),
        (BROKEN, _("returned broken")),
        (LOST, _("lost (not returned)")),
    ]


class Allocation(models.Model):
    device = models.ForeignKey(
        "devices.Device",
        verbose_name=_("laptop"),
        related_name="allocations",
        on_delete=models.PROTECT,
    )
    trainee = models.ForeignKey(
        Trainee, verbose_name=_("trainee"), related_name="allocations", on_delete=models.PROTECT
    )
    handed_over_on = models.DateField(_("handed over on"), default=timezone.localdate)
    mouse = models.CharField(_("mouse"), max_length=10, choices=KitSource.choices, blank=True)
    sleeve = models.CharField(_("sleeve"), max_length=10, choices=KitSource.choices, blank=True)
    key_4g = models.CharField(_("4G key"), max_length=10, choices=KitSource.choices, blank=True)
    returned_on = models.DateField(_("returned on"), null=True, blank=True)
    return_reason = models.CharField(_("return reason"), max_length=200, blank=True)
    # the kit as it came back: set once, by services.take_back, with the stock it refilled
    mouse_returned = models.CharField(
        _("mouse returned"), max_length=10, choices=ReturnCondition.choices, blank=True
    )
    sleeve_returned = models.CharField(
        _("sleeve returned"), max_length=10, choices=ReturnCondition.choices, blank=True
    )
    key_4g_returned = models.CharField(
        _("4G key returned"), max_length=10, choices=ReturnCondition.choices, blank=True
    )
    kit_return_note = models.CharField(
        _("kit return note"),
        max_length=200,
        blank=True,
        help_text=_("What happened to an accessory that was lost or came back broken."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        editable=False,
    )

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        ordering = ["-handed_over_on", "-pk"]
        permissions = [("view_reports", _("Can view the programme reports"))]
        constraints = [
            # at most one current allocation per laptop and per trainee, even when two
            # coordinators click at the same time
            models.UniqueConstraint(
                fields=["device"],
                condition=models.Q(returned_on__isnull=True),
                name="one_current_allocation_per_device",
            ),
            models.UniqueConstraint(
                fields=["trainee"],
                condition=models.Q(returned_on__isnull=True),
                name="one_current_allocation_per_trainee",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device} → {self.trainee}"

    @property
    def ticket_valid_until(self) -> dt.date:
        return add_years(self.handed_over_on, settings.WEEE_TICKET_VALIDITY_YEARS)

    def _handed_over(self) -> list[tuple[str, str]]:
        """(field, item label) of each kit item handed over."""
        return [
            (field, capfirst(str(self._meta.get_field(field).verbose_name)))
            for field in ("mouse", "sleeve", "key_4g")
            if getattr(self, field)
        ]

    def kit_items(self) -> list[tuple[str, str]]:
        """(item label, source label) for each item handed over."""
        return [(label, KitSource.label(getattr(self, f))) for f, label in self._handed_over()]

    def kit_returns(self) -> list[tuple[str, str]]:
        """(item label, condition label) for each item handed over, once returned."""
        return [
            (label, ReturnCondition.label(getattr(self, f"{f}_returned")))
            for f, label in self._handed_over()
        ]


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class TicketStatus(Choices):
    OPEN = "open"
    CLOSED = "closed"

    choices = [
        (OPEN, _("open")),
        (CLOSED, _("closed")),
    ]


class MaintenanceTicket(models.Model):
    reference = models.CharField(
        _("reference"), max_length=20, unique=True, null=True, blank=True, editable=False
    )
    allocation = models.ForeignKey(
        Allocation,
        verbose_name=_("allocation"),
        related_name="tickets",
        on_delete=models.PROTECT,
    )
    opened_on = models.DateField(_("opened on"), default=timezone.localdate)
    problem = models.TextField(_("problem"))
    status = models.CharField(
        _("status"), max_length=10, choices=TicketStatus.choices, default=TicketStatus.OPEN
    )
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)

    class Meta:
        verbose_name = _("maintenance ticket")
        verbose_name_plural = _("maintenance tickets")
        ordering = ["-opened_on", "-pk"]

    def __str__(self) -> str:
        return self.reference or _("new ticket")

    def clean(self) -> None:
        if self.pk is None and self.allocation_id is not None:
            refusal = refusal_to_open(self.allocation, self.opened_on)
            if refusal:
                raise ValidationError(refusal)

    def save(self, *args: object, **kwargs: object) -> None:
        creating = self.pk is None
        with transaction.atomic():
            super().save(*args, **kwargs)
            if creating and not self.reference:
                self.reference = f"T-{self.pk:06d}"
                type(self).objects.filter(pk=self.pk).update(reference=self.reference)


def refusal_to_open(allocation: Allocation, on: dt.date) -> str | None:
    """Why a ticket cannot be opened for this allocation on that day, or None."""
    if allocation.returned_on is not None:
        return str(
            _("The laptop was returned on %(day)s: this allocation has no maintenance any more.")
            % {"day": allocation.returned_on.isoformat()}
        )
    if on < allocation.handed_over_on:
        return str(_("A ticket cannot be opened before the handover."))
    until = allocation.ticket_valid_until
    if on > until:
        return str(
            _(
                "The maintenance ticket expired on %(until)s (%(years)d years after the "
                "handover of %(handover)s)."
            )
            % {
                "until": until.isoformat(),
                "years": settings.WEEE_TICKET_VALIDITY_YEARS,
                "handover": allocation.handed_over_on.isoformat(),
            }
        )
    return None
