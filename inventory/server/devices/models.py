"""Laptops, the identifiers that recognise them, their bench records and history."""

from __future__ import annotations

from django.conf import settings
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from inventory.server.choices import Choices
from inventory.server.devices.lifecycle import Status, check_transition


class Device(models.Model):
    asset_id = models.CharField(
        _("asset id"), max_length=20, unique=True, null=True, blank=True, editable=False
    )
    device_id = models.CharField(_("device id"), max_length=128, blank=True, db_index=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.RECEIVED
    )
    manufacturer = models.CharField(_("manufacturer"), max_length=200, blank=True)
    model = models.CharField(_("model"), max_length=200, blank=True)
    serial = models.CharField(_("serial number"), max_length=200, blank=True)
    board_serial = models.CharField(_("board serial"), max_length=200, blank=True)
    grade = models.CharField(_("grade"), max_length=10, blank=True)
    batch = models.ForeignKey(
        "programme.Batch",
        verbose_name=_("collection batch"),
        null=True,
        blank=True,
        related_name="devices",
        on_delete=models.PROTECT,
    )
    bench_kit = models.JSONField(
        _("kit assembled on the bench"), null=True, blank=True, editable=False
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("laptop")
        verbose_name_plural = _("laptops")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        label = " ".join(p for p in (self.manufacturer, self.model) if p) or _("laptop")
        return f"{self.asset_id or '?'} {label}"

    def save(self, *args: object, **kwargs: object) -> None:
        creating = self.pk is None
        with transaction.atomic():
            super().save(*args, **kwargs)
            if creating and not self.asset_id:
                # human-readable and stable: derived from the primary key, so two
                # concurrent uploads can never be handed the same asset id
                self.asset_id = f"{settings.WEEE_ASSET_PREFIX}-{self.pk:06d}"
                type(self).objects.filter(pk=self.pk).update(asset_id=self.asset_id)
                DeviceEvent.objects.create(
                    device=self, from_status="", to_status=self.status, reason="created"
                )

    def move_to(
        self,
        status: str,
        *,
        reason: str,
        record: Record | None = None,
        user: object | None = None,
    ) -> None:
        """Change the status (raising TransitionRefused) and keep the move in history."""
        check_transition(self.status, status)
        if status == self.status:
            return
        DeviceEvent.objects.create(
            device=self,
            from_status=self.status,
            to_status=status,
            reason=reason,
            record=record,
            user=user if getattr(user, "pk", None) else None,
        )
        self.status = status
        self.save(update_fields=["status", "updated_at"])


class IdentifierKind(Choices):
    DEVICE_ID = "device_id"
    SERIAL = "serial"
    UUID = "uuid"
    BOARD_SERIAL = "board_serial"
    MAC = "mac"
    DRIVE_SERIAL = "drive_serial"

    choices = [
        (DEVICE_ID, _("device id")),
        (SERIAL, _("serial number")),
        (UUID, _("system UUID")),
        (BOARD_SERIAL, _("board serial")),
        (MAC, _("MAC address")),
        (DRIVE_SERIAL, _("drive serial")),
    ]


class DeviceIdentifier(models.Model):
    """One fact that recognises a laptop when it comes back (unique across laptops)."""

    device = models.ForeignKey(Device, related_name="identifiers", on_delete=models.CASCADE)
    kind = models.CharField(_("kind"), max_length=20, choices=IdentifierKind.choices)
    value = models.CharField(_("value"), max_length=255)
    first_seen = models.DateTimeField(_("first seen"), auto_now_add=True)

    class Meta:
        verbose_name = _("identifier")
        verbose_name_plural = _("identifiers")
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="identifier_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}={self.value}"


class RecordKind(Choices):
    REFURBISHMENT = "refurbishment"
    MAINTENANCE = "maintenance"
    RECYCLING = "recycling"

    choices = [
        (REFURBISHMENT, _("refurbishment")),
        (MAINTENANCE, _("maintenance")),
        (RECYCLING, _("recycling")),
    ]


class Record(models.Model):
    """One bench run: the signed file as uploaded, plus the fields we query on."""

    record_id = models.UUIDField(_("record id"), unique=True)
    device = models.ForeignKey(
        Device, verbose_name=_("laptop"), related_name="records", on_delete=models.PROTECT
    )
    bench = models.ForeignKey(
        "benches.Bench", verbose_name=_("bench"), related_name="records", on_delete=models.PROTECT
    )
    kind = models.CharField(_("kind"), max_length=20, choices=RecordKind.choices)
    created_at = models.DateTimeField(_("run at"), db_index=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    # the request body byte for byte (UTF-8 JSON): anyone can re-verify it offline later
    signed_file = models.TextField(_("signed file"))
    record = models.JSONField(_("record"))
    content_sha256 = models.CharField(max_length=64)
    key_id = models.CharField(_("key id"), max_length=16)
    signature = models.CharField(_("signature"), max_length=128)
    certified = models.BooleanField(_("certified"), default=False)
    grade = models.CharField(_("grade"), max_length=10, blank=True)
    technician = models.CharField(_("technician"), max_length=200, blank=True)
    matched_by = models.CharField(_("matched by"), max_length=40, blank=True)
    maintenance_ticket = models.ForeignKey(
        "programme.MaintenanceTicket",
        verbose_name=_("maintenance ticket"),
        null=True,
        blank=True,
        related_name="records",
        on_delete=models.SET_NULL,
    )
    maintenance_ticket_ref = models.CharField(_("ticket reference"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("bench record")
        verbose_name_plural = _("bench records")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.record_id}"


class DeviceEvent(models.Model):
    """A status change: the history of a laptop, from whichever side it came."""

    device = models.ForeignKey(Device, related_name="events", on_delete=models.CASCADE)
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    from_status = models.CharField(_("from"), max_length=20, blank=True, choices=Status.choices)
    to_status = models.CharField(_("to"), max_length=20, choices=Status.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    record = models.ForeignKey(
        Record, verbose_name=_("bench record"), null=True, blank=True, on_delete=models.SET_NULL
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} → {self.to_status}"
