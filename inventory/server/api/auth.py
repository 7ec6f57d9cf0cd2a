"""Bench authentication for the API, as a decorator: ``Authorization: Bearer <token>``."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from inventory.server.benches.models import Bench, hash_token

log = logging.getLogger("weee.api")


def json_error(status: int, error: str, detail: Any = None) -> JsonResponse:
    body: dict[str, Any] = {"error": error}
    if detail is not None:
        body["detail"] = detail
    response = JsonResponse(body, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="weee"'
    return response


View = Callable[..., HttpResponse]


def allow_methods(*methods: str) -> Callable[[View], View]:
    """Like Django's require_http_methods, but the 405 is JSON like every other error."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = json_error(
                    405, "method-not-allowed", f"use {' or '.join(methods)} on this URL"
                )
                response["Allow"] = ", ".join(methods)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def bench_token_required(view: View) -> View:
    """Let the request through only with an active bench's token; sets ``request.bench``."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return json_error(401, "unauthorized", "send the bench token: Authorization: Bearer …")
        bench = Bench.objects.filter(token_hash=hash_token(token.strip()), active=True).first()
        if bench is None:
            # logged, not stored: unauthenticated requests must not be able to fill the
            # database
            log.warning(
                "refused %s %s from %s: unknown or revoked bench token",
                request.method,
                request.path,
                request.META.get("REMOTE_ADDR", "?"),
            )
            return json_error(401, "unauthorized", "unknown or revoked bench token")
        request.bench = bench
        return view(request, *args, **kwargs)

    return wrapper
