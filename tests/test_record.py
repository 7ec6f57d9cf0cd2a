"""The record definition: schema, consistency rules, builder."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
from test_record_samples import part, sample_record

from inventory.record import (
    RECORD_SCHEMA_ID,
    RecordInvalid,
    new_record,
    record_schema,
    to_json_value,
    validate_record,
)

Edit = Callable[[dict[str, Any]], None]


def test_published_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(record_schema())
    assert record_schema()["title"] == RECORD_SCHEMA_ID


def _set(path: str, value: Any) -> Edit:
    def edit(record: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = record
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        if value is _DELETE:
            del target[last]
        else:
            target[int(last) if last.isdigit() else last] = value

    return edit


_DELETE = object()

# (case, edit, path expected in the error, words expected in the message)
SCHEMA_VIOLATIONS = [
    ("unknown-version", _set("schema", "weee-record/2"), "schema", "unknown version"),
    ("missing-record-id", _set("record_id", _DELETE), "", "record_id"),
    ("record-id-not-uuid4", _set("record_id", "1234"), "record_id", "does not match"),
    ("bad-kind", _set("kind", "repair"), "kind", "repair"),
    ("naive-timestamp", _set("created_at", "2026-11-26T11:00:00"), "created_at", "match"),
    ("extra-top-level-key", _set("notes", "hi"), "", "notes"),
    ("empty-device-id", _set("device_id", ""), "device_id", ""),
    ("bench-without-name", _set("bench.name", _DELETE), "bench", "name"),
    ("certified-not-bool", _set("certified", "yes"), "certified", "boolean"),
    ("erasure-bad-status", _set("erasures.0.status", "done"), "erasures[0].status", "done"),
    ("erasure-bad-method", _set("erasures.1.sanitization.method", "dd"), "erasures[1]", "dd"),
    ("erasure-negative-size", _set("erasures.0.media.size_bytes", -1), "erasures[0].media", "-1"),
    (
        "erasure-missing-verification",
        _set("erasures.0.verification", _DELETE),
        "erasures[0]",
        "verification",
    ),
    (
        "erasure-size-as-string",
        _set("erasures.0.media.size_bytes", "500"),
        "erasures[0].media.size_bytes",
        "integer",
    ),
    ("image-bad-sha256", _set("image.sha256", "xyz"), "image", ""),
    ("image-bad-status", _set("image.status", "ok"), "image", ""),
    ("grade-unknown", _set("checks.grade.grade", "D"), "checks.grade.grade", "D"),
    ("check-bad-status", _set("checks.checks.0.status", "ok"), "checks.checks[0].status", "ok"),
    ("donor-without-name", _set("donor", {"batch": "x"}), "donor", ""),
    ("hardware-without-device", _set("hardware.device", _DELETE), "hardware", "device"),
]


@pytest.mark.parametrize(
    ("edit", "path", "words"),
    [pytest.param(e, p, w, id=case) for case, e, p, w in SCHEMA_VIOLATIONS],
)
def test_schema_violation_is_refused_with_its_path(edit: Edit, path: str, words: str) -> None:
    record = sample_record()
    edit(record)
    with pytest.raises(RecordInvalid) as info:
        validate_record(record)
    assert info.value.path.startswith(path)
    assert words in str(info.value)


CONSISTENCY_VIOLATIONS = [
    (
        "certified-with-failed-erasure",
        _set("erasures.0.status", "failed"),
        "certified",
        "sda (failed)",
    ),
    ("certified-without-image", _set("image", None), "certified", "no image"),
    (
        "certified-with-failed-image",
        _set("image.status", "failed"),
        "certified",
        "image is 'failed'",
    ),
    ("certified-without-erasures", _set("erasures", []), "certified", "0 of 2 drives erased"),
    ("device-id-mismatch", _set("device_id", "other"), "device_id", "differs"),
    # what agents older than issue #11 certified: a hidden area kept, markers surviving
    (
        "certified-with-hpa-kept",
        _set("erasures.0.hidden_areas.hpa.present", True),
        "erasures[0].hidden_areas.hpa",
        "not removed",
    ),
    (
        "certified-with-dco-kept",
        _set("erasures.0.hidden_areas.dco.present", True),
        "erasures[0].hidden_areas.dco",
        "not restored",
    ),
    (
        "certified-with-markers-surviving",
        _set("erasures.0.verification.markers_found", 12),
        "erasures[0].verification.markers_found",
        "12 marker(s) survived",
    ),
    (
        "certified-demonstration",
        _set("hardware.demonstration", {"note": "weee demo", "drives_left_out": []}),
        "certified",
        "a demonstration",
    ),
    ("certified-without-drives", _set("hardware.storage", []), "certified", "lists no drive"),
    (
        "certified-erasure-verification-failed",
        _set("erasures.0.verification.result", "failed"),
        "erasures[0].verification.result",
        "certified erasure",
    ),
    (
        "certified-erasure-not-verified",
        _set("erasures.0.verification.method", "none"),
        "erasures[0].verification.method",
        "none",
    ),
    (
        "certified-erasure-with-mismatches",
        _set("erasures.1.verification.mismatches", 3),
        "erasures[1].verification.mismatches",
        "3",
    ),
    (
        "certified-erasure-pass-error",
        _set("erasures.0.passes.0.errors", [{"offset": 0, "length": 512, "error": "EIO"}]),
        "erasures[0].passes[0].errors",
        "errors",
    ),
    (
        "certified-erasure-pass-unfinished",
        _set("erasures.0.passes.0.ended_at", None),
        "erasures[0].passes[0].ended_at",
        "never ended",
    ),
    ("certified-erasure-no-pass", _set("erasures.0.passes", []), "erasures[0].passes", "no pass"),
    (
        "certified-erasure-with-errors",
        _set("erasures.0.errors", ["read error"]),
        "erasures[0].errors",
        "read error",
    ),
    (
        "duplicate-erasure-id",
        _set("erasures.1.erasure_id", "0b0d3c3e-6c1e-4a0e-9a53-4f4c2d8b7e11"),
        "erasures[1].erasure_id",
        "same as erasures[0]",
    ),
    (
        "verified-image-without-verification",
        _set("image.verification", "none"),
        "image.verification",
        "none",
    ),
    ("verified-image-with-error", _set("image.error", "short write"), "image.error", "short write"),
]


@pytest.mark.parametrize(
    ("edit", "path", "words"),
    [pytest.param(e, p, w, id=case) for case, e, p, w in CONSISTENCY_VIOLATIONS],
)
def test_inconsistent_record_is_refused(edit: Edit, path: str, words: str) -> None:
    record = sample_record()
    edit(record)
    with pytest.raises(RecordInvalid) as info:
        validate_record(record)
    assert any(p.path == path and words in p.message for p in info.value.problems), (
        info.value.problems
    )


def test_uncertified_record_with_failed_erasure_is_valid() -> None:
    failed = part("erasure-sda-overwrite")
    failed["status"] = "failed"
    failed["passes"][0]["errors"] = [{"offset": 4096, "length": 512, "error": "I/O error"}]
    failed["verification"]["result"] = "not-done"
    record = sample_record(erasures=[failed, part("erasure-nvme-sanitize")])
    assert record["certified"] is False
    validate_record(record)


def test_maintenance_record_without_erasure_or_image_is_valid_and_not_certified() -> None:
    record = sample_record(
        kind="maintenance", erasures=[], image=None, maintenance_ticket="MT-0042"
    )
    assert record["certified"] is False
    validate_record(record)


def test_new_record_derives_device_id_and_defaults() -> None:
    record = new_record(
        kind="recycling",
        bench=sample_record()["bench"],
        hardware=part("hardware-t440p"),
        checks=part("checks-grade-b"),
    )
    assert record["device_id"] == "dmi:LENOVO:20AWA15L00:PB01234X"
    assert record["agent"]["name"] == "weee"
    assert record["created_at"].endswith("+00:00")
    assert record["donor"] is None and record["image"] is None and record["certified"] is False


def test_new_record_refuses_a_bad_part_with_its_path() -> None:
    erasure = part("erasure-sda-overwrite")
    erasure["media"]["type"] = "floppy"
    with pytest.raises(RecordInvalid, match=r"erasures\[0\]\.media\.type"):
        sample_record(erasures=[erasure])


def test_validate_refuses_what_is_not_an_object() -> None:
    with pytest.raises(RecordInvalid, match="JSON object"):
        validate_record(["not", "a", "record"])


def test_to_json_value_matches_a_json_round_trip() -> None:
    # The probe keeps ATA attribute ids as int keys: a signed record must hold what a
    # reader gets back from the file, or the signature breaks after one round trip.
    value = {"attributes": {5: 0, 187: 2}, "t": (1, 2), "d": 0.1 + 0.2, "n": None}
    plain = to_json_value(value)
    assert plain == json.loads(json.dumps(plain))
    assert plain["attributes"] == {"5": 0, "187": 2}
    assert plain["d"] == 0.3


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_to_json_value_refuses_non_finite_numbers(bad: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        to_json_value({"x": bad})


def test_every_problem_is_listed() -> None:
    record = copy.deepcopy(sample_record())
    record["kind"] = "repair"
    record["erasures"][0]["status"] = "done"
    with pytest.raises(RecordInvalid) as info:
        validate_record(record)
    assert {p.path for p in info.value.problems} >= {"kind", "erasures[0].status"}
    assert "more problem" in str(info.value)
