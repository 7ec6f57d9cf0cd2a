"""A small terminal layer for the guided checks: one key press per answer.

Works on the bare Linux console of the bench stick as well as in an X terminal or tmux:
cbreak mode (Ctrl+C still stops the run), keys decoded from their escape sequences into
names (``UP``, ``F5``, ``DELETE``; ``CTRL+a``; ``ALT+x``), and xterm SGR mouse
reporting for the touchpad and the kit mouse. A terminal cannot see a key that sends no
character (Caps Lock, Fn, Super, a modifier pressed alone): the checks say so.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import termios
import tty
from typing import IO, Any

# CSI "<n>~" sequences (xterm, tmux, Linux console)
_TILDE = {
    "1": "HOME",
    "2": "INSERT",
    "3": "DELETE",
    "4": "END",
    "5": "PGUP",
    "6": "PGDN",
    "7": "HOME",
    "8": "END",
    "11": "F1",
    "12": "F2",
    "13": "F3",
    "14": "F4",
    "15": "F5",
    "17": "F6",
    "18": "F7",
    "19": "F8",
    "20": "F9",
    "21": "F10",
    "23": "F11",
    "24": "F12",
}
_FINAL = {"A": "UP", "B": "DOWN", "C": "RIGHT", "D": "LEFT", "H": "HOME", "F": "END"}
_SS3 = {"P": "F1", "Q": "F2", "R": "F3", "S": "F4", "H": "HOME", "F": "END", **_FINAL}
# the Linux console sends F1-F5 as ESC [ [ A..E
_CONSOLE_F = {"A": "F1", "B": "F2", "C": "F3", "D": "F4", "E": "F5"}
_MOUSE = re.compile(r"<(\d+);(\d+);(\d+)([Mm])")
_CONTROL_NAMES = {
    "\r": "ENTER",
    "\n": "ENTER",
    "\t": "TAB",
    "\x7f": "BACKSPACE",
    "\x08": "BACKSPACE",
}

MOUSE_ON = "\x1b[?1000h\x1b[?1002h\x1b[?1003h\x1b[?1006h"
MOUSE_OFF = "\x1b[?1006l\x1b[?1003l\x1b[?1002l\x1b[?1000l"


def decode_escape(seq: str) -> str:
    """Name of the key whose escape sequence (after ESC) is ``seq``."""
    if seq == "":
        return "ESC"
    if seq.startswith("[["):
        return _CONSOLE_F.get(seq[2:3], "ESC" + seq)
    if seq.startswith("["):
        body = seq[1:]
        m = _MOUSE.fullmatch(body)
        if m:
            return f"MOUSE:{m.group(1)}:{m.group(2)}:{m.group(3)}:{m.group(4)}"
        if body.endswith("~"):
            return _TILDE.get(body[:-1].split(";")[0], "ESC" + seq)
        # "1;5A" is Ctrl+Up: the key is what counts here
        return _FINAL.get(body[-1:], "ESC" + seq)
    if seq.startswith("O") and len(seq) == 2:
        return _SS3.get(seq[1], "ESC" + seq)
    if len(seq) == 1:
        return "ALT+" + seq
    return "ESC" + seq


def decode_char(ch: str) -> str:
    if ch in _CONTROL_NAMES:
        return _CONTROL_NAMES[ch]
    code = ord(ch)
    if code < 0x20:
        return "CTRL+" + chr(code + 0x60)
    return ch


class Terminal:
    """The controlling terminal (``/dev/tty``) in cbreak mode; a context manager.

    It talks to ``/dev/tty`` rather than stdin/stdout so that ``weee check --json >
    file`` still runs the guided checks on the screen while the JSON goes to the file.
    """

    def __init__(self, fd: int | None = None, out: IO[str] | None = None) -> None:
        self._own_fd = fd is None
        self.fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY) if fd is None else fd
        self.out = out if out is not None else open(self.fd, "w", encoding="utf-8", closefd=False)
        self._saved: Any = None
        self._depth = 0
        self._pending = ""

    @staticmethod
    def available() -> bool:
        try:
            fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
        except OSError:
            return False
        try:
            return os.isatty(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> Terminal:
        # re-entrant: the kit check opens it around several guided steps
        if self._depth == 0:
            self._saved = termios.tcgetattr(self.fd)
            # TCSAFLUSH: keys pressed before the question (while a bench run's automatic
            # checks ran, say) are dropped, never taken as an answer
            tty.setcbreak(self.fd, termios.TCSAFLUSH)
            self.write("\x1b[?25l")  # hide the cursor
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth > 0:
            return
        self.write(MOUSE_OFF + "\x1b[0m\x1b[?25h\n")
        if self._saved is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)

    def close(self) -> None:
        """Close ``/dev/tty`` if this object opened it (a bench run opens it once)."""
        if self._own_fd and self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def size(self) -> tuple[int, int]:
        try:
            size = os.get_terminal_size(self.fd)
            return size.columns, size.lines
        except OSError:
            cols, rows = shutil.get_terminal_size((80, 24))
            return cols, rows

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def clear(self) -> None:
        self.write("\x1b[0m\x1b[2J\x1b[H")

    def at(self, row: int, col: int, text: str) -> None:
        self.write(f"\x1b[{row};{col}H{text}")

    @property
    def pending(self) -> bool:
        """Characters already read from the terminal and not yet decoded."""
        return bool(self._pending)

    def _read_char(self, timeout: float | None) -> str | None:
        if self._pending:
            ch, self._pending = self._pending[0], self._pending[1:]
            return ch
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return None
        data = os.read(self.fd, 64)
        if not data:
            raise EOFError("terminal closed")
        text = data.decode("utf-8", errors="replace")
        self._pending = text[1:]
        return text[0]

    def read_key(self, timeout: float | None = None) -> str | None:
        """One key (a character or a key name), or None after ``timeout`` seconds."""
        ch = self._read_char(timeout)
        if ch is None:
            return None
        if ch != "\x1b":
            return decode_char(ch)
        seq = ""
        # the rest of an escape sequence arrives together; a lone ESC does not
        while True:
            nxt = self._read_char(0.05)
            if nxt is None:
                break
            seq += nxt
            if len(seq) == 1 and seq not in "[O":
                break  # ALT+key
            if seq.startswith("[[") and len(seq) == 3:
                break
            if len(seq) >= 2 and (seq[-1].isalpha() or seq[-1] == "~") and not seq.endswith("[["):
                if not (seq.startswith("[<") and seq[-1] not in "Mm"):
                    break
        return decode_escape(seq)

    def ask(self, prompt: str, choices: dict[str, str]) -> str:
        """Show ``prompt`` and wait for one of ``choices`` (key -> answer)."""
        self.write(prompt)
        while True:
            key = self.read_key()
            if key is None:
                continue
            answer = choices.get(key.lower() if len(key) == 1 else key)
            if answer is not None:
                return answer
