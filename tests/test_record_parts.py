"""Records assembled from the real parts other modules produce: the probe's report of a
captured machine, the health checks and grade, the wipe's ErasureReport and the image's
ImageResult. The record definition must accept what they really emit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_record_samples import BENCH, test_key

from inventory.record import RecordInvalid, new_record, validate_record
from inventory.signing import inspect_signed_bytes, sign_record, signed_file_bytes

CAPTURES = Path("/work/shared/fixtures/qemu-vm")
CAPTURE_CASES = (
    sorted(p.name for p in CAPTURES.iterdir() if p.is_dir()) if CAPTURES.is_dir() else []
)

wipe_report = pytest.importorskip("agent.wipe.report")
image_result = pytest.importorskip("agent.image.result")


def erasure(outcome: str) -> Any:
    report = wipe_report.ErasureReport(
        media=wipe_report.Media(
            "/dev/sda", "ATA", "QEMU HARDDISK", "QM00001", "hdd", "ata", 10**9, 512
        ),
        sanitization=wipe_report.Sanitization.for_method("overwrite", pattern="random"),
    )
    stamp = wipe_report.now_iso()
    one_pass = wipe_report.PassRecord(1, "random", stamp, stamp, 10**9)
    if outcome == "io-error":
        one_pass.errors.append(wipe_report.IoError(4096, 512, "EIO"))
    if outcome == "interrupted":
        one_pass.ended_at = None
    report.passes.append(one_pass)
    if outcome == "certified":
        report.verification = wipe_report.Verification(
            "full", stamp, stamp, 10**9, None, 0, None, "passed"
        )
    report.finish(interrupted=outcome == "interrupted")
    return report


def image(status: str) -> Any:
    stamp = wipe_report.now_iso()
    if status == "verified":
        return image_result.ImageResult(
            source="/srv/debian.img.zst",
            device="/dev/sda",
            status="verified",
            verification="sha256",
            sha256="ab" * 32,
            ended_at=stamp,
            duration_s=12.3456789,
        )
    return image_result.ImageResult(
        source="/srv/debian.img.zst", device="/dev/sda", error="short write"
    )


@pytest.fixture(
    scope="module",
    params=CAPTURE_CASES or [pytest.param("none", marks=pytest.mark.skip("no captures"))],
)
def probed(request: pytest.FixtureRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    from checks.health import run_health_checks
    from checks.policy import load_default_policy
    from checks.probe import build_report
    from checks.source import CaptureSource

    source = CaptureSource(CAPTURES / request.param)
    report = build_report(source)
    outcome = run_health_checks(report, source, load_default_policy())
    return report.to_dict(), outcome.to_dict()


@pytest.mark.parametrize(
    ("erasure_outcome", "image_status", "certified"),
    [
        ("certified", "verified", True),
        ("io-error", "verified", False),
        ("interrupted", "verified", False),
        ("unverified", "verified", False),
        ("certified", "failed", False),
    ],
)
def test_record_from_real_parts_signs_and_verifies(
    probed: tuple[dict[str, Any], dict[str, Any]],
    erasure_outcome: str,
    image_status: str,
    certified: bool,
) -> None:
    hardware, checks = probed
    if not hardware["storage"]:
        # these captures hold no lsblk: the laptop's drive is the one the erasure names
        # (a report listing no drive certifies nothing: tests/test_record.py)
        drive = {"name": "sda", "path": "/dev/sda", "serial": "QM00001", "transport": "sata"}
        hardware = {**hardware, "storage": [{**drive, "removable": False}]}
    device_id = hardware["device"].get("device_id") or "capture:qemu"
    part = erasure(erasure_outcome)
    record = new_record(
        kind="refurbishment",
        bench=BENCH,
        hardware=hardware,
        checks=checks,
        erasures=[part],
        image=image(image_status),
        device_id=device_id,
    )
    assert record["certified"] is certified, (part.status, part.errors)
    assert record["image"]["duration_s"] == (12.346 if image_status == "verified" else 0.0)
    verdict = inspect_signed_bytes(signed_file_bytes(sign_record(record, test_key())))
    assert verdict.ok, verdict.problems


def test_record_without_any_identity_asks_for_a_device_id(
    probed: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    hardware, checks = probed
    if hardware["device"].get("device_id"):
        pytest.skip("this capture has an identity")
    with pytest.raises(RecordInvalid, match="pass device_id explicitly"):
        new_record(kind="maintenance", bench=BENCH, hardware=hardware, checks=checks)


def test_a_certified_erasure_report_that_lies_is_caught() -> None:
    part = erasure("io-error").to_dict()
    part["status"] = "certified"  # an erasure with I/O errors claiming success
    record_parts = {
        "kind": "refurbishment",
        "bench": BENCH,
        "hardware": {"device": {"device_id": "x"}},
        "checks": {
            "checks": [],
            "grade": {
                "eligible": True,
                "grade": "A",
                "reasons": [],
                "repairs": [],
                "policy": {"name": "p", "sha256": "0" * 64},
            },
        },
    }
    with pytest.raises(RecordInvalid) as info:
        new_record(**record_parts, erasures=[part], image=image("verified"))
    paths = {p.path for p in info.value.problems}
    assert {"erasures[0].passes[0].errors", "erasures[0].verification.result"} <= paths
    validate_record(
        new_record(**record_parts, erasures=[erasure("certified")], image=image("verified"))
    )
