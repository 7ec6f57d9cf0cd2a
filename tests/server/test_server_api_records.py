"""POST/GET /api/v1/records: ingest with every refusal the contract lists."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from inventory.server.benches.models import RejectedUpload
from inventory.server.devices.models import Device, Record
from inventory.server.samples import hardware, record, signed
from inventory.signing import canonical_bytes, signed_file_bytes

pytestmark = pytest.mark.django_db


def test_it_stores_a_signed_record_and_returns_the_asset_id(api, key):
    rec = record(key)
    response = api.upload(signed(rec, key))
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "stored"
    assert body["record_id"] == rec["record_id"]
    assert body["device_id"] == rec["device_id"]
    device = Device.objects.get()
    assert body["asset_id"] == device.asset_id == f"W-{device.pk:06d}"
    assert device.status == "certified"


def test_it_keeps_the_signed_file_verbatim_and_the_extracted_fields(api, key):
    doc = signed(record(key, grade="B"), key)
    body = signed_file_bytes(doc)
    api.upload(doc, raw=body)
    stored = Record.objects.get()
    assert stored.signed_file.encode("utf-8") == body
    assert stored.grade == "B"
    assert stored.certified is True
    assert stored.technician == "Awa"
    assert stored.key_id == doc["signature"]["key_id"]


def test_it_answers_a_re_upload_as_a_duplicate_and_stores_it_once(api, key):
    doc = signed(record(key), key)
    first = api.upload(doc)
    again = api.upload(doc)
    assert again.status_code == 200
    assert again.json() == {**first.json(), "status": "duplicate"}
    assert Record.objects.count() == 1
    assert Device.objects.get().events.count() == 2  # created, then certified: once


def test_it_refuses_the_same_record_id_with_other_content_as_a_conflict(api, key):
    rec = record(key)
    api.store(rec)
    changed = {
        **rec,
        "checks": {**rec["checks"], "grade": {**rec["checks"]["grade"], "grade": "C"}},
    }
    response = api.upload(signed(changed, key))
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert Record.objects.get().grade == "A"


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer not-a-token", "Basic dXNlcjpwYXNz"], ids=str
)
def test_it_refuses_uploads_without_a_valid_token(client, bench, key, header):
    headers = {"Authorization": header} if header else {}
    response = client.post(
        "/api/v1/records",
        data=signed_file_bytes(signed(record(key), key)),
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert Record.objects.count() == 0


def test_it_refuses_a_revoked_bench_and_logs_it(api, key, bench, caplog):
    bench.bench.active = False
    bench.bench.save()
    assert api.upload(signed(record(key), key)).status_code == 401
    assert "unknown or revoked bench token" in caplog.text


def test_it_refuses_a_record_signed_by_another_benchs_key(api, key, bench_factory):
    other_key = Ed25519PrivateKey.generate()
    bench_factory("bench-2", other_key)  # registered, but not the bench whose token is used
    response = api.upload(signed(record(other_key), other_key))
    assert response.status_code == 403
    assert response.json()["error"] == "foreign-key"
    assert Record.objects.count() == 0


def test_it_refuses_a_replay_of_another_benchs_stored_record(api, key, bench_factory):
    """A stored record captured and re-sent with a different bench's token."""
    api.store(rec := record(key))
    other = bench_factory("bench-2", Ed25519PrivateKey.generate())
    doc = json.loads(Record.objects.get().signed_file)
    response = api.upload(doc, token=other.token)
    assert response.status_code == 403
    assert Record.objects.get().bench.name == "bench-1"
    assert rec["record_id"] in RejectedUpload.objects.get().record_id


def test_it_refuses_a_tampered_record_with_422(api, key):
    doc = signed(record(key), key)
    doc["record"]["hardware"]["device"]["serial"] = "CHANGED"
    response = api.upload(doc)
    assert response.status_code == 422
    assert response.json()["error"] == "bad-signature"
    assert "altered" in response.json()["detail"]


def test_it_refuses_a_correctly_signed_record_that_breaks_the_schema(api, key):
    rec = record(key)
    rec["certified"] = False  # the record's own consistency rule says it is certified
    signature = key.sign(canonical_bytes(rec))
    doc = signed(record(key), key)
    doc["record"] = rec
    doc["signature"]["value"] = base64.b64encode(signature).decode()
    response = api.upload(doc)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "schema-violation"
    assert body["detail"][0]["path"] == "certified"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[]",
        b'{"record": {}}',
        b'{"record": 1, "signature": 2}',
        b"\xff\xfe",
        b'{"record": {}, "record": {}, "signature": {}}',
    ],
    ids=["empty", "text", "array", "no-signature", "not-objects", "not-utf8", "duplicate-keys"],
)
def test_it_refuses_malformed_bodies_with_400(api, raw):
    response = api.upload(None, raw=raw)
    assert response.status_code == 400
    assert response.json()["error"] == "malformed"


def test_it_refuses_a_record_dated_in_the_future(api, key):
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).isoformat(timespec="seconds")
    response = api.upload(signed(record(key, created_at=future), key))
    assert response.status_code == 400
    assert response.json()["error"] == "from-the-future"


def test_it_logs_every_refusal(api, key):
    api.upload(None, raw=b"nope")
    doc = signed(record(key), key)
    doc["record"]["kind"] = "maintenance"
    api.upload(doc)
    assert sorted(RejectedUpload.objects.values_list("status_code", flat=True)) == [400, 422]


def test_it_returns_a_stored_record_to_its_bench_only(api, key, bench_factory):
    doc = signed(record(key), key)
    api.upload(doc)
    response = api.get(doc["record"]["record_id"])
    assert response.status_code == 200
    assert json.loads(response.content) == doc
    other = bench_factory("bench-2", Ed25519PrivateKey.generate())
    assert api.get(doc["record"]["record_id"], token=other.token).status_code == 404
    assert api.get("00000000-0000-4000-8000-000000000000").status_code == 404
    assert api.get("not-a-uuid").status_code == 404


def test_health_needs_no_token(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_it_answers_a_wrong_method_with_a_json_405(client, bench):
    response = client.get("/api/v1/records", headers={"Authorization": f"Bearer {bench.token}"})
    assert response.status_code == 405
    assert response.json()["error"] == "method-not-allowed"


def test_it_keeps_every_run_of_a_laptop_in_its_history(api, key):
    hw = hardware(serial="PF0ABCDE")
    first = api.store(record(key, hw=hw, certified=False))
    second = api.store(record(key, hw=hw))
    assert first["asset_id"] == second["asset_id"]
    device = Device.objects.get()
    assert device.records.count() == 2
    assert [e.to_status for e in device.events.all()] == ["received", "diagnosed", "certified"]


def test_it_refuses_a_record_naming_another_bench_than_its_signer(api, key):
    rec = record(key)
    rec["bench"]["id"] = "0123456789abcdef"
    response = api.upload(signed(rec, key))
    assert response.status_code == 400
    assert response.json()["error"] == "bench-mismatch"
