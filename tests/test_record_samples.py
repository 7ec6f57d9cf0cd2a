"""Sample records built from the parts in tests/data/records, shared by the record tests.

Other test modules import the helpers (``from test_record_samples import ...``); the tests
here check that the samples themselves are what they claim to be.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from inventory.record import new_record, validate_record

RECORDS = Path(__file__).parent / "data" / "records"

BENCH = {
    "id": "5b0c7a1f2e3d4c5b",
    "name": "bench-1",
    "organisation": "Atelier Réemploi Nord",
    "technician": "Amina Diallo",
    "location": "Lille",
}


def part(name: str) -> Any:
    return json.loads((RECORDS / f"{name}.json").read_text("utf-8"))


def test_key(seed: int = 1) -> Ed25519PrivateKey:
    """A fixed key: Ed25519 signatures are deterministic, so signed samples are too."""
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


test_key.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def sample_record(number: int = 0, **overrides: Any) -> dict[str, Any]:
    """A certified refurbishment record; ``number`` varies its record id and time."""
    fields: dict[str, Any] = {
        "kind": "refurbishment",
        "bench": BENCH,
        "hardware": part("hardware-t440p"),
        "checks": part("checks-grade-b"),
        "erasures": [part("erasure-sda-overwrite"), part("erasure-nvme-sanitize")],
        "image": part("image-debian"),
        "donor": {"name": "Métropole Européenne de Lille", "batch": "MEL-2026-11"},
        "record_id": f"00000000-0000-4000-8000-{number:012d}",
        "created_at": f"2026-11-25T11:{number // 60 % 60:02d}:{number % 60:02d}+00:00",
    }
    fields.update(overrides)
    return new_record(**fields)


def test_sample_is_certified_and_valid() -> None:
    record = sample_record()
    validate_record(record)
    assert record["certified"] is True
    assert record["device_id"] == "dmi:LENOVO:20AWA15L00:PB01234X"


def test_sample_parts_are_not_shared_between_calls() -> None:
    one = sample_record(1)
    one["erasures"][0]["status"] = "failed"
    assert sample_record(1)["erasures"][0]["status"] == "certified"
    assert copy.deepcopy(sample_record(2)) == sample_record(2)
