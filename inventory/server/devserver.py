"""`weee serve` started for real in a child process (gunicorn, migrations, whitenoise), for
the tests that talk to it over HTTP (schemathesis, concurrency, PostgreSQL) and for
benchmarks/server_upload.py; and a throwaway PostgreSQL database to run it on. The
server itself is started and stopped by ``agent.run.localserver`` (as for ``weee demo``)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from agent.run.localserver import LocalServer, local_server


@dataclass
class LiveServer(LocalServer):
    def add_bench(self, name: str, public_key_b64: str) -> str:
        key_file = self.data_dir / f"{name}.pub"
        key_file.write_text(public_key_b64 + "\n")
        return self.register_bench(name, key_file)

    def count(self, model: str) -> int:
        """Rows of ``app.Model`` in the server's database."""
        code = f"from django.apps import apps; print(apps.get_model('{model}').objects.count())"
        return int(self.manage("shell", "-c", code).split()[-1])


@contextlib.contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh, empty database on the test PostgreSQL, dropped afterwards."""
    import psycopg

    name = f"weee_live_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(urlparse(admin_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def weee_serve(database_url: str | None = None, *, workers: int = 2) -> Iterator[LiveServer]:
    """``weee serve`` on a free port with a fresh data folder (removed afterwards), on
    SQLite or on ``database_url``."""
    data_dir = Path(tempfile.mkdtemp(prefix="weee-live-"))
    try:
        with local_server(
            data_dir,
            workers=workers,
            startup_timeout=60,
            database_url=database_url or "",
            extra_env={"WEEE_LOG_LEVEL": "WARNING"},
        ) as server:
            yield LiveServer(**vars(server))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
