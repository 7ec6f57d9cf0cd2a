"""The touchpad through the kernel's input events: device discovery from sysfs, events
mapped to zones of the pad's surface, and the guided loop on a pseudo-terminal."""

from __future__ import annotations

import os
import time

from checks.health.guided import ZONE_COLS, ZONE_ROWS, pointer_test
from checks.health.keyboard import INPUT_EVENT
from checks.health.pointer import (
    ABS_X,
    ABS_Y,
    BTN_LEFT,
    BTN_TOUCH,
    EV_ABS,
    EV_KEY,
    EV_SYN,
    PadEvents,
    PadState,
    Touchpad,
    find_touchpads,
)
from checks.source import LiveSource
from tests.conftest import CaptureFactory
from tests.test_guided_keyboard import PtyScreen, event_fifo

# capabilities of real devices: a Synaptics clickpad (one physical button), a TrackPoint
# style pad with three buttons, a touchscreen, and a USB mouse
CLICKPAD = {"abs": "660800011000003\n", "key": "e520 10000 0 0 0 0\n"}
THREE_BUTTONS = {"abs": "660800011000003\n", "key": "6420 70000 0 0 0 0\n"}
TOUCHSCREEN = {"abs": "3\n", "key": "400 0 0 0 0 0\n"}
MOUSE = {"abs": "0\n", "key": "1f0000 0 0 0 0\n"}


def sysfs(devices: dict[str, dict[str, str]]) -> dict[str, str]:
    files = {}
    for event, caps in devices.items():
        base = f"sys/class/input/{event}/device"
        files[f"{base}/capabilities/abs"] = caps["abs"]
        files[f"{base}/capabilities/key"] = caps["key"]
        files[f"{base}/name"] = f"{event} device\n"
    return files


def test_touchpads_found_with_the_buttons_they_have(make_capture: CaptureFactory) -> None:
    root = make_capture(
        sysfs({"event4": TOUCHSCREEN, "event5": CLICKPAD, "event6": MOUSE, "event7": THREE_BUTTONS})
    )
    pads = find_touchpads(LiveSource(root, run_tools=False))
    assert [(p.path, p.buttons) for p in pads] == [
        (str(root / "dev/input/event5"), ["left"]),
        (str(root / "dev/input/event7"), ["left", "right", "middle"]),
    ]


def ev(kind: int, code: int, value: int) -> bytes:
    return INPUT_EVENT.pack(0, 0, kind, code, value)


def touch(x: int, y: int) -> bytes:
    return (
        ev(EV_ABS, ABS_X, x)
        + ev(EV_ABS, ABS_Y, y)
        + ev(EV_KEY, BTN_TOUCH, 1)
        + ev(EV_SYN, 0, 0)
        + ev(EV_KEY, BTN_TOUCH, 0)
        + ev(EV_SYN, 0, 0)
    )


def test_pad_positions_map_to_zones_by_the_axis_ranges() -> None:
    state = PadState(3, 3, x_range=(1266, 5676), y_range=(1096, 4758))  # a Synaptics pad
    assert state.feed(touch(1266, 1096))
    assert state.zones == {(0, 0)}
    assert not state.feed(touch(1300, 1100))  # same zone: nothing new to draw
    state.feed(touch(5676, 4758) + touch(3471, 2927))
    assert state.zones == {(0, 0), (2, 2), (1, 1)}
    assert state.feed(ev(EV_KEY, BTN_LEFT, 1) + ev(EV_SYN, 0, 0))
    assert state.buttons == {"left"}


def test_pad_test_on_a_terminal(make_capture: CaptureFactory) -> None:
    fifo = make_capture({}) / "event5"
    writer = event_fifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    state = PadState(ZONE_COLS, ZONE_ROWS, (0, 999), (0, 599))
    pad = PadEvents(Touchpad(str(fifo), "SynPS/2 Synaptics TouchPad", ["left"]), reader, state)

    def finger(screen: PtyScreen) -> None:
        screen.wait_for(b"Slide a finger")
        for r in range(ZONE_ROWS):
            for c in range(ZONE_COLS):
                os.write(writer, touch(c * 333 + 100, r * 200 + 50))
                time.sleep(0.01)
        screen.type(b"\x1b[<0;5;5M")  # the screen pointer does not count here
        os.write(writer, ev(EV_KEY, BTN_LEFT, 1) + ev(EV_SYN, 0, 0))

    try:
        result = PtyScreen().run(finger, lambda term: pointer_test(term, "en", "Touchpad.", pad))
    finally:
        os.close(writer)
        os.close(reader)
    assert result.outcome == "complete"
    assert len(result.zones_seen) == 9 and result.buttons == {"left"}
    assert result.missing() == []


# --- the kit mouse through its own events ------------------------------------------------

USB_MOUSE = {"rel": "143\n", "key": "1f0000 0 0 0 0\n", "bustype": "0003\n"}
PS2_MOUSE = {"rel": "3\n", "key": "70000 0 0 0 0\n", "bustype": "0011\n"}


def test_mice_found_with_their_bus(make_capture: CaptureFactory) -> None:
    from checks.health.pointer import find_mice

    files = sysfs({"event5": CLICKPAD})
    for event, caps in {"event2": PS2_MOUSE, "event9": USB_MOUSE}.items():
        base = f"sys/class/input/{event}/device"
        files.update(
            {
                f"{base}/capabilities/rel": caps["rel"],
                f"{base}/capabilities/key": caps["key"],
                f"{base}/id/bustype": caps["bustype"],
                f"{base}/name": "Logitech USB Optical Mouse\n" if event == "event9" else "PS/2\n",
            }
        )
    root = make_capture(files)
    mice = find_mice(LiveSource(root, run_tools=False))
    assert [(m.path.rsplit("/", 1)[-1], m.usb, m.buttons) for m in mice] == [
        ("event2", False, ["left", "right", "middle"]),
        ("event9", True, ["left", "right", "middle"]),
    ]


def test_mouse_test_on_a_terminal(make_capture: CaptureFactory) -> None:
    from checks.health.guided import mouse_test
    from checks.health.pointer import EV_REL, REL_X, REL_Y, Mouse, MouseEvents

    fifo = make_capture({}) / "event9"
    writer = event_fifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    mouse = MouseEvents(
        Mouse(str(fifo), "USB Optical Mouse", True, ["left", "right", "middle"]), reader
    )

    def hand(screen: PtyScreen) -> None:
        screen.wait_for(b"Move the mouse")
        for code, value in ((REL_X, 5), (REL_X, -3), (REL_Y, 4), (REL_Y, -2)):
            os.write(writer, ev(EV_REL, code, value) + ev(EV_SYN, 0, 0))
            time.sleep(0.01)
        for button in (BTN_LEFT, BTN_LEFT + 1):
            os.write(writer, ev(EV_KEY, button, 1) + ev(EV_KEY, button, 0) + ev(EV_SYN, 0, 0))

    try:
        result = PtyScreen().run(hand, lambda term: mouse_test(term, "en", "Kit mouse.", mouse))
    finally:
        os.close(writer)
        os.close(reader)
    assert result.outcome == "complete" and result.missing() == []
    assert mouse.state.directions == {"left", "right", "up", "down"}
    assert result.buttons == {"left", "right"}
