"""``GET /api/v1/benches``: the registered benches' signing keys, public and read-only,
what `weee verify --server` trusts."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from inventory.signing import b64, key_id_of, raw_public_key

pytestmark = pytest.mark.django_db


def test_it_lists_every_bench_key_without_login_and_nothing_secret(client, bench, bench_factory):
    other_key = Ed25519PrivateKey.generate()
    retired = bench_factory("bench-0-retired", other_key).bench
    retired.active = False
    retired.save()
    response = client.get("/api/v1/benches")  # no token, no session
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {
        "benches": [
            {
                "name": "bench-0-retired",
                "key_id": key_id_of(raw_public_key(other_key)),
                "public_key": b64(raw_public_key(other_key)),
                "active": False,
            },
            {
                "name": "bench-1",
                "key_id": bench.bench.key_id,
                "public_key": b64(raw_public_key(bench.key)),
                "active": True,
            },
        ]
    }
    assert bench.bench.token_hash not in response.content.decode()


def test_it_is_read_only(client, bench):
    for method in (client.post, client.put, client.delete):
        response = method("/api/v1/benches", data=b"{}", content_type="application/json")
        assert response.status_code == 405 and response.json()["error"] == "method-not-allowed"
    assert client.head("/api/v1/benches").status_code == 200
