"""The certified record: one versioned definition, ``weee-record/1``.

A record is one laptop's pass over a bench (hardware report, check verdicts and grade,
erasure reports, image result, bench and technician). Its shape is published as a JSON
Schema (``inventory/schema/record-1.schema.json``) so the programme database, the bench
and anyone auditing a certificate use the same definition. The rules JSON Schema cannot
say (the ``certified`` flag follows from the erasures, the drives of the hardware report
they must cover, and the image; the top-level ``device_id`` is the hardware's) are checked
here, in :func:`validate_record`, on write and on read.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

import jsonschema

import agent

RECORD_SCHEMA_ID = "weee-record/1"
SCHEMA_RESOURCE = "record-1.schema.json"
KINDS = ("refurbishment", "maintenance", "recycling")

# Floats are rounded before signing: their JSON text must not depend on which language or
# library re-serialises them when a verifier recomputes the canonical bytes.
FLOAT_DECIMALS = 3


@dataclass(frozen=True)
class Problem:
    path: str  # "erasures[0].verification.result"; "" for the record itself
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(record)'}: {self.message}"


class RecordInvalid(ValueError):
    """The record breaks its schema or its own consistency rules.

    ``problems`` lists every violation found, most relevant first; ``path`` and
    ``message`` are the first one's, for callers that report a single line.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        assert self.problems, "RecordInvalid needs at least one problem"
        self.path = self.problems[0].path
        self.message = self.problems[0].message
        more = len(self.problems) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        super().__init__(f"{self.problems[0]}{suffix}")


@functools.cache
def record_schema() -> dict[str, Any]:
    """The published JSON Schema of ``weee-record/1``."""
    text = resources.files("inventory.schema").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = record_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def format_path(parts: Iterable[str | int]) -> str:
    """``["erasures", 0, "status"]`` -> ``"erasures[0].status"``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _schema_problems(record: Any) -> list[Problem]:
    errors = sorted(_validator().iter_errors(record), key=jsonschema.exceptions.relevance)
    problems = []
    for error in errors:
        # oneOf failures ("x is not valid under any of the given schemas") say nothing
        # useful; the most relevant sub-error names the real cause.
        best = jsonschema.exceptions.best_match([error]) if error.context else error
        problems.append(Problem(format_path(best.absolute_path), best.message))
    return problems


def consistency_problems(record: Mapping[str, Any]) -> list[Problem]:
    """The rules beyond the schema; ``record`` must already satisfy the schema."""
    problems: list[Problem] = []
    device = record["hardware"].get("device") or {}
    hw_id = device.get("device_id")
    if hw_id is not None and hw_id != record["device_id"]:
        problems.append(
            Problem(
                "device_id",
                f"{record['device_id']!r} differs from hardware.device.device_id {hw_id!r}",
            )
        )

    seen_ids: dict[str, int] = {}
    for index, erasure in enumerate(record["erasures"]):
        where = f"erasures[{index}]"
        if erasure["erasure_id"] in seen_ids:
            problems.append(
                Problem(
                    f"{where}.erasure_id", f"same as erasures[{seen_ids[erasure['erasure_id']]}]"
                )
            )
        seen_ids.setdefault(erasure["erasure_id"], index)
        if erasure["status"] == "certified":
            problems.extend(_certified_erasure_problems(erasure, where))

    image = record["image"]
    if image is not None and image["status"] == "verified":
        if image["verification"] == "none":
            problems.append(
                Problem(
                    "image.verification", "a verified image needs a verification method, not 'none'"
                )
            )
        if image["ended_at"] is None:
            problems.append(Problem("image.ended_at", "a verified image never ended"))
        if image["error"] is not None:
            problems.append(
                Problem("image.error", f"a verified image carries an error: {image['error']!r}")
            )

    expected = derive_certified(record)
    if record["certified"] != expected:
        problems.append(
            Problem("certified", f"is {record['certified']} but {certified_reason(record)}")
        )
    return problems


def _certified_erasure_problems(erasure: Mapping[str, Any], where: str) -> list[Problem]:
    """An erasure may say "certified" only when every pass ran clean and was verified."""
    problems = []
    verification = erasure["verification"]
    if verification["result"] != "passed":
        problems.append(
            Problem(
                f"{where}.verification.result",
                f"is {verification['result']!r} on a certified erasure",
            )
        )
    if verification["method"] == "none":
        problems.append(Problem(f"{where}.verification.method", "is 'none' on a certified erasure"))
    if verification["mismatches"]:
        problems.append(
            Problem(
                f"{where}.verification.mismatches",
                f"{verification['mismatches']} on a certified erasure",
            )
        )
    if not erasure["passes"]:
        problems.append(Problem(f"{where}.passes", "a certified erasure has no pass"))
    for number, one_pass in enumerate(erasure["passes"]):
        if one_pass["errors"]:
            problems.append(
                Problem(f"{where}.passes[{number}].errors", "a certified erasure's pass has errors")
            )
        if one_pass["ended_at"] is None:
            problems.append(
                Problem(
                    f"{where}.passes[{number}].ended_at", "a certified erasure's pass never ended"
                )
            )
    if erasure["errors"]:
        problems.append(
            Problem(f"{where}.errors", f"a certified erasure has errors: {erasure['errors']}")
        )
    if erasure["ended_at"] is None:
        problems.append(Problem(f"{where}.ended_at", "a certified erasure never ended"))
    problems.extend(_hidden_and_marker_problems(erasure, where))
    return problems


def _hidden_and_marker_problems(erasure: Mapping[str, Any], where: str) -> list[Problem]:
    """A hidden area kept, or a firmware erase whose markers survived, is never certified
    (also in records of agents older than these rules: the server checks them too)."""
    problems = []
    hidden = erasure.get("hidden_areas") or {}
    hpa, dco = hidden.get("hpa") or {}, hidden.get("dco") or {}
    if hpa.get("present") is True and hidden.get("restored") is not True:
        problems.append(
            Problem(f"{where}.hidden_areas.hpa", "an HPA present and not removed, yet certified")
        )
    if dco.get("present") is True and dco.get("restored") is not True:
        problems.append(
            Problem(f"{where}.hidden_areas.dco", "a DCO present and not restored, yet certified")
        )
    found = (erasure.get("verification") or {}).get("markers_found")
    if isinstance(found, int) and found > 0:
        problems.append(
            Problem(
                f"{where}.verification.markers_found",
                f"{found} marker(s) survived the firmware erase, yet certified",
            )
        )
    return problems


@dataclass(frozen=True)
class DriveCoverage:
    """One drive of the record's hardware report, and whether an erasure covers it.

    ``state`` is ``erased`` (a certified erasure matched it), ``not_erased`` (an internal
    drive without one: the record cannot be certified) or ``excluded`` (a USB or removable
    drive: not the laptop's storage). ``why`` says what kept a drive from being erased.
    """

    device: str
    serial: str | None
    model: str | None
    size_bytes: int | None
    state: str
    why: str | None = None  # English, whole: "failed, write error at byte 4096"
    erasure_index: int | None = None
    status: str | None = None  # the matched erasure's status; None: never erased
    detail: str | None = None  # its first error, as the bench wrote it

    @property
    def name(self) -> str:
        return self.device.rsplit("/", 1)[-1]


def _same_serial(a: Any, b: Any) -> bool:
    return (
        isinstance(a, str)
        and isinstance(b, str)
        and bool(a.strip())
        and a.strip().casefold() == b.strip().casefold()
    )


def is_laptop_drive(drive: Mapping[str, Any]) -> bool:
    """An internal drive of the laptop: not USB, not removable media (the boot stick,
    a card in the reader, a donor's USB disk left plugged in)."""
    usb = "usb" in (drive.get("transport"), drive.get("protocol"), drive.get("kind"))
    return not usb and drive.get("removable") is not True


def _matches(drive: Mapping[str, Any], media: Mapping[str, Any], *, by_serial: bool) -> bool:
    """The same physical drive: by serial when both sides know it (and the serial names
    one drive of the report only), else by device path."""
    serial, other = drive.get("serial"), media.get("serial")
    if (
        by_serial
        and isinstance(serial, str)
        and serial.strip()
        and isinstance(other, str)
        and other.strip()
    ):
        return _same_serial(serial, other)
    return bool(drive.get("path")) and drive.get("path") == media.get("device")


def _erasure_why(erasure: Mapping[str, Any]) -> str:
    errors = [str(e) for e in erasure.get("errors") or []]
    status = str(erasure["status"])
    return f"{status}: {errors[0]}" if errors else status


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def drive_coverage(record: Mapping[str, Any]) -> list[DriveCoverage]:
    """Every drive of ``hardware.storage`` with the erasure that covers it, if any.

    Matched by serial, else by device path. A drive with several matching erasures is
    covered when one of them is certified (the record as a whole still needs every
    erasure certified: :func:`uncertified_cause`).
    """
    out = []
    erasures = list(record.get("erasures") or [])
    drives = [
        d for d in (record.get("hardware") or {}).get("storage") or [] if isinstance(d, Mapping)
    ]
    serials = [str(d.get("serial")).strip().casefold() for d in drives if _text(d.get("serial"))]
    for drive in drives:
        serial = _text(drive.get("serial"))
        unique = serial is not None and serials.count(serial.strip().casefold()) == 1
        size = drive.get("size_bytes")
        base = DriveCoverage(
            device=str(drive.get("path") or drive.get("name") or "?"),
            serial=_text(drive.get("serial")),
            model=_text(drive.get("model")),
            size_bytes=size if isinstance(size, int) and not isinstance(size, bool) else None,
            state="not_erased",
        )
        if not is_laptop_drive(drive):
            out.append(replace(base, state="excluded", why="USB or removable"))
            continue
        matched = [
            (i, e)
            for i, e in enumerate(erasures)
            if _matches(drive, e.get("media") or {}, by_serial=unique)
        ]
        certified = [i for i, e in matched if e["status"] == "certified"]
        if certified:
            out.append(replace(base, state="erased", erasure_index=certified[0]))
        elif matched:
            index, erasure = matched[-1]
            errors = [str(e) for e in erasure.get("errors") or []]
            out.append(
                replace(
                    base,
                    why=_erasure_why(erasure),
                    erasure_index=index,
                    status=str(erasure["status"]),
                    detail=errors[0] if errors else None,
                )
            )
        else:
            out.append(replace(base, why="never erased"))
    return out


def derive_certified(record: Mapping[str, Any]) -> bool:
    """The record's own rule: every internal drive of the laptop covered by a certified
    erasure, every erasure certified (at least one), and the image verified."""
    return uncertified_cause(record)[0] == "all_certified"


def erasure_cause(record: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """Why the laptop's erasure is not complete, or None when it is: every drive of the
    laptop covered by a certified erasure and every erasure certified. The part of
    :func:`uncertified_cause` that a recycling run (no image) must satisfy too."""
    hardware = record.get("hardware") or {}
    if hardware.get("demonstration"):
        # weee demo: a disposable disk stood for the laptop's storage; this machine's own
        # drives were never erased. Whatever a profile says, that certifies no laptop.
        return "demonstration", {}
    coverage = [c for c in drive_coverage(record) if c.state != "excluded"]
    if not coverage and record["erasures"]:
        # erasures, but the hardware report lists no drive of the laptop: what they
        # should have covered is unknown (the probe did not see the drives)
        return "no_drive_listed", {}
    missing = [c for c in coverage if c.state == "not_erased"]
    if missing:
        return "drives", {
            "erased": len(coverage) - len(missing),
            "total": len(coverage),
            "missing": ", ".join(f"{c.name} ({c.why})" for c in missing),
            "drives": missing,
        }
    if not record["erasures"]:
        return "no_erasure", {}
    for index, erasure in enumerate(record["erasures"]):
        if erasure["status"] != "certified":
            facts = {"index": index, "device": erasure["media"]["device"]}
            return "erasure", {**facts, "status": erasure["status"]}
    return None


def uncertified_cause(record: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Why :func:`derive_certified` says what it says: a cause and its facts.

    One rule for every wording: :func:`certified_reason` words it in English, the bench
    run's screen and the certificate in their reader's language.
    """
    erasure = erasure_cause(record)
    if erasure is not None:
        return erasure
    image = record["image"]
    if image is None:
        return "no_image", {}
    if image["status"] != "verified":
        return "image", {"status": image["status"]}
    return "all_certified", {}


_CAUSES = {
    "drives": "{erased} of {total} drives erased — {missing}",
    "demonstration": "a demonstration: a disposable disk stood for the laptop's drives",
    "no_drive_listed": "the hardware report lists no drive of the laptop",
    "no_erasure": "the record holds no erasure",
    "erasure": "erasures[{index}] ({device}) is {status!r}",
    "no_image": "the record holds no image result",
    "image": "the image is {status!r}",
    "all_certified": "every drive is erased and certified and the image verified",
}


def certified_reason(record: Mapping[str, Any]) -> str:
    """Why :func:`derive_certified` says what it says, in one phrase."""
    cause, facts = uncertified_cause(record)
    return _CAUSES[cause].format(**facts)


def validate_record(record: Any) -> None:
    """Raise :class:`RecordInvalid` unless ``record`` is a valid ``weee-record/1``."""
    if not isinstance(record, Mapping):
        raise RecordInvalid(
            [Problem("", f"a record is a JSON object, not {type(record).__name__}")]
        )
    if record.get("schema") != RECORD_SCHEMA_ID:
        raise RecordInvalid(
            [
                Problem(
                    "schema",
                    f"{record.get('schema')!r} is not {RECORD_SCHEMA_ID!r} (unknown version)",
                )
            ]
        )
    problems = _schema_problems(record)
    if problems:
        raise RecordInvalid(problems)
    problems = consistency_problems(record)
    if problems:
        raise RecordInvalid(problems)


def to_json_value(value: Any) -> Any:
    """Plain JSON data from dataclasses/dicts/tuples, floats rounded to 3 decimals.

    The result is exactly what a JSON round trip gives back (keys become strings, tuples
    lists), so the canonical bytes computed before writing equal those a verifier
    computes after reading the file.
    """
    if hasattr(value, "to_dict") and callable(value.to_dict):
        value = value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, str):
        # A lone surrogate (from a surrogateescape'd firmware string) has no UTF-8 form,
        # so it could not be signed; it becomes U+FFFD like other undecodable bytes.
        if _has_surrogate(value):
            return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
        return value
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} cannot be written to a record (not a finite number)")
        return round(value, FLOAT_DECIMALS)
    raise TypeError(f"{type(value).__name__} cannot be written to a record")


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def new_record(
    *,
    kind: str,
    bench: Mapping[str, Any],
    hardware: Any,
    checks: Any,
    erasures: Iterable[Any] = (),
    image: Any = None,
    device_id: str | None = None,
    donor: Mapping[str, Any] | None = None,
    maintenance_ticket: str | None = None,
    kit: Mapping[str, Any] | None = None,
    record_id: str | None = None,
    created_at: str | None = None,
) -> dict[str, Any]:
    """Assemble a valid record; ``certified`` is derived, never passed in.

    ``hardware``, ``checks``, the erasures and the image may be dicts or dataclasses with
    ``to_dict()``. ``device_id`` defaults to ``hardware.device.device_id``. Raises
    :class:`RecordInvalid` when the parts do not make a valid record.
    """
    hardware_dict = to_json_value(hardware)
    if device_id is None and isinstance(hardware_dict, dict):
        device_id = (hardware_dict.get("device") or {}).get("device_id")
    if not device_id:
        raise RecordInvalid(
            [
                Problem(
                    "device_id",
                    "the hardware report has no device.device_id (no serial, UUID, MAC or "
                    "drive serial was found): pass device_id explicitly",
                )
            ]
        )
    record: dict[str, Any] = {
        "schema": RECORD_SCHEMA_ID,
        "record_id": record_id or str(uuid.uuid4()),
        "kind": kind,
        "created_at": created_at or utc_now(),
        "agent": {"name": "weee", "version": agent.__version__},
        "bench": to_json_value(bench),
        "device_id": device_id,
        "donor": to_json_value(donor),
        "maintenance_ticket": maintenance_ticket,
        "hardware": hardware_dict,
        "checks": to_json_value(checks),
        "erasures": to_json_value(list(erasures)),
        "image": to_json_value(image),
        "kit": to_json_value(kit),
        "certified": False,
    }
    problems = _schema_problems(record)
    if problems:
        raise RecordInvalid(problems)
    record["certified"] = derive_certified(record)
    validate_record(record)
    return record
