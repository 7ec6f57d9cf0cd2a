"""`weee capture` on this machine round-trips through `weee probe --from` unchanged."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agent.cli import main
from agent.commands.capture import make_capture
from checks.probe import build_report
from checks.source import CaptureSource


def _without_source(report: dict[str, Any]) -> dict[str, Any]:
    report = dict(report)
    report.pop("source")  # capture metadata: live/capture path/time, expected to differ
    return report


def _json(report_dict: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(report_dict))  # ATA attribute ids become strings, as in --json


def test_live_capture_replays_to_the_identical_report(tmp_path: Path) -> None:
    capture = tmp_path / "cap"
    capture.mkdir()
    live = make_capture(capture)
    assert (capture / "capture.json").exists() and (capture / "proc" / "cpuinfo").exists()
    replay = build_report(CaptureSource(capture))
    assert _without_source(replay.to_dict()) == _without_source(live.to_dict())
    assert replay.source is not None and replay.source.live is False
    assert replay.source.captured_at is not None


def test_capture_cli_then_probe_from_folder_and_tar(tmp_path: Path) -> None:
    runner = CliRunner()
    folder, archive = tmp_path / "cap", tmp_path / "cap.tar.gz"
    result = runner.invoke(main, ["capture", str(folder), "--tar", str(archive)])
    assert result.exit_code == 0, result.output
    assert "capture written" in result.output and tarfile.is_tarfile(archive)
    from_folder = runner.invoke(main, ["probe", "--json", "--from", str(folder)])
    from_tar = runner.invoke(main, ["probe", "--json", "--from", str(archive)])
    assert from_folder.exit_code == 0 and from_tar.exit_code == 0, from_tar.output
    a, b = json.loads(from_folder.output), json.loads(from_tar.output)
    assert _without_source(a) == _without_source(b)
    recorded = _json(build_report(CaptureSource(folder)).to_dict())
    assert _without_source(a) == _without_source(recorded)


def test_live_probe_human_and_json() -> None:
    runner = CliRunner()
    human = runner.invoke(main, ["probe"])
    assert human.exit_code == 0, human.output
    assert "CPU" in human.output and "Disk" in human.output
    as_json = runner.invoke(main, ["probe", "--json"])
    report = json.loads(as_json.output)
    assert report["schema"] == "weee-hardware/1" and report["cpu"]["threads"] == os.cpu_count()


def test_capture_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = CliRunner().invoke(main, ["capture", str(tmp_path)])
    assert result.exit_code == 2 and "not empty" in result.output
    assert (tmp_path / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("bad", ["missing-folder", "file.txt"])
def test_probe_from_bad_path_is_a_clear_usage_error(tmp_path: Path, bad: str) -> None:
    (tmp_path / "file.txt").write_text("not a capture")
    result = CliRunner().invoke(main, ["probe", "--from", str(tmp_path / bad)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output and str(tmp_path / bad) in result.output


def test_human_summary_of_a_qemu_notebook(tmp_path: Path) -> None:
    from tests.conftest import fixture_path

    folder = fixture_path("qemu-vm", "nvme-critical-warning")
    (tmp_path / "cmd" / "smartctl").mkdir(parents=True)
    shutil.copy(folder / "dmidecode.txt", tmp_path / "cmd" / "dmidecode.txt")
    shutil.copy(folder / "smartctl_nvme.json", tmp_path / "cmd" / "smartctl" / "nvme0n1.json")
    result = CliRunner().invoke(main, ["probe", "--from", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # rich wraps lines at the terminal width
    assert "ThinkPad X1 Carbon 5th" in text and "PF0XXXXX" in text
    # critical_warning 4 makes smartctl fail the drive; the summary shows the bit too
    assert "SMART FAILED" in text and "critical warning 0x04" in text


@pytest.mark.root
def test_probe_without_root_degrades_and_lists_gaps(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root (to drop to nobody) and setpriv")
    weee = Path(sys.executable).with_name("weee")
    # subprocess, not run_command: run as nobody from tmp_path (cwd), which run_command cannot set
    proc = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            str(weee),
            "probe",
            "--json",
        ],
        capture_output=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "HOME": str(tmp_path)},
        check=False,
    )
    if proc.returncode != 0 and b"Permission denied" in proc.stderr:
        pytest.skip(f"nobody cannot run the venv here: {proc.stderr[-200:]!r}")
    assert proc.returncode == 0, proc.stderr.decode()
    report = json.loads(proc.stdout)
    assert report["source"]["as_root"] is False
    assert report["cpu"]["model"] is not None
    assert any(g["what"] == "privileges" for g in report["gaps"])


def test_probe_from_tar_refuses_paths_outside(tmp_path: Path) -> None:
    import io

    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    result = CliRunner().invoke(main, ["probe", "--json", "--from", str(archive)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert not (tmp_path.parent / "escaped.txt").exists()


def test_safe_extract_without_filters(tmp_path: Path) -> None:
    # the hand-written path taken on Pythons without tarfile filters (Debian 12: 3.11.2)
    import io

    from agent.commands import probe as probe_module

    archive = tmp_path / "cap.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("cap/proc/cpuinfo")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
        link = tarfile.TarInfo("cap/link")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    dest = tmp_path / "out"
    dest.mkdir()
    with tarfile.open(archive) as tar:
        probe_module._safe_extract(tar, dest, builtin_filter=False)
    assert (dest / "cap/proc/cpuinfo").read_bytes() == b"abc"
    assert not (dest / "cap/link").exists()
