"""The erasure needs a decision: how a bench run confirms it (the profile's ``erase.confirm``).

Before anything is erased the run shows every drive it is about to erase (model, size,
serial, method) and what it leaves out and why, then:

- ``type``: erases only once the technician has typed ERASE and Enter; anything else
  erases nothing;
- ``countdown``: erases when ``erase.countdown_s`` seconds have run out; any key pressed
  meanwhile stops it, and nothing is erased;
- ``none``: erases without asking, the screen and the log saying that the profile chose
  so (a dedicated erasure bench).

``weee run --yes`` (a human's explicit command line) confirms too. Without a terminal
(no tty on stdin, or the prompt would not be seen) ``type`` and ``countdown`` erase
nothing: a countdown nobody can see or stop is no decision, only ``none`` may erase
unasked. Keys typed before the screen appeared are dropped, never taken as the answer.

:func:`decide` returns a :class:`Confirmation`, journalled in the erase step's output.
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import sys
import termios
import time
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.wipe.report import now_iso

if TYPE_CHECKING:
    from agent.run.view import RunView

WORD = "ERASE"
MAX_TYPED = 40


@dataclass(frozen=True)
class EraseDrive:
    """One drive the run is about to erase, as the confirmation screen lists it."""

    device: str
    model: str | None
    serial: str | None
    size_bytes: int | None
    method: str


@dataclass(frozen=True)
class LeftOut:
    """A drive that is not erased, and why (the boot stick, a USB drive, refused...)."""

    device: str
    model: str | None
    serial: str | None
    reason: str


@dataclass(frozen=True)
class EraseRequest:
    mode: str  # type | countdown | none
    seconds: int
    drives: tuple[EraseDrive, ...]
    left_out: tuple[LeftOut, ...] = ()


@dataclass(frozen=True)
class Confirmation:
    """How the erasure was confirmed, or why it was not."""

    mode: str  # the profile's: type | countdown | none
    confirmed: bool
    # typed (the answer in ``typed``) | countdown (it ran out) | key (a key stopped it,
    # ``left_s`` before the end) | closed (the terminal went away) | profile (mode none)
    # | command-line (weee run --yes) | no-terminal
    by: str
    typed: str | None = None
    seconds: int | None = None
    left_s: int | None = None
    at: str = field(default_factory=now_iso)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Prompt:
    """What the confirmation screen shows now."""

    request: EraseRequest
    typed: str = ""
    left_s: int | None = None  # countdown: whole seconds left
    outcome: Confirmation | None = None  # set once decided


class Keyboard:
    """The technician's keys, read from a terminal (``fd``) in cbreak mode."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def on_stdin(cls) -> Keyboard | None:
        """The keyboard of the terminal on stdin, or None without one."""
        try:
            fd = sys.stdin.fileno()
        except (AttributeError, ValueError, OSError):
            return None
        return cls(fd) if os.isatty(fd) else None

    @contextlib.contextmanager
    def cbreak(self) -> Iterator[None]:
        """Keys one by one, not echoed; what was typed before is dropped (TCSAFLUSH)."""
        saved = termios.tcgetattr(self.fd)
        try:
            tty.setcbreak(self.fd, termios.TCSAFLUSH)
            attrs = termios.tcgetattr(self.fd)
            attrs[3] &= ~termios.ECHO
            termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
            yield
        finally:
            with contextlib.suppress(termios.error):  # a terminal hung up: nothing to restore
                termios.tcsetattr(self.fd, termios.TCSANOW, saved)

    def key(self, timeout: float | None) -> str | None:
        """The next key(s), None when ``timeout`` seconds pass first, "" when the
        terminal is gone."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return None
        try:
            data = os.read(self.fd, 64)
        except OSError:
            return ""
        return data.decode("utf-8", "replace")


Asker = Callable[[EraseRequest], Confirmation]


def decide(request: EraseRequest, *, assume_yes: bool, ask: Asker | None) -> Confirmation:
    """The decision, from the command line (``--yes``), the profile (``none``) or the
    technician (``ask``; None: no terminal, nothing is erased)."""
    if assume_yes:
        return Confirmation(request.mode, True, "command-line")
    if request.mode == "none":
        return Confirmation("none", True, "profile")
    if ask is None:
        return Confirmation(request.mode, False, "no-terminal")
    return ask(request)


def asker(view: RunView, keyboard: Keyboard) -> Asker:
    """Ask on ``keyboard``, showing the prompt on ``view``."""

    def ask(request: EraseRequest) -> Confirmation:
        with keyboard.cbreak():
            if request.mode == "type":
                outcome = _typed(request, view, keyboard)
            else:
                outcome = _countdown(request, view, keyboard)
        view.erase_prompt(Prompt(request, outcome=outcome))
        return outcome

    return ask


def _typed(request: EraseRequest, view: RunView, keyboard: Keyboard) -> Confirmation:
    typed = ""
    view.erase_prompt(Prompt(request))
    while True:
        keys = keyboard.key(None)
        if not keys:
            return Confirmation("type", False, "closed", typed=typed)
        if keys.startswith("\x1b"):
            continue  # arrows, function keys: not an answer
        for ch in keys:
            if ch in "\r\n":
                answer = typed.strip()
                return Confirmation("type", answer == WORD, "typed", typed=answer)
            if ch in "\x7f\x08":
                typed = typed[:-1]
            elif ch == "\x15":  # Ctrl-U: start again
                typed = ""
            elif ch.isprintable() and len(typed) < MAX_TYPED:
                typed += ch
        view.erase_prompt(Prompt(request, typed=typed))


def _countdown(request: EraseRequest, view: RunView, keyboard: Keyboard) -> Confirmation:
    seconds = request.seconds
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return Confirmation("countdown", True, "countdown", seconds=seconds, left_s=0)
        whole = math.ceil(left)
        view.erase_prompt(Prompt(request, left_s=whole))
        # wake at the next whole second, to show it
        keys = keyboard.key(left - (whole - 1))
        if keys is not None:
            by = "key" if keys else "closed"
            left_s = max(0, math.ceil(deadline - time.monotonic()))
            return Confirmation("countdown", False, by, seconds=seconds, left_s=left_s)
