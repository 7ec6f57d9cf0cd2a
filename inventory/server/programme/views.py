"""Pages outside the admin: the donor's own batches and the PDFs."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from inventory.server.devices.models import Record
from inventory.server.programme.documents import (
    batch_certificates_pdf,
    batch_summary_pdf,
    document_language,
    handover_receipt_pdf,
)
from inventory.server.programme.models import Allocation, Batch
from inventory.signing import SignatureInvalid, parse_signed_bytes, verify_signed


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("login")
    if request.user.is_staff:
        return redirect("admin:index")
    return redirect("donor-batches")


def _pdf(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def visible_batches(user: Any) -> QuerySet[Batch]:
    """The batches a user may see: all for staff with the permission, else its donors'."""
    if user.is_staff and user.has_perm("programme.view_batch"):
        return Batch.objects.all()
    return Batch.objects.filter(donor__users=user)


@login_required
def donor_batches(request: HttpRequest) -> HttpResponse:
    batches = (
        Batch.objects.filter(donor__users=request.user)
        .select_related("donor")
        .annotate(
            laptops=Count("devices", distinct=True),
        )
        .order_by("donor__name", "reference")
    )
    return render(request, "programme/donor_batches.html", {"batches": batches})


@login_required
def batch_certificate(request: HttpRequest, pk: int, kind: str = "summary") -> HttpResponse:
    """The batch's erasure summary, or (kind="certificates") one certificate per laptop."""
    # a batch of another donor is a 404, not a 403: its existence is not for others to learn
    batch = get_object_or_404(visible_batches(request.user), pk=pk)
    render = batch_summary_pdf if kind == "summary" else batch_certificates_pdf
    data = render(
        batch,
        url_pattern=request.build_absolute_uri("/verify/") + "{record_id}",
        lang=document_language(),
    )
    if data is None:
        raise Http404(_("No laptop of this batch has been erased on a bench yet."))
    name = f"erasure-{kind}-{batch.donor.name}-{batch.reference}.pdf".replace(" ", "_")
    return _pdf(data, name)


@login_required
def handover_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm("programme.view_allocation"):
        raise PermissionDenied
    allocation = get_object_or_404(
        Allocation.objects.select_related("device", "trainee", "trainee__cohort"), pk=pk
    )
    if allocation is None:
        raise Http404
    filename = f"handover-{allocation.device.asset_id}-{allocation.trainee.reference}.pdf"
    return _pdf(handover_receipt_pdf(allocation), filename)


def verify_record(request: HttpRequest, record_id: str) -> HttpResponse:
    """Public page behind the QR code of a certificate: is this record held here, and does
    its signature still check against the key registered for its bench?

    Shows what the certificate itself prints (drives, methods, results), nothing about
    the donor or the trainee; the record id (a random UUID) is the only way in.
    """
    try:
        key = uuid.UUID(record_id)
    except ValueError:
        raise Http404 from None
    stored = get_object_or_404(Record.objects.select_related("bench", "device"), record_id=key)
    try:
        doc = parse_signed_bytes(stored.signed_file.encode("utf-8"))
        verify_signed(doc, public_key=stored.bench.public_key_bytes)
        problem = ""
    except (ValueError, SignatureInvalid) as exc:
        problem = str(exc)
    return render(
        request,
        "programme/verify.html",
        {"stored": stored, "erasures": stored.record.get("erasures") or [], "problem": problem},
    )
