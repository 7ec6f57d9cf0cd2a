"""The bench API, version 1: JSON in, JSON out, errors as JSON with a status code."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from inventory.server.api.auth import allow_methods, bench_token_required, json_error
from inventory.server.api.openapi import openapi_document
from inventory.server.benches.models import Bench, RejectedUpload
from inventory.server.devices.ingest import IngestError, ingest
from inventory.server.devices.models import Record

log = logging.getLogger("weee.api")


@csrf_exempt  # read-only and cookie-free: an unsafe method gets the JSON 405, not a 403
@allow_methods("GET", "HEAD")
def health(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


@csrf_exempt
@allow_methods("GET", "HEAD")
def openapi(request: HttpRequest) -> HttpResponse:
    return JsonResponse(openapi_document())


@csrf_exempt
@allow_methods("GET", "HEAD")
def benches(request: HttpRequest) -> HttpResponse:
    """The registered benches' signing keys, public (no login): what `weee verify --server`
    trusts. Public keys are public; tokens and anything else stay out."""
    rows = Bench.objects.order_by("name").values_list("name", "key_id", "public_key", "active")
    return JsonResponse(
        {
            "benches": [
                {"name": name, "key_id": key_id, "public_key": public_key, "active": active}
                for name, key_id, public_key, active in rows
            ]
        }
    )


@csrf_exempt  # benches authenticate with a bearer token, never with a cookie
@allow_methods("POST")
@bench_token_required
def records(request: HttpRequest) -> HttpResponse:
    bench: Bench = request.bench
    try:
        body = request.body
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return json_error(413, "too-large", f"a record file is at most {limit} bytes")
    try:
        result = ingest(body, bench)
    except IngestError as exc:
        log.warning("refused upload from bench %s: %s %s", bench.name, exc.status, exc.error)
        RejectedUpload.objects.create(
            bench=bench,
            remote_addr=request.META.get("REMOTE_ADDR", "")[:64],
            status_code=exc.status,
            error=exc.error,
            detail=str(exc.detail)[:5000],
            record_id=_record_id_of(body),
        )
        return json_error(exc.status, exc.error, exc.detail)
    return JsonResponse(result.to_json(), status=result.http_status)


@csrf_exempt
@allow_methods("GET", "HEAD")
@bench_token_required
def record_detail(request: HttpRequest, record_id: str) -> HttpResponse:
    try:
        key = uuid.UUID(record_id)
    except ValueError:
        return json_error(404, "not-found", "no record with that id")
    bench: Bench = request.bench
    # a bench reads back its own records only: a record names its donor and technician
    stored = Record.objects.filter(record_id=key, bench=bench).first()
    if stored is None:
        return json_error(404, "not-found", "no record with that id")
    return HttpResponse(stored.signed_file, content_type="application/json")


def _record_id_of(body: bytes) -> str:
    """The record id of a refused upload, when one can be found, for the log."""
    import json

    try:
        value = json.loads(body)["record"]["record_id"]
    except (ValueError, KeyError, TypeError):
        return ""
    return value[:64] if isinstance(value, str) else ""
