"""Ed25519 signing over canonical bytes, and the offline verification of signed files."""

from __future__ import annotations

import json
import random

import pytest
from test_record_samples import sample_record, test_key

from inventory.record import RecordInvalid
from inventory.signing import (
    SignatureInvalid,
    b64,
    canonical_bytes,
    inspect_signed_bytes,
    key_id_of,
    parse_public_key,
    raw_public_key,
    sign_record,
    signed_file_bytes,
    verify_signed,
)


def signed_file() -> bytes:
    return signed_file_bytes(sign_record(sample_record(), test_key()))


def test_canonical_bytes_follow_the_contract() -> None:
    record = {"b": 1, "a": "é", "c": [1.5, None]}
    assert canonical_bytes(record) == '{"a":"é","b":1,"c":[1.5,null]}'.encode()


def test_key_id_is_sha256_prefix_of_raw_public_key() -> None:
    public = raw_public_key(test_key())
    assert len(public) == 32
    assert key_id_of(public) == __import__("hashlib").sha256(public).hexdigest()[:16]


def test_signed_record_verifies_with_and_without_the_expected_key() -> None:
    doc = sign_record(sample_record(), test_key())
    assert doc["signature"]["alg"] == "ed25519"
    assert verify_signed(doc).key_trusted is False
    verified = verify_signed(doc, raw_public_key(test_key()))
    assert verified.key_trusted is True
    assert verified.record == doc["record"]


def test_signature_survives_a_json_round_trip() -> None:
    doc = sign_record(sample_record(), test_key())
    verify_signed(json.loads(json.dumps(doc, indent=3)))


def test_record_signed_by_another_key_is_refused() -> None:
    doc = sign_record(sample_record(), test_key(2))
    with pytest.raises(SignatureInvalid, match="not by the expected key"):
        verify_signed(doc, raw_public_key(test_key(1)))


def test_swapped_public_key_is_refused() -> None:
    # An attacker re-signs the altered record with his own key: origin check catches it.
    doc = sign_record(sample_record(), test_key(1))
    forged = sign_record({**doc["record"], "kind": "recycling", "certified": True}, test_key(3))
    verify_signed(forged)  # self-consistent...
    with pytest.raises(SignatureInvalid, match="expected key"):
        verify_signed(forged, raw_public_key(test_key(1)))  # ...but not this bench's


def test_invalid_record_is_never_signed() -> None:
    record = sample_record()
    record["certified"] = False
    with pytest.raises(RecordInvalid, match="certified"):
        sign_record(record, test_key())


def test_field_change_is_detected() -> None:
    doc = sign_record(sample_record(), test_key())
    doc["record"]["erasures"][0]["media"]["serial"] = "W62ABC13"
    with pytest.raises(SignatureInvalid, match="altered after signing"):
        verify_signed(doc)


@pytest.mark.parametrize(
    ("where", "value", "words"),
    [
        ("alg", "rsa", "alg"),
        ("key_id", "0000000000000000", "key_id"),
        ("public_key", "AAAA", "32"),
        ("value", "!!!", "base64"),
    ],
)
def test_malformed_signature_is_named(where: str, value: str, words: str) -> None:
    doc = sign_record(sample_record(), test_key())
    doc["signature"][where] = value
    with pytest.raises(SignatureInvalid, match=words):
        verify_signed(doc)


def test_non_canonical_base64_padding_bits_are_refused() -> None:
    # The last base64 character of 64 bytes carries 2 unused bits: lenient decoders
    # accept 4 spellings of one signature, so a changed byte could pass unnoticed.
    doc = sign_record(sample_record(), test_key())
    value = doc["signature"]["value"]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = value.rstrip("=")[-1]
    sibling = alphabet[alphabet.index(last) ^ 1]
    doc["signature"]["value"] = value.rstrip("=")[:-1] + sibling + "=="
    with pytest.raises(SignatureInvalid, match="canonical"):
        verify_signed(doc)


def test_intact_file_verifies() -> None:
    verdict = inspect_signed_bytes(signed_file(), raw_public_key(test_key()))
    assert verdict.ok, verdict.problems
    assert verdict.key_trusted and verdict.record is not None
    # the signer's key, for inventory.trust to judge; none once the signature fails
    assert inspect_signed_bytes(signed_file()).public_key == raw_public_key(test_key())
    assert inspect_signed_bytes(signed_file()[:-40]).public_key is None


MUTATIONS = {
    "xor-1": lambda b: b ^ 0x01,
    "xor-0x20": lambda b: b ^ 0x20,  # letter case, space <-> NUL, digit <-> control
    "to-space": lambda b: 0x20 if b != 0x20 else 0x0A,
    "to-digit": lambda b: 0x37 if b != 0x37 else 0x38,
    "to-quote": lambda b: 0x22 if b != 0x22 else 0x27,
}


def _undetected(data: bytes, offsets: list[int]) -> list[str]:
    """Changed files (byte ``offset`` altered by a rotating mutation) that still verify."""
    names = sorted(MUTATIONS)
    public = raw_public_key(test_key())
    undetected = []
    for offset in offsets:
        name = names[offset % len(names)]
        altered = data[:offset] + bytes([MUTATIONS[name](data[offset])]) + data[offset + 1 :]
        verdict = inspect_signed_bytes(altered, public)
        if verdict.ok or not all(p.message for p in verdict.problems):
            undetected.append(f"{offset}:{name}")
    return undetected


def test_changing_sampled_bytes_fails_verification() -> None:
    data = signed_file()
    offsets = sorted(random.Random(1).sample(range(len(data)), 400))
    undetected = _undetected(data, offsets)
    assert not undetected, f"{len(undetected)} undetected changes: {undetected[:20]}"


@pytest.mark.slow
def test_changing_any_byte_fails_verification_and_names_the_problem() -> None:
    # Every byte position of the file, each with one of the mutations in turn: parse
    # failures, field changes, signature and key changes, whitespace.
    data = signed_file()
    undetected = _undetected(data, list(range(len(data))))
    assert not undetected, f"{len(undetected)} undetected changes: {undetected[:20]}"


def _offset_of(data: bytes, needle: str) -> int:
    return data.index(needle.encode()) + len(needle)


@pytest.mark.parametrize(
    ("needle", "replacement", "path", "words"),
    [
        pytest.param('"size_bytes": 5', b"6", "signature", "altered after signing", id="digit"),
        pytest.param('"kind": "', b"x", "signature", "altered", id="field"),
        pytest.param('"key_id": "', b"g", "signature", "key_id", id="key-id"),
        pytest.param('"alg": "ed2551', b"8", "signature", "alg", id="alg"),
        pytest.param('"record": ', b"[", "(file)", "not valid JSON", id="syntax"),
        pytest.param('"kind": "', b"\xff", "(file)", "UTF-8", id="encoding"),
        pytest.param("{\n", b"\t", "(file)", "layout", id="whitespace"),
    ],
)
def test_tampered_file_names_its_problem(
    needle: str, replacement: bytes, path: str, words: str
) -> None:
    data = signed_file()
    offset = _offset_of(data, needle)
    altered = data[:offset] + replacement + data[offset + 1 :]
    verdict = inspect_signed_bytes(altered)
    assert not verdict.ok
    assert any(p.path == path and words in p.message for p in verdict.problems), verdict.problems


def test_schema_problem_is_reported_beside_the_signature_problem() -> None:
    doc = sign_record(sample_record(), test_key())
    doc["record"]["kind"] = "repair"
    verdict = inspect_signed_bytes(signed_file_bytes(doc))
    paths = {p.path for p in verdict.problems}
    assert {"signature", "record.kind"} <= paths


def test_duplicate_keys_are_refused() -> None:
    data = signed_file().replace(
        b'"kind": "refurbishment"', b'"kind": "x", "kind": "refurbishment"'
    )
    verdict = inspect_signed_bytes(data)
    assert any("duplicate key 'kind'" in p.message for p in verdict.problems)


@pytest.mark.parametrize("form", ["base64", "pem", "raw"])
def test_public_key_is_read_in_every_form(form: str) -> None:
    from cryptography.hazmat.primitives import serialization

    public = raw_public_key(test_key())
    data = {
        "base64": (b64(public) + "\n").encode(),
        "pem": test_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        "raw": public,
    }[form]
    assert parse_public_key(data) == public


def test_random_records_round_trip() -> None:
    rng = random.Random(7)
    for number in range(20):
        record = sample_record(number)
        record["hardware"]["batteries"][0]["health_pct"] = round(rng.uniform(0, 120), 3)
        doc = sign_record(record, test_key())
        verdict = inspect_signed_bytes(signed_file_bytes(doc))
        assert verdict.ok, verdict.problems
