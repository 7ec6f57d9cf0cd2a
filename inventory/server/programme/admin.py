from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from inventory.server.devices.lifecycle import Status
from inventory.server.devices.models import Device
from inventory.server.programme import services
from inventory.server.programme.models import (
    Accessory,
    AccessoryKind,
    Allocation,
    Batch,
    Cohort,
    Donor,
    MaintenanceTicket,
    TicketStatus,
    Trainee,
)


@admin.register(Donor)
class DonorAdmin(admin.ModelAdmin):
    list_display = ["name", "contact"]
    search_fields = ["name"]
    filter_horizontal = ["users"]


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ["reference", "donor", "collected_on", "laptops", "certificate"]
    list_filter = ["donor"]
    search_fields = ["reference", "donor__name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Batch]:
        return super().get_queryset(request).annotate(n=Count("devices"))

    @admin.display(description=_("laptops"), ordering="n")
    def laptops(self, obj: Any) -> int:
        return int(obj.n)

    @admin.display(description=_("erasure certificate"))
    def certificate(self, obj: Batch) -> str:
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("batch-certificate", args=[obj.pk]),
            _("summary"),
            reverse("batch-certificates", args=[obj.pk]),
            _("per laptop"),
        )


class CohortTraineesFormSet(forms.BaseInlineFormSet):
    """Each trainee form checks the cohort as saved; this checks the cohort as submitted
    (nine new rows at once would pass one by one)."""

    def clean(self) -> None:
        super().clean()
        from django.conf import settings

        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE", False)]
        if len(kept) > settings.WEEE_COHORT_SIZE:
            raise forms.ValidationError(
                _("A session is %(n)d trainees, not %(m)d.")
                % {"n": settings.WEEE_COHORT_SIZE, "m": len(kept)}
            )


class TraineeInline(admin.TabularInline):
    model = Trainee
    formset = CohortTraineesFormSet
    fields = ["reference", "name", "has_home_wifi"]
    extra = 0


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    list_display = ["name", "starts_on", "size"]
    inlines = [TraineeInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Cohort]:
        return super().get_queryset(request).annotate(n=Count("trainees"))

    @admin.display(description=_("trainees"))
    def size(self, obj: Any) -> str:
        from django.conf import settings

        return f"{obj.n} / {settings.WEEE_COHORT_SIZE}"


@admin.register(Trainee)
class TraineeAdmin(admin.ModelAdmin):
    list_display = ["reference", "name", "cohort", "has_home_wifi", "laptop"]
    list_filter = ["cohort", "has_home_wifi"]
    search_fields = ["reference", "name"]

    @admin.display(description=_("laptop"))
    def laptop(self, obj: Trainee) -> str:
        current = obj.allocations.filter(returned_on__isnull=True).select_related("device").first()
        return current.device.asset_id or "" if current else "-"


@admin.register(Accessory)
class AccessoryAdmin(admin.ModelAdmin):
    list_display = ["kind", "quantity", "needed", "shortage"]
    list_editable = ["quantity"]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        self._shortages = services.shortages()
        for kind, figures in self._shortages.items():
            if figures["shortage"]:
                messages.warning(
                    request,
                    _("Shortage of %(kind)s: %(n)d missing for the trainees waiting.")
                    % {"kind": kind, "n": figures["shortage"]},
                )
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("needed by waiting trainees"))
    def needed(self, obj: Accessory) -> int:
        return self._shortages.get(obj.kind, {}).get("needed", 0)

    @admin.display(description=_("shortage"))
    def shortage(self, obj: Accessory) -> int:
        return self._shortages.get(obj.kind, {}).get("shortage", 0)


RETURN_FIELDS = ["mouse_returned", "sleeve_returned", "key_4g_returned", "kit_return_note"]


class AllocationForm(forms.ModelForm):
    class Meta:
        model = Allocation
        fields = [
            "device",
            "trainee",
            "handed_over_on",
            "returned_on",
            "return_reason",
            *RETURN_FIELDS,
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.fields["device"].queryset = Device.objects.filter(status=Status.CERTIFIED)
            self.fields["trainee"].queryset = Trainee.objects.exclude(
                pk__in=Allocation.objects.filter(returned_on__isnull=True).values("trainee_id")
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk is None and data.get("device") and data.get("trainee"):
            # the real allocation runs in save_model under row locks; this dry run only
            # turns a refusal (shortage, already allocated) into a form error
            try:
                from django.db import transaction

                with transaction.atomic():
                    services.allocate(
                        data["device"], data["trainee"], on=data.get("handed_over_on")
                    )
                    raise _DryRun
            except _DryRun:
                pass
            except services.Refused as exc:
                raise forms.ValidationError(str(exc)) from None
        if self.instance.pk is not None and self.instance.returned_on is None:
            returning = data.get("returned_on") is not None
            for kind, field in services.KIT_FIELDS.items():
                condition = data.get(f"{field}_returned")
                if condition and not returning:
                    self.add_error("returned_on", _("Give the day the laptop was returned."))
                elif condition and not getattr(self.instance, field):
                    self.add_error(
                        f"{field}_returned",
                        _("No %(item)s was handed over with this laptop.")
                        % {"item": AccessoryKind.label(kind)},
                    )
        return data


class _DryRun(Exception):
    pass


@admin.register(Allocation)
class AllocationAdmin(admin.ModelAdmin):
    form = AllocationForm
    list_display = [
        "device",
        "trainee",
        "cohort",
        "handed_over_on",
        "kit",
        "returned_on",
        "receipt",
    ]
    list_filter = ["trainee__cohort", "returned_on"]
    search_fields = ["device__asset_id", "trainee__reference", "trainee__name"]
    list_select_related = ["device", "trainee", "trainee__cohort"]
    autocomplete_fields: list[str] = []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["device", "trainee", "handed_over_on"]
        if obj.returned_on is not None:
            return self.get_readonly_fields(request, obj)
        return [
            *self.get_readonly_fields(request, obj),
            "returned_on",
            "return_reason",
            *RETURN_FIELDS,
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        fields = ["device", "trainee", "handed_over_on", "kit", "ticket_valid_until", "receipt"]
        if obj.returned_on is not None:
            # a return is recorded once, with the stock it refilled: not edited afterwards
            fields += ["returned_on", "return_reason", "kit_returned", "kit_return_note"]
        return fields

    @admin.display(description=_("cohort"))
    def cohort(self, obj: Allocation) -> str:
        return str(obj.trainee.cohort or "-")

    @admin.display(description=_("kit"))
    def kit(self, obj: Allocation) -> str:
        return ", ".join(f"{item} ({source})" for item, source in obj.kit_items())

    @admin.display(description=_("kit returned"))
    def kit_returned(self, obj: Allocation) -> str:
        return ", ".join(f"{item}: {condition}" for item, condition in obj.kit_returns())

    @admin.display(description=_("maintenance valid until"))
    def ticket_valid_until(self, obj: Allocation) -> str:
        return obj.ticket_valid_until.isoformat()

    @admin.display(description=_("handover receipt"))
    def receipt(self, obj: Allocation) -> str:
        url = reverse("handover-receipt", args=[obj.pk])
        return format_html('<a class="receipt" href="{}">{}</a>', url, _("Print (PDF)"))

    def save_model(self, request: HttpRequest, obj: Allocation, form: Any, change: bool) -> None:
        if not change:
            try:
                allocated = services.allocate(
                    form.cleaned_data["device"],
                    form.cleaned_data["trainee"],
                    user=request.user,
                    on=form.cleaned_data.get("handed_over_on"),
                )
            except services.Refused as exc:  # lost a race since the form was checked
                self.message_user(request, str(exc), messages.ERROR)
                return
            obj.pk = allocated.pk
            obj.refresh_from_db()
            return
        if "returned_on" in form.changed_data and obj.returned_on:
            reason = obj.return_reason or "returned"
            Allocation.objects.filter(pk=obj.pk).update(returned_on=None)
            kit = {
                kind: form.cleaned_data.get(f"{field}_returned") or ""
                for kind, field in services.KIT_FIELDS.items()
            }
            try:
                services.take_back(
                    obj,
                    reason=reason,
                    kit={kind: condition for kind, condition in kit.items() if condition},
                    kit_note=form.cleaned_data.get("kit_return_note") or "",
                    user=request.user,
                    on=obj.returned_on,
                )
            except services.Refused as exc:  # returned by someone else meanwhile
                self.message_user(request, str(exc), messages.ERROR)
            return
        super().save_model(request, obj, form, change)

    def response_add(
        self, request: HttpRequest, obj: Allocation, post_url_continue: Any = None
    ) -> Any:
        if obj.pk is None:
            return self.response_post_save_add(request, obj)
        messages.info(
            request,
            format_html(
                '{} <a class="receipt" href="{}">{}</a>',
                _("Laptop allocated."),
                reverse("handover-receipt", args=[obj.pk]),
                _("Print the handover receipt (PDF)"),
            ),
        )
        return super().response_add(request, obj, post_url_continue)


class TicketForm(forms.ModelForm):
    class Meta:
        model = MaintenanceTicket
        fields = ["allocation", "opened_on", "problem", "status", "closed_on", "resolution"]


@admin.register(MaintenanceTicket)
class MaintenanceTicketAdmin(admin.ModelAdmin):
    form = TicketForm
    list_display = ["reference", "device", "trainee", "opened_on", "status", "valid_until", "runs"]
    list_filter = ["status"]
    search_fields = ["reference", "allocation__device__asset_id", "allocation__trainee__name"]
    list_select_related = ["allocation__device", "allocation__trainee"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["allocation", "opened_on", "problem"]
        return [*self.get_readonly_fields(request, obj), "status", "closed_on", "resolution"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["reference", "allocation", "opened_on", "valid_until", "problem"] if obj else []

    @admin.display(description=_("laptop"))
    def device(self, obj: MaintenanceTicket) -> str:
        return str(obj.allocation.device.asset_id)

    @admin.display(description=_("trainee"))
    def trainee(self, obj: MaintenanceTicket) -> str:
        return str(obj.allocation.trainee)

    @admin.display(description=_("valid until"))
    def valid_until(self, obj: MaintenanceTicket) -> str:
        return obj.allocation.ticket_valid_until.isoformat()

    @admin.display(description=_("bench runs"))
    def runs(self, obj: MaintenanceTicket) -> int:
        return obj.records.count()

    def save_model(
        self, request: HttpRequest, obj: MaintenanceTicket, form: Any, change: bool
    ) -> None:
        if not change:
            try:
                ticket = services.open_ticket(
                    obj.allocation, problem=obj.problem, user=request.user, on=obj.opened_on
                )
            except services.Refused as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return
            obj.pk, obj.reference = ticket.pk, ticket.reference
            return
        if "status" in form.changed_data and obj.status == TicketStatus.CLOSED:
            services.close_ticket(
                obj,
                resolution=obj.resolution,
                user=request.user,
                on=obj.closed_on or timezone.localdate(),
            )
            return
        super().save_model(request, obj, form, change)
