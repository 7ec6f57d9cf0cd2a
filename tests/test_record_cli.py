"""``weee bench`` and ``weee verify`` through the command line."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_record_samples import sample_record, test_key

from agent.cli import main
from agent.errors import EXIT_FAILED, EXIT_OK, EXIT_REFUSED, EXIT_USAGE
from checks.system import run_command
from inventory.benchkeys import default_data_dir, load_bench
from inventory.signing import b64, raw_public_key, sign_record, signed_file_bytes


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_bench_init_creates_private_key_readable_only_by_its_owner(data_dir: Path) -> None:
    code, out = run(
        "bench", "init", "--dir", str(data_dir), "--name", "lille-2", "--organisation", "Atelier"
    )
    assert code == EXIT_OK, out
    bench = load_bench(data_dir)
    assert stat.S_IMODE((data_dir / "bench").stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "bench" / "bench.key").stat().st_mode) == 0o600
    assert bench.key_id in out and bench.public_key_b64 in out
    assert (data_dir / "bench" / "bench.pub").read_text().strip() == bench.public_key_b64
    assert not bench.warnings


def test_bench_init_refuses_to_replace_a_key_without_force(data_dir: Path) -> None:
    run("bench", "init", "--dir", str(data_dir), "--name", "one")
    first = load_bench(data_dir).key_id
    code, out = run("bench", "init", "--dir", str(data_dir), "--name", "two")
    assert code == EXIT_REFUSED and "--force" in out
    assert load_bench(data_dir).key_id == first
    code, _ = run("bench", "init", "--dir", str(data_dir), "--name", "two", "--force")
    assert code == EXIT_OK and load_bench(data_dir).key_id != first


def test_bench_show_prints_public_key_and_key_id(data_dir: Path) -> None:
    run("bench", "init", "--dir", str(data_dir), "--name", "lille-2", "--location", "Lille")
    code, out = run("bench", "show", "--dir", str(data_dir), "--json")
    info = json.loads(out)
    bench = load_bench(data_dir)
    assert code == EXIT_OK
    assert info["key_id"] == bench.key_id and info["public_key"] == bench.public_key_b64
    assert info["location"] == "Lille"


def test_bench_show_without_bench_says_what_to_do(data_dir: Path) -> None:
    code, out = run("bench", "show", "--dir", str(data_dir))
    assert code == EXIT_USAGE and "weee bench init" in out


def test_bench_warns_about_a_key_others_can_read(data_dir: Path) -> None:
    run("bench", "init", "--dir", str(data_dir), "--name", "b")
    os.chmod(data_dir / "bench" / "bench.key", 0o644)
    assert "readable by others" in load_bench(data_dir).warnings[0]


def test_default_data_dir_follows_the_environment(tmp_path: Path) -> None:
    assert default_data_dir({"WEEE_DATA_DIR": str(tmp_path)}) == tmp_path
    if os.geteuid() == 0:
        assert default_data_dir({}) == Path("/var/lib/weee")
    else:
        assert default_data_dir({"HOME": "/h"}) == Path("/h/.local/share/weee")


@pytest.fixture(autouse=True)
def no_bench_of_this_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default data folder is an empty one: no bench key of the machine running the
    tests is trusted by accident."""
    monkeypatch.setenv("WEEE_DATA_DIR", str(tmp_path / "no-bench"))


@pytest.fixture
def signed(tmp_path: Path) -> Path:
    path = tmp_path / "record.json"
    path.write_bytes(signed_file_bytes(sign_record(sample_record(), test_key())))
    return path


@pytest.fixture
def public_key_file(tmp_path: Path) -> Path:
    path = tmp_path / "bench.pub"
    path.write_text(b64(raw_public_key(test_key())) + "\n")
    return path


def test_verify_accepts_an_intact_record_signed_by_the_given_key(
    signed: Path, public_key_file: Path
) -> None:
    code, out = run("verify", str(signed), "--public-key", str(public_key_file))
    assert code == EXIT_OK, out
    assert out.startswith("OK") and "trusted: the key given with --public-key" in out


def test_verify_without_a_known_key_does_not_verify_an_intact_record(signed: Path) -> None:
    code, out = run("verify", str(signed))
    key_id = json.loads(signed.read_text())["signature"]["key_id"]
    assert code == EXIT_REFUSED, out
    assert f"FAIL {signed}: signed by an unknown key {key_id}: not verified" in out
    assert "record 00000000" not in out  # the content is not shown as if it were verified


def test_verify_names_the_problem_of_a_tampered_record(signed: Path, public_key_file: Path) -> None:
    signed.write_bytes(signed.read_bytes().replace(b'"W62ABC12"', b'"W62ABC13"'))
    code, out = run("verify", str(signed), "--public-key", str(public_key_file))
    assert code == EXIT_FAILED
    assert "FAIL" in out and "altered after signing" in out


def test_verify_refuses_a_record_signed_by_another_bench(signed: Path) -> None:
    other = b64(raw_public_key(test_key(9)))
    code, out = run("verify", str(signed), "--public-key", other)
    assert code == EXIT_REFUSED and "signed by an unknown key" in out


def test_verify_reports_a_missing_file_and_a_bad_key_as_usage_errors(signed: Path) -> None:
    assert run("verify", str(signed.with_name("missing.json")))[0] == EXIT_USAGE
    code, out = run("verify", str(signed), "--public-key", "not-a-key")
    assert code == EXIT_USAGE and "public key" in out


def test_verify_json_lists_every_problem(signed: Path) -> None:
    signed.write_bytes(signed.read_bytes().replace(b'"kind": "refurbishment"', b'"kind": "repair"'))
    code, out = run("verify", str(signed), "--json")
    verdict = json.loads(out.splitlines()[0])
    assert code == EXIT_FAILED and not verdict["ok"]
    assert {p["path"] for p in verdict["problems"]} >= {"signature", "record.kind"}


def test_weee_verify_runs_as_a_program_without_traceback(signed: Path) -> None:
    signed.write_bytes(signed.read_bytes()[:-40])
    done = run_command(
        [str(Path(sys.executable).with_name("weee")), "verify", str(signed)], timeout=60
    )
    assert done.returncode == EXIT_FAILED
    assert "not valid JSON" in done.text and "Traceback" not in done.stderr_text


def test_bench_seal_signs_and_spools_a_record(data_dir: Path) -> None:
    run("bench", "init", "--dir", str(data_dir), "--name", "b", "--technician", "Amina")
    bench = load_bench(data_dir)
    entry = bench.seal(sample_record(3, bench=bench.record_bench()))
    assert entry.state == "pending" and entry.path.parent == data_dir / "spool" / "records"
    code, out = run("verify", str(entry.path), "--public-key", str(bench.public_key_path))
    assert code == EXIT_OK and "Amina" not in out
    assert json.loads(entry.path.read_text())["record"]["bench"]["technician"] == "Amina"
