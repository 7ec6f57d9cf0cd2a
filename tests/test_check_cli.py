"""``weee check`` on the command line: the JSON contract, --from a capture, --only,
--policy errors, the language, and --list."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agent.cli import main
from checks.health import CHECKS
from tests.conftest import CaptureFactory, fixture_path
from tests.test_check_language import english_in

CPUINFO = "processor\t: 0\nmodel name\t: Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz\n"
DMI_MEMORY = """\
Handle 0x0040, DMI type 17, 40 bytes
Memory Device
\tSize: 4 GB
\tForm Factor: SODIMM
\tLocator: ChannelA-DIMM0
\tType: DDR4
\tSpeed: 2400 MT/s
"""


@pytest.fixture
def laptop(make_capture: CaptureFactory) -> Path:
    """A capture of a laptop with three drives (a failing NVMe, a clean SATA SSD, one
    whose smartctl run failed), a worn Dell battery and 4 GB of RAM."""
    return make_capture(
        {
            "capture.json": json.dumps({"format": "weee-capture/1"}),
            "cmd/smartctl/nvme0n1.json": fixture_path(
                "smartctl", "scrutiny-smart-nvme-failed.json"
            ),
            "cmd/smartctl/sda.json": fixture_path("smartctl", "scrutiny-smart-ata.json"),
            "cmd/smartctl/sdb.json": fixture_path("smartctl", "scrutiny-smart-fail.json"),
            "sys/class/power_supply/BAT0/uevent": fixture_path(
                "power_supply", "dell-gr43747-charge", "BAT0", "uevent"
            ),
            "cmd/dmidecode.txt": DMI_MEMORY,
            "proc/cpuinfo": CPUINFO,
        }
    )


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, ["check", *args], env=env, catch_exceptions=False)


def test_json_contract_from_a_capture(laptop: Path) -> None:
    result = run("--from", str(laptop), "--json", "--unattended", "--lang", "en")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    by_id = {c["id"]: c for c in doc["checks"]}
    # every drive gets a storage verdict
    assert {by_id[f"storage.smart.{n}"]["status"] for n in ("nvme0n1", "sda", "sdb")} == {
        "fail",
        "pass",
        "warn",
    }
    assert by_id["storage.smart.nvme0n1"]["status"] == "fail"
    assert by_id["storage.smart.sdb"]["message_id"] == "storage.no_smart"
    for c in doc["checks"]:
        assert set(c) >= {"id", "status", "summary", "evidence"}
        assert c["status"] in ("pass", "warn", "fail", "skip")
        assert c["summary"] == c["summaries"]["en"] and c["summaries"]["fr"]
    # live-only checks are skipped with the reason, not run against the bench machine
    assert by_id["cpu.stress"]["status"] == "skip"
    assert by_id["cpu.stress"]["summary"] == "Skipped: needs the live machine, not a capture."
    assert by_id["keyboard"]["summary"] == "Skipped: needs a technician (unattended run)."
    assert by_id["memory.size"]["status"] == "fail"
    assert by_id["memory.size"]["repair"] == "add 4 GB RAM"
    assert by_id["cpu.model"]["status"] == "pass"
    grade = doc["grade"]
    assert set(grade) >= {"eligible", "grade", "reasons", "repairs", "policy"}
    assert grade["eligible"] is False
    assert "add 4 GB RAM" in grade["repairs"]
    assert grade["policy"]["name"] == "weee default policy" and len(grade["policy"]["sha256"]) == 64


def test_only_selects_by_prefix_and_component(laptop: Path) -> None:
    doc = json.loads(
        run("--from", str(laptop), "--json", "--only", "storage.smart", "--lang", "en").output
    )
    assert [c["id"] for c in doc["checks"]] == [
        "storage.smart.nvme0n1",
        "storage.smart.sda",
        "storage.smart.sdb",
    ]
    doc = json.loads(run("--from", str(laptop), "--json", "--only", "battery,memory.size").output)
    assert [c["id"] for c in doc["checks"]] == ["battery.health.BAT0", "memory.size"]


def test_unknown_check_is_a_usage_error(laptop: Path) -> None:
    result = CliRunner().invoke(main, ["check", "--from", str(laptop), "--only", "floppy"])
    assert result.exit_code == 2
    assert "unknown check 'floppy'" in result.output


def test_policy_errors_name_file_line_and_key(laptop: Path, tmp_path: Path) -> None:
    policy = tmp_path / "programme.toml"
    policy.write_text('name = "Lyon"\n[memory]\nmin_gib = 4\nmax_gib = 64\n')
    result = CliRunner().invoke(main, ["check", "--from", str(laptop), "--policy", str(policy)])
    assert result.exit_code == 2
    assert f"policy {policy}, line 4: memory.max_gib: unknown key" in result.output
    assert "Traceback" not in result.output


def test_policy_file_changes_the_verdict_and_names_itself(laptop: Path, tmp_path: Path) -> None:
    policy = tmp_path / "programme.toml"
    policy.write_text('name = "Lyon 4 GB"\n[memory]\nmin_gib = 4\n')
    doc = json.loads(
        run(
            "--from", str(laptop), "--json", "--only", "memory.size", "--policy", str(policy)
        ).output
    )
    assert doc["checks"][0]["status"] == "pass"
    assert doc["grade"]["policy"]["name"] == "Lyon 4 GB"


@pytest.mark.parametrize(
    ("env", "args", "lang"),
    [
        ({"LC_ALL": "", "LC_MESSAGES": "", "LANG": "fr_FR.UTF-8"}, [], "fr"),
        ({"LC_ALL": "", "LC_MESSAGES": "fr_BE.UTF-8", "LANG": "en_GB.UTF-8"}, [], "fr"),
        ({"LC_ALL": "C.UTF-8", "LC_MESSAGES": "fr_FR.UTF-8", "LANG": "fr_FR.UTF-8"}, [], "en"),
        ({"LC_ALL": "", "LC_MESSAGES": "", "LANG": "fr_FR.UTF-8"}, ["--lang", "en"], "en"),
        ({"LC_ALL": "en_US.UTF-8"}, ["--lang", "fr"], "fr"),
    ],
)
def test_language_follows_the_locale_unless_told(
    laptop: Path, env: dict[str, str], args: list[str], lang: str
) -> None:
    doc = json.loads(
        run("--from", str(laptop), "--json", "--only", "battery", *args, env=env).output
    )
    assert doc["lang"] == lang
    [battery] = doc["checks"]
    assert battery["summary"] == battery["summaries"][lang]


def test_human_output_is_compact_and_in_french(laptop: Path) -> None:
    result = run("--from", str(laptop), "--unattended", "--lang", "fr", env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "ÉCHEC" in result.output and "NON ÉLIGIBLE" in result.output
    assert "ajouter 4 Go de RAM" in result.output
    assert "nvme0n1 : 7 erreurs de support" in result.output


def test_list_declares_every_check_as_data() -> None:
    result = run("--list", "--json")
    declared = json.loads(result.output)
    assert [d["id"] for d in declared] == [c.id for c in CHECKS]
    by_id = {d["id"]: d for d in declared}
    assert by_id["storage.self_test"]["requires"] == {
        "tools": ["smartctl"],
        "root": True,
        "live": True,
        "terminal": False,
    }
    assert by_id["storage.smart"]["per"] == "storage"
    assert by_id["keyboard"]["interactive"] is True
    assert not any(d["destructive"] for d in declared)


def test_default_policy_is_printable() -> None:
    result = run("--default-policy")
    assert result.output.startswith("# weee programme policy")
    assert "[storage.ata.current_pending_sectors]" in result.output


def test_output_validates_against_the_record_schema(laptop: Path) -> None:
    """The record carries this output as its ``checks``: it must satisfy the published
    JSON Schema's checkOutput definition."""
    import jsonschema

    from tests.conftest import REPO

    schema_path = REPO / "inventory" / "schema" / "record-1.schema.json"
    if not schema_path.exists():
        pytest.skip("record schema not published yet")
    schema = json.loads(schema_path.read_text())
    check_output = {"$defs": schema["$defs"], "$ref": "#/$defs/checkOutput"}
    doc = json.loads(run("--from", str(laptop), "--json", "--unattended").output)
    jsonschema.validate(doc, check_output)


# --- progress on the terminal: in the technician's language, with the time left -------

WEEE = str(Path(sys.executable).with_name("weee"))
SHORT_POLICY = """\
name = "short bench"
[memory]
pattern_test_mib = 32
pattern_test_budget_s = 0.5
[cpu]
stress_s = 1.0
"""


def run_on_a_terminal(*args: str) -> tuple[str, str]:
    """``weee check`` with its stderr on a pseudo-terminal (its progress line is only
    drawn on a terminal): (stdout, what the terminal showed)."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "200"}
    with subprocess.Popen(
        [WEEE, "check", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env,
    ) as proc:
        os.close(slave)
        shown = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            shown += chunk
        stdout = proc.stdout.read() if proc.stdout else b""
        assert proc.wait(timeout=120) == 0, shown
    os.close(master)
    return stdout.decode(), shown.decode("utf-8", "replace")


def progress_lines(shown: str) -> list[str]:
    """The successive states of the one-line progress display."""
    return [part for part in re.split(r"\r\x1b\[2K", shown) if part.strip()]


def test_french_progress_from_a_capture_holds_no_english(laptop: Path) -> None:
    _out, shown = run_on_a_terminal("--from", str(laptop), "--unattended", "--lang", "fr")
    lines = progress_lines(shown)
    assert any(line.startswith("storage.smart.nvme0n1 · reste environ ") for line in lines), lines
    for line in lines:
        assert english_in(line) == [], line


@pytest.mark.parametrize(
    ("lang", "stress", "memory", "left"),
    [
        # \d/5: how many patterns fit in the 0.5 s budget depends on the machine's load
        ("fr", "charge du processeur 1/1 s", r"test de la mémoire : \d/5 motifs", "reste environ"),
        ("en", "CPU stress 1/1 s", r"memory pattern test: \d/5 patterns", "about"),
    ],
)
def test_live_progress_in_the_chosen_language_with_the_policys_time(
    tmp_path: Path, lang: str, stress: str, memory: str, left: str
) -> None:
    """On this machine, the timed checks under a policy with a 1 s stress: their own
    sentences in the run's language, and a time left that is the policy's (the
    declared 15 s stress would show as "16 s" or more at the start)."""
    policy = tmp_path / "programme.toml"
    policy.write_text(SHORT_POLICY)
    out, shown = run_on_a_terminal(
        "--only", "memory.pattern,cpu.stress", "--policy", str(policy), "--lang", lang
    )
    lines = progress_lines(shown)
    assert any(re.match(memory, line) for line in lines), lines
    assert any(line.startswith(stress) for line in lines), lines
    first = lines[0]
    assert first.startswith(f"memory.pattern · {left} "), first
    seconds = int(re.search(r"(\d+) s", first).group(1))  # type: ignore[union-attr]
    assert 1 <= seconds <= 2, first  # 0.5 s of memory test + 1 s of stress
    if lang == "fr":
        for line in lines:
            assert english_in(line) == [], line
    assert "cpu.stress" in out and "memory.pattern" in out  # the verdicts, on stdout


def test_list_shows_the_time_each_check_gets_under_the_policy(tmp_path: Path) -> None:
    policy = tmp_path / "programme.toml"
    policy.write_text(SHORT_POLICY + "[storage]\nself_test_limit_s = 30.0\n")
    default = run("--list").output
    short = run("--list", "--policy", str(policy)).output
    assert re.search(r"^cpu\.stress +~ +15 s", default, re.M), default
    assert re.search(r"^cpu\.stress +~ +1 s", short, re.M), short
    assert re.search(r"^storage\.self_test +~ +100 s", default, re.M)
    assert re.search(r"^storage\.self_test +~ +30 s", short, re.M)
