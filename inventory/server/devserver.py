"""`weee serve` started for real in a child process (gunicorn, migrations, whitenoise), for
the tests that talk to it over HTTP (schemathesis, concurrency, PostgreSQL) and for
benchmarks/server_upload.py; and a throwaway PostgreSQL database to run it on."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import requests

from checks.system import run_command

WEEE = [str(Path(sys.executable).with_name("weee"))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    data_dir: Path

    def manage(self, *args: str, timeout: float = 120) -> str:
        result = run_command([*WEEE, "manage", *args], timeout=timeout, env=self.env)
        if not result.ok:
            raise RuntimeError(f"weee manage {' '.join(args)} failed: {result.stderr_text}")
        return result.text

    def add_bench(self, name: str, public_key_b64: str) -> str:
        key_file = self.data_dir / f"{name}.pub"
        key_file.write_text(public_key_b64 + "\n")
        out = self.manage("addbench", "--name", name, "--public-key-file", str(key_file))
        return str(json.loads(out)["token"])

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
    data_dir = Path(tempfile.mkdtemp(prefix="weee-live-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE",)}
    env["WEEE_DATA_DIR"] = str(data_dir)
    env.pop("WEEE_DATABASE_URL", None)
    if database_url:
        env["WEEE_DATABASE_URL"] = database_url
    env["WEEE_LOG_LEVEL"] = "WARNING"
    port = free_port()
    log = open(data_dir / "serve.log", "wb")
    # The server runs for the whole test or benchmark: run_command (which waits for the
    # exit) does not fit a long-running process, hence Popen here.
    process = subprocess.Popen(
        [*WEEE, "serve", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"weee serve exited {process.returncode}:\n"
                    + (data_dir / "serve.log").read_text(errors="replace")
                )
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("weee serve did not answer within 60 s")
            time.sleep(0.2)
        yield LiveServer(url=url, env=env, data_dir=data_dir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)
