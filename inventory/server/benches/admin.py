from __future__ import annotations

import binascii
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from inventory.server.benches.models import Bench, RejectedUpload
from inventory.signing import parse_public_key


class BenchForm(forms.ModelForm):
    class Meta:
        model = Bench
        fields = ["name", "organisation", "location", "public_key", "active"]

    def clean_public_key(self) -> str:
        text = self.cleaned_data["public_key"]
        try:
            raw = parse_public_key(text.encode("ascii"))
        except (ValueError, UnicodeEncodeError, binascii.Error) as exc:
            raise forms.ValidationError(str(exc)) from None
        self.instance.set_public_key(raw)
        return self.instance.public_key


@admin.register(Bench)
class BenchAdmin(admin.ModelAdmin):
    form = BenchForm
    list_display = ["name", "organisation", "location", "key_id", "active", "created_at"]
    list_filter = ["active", "organisation"]
    search_fields = ["name", "key_id", "organisation"]
    readonly_fields = ["key_id", "created_at"]
    actions = ["new_token"]

    @admin.action(
        description=_("Give the selected benches a new API token"), permissions=["change"]
    )
    def new_token(self, request: HttpRequest, queryset: Any) -> None:
        for bench in queryset:
            token = bench.new_token()
            bench.save(update_fields=["token_hash"])
            messages.warning(
                request,
                _("API token of bench %(name)s (shown once, copy it to the bench now): %(token)s")
                % {"name": bench.name, "token": token},
            )

    def save_model(self, request: HttpRequest, obj: Bench, form: Any, change: bool) -> None:
        token = None if change else obj.new_token()
        super().save_model(request, obj, form, change)
        if token:
            messages.warning(
                request,
                _("API token of bench %(name)s (shown once, copy it to the bench now): %(token)s")
                % {"name": obj.name, "token": token},
            )


@admin.register(RejectedUpload)
class RejectedUploadAdmin(admin.ModelAdmin):
    list_display = ["received_at", "bench", "status_code", "error", "record_id"]
    list_filter = ["status_code", "error", "bench"]
    search_fields = ["record_id", "detail"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
