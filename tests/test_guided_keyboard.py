"""The keyboard check reading the kernel's input events (evdev), as on the bench stick
running as root: capability bitmasks, raw events, and the check driven on a pseudo-
terminal with key events arriving through an event device."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from checks.health import run_health_checks
from checks.health.keyboard import (
    EV_KEY,
    INPUT_EVENT,
    KEY_ENTER,
    LAYOUTS,
    evdev_layout,
    is_keyboard,
    keyboard_devices,
    parse_key_bitmask,
    parse_key_presses,
)
from checks.health.terminal import Terminal
from checks.policy import load_default_policy
from checks.probe.model import HardwareReport
from checks.source import CaptureSource, LiveSource
from tests.conftest import CaptureFactory

T = TypeVar("T")


class PtyScreen:
    """A pseudo-terminal for a guided check: the check draws on one side, a thread reads
    the screen on the other, and ``act`` plays the technician in another thread."""

    def __init__(self, cols: int = 120, rows: int = 40) -> None:
        self.master, self.slave = pty.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.shown: list[bytes] = []
        self._stop = threading.Event()

    def screen(self) -> bytes:
        return b"".join(self.shown)

    def wait_for(self, needle: bytes, timeout: float = 60) -> None:
        # generous: polling returns as soon as the text shows; a loaded machine is slow
        deadline = time.monotonic() + timeout
        while needle not in self.screen():
            assert time.monotonic() < deadline, f"{needle!r} never shown"
            time.sleep(0.02)

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                self.shown.append(os.read(self.master, 65536))
            except OSError:
                return

    def run(self, act: Callable[[PtyScreen], None], check: Callable[[Terminal], T]) -> T:
        threading.Thread(target=self._drain, daemon=True).start()
        helper = threading.Thread(target=act, args=(self,), daemon=True)
        helper.start()
        try:
            return check(Terminal(fd=self.slave))
        finally:
            self._stop.set()
            helper.join(timeout=5)
            os.close(self.slave)
            os.close(self.master)


def event_fifo(path: Path) -> int:
    """A FIFO standing in for /dev/input/eventN; returns a writer end, held open from
    the start as a real device always has one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return os.open(path, os.O_RDWR | os.O_NONBLOCK)


# capabilities/key of real devices: a laptop's "AT Translated Set 2 keyboard", its
# "Power Button", and a USB mouse
AT_KEYBOARD = "402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe\n"
POWER_BUTTON = "10000000000000 0\n"
MOUSE = "1f0000 0 0 0 0\n"


def test_capability_bitmasks() -> None:
    assert is_keyboard(parse_key_bitmask(AT_KEYBOARD))
    assert not is_keyboard(parse_key_bitmask(POWER_BUTTON))
    assert not is_keyboard(parse_key_bitmask(MOUSE))
    assert parse_key_bitmask("1 0") == 1 << 64


def event(code: int, value: int, kind: int = EV_KEY) -> bytes:
    return INPUT_EVENT.pack(0, 0, kind, code, value)


def test_only_presses_count() -> None:
    raw = event(30, 1) + event(30, 2) + event(30, 0) + event(0, 0, kind=0) + event(42, 1)
    assert parse_key_presses(raw) == [30, 42]
    assert parse_key_presses(raw[:-5]) == [30]  # a torn read keeps whole events only


def test_keyboards_found_in_sysfs(make_capture: CaptureFactory) -> None:
    root = make_capture(
        {
            "sys/class/input/event0/device/capabilities/key": POWER_BUTTON,
            "sys/class/input/event3/device/capabilities/key": AT_KEYBOARD,
            "sys/class/input/event7/device/capabilities/key": MOUSE,
            "sys/class/input/mouse0/device/capabilities/key": MOUSE,
        }
    )
    assert keyboard_devices(LiveSource(root, run_tools=False)) == [str(root / "dev/input/event3")]
    assert keyboard_devices(CaptureSource(root)) == ["/dev/input/event3"]


def test_evdev_layout_tells_every_key_apart() -> None:
    rows = evdev_layout(LAYOUTS["us"])
    labels = [k.label for r in rows for k in r]
    for extra in ("Caps", "LShift", "RShift", "LCtrl", "RCtrl", "AltGr", "Super", "Menu", "PrtSc"):
        assert extra in labels
    codes = [k.code for r in rows for k in r]
    assert None not in codes and len(set(codes)) == len(codes)
    lshift = next(k for r in rows for k in r if k.label == "LShift")
    assert not lshift.accepts  # a capital letter cannot say which Shift was used


def test_keyboard_check_on_kernel_events(make_capture: CaptureFactory) -> None:
    """Keys arrive as input events (a FIFO stands in for /dev/input/event3); the screen
    is a real pseudo-terminal."""
    root = make_capture({"sys/class/input/event3/device/capabilities/key": AT_KEYBOARD})
    fifo = root / "dev" / "input" / "event3"
    writer = event_fifo(fifo)
    rows = evdev_layout(LAYOUTS["us"])
    skipped = {"RShift", "Caps", "F7"}

    def technician(screen: PtyScreen) -> None:
        screen.wait_for(b"press every key once")
        for row in rows:
            for key in row:
                if key.label not in skipped and key.code is not None and key.code != KEY_ENTER:
                    os.write(writer, event(key.code, 1) + event(key.code, 0))
                    time.sleep(0.005)
        # three Enters through the kernel, and the same Enter echoed by the console once:
        # the check must count the key presses, not both copies
        screen.type(b"\r")
        for _ in range(3):
            os.write(writer, event(KEY_ENTER, 1) + event(KEY_ENTER, 0))
            time.sleep(0.05)

    screen = PtyScreen(cols=140)
    source = LiveSource(root, run_tools=False)
    try:
        outcome = screen.run(
            technician,
            lambda term: run_health_checks(
                HardwareReport(),
                source,
                load_default_policy(),
                only=["keyboard"],
                unattended=False,
                terminal=term,
            ),
        )
    finally:
        os.close(writer)
    [result] = outcome.results
    evidence = result.verdict.evidence
    assert evidence["mode"] == f"kernel input events ({fifo})"
    assert evidence["keys_missing"] == ["F7", "Caps", "RShift"]
    assert evidence["keys_total"] == sum(len(r) for r in rows)
    assert evidence["not_testable_here"] == ["Fn (handled by the laptop's firmware)"]
    assert result.status == "fail"
    assert b"Super" in screen.screen() and b"AltGr" in screen.screen()


def test_without_event_devices_the_terminal_is_used(tmp_path: Path) -> None:
    source = LiveSource(tmp_path, run_tools=False)
    assert keyboard_devices(source) == []
