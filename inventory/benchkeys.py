"""The bench's identity and Ed25519 key pair, on the stick's data partition.

Layout under the data directory (``WEEE_DATA_DIR``; ``/var/lib/weee`` as root, else
``~/.local/share/weee``)::

    bench/           mode 0700
      bench.key      the private key, PKCS#8 PEM, mode 0600: whoever reads it can sign
                     records in this bench's name
      bench.pub      the public key, base64 of the raw 32 bytes (what the programme
                     database registers: ``weee manage addbench --public-key-file``)
      bench.json     name, organisation, location, default technician, key id
    spool/           signed records (inventory.spool)
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from inventory.signing import b64, key_id_of, raw_public_key, sign_record
from inventory.spool import Spool, SpoolEntry, atomic_write

KEY_FILE = "bench.key"
PUBLIC_FILE = "bench.pub"
IDENTITY_FILE = "bench.json"


def default_data_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("WEEE_DATA_DIR"):
        return Path(env["WEEE_DATA_DIR"])
    if os.geteuid() == 0:
        return Path("/var/lib/weee")
    return Path(env.get("HOME", str(Path.home()))) / ".local" / "share" / "weee"


class BenchError(Exception):
    """The bench is not initialised, or its files are unusable."""


class BenchExists(BenchError):
    pass


@dataclass(frozen=True)
class BenchIdentity:
    name: str
    organisation: str | None
    location: str | None
    technician: str | None  # default technician; a run may name another
    key_id: str
    created_at: str


@dataclass(frozen=True)
class Bench:
    data_dir: Path
    identity: BenchIdentity
    private_key: Ed25519PrivateKey
    warnings: tuple[str, ...] = ()

    @property
    def public_key(self) -> bytes:
        return raw_public_key(self.private_key)

    @property
    def public_key_b64(self) -> str:
        return b64(self.public_key)

    @property
    def key_id(self) -> str:
        return self.identity.key_id

    @property
    def public_key_path(self) -> Path:
        return bench_dir(self.data_dir) / PUBLIC_FILE

    def record_bench(self, technician: str | None = None) -> dict[str, Any]:
        """The record's ``bench`` object for a run by ``technician`` (default: the bench's)."""
        return {
            "id": self.key_id,
            "name": self.identity.name,
            "organisation": self.identity.organisation,
            "technician": technician if technician is not None else self.identity.technician,
            "location": self.identity.location,
        }

    def sign(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return sign_record(record, self.private_key)

    def spool(self) -> Spool:
        return Spool(self.data_dir / "spool")

    def seal(self, record: Mapping[str, Any]) -> SpoolEntry:
        """Sign ``record`` and write it to the spool: the one call a bench run makes when
        a laptop is done. Raises RecordInvalid (nothing invalid is signed) or SpoolError."""
        return self.spool().add(self.sign(record), public_key=self.public_key)


def bench_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "bench"


def init_bench(
    data_dir: Path,
    *,
    name: str,
    organisation: str | None = None,
    location: str | None = None,
    technician: str | None = None,
    force: bool = False,
    private_key: Ed25519PrivateKey | None = None,
) -> Bench:
    """Create the bench's key pair and identity. Refuses to replace an existing key unless
    ``force``: records signed with the old key stay verifiable only with the old public
    key, and the programme database must register the new one."""
    if not name.strip():
        raise BenchError("the bench needs a name")
    directory = bench_dir(data_dir)
    if (directory / KEY_FILE).exists() and not force:
        raise BenchExists(
            f"{directory / KEY_FILE} already exists; replacing the bench key needs --force "
            "and a new registration with the programme database"
        )
    Path(data_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.mkdir(mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    key = private_key or Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    atomic_write(directory / KEY_FILE, pem, mode=0o600)
    os.chmod(directory / KEY_FILE, 0o600)  # mode of os.open is masked by the umask
    public = raw_public_key(key)
    atomic_write(directory / PUBLIC_FILE, (b64(public) + "\n").encode("ascii"))
    identity = BenchIdentity(
        name=name.strip(),
        organisation=organisation,
        location=location,
        technician=technician,
        key_id=key_id_of(public),
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    text = json.dumps(asdict(identity), indent=2, ensure_ascii=False) + "\n"
    atomic_write(directory / IDENTITY_FILE, text.encode("utf-8"))
    return load_bench(data_dir)


def load_bench(data_dir: Path) -> Bench:
    directory = bench_dir(data_dir)
    key_path = directory / KEY_FILE
    if not key_path.exists():
        raise BenchError(f"no bench key in {directory}: run 'weee bench init' first")
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise BenchError(f"{key_path} is not a readable private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BenchError(f"{key_path} is not an Ed25519 private key")
    try:
        fields = json.loads((directory / IDENTITY_FILE).read_text("utf-8"))
        identity = BenchIdentity(**fields)
    except (OSError, ValueError, TypeError) as exc:
        raise BenchError(f"{directory / IDENTITY_FILE} is unreadable: {exc}") from None
    if identity.key_id != key_id_of(raw_public_key(key)):
        raise BenchError(
            f"{directory / IDENTITY_FILE} names key {identity.key_id} but {key_path} holds "
            f"key {key_id_of(raw_public_key(key))}"
        )
    warnings = []
    mode = stat.S_IMODE(key_path.stat().st_mode)
    if mode & 0o077:
        # On a FAT data partition modes come from mount options and cannot be fixed here.
        warnings.append(f"{key_path} is readable by others (mode {mode:o}); it should be 0600")
    return Bench(Path(data_dir), identity, key, tuple(warnings))
