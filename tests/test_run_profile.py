"""The bench profile: the documented default is the built-in one; bad files are refused
with the key that is wrong."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.cli import main
from agent.run.profile import (
    STEPS,
    Profile,
    ProfileError,
    default_profile_text,
    load_profile,
    parse_profile,
)


def test_the_documented_default_is_the_built_in_profile() -> None:
    documented = parse_profile(default_profile_text(), source="default")
    built_in = load_profile(None)
    assert documented.run == built_in.run
    assert documented.erase == built_in.erase
    assert documented.image == built_in.image
    assert documented == Profile(source="default")
    # every key of the dataclasses is documented in the file
    sections = tomllib.loads(default_profile_text())
    for name, section in sections.items():
        assert set(section) == set(getattr(built_in, name).__dataclass_fields__), name


def test_it_reads_a_bench_file(tmp_path: Path) -> None:
    path = tmp_path / "profile.toml"
    path.write_text(
        '[bench]\ntechnician = "Alice"\n[erase]\ndrives = ["/dev/sda"]\nverify = "sample"\n'
        '[run]\nsteps = ["probe", "checks", "erase", "record", "spool", "label"]\nlang = "fr"\n'
        '[paths]\ndata_dir = "/media/WEEEDATA"\n'
    )
    profile = load_profile(path)
    assert profile.bench.technician == "Alice"
    assert profile.erase.drives == ("/dev/sda",)
    assert profile.erase.verify == "sample"
    assert profile.run.steps == ("probe", "checks", "erase", "record", "spool", "label")
    assert profile.data_dir() == Path("/media/WEEEDATA")
    assert profile.state_dir({}) == Path("/media/WEEEDATA/state")
    assert profile.image.grow is True  # untouched keys keep their default


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[bench\n", "not valid TOML"),
        ("[benches]\nname = 'x'\n", "unknown section [benches]"),
        ("[bench]\ntechnicien = 'x'\n", "unknown key bench.technicien"),
        ("[erase]\npasses = '3'\n", "erase.passes must be a whole number"),
        ("[erase]\npasses = 0\n", "erase.passes must be between 1 and 7"),
        ("[erase]\nverify = 'none'\n", "erase.verify = 'none': expected one of"),
        ("[erase]\ndrives = 'sda'\n", "erase.drives must be a list of strings"),
        ("[erase]\ndrives = ['sda']\n", "'sda' is not a /dev/ path"),
        ("[image]\ngrow = 'yes'\n", "image.grow must be true or false"),
        ("[run]\nparts = 'sell'\n", "run.parts = 'sell'"),
        ("[run]\nsteps = ['probe', 'checks', 'record', 'spool', 'x']\n", "unknown step(s) x"),
        ("[run]\nsteps = ['probe', 'erase', 'record', 'spool']\n", "checks cannot be left out"),
        ("[run]\nsteps = ['checks', 'probe', 'record', 'spool']\n", "keep the order"),
        (
            "[run]\nsteps = ['probe', 'checks', 'image', 'record', 'spool']\n",
            "'image' needs 'erase' before it",
        ),
        ("run = 3\n", "run must be a [section]"),
        (
            "[erase]\nconfirm = 'yes'\n",
            "erase.confirm = 'yes': expected one of 'type', 'countdown', 'none'",
        ),
        ("[erase]\nconfirm = true\n", "erase.confirm must be a string"),
        ("[erase]\ncountdown_s = -5\n", "erase.countdown_s = -5: expected 1 to 600 seconds"),
        ("[erase]\ncountdown_s = 0\n", 'no wait at all: confirm = "none"'),
        ("[erase]\ncountdown_s = 601\n", "erase.countdown_s = 601"),
        ("[erase]\ncountdown_s = 2.5\n", "erase.countdown_s must be a whole number"),
        ("[erase]\nallow_usb = 'yes'\n", "erase.allow_usb must be true or false"),
    ],
    ids=lambda v: v if len(v) < 30 else None,
)
def test_it_refuses_a_bad_profile_naming_the_problem(text: str, expected: str) -> None:
    with pytest.raises(ProfileError) as error:
        parse_profile(text, source="bench.toml")
    assert "bench profile bench.toml" in str(error.value.message)
    assert expected in str(error.value.message)


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read") as error:
        load_profile(tmp_path / "nope.toml")
    assert error.value.exit_code == 2


def test_erasing_is_confirmed_by_a_countdown_unless_the_profile_says_otherwise(
    tmp_path: Path,
) -> None:
    erase = load_profile(None).erase
    assert (erase.confirm, erase.countdown_s, erase.allow_usb) == ("countdown", 30, False)
    path = tmp_path / "profile.toml"
    for text, expected in (
        ('[erase]\nconfirm = "type"\n', ("type", 30, False)),
        ('[erase]\nconfirm = "countdown"\ncountdown_s = 3\n', ("countdown", 3, False)),
        ('[erase]\nconfirm = "none"\nallow_usb = true\n', ("none", 30, True)),
    ):
        path.write_text(text)
        erase = load_profile(path).erase
        assert (erase.confirm, erase.countdown_s, erase.allow_usb) == expected


def test_the_steps_are_the_documented_order() -> None:
    assert load_profile(None).run.steps == STEPS


def test_a_bad_profile_is_a_usage_error_without_traceback(tmp_path: Path) -> None:
    profile = tmp_path / "profile.toml"
    profile.write_text("[erase]\nverify = 'never'\n")
    result = CliRunner().invoke(main, ["run", "--profile", str(profile), "--screen", "plain"])
    assert result.exit_code == 2
    assert "erase.verify = 'never'" in result.output
    assert "Traceback" not in result.output
