"""Server tests: pytest-django with the settings of ``inventory.server``.

The database is SQLite (in memory) unless WEEE_SERVER_TEST_DATABASE_URL names another
one: test_server_postgres.py re-runs this whole directory that way against the real PostgreSQL
of scripts/services/postgres.sh. A developer's own WEEE_DATABASE_URL is never used.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

os.environ["DJANGO_SETTINGS_MODULE"] = "inventory.server.settings"
os.environ["WEEE_DATA_DIR"] = tempfile.mkdtemp(prefix="weee-server-tests-")
if os.environ.get("WEEE_SERVER_TEST_DATABASE_URL"):
    os.environ["WEEE_DATABASE_URL"] = os.environ["WEEE_SERVER_TEST_DATABASE_URL"]
else:
    os.environ.pop("WEEE_DATABASE_URL", None)

import django
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# set up now, not in pytest-django's session fixture: the test modules import models
django.setup()

from django.conf import settings  # noqa: E402

# the data folder goes when the run ends (every run used to leave one behind in /tmp)
atexit.register(shutil.rmtree, os.environ["WEEE_DATA_DIR"], ignore_errors=True)

# PBKDF2 at its production cost takes ~0.3 s per user created; the tests create many
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    # pytest-django creates and drops this database: one per run, so two runs (or the
    # suite and the benchmark) on the same server never drop each other's. Set the name
    # in the TEST dict Django already completed (MIRROR, CHARSET...) during setup():
    # replacing the dict loses those keys (KeyError: 'MIRROR' at database creation)
    settings.DATABASES["default"]["TEST"]["NAME"] = f"test_weee_{os.getpid()}"


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@dataclass
class BenchAccess:
    bench: Any
    token: str
    key: Ed25519PrivateKey


def make_bench(name: str, key: Ed25519PrivateKey) -> BenchAccess:
    from inventory.server.benches.models import Bench
    from inventory.signing import raw_public_key

    bench = Bench(name=name)
    bench.set_public_key(raw_public_key(key))
    token = bench.new_token()
    bench.save()
    return BenchAccess(bench, token, key)


@pytest.fixture
def bench_factory(db: None) -> Any:
    """make_bench(name, key) -> BenchAccess: another registered bench."""
    return make_bench


@pytest.fixture
def bench(db: None, key: Ed25519PrivateKey) -> BenchAccess:
    return make_bench("bench-1", key)


class Api:
    """The bench API as a bench uses it (Django's test client underneath)."""

    def __init__(self, client: Any, access: BenchAccess) -> None:
        self.client = client
        self.access = access

    def upload(self, doc: Any, *, token: str | None = None, raw: bytes | None = None) -> Any:
        from inventory.signing import signed_file_bytes

        body = raw if raw is not None else signed_file_bytes(doc)
        headers = {"Authorization": f"Bearer {token or self.access.token}"}
        return self.client.post(
            "/api/v1/records", data=body, content_type="application/json", headers=headers
        )

    def get(self, record_id: str, *, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token or self.access.token}"}
        return self.client.get(f"/api/v1/records/{record_id}", headers=headers)

    def store(self, rec: dict[str, Any]) -> dict[str, Any]:
        """Sign and upload a record; fail the test unless it was stored."""
        from inventory.server.samples import signed

        response = self.upload(signed(rec, self.access.key))
        assert response.status_code == 201, response.content
        return dict(response.json())


@pytest.fixture
def api(client: Any, bench: BenchAccess) -> Api:
    return Api(client, bench)


@dataclass
class Users:
    technician: Any
    coordinator: Any
    donor: Any
    other_donor: Any
    admin: Any


PASSWORD = "a-long-test-password-42"


def make_users() -> Users:
    from django.contrib.auth.models import Group, User

    from inventory.server.programme.models import Donor
    from inventory.server.programme.roles import ensure_roles

    ensure_roles()

    def user(name: str, role: str | None, *, staff: bool = True) -> Any:
        u = User.objects.create_user(name, password=PASSWORD, is_staff=staff)
        if role:
            u.groups.add(Group.objects.get(name=role))
        return u

    users = Users(
        technician=user("tech", "technician"),
        coordinator=user("coord", "coordinator"),
        donor=user("donor", "donor", staff=False),
        other_donor=user("other", "donor", staff=False),
        admin=User.objects.create_superuser("admin", password=PASSWORD),
    )
    Donor.objects.get_or_create(name="Ville de Lyon")[0].users.add(users.donor)
    Donor.objects.get_or_create(name="Acme SA")[0].users.add(users.other_donor)
    return users


@pytest.fixture
def users(db: None) -> Users:
    return make_users()


@pytest.fixture
def stock(db: None) -> Iterator[dict[str, Any]]:
    from inventory.server.programme.models import Accessory

    items = {
        kind: Accessory.objects.create(kind=kind, quantity=quantity)
        for kind, quantity in (("mouse", 5), ("sleeve", 5), ("4g_key", 2))
    }
    yield items
