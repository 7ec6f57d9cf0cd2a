"""`weee manage addbench` and `weee serve` argument handling (the live server itself is
exercised in test_server_live_server.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.cli import main
from inventory.server.benches.models import Bench
from inventory.server.samples import public_key_b64, record, signed

pytestmark = pytest.mark.django_db(transaction=True)


def test_addbench_registers_a_bench_whose_token_uploads(tmp_path, key, client):
    key_file = tmp_path / "bench.pub"
    key_file.write_text(public_key_b64(key) + "\n")
    result = CliRunner().invoke(
        main, ["manage", "addbench", "--name", "atelier-1", "--public-key-file", str(key_file)]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    bench = Bench.objects.get(name="atelier-1")
    assert out["bench_id"] == bench.key_id
    response = client.post(
        "/api/v1/records",
        data=json.dumps(signed(record(key), key)),
        content_type="application/json",
        headers={"Authorization": f"Bearer {out['token']}"},
    )
    assert response.status_code == 201


def test_addbench_accepts_a_pem_public_key(tmp_path, key):
    from cryptography.hazmat.primitives import serialization

    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "k.pem").write_bytes(pem)
    result = CliRunner().invoke(
        main, ["manage", "addbench", "--name", "b", "--public-key-file", str(tmp_path / "k.pem")]
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "content, message",
    [(b"not a key", "not an Ed25519 public key"), (None, "cannot read")],
    ids=["garbage", "missing-file"],
)
def test_addbench_refuses_a_bad_key_file_clearly(tmp_path, content, message):
    path = tmp_path / "k.pub"
    if content is not None:
        path.write_bytes(content)
    result = CliRunner().invoke(
        main, ["manage", "addbench", "--name", "b", "--public-key-file", str(path)]
    )
    assert result.exit_code == 1
    assert message in result.output
    assert Bench.objects.count() == 0


def test_addbench_refuses_a_key_registered_to_another_bench(tmp_path, key):
    path = tmp_path / "k.pub"
    path.write_text(public_key_b64(key))
    args = ["manage", "addbench", "--public-key-file", str(path)]
    assert CliRunner().invoke(main, [*args, "--name", "one"]).exit_code == 0
    result = CliRunner().invoke(main, [*args, "--name", "two"])
    assert result.exit_code == 1
    assert "already registered for bench 'one'" in result.output
    # the same bench may get a new token (the old one stops working)
    old = Bench.objects.get().token_hash
    assert CliRunner().invoke(main, [*args, "--name", "one", "--new-token"]).exit_code == 0
    assert Bench.objects.get().token_hash != old


@pytest.mark.parametrize("bind", ["8000", "localhost", "host:port", ":8000", "h:70000"])
def test_serve_refuses_a_bad_bind_address(bind):
    result = CliRunner().invoke(main, ["serve", "--bind", bind])
    assert result.exit_code == 2
    assert "expected HOST:PORT" in result.output


@pytest.mark.parametrize(
    "role, extra, staff, home",
    [
        ("technician", [], True, "/admin/"),
        ("coordinator", [], True, "/admin/"),
        ("admin", [], True, "/admin/"),
        ("donor", ["--donor", "Ville de Lyon"], False, "/donor/"),
    ],
)
def test_adduser_creates_an_account_with_its_role(client, role, extra, staff, home):
    from django.contrib.auth.models import User

    result = CliRunner().invoke(main, ["manage", "adduser", "sam", "--role", role, *extra])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    user = User.objects.get(username="sam")
    assert user.is_staff is staff
    assert client.login(username="sam", password=out["password"])
    assert client.get("/")["Location"] == home
    if role == "donor":
        assert list(user.donors.values_list("name", flat=True)) == ["Ville de Lyon"]


def test_adduser_refuses_a_donor_without_its_donor():
    result = CliRunner().invoke(main, ["manage", "adduser", "x", "--role", "donor"])
    assert result.exit_code == 1
    assert "needs --donor" in result.output


def test_serve_says_clearly_when_the_database_is_unreachable(tmp_path):
    import os

    from checks.system import run_command

    weee = str(Path(sys.executable).with_name("weee"))
    env = {
        **os.environ,
        "WEEE_DATA_DIR": str(tmp_path),
        "WEEE_DATABASE_URL": "postgres://nobody:x@127.0.0.1:9/nowhere",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = run_command([weee, "serve", "--bind", "127.0.0.1:9"], env=env, timeout=120)
    assert result.returncode == 5
    assert "cannot use the database nowhere (postgresql)" in result.stderr_text
    assert "Traceback" not in result.stderr_text
