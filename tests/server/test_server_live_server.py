"""`weee serve` for real: migrations on a fresh database, gunicorn, static files, the API
over HTTP under concurrency, and schemathesis against the live OpenAPI document.
Run on SQLite, and on PostgreSQL when scripts/services/postgres.sh provides it."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from checks.system import run_command
from inventory.server.devserver import LiveServer, postgres_database, weee_serve
from inventory.server.samples import hardware, public_key_b64, record, signed
from inventory.signing import signed_file_bytes

pytestmark = pytest.mark.slow

POSTGRES_URL = os.environ.get("WEEE_TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(
    not POSTGRES_URL, reason="WEEE_TEST_POSTGRES_URL unset: source scripts/services/postgres.sh"
)


@pytest.fixture(
    scope="module",
    params=[
        "sqlite",
        pytest.param("postgresql", marks=[pytest.mark.postgres, needs_postgres]),
    ],
)
def server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    if request.param == "sqlite":
        with weee_serve() as live:
            yield live
    else:
        assert POSTGRES_URL
        with postgres_database(POSTGRES_URL) as url, weee_serve(url) as live:
            yield live


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def token(server: LiveServer, key: Ed25519PrivateKey) -> str:
    return server.add_bench("live-bench", public_key_b64(key))


def post(server: LiveServer, token: str, doc: dict) -> requests.Response:
    return requests.post(
        f"{server.url}/api/v1/records",
        data=signed_file_bytes(doc),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=30,
    )


def test_it_serves_the_admin_with_its_static_files(server):
    login = requests.get(f"{server.url}/admin/login/", timeout=10)
    assert login.status_code == 200
    css = requests.get(f"{server.url}/static/admin/css/base.css", timeout=10)
    assert css.status_code == 200
    assert "text/css" in css.headers["Content-Type"]


def test_it_stores_an_upload_and_answers_a_re_upload_as_duplicate(server, token, key):
    doc = signed(record(key), key)
    first = post(server, token, doc)
    assert first.status_code == 201, first.text
    assert first.json()["asset_id"].startswith("W-")
    again = post(server, token, doc)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"


def test_concurrent_uploads_of_one_record_store_it_exactly_once(server, token, key):
    doc = signed(record(key, hw=hardware(serial="RACE-ONE")), key)
    before = server.count("devices.Record")
    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = sorted(
            r.status_code for r in pool.map(lambda _: post(server, token, doc), range(12))
        )
    assert codes == [200] * 11 + [201]
    assert server.count("devices.Record") == before + 1


def test_concurrent_runs_of_one_new_laptop_make_one_laptop(server, token, key):
    hw = hardware(serial="RACE-DEVICE", device_id="dev-race-device")
    docs = [signed(record(key, hw=hw), key) for _ in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda d: post(server, token, d), docs))
    assert [r.status_code for r in responses] == [201] * 8
    assert len({r.json()["asset_id"] for r in responses}) == 1


def test_schemathesis_finds_no_server_error_and_no_schema_violation(server, token, tmp_path):
    result = run_command(
        [
            # schemathesis keeps a .schemathesis/ cache in its working directory: not ours
            "env",
            "-C",
            str(tmp_path),
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            f"{server.url}/api/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,"
            "response_headers_conformance,response_schema_conformance,unsupported_method",
            "--max-examples",
            "60",
            "--seed",
            "20261126",
            "--no-color",
        ],
        timeout=600,
    )
    assert result.returncode == 0, result.text[-6000:]
    assert "passed" in result.text


def test_the_bench_sync_client_uploads_its_spool_exactly_once(server, token, key, tmp_path):
    """Both ends of the contract: inventory.sync (the bench side) against weee serve."""
    from inventory.spool import Spool
    from inventory.sync import requests_transport, sync_spool

    spool = Spool(tmp_path / "spool")
    docs = [signed(record(key), key) for _ in range(3)]
    for doc in docs:
        spool.add(doc)
    ids = sorted(d["record"]["record_id"] for d in docs)
    first = sync_spool(spool, server=server.url, token=token, transport=requests_transport())
    assert sorted(first.stored) == ids and first.ok
    assert spool.pending() == []
    # a bench that lost its "sent" markers (crash after the answer) re-sends everything:
    # the server answers duplicate and stores nothing twice
    again = Spool(tmp_path / "spool-copy")
    for doc in docs:
        again.add(doc)
    second = sync_spool(again, server=server.url, token=token, transport=requests_transport())
    assert sorted(second.duplicates) == ids and not second.stored
