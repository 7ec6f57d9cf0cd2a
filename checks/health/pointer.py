"""The touchpad through the kernel's input events (evdev), for the bare console.

On the bench stick there is no X server and usually no gpm, so a terminal never sees the
pointer. As root, the touchpad's own event device says where a finger is on the pad
(ABS_X/ABS_Y, scaled by the axis ranges the driver reports) and which physical buttons
are pressed. That tests the pad's surface itself, zone by zone, and the buttons it really
has (a clickpad has only one: right click there is a software zone, not a button).
"""

from __future__ import annotations

import fcntl
import os
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from checks.health.keyboard import INPUT_EVENT, event_devices, parse_key_bitmask
from checks.source import Source

EV_SYN, EV_KEY, EV_ABS = 0, 1, 3
ABS_X, ABS_Y = 0, 1
BTN_LEFT, BTN_RIGHT, BTN_MIDDLE = 272, 273, 274
BTN_TOOL_FINGER, BTN_TOUCH = 325, 330
BUTTON_NAMES = {BTN_LEFT: "left", BTN_RIGHT: "right", BTN_MIDDLE: "middle"}
ABSINFO = struct.Struct("6i")  # value, minimum, maximum, fuzz, flat, resolution


def _eviocgabs(axis: int) -> int:
    # _IOR('E', 0x40 + axis, struct input_absinfo)
    return (2 << 30) | (ABSINFO.size << 16) | (ord("E") << 8) | (0x40 + axis)


@dataclass
class Touchpad:
    path: str
    name: str | None
    buttons: list[str]  # physical buttons it reports: ["left"] on a clickpad


def find_touchpads(source: Source) -> list[Touchpad]:
    """Event devices with absolute X/Y and finger touches (not touchscreens' pens)."""
    found = []
    for base, node in event_devices(source):
        abs_bits = parse_key_bitmask(source.read_text(f"{base}/capabilities/abs") or "0")
        key_bits = parse_key_bitmask(source.read_text(f"{base}/capabilities/key") or "0")
        if not (abs_bits >> ABS_X & 1 and abs_bits >> ABS_Y & 1):
            continue
        if not (key_bits >> BTN_TOOL_FINGER & 1 or key_bits >> BTN_TOUCH & 1):
            continue
        buttons = [name for code, name in BUTTON_NAMES.items() if key_bits >> code & 1]
        if not buttons:
            continue  # a touchscreen: no buttons of its own
        name = (source.read_text(f"{base}/name") or "").strip() or None
        found.append(Touchpad(node, name, buttons))
    return found


def abs_range(fd: int, axis: int) -> tuple[int, int]:
    """The axis's minimum and maximum, as the driver reports them (EVIOCGABS)."""
    info = fcntl.ioctl(fd, _eviocgabs(axis), bytes(ABSINFO.size))
    _value, minimum, maximum, *_rest = ABSINFO.unpack(info)
    return minimum, maximum


@dataclass
class PadState:
    """What the finger and the buttons did, in pad zones."""

    cols: int
    rows: int
    x_range: tuple[int, int]
    y_range: tuple[int, int]
    x: int | None = None
    y: int | None = None
    zones: set[tuple[int, int]] = field(default_factory=set)
    buttons: set[str] = field(default_factory=set)
    events: int = 0

    def zone(self) -> tuple[int, int] | None:
        if self.x is None or self.y is None:
            return None

        def cell(value: int, lo_hi: tuple[int, int], count: int) -> int:
            lo, hi = lo_hi
            span = max(1, hi - lo)
            return min(count - 1, max(0, (value - lo) * count // span))

        return cell(self.x, self.x_range, self.cols), cell(self.y, self.y_range, self.rows)

    def feed(self, data: bytes) -> bool:
        """Apply raw events; True when something visible changed."""
        changed = False
        usable = len(data) - len(data) % INPUT_EVENT.size
        for _s, _u, kind, code, value in INPUT_EVENT.iter_unpack(data[:usable]):
            if kind == EV_ABS and code in (ABS_X, ABS_Y):
                if code == ABS_X:
                    self.x = value
                else:
                    self.y = value
            elif kind == EV_KEY and code in BUTTON_NAMES and value == 1:
                self.events += 1
                changed |= BUTTON_NAMES[code] not in self.buttons
                self.buttons.add(BUTTON_NAMES[code])
            elif kind == EV_SYN:
                zone = self.zone()
                if zone is not None and zone not in self.zones:
                    self.zones.add(zone)
                    changed = True
                self.events += 1
        return changed


@dataclass
class PadEvents:
    """An open touchpad event device."""

    pad: Touchpad
    fd: int
    state: PadState

    @classmethod
    def open(
        cls,
        pads: Sequence[Touchpad],
        cols: int,
        rows: int,
        *,
        get_range: Callable[[int, int], tuple[int, int]] = abs_range,
    ) -> PadEvents | None:
        for pad in pads:
            try:
                fd = os.open(pad.path, os.O_RDONLY | os.O_NONBLOCK)
            except OSError:
                continue  # not root: the terminal's mouse reporting will have to do
            try:
                state = PadState(cols, rows, get_range(fd, ABS_X), get_range(fd, ABS_Y))
            except OSError:
                os.close(fd)
                continue
            return cls(pad, fd, state)
        return None

    def read(self) -> bool:
        try:
            return self.state.feed(os.read(self.fd, INPUT_EVENT.size * 128))
        except BlockingIOError:
            return False

    def close(self) -> None:
        os.close(self.fd)


# --- a mouse (the kit's): relative motion and buttons ------------------------------------

EV_REL = 2
REL_X, REL_Y = 0, 1
DIRECTIONS = ("left", "right", "up", "down")
BUS_USB = 0x03


@dataclass
class Mouse:
    path: str
    name: str | None
    usb: bool
    buttons: list[str]


def find_mice(source: Source) -> list[Mouse]:
    """Event devices with relative X/Y and a left button (a touchpad is absolute)."""
    found = []
    for base, node in event_devices(source):
        rel_bits = parse_key_bitmask(source.read_text(f"{base}/capabilities/rel") or "0")
        key_bits = parse_key_bitmask(source.read_text(f"{base}/capabilities/key") or "0")
        if not (rel_bits >> REL_X & 1 and rel_bits >> REL_Y & 1 and key_bits >> BTN_LEFT & 1):
            continue
        bus = (source.read_text(f"{base}/id/bustype") or "").strip()
        buttons = [name for code, name in BUTTON_NAMES.items() if key_bits >> code & 1]
        name = (source.read_text(f"{base}/name") or "").strip() or None
        usb = bool(bus) and int(bus, 16) == BUS_USB
        found.append(Mouse(node, name, usb, buttons))
    return found


@dataclass
class MouseState:
    directions: set[str] = field(default_factory=set)
    buttons: set[str] = field(default_factory=set)
    events: int = 0

    def feed(self, data: bytes) -> bool:
        changed = False
        usable = len(data) - len(data) % INPUT_EVENT.size
        for _s, _u, kind, code, value in INPUT_EVENT.iter_unpack(data[:usable]):
            seen: str | None = None
            if kind == EV_REL and code == REL_X and value:
                seen = "right" if value > 0 else "left"
            elif kind == EV_REL and code == REL_Y and value:
                seen = "down" if value > 0 else "up"
            if seen is not None:
                self.events += 1
                changed |= seen not in self.directions
                self.directions.add(seen)
            elif kind == EV_KEY and code in BUTTON_NAMES and value == 1:
                self.events += 1
                changed |= BUTTON_NAMES[code] not in self.buttons
                self.buttons.add(BUTTON_NAMES[code])
        return changed


@dataclass
class MouseEvents:
    mouse: Mouse
    fd: int
    state: MouseState = field(default_factory=MouseState)

    @classmethod
    def open(cls, mice: Sequence[Mouse]) -> MouseEvents | None:
        for mouse in mice:
            try:
                return cls(mouse, os.open(mouse.path, os.O_RDONLY | os.O_NONBLOCK))
            except OSError:
                continue
        return None

    def read(self) -> bool:
        try:
            return self.state.feed(os.read(self.fd, INPUT_EVENT.size * 128))
        except BlockingIOError:
            return False

    def close(self) -> None:
        os.close(self.fd)
