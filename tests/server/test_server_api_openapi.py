"""The hand-written OpenAPI document stays honest: every API route is in it, every
documented response is produced, and what the API answers validates against it."""

from __future__ import annotations

import base64
from typing import Any

import jsonschema
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.urls import URLPattern, get_resolver

from inventory.server.api.openapi import openapi_document
from inventory.server.samples import record, signed
from inventory.signing import canonical_bytes

pytestmark = pytest.mark.django_db

DOC = openapi_document()


def test_the_document_is_served(client):
    assert client.get("/api/v1/openapi.json").json() == DOC


def test_every_api_route_is_documented():
    api_patterns = get_resolver().url_patterns[0].url_patterns  # api/v1/
    routes = set()
    for pattern in api_patterns:
        assert isinstance(pattern, URLPattern)
        routes.add("/" + str(pattern.pattern).replace("<str:record_id>", "{record_id}"))
    assert routes == set(DOC["paths"])


def check(response: Any, path: str, method: str) -> None:
    """The response's status is documented for this operation and its body fits."""
    responses = DOC["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method.upper()} {path} answered undocumented {status}"
    schema = responses[status]["content"]["application/json"]["schema"]
    assert response["Content-Type"].startswith("application/json")
    jsonschema.validate(
        response.json(),
        {**schema, "components": DOC["components"]},
        cls=jsonschema.Draft202012Validator,
    )


def scenarios(api: Any, key: Ed25519PrivateKey, bench_factory: Any) -> dict[int, Any]:
    """One response of each documented status of POST /records."""
    out: dict[int, Any] = {}
    rec = record(key)
    doc = signed(rec, key)
    out[201] = api.upload(doc)
    out[200] = api.upload(doc)
    out[400] = api.upload(None, raw=b"{")
    out[401] = api.upload(doc, token="wrong")
    other = Ed25519PrivateKey.generate()
    bench_factory("other", other)
    out[403] = api.upload(signed(record(other), other))
    changed = dict(rec, kind="recycling")
    changed_doc = signed(record(key), key)
    changed_doc["record"] = changed
    changed_doc["signature"]["value"] = base64.b64encode(
        key.sign(canonical_bytes(changed))
    ).decode()
    out[409] = api.upload(changed_doc)
    out[413] = api.upload(None, raw=b" " * (6 * 1024 * 1024))
    tampered = signed(record(key), key)
    tampered["record"]["kind"] = "recycling"
    out[422] = api.upload(tampered)
    return out


def test_every_documented_upload_response_happens_and_fits_its_schema(api, key, bench_factory):
    responses = scenarios(api, key, bench_factory)
    documented = {int(s) for s in DOC["paths"]["/records"]["post"]["responses"]}
    assert set(responses) == documented
    for status, response in responses.items():
        assert response.status_code == status, response.content
        check(response, "/records", "post")


def test_record_and_health_responses_fit_their_schemas(client, api, key):
    doc = signed(record(key), key)
    api.upload(doc)
    check(api.get(doc["record"]["record_id"]), "/records/{record_id}", "get")
    check(api.get("00000000-0000-4000-8000-000000000000"), "/records/{record_id}", "get")
    check(api.get(doc["record"]["record_id"], token="nope"), "/records/{record_id}", "get")
    check(client.get("/api/v1/health"), "/health", "get")
    check(client.get("/api/v1/benches"), "/benches", "get")
