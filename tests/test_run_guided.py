"""An attended ``weee run``, driven as a technician would: the run goes on a real
pseudo-terminal (tmux), its guided step takes the screen, every guided check is
answered with key presses and pointer events (``send-keys``), and the signed record
must hold those answers and a grade computed with them.

The automatic checks run for real on this machine under a relaxed policy (this machine
is no laptop: without it every run would be graded "parts" whatever the answers), so
that the technician's answers are what moves the grade. The sound goes through an ALSA
file device (no sound card here); the webcam check is skipped with its reason. Each
test has its own tmux server, killed afterwards; loop devices are detached.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tmuxpane import COLS, ROWS, TmuxPane, press_layout, sound_card

from agent.errors import EXIT_INCOMPLETE
from agent.run.demo import count_marker, loop_device, make_demo_image, make_donor_disk
from checks.health.guided import LAYOUTS
from inventory.signing import verify_signed

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed"),
    pytest.mark.skipif(shutil.which("aplay") is None, reason="alsa-utils not installed"),
]

WEEE = str(Path(sys.executable).with_name("weee"))
# tmux key names for the named keys of the drawn layout
GUIDED = ("keyboard", "screen", "touchpad", "webcam.view", "speakers", "microphone", "cosmetic")

# This machine as a laptop the programme would take: what the technician answers is
# then what decides eligibility, grade and repairs.
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
required = ["keyboard", "screen", "touchpad", "speakers", "microphone"]
wifi_scan = false
[grade]
grade_b_max_warnings = 100
"""

WORDS: dict[str, dict[str, Any]] = {
    "en": {
        "keyboard": "press every key once",
        "colour": "{colour}: even, no dead pixel? y/n",
        "colours": ("red", "green", "blue", "white", "black"),
        "yes": "y",
        "no": "n",
        "touchpad": "Move over every box",
        "speakers": "Did you hear it? y/n",
        "cosmetic": "Press A, B or C",
        "sleeve": "Is the sleeve in the kit? y/n",
        "layout": "us",
    },
    "fr": {
        "keyboard": "appuyez une fois sur chaque touche",
        "colour": "{colour} : uniforme",
        "colours": ("rouge", "vert", "bleu", "blanc", "noir"),
        "yes": "o",
        "no": "n",
        "touchpad": "Passez sur chaque case",
        "speakers": "L'avez-vous entendu ? o/n",
        "cosmetic": "Appuyez sur A, B ou C",
        "sleeve": "La housse est-elle dans le kit ? o/n",
        "layout": "fr",
    },
}


class RunPane(TmuxPane):
    """``weee run`` in a tmux pane: its stdout is the pane (the full screen) unless
    ``log`` is given; stderr, exit status and pid go to files."""

    def __init__(
        self, tmp: Path, args: list[str], *, home: Path, log: Path | None = None, after: str = ""
    ) -> None:
        name = uuid.uuid4().hex[:6]
        self.err, rc, self.pidfile = (tmp / f"{name}.{x}" for x in ("err", "rc", "pid"))
        weee = shlex.join(["env", f"HOME={home}", WEEE, "run", *args])
        out = f" > {shlex.quote(str(log))}" if log else ""
        q = shlex.quote
        inner = f"echo $$ > {q(str(self.pidfile))}; exec {weee}{out} 2> {q(str(self.err))}"
        command = f"sh -c {q(inner)}; echo $? > {q(str(rc))}; {after} sleep 600"
        super().__init__(command, rc)

    def diagnostics(self) -> str:
        return self.stderr()

    def stderr(self) -> str:
        return self.err.read_text() if self.err.exists() else ""

    def exit_status(self, timeout: float = 120) -> int:
        deadline = time.monotonic() + timeout
        while not (self.rc.exists() and self.rc.read_text().strip()):
            assert time.monotonic() < deadline, f"weee run did not end:\n{self.screen()}"
            time.sleep(0.1)
        return int(self.rc.read_text())

    def kill_weee(self) -> None:
        """SIGKILL, as a power cut: nothing of weee runs after it."""
        os.kill(int(self.pidfile.read_text()), signal.SIGKILL)


def voice(seconds: float = 5.0, rate: int = 16000) -> bytes:
    """A 440 Hz tone at half scale, 16-bit mono: what the microphone "hears"."""
    count = int(seconds * rate)
    return b"".join(
        struct.pack("<h", int(16000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(count)
    )


def _zone_centre(col: int, row: int) -> tuple[int, int]:
    height, width = (ROWS - 3) // 3, COLS // 3
    return col * width + width // 2, 3 + row * height + height // 2


def answer_guided_checks(
    p: RunPane,
    lang: str,
    *,
    missing_keys: frozenset[str] = frozenset(),
    dead_colour: str | None = None,
    heard: bool = True,
    cosmetic: str = "a",
) -> None:
    """Everything a technician does in the guided step, in order."""
    w = WORDS[lang]
    p.wait_for(w["keyboard"])
    press_layout(p, str(w["layout"]), missing_keys)
    if missing_keys:
        p.keys("Enter", "Enter", "Enter")  # gives up: the keys left out are missing
    for colour in w["colours"]:
        p.wait_for(w["colour"].format(colour=colour))
        p.text(w["no"] if colour == dead_colour else w["yes"])
    p.wait_for(w["touchpad"])
    for row in range(3):
        for col in range(3):
            p.mouse(35, *_zone_centre(col, row))  # moves over each zone
    p.mouse(0, 10, 10)
    p.mouse(0, 10, 10, release=True)
    p.mouse(2, 12, 10)
    # the webcam check has no camera (or no ffmpeg) here: skipped, nothing to answer
    p.wait_for(w["speakers"])
    p.text(w["yes"] if heard else w["no"])
    # the microphone records on its own (3 s from the ALSA file device)
    p.wait_for(w["cosmetic"])
    p.text(cosmetic)
    p.wait_for(w["sleeve"])
    p.text(w["yes"])


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Any]:
    """``bench(steps, lang=..., extra=...)`` writes a profile and policy and returns
    ``start(*args, log=None) -> RunPane``; every pane is closed afterwards."""
    panes: list[RunPane] = []
    home = tmp_path / "home"
    sound_card(home, voice())
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    profile = tmp_path / "profile.toml"

    class Bench:
        data = tmp_path / "data"

        def profile(
            self, steps: tuple[str, ...], extra: str = "", lang: str = "", demo: bool = False
        ) -> Path:
            # demo: the loop device named in erase.drives stands for the laptop's storage
            # (run.demonstration): this machine's own disk is never erased, so a record
            # listing it would rightly never be certified
            profile.write_text(
                f'[run]\nsteps = {json.dumps(list(steps))}\nlang = "{lang}"\n'
                f"demonstration = {'true' if demo else 'false'}\n"
                f'[policy]\nfile = "{policy}"\n'
                f'[bench]\nname = "test-bench"\ntechnician = "Alice"\n'
                f'[paths]\ndata_dir = "{self.data}"\n{extra}'
            )
            return profile

        def start(self, *args: str, log: Path | None = None, after: str = "") -> RunPane:
            pane = RunPane(
                tmp_path, ["--profile", str(profile), *args], home=home, log=log, after=after
            )
            panes.append(pane)
            return pane

        def archived_run(self) -> Path:
            [run] = list((self.data / "state" / "run" / "runs").iterdir())
            return run

        def record(self) -> dict[str, Any]:
            [path] = list((self.data / "spool" / "records").glob("*.json"))
            signed = json.loads(path.read_text())
            return verify_signed(signed).record  # the signature holds

    yield Bench()
    for pane in panes:
        pane.close()


def checks_by_id(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in record["checks"]["checks"]}


SHORT = ("probe", "checks", "guided", "record", "spool")


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a loop device")
def test_an_attended_run_records_the_guided_answers_erases_and_images(
    bench: Any, tmp_path: Path
) -> None:
    disk, image = tmp_path / "donor.img", tmp_path / "os.img"
    before = make_donor_disk(disk, 32 << 20)
    make_demo_image(image, tmp_path)
    with loop_device(disk) as device:
        bench.profile(
            ("probe", "checks", "guided", "erase", "image", "record", "spool", "sync", "label"),
            extra=(
                # the default confirmation, a countdown, runs out: nobody stops it
                f'[erase]\ndrives = ["{device}"]\ncountdown_s = 1\n'
                f'[image]\nsource = "{image}"\ntarget = "{device}"\ngrow = false\n'
            ),
            demo=True,
        )
        p = bench.start("--lang", "en")
        answer_guided_checks(p, "en", cosmetic="a")
        assert p.exit_status() == 0, p.screen() + p.stderr()
        final = p.screen()
    assert before == 33 and count_marker(disk) == 0  # one per MiB and one at the end
    assert "Guided checks" in final and "done" in final

    record = bench.record()
    # a demonstration: the loop device stood for the laptop's drive; erased and imaged,
    # everything done, and the record certifies no laptop
    assert record["certified"] is False and record["hardware"]["demonstration"]
    assert [e["status"] for e in record["erasures"]] == ["certified"]
    checks = checks_by_id(record)
    statuses = {i: checks[i]["status"] for i in GUIDED}
    assert statuses == {
        "keyboard": "pass",
        "screen": "pass",
        "touchpad": "pass",
        "webcam.view": "skip",
        "speakers": "pass",
        "microphone": "pass",
        "cosmetic": "pass",
    }, {i: checks[i]["summary"] for i in GUIDED}
    assert all(checks[i]["interactive"] for i in GUIDED)
    # skipped with the stated reason: no camera device, or no ffmpeg to read one
    assert checks["webcam.view"]["summary"].startswith("Skipped: ")
    assert checks["keyboard"]["evidence"]["keys_missing"] == []
    assert checks["keyboard"]["evidence"]["keys_total"] == sum(len(r) for r in LAYOUTS["us"])
    assert checks["screen"]["evidence"]["answers"] == dict.fromkeys(WORDS["en"]["colours"], "yes")
    assert checks["speakers"]["evidence"]["answer"] == "yes"
    assert checks["microphone"]["evidence"]["peak_dbfs"] > -10
    assert checks["touchpad"]["evidence"]["buttons"] == ["left", "right"]
    assert record["kit"]["sleeve"] is True  # the technician's answer, carried by the record
    # the automatic checks ran once, in the checks step, and are in the record too
    assert "cpu.stress" in checks and not checks["cpu.stress"]["interactive"]

    grade = record["checks"]["grade"]
    assert grade["cosmetic_grade"] == "A"
    # every answer good: nothing the technician saw blocks the laptop
    assert grade["eligible"] is True, grade["reasons"]
    assert grade["repairs"] == []
    assert grade["grade"] == grade["health_grade"]  # the worse of health and case (A)

    run = json.loads((bench.archived_run() / "run.json").read_text())
    assert run["steps"]["guided"]["status"] == "done"
    assert run["verdict"]["verdict"] == "demonstration"
    assert run["steps"]["guided"]["summary"].startswith(f"grade {grade['grade']}: ")


def test_failed_answers_are_recorded_as_failures_and_move_the_grade(bench: Any) -> None:
    bench.profile(SHORT)
    p = bench.start("--lang", "en")
    answer_guided_checks(p, "en", missing_keys=frozenset({"q", "F7", "/"}), cosmetic="c")
    # no erasure in this profile: the record is not certified, the run says so
    assert p.exit_status() == 1, p.stderr()

    record = bench.record()
    checks = checks_by_id(record)
    keyboard = checks["keyboard"]
    assert keyboard["status"] == "fail"
    assert keyboard["evidence"]["keys_missing"] == ["F7", "q", "/"]
    assert keyboard["repair"] == "replace the keyboard"
    assert checks["cosmetic"]["evidence"] == {"grade": "C"}
    grade = record["checks"]["grade"]
    assert grade["cosmetic_grade"] == "C"
    # the policy: a required component that fails blocks eligibility, with its repair;
    # the letter is the worse of the health grade and the technician's "C"
    assert grade["eligible"] is False
    assert grade["repairs"] == ["replace the keyboard"]
    assert any("keys did not answer: F7 q /" in r for r in grade["reasons"])
    assert grade["grade"] == "C"
    assert record["checks"]["grade"]["translations"]["fr"]["repairs"] == ["remplacer le clavier"]


def test_one_more_failed_answer_sends_the_laptop_to_parts(bench: Any) -> None:
    """Three repairs (keyboard, screen, audio) where the policy allows two: parts."""
    bench.profile(SHORT)
    p = bench.start("--lang", "en")
    # pressed while the automatic checks run: no answer to the keyboard check later
    # (checks.health.terminal enters cbreak mode with TCSAFLUSH, dropping it)
    p.text("q")
    answer_guided_checks(p, "en", missing_keys=frozenset({"q"}), dead_colour="blue", heard=False)
    assert p.exit_status() == 1, p.stderr()
    record = bench.record()
    checks = checks_by_id(record)
    assert [checks[i]["status"] for i in ("keyboard", "screen", "speakers")] == ["fail"] * 3
    assert checks["keyboard"]["evidence"]["keys_missing"] == ["q"]
    assert checks["screen"]["evidence"]["answers"]["blue"] == "no"
    assert checks["screen"]["summaries"] == {
        "en": "The technician saw defects on: blue (console text area, 8 colours).",
        "fr": "Le technicien a vu des défauts sur : bleu "
        "(zone de texte de la console, 8 couleurs).",
    }
    grade = record["checks"]["grade"]
    assert grade["repairs"] == [
        "replace the keyboard",
        "replace the screen",
        "repair the audio (speakers or microphone)",
    ]
    assert grade["grade"] == "parts" and grade["eligible"] is False
    assert record["kind"] == "recycling"  # the profile's default route for parts


def test_a_run_killed_in_the_guided_step_resumes_there(bench: Any) -> None:
    bench.profile(SHORT)
    first = bench.start("--lang", "en")
    first.wait_for(WORDS["en"]["keyboard"])
    first.text("abc")  # a few keys, then the power goes
    first.kill_weee()
    assert first.exit_status() == 128 + signal.SIGKILL

    current = bench.data / "state" / "run" / "current"
    state = json.loads((current / "run.json").read_text())
    assert state["steps"]["checks"]["status"] == "done"
    assert state["steps"]["guided"]["status"] == "running"
    journalled = json.loads((current / "checks.json").read_text())
    assert not list((bench.data / "spool" / "records").glob("*.json"))

    second = bench.start("--lang", "en")
    answer_guided_checks(second, "en", cosmetic="b")
    assert second.exit_status() == 1, second.stderr()  # not certified: no erasure here

    run = json.loads((bench.archived_run() / "run.json").read_text())
    assert run["run_id"] == state["run_id"] and run["boots"] == 2
    assert run["steps"]["checks"]["attempts"] == 1  # not taken again
    assert run["steps"]["guided"]["attempts"] == 2
    assert run["steps"]["guided"]["status"] == "done"

    record = bench.record()
    checks = checks_by_id(record)
    # the automatic results are those the first boot journalled, not a second run
    assert record["checks"]["started_at"] == journalled["started_at"]
    auto = [c for c in record["checks"]["checks"] if not c["interactive"]]
    assert auto == journalled["checks"]
    assert [checks[i]["status"] for i in ("keyboard", "screen", "touchpad", "cosmetic")] == [
        "pass"
    ] * 4
    grade = record["checks"]["grade"]
    assert grade["cosmetic_grade"] == "B"
    assert grade["grade"] == max("B", grade["health_grade"])
    assert grade["eligible"] is True, grade["reasons"]


ENGLISH = (
    "grade ",
    " pass",
    " fail",
    " skip",
    "started",
    ": done",
    "record ",
    "signed",
    "not certified",
    "unattended",
    "steps:",
    "laptop:",
    "WARNING",
    "no server",
    "gap(s)",
    "unknown model",
    "new bench key",
    "no stable identity",
    "Automatic checks",
    "Guided checks",
    "Saved on the stick",
    "waiting",
    "READY",
    "NOT CERTIFIED",
    "asset ID",
    "Record:",
)


def _english_in(text: str) -> list[str]:
    return [word for word in ENGLISH if word in text]


def test_a_french_run_shows_french_on_the_full_screen(bench: Any) -> None:
    bench.profile(SHORT)
    p = bench.start("--lang", "fr", "--screen", "full")
    answer_guided_checks(p, "fr", missing_keys=frozenset({"ç"}), cosmetic="b")
    assert p.exit_status() == 1, p.stderr()
    final = p.screen()
    # the verdict left on the console when the full screen closes
    assert "Contrôles guidés" in final and "fait" in final
    assert "note " in final and "échec(s)" in final
    assert "fiche de reconditionnement" in final
    assert _english_in(final) == [], final
    record = bench.record()
    keyboard = checks_by_id(record)["keyboard"]
    assert keyboard["evidence"]["layout"] == "fr" and keyboard["evidence"]["keys_missing"] == ["ç"]
    assert record["checks"]["lang"] == "fr"
    # the verdicts' sentences are French through and through, English beside them
    screen = checks_by_id(record)["screen"]
    assert screen["summary"] == (
        "Le technicien a vu chaque couleur remplir l'écran uniformément "
        "(zone de texte de la console, 8 couleurs)."
    )
    assert screen["summaries"]["en"] == (
        "The technician saw every colour fill the screen evenly (console text area, 8 colours)."
    )
    assert screen["evidence"]["mode"] == "console text area, 8 colours"
    assert record["checks"]["grade"]["repairs"] == ["remplacer le clavier"]


def test_a_french_run_logs_in_french(bench: Any, tmp_path: Path) -> None:
    """The one-line log (serial console, --screen plain) of a whole French run."""
    bench.profile(SHORT, lang="fr")  # the bench profile's language, no --lang
    log = tmp_path / "run.log"
    p = bench.start("--screen", "plain", log=log)
    answer_guided_checks(p, "fr", cosmetic="c")
    assert p.exit_status() == 1, p.stderr()
    text = log.read_text()
    lines = text.splitlines()
    assert all(line.startswith("weee-run: ") for line in lines), text
    for expected in (
        "weee-run: étapes : Inventaire du matériel [en attente] > Contrôles automatiques",
        "weee-run: Contrôles guidés : commencé",
        "weee-run: Contrôles guidés : fait - note C : ",
        "weee-run: Fiche signée : fait - fiche de reconditionnement ",
        "weee-run: VERDICT : NON CERTIFIÉ",
        "weee-run: fiche : ",
    ):
        assert expected in text, text
    # nothing erased in this profile: the drives of this machine the probe saw (if any)
    # are named as never erased, in French
    assert re.search(
        r"non certifiée : (la fiche ne contient aucun effacement"
        r"|0 disque\(s\) effacé\(s\) sur \d+ — \w+ \(jamais effacé\))",
        text,
    ), text
    assert _english_in(text) == [], text


def test_ctrl_c_in_the_guided_step_gives_the_terminal_back(bench: Any, tmp_path: Path) -> None:
    """The technician stops the run in a guided check: the run says INTERRUPTED, the
    terminal is back in its normal mode (line editing, echo), and the run resumes at the
    guided step next time."""
    stty = tmp_path / "stty.txt"
    bench.profile(SHORT)
    p = bench.start("--lang", "en", after=f"stty -a > {stty};")
    p.wait_for(WORDS["en"]["keyboard"])
    p.keys("C-c")
    assert p.exit_status() == EXIT_INCOMPLETE, p.stderr()
    p.wait_for("interrupted: the run resumes at this step next time")
    deadline = time.monotonic() + 20
    while not stty.exists() or not stty.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    modes = stty.read_text().split()
    assert "icanon" in modes and "echo" in modes, modes
    state = json.loads((bench.data / "state" / "run" / "current" / "run.json").read_text())
    assert state["steps"]["checks"]["status"] == "done"
    assert state["steps"]["guided"]["status"] == "running"  # taken again next time
    assert not list((bench.data / "spool" / "records").glob("*.json"))


def test_without_a_terminal_the_guided_checks_are_recorded_skipped(
    bench: Any, tmp_path: Path
) -> None:
    """An attended run with nobody's terminal (a service, a pipe): it does not hang on a
    question no one sees; the guided checks are in the record, skipped with why."""
    bench.profile(SHORT)
    # subprocess, not run_command: the run must start in a session of its own, with no
    # controlling terminal at all (/dev/tty cannot be opened), which run_command does not do
    done = subprocess.run(
        [WEEE, "run", "--profile", str(tmp_path / "profile.toml"), "--lang", "en", "--json"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,
        env={**os.environ, "HOME": str(tmp_path / "home")},
        check=False,
    )
    assert done.returncode == 1, done.stderr  # not certified: no erasure in this profile
    summary = json.loads(done.stdout)
    assert summary["steps"]["guided"] == {
        "status": "skipped",
        "summary": "no terminal for the guided checks",
        "duration_s": summary["steps"]["guided"]["duration_s"],
    }
    checks = checks_by_id(bench.record())
    for check_id in (*GUIDED, "kit.confirm"):
        assert checks[check_id]["status"] == "skip", check_id
        assert checks[check_id]["interactive"] is True
        assert checks[check_id]["summary"] == "Skipped: needs an interactive terminal."
