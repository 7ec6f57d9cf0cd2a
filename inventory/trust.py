"""Which bench keys this machine trusts: the one rule behind `weee verify`, `weee
certificate` and `weee label`.

A signature proves that a record is intact and was signed by the key it carries; only
knowing that key proves *which bench* signed it. A record re-signed with a freshly made
key is perfectly intact, so a signer is accepted only when its key is known from one of
these sources:

* this bench's own key: ``<data dir>/bench/bench.pub`` and the name in ``bench.json``
  (what ``weee bench init`` writes);
* a trusted-benches file, TOML, by default ``<data dir>/trusted-benches.toml`` (absent:
  no key from it)::

      # benches whose records this machine accepts
      [[bench]]
      name = "lille-bench-2"
      public_key = "6hD2...="   # base64 of the raw 32-byte key: the content of bench.pub
      key_id = "3f2a9c0d4e5b6a71" # optional; when given it must match the key

* keys given one by one (``--public-key``);
* the programme database's registry of benches, ``GET <server>/api/v1/benches`` (public,
  read-only; over https, verified against the system CAs or a given CA file; plain http
  only from this machine). A bench the database lists as inactive is not trusted.

Anything else is an unknown signer: its record is "not verified", however intact.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from inventory.signing import FileVerdict, inspect_signed_bytes, key_id_of, parse_public_key

TRUSTED_FILE = "trusted-benches.toml"  # under the data directory
API_BENCHES = "/api/v1/benches"
SERVER_TIMEOUT = 15.0  # seconds, for the connection and for each read


class TrustError(Exception):
    """A trust source is unusable: a malformed file or key, or a server answer that is not
    a list of benches. The message says which and why."""


class TrustUnavailable(TrustError):
    """The programme database could not be reached (refused, timed out, TLS failure)."""


@dataclass(frozen=True)
class TrustedKey:
    public_key: bytes  # raw 32 bytes
    bench: str | None  # the bench's name, as the source gives it
    source: str  # where this key is known from, for a person
    active: bool = True  # False: the source knows the key but no longer trusts it

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_key)


@dataclass(frozen=True)
class TrustVerdict:
    """Whether a signer's key is known, and from where."""

    key_id: str
    trusted: bool
    bench: str | None = None  # the trusted (or revoked) bench's name
    source: str | None = None
    reason: str = ""  # for an untrusted key: why, in one sentence

    def describe(self) -> str:
        if self.trusted and self.bench:
            return f"signed by bench {self.bench} (key {self.key_id}), trusted: {self.source}"
        if self.trusted:
            return f"signed by key {self.key_id}, trusted: {self.source}"
        return self.reason

    def to_json(self) -> dict[str, Any]:
        return {
            "trusted": self.trusted,
            "key_id": self.key_id,
            "bench": self.bench,
            "source": self.source,
            "reason": self.reason or None,
        }


@dataclass
class TrustStore:
    keys: list[TrustedKey] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # every source consulted, for messages

    def add(self, key: TrustedKey) -> None:
        self.keys.append(key)

    def judge(self, public_key: bytes) -> TrustVerdict:
        """Trusted when an active source knows ``public_key``; otherwise unknown (or
        revoked, when the only sources knowing it list it as inactive)."""
        key_id = key_id_of(public_key)
        known = [k for k in self.keys if k.public_key == public_key]
        for key in known:
            if key.active:
                return TrustVerdict(key_id, True, key.bench, key.source)
        if known:
            key = known[0]
            return TrustVerdict(
                key_id,
                False,
                key.bench,
                key.source,
                f"signed by key {key_id} of bench {key.bench}, which {key.source} lists as "
                "inactive: not verified",
            )
        return TrustVerdict(
            key_id, False, reason=f"signed by an unknown key {key_id}: not verified"
        )

    def describe_sources(self) -> str:
        return "; ".join(self.sources) if self.sources else "none"

    @classmethod
    def build(
        cls,
        data_dir: Path | None,
        *,
        trusted_file: Path | None = None,
        public_keys: Iterable[bytes] = (),
        server: str | None = None,
        ca: str | None = None,
        timeout: float = SERVER_TIMEOUT,
    ) -> TrustStore:
        """The keys of every source: the bench in ``data_dir`` (if any), ``trusted_file``
        (default: ``data_dir/trusted-benches.toml`` when it exists), ``public_keys``, and
        ``server``'s registry. Raises :class:`TrustError` / :class:`TrustUnavailable`."""
        store = cls()
        if data_dir is not None:
            own = own_bench_key(Path(data_dir))
            if own is not None:
                store.add(own)
                store.sources.append(own.source)
        named = trusted_file is not None
        path = trusted_file if named else (Path(data_dir) / TRUSTED_FILE if data_dir else None)
        if path is not None and (named or path.exists()):
            keys = read_trusted_file(path)
            for key in keys:
                store.add(key)
            store.sources.append(f"{len(keys)} key(s) in the trusted-benches file {path}")
        given = list(public_keys)
        for raw in given:
            store.add(TrustedKey(raw, None, "the key given with --public-key"))
        if given:
            store.sources.append(f"{len(given)} key(s) given with --public-key")
        if server:
            keys = fetch_server_keys(server, ca=ca, timeout=timeout)
            for key in keys:
                store.add(key)
            store.sources.append(f"{len(keys)} bench(es) registered at {server}")
        return store


# -- the sources ----------------------------------------------------------------------------


def own_bench_key(data_dir: Path) -> TrustedKey | None:
    """This bench's public key and name, from the files ``weee bench init`` wrote (the
    private key is not read: verifying needs no secret). None when there is no bench."""
    directory = data_dir / "bench"
    pub = directory / "bench.pub"
    if not pub.exists():
        return None
    try:
        raw = parse_public_key(pub.read_bytes())
    except (OSError, ValueError) as exc:
        raise TrustError(f"this bench's public key {pub} is unusable: {exc}") from None
    name = None
    try:
        identity = json.loads((directory / "bench.json").read_text("utf-8"))
    except (OSError, ValueError):
        identity = {}
    if isinstance(identity, dict):
        if identity.get("key_id") not in (None, key_id_of(raw)):
            raise TrustError(
                f"{directory / 'bench.json'} names key {identity.get('key_id')} but {pub} "
                f"holds key {key_id_of(raw)}"
            )
        name = identity.get("name") if isinstance(identity.get("name"), str) else None
    return TrustedKey(raw, name, f"this bench's own key ({pub})")


def _decode_key(text: Any, where: str) -> bytes:
    if not isinstance(text, str):
        raise TrustError(f"{where}: public_key must be a base64 string")
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != 32:
        raise TrustError(f"{where}: public_key is not the base64 of a 32-byte Ed25519 key")
    return raw


def read_trusted_file(path: Path) -> list[TrustedKey]:
    """The ``[[bench]]`` entries of a trusted-benches file (format: module docstring)."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise TrustError(f"cannot read the trusted-benches file {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TrustError(f"the trusted-benches file {path} is not valid TOML: {exc}") from None
    entries = data.get("bench", [])
    unknown = sorted(set(data) - {"bench"})
    if unknown or not isinstance(entries, list):
        raise TrustError(
            f"{path}: expected only [[bench]] tables (name, public_key), found {unknown or data}"
        )
    keys = []
    for number, entry in enumerate(entries, 1):
        where = f"{path}, bench {number}"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise TrustError(f"{where}: each [[bench]] needs a name and a public_key")
        extra = sorted(set(entry) - {"name", "public_key", "key_id"})
        if extra:
            raise TrustError(f"{where}: unknown field(s) {', '.join(extra)}")
        raw = _decode_key(entry.get("public_key"), where)
        if "key_id" in entry and entry["key_id"] != key_id_of(raw):
            raise TrustError(
                f"{where}: key_id {entry['key_id']!r} does not match its public_key "
                f"(whose key id is {key_id_of(raw)})"
            )
        keys.append(TrustedKey(raw, entry["name"], f"the trusted-benches file {path}"))
    return keys


def benches_url(server: str) -> str:
    return server.rstrip("/") + API_BENCHES


def parse_benches(answer: Any, server: str) -> list[TrustedKey]:
    """The keys of a ``GET /api/v1/benches`` answer; every entry's key id is checked."""
    benches = answer.get("benches") if isinstance(answer, Mapping) else None
    if not isinstance(benches, list):
        raise TrustError(f"{benches_url(server)} did not answer a list of benches")
    keys = []
    source = f"the programme database at {server}"
    for entry in benches:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise TrustError(f"{benches_url(server)} answered a bench without a name")
        where = f"{benches_url(server)}, bench {entry['name']!r}"
        raw = _decode_key(entry.get("public_key"), where)
        if entry.get("key_id") != key_id_of(raw):
            raise TrustError(f"{where}: key_id does not match its public_key")
        keys.append(TrustedKey(raw, entry["name"], source, active=entry.get("active") is True))
    return keys


LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def check_server_url(server: str) -> None:
    """Keys that decide trust come over TLS; plain http only from this machine."""
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TrustError(f"--server {server!r}: give an https:// URL")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise TrustError(
            f"--server {server!r}: bench keys are fetched over https only (plain http "
            "only from this machine: 127.0.0.1, localhost)"
        )


def fetch_server_keys(
    server: str, *, ca: str | None = None, timeout: float = SERVER_TIMEOUT
) -> list[TrustedKey]:
    """The programme database's registry of bench keys, over its public API."""
    import requests

    check_server_url(server)
    url = benches_url(server)
    try:
        response = requests.get(
            url,
            timeout=timeout,
            verify=ca or True,
            allow_redirects=False,  # a registry is trusted for its own URL only
            headers={"Accept": "application/json"},
        )
    except requests.exceptions.SSLError as exc:
        raise TrustUnavailable(
            f"cannot check the bench keys at {url}: TLS failure ({exc}); give the server's "
            "CA certificate with --ca"
        ) from None
    except requests.exceptions.Timeout:
        raise TrustUnavailable(
            f"cannot reach the programme database at {server} to fetch its bench keys: "
            f"no answer within {timeout:g} s"
        ) from None
    except requests.exceptions.RequestException as exc:
        errno = re.search(r"\[Errno -?\d+\] ([^'\"()]+)", str(exc))
        raise TrustUnavailable(
            f"cannot reach the programme database at {server} to fetch its bench keys: "
            + (errno[1].strip() if errno else f"{type(exc).__name__}: {exc}")
        ) from None
    if response.status_code != 200:
        hint = " (it redirects: give the final URL)" if response.is_redirect else ""
        raise TrustUnavailable(
            f"{url} answered HTTP {response.status_code} instead of the list of benches{hint}"
        )
    try:
        answer = response.json()
    except ValueError:
        raise TrustError(f"{url} did not answer JSON") from None
    return parse_benches(answer, server)


# -- a file judged ----------------------------------------------------------------------------


def inspect_trusted(
    data: bytes, store: TrustStore, *, check_layout: bool = True
) -> tuple[FileVerdict, TrustVerdict | None]:
    """Check a signed record file (:func:`inventory.signing.inspect_signed_bytes`) and
    judge its signer. The trust verdict is None when the signature itself is invalid:
    there is then no signer to judge, and the file fails anyway."""
    verdict = inspect_signed_bytes(data, None, check_layout=check_layout)
    if verdict.public_key is None:
        return verdict, None
    trust = store.judge(verdict.public_key)
    verdict.key_trusted = trust.trusted
    return verdict, trust
