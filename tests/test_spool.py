"""The spool: atomic, ordered, idempotent; and never corrupt, whenever its writer dies."""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_record_samples import sample_record, test_key

from inventory.signing import raw_public_key, sign_record, signed_file_bytes
from inventory.spool import TMP_PREFIX, Spool, SpoolError

N_RECORDS = 6


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return [sign_record(sample_record(n), test_key()) for n in range(N_RECORDS)]


def test_records_are_spooled_in_order_and_readable(
    tmp_path: Path, docs: list[dict[str, Any]]
) -> None:
    spool = Spool(tmp_path)
    for doc in reversed(docs):
        spool.add(doc)
    entries = spool.entries()
    assert [e.seq for e in entries] == list(range(1, N_RECORDS + 1))
    assert [e.record_id for e in entries] == [d["record"]["record_id"] for d in reversed(docs)]
    assert all(e.state == "pending" for e in entries)
    assert spool.load(entries[0], raw_public_key(test_key())) == docs[-1]


def test_adding_the_same_record_twice_is_a_no_op(
    tmp_path: Path, docs: list[dict[str, Any]]
) -> None:
    spool = Spool(tmp_path)
    first = spool.add(docs[0])
    again = spool.add(docs[0])
    assert again.path == first.path and len(spool.entries()) == 1


def test_same_record_id_with_other_content_is_refused(
    tmp_path: Path, docs: list[dict[str, Any]]
) -> None:
    spool = Spool(tmp_path)
    spool.add(docs[0])
    other = sign_record({**docs[0]["record"], "maintenance_ticket": "MT-1"}, test_key())
    with pytest.raises(SpoolError, match="different content"):
        spool.add(other)


def test_invalid_or_tampered_records_never_enter_the_spool(
    tmp_path: Path, docs: list[dict[str, Any]]
) -> None:
    spool = Spool(tmp_path)
    tampered = {
        "record": {**docs[0]["record"], "kind": "recycling"},
        "signature": docs[0]["signature"],
    }
    with pytest.raises(SpoolError, match="altered after signing"):
        spool.add(tampered)
    with pytest.raises(SpoolError, match="expected key"):
        spool.add(docs[0], public_key=raw_public_key(test_key(2)))
    assert spool.entries() == []


def test_sent_and_rejected_states(tmp_path: Path, docs: list[dict[str, Any]]) -> None:
    spool = Spool(tmp_path)
    for doc in docs[:3]:
        spool.add(doc)
    ids = [d["record"]["record_id"] for d in docs[:3]]
    spool.mark_sent(ids[0], {"status": "stored", "asset_id": "A-1"})
    spool.mark_rejected(ids[1], {"error": "schema"})
    assert [e.state for e in spool.entries()] == ["sent", "rejected", "pending"]
    assert spool.entries()[0].answer == {"status": "stored", "asset_id": "A-1"}
    assert [e.record_id for e in spool.pending()] == [ids[2]]
    spool.unreject(ids[1])
    assert [e.record_id for e in spool.pending()] == ids[1:]
    with pytest.raises(SpoolError, match="not in the spool"):
        spool.mark_sent("00000000-0000-4000-8000-999999999999", {})


def test_a_rotten_marker_keeps_its_state(tmp_path: Path, docs: list[dict[str, Any]]) -> None:
    spool = Spool(tmp_path)
    spool.add(docs[0])
    spool.mark_sent(docs[0]["record"]["record_id"], {"status": "stored"})
    (spool.sent_dir / f"{docs[0]['record']['record_id']}.json").write_bytes(b"\xff{")
    (entry,) = spool.entries()
    assert entry.state == "sent" and "unreadable marker" in str(entry.answer)


def test_load_detects_a_file_damaged_on_the_stick(
    tmp_path: Path, docs: list[dict[str, Any]]
) -> None:
    spool = Spool(tmp_path)
    entry = spool.add(docs[0])
    data = bytearray(entry.path.read_bytes())
    data[len(data) // 2] ^= 0x04
    entry.path.write_bytes(bytes(data))
    with pytest.raises(SpoolError, match="damaged"):
        spool.load(entry)


def test_leftover_temporary_files_are_not_records_and_are_cleaned(
    tmp_path: Path, docs: list[dict[str, Any]]
) -> None:
    spool = Spool(tmp_path)
    spool.add(docs[0])
    leftover = spool.records_dir / f"{TMP_PREFIX}000002-{docs[1]['record']['record_id']}.json.123"
    leftover.write_bytes(signed_file_bytes(docs[1])[:100])
    assert len(spool.entries()) == 1
    spool.add(docs[1])
    assert not leftover.exists() and len(spool.entries()) == 2


# -- killed writers -----------------------------------------------------------------------


def in_child(work: Callable[[], None]) -> int:
    """Run ``work`` in a forked child; return the signal that ended it (0 if it exited).

    fork, not a new interpreter: the child starts writing within microseconds, so 200
    random kills take seconds, and it writes with exactly the code under test.
    """
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        code = 0
        try:
            work()
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert not (os.WIFEXITED(status) and os.WEXITSTATUS(status)), "the writer failed"
    return os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0


def write_all(
    root: Path, docs: list[dict[str, Any]], checkpoint: Callable[[str], None] | None = None
) -> None:
    spool = Spool(root, checkpoint=checkpoint) if checkpoint else Spool(root)
    for doc in docs:
        spool.add(doc)


def assert_spool_sound(root: Path, docs: list[dict[str, Any]]) -> int:
    """Every record file is whole and exactly the signed record; no record twice; the
    records present are the first ones written, in order. Returns how many there are."""
    expected = {d["record"]["record_id"]: signed_file_bytes(d) for d in docs}
    order = [d["record"]["record_id"] for d in docs]
    entries = Spool(root).entries()
    ids = [e.record_id for e in entries]
    assert len(set(ids)) == len(ids), f"duplicated records: {ids}"
    assert ids == order[: len(ids)], f"out of order: {ids}"
    assert [e.seq for e in entries] == list(range(1, len(ids) + 1))
    for entry in entries:
        assert entry.path.read_bytes() == expected[entry.record_id], f"{entry.path} is partial"
    records_dir = root / "records"
    names = {p.name for p in records_dir.iterdir()} if records_dir.exists() else set()
    assert all(n.startswith(TMP_PREFIX) for n in names - {e.path.name for e in entries})
    return len(ids)


STEPS = ["locked", "tmp-created", "tmp-written", "tmp-synced", "renamed", "dir-synced"]


@pytest.mark.parametrize("victim", [0, 3])
@pytest.mark.parametrize("step", STEPS)
def test_killed_at_every_step_of_a_write_leaves_a_sound_spool(
    tmp_path: Path, docs: list[dict[str, Any]], step: str, victim: int
) -> None:
    seen: list[str] = []

    def die_at_step(name: str) -> None:
        seen.append(name)
        if name == step and seen.count("locked") == victim + 1:
            os.kill(os.getpid(), signal.SIGKILL)

    assert in_child(lambda: write_all(tmp_path, docs, die_at_step)) == signal.SIGKILL
    present = assert_spool_sound(tmp_path, docs)
    # the rename is the instant the record comes into existence
    assert present == victim + (STEPS.index(step) >= STEPS.index("renamed"))
    write_all(tmp_path, docs)  # re-running completes the work
    assert assert_spool_sound(tmp_path, docs) == N_RECORDS
    assert not list((tmp_path / "records").glob(f"{TMP_PREFIX}*"))


@pytest.mark.parametrize("step", STEPS[1:])
def test_killed_while_marking_a_record_sent_leaves_it_pending_or_sent(
    tmp_path: Path, docs: list[dict[str, Any]], step: str
) -> None:
    write_all(tmp_path, docs[:2])
    record_id = docs[0]["record"]["record_id"]

    def die(name: str) -> None:
        if name == step:
            os.kill(os.getpid(), signal.SIGKILL)

    in_child(lambda: Spool(tmp_path, checkpoint=die).mark_sent(record_id, {"status": "stored"}))
    state = Spool(tmp_path).entries()[0]
    assert state.state == ("sent" if STEPS.index(step) >= STEPS.index("renamed") else "pending")
    assert state.answer in (None, {"status": "stored"})


def test_killed_at_random_instants_many_times_never_corrupts(
    tmp_path: Path, docs: list[dict[str, Any]]
) -> None:
    rng = random.Random(20261126)
    kills = completed_runs = mid_write = 0
    # The kill instants are drawn within the time one whole spool write takes on this
    # machine, measured here: a fixed window lets a fast disk finish before most kills.
    # The quickest of three writes, then adjusted as the run goes: shorter when a child
    # finished before its kill, a little longer when killed (aiming at ~9 kills in 10).
    # A load spike during the measurement followed by a quiet machine would otherwise
    # leave a window so long that most children finish first.
    timings = []
    for n in range(3):
        clock = time.monotonic()
        write_all(tmp_path / f"timing-{n}", docs)
        timings.append(time.monotonic() - clock)
    window = first_window = min(timings)
    root = tmp_path / "spool-0"
    started = time.monotonic()
    for iteration in range(200):
        ready, tell = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(ready)
                os.write(tell, b".")
                write_all(root, docs)
            finally:
                os._exit(0)
        os.close(tell)
        os.read(ready, 1)  # the child is running: fork's own latency is not in the window
        os.close(ready)
        time.sleep(rng.uniform(0, window))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        killed = os.WIFSIGNALED(status)
        kills += killed
        window = min(window * 1.02, 4 * first_window) if killed else window * 0.8
        mid_write += bool(list(root.glob(f"*/{TMP_PREFIX}*")))
        if assert_spool_sound(root, docs) == N_RECORDS:
            completed_runs += 1
            root = tmp_path / f"spool-{iteration + 1}"  # start over on an empty spool
    write_all(root, docs)
    assert assert_spool_sound(root, docs) == N_RECORDS
    # the figures say the kills really landed inside writes, not after the work was done
    print(
        f"{kills} kills ({mid_write} in the middle of a file), "
        f"{completed_runs} spools completed, window {first_window * 1000:.0f} ms "
        f"(at the end {window * 1000:.0f} ms), "
        f"{time.monotonic() - started:.1f} s"
    )
    assert kills > 150


def test_concurrent_writers_get_distinct_sequence_numbers(tmp_path: Path) -> None:
    docs = [sign_record(sample_record(n), test_key()) for n in range(20, 32)]
    children = []
    for share in range(4):
        pid = os.fork()
        if pid == 0:  # the child never returns into pytest
            code = 1
            try:
                write_all(tmp_path, docs[share::4])
                code = 0
            finally:
                os._exit(code)
        children.append(pid)
    assert all(os.waitpid(pid, 0)[1] == 0 for pid in children)
    entries = Spool(tmp_path).entries()
    assert [e.seq for e in entries] == list(range(1, len(docs) + 1))
    assert sorted(e.record_id for e in entries) == sorted(d["record"]["record_id"] for d in docs)
