"""``weee sync`` against the real programme database (``weee serve``), started here.

The server runs as its own process on a free 127.0.0.1 port with a SQLite database in a
temporary directory; a small proxy in front of it injects the faults of a bad network
(a 502, a connection reset, an answer lost after the server stored the record). Every
record must end up stored exactly once, in the order the bench wrote them.
"""

from __future__ import annotations

import copy
import datetime as dt
import ipaddress
import itertools
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import ssl
import struct
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from test_record_samples import sample_record

from agent.cli import main
from agent.errors import EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE
from agent.run.localserver import (
    WEEE_ARGV,
    free_port,
    server_env,
    spawn_serve,
    stop_process_group,
    wait_healthy,
)
from checks.system import run_command
from inventory.benchkeys import Bench, init_bench, load_bench
from inventory.spool import Spool
from inventory.sync import (
    Backoff,
    HttpRequest,
    HttpResponse,
    SyncStopped,
    TransportError,
    requests_transport,
    sync_spool,
    upload,
)


class Server:
    """``weee serve`` in a temporary data directory (SQLite), started and stopped at will."""

    def __init__(self, root: Path, database_url: str | None = None) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        # HOME too: gunicorn keeps a control socket under it, one per server
        self.env = server_env(root, database_url or "", {"HOME": str(root)})
        self.process: subprocess.Popen[bytes] | None = None

    def manage(self, *args: str) -> str:
        done = run_command([*WEEE_ARGV, "manage", *args], env=self.env, timeout=120)
        assert done.ok, done.error or done.stderr_text
        return done.text

    def start(self, workers: int = 1) -> None:
        self.process = spawn_serve(self.port, self.env, self.root / "serve.log", workers=workers)
        wait_healthy(self.url, timeout=60, process=self.process, log_path=self.root / "serve.log")

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process, grace=20)
        self.process = None

    def register(self, bench: Bench) -> str:
        answer = json.loads(
            self.manage(
                "addbench",
                "--name",
                bench.identity.name,
                "--public-key-file",
                str(bench.public_key_path),
            )
        )
        assert answer["bench_id"] == bench.key_id
        return str(answer["token"])

    def stored_record_ids(self) -> list[str]:
        """Record ids in the order the database stored them (its row ids)."""
        query = "SELECT record_id FROM devices_record ORDER BY id"
        if self.database_url:
            import psycopg

            with psycopg.connect(self.database_url) as db:
                return [str(row[0]) for row in db.execute(query).fetchall()]
        with sqlite3.connect(f"file:{self.root / 'weee.sqlite3'}?mode=ro", uri=True) as db:
            rows = db.execute(query).fetchall()
        return [str(uuid.UUID(row[0])) for row in rows]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("server"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def registered(server: Server, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A bench data directory (key + identity) registered with ``server``, and its token."""
    data = tmp_path_factory.mktemp("bench")
    bench = init_bench(data, name="sync-bench", organisation="Atelier", technician="Amina")
    return data, server.register(bench)


@pytest.fixture
def bench_dir(registered: tuple[Path, str], tmp_path: Path) -> Path:
    """A fresh data directory (empty spool) holding the registered bench's key."""
    data = tmp_path / "data"
    shutil.copytree(registered[0] / "bench", data / "bench")
    return data


_numbers = itertools.count(100)


def laptop_records(bench: Bench, count: int) -> list[dict[str, Any]]:
    """Signed records of ``count`` different laptops (the server recognises laptops by
    their serials, so each gets its own)."""
    docs = []
    for _ in range(count):
        n = next(_numbers)
        record = sample_record(n, bench=bench.record_bench())
        hardware = copy.deepcopy(record["hardware"])
        hardware["device"]["serial"] = f"PB{n:06d}"
        hardware["device"]["device_id"] = f"dmi:LENOVO:20AWA15L00:PB{n:06d}"
        for number, drive in enumerate(hardware["storage"]):
            drive["serial"] = f"S{n:06d}-{number}"
        erasures = copy.deepcopy(record["erasures"])
        for number, erasure in enumerate(erasures):
            erasure["media"]["serial"] = f"S{n:06d}-{number}"
            erasure["erasure_id"] = str(uuid.uuid4())
        docs.append(
            bench.sign(
                sample_record(n, bench=bench.record_bench(), hardware=hardware, erasures=erasures)
            )
        )
    return docs


def spool_of(data: Path, docs: list[dict[str, Any]]) -> Spool:
    spool = Spool(data / "spool")
    for doc in docs:
        spool.add(doc)
    return spool


def ids_of(docs: list[dict[str, Any]]) -> list[str]:
    return [d["record"]["record_id"] for d in docs]


def assert_stored_once_in_order(
    server: Server, token: str, spool: Spool, docs: list[dict[str, Any]]
) -> None:
    stored = server.stored_record_ids()
    ours = [i for i in stored if i in set(ids_of(docs))]
    assert ours == ids_of(docs), "not stored exactly once, in order"
    for entry in spool.entries():
        assert entry.state == "sent"
        got = requests.get(
            f"{server.url}/api/v1/records/{entry.record_id}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert got.status_code == 200
        assert got.content == entry.path.read_bytes()  # the very file the bench signed


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# -- against the real server --------------------------------------------------------------


def test_it_uploads_pending_records_in_order_exactly_once(
    server: Server, registered: tuple[Path, str], bench_dir: Path
) -> None:
    token = registered[1]
    bench = load_bench(bench_dir)
    docs = laptop_records(bench, 5)
    spool = spool_of(bench_dir, docs)
    result = sync_spool(spool, server=server.url, token=token, transport=requests_transport())
    assert result.stored == ids_of(docs) and result.ok
    assert all(e.answer and e.answer["asset_id"] for e in spool.entries())
    assert_stored_once_in_order(server, token, spool, docs)

    # a crash lost every "sent" marker: uploading again stores nothing twice
    for marker in spool.sent_dir.iterdir():
        marker.unlink()
    again = sync_spool(spool, server=server.url, token=token, transport=requests_transport())
    assert again.duplicates == ids_of(docs) and again.stored == []
    assert_stored_once_in_order(server, token, spool, docs)


def test_weee_sync_command_uploads_and_shows_status(
    server: Server, registered: tuple[Path, str], bench_dir: Path
) -> None:
    bench = load_bench(bench_dir)
    docs = laptop_records(bench, 2)
    spool_of(bench_dir, docs)
    runner = CliRunner()
    status = runner.invoke(main, ["sync", "--dir", str(bench_dir), "--status", "--json"])
    assert json.loads(status.output)["pending"] == 2
    args = [
        "sync",
        "--dir",
        str(bench_dir),
        "--server",
        server.url,
        "--token",
        registered[1],
        "--save",
    ]
    done = runner.invoke(main, args)
    assert done.exit_code == EXIT_OK, done.output
    assert "2 stored" in done.output and "asset W-" in done.output
    # saved settings: the next run needs no option, and finds nothing left to do
    again = runner.invoke(main, ["sync", "--dir", str(bench_dir)])
    assert again.exit_code == EXIT_OK and "nothing to upload" in again.output
    status = runner.invoke(main, ["sync", "--dir", str(bench_dir), "--status"])
    assert "2 sent, 0 pending" in status.output
    assert (bench_dir / "bench" / "server.json").stat().st_mode & 0o077 == 0


@pytest.mark.slow  # migrates and starts its own server: ~10 s
def test_server_down_then_up(tmp_path: Path, bench_dir: Path) -> None:
    own = Server(tmp_path / "own-server")
    own.root.mkdir()
    bench = load_bench(bench_dir)
    try:
        own.manage("migrate", "-v0")
        token = own.register(bench)
        docs = laptop_records(bench, 3)
        spool = spool_of(bench_dir, docs)

        # days offline: the run gives up, everything stays pending, nothing is lost
        args = [
            "sync",
            "--dir",
            str(bench_dir),
            "--server",
            own.url,
            "--token",
            token,
            "--attempts",
            "2",
        ]
        offline = CliRunner().invoke(main, args)
        assert offline.exit_code == EXIT_UNAVAILABLE, offline.output
        assert "3 record(s) still pending" in offline.output
        assert len(spool.pending()) == 3

        # the server comes back while a run is waiting between two tries
        sleeps: list[float] = []

        def sleep_then_start(seconds: float) -> None:
            sleeps.append(seconds)
            if own.process is None:
                own.start()

        result = sync_spool(
            spool,
            server=own.url,
            token=token,
            transport=requests_transport(),
            sleep=sleep_then_start,
        )
        assert result.stored == ids_of(docs) and sleeps == [1.0]
        assert_stored_once_in_order(own, token, spool, docs)
    finally:
        own.stop()


class FaultyProxy:
    """A one-request-per-connection HTTP proxy that misbehaves on chosen requests.

    Faults: "502" answers Bad Gateway without forwarding; "reset" drops the connection
    before forwarding; "lose-answer" forwards (the server stores the record) and then
    drops the connection instead of relaying the answer.
    """

    def __init__(
        self, upstream_port: int, faults: dict[int, str], tls: ssl.SSLContext | None = None
    ) -> None:
        self.upstream_port = upstream_port
        self.faults = faults
        self.tls = tls
        self.log: list[tuple[int, str, str]] = []  # (request number, fault, upstream status)
        self.listener = socket.create_server(("127.0.0.1", 0))
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        # one thread per connection: concurrent uploaders really race at the server
        for number in itertools.count(1):
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(number, conn), daemon=True).start()

    def _connection(self, number: int, conn: socket.socket) -> None:
        try:
            if self.tls:
                conn = self.tls.wrap_socket(conn, server_side=True)
            with conn:
                self._handle(number, conn)
        except (ssl.SSLError, OSError) as exc:  # a client refusing our certificate
            self.log.append((number, "tls-refused", str(exc)[:80]))

    @staticmethod
    def _read_request(conn: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            body += conn.recv(65536)
        return head + b"\r\n\r\n" + body

    @staticmethod
    def _reset(conn: socket.socket) -> None:
        # SO_LINGER 0: close sends a TCP RST, as a dying middlebox would
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _handle(self, number: int, conn: socket.socket) -> None:
        request = self._read_request(conn)
        fault = self.faults.get(number, "")
        if fault == "502":
            body = b"<html><body>502 Bad Gateway</body></html>"
            conn.sendall(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            self.log.append((number, fault, "-"))
            return
        if fault == "reset":
            self._reset(conn)
            self.log.append((number, fault, "-"))
            return
        with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30) as upstream:
            upstream.sendall(request)
            response = b""
            while chunk := upstream.recv(65536):  # gunicorn closes after each answer
                response += chunk
        self.log.append((number, fault, response.split(b" ", 2)[1].decode()))
        if fault == "lose-answer":
            self._reset(conn)
            return
        conn.sendall(response)

    def close(self) -> None:
        self.listener.close()


def test_faults_in_the_middle_of_a_batch_store_every_record_once_in_order(
    server: Server, registered: tuple[Path, str], bench_dir: Path
) -> None:
    token = registered[1]
    docs = laptop_records(load_bench(bench_dir), 6)
    spool = spool_of(bench_dir, docs)
    proxy = FaultyProxy(server.port, {2: "502", 4: "reset", 6: "lose-answer", 8: "502", 9: "502"})
    sleeps = Sleeps()
    try:
        result = sync_spool(
            spool, server=proxy.url, token=token, transport=requests_transport(), sleep=sleeps
        )
    finally:
        proxy.close()
    # requests: 1 ok, 2 502, 3 ok, 4 reset, 5 ok, 6 answer lost, 7 duplicate, 8-9 502, 10-11 ok
    # the 4th record was stored at request 6 but its answer lost: the retry is a duplicate
    assert result.duplicates == [ids_of(docs)[3]]
    assert result.stored == [i for i in ids_of(docs) if i != ids_of(docs)[3]]
    assert result.retries == 5 and sleeps == [1.0, 1.0, 1.0, 1.0, 2.0]
    assert [status for _, _, status in proxy.log].count("201") == 6
    assert_stored_once_in_order(server, token, spool, docs)


def test_conflicting_record_is_rejected_and_the_batch_goes_on(
    server: Server, registered: tuple[Path, str], bench_dir: Path
) -> None:
    token = registered[1]
    bench = load_bench(bench_dir)
    docs = laptop_records(bench, 3)
    # another spool already sent a record with the same id but other content
    twin = copy.deepcopy(docs[1]["record"])
    twin["maintenance_ticket"] = "MT-9"
    other = Spool(bench_dir / "other-spool")
    other.add(bench.sign(twin))
    sync_spool(other, server=server.url, token=token, transport=requests_transport())

    spool = spool_of(bench_dir, docs)
    result = sync_spool(spool, server=server.url, token=token, transport=requests_transport())
    assert result.stored == [ids_of(docs)[0], ids_of(docs)[2]]
    assert result.rejected[0][0] == ids_of(docs)[1] and "409" in result.rejected[0][1]
    assert [e.state for e in spool.entries()] == ["sent", "rejected", "sent"]
    status = CliRunner().invoke(main, ["sync", "--dir", str(bench_dir), "--status"])
    assert "rejected" in status.output and "conflict" in status.output


def test_wrong_token_stops_the_run_at_once(
    server: Server, registered: tuple[Path, str], bench_dir: Path
) -> None:
    spool = spool_of(bench_dir, laptop_records(load_bench(bench_dir), 2))
    args = ["sync", "--dir", str(bench_dir), "--server", server.url, "--token", "wrong"]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == EXIT_USAGE
    assert "token" in done.output and "2 record(s) still pending" in done.output
    assert len(spool.pending()) == 2


def test_record_of_another_bench_is_refused_with_403(
    server: Server, registered: tuple[Path, str], tmp_path: Path
) -> None:
    stranger = init_bench(tmp_path / "stranger", name="stranger")
    spool = spool_of(tmp_path / "stranger", laptop_records(stranger, 1))
    with pytest.raises(SyncStopped, match="403") as info:
        sync_spool(spool, server=server.url, token=registered[1], transport=requests_transport())
    assert info.value.kind == "config" and len(spool.pending()) == 1


def test_damaged_record_is_never_uploaded(
    server: Server, registered: tuple[Path, str], bench_dir: Path
) -> None:
    bench = load_bench(bench_dir)
    docs = laptop_records(bench, 2)
    spool = spool_of(bench_dir, docs)
    first = spool.entries()[0].path
    first.write_bytes(
        first.read_bytes().replace(b'"kind": "refurbishment"', b'"kind": "recycling"')
    )
    args = ["sync", "--dir", str(bench_dir), "--server", server.url, "--token", registered[1]]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == EXIT_FAILED and "damaged" in done.output
    assert ids_of(docs)[0] not in server.stored_record_ids()
    assert [e.state for e in spool.entries()] == ["pending", "sent"]


def make_ca_and_server_cert(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """A private CA and a certificate for 127.0.0.1 signed by it, as a programme running
    its database on its own network would have."""
    now = dt.datetime.now(dt.UTC)

    def build(subject: str, issuer: str, key: Any, signer: Any, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
            builder = builder.add_extension(san, critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = build("weee test CA", "weee test CA", ca_key, ca_key, True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = build("127.0.0.1", "weee test CA", server_key, ca_key, False)
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    chain = directory / "server.pem"
    chain.write_bytes(
        server_cert.public_bytes(serialization.Encoding.PEM)
        + server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain)
    return ca_path, context


def test_tls_with_a_private_ca(
    server: Server, registered: tuple[Path, str], bench_dir: Path, tmp_path: Path
) -> None:
    ca, context = make_ca_and_server_cert(tmp_path)
    docs = laptop_records(load_bench(bench_dir), 2)
    spool = spool_of(bench_dir, docs)
    proxy = FaultyProxy(server.port, {}, tls=context)
    try:
        # without the CA the bench must refuse the server, and say how to fix it
        args = ["sync", "--dir", str(bench_dir), "--server", proxy.url, "--token", registered[1]]
        refused = CliRunner().invoke(main, args)
        assert refused.exit_code == EXIT_USAGE and "--ca" in refused.output
        assert len(spool.pending()) == 2
        done = CliRunner().invoke(main, [*args, "--ca", str(ca)])
        assert done.exit_code == EXIT_OK, done.output
    finally:
        proxy.close()
    assert_stored_once_in_order(server, registered[1], spool, docs)


def fork_sync(spool: Spool, url: str, token: str) -> tuple[int, int]:
    """``sync_spool`` in a forked child; returns its pid and a pipe that gets a byte per
    progress line (the first: it has its pending list and starts the first upload) and
    ends when the child does. The caller reaps the child, then closes the pipe."""
    started, tell = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        try:
            os.close(started)

            def told(_line: str) -> None:
                os.write(tell, b".")  # the parent keeps the pipe open until the end

            transport = requests_transport()
            sync_spool(spool, server=url, token=token, transport=transport, progress=told)
        finally:
            os._exit(0)
    os.close(tell)
    os.read(started, 1)
    return pid, started


def test_sync_killed_at_random_instants_still_stores_each_record_once(
    server: Server, registered: tuple[Path, str], bench_dir: Path
) -> None:
    token = registered[1]
    bench = load_bench(bench_dir)
    # The kill instants are drawn within the time a forked child takes, on this machine
    # and now, from its first progress line to its end for one record of its own: a fixed
    # window is too short for a loaded machine or too long for a fast one, where the
    # child would finish first.
    timing = Spool(bench_dir / "timing-spool")
    timing.add(laptop_records(bench, 1)[0])
    pid, pipe = fork_sync(timing, server.url, token)
    clock = time.monotonic()
    while os.read(pipe, 64):
        pass
    window = time.monotonic() - clock
    os.waitpid(pid, 0)
    os.close(pipe)
    assert not timing.pending()
    spool = Spool(bench_dir / "spool")
    docs: list[dict[str, Any]] = []
    rng = random.Random(6)
    kills = misses = 0
    for _ in range(40):
        if not spool.pending():
            if kills >= 3:
                break
            # the first batch; or a child finished everything before its kill (the
            # machine got faster: the window was halved) and fewer than three landed
            batch = laptop_records(bench, 6)
            for doc in batch:
                spool.add(doc)
            docs += batch
        # the kill lands at a random instant after the child has started its first
        # upload, not after a fixed delay from the fork
        pid, pipe = fork_sync(spool, server.url, token)
        time.sleep(rng.uniform(0.0, window))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(pipe)
        if os.WIFSIGNALED(status):
            kills += 1
        else:
            misses += 1
            window /= 2
    result = sync_spool(spool, server=server.url, token=token, transport=requests_transport())
    print(
        f"{kills} kills, {misses} children done first, {len(result.stored)} stored by the "
        f"last run, {len(docs)} records, window {window * 1000:.0f} ms at the end"
    )
    assert kills >= 3 and not spool.pending()
    assert len(result.stored) + len(result.duplicates) <= len(docs)
    assert_stored_once_in_order(server, token, spool, docs)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one server, dropped afterwards."""
    base = os.environ.get("WEEE_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("WEEE_TEST_POSTGRES_URL is not set (scripts/services/postgres.sh sets it)")
    import psycopg

    name = f"test_weee_sync_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
@pytest.mark.slow  # its own migrated PostgreSQL database and server: ~15 s
def test_concurrent_syncs_on_postgresql_store_each_record_once_in_order(
    tmp_path: Path, bench_dir: Path, postgres_url: str
) -> None:
    # The bench run's sync step and a technician's "weee sync" may overlap: three
    # uploaders race over one spool against two server workers, through a flaky proxy.
    own = Server(tmp_path / "pg-server", database_url=postgres_url)
    own.root.mkdir()
    bench = load_bench(bench_dir)
    try:
        own.manage("migrate", "-v0")
        token = own.register(bench)
        own.start(workers=2)
        docs = laptop_records(bench, 10)
        spool = spool_of(bench_dir, docs)
        proxy = FaultyProxy(own.port, {3: "502", 7: "reset", 11: "lose-answer", 15: "502"})
        # A start gate makes the race certain, not a matter of speed: each uploader takes
        # its list of pending records, says so (its first progress line) and waits until
        # all three have theirs. Without it, on a loaded machine one uploader could send
        # the whole spool before another even looked, and nothing would race.
        ready_r, ready_w = os.pipe()
        go_r, go_w = os.pipe()
        children = []
        for _ in range(3):
            pid = os.fork()
            if pid == 0:  # the child never returns into pytest
                code = 1
                try:
                    os.close(ready_r)
                    os.close(go_w)
                    gated: list[str] = []

                    def at_start(line: str, gated: list[str] = gated) -> None:
                        if not gated:
                            gated.append(line)
                            os.write(ready_w, b".")
                            os.read(go_r, 1)  # end of file: every uploader is ready

                    sync_spool(
                        spool,
                        server=proxy.url,
                        token=token,
                        transport=requests_transport(),
                        sleep=lambda s: time.sleep(s / 10),
                        progress=at_start,
                    )
                    code = 0 if gated and gated[0].startswith("[1/10]") else 2
                finally:
                    os._exit(code)
            children.append(pid)
        os.close(ready_w)
        os.close(go_r)
        ready = b""
        while len(ready) < 3 and (more := os.read(ready_r, 3)):
            ready += more
        os.close(go_w)  # go
        os.close(ready_r)
        statuses = [os.waitpid(pid, 0)[1] for pid in children]
        proxy.close()
        assert all(os.WIFEXITED(s) and os.WEXITSTATUS(s) == 0 for s in statuses)
        answers = [status for _, _, status in proxy.log]
        # the race happened: each uploader sent all ten, the server stored each once
        assert answers.count("201") == 10 and answers.count("200") >= 20
        assert not spool.pending()
        assert_stored_once_in_order(own, token, spool, docs)
    finally:
        own.stop()


# -- the retry policy, with a transport that answers from a script -------------------------


class ScriptedTransport:
    def __init__(self, *answers: HttpResponse | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[HttpRequest] = []

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_backoff_is_exponential_and_bounded() -> None:
    assert list(Backoff(attempts=8, initial=1, factor=2, maximum=10).delays()) == [
        1,
        2,
        4,
        8,
        10,
        10,
        10,
    ]


def test_retries_run_out_and_say_so() -> None:
    transport = ScriptedTransport(*[TransportError("ConnectionError: refused")] * 3)
    sleeps = Sleeps()
    with pytest.raises(SyncStopped, match="unavailable after 3 attempts") as info:
        upload(
            b"{}",
            server="http://s",
            token="t",
            transport=transport,
            backoff=Backoff(attempts=3),
            sleep=sleeps,
        )
    assert info.value.kind == "unavailable" and sleeps == [1.0, 2.0]
    assert transport.requests[0].url == "http://s/api/v1/records"
    assert transport.requests[0].headers["Authorization"] == "Bearer t"


def test_tls_failure_is_not_retried_and_names_the_ca_option() -> None:
    transport = ScriptedTransport(TransportError("TLS failure: self-signed", tls=True))
    with pytest.raises(SyncStopped, match="--ca"):
        upload(b"{}", server="https://s", token="t", transport=transport, sleep=Sleeps())


def test_a_captive_portal_page_is_not_taken_for_an_answer(tmp_path: Path) -> None:
    bench = init_bench(tmp_path, name="b")
    spool = spool_of(tmp_path, laptop_records(bench, 1))
    transport = ScriptedTransport(HttpResponse(200, b"<html>Welcome to the hotel Wi-Fi</html>"))
    with pytest.raises(SyncStopped, match="this URL does not take records"):
        sync_spool(spool, server="http://portal", token="t", transport=transport)
    assert len(spool.pending()) == 1


def test_a_server_that_is_not_a_url_is_a_usage_error(tmp_path: Path) -> None:
    init_bench(tmp_path, name="b")
    args = ["sync", "--dir", str(tmp_path), "--server", "db.example.org", "--token", "t"]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == EXIT_USAGE and "expected http(s)://" in done.output


def test_a_redirect_is_not_followed_with_the_token(tmp_path: Path) -> None:
    bench = init_bench(tmp_path, name="b")
    spool = spool_of(tmp_path, laptop_records(bench, 1))
    transport = ScriptedTransport(HttpResponse(301, b""))
    with pytest.raises(SyncStopped, match="redirects"):
        sync_spool(spool, server="http://db.example.org", token="t", transport=transport)
