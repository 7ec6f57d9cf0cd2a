"""The erasure's confirmation through the real ``weee run``, on a real terminal (tmux),
erasing a loop device the test makes (detached afterwards): ``type`` erases only when
ERASE is typed, ``countdown`` erases when it runs out and not when a key stops it; with
no terminal neither erases, ``none`` does and says so. The runs are unattended (no
guided checks): unattended runs still obey the profile's ``erase.confirm``.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from tmuxpane import TmuxPane

from agent.run.demo import count_marker, loop_device, make_donor_disk

pytestmark = [
    pytest.mark.slow,
    pytest.mark.root,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a loop device"),
]

WEEE = str(Path(sys.executable).with_name("weee"))
MARKERS = 17  # a 16 MiB donor disk: one per MiB and one at the end

# this machine as a laptop in working order, with short timed checks
POLICY = """
[memory]
min_gib = 1
pattern_test_mib = 16
pattern_test_budget_s = 2.0
[storage]
min_gib = 1
require_ssd = false
no_smart = "skip"
self_test = false
[battery]
required = false
[cpu]
min_intel_core_generation = 1
min_amd_ryzen_generation = 1
accept_other_cpus = true
stress_s = 1.0
[peripherals]
required = []
wifi_scan = false
"""


def _profile(tmp_path: Path, device: str, erase: str) -> Path:
    (tmp_path / "policy.toml").write_text(POLICY)
    profile = tmp_path / "profile.toml"
    profile.write_text(
        '[run]\nsteps = ["probe", "checks", "erase", "record", "spool"]\nunattended = true\n'
        f'lang = "en"\n[policy]\nfile = "{tmp_path / "policy.toml"}"\n'
        f'[paths]\ndata_dir = "{tmp_path / "data"}"\n'
        f'[erase]\ndrives = ["{device}"]\nverify = "sample"\n{erase}'
    )
    return profile


def _erase_output(tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    [run] = list((tmp_path / "data" / "state" / "run" / "runs").iterdir())
    state = json.loads((run / "run.json").read_text())
    return state["steps"]["erase"], json.loads((run / "erase.json").read_text())


def _on_a_terminal(tmp_path: Path, profile: Path, answer: list[tuple[str, str]]) -> str:
    """``weee run`` (no --yes) on the pane's full screen; ``answer``: (text shown, keys
    typed) in order. Returns the screen once the run has ended."""
    rc = tmp_path / "rc"
    err = tmp_path / "err"
    weee = shlex.join([WEEE, "run", "--profile", str(profile)])
    q = shlex.quote
    command = f"sh -c {q(f'exec {weee} 2> {q(str(err))}')}; echo $? > {q(str(rc))}; sleep 600"
    pane = TmuxPane(command, rc)
    try:
        for shown, keys in answer:
            pane.wait_for(shown, timeout=300)
            pane.text(keys)
        deadline = time.monotonic() + 300
        while not (rc.exists() and rc.read_text().strip()):
            assert time.monotonic() < deadline, pane.screen() + err.read_text()
            time.sleep(0.2)
        return pane.screen()
    finally:
        pane.close()


@pytest.mark.parametrize(
    ("erase", "answer", "erased", "confirmation"),
    [
        (
            'confirm = "type"\n',
            [("Type ERASE to go on", "ERASE\r")],
            True,
            {"mode": "type", "by": "typed", "typed": "ERASE", "confirmed": True},
        ),
        (
            'confirm = "type"\n',
            [("Type ERASE to go on", "yes\r")],
            False,
            {"mode": "type", "by": "typed", "typed": "yes", "confirmed": False},
        ),
        (
            'confirm = "countdown"\ncountdown_s = 300\n',
            [("press any key to stop", "n")],
            False,
            {"mode": "countdown", "by": "key", "seconds": 300, "confirmed": False},
        ),
        (
            'confirm = "countdown"\ncountdown_s = 2\n',
            [],
            True,
            {"mode": "countdown", "by": "countdown", "seconds": 2, "left_s": 0, "confirmed": True},
        ),
    ],
    ids=["type-ERASE", "type-other", "countdown-key", "countdown-runs-out"],
)
def test_on_a_terminal_the_technician_decides(
    tmp_path: Path, erase: str, answer: list[tuple[str, str]], erased: bool, confirmation: Any
) -> None:
    disk = tmp_path / "donor.img"
    assert make_donor_disk(disk, 16 << 20) == MARKERS
    with loop_device(disk) as device:
        _on_a_terminal(tmp_path, _profile(tmp_path, device, erase), answer)
    assert count_marker(disk) == (0 if erased else MARKERS)
    step, output = _erase_output(tmp_path)
    assert step["status"] == ("done" if erased else "failed"), step
    if not erased:
        assert step["summary"].startswith("not confirmed: ")
    got = output["confirmation"]
    assert {k: got[k] for k in confirmation} == confirmation
    if confirmation["by"] == "key":
        assert 0 < got["left_s"] <= 300


@pytest.mark.parametrize(
    ("erase", "erased", "said"),
    [
        ('confirm = "type"\n', False, 'not confirmed: no terminal (erase.confirm = "type"'),
        ('confirm = "countdown"\ncountdown_s = 1\n', False, "not confirmed: no terminal"),
        ('confirm = "none"\n', True, "no confirmation: the bench profile chose so"),
    ],
    ids=["type", "countdown", "none"],
)
def test_without_a_terminal_only_none_erases(
    tmp_path: Path, erase: str, erased: bool, said: str
) -> None:
    disk = tmp_path / "donor.img"
    make_donor_disk(disk, 16 << 20)
    with loop_device(disk) as device:
        profile = _profile(tmp_path, device, erase)
        done = subprocess.run(
            [WEEE, "run", "--profile", str(profile), "--screen", "plain"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    assert said in done.stdout, done.stdout + done.stderr
    assert count_marker(disk) == (0 if erased else MARKERS)
    step, output = _erase_output(tmp_path)
    assert step["status"] == ("done" if erased else "failed")
    assert output["confirmation"]["by"] == ("profile" if erased else "no-terminal")
