"""The bench run for real on this machine, erasing only loop devices the tests create:
``weee demo`` (the README's first command) and ``weee run --maintenance``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.cli import main
from agent.run.demo import MARKER, count_marker, loop_device, make_donor_disk, run_demo
from agent.run.view import RunView
from checks.system import run_command
from inventory.signing import verify_signed

pytestmark = [
    pytest.mark.root,
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for loop devices"),
]


def _attached(path: Path) -> bool:
    result = run_command(["losetup", "--associated", str(path)])
    return bool(result.text.strip())


def test_the_demo_erases_images_and_registers_a_disposable_disk_never_certified(
    tmp_path: Path,
) -> None:
    # --refurbish: this machine is no laptop (graded parts); the demo goes on to the image
    result = run_demo(tmp_path / "demo", view=RunView(), lang="en", refurbish=True)
    verdict = result.outcome.verdict
    # everything a certificate needs was done on the disposable disk; the record says it
    # is a demonstration and certifies no laptop (this machine's disks were not erased)
    assert verdict.verdict == "demonstration", verdict.reasons
    assert verdict.exit_code == 0
    assert "a demonstration" in verdict.reasons[0]
    assert result.markers_before == 257
    assert result.markers_after == 0
    assert result.stored_status == 200
    assert verdict.asset_id
    assert verdict.record_path is not None and verdict.label_path is not None
    signed = json.loads(Path(verdict.record_path).read_text())
    verified = verify_signed(signed)
    record = verified.record
    assert record["certified"] is False
    assert [e["status"] for e in record["erasures"]] == ["certified"]
    assert record["erasures"][0]["media"]["device"] == result.loop_device
    # the record describes what was erased: the disposable disk stands for the laptop's
    # storage; this machine's real disks are named as left out, never as erased
    assert [d["path"] for d in record["hardware"]["storage"]] == [result.loop_device]
    assert "disposable disk" in record["hardware"]["demonstration"]["note"]
    assert result.loop_device not in record["hardware"]["demonstration"]["drives_left_out"]
    assert record["image"]["status"] == "verified"
    # what the demo tells to run: its bench's own key is the trusted one
    args = ["verify", "--dir", str(result.workdir / "data"), verdict.record_path]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0 and "signed by bench demo-bench" in done.output, done.output
    label = Path(verdict.label_path).read_text()
    assert f"ASSET   {verdict.asset_id}" in label
    assert "STATUS  DEMONSTRATION, NOT CERTIFIED" in label
    pdf = Path(verdict.label_path).with_suffix(".pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    text = run_command(["pdftotext", str(pdf), "-"])
    if text.ok:  # poppler-utils (scripts/setup --dev)
        assert verdict.asset_id in text.text
    # the disposable disk is gone: detached and deleted
    assert not list((tmp_path / "demo").glob("weee-demo-disk-*"))


def test_the_demo_on_defaults_routes_a_parts_machine_to_recycling(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "demo", view=RunView(), lang="fr")
    verdict = result.outcome.verdict
    assert result.markers_after == 0
    if verdict.grade != "parts":
        pytest.skip(f"this machine is graded {verdict.grade}: a laptop in working order")
    assert verdict.verdict == "recycling"
    assert result.outcome.state.steps["image"].status == "skipped"
    record = json.loads(Path(str(verdict.record_path)).read_text())["record"]
    assert record["kind"] == "recycling"
    assert record["erasures"][0]["destination"] == "recycle"


@pytest.fixture
def donor_disk(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    disk = tmp_path / "donor.img"
    make_donor_disk(disk, 32 << 20)
    with loop_device(disk) as device:
        yield disk, device
    assert not _attached(disk)


def test_a_maintenance_run_erases_nothing_and_records_the_ticket(
    tmp_path: Path, donor_disk: tuple[Path, str]
) -> None:
    disk, device = donor_disk
    policy = tmp_path / "policy.toml"
    policy.write_text("[cpu]\nstress_s = 1.0\n")
    profile = tmp_path / "profile.toml"
    profile.write_text(
        f'[erase]\ndrives = ["{device}"]\n[policy]\nfile = "{policy}"\n'
        f'[paths]\ndata_dir = "{tmp_path / "data"}"\n'
    )
    before = count_marker(disk, MARKER)
    result = CliRunner().invoke(
        main,
        [
            "run", "--profile", str(profile), "--unattended", "--screen", "plain",
            "--maintenance", "T-2026-0042", "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{\n") :])
    assert summary["verdict"]["verdict"] == "maintenance"
    assert "erase" not in summary["steps"] and "image" not in summary["steps"]
    assert count_marker(disk, MARKER) == before  # nothing erased
    record = json.loads(Path(summary["verdict"]["record_path"]).read_text())["record"]
    assert record["kind"] == "maintenance"
    assert record["maintenance_ticket"] == "T-2026-0042"
    assert record["erasures"] == [] and record["image"] is None
