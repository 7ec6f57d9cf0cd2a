"""Uploading spooled records to the programme database: in order, exactly once.

The protocol is the API's ``POST /api/v1/records`` with the bench's bearer token. The
record id makes uploads idempotent: a record the server already holds is answered with
``200 duplicate``, so a record is re-sent whenever its "sent" marker is missing (a crash
between the server's answer and the marker) and still stored exactly once.

Failures fall in three kinds:

* transient (connection refused or dropped, timeout, 429, 5xx): retried with a bounded
  exponential backoff, then the run stops with the record still pending; the next run
  resumes from it, after hours or days offline;
* about one record (400 malformed/schema, 409 conflict, 422 bad signature): that record
  is marked rejected with the server's answer and the run goes on with the next one;
* about the bench or the configuration (401 token, 403 foreign key, TLS, wrong URL):
  every record would fail the same way, so the run stops at once with what to fix.

All HTTP goes through one function, a :data:`Transport`, which tests replace.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from inventory.spool import Spool, SpoolEntry, SpoolError, atomic_write

log = logging.getLogger(__name__)

API_RECORDS = "/api/v1/records"
CONFIG_FILE = "server.json"  # under the bench directory, next to the key


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None = None
    timeout: float = 30.0
    verify: bool | str = True  # True: system CAs; str: a CA bundle file


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class TransportError(Exception):
    """No HTTP answer at all (refused, reset, timed out, TLS failure)."""

    def __init__(self, message: str, *, tls: bool = False) -> None:
        super().__init__(message)
        self.tls = tls


Transport = Callable[[HttpRequest], HttpResponse]


def requests_transport() -> Transport:
    """The real transport: one ``requests`` session, reused for keep-alive."""
    import requests

    session = requests.Session()

    def send(request: HttpRequest) -> HttpResponse:
        try:
            response = session.request(
                request.method,
                request.url,
                headers=dict(request.headers),
                data=request.body,
                timeout=request.timeout,
                verify=request.verify,
                allow_redirects=False,  # a redirect would drop the Authorization header
            )
        except requests.exceptions.SSLError as exc:
            raise TransportError(f"TLS failure: {exc}", tls=True) from None
        except requests.exceptions.RequestException as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from None
        return HttpResponse(response.status_code, response.content)

    return send


# -- configuration ------------------------------------------------------------------------


@dataclass
class SyncConfig:
    server: str | None = None
    token: str | None = None
    ca: str | None = None

    @property
    def verify(self) -> bool | str:
        return self.ca or True


def config_path(data_dir: Path) -> Path:
    return Path(data_dir) / "bench" / CONFIG_FILE


def load_config(data_dir: Path) -> SyncConfig:
    path = config_path(data_dir)
    if not path.exists():
        return SyncConfig()
    fields = json.loads(path.read_text("utf-8"))
    return SyncConfig(**{k: fields.get(k) for k in ("server", "token", "ca")})


def save_config(data_dir: Path, config: SyncConfig) -> None:
    """Saved beside the bench key, readable only by its owner: the token is a secret."""
    path = config_path(data_dir)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(asdict(config), indent=2) + "\n").encode(), mode=0o600)


# -- the run ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """Bounded exponential backoff: 1, 2, 4, 8, 16 s ... capped, ``attempts`` tries."""

    attempts: int = 6
    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 60.0

    def delays(self) -> Iterator[float]:
        delay = self.initial
        for _ in range(self.attempts - 1):
            yield min(delay, self.maximum)
            delay *= self.factor


class SyncStopped(Exception):
    """The run stopped before the end; the records left are still pending.

    ``kind`` is "unavailable" (transient errors outlasted the retries) or "config" (token,
    key, TLS, URL: a person must fix something first).
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class SyncResult:
    stored: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (record_id, why)
    damaged: list[tuple[str, str]] = field(default_factory=list)  # (record_id, why)
    retries: int = 0

    @property
    def ok(self) -> bool:
        return not self.rejected and not self.damaged


TRANSIENT = {408, 425, 429, 500, 502, 503, 504}
REJECTED = {400, 409, 413, 422}


def _why(response: HttpResponse) -> str:
    answer = response.json()
    if isinstance(answer, dict) and "error" in answer:
        detail = answer.get("detail")
        return f"{answer['error']}: {detail}" if detail is not None else str(answer["error"])
    return response.body[:200].decode("utf-8", "replace") or f"HTTP {response.status}"


def records_url(server: str) -> str:
    return server.rstrip("/") + API_RECORDS


def upload(
    body: bytes,
    *,
    server: str,
    token: str,
    transport: Transport,
    verify: bool | str = True,
    timeout: float = 30.0,
    backoff: Backoff = Backoff(),
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str], None] = lambda line: None,
) -> tuple[HttpResponse, int]:
    """POST one signed record, retrying transient failures; returns (answer, retries).

    Raises :class:`SyncStopped` when the retries run out or on a TLS failure.
    """
    request = HttpRequest(
        "POST",
        records_url(server),
        {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
        body,
        timeout,
        verify,
    )
    delays = backoff.delays()
    retries = 0
    while True:
        try:
            response = transport(request)
        except TransportError as exc:
            if exc.tls:
                raise SyncStopped(
                    "config", f"{exc} (give the server's CA certificate with --ca)"
                ) from None
            problem = str(exc)
        else:
            if response.status not in TRANSIENT:
                return response, retries
            problem = f"HTTP {response.status} {_why(response)}"
        delay = next(delays, None)
        if delay is None:
            raise SyncStopped(
                "unavailable",
                f"{server} unavailable after {backoff.attempts} attempts: {problem}",
            )
        retries += 1
        progress(f"  {problem}; retrying in {delay:g} s")
        sleep(delay)


def sync_spool(
    spool: Spool,
    *,
    server: str,
    token: str,
    transport: Transport,
    verify: bool | str = True,
    public_key: bytes | None = None,
    timeout: float = 30.0,
    backoff: Backoff = Backoff(),
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str], None] = lambda line: None,
) -> SyncResult:
    """Upload every pending record of ``spool`` in the order they were written.

    Each answer is recorded in the spool as soon as it arrives, so a run that stops (or
    is killed) resumes where it was. Raises :class:`SyncStopped`.
    """
    result = SyncResult()
    pending = spool.pending()
    for number, entry in enumerate(pending, 1):
        progress(f"[{number}/{len(pending)}] record {entry.record_id}")
        try:
            spool.load(entry, public_key)
        except SpoolError as exc:
            # never upload a file the stick damaged; it stays pending for an audit
            result.damaged.append((entry.record_id, str(exc)))
            progress(f"  NOT uploaded: {exc}")
            continue
        response, retries = upload(
            entry.path.read_bytes(),
            server=server,
            token=token,
            transport=transport,
            verify=verify,
            timeout=timeout,
            backoff=backoff,
            sleep=sleep,
            progress=progress,
        )
        result.retries += retries
        _settle(spool, entry, response, server, result, progress)
    return result


def _settle(
    spool: Spool,
    entry: SpoolEntry,
    response: HttpResponse,
    server: str,
    result: SyncResult,
    progress: Callable[[str], None],
) -> None:
    answer = response.json()
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if response.status in (200, 201) and isinstance(answer, dict):
        if answer.get("record_id") != entry.record_id:
            raise SyncStopped(
                "config",
                f"{server} answered for record {answer.get('record_id')!r} instead of "
                f"{entry.record_id}: is this a weee programme database?",
            )
        spool.mark_sent(
            entry.record_id, {**answer, "http_status": response.status, "server": server, "at": at}
        )
        (result.stored if response.status == 201 else result.duplicates).append(entry.record_id)
        asset = f", asset {answer['asset_id']}" if answer.get("asset_id") else ""
        progress(f"  {answer.get('status', 'stored')}{asset}")
        return
    why = _why(response)
    if response.status in REJECTED:
        spool.mark_rejected(
            entry.record_id,
            {"http_status": response.status, "answer": answer, "server": server, "at": at},
        )
        result.rejected.append((entry.record_id, f"HTTP {response.status} {why}"))
        progress(f"  REJECTED: HTTP {response.status} {why}")
        return
    hints = {
        401: "the bench token is missing, wrong or revoked (weee sync --token ... --save)",
        403: "the server has another public key for this bench: register this bench's key",
    }
    if 300 <= response.status < 400:
        hint = "the server redirects (http to https?): give --server the final URL"
    else:
        hint = hints.get(response.status, "check --server: this URL does not take records")
    raise SyncStopped("config", f"HTTP {response.status} {why}: {hint}")
