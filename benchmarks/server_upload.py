"""Upload benchmark of the programme database: N concurrent agents (benches), each
uploading M signed records to `weee serve` on PostgreSQL; checks that every record is
stored exactly once and prints throughput and latency percentiles.

    .venv/bin/python benchmarks/server_upload.py            # 50 agents x 20 records
    .venv/bin/python benchmarks/server_upload.py --agents 10 --records 5 --workers 2

Needs WEEE_TEST_POSTGRES_URL (source scripts/services/postgres.sh) or --database-url: a
throwaway database is created on that server and dropped afterwards. Records are built
and signed before the clock starts: the figure is the server's, not the signer's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import psycopg
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from inventory.server.devserver import LiveServer, postgres_database, weee_serve
from inventory.server.samples import hardware, public_key_b64, record, signed
from inventory.signing import signed_file_bytes


@dataclass
class Agent:
    name: str
    key: Ed25519PrivateKey
    token: str = ""
    bodies: list[tuple[str, bytes]] = field(default_factory=list)  # (record_id, file)


def prepare(agents: int, records: int) -> list[Agent]:
    out = []
    for a in range(agents):
        agent = Agent(name=f"bench-{a:03d}", key=Ed25519PrivateKey.generate())
        for r in range(records):
            # every third run is a laptop coming back: identity matching is on the path
            serial = f"SN-{a:03d}-{r // 3:03d}" if r % 3 else f"SN-{a:03d}-{r:03d}"
            doc = signed(record(agent.key, hw=hardware(serial=serial)), agent.key)
            agent.bodies.append((doc["record"]["record_id"], signed_file_bytes(doc)))
        out.append(agent)
    return out


def register(server: LiveServer, db_url: str, agents: list[Agent]) -> None:
    """`addbench` for every agent, in this process (50 Django start-ups would take longer
    than the benchmark itself on a small machine)."""
    import io
    import json

    os.environ.update(
        DJANGO_SETTINGS_MODULE="inventory.server.settings",
        WEEE_DATABASE_URL=db_url,
        WEEE_DATA_DIR=str(server.data_dir),
    )
    import django
    from django.core.management import call_command

    django.setup()
    for agent in agents:
        key_file = server.data_dir / f"{agent.name}.pub"
        key_file.write_text(public_key_b64(agent.key))
        out = io.StringIO()
        call_command("addbench", name=agent.name, public_key_file=str(key_file), stdout=out)
        agent.token = json.loads(out.getvalue())["token"]
    from django.db import connections

    connections.close_all()


def run_agent(url: str, agent: Agent, start: threading.Barrier) -> list[tuple[int, float]]:
    session = requests.Session()
    headers = {"Authorization": f"Bearer {agent.token}", "Content-Type": "application/json"}
    results = []
    start.wait()
    for _record_id, body in agent.bodies:
        t0 = time.perf_counter()
        response = session.post(f"{url}/api/v1/records", data=body, headers=headers, timeout=120)
        results.append((response.status_code, time.perf_counter() - t0))
    return results


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--records", type=int, default=20, help="records per agent")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers")
    parser.add_argument("--database-url", default=os.environ.get("WEEE_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    if not args.database_url:
        print(
            "server_upload: set WEEE_TEST_POSTGRES_URL (source scripts/services/postgres.sh) "
            "or pass --database-url",
            file=sys.stderr,
        )
        return 5

    t0 = time.perf_counter()
    agents = prepare(args.agents, args.records)
    total = args.agents * args.records
    print(f"signed {total} records for {args.agents} agents in {time.perf_counter() - t0:.1f} s")
    workers = args.workers or min(8, 2 * (os.cpu_count() or 1) + 1)
    with (
        postgres_database(args.database_url) as db_url,
        weee_serve(db_url, workers=workers) as server,
    ):
        t0 = time.perf_counter()
        register(server, db_url, agents)
        print(
            f"registered {len(agents)} benches in {time.perf_counter() - t0:.1f} s "
            f"(addbench); gunicorn workers: {workers}"
        )

        barrier = threading.Barrier(len(agents))
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(agents)) as pool:
            per_agent = list(pool.map(lambda a: run_agent(server.url, a, barrier), agents))
        elapsed = time.perf_counter() - started

        latencies = [lat for results in per_agent for _code, lat in results]
        codes = [code for results in per_agent for code, _lat in results]
        with psycopg.connect(db_url) as conn:
            stored, distinct = conn.execute(
                "SELECT count(*), count(DISTINCT record_id) FROM devices_record"
            ).fetchone() or (0, 0)
            ids = {str(r[0]) for r in conn.execute("SELECT record_id FROM devices_record")}
            devices = (conn.execute("SELECT count(*) FROM devices_device").fetchone() or [0])[0]
        sent = {record_id for agent in agents for record_id, _ in agent.bodies}

        # re-uploading everything changes nothing: idempotent duplicates
        dup_started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(agents)) as pool:
            again = list(pool.map(lambda a: run_agent(server.url, a, threading.Barrier(1)), agents))
        dup_elapsed = time.perf_counter() - dup_started
        with psycopg.connect(db_url) as conn:
            after = (conn.execute("SELECT count(*) FROM devices_record").fetchone() or [0])[0]

    ok = codes.count(201) == total and stored == distinct == total and ids == sent
    dup_ok = all(code == 200 for results in again for code, _ in results) and after == total
    print(
        f"uploads: {total} in {elapsed:.2f} s = {total / elapsed:.0f} records/s "
        f"({args.agents} concurrent agents x {args.records})"
    )
    print(
        f"latency: p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {percentile(latencies, 95) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms"
    )
    print(f"status codes: { {c: codes.count(c) for c in sorted(set(codes))} }")
    print(
        f"stored: {stored} rows, {distinct} distinct record ids, {devices} laptops "
        f"({'every record exactly once' if ok else 'MISMATCH'})"
    )
    print(
        f"re-upload of all {total}: {total / dup_elapsed:.0f} records/s, all 200 duplicate, "
        f"rows after: {after} ({'unchanged' if dup_ok else 'CHANGED'})"
    )
    return 0 if ok and dup_ok else 1


if __name__ == "__main__":
    sys.exit(main())
