"""``weee wipe`` as a technician uses it: plan, refusals, confirmation, interruption.

This machine's own root disk is only ever named with ``--dry-run`` (plan only, nothing
opened for writing). Destructive runs target loop devices the tests create.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_wipe_engine import (
    MARKER,
    LoopFactory,
    attach_loops,
    needs_losetup,
    needs_root,
    plant_marker,
    read_all,
)

from agent.blockdev import _mount_device, read_facts, underlying_disks
from agent.commands.wipe import wipe
from agent.errors import EXIT_INCOMPLETE, EXIT_OK, EXIT_REFUSED
from agent.wipe.journal import Journal
from checks.system import run_command

WEEE = str(Path(sys.executable).parent / "weee")


@pytest.fixture
def loop_device(tmp_path: Path) -> Iterator[LoopFactory]:
    yield from attach_loops(tmp_path)


def root_disks() -> list[str]:
    facts = read_facts()
    root = [m for m in facts.mounts if m.mountpoint == "/"][-1]
    device = _mount_device(root, facts)
    if device is None:
        pytest.skip(f"/ is not on a block device here ({root.fstype})")
    return sorted(underlying_disks(device, facts))


def test_dry_run_refuses_this_machines_root_disk(tmp_path: Path) -> None:
    for name in root_disks():
        result = CliRunner().invoke(
            wipe, ["--dry-run", "--json", f"/dev/{name}", "--journal-dir", str(tmp_path)]
        )
        assert result.exit_code == EXIT_REFUSED, result.output
        plan = json.loads(result.stdout)
        [target] = plan["targets"]
        assert target["allowed"] is False
        assert any("boot medium" in r for r in target["refusals"])


def test_default_targets_never_include_the_root_disk(tmp_path: Path) -> None:
    result = CliRunner().invoke(wipe, ["--dry-run", "--json", "--journal-dir", str(tmp_path)])
    if result.exit_code != EXIT_OK and "no drives found" in result.output:
        pytest.skip("no disks visible")
    plan = json.loads(result.stdout)
    for target in plan["targets"]:
        if target["device"] in {f"/dev/{n}" for n in root_disks()}:
            assert target["allowed"] is False


def test_without_names_a_refused_internal_drive_is_exit_3_not_done(tmp_path: Path) -> None:
    """``weee wipe`` on every drive: this machine's root disk (internal, holding the
    running system) is refused, so the laptop is not done: exit 3, never 0, and --json
    lists the refusal. Plan only (--dry-run): the real run takes the same decision
    (refused_laptop_drives) and is tried for real in the VM."""
    roots = {f"/dev/{n}" for n in root_disks()}
    result = subprocess.run(
        [WEEE, "wipe", "--dry-run", "--json", "--journal-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    plan = json.loads(result.stdout)
    refused = [t for t in plan["targets"] if t["device"] in roots]
    if not refused or not all(t["laptop_drive"] for t in refused):
        pytest.skip("this machine's root disk is not an internal drive here")
    assert result.returncode == EXIT_REFUSED, result.stderr
    assert all(t["allowed"] is False and t["refusals"] for t in refused)


@pytest.mark.root
@needs_root
@needs_losetup
def test_dry_run_opens_nothing_for_writing(tmp_path: Path, loop_device: LoopFactory) -> None:
    device = loop_device(8 << 20)
    plant_marker(device, 8 << 20)
    # named twice: planned once (two jobs on one disk would fight over it)
    result = CliRunner().invoke(
        wipe, ["--dry-run", "--json", device, device, "--journal-dir", str(tmp_path)]
    )
    assert result.exit_code == EXIT_OK, result.output
    assert "ERASE" in result.stderr and "expected duration" in result.stderr
    [target] = json.loads(result.stdout)["targets"]
    assert target["methods"] == ["overwrite"] and target["expected_duration_s"] > 0
    assert read_all(device).count(MARKER) == 9
    assert not list((tmp_path).glob("active/*.json"))


@pytest.mark.root
@needs_root
@needs_losetup
@pytest.mark.parametrize("typed", ["", "yes\n", "erase\n"], ids=["no-input", "yes", "lowercase"])
def test_nothing_is_erased_without_confirmation(
    tmp_path: Path, loop_device: LoopFactory, typed: str
) -> None:
    device = loop_device(8 << 20)
    plant_marker(device, 8 << 20)
    result = CliRunner().invoke(wipe, [device, "--journal-dir", str(tmp_path)], input=typed)
    assert result.exit_code == EXIT_REFUSED, result.output
    assert "not confirmed" in result.output
    assert read_all(device).count(MARKER) == 9


@pytest.mark.root
@needs_root
@needs_losetup
def test_typed_confirmation_erases_and_reports(tmp_path: Path, loop_device: LoopFactory) -> None:
    device = loop_device(8 << 20)
    plant_marker(device, 8 << 20)
    report_file = tmp_path / "erasure.json"
    result = CliRunner().invoke(
        wipe,
        [device, "--journal-dir", str(tmp_path / "j"), "--report", str(report_file), "--json",
         "--technician", "Ada", "--bench", "bench-3"],
        input="ERASE\n",
    )  # fmt: skip
    assert result.exit_code == EXIT_OK, result.output
    assert read_all(device).count(MARKER) == 0
    [doc] = json.loads(report_file.read_text())
    assert json.loads(result.stdout) == [doc]
    assert doc["schema"] == "weee-erasure/1" and doc["status"] == "certified"
    assert doc["operator"]["technician"] == "Ada" and doc["operator"]["bench"] == "bench-3"
    assert doc["media"]["device"] == device and doc["media"]["size_bytes"] == 8 << 20


def _pass_started(journal: Path) -> bool:
    """The run's journal entry shows a pass under way (written atomically: never torn)."""
    entries = list((journal / "active").glob("*.json"))
    return bool(entries) and bool(json.loads(entries[0].read_text())["report"]["passes"])


@pytest.mark.root
@needs_root
@needs_losetup
@pytest.mark.slow
def test_a_killed_run_is_reported_incomplete_by_the_next(
    tmp_path: Path, loop_device: LoopFactory
) -> None:
    device = loop_device(128 << 20)
    plant_marker(device, 128 << 20)
    journal = tmp_path / "journal"
    # Popen, not run_command: the run is killed while it erases
    proc = subprocess.Popen(
        [WEEE, "wipe", device, "--yes", "--passes", "35", "--journal-dir", str(journal)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not _pass_started(journal):
            if time.monotonic() > deadline:
                pytest.fail("the erasure never started")
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)  # no chance to clean up, like a power cut
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    # the next run, even a dry run, says so (and a dry run leaves the entry in place)
    dry = run_command(
        [WEEE, "wipe", device, "--dry-run", "--journal-dir", str(journal)], timeout=60
    )
    assert dry.returncode == EXIT_INCOMPLETE, dry.stderr_text
    assert "INCOMPLETE" in dry.stderr_text and device in dry.stderr_text
    [pending] = Journal(journal).interrupted()
    assert pending.report.status == "incomplete"
    assert pending.report.verification.result != "passed"

    # a real run reports it in its output, files it, and erases the drive again
    rerun = run_command(
        [WEEE, "wipe", device, "--yes", "--json", "--journal-dir", str(journal)], timeout=120
    )
    assert rerun.returncode == EXIT_OK, rerun.stderr_text
    old, new = json.loads(rerun.stdout)
    assert old["status"] == "incomplete" and old["erasure_id"] == pending.report.erasure_id
    assert any("interrupted" in e for e in old["errors"])
    assert new["status"] == "certified"
    assert Journal(journal).interrupted() == []
    assert read_all(device).count(MARKER) == 0


@pytest.mark.root
@needs_root
@needs_losetup
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_stopped_run_leaves_the_erasure_incomplete(
    tmp_path: Path, loop_device: LoopFactory, signum: int
) -> None:
    device = loop_device(128 << 20)
    journal = tmp_path / "journal"
    # Popen, not run_command: the run is signalled while it erases. env restores the
    # default Ctrl-C whatever this test inherited: a test run started in the background
    # of a shell (nohup, CI wrappers) ignores SIGINT, its children too, and the erasure
    # would then run to its end (env execs weee: proc.pid is weee's).
    proc = subprocess.Popen(
        ["env", "--default-signal=INT", WEEE, "wipe", device, "--yes", "--json",
         "--passes", "35", "--journal-dir", str(journal)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    # the signal lands once the journal shows a pass under way, not after a fixed pause
    # that a loaded machine may spend before the erasure (or a fast one after it)
    deadline = time.monotonic() + 60
    while not _pass_started(journal):
        assert time.monotonic() < deadline, "the erasure never started"
        time.sleep(0.01)
    proc.send_signal(signum)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_INCOMPLETE
    [doc] = json.loads(out)
    assert doc["status"] == "incomplete"
    assert Journal(journal).interrupted() == []  # filed by the run itself
