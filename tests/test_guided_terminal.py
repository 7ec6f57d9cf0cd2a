"""The guided checks driven in a real terminal: ``weee check`` runs inside tmux, keys and
mouse events go in with ``send-keys``, the screen is read with ``capture-pane``.

Each test has its own tmux server (``-L`` socket) and kills it afterwards. The JSON
goes to a file while the guided check draws on the terminal (/dev/tty).
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tmuxpane import COLS, ROWS, TmuxPane, press_layout, sound_card

from checks.health.guided import LAYOUTS

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")

WEEE = str(Path(sys.executable).with_name("weee"))


class Pane(TmuxPane):
    """``weee check --json ARGS`` in a pane: the JSON, stderr and exit status go to files."""

    def __init__(
        self,
        tmp: Path,
        args: list[str],
        env: dict[str, str] | None = None,
        weee_env: dict[str, str] | None = None,
    ) -> None:
        self.out, self.err = tmp / "out.json", tmp / "err.txt"
        rc = tmp / "rc"
        # weee_env: for the weee process only (the pane's shell keeps its PATH)
        prefix = ["env", *(f"{k}={v}" for k, v in (weee_env or {}).items())] if weee_env else []
        weee = shlex.join([*prefix, WEEE, "check", "--json", *args])
        command = (
            f"{weee} > {shlex.quote(str(self.out))} "
            f"2> {shlex.quote(str(self.err))}; echo $? > {shlex.quote(str(rc))}; sleep 60"
        )
        super().__init__(command, rc, env)

    def _err(self) -> str:
        return self.err.read_text() if self.err.exists() else ""

    def diagnostics(self) -> str:
        return f"stderr: {self._err()}"

    def result(self, timeout: float = 90) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while not self.rc.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert self.rc.exists(), f"weee check did not finish; screen:\n{self.screen()}"
        assert self.rc.read_text().strip() == "0", self._err()
        return json.loads(self.out.read_text())


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[Any]:
    started: list[Pane] = []

    def start(
        *args: str, env: dict[str, str] | None = None, weee_env: dict[str, str] | None = None
    ) -> Pane:
        p = Pane(tmp_path, list(args), env, weee_env)
        started.append(p)
        return p

    yield start
    for p in started:
        p.close()


def check(doc: dict[str, Any], check_id: str) -> dict[str, Any]:
    return next(c for c in doc["checks"] if c["id"] == check_id)


# tmux key names for the named keys of the drawn layout


def test_keyboard_lists_the_keys_that_did_not_answer(pane: Any) -> None:
    p = pane("--only", "keyboard", "--lang", "en", "--layout", "us")
    screen = p.wait_for("press every key once")
    assert "Bksp" in screen and "F12" in screen and "Caps Lock" in screen
    press_layout(p, "us", skip={"q", "F7", "/"})
    p.keys("Enter", "Enter", "Enter")
    doc = p.result()
    kb = check(doc, "keyboard")
    assert kb["status"] == "fail"
    assert kb["evidence"]["keys_missing"] == ["F7", "q", "/"]
    total = sum(len(row) for row in LAYOUTS["us"])
    assert kb["summary"] == f"3 of {total} keys did not answer: F7 q /."
    assert kb["evidence"]["mode"] == "terminal"
    assert "Caps Lock" in kb["evidence"]["not_testable_here"]
    assert doc["grade"]["repairs"] == ["replace the keyboard"]


def test_keyboard_finishes_by_itself_when_every_key_answered(pane: Any) -> None:
    p = pane("--only", "keyboard", "--lang", "fr", "--layout", "us")
    p.wait_for("appuyez une fois sur chaque touche")
    press_layout(p, "us")
    kb = check(p.result(), "keyboard")
    assert kb["status"] == "pass", kb
    assert kb["summary"] == f"Les {sum(len(row) for row in LAYOUTS['us'])} touches ont répondu."


def test_french_keyboard_characters_reach_the_check(pane: Any) -> None:
    """AZERTY keys send é, è, ç, à, ù, ² ... as UTF-8: each lights its key."""
    p = pane("--only", "keyboard", "--lang", "fr", "--layout", "fr")
    p.wait_for("appuyez une fois sur chaque touche")
    press_layout(p, "fr", skip={"ç", "ù"})
    p.keys("Enter", "Enter", "Enter")
    kb = check(p.result(), "keyboard")
    assert kb["evidence"]["layout"] == "fr"
    assert kb["evidence"]["keys_missing"] == ["ç", "ù"]


def test_screen_colours_one_key_per_colour(pane: Any) -> None:
    p = pane("--only", "screen", "--lang", "en")
    for colour, answer in [
        ("red", "y"),
        ("green", "y"),
        ("blue", "n"),
        ("white", "y"),
        ("black", "y"),
    ]:
        p.wait_for(f"{colour}: even, no dead pixel? y/n")
        p.text(answer)
    sc = check(p.result(), "screen")
    assert sc["status"] == "fail"
    assert sc["evidence"]["answers"] == {
        "red": "yes",
        "green": "yes",
        "blue": "no",
        "white": "yes",
        "black": "yes",
    }
    # no display here: it says it used the console's text area and 8 colours
    assert sc["evidence"]["mode"] == "console text area, 8 colours"
    assert "blue" in sc["summary"] and "console text area" in sc["summary"]


def test_screen_uses_24_bit_colour_when_the_terminal_has_it(pane: Any) -> None:
    p = pane("--only", "screen", "--lang", "fr", env={"COLORTERM": "truecolor"})
    for colour in ("rouge", "vert", "bleu", "blanc", "noir"):
        p.wait_for(f"{colour} : uniforme")
        p.text("o")
    sc = check(p.result(), "screen")
    assert sc["status"] == "pass"
    assert sc["evidence"]["mode"] == "console text area, 24-bit colour"


def test_cosmetic_grade_entered_with_one_key(pane: Any) -> None:
    p = pane("--only", "cosmetic", "--lang", "en")
    p.wait_for("Press A, B or C")
    p.text("x")  # ignored
    p.text("b")
    doc = p.result()
    assert check(doc, "cosmetic")["evidence"] == {"grade": "B"}
    assert doc["grade"]["cosmetic_grade"] == "B"


def _zone_centre(col: int, row: int) -> tuple[int, int]:
    height, width = (ROWS - 3) // 3, COLS // 3
    return col * width + width // 2, 3 + row * height + height // 2


def test_touchpad_zones_and_buttons_through_mouse_reporting(pane: Any) -> None:
    p = pane("--only", "touchpad", "--lang", "en")
    p.wait_for("Move over every box")
    for row in range(3):
        for col in range(3):
            x, y = _zone_centre(col, row)
            p.mouse(35, x, y)  # motion with no button
    p.mouse(0, 10, 10)
    p.mouse(0, 10, 10, release=True)
    p.mouse(2, 12, 10)
    tp = check(p.result(), "touchpad")
    assert tp["status"] == "pass", tp
    assert tp["evidence"]["zones_seen"] == 9 and tp["evidence"]["buttons"] == ["left", "right"]


def test_touchpad_gives_up_listing_what_is_missing(pane: Any) -> None:
    p = pane("--only", "touchpad", "--lang", "en")
    p.wait_for("Move over every box")
    x, y = _zone_centre(0, 0)
    p.mouse(35, x, y)
    p.mouse(0, x, y)
    p.text("n")
    tp = check(p.result(), "touchpad")
    assert tp["status"] == "fail"
    assert "right button" in tp["summary"] and "zone 3,3" in tp["summary"]
    assert "zone 1,1" not in tp["summary"]


def test_touchpad_without_pointer_reporting_is_skipped_with_the_reason(pane: Any) -> None:
    p = pane("--only", "touchpad", "--lang", "en")
    p.wait_for("Move over every box")
    p.text("s")
    tp = check(p.result(), "touchpad")
    assert tp["status"] == "skip" and "gpm" in tp["summary"]


def test_audio_without_alsa_tools_says_it_cannot(pane: Any) -> None:
    # a PATH without /usr/bin: as on a stick built without alsa-utils
    p = pane(
        "--only", "speakers,microphone", "--lang", "en", weee_env={"PATH": str(Path(WEEE).parent)}
    )
    doc = p.result()
    assert check(doc, "speakers")["summary"] == "Skipped: aplay is not installed."
    assert check(doc, "microphone")["summary"] == "Skipped: arecord is not installed."


needs_alsa = pytest.mark.skipif(shutil.which("aplay") is None, reason="alsa-utils not installed")


def tone(amplitude: int, seconds: float = 5.0, rate: int = 16000) -> bytes:
    import math
    import struct

    count = int(seconds * rate)
    return b"".join(
        struct.pack("<h", int(amplitude * math.sin(2 * math.pi * 440 * i / rate)))
        for i in range(count)
    )


@needs_alsa
@pytest.mark.parametrize(("answer", "status"), [("y", "pass"), ("n", "fail")])
def test_speakers_play_a_tone_and_ask(pane: Any, tmp_path: Path, answer: str, status: str) -> None:
    home = tmp_path / "home"
    p = pane("--only", "speakers", "--lang", "en", weee_env=sound_card(home, b""))
    p.wait_for("Did you hear it? y/n")
    p.text(answer)
    speakers = check(p.result(), "speakers")
    assert speakers["status"] == status
    assert speakers["evidence"]["aplay_exit_status"] == 0
    # 1.5 s of 16-bit mono at 16 kHz reached the "card"
    assert (home / "played.raw").stat().st_size == 48000


@needs_alsa
@pytest.mark.parametrize(
    ("amplitude", "status", "level"),
    [(16000, "pass", -6.2), (8, "fail", -72.2), (0, "fail", -120.0)],
    ids=["voice", "hiss", "silence"],
)
def test_microphone_records_and_measures_the_level(
    pane: Any, tmp_path: Path, amplitude: int, status: str, level: float
) -> None:
    p = pane(
        "--only",
        "microphone",
        "--lang",
        "en",
        weee_env=sound_card(tmp_path / "home", tone(amplitude)),
    )
    mic = check(p.result(), "microphone")
    assert mic["status"] == status, mic
    assert mic["evidence"]["peak_dbfs"] == pytest.approx(level, abs=0.1)


@needs_alsa
def test_speakers_without_a_sound_card_fail_without_asking(pane: Any, tmp_path: Path) -> None:
    home = tmp_path / "empty-home"
    home.mkdir()
    # no .asoundrc and no /dev/snd: aplay finds no card
    p = pane("--only", "speakers", "--lang", "en", weee_env={"HOME": str(home)})
    speakers = check(p.result(), "speakers")
    assert speakers["status"] == "fail"
    assert speakers["summary"].startswith("Playing the test tone failed: ")


def test_unattended_skips_every_guided_check(pane: Any) -> None:
    p = pane("--only", "keyboard,screen,touchpad,cosmetic", "--unattended", "--lang", "en")
    doc = p.result()
    assert [c["status"] for c in doc["checks"]] == ["skip"] * 4
    assert {c["summary"] for c in doc["checks"]} == {
        "Skipped: needs a technician (unattended run)."
    }


def test_guided_checks_one_after_the_other(pane: Any) -> None:
    """An attended run of the guided checks in sequence: each takes the screen in turn."""
    p = pane("--only", "keyboard,screen,touchpad,cosmetic,kit.confirm", "--lang", "en")
    p.wait_for("press every key once")
    p.keys("Enter", "Enter", "Enter")  # gives up at once: every key missing
    for colour in ("red", "green", "blue", "white", "black"):
        p.wait_for(f"{colour}: even")
        p.text("y")
    p.wait_for("Move over every box")
    p.text("s")
    p.wait_for("Press A, B or C")
    p.text("a")
    p.wait_for("Is the sleeve in the kit? y/n")
    p.text("y")
    doc = p.result()
    statuses = {c["id"]: c["status"] for c in doc["checks"]}
    assert statuses == {
        "keyboard": "fail",
        "screen": "pass",
        "touchpad": "skip",
        "cosmetic": "pass",
        "kit.confirm": "warn",  # no kit mouse plugged into this machine
    }
    assert doc["grade"]["cosmetic_grade"] == "A"
    assert doc["kit"]["sleeve"] is True and doc["kit"]["mouse"] is None
    assert doc["grade"]["eligible"] is False and doc["grade"]["repairs"] == ["replace the keyboard"]
