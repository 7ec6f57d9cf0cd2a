"""Ed25519 signatures over a canonical serialisation of the record.

The signed file is ``{"record": {...}, "signature": {"alg": "ed25519", "key_id": ...,
"public_key": <base64 raw 32 bytes>, "value": <base64 64 bytes>}}``. The signature covers
:func:`canonical_bytes` of the record: sorted keys, no whitespace, UTF-8, so any verifier
in any language recomputes the same bytes from the parsed JSON.

Anyone can check a record offline from the file alone that it is intact; only a known
bench key (:mod:`inventory.trust`: this bench's own, a trusted-benches file, the
programme database's registry) proves *which* bench signed it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from inventory.record import Problem, RecordInvalid, to_json_value, validate_record

ALG = "ed25519"
SIGNED_KEYS = {"record", "signature"}
SIGNATURE_KEYS = {"alg", "key_id", "public_key", "value"}


class SignatureInvalid(ValueError):
    """The signature envelope is malformed, or does not match the record or the key."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class VerifiedRecord:
    record: dict[str, Any]
    key_id: str
    public_key: bytes  # raw 32 bytes
    # True when the caller supplied the expected public key and it matched; False when the
    # record was only checked against the key it carries (integrity, not origin).
    key_trusted: bool


def canonical_bytes(record: Mapping[str, Any]) -> bytes:
    """The exact bytes that are signed (see the module docstring)."""
    return json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def key_id_of(public_key_bytes: bytes) -> str:
    """First 16 hex digits of the SHA-256 of the raw 32-byte public key."""
    return hashlib.sha256(public_key_bytes).hexdigest()[:16]


def raw_public_key(key: Ed25519PublicKey | Ed25519PrivateKey) -> bytes:
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def strict_b64decode(text: Any, what: str, length: int) -> bytes:
    """Decode base64, refusing anything but the one canonical spelling of ``length`` bytes.

    Lenient decoders ignore the unused low bits of the last character, so two different
    strings would decode to the same key or signature; a changed byte must never pass.
    """
    if not isinstance(text, str):
        raise SignatureInvalid(f"{what} is not a base64 string")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise SignatureInvalid(f"{what} is not valid base64 ({exc})") from None
    if len(raw) != length:
        raise SignatureInvalid(f"{what} decodes to {len(raw)} bytes, not {length}")
    if b64(raw) != text:
        raise SignatureInvalid(f"{what} is not canonical base64 (altered padding bits)")
    return raw


def sign_record(record: Mapping[str, Any], private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """Validate ``record`` and return the signed document.

    The record is first turned into plain JSON data (:func:`inventory.record.to_json_value`)
    so that what is signed is exactly what a reader of the file gets back.
    Raises :class:`inventory.record.RecordInvalid`: nothing invalid is ever signed.
    """
    plain = to_json_value(record)
    validate_record(plain)
    public = raw_public_key(private_key)
    signature = private_key.sign(canonical_bytes(plain))
    return {
        "record": plain,
        "signature": {
            "alg": ALG,
            "key_id": key_id_of(public),
            "public_key": b64(public),
            "value": b64(signature),
        },
    }


def verify_signed(doc: Any, public_key: bytes | None = None) -> VerifiedRecord:
    """Check the signature of a signed document (not the record's schema).

    With ``public_key`` (raw 32 bytes), the record must be signed by that key; without,
    it is checked against the key it carries. Raises :class:`SignatureInvalid`.
    """
    if not isinstance(doc, Mapping):
        raise SignatureInvalid("not a signed record: the document is not a JSON object")
    if set(doc) != SIGNED_KEYS:
        raise SignatureInvalid(
            f"not a signed record: expected the keys {sorted(SIGNED_KEYS)}, found {sorted(doc)}"
        )
    record, signature = doc["record"], doc["signature"]
    if not isinstance(record, dict):
        raise SignatureInvalid("record is not a JSON object")
    if not isinstance(signature, Mapping) or set(signature) != SIGNATURE_KEYS:
        found = sorted(signature) if isinstance(signature, Mapping) else type(signature).__name__
        raise SignatureInvalid(
            f"signature must have the keys {sorted(SIGNATURE_KEYS)}, found {found}"
        )
    if signature["alg"] != ALG:
        raise SignatureInvalid(f"signature.alg is {signature['alg']!r}, not {ALG!r}")
    embedded = strict_b64decode(signature["public_key"], "signature.public_key", 32)
    key_id = key_id_of(embedded)
    if signature["key_id"] != key_id:
        raise SignatureInvalid(
            f"signature.key_id {signature['key_id']!r} does not match the public key it "
            f"carries (whose key id is {key_id!r})"
        )
    if public_key is not None and public_key != embedded:
        raise SignatureInvalid(
            f"signed by key {key_id}, not by the expected key {key_id_of(public_key)}"
        )
    value = strict_b64decode(signature["value"], "signature.value", 64)
    try:
        message = canonical_bytes(record)
    except ValueError as exc:  # NaN or infinite numbers have no canonical form
        raise SignatureInvalid(f"record cannot be serialised canonically: {exc}") from None
    try:
        Ed25519PublicKey.from_public_bytes(embedded).verify(value, message)
    except InvalidSignature:
        raise SignatureInvalid(
            "signature.value does not match the record: the record or the signature was "
            "altered after signing"
        ) from None
    return VerifiedRecord(
        record=record, key_id=key_id, public_key=embedded, key_trusted=public_key is not None
    )


# -- the signed file ---------------------------------------------------------------------


def signed_file_bytes(doc: Mapping[str, Any]) -> bytes:
    """The one layout a bench writes a signed record in (readable, and reproducible, so a
    verifier can tell an edited layout from an intact file)."""
    text = json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_signed_bytes(data: bytes) -> Any:
    """Parse a signed file strictly: UTF-8, no duplicate keys, no NaN/Infinity.

    Raises ``ValueError`` naming the position of the problem.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"not valid JSON: {exc.msg} (line {exc.lineno} column {exc.colno})"
        ) from None
    except _DuplicateKey as exc:
        raise ValueError(f"not a valid record file: {exc}") from None


@dataclass
class FileVerdict:
    """Everything `weee verify` found about one file (``problems`` empty means valid)."""

    problems: list[Problem] = field(default_factory=list)
    record: dict[str, Any] | None = None
    key_id: str | None = None
    public_key: bytes | None = None  # the signer's raw key, once the signature checks
    key_trusted: bool = False
    signature_ok: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def inspect_signed_bytes(
    data: bytes, public_key: bytes | None = None, *, check_layout: bool = True
) -> FileVerdict:
    """Check a signed record file: parse, signature, schema, consistency, layout.

    Every problem found is reported (a bad signature does not hide a schema violation),
    so a tampered file's report says what was changed as precisely as possible.
    """
    verdict = FileVerdict()
    try:
        doc = parse_signed_bytes(data)
    except ValueError as exc:
        verdict.problems.append(Problem("(file)", str(exc)))
        return verdict
    try:
        verified = verify_signed(doc, public_key)
    except SignatureInvalid as exc:
        verdict.problems.append(Problem("signature", exc.reason))
    else:
        verdict.signature_ok = True
        verdict.key_id = verified.key_id
        verdict.public_key = verified.public_key
        verdict.key_trusted = verified.key_trusted
    record = doc.get("record") if isinstance(doc, dict) else None
    if isinstance(record, dict):
        verdict.record = record
        try:
            validate_record(record)
        except RecordInvalid as exc:
            verdict.problems.extend(
                Problem(f"record.{p.path}" if p.path else "record", p.message) for p in exc.problems
            )
    if check_layout and not verdict.problems:
        expected = signed_file_bytes(doc)
        if data != expected:
            offset = next(
                (i for i, (a, b) in enumerate(zip(data, expected, strict=False)) if a != b),
                min(len(data), len(expected)),
            )
            verdict.problems.append(
                Problem(
                    "(file)",
                    f"the signed content is intact but the file differs from the layout the "
                    f"bench wrote, from byte {offset} on (edited or reformatted)",
                )
            )
    return verdict


# -- keys ---------------------------------------------------------------------------------


def parse_public_key(data: bytes) -> bytes:
    """A raw 32-byte public key from base64 text, PEM (SubjectPublicKeyInfo) or raw bytes.

    Raises ``ValueError`` when ``data`` is none of those.
    """
    stripped = data.strip()
    if stripped.startswith(b"-----BEGIN"):
        key = serialization.load_pem_public_key(stripped)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the PEM key is not an Ed25519 public key")
        return raw_public_key(key)
    try:
        raw = base64.b64decode(stripped, validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) == 32:
        return raw
    if len(data) == 32:
        return data
    raise ValueError("not an Ed25519 public key (expected base64 of 32 bytes, or PEM)")
