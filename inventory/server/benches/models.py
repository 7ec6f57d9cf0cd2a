"""Benches: the machines that produce signed records, their public key and API token."""

from __future__ import annotations

import base64
import hashlib
import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _


def hash_token(token: str) -> str:
    # tokens are 256-bit random strings, so a plain SHA-256 (no salt, no stretching) is
    # enough to make a leaked database useless for uploading, and lookups stay indexed
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def key_id_for(public_key: bytes) -> str:
    """The contract's key id: first 16 hex digits of SHA-256 of the raw 32-byte key."""
    return hashlib.sha256(public_key).hexdigest()[:16]


class Bench(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    organisation = models.CharField(_("organisation"), max_length=200, blank=True)
    location = models.CharField(_("location"), max_length=200, blank=True)
    public_key = models.CharField(
        _("public key"), max_length=64, help_text=_("Ed25519 public key, raw 32 bytes in base64")
    )
    key_id = models.CharField(_("key id"), max_length=16, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    active = models.BooleanField(
        _("active"), default=True, help_text=_("An inactive bench can no longer upload.")
    )
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("bench")
        verbose_name_plural = _("benches")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def public_key_bytes(self) -> bytes:
        return base64.b64decode(self.public_key)

    def set_public_key(self, raw: bytes) -> None:
        self.public_key = base64.b64encode(raw).decode("ascii")
        self.key_id = key_id_for(raw)

    def new_token(self) -> str:
        """Give the bench a new API token; only its hash is kept, so show it now."""
        token = secrets.token_urlsafe(32)
        self.token_hash = hash_token(token)
        return token


class RejectedUpload(models.Model):
    """An upload the API refused: kept so a technician can see why a bench is stuck."""

    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    bench = models.ForeignKey(
        Bench, verbose_name=_("bench"), null=True, blank=True, on_delete=models.SET_NULL
    )
    remote_addr = models.CharField(_("address"), max_length=64, blank=True)
    status_code = models.PositiveSmallIntegerField(_("status"))
    error = models.CharField(_("error"), max_length=200)
    detail = models.TextField(_("detail"), blank=True)
    record_id = models.CharField(_("record id"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("rejected upload")
        verbose_name_plural = _("rejected uploads")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.status_code} {self.error}"
