"""A programme database on this machine, started and stopped by the caller.

``weee demo`` and the VM bench tests need the real server (``weee serve``: Django on
gunicorn, the embedded SQLite database) for the length of one run, on 127.0.0.1 only,
and a bench registered with it (``weee manage addbench``). The server tests and
benchmarks/server_upload.py start it the same way (``inventory.server.devserver``),
PostgreSQL included (``database_url``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from agent.errors import UnavailableError
from checks.system import run_command

# the weee command of this very installation, whatever PATH says
WEEE_ARGV = [
    sys.executable,
    "-c",
    "import sys; from agent.cli import main; sys.argv[0] = 'weee'; main()",
]


def server_env(
    data_dir: Path, database_url: str = "", extra: dict[str, str] | None = None
) -> dict[str, str]:
    # The embedded database (SQLite under data_dir) unless database_url is given,
    # whatever WEEE_DATABASE_URL the calling shell may have set for another server (an
    # empty URL means SQLite). Set, not removed: run_command lays these over the
    # caller's environment.
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "inventory.server.settings",
            "WEEE_DATABASE_URL": database_url,
            "WEEE_DATA_DIR": str(data_dir),
        }
    )
    env.update(extra or {})
    return env


def free_port(host: str = "127.0.0.1") -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class LocalServer:
    port: int
    data_dir: Path
    env: dict[str, str]  # the server's: manage() reaches the same database

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "serve.log"

    def manage(self, *args: str, timeout: float = 120.0) -> str:
        """``weee manage ARGS`` against this server's database; its stdout."""
        result = run_command([*WEEE_ARGV, "manage", *args], timeout=timeout, env=self.env)
        if not result.ok:
            raise UnavailableError(
                f"weee manage {' '.join(args)} failed: {result.error or result.returncode}: "
                + result.stderr_text[-800:]
            )
        return result.text

    def register_bench(self, name: str, public_key_file: Path) -> str:
        """Register a bench's public key; returns its bearer token."""
        out = self.manage("addbench", "--name", name, "--public-key-file", str(public_key_file))
        token: str = json.loads(out.strip().splitlines()[-1])["token"]
        return token

    def get_record(self, record_id: str, token: str) -> requests.Response:
        return requests.get(
            f"{self.url}/api/v1/records/{record_id}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )


def wait_healthy(
    url: str,
    *,
    timeout: float,
    process: subprocess.Popen[bytes] | None,
    log_path: Path | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            why = f"weee serve exited with status {process.returncode}"
            if log_path is not None and log_path.exists():
                why += ":\n" + log_path.read_text(errors="replace")[-2000:]
            raise UnavailableError(why)
        try:
            if requests.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise UnavailableError(f"{url} did not answer /api/v1/health within {timeout:.0f} s")


def spawn_serve(
    port: int,
    env: dict[str, str],
    log_path: Path,
    *,
    workers: int = 2,
    listener: socket.socket | None = None,
) -> subprocess.Popen[bytes]:
    """``weee serve`` on 127.0.0.1:``port`` in the background, its output appended to
    ``log_path``; stop it with :func:`stop_process_group`.

    With ``listener`` (a socket already listening on ``port``) the server serves on that
    socket (gunicorn's ``fd://``) instead of binding the port again: no other program
    can take the port between choosing it and the server's start.
    """
    bind = f"fd://{listener.fileno()}" if listener is not None else f"127.0.0.1:{port}"
    argv = [*WEEE_ARGV, "serve", "--bind", bind, "--workers", str(workers)]
    with log_path.open("ab") as log:
        # Popen, not run_command: the server runs until the caller stops it; it gets
        # its own process group so its gunicorn workers go with it.
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            pass_fds=(listener.fileno(),) if listener is not None else (),
        )


def listening_socket(host: str = "127.0.0.1") -> socket.socket:
    """A socket listening on a free port of ``host``, for :func:`spawn_serve`."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, 0))
    listener.listen(128)
    return listener


@contextlib.contextmanager
def local_server(
    data_dir: Path,
    *,
    port: int | None = None,
    workers: int = 2,
    startup_timeout: float = 90.0,
    database_url: str = "",
    extra_env: dict[str, str] | None = None,
) -> Iterator[LocalServer]:
    """``weee serve`` on 127.0.0.1 with its SQLite database under ``data_dir`` (or the
    one at ``database_url``); stopped (SIGTERM, then SIGKILL) when the block ends,
    whatever happened."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = server_env(data_dir, database_url, extra_env)
    if port:  # the caller's port (a server restarted on the same address): bound by gunicorn
        server = LocalServer(port, data_dir, env)
        process = spawn_serve(port, env, server.log_path, workers=workers)
    else:
        with listening_socket() as listener:
            server = LocalServer(listener.getsockname()[1], data_dir, env)
            process = spawn_serve(
                server.port, env, server.log_path, workers=workers, listener=listener
            )
    try:
        wait_healthy(server.url, timeout=startup_timeout, process=process, log_path=server.log_path)
        yield server
    finally:
        stop_process_group(process)


def stop_process_group(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
