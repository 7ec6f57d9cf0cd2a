"""The erasure journal: which unfinished entries belong to a dead run.

(The end-to-end case, a ``weee wipe`` killed with SIGKILL mid-pass and reported by the
next run, is in test_wipe_cli.py.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import psutil
import pytest

from agent.wipe.journal import Journal
from agent.wipe.report import ErasureReport, Media, PassRecord, Sanitization, now_iso


def report() -> ErasureReport:
    r = ErasureReport(
        media=Media("/dev/sdz", "Seagate", "ST500LM021", "W62000006", "hdd", "ata", 1 << 30, 512),
        sanitization=Sanitization.for_method("overwrite", pattern="random", passes=1),
    )
    r.passes.append(PassRecord(1, "random", now_iso(), bytes_written=123 << 20))
    return r


def rewrite(path: Path, **changes: object) -> None:
    doc = json.loads(path.read_text())
    doc.update(changes)
    path.write_text(json.dumps(doc))


@pytest.fixture
def entry(tmp_path: Path) -> tuple[Journal, Path, ErasureReport]:
    journal = Journal(tmp_path)
    r = report()
    journal.record(r)
    return journal, tmp_path / "active" / f"{r.erasure_id}.json", r


def test_an_entry_of_this_process_is_interrupted_once_it_is_gone(
    entry: tuple[Journal, Path, ErasureReport], tmp_path: Path
) -> None:
    _journal, path, r = entry
    rewrite(path, pid=2**22 + 12345)  # no such process
    [found] = Journal(tmp_path).interrupted()
    assert found.report.erasure_id == r.erasure_id
    assert found.report.status == "incomplete"
    assert found.report.passes[0].bytes_written == 123 << 20
    assert found.report.to_dict()["verification"]["result"] == "not-done"


def test_a_live_run_is_left_alone(
    entry: tuple[Journal, Path, ErasureReport], tmp_path: Path
) -> None:
    _journal, path, _r = entry
    parent = os.getppid()  # alive for the whole test
    rewrite(path, pid=parent, process_started=psutil.Process(parent).create_time())
    assert Journal(tmp_path).interrupted() == []


def test_a_recycled_pid_is_not_the_same_run(
    entry: tuple[Journal, Path, ErasureReport], tmp_path: Path
) -> None:
    _journal, path, _r = entry
    parent = os.getppid()
    rewrite(path, pid=parent, process_started=psutil.Process(parent).create_time() - 3600.0)
    assert len(Journal(tmp_path).interrupted()) == 1


def test_an_entry_from_before_a_reboot_is_interrupted(
    entry: tuple[Journal, Path, ErasureReport], tmp_path: Path
) -> None:
    _journal, path, _r = entry
    parent = os.getppid()
    rewrite(path, pid=parent, process_started=psutil.Process(parent).create_time(),
            boot_id="00000000-0000-0000-0000-000000000000")  # fmt: skip
    assert len(Journal(tmp_path).interrupted()) == 1


def test_acknowledged_entries_are_filed(
    entry: tuple[Journal, Path, ErasureReport], tmp_path: Path
) -> None:
    _journal, path, r = entry
    rewrite(path, pid=2**22 + 12345)
    [found] = Journal(tmp_path).interrupted()
    filed = Journal(tmp_path).acknowledge(found)
    assert not path.exists()
    assert json.loads(filed.read_text())["report"]["status"] == "incomplete"
    assert Journal(tmp_path).interrupted() == []


def test_a_broken_entry_is_kept_for_inspection(tmp_path: Path) -> None:
    (tmp_path / "active").mkdir()
    broken = tmp_path / "active" / "half-written.json"
    broken.write_text('{"report": {"media": ')
    assert Journal(tmp_path).interrupted() == []
    assert broken.exists()


def test_nothing_is_written_for_an_erasure_already_filed(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    r = report()
    journal.record(r)
    r.finish()
    journal.close(r)
    journal.record(r)  # a hung drive's thread, waking up late
    assert list((tmp_path / "active").glob("*.json")) == []
