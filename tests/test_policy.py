"""The programme policy file: the shipped default, overrides, and strict errors that name
the file, the line and the key."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from checks.policy import (
    Policy,
    PolicyError,
    default_policy_text,
    load_default_policy,
    load_policy,
    parse_policy,
)


def test_shipped_default_is_the_documented_default() -> None:
    """The TOML file and the code's defaults say the same thing (no silent drift)."""
    shipped = load_default_policy()
    assert dataclasses.replace(shipped, source="", sha256="") == dataclasses.replace(
        Policy(), source="", sha256=""
    )
    assert shipped.sha256 == hashlib.sha256(default_policy_text().encode()).hexdigest()
    assert shipped.name == "weee default policy"


def test_every_default_key_is_explained_by_a_comment() -> None:
    lines = default_policy_text().splitlines()
    for i, line in enumerate(lines):
        if "=" in line and not line.lstrip().startswith("#") and not line.startswith("name"):
            above = lines[max(0, i - 8) : i + 1]
            assert any("#" in a for a in above), f"line {i + 1} is not explained: {line}"


def test_a_file_overrides_only_what_it_says(tmp_path: Path) -> None:
    path = tmp_path / "programme.toml"
    text = (
        'name = "Lyon 2026"\n[memory]\nmin_gib = 4\n'
        "[storage.ata.reallocated_sectors]\nfail_above = 50\n"
    )
    path.write_text(text)
    policy = load_policy(path)
    assert policy.name == "Lyon 2026"
    assert policy.memory.min_gib == 4.0 and isinstance(policy.memory.min_gib, float)
    assert policy.storage.ata.reallocated_sectors.fail_above == 50
    assert policy.storage.ata.reallocated_sectors.warn_above == 0  # kept
    assert policy.battery == Policy().battery
    assert policy.identity() == {
        "name": "Lyon 2026",
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
    }
    assert policy.source == str(path)


def test_dotted_keys_work_too() -> None:
    policy = parse_policy(
        "[storage]\nata.command_timeout.fail_above = 7\nnvme.spare_warn_margin = 5\n"
    )
    assert policy.storage.ata.command_timeout.fail_above == 7
    assert policy.storage.nvme.spare_warn_margin == 5


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        ("[memory]\nmin_gb = 4\n", 2, "memory.min_gb", "unknown key"),
        ('name = "x"\n\n[storag]\nmin_gib = 1\n', 3, "storag", "unknown key"),
        (
            "[storage.ata.reallocated_sectors]\nwarn_above = 1\nfail_abov = 3\n",
            3,
            "storage.ata.reallocated_sectors.fail_abov",
            "unknown key",
        ),
        (
            "[storage]\nata.command_timeout.warnabove = 1\n",
            2,
            "storage.ata.command_timeout.warnabove",
            "unknown key",
        ),
        ('[memory]\nmin_gib = "eight"\n', 2, "memory.min_gib", "must be a number"),
        ("[memory]\npattern_test_mib = 1.5\n", 2, "memory.pattern_test_mib", "whole number"),
        ("[battery]\nrequired = 1\n", 2, "battery.required", "true or false"),
        ("[memory]\nmin_gib = true\n", 2, "memory.min_gib", "must be a number"),
        ("[memory]\nmin_gib = -1\n", 2, "memory.min_gib", "at least 0"),
        ("[cpu]\nthrottle_warn_ratio = 1.5\n", 2, "cpu.throttle_warn_ratio", "at most 1"),
        ('[storage]\nno_smart = "pass"\n', 2, "storage.no_smart", "one of 'warn', 'skip'"),
        (
            '[peripherals]\nrequired = ["wifi", "fax"]\n',
            2,
            "peripherals.required",
            "unknown value 'fax'",
        ),
        ('[peripherals]\nrequired = "wifi"\n', 2, "peripherals.required", "list of strings"),
        ("memory = 3\n", 1, "memory", "must be a table"),
        (
            "[battery]\nmin_health_pct = 70\nwarn_health_pct = 65\n",
            3,
            "battery.warn_health_pct",
            "at least min_health_pct (70)",
        ),
        (
            "[battery]\nmin_health_pct = 85\n",
            2,
            "battery.min_health_pct",
            "at most warn_health_pct (80)",
        ),
        (
            "[storage.ata.current_pending_sectors]\nwarn_above = 5\n",
            2,
            "storage.ata.current_pending_sectors.warn_above",
            "at most fail_above (0)",
        ),
        (
            "[cpu]\ntemperature_fail_c = 80\n",
            2,
            "cpu.temperature_fail_c",
            "at least temperature_warn_c (90)",
        ),
        ('name = ""\n', 1, "name", "non-empty string"),
    ],
)
def test_bad_values_name_the_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    err = info.value
    assert (err.path, err.line, err.key) == (str(path), line, key)
    assert message in err.message
    assert err.message.startswith(f"policy {path}, line {line}: {key}: ")
    assert err.exit_code == 2


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[memory\nmin_gib = 4\n", 1),
        ("[memory]\nmin_gib = 4\nmin_gib = 5\n", 3),
        ("[memory]\nmin_gib = \n", 2),
        ('name = "x\n', 1),
        ("[battery]\nrequired = yes\n", 2),
    ],
)
def test_malformed_toml_names_the_line(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert info.value.line == line
    assert f"{path}, line {line}: not valid TOML" in info.value.message


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.toml")
    binary = tmp_path / "latin1.toml"
    binary.write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(binary)
