from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from inventory.server.devices.lifecycle import Status, TransitionRefused
from inventory.server.devices.models import Device, DeviceEvent, DeviceIdentifier, Record


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RecordInline(ReadOnlyInline):
    model = Record
    fields = [
        "record_link",
        "kind",
        "created_at",
        "bench",
        "technician",
        "certified",
        "grade",
        "matched_by",
        "maintenance_ticket",
    ]
    readonly_fields = fields
    ordering = ["-created_at"]

    @admin.display(description=_("record"))
    def record_link(self, obj: Record) -> str:
        url = reverse("admin:devices_record_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.record_id)


class EventInline(ReadOnlyInline):
    model = DeviceEvent
    fields = ["at", "from_status", "to_status", "reason", "record", "user"]
    readonly_fields = fields


class IdentifierInline(ReadOnlyInline):
    model = DeviceIdentifier
    fields = ["kind", "value", "first_seen"]
    readonly_fields = fields


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = [
        "asset_id",
        "manufacturer",
        "model",
        "serial",
        "status",
        "grade",
        "batch",
        "updated_at",
    ]
    list_filter = ["status", "grade", "batch__donor", "manufacturer"]
    search_fields = [
        "asset_id",
        "serial",
        "board_serial",
        "device_id",
        "model",
        "identifiers__value",
    ]
    readonly_fields = [
        "asset_id",
        "device_id",
        "status",
        "manufacturer",
        "model",
        "serial",
        "board_serial",
        "grade",
        "bench_kit",
        "created_at",
        "updated_at",
    ]
    fields = readonly_fields[:2] + ["batch", "notes"] + readonly_fields[2:]
    inlines = [RecordInline, EventInline, IdentifierInline]
    actions = ["recycle"]
    list_select_related = ["batch", "batch__donor"]

    @admin.action(description=_("Recycle the selected laptops (parts)"), permissions=["change"])
    def recycle(self, request: HttpRequest, queryset: QuerySet[Device]) -> None:
        for device in queryset:
            try:
                device.move_to(
                    Status.RECYCLED, reason="recycled by a coordinator", user=request.user
                )
            except TransitionRefused as exc:
                self.message_user(request, f"{device.asset_id}: {exc}", messages.ERROR)


@admin.register(Record)
class RecordAdmin(admin.ModelAdmin):
    list_display = ["record_id", "device", "kind", "bench", "created_at", "certified", "grade"]
    list_filter = ["kind", "certified", "grade", "bench"]
    search_fields = ["record_id", "device__asset_id", "technician"]
    list_select_related = ["device", "bench"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # records come from benches only, signed

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
