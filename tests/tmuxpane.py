"""A program in a real terminal for tests: a tmux pane of its own tmux server.

Keys and mouse events go in with ``send-keys``, the screen is read with
``capture-pane``. Each pane has its own server (``-L`` socket), so tests never share
one; :meth:`TmuxPane.close` kills it and removes the socket file tmux leaves behind.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Collection
from pathlib import Path

from checks.health.guided import LAYOUTS

COLS, ROWS = 120, 40


class TmuxPane:
    """``command`` (a shell command line) running in a COLS x ROWS pane, in a UTF-8
    locale and without a graphical display. ``rc``: a file the command writes its exit
    status to, which ends waits early."""

    def __init__(self, command: str, rc: Path, env: dict[str, str] | None = None) -> None:
        self.socket = f"weee-test-{uuid.uuid4().hex[:10]}"
        self.rc = rc
        self.env = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", **(env or {})}
        for var in ("DISPLAY", "WAYLAND_DISPLAY", "COLORTERM"):
            if var not in (env or {}):
                self.env.pop(var, None)
        self.tmux("new-session", "-d", "-x", str(COLS), "-y", str(ROWS), command)

    def tmux(self, *args: str) -> str:
        # subprocess, not run_command: the tmux server and its pane inherit this
        # environment (UTF-8 locale, no DISPLAY), which run_command's LC_ALL=C would undo
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
        return done.stdout

    def keys(self, *keys: str, pause: float = 0.05) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", "0", key)
            time.sleep(pause)

    def text(self, text: str) -> None:
        # as hex bytes: tmux reads a lone ";" argument as its command separator
        self.tmux("send-keys", "-t", "0", "-H", *(f"{b:02x}" for b in text.encode()))
        time.sleep(0.05)

    def mouse(self, code: int, col: int, row: int, release: bool = False) -> None:
        seq = f"\x1b[<{code};{col};{row}{'m' if release else 'M'}".encode()
        self.tmux("send-keys", "-t", "0", "-H", *(f"{b:02x}" for b in seq))
        time.sleep(0.02)

    def screen(self, colours: bool = False) -> str:
        return self.tmux("capture-pane", "-p", *(["-e"] if colours else []), "-t", "0")

    def diagnostics(self) -> str:
        """What a failed wait shows besides the screen (the program's stderr)."""
        return ""

    # Generous deadlines: polling returns as soon as the screen shows the text, and a
    # loaded CI machine may take many seconds to start weee.
    def wait_for(self, needle: str, timeout: float = 90, colours: bool = False) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen(colours)
            if needle in screen:
                return screen
            if self.rc.exists():
                break
            time.sleep(0.1)
        raise AssertionError(
            f"{needle!r} never shown; screen:\n{self.screen()}\n{self.diagnostics()}"
        )

    def close(self) -> None:
        subprocess.run(
            ["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10, check=False
        )
        tmpdir = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
        (tmpdir / self.socket).unlink(missing_ok=True)


# the names tmux's send-keys gives the keys the layouts name by token
TMUX_NAMES = {
    "ESC": "Escape",
    "INSERT": "IC",
    "DELETE": "DC",
    "HOME": "Home",
    "END": "End",
    "PGUP": "PPage",
    "PGDN": "NPage",
    "LEFT": "Left",
    "UP": "Up",
    "DOWN": "Down",
    "RIGHT": "Right",
    "BACKSPACE": "BSpace",
    "TAB": "Tab",
    "ENTER": "Enter",
    **{f"F{i}": f"F{i}" for i in range(1, 13)},
}


def press_layout(pane: TmuxPane, layout: str, skip: Collection[str] = ()) -> None:
    """Every key of the keyboard check's drawn ``layout`` once, as a terminal can tell
    it (Shift through a capital, Ctrl and Alt through combinations), but those in
    ``skip``."""
    for row in LAYOUTS[layout]:
        for key in row:
            if key.label in skip:
                continue
            if key.label == "Shift":
                pane.text("A")
            elif key.label == "Ctrl":
                pane.keys("C-b")
            elif key.label == "Alt":
                pane.keys("M-x")
            elif key.label == "Space":
                pane.keys("Space")
            else:
                named = [t for t in key.accepts if t in TMUX_NAMES]
                token = named[0] if named else key.label
                if token == "ESC":
                    # a lone Escape must reach the check alone, or Escape and the next
                    # key read as Alt+key: the next key goes once Esc is lit (green, as
                    # tmux reports it), not after a pause a loaded machine may outlast
                    pane.keys(TMUX_NAMES[token])
                    pane.wait_for(f"\x1b[42m {key.label} ", colours=True)
                elif token in TMUX_NAMES:
                    pane.keys(TMUX_NAMES[token])
                else:
                    pane.text(key.label)


def sound_card(home: Path, mic: bytes) -> dict[str, str]:
    """An ALSA "file" PCM as the default device, for real aplay/arecord without a sound
    card: what is played lands in played.raw, what is recorded comes from mic.raw.
    Returns the environment that makes a program under ``home`` use it."""
    home.mkdir(exist_ok=True)
    (home / "mic.raw").write_bytes(mic)
    (home / ".asoundrc").write_text(
        'pcm.!default {\n  type file\n  slave.pcm "null"\n'
        f'  file "{home}/played.raw"\n  infile "{home}/mic.raw"\n  format "raw"\n}}\n'
    )
    return {"HOME": str(home)}
