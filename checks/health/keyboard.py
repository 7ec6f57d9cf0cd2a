"""The guided keyboard check: a drawn layout, every key pressed once, missing keys listed.

Two ways to see the keys, used together when both are there:

* the terminal: characters and escape sequences. It cannot see a key that sends no
  character (Caps Lock, Super, a modifier alone) nor tell left Shift from right Shift,
  so in this mode Shift, Ctrl and Alt are proven through combinations (a capital letter,
  Ctrl+letter, Alt+letter) and the layout draws one of each;
* the kernel's input events (``/dev/input/event*``, evdev), readable as root, which is
  how the bench stick runs: every key has its own code, so the layout also draws Caps
  Lock, both Shifts, both Ctrls, Alt and AltGr, Super, Menu and Print Screen. Keys are
  matched by position (the code of the key, whatever the keymap), which is also what
  a worn-out key is about. Only Fn stays invisible: laptops handle it in firmware.
"""

from __future__ import annotations

import os
import re
import select
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from checks.health.model import CheckContext, Target, Verdict
from checks.health.terminal import Terminal
from checks.i18n import LANGS, MESSAGES, Lang, Rendered, msg, t
from checks.source import Source

# Linux input event codes (include/uapi/linux/input-event-codes.h)
EV_KEY = 1
KEY_ESC, KEY_BACKSPACE, KEY_TAB, KEY_ENTER = 1, 14, 15, 28
KEY_LEFTCTRL, KEY_LEFTSHIFT, KEY_RIGHTSHIFT, KEY_LEFTALT, KEY_SPACE = 29, 42, 54, 56, 57
KEY_CAPSLOCK, KEY_102ND, KEY_RIGHTCTRL, KEY_SYSRQ, KEY_RIGHTALT = 58, 86, 97, 99, 100
KEY_LEFTMETA, KEY_COMPOSE = 125, 127
F_CODES = [59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 87, 88]  # F1..F10, F11, F12
NAV_CODES = {
    "INSERT": 110,
    "DELETE": 111,
    "HOME": 102,
    "END": 107,
    "PGUP": 104,
    "PGDN": 109,
    "LEFT": 105,
    "UP": 103,
    "DOWN": 108,
    "RIGHT": 106,
}
# struct input_event on 64-bit Linux: struct timeval (2 longs), __u16 type, __u16 code, __s32 value
INPUT_EVENT = struct.Struct("llHHi")
FINISH_PRESSES = 3


@dataclass(frozen=True)
class Key:
    label: str
    accepts: frozenset[str]  # terminal tokens that prove the key
    code: int | None = None  # its evdev code (position on the keyboard)


def _k(label: str, *tokens: str, code: int | None = None) -> Key:
    return Key(label, frozenset(tokens or (label,)), code)


def _row(chars: str, first_code: int) -> list[Key]:
    """Letters in a row: both cases prove the key; codes follow the row's positions."""
    return [_k(c, c, c.upper(), code=first_code + i) for i, c in enumerate(chars)]


def _digits(keys: Sequence[tuple[str, str]]) -> list[Key]:
    return [_k(a, a, b, code=2 + i) for i, (a, b) in enumerate(keys)]


_F_ROW = [
    _k("Esc", "ESC", code=KEY_ESC),
    *[_k(f"F{i + 1}", f"F{i + 1}", code=c) for i, c in enumerate(F_CODES)],
]
_NAV_ROW = [
    _k(label, token, code=NAV_CODES[token])
    for label, token in (
        ("Ins", "INSERT"),
        ("Del", "DELETE"),
        ("Home", "HOME"),
        ("End", "END"),
        ("PgUp", "PGUP"),
        ("PgDn", "PGDN"),
        ("←", "LEFT"),
        ("↑", "UP"),
        ("↓", "DOWN"),
        ("→", "RIGHT"),
    )
]
_MODS = [
    _k("Ctrl", "CTRL", code=KEY_LEFTCTRL),
    _k("Alt", "ALT", code=KEY_LEFTALT),
    _k("Space", " ", code=KEY_SPACE),
]
_SHIFT = _k("Shift", "SHIFT", code=KEY_LEFTSHIFT)
_ENTER = _k("Enter", "ENTER", code=KEY_ENTER)

# The layouts as a terminal sees them (one Shift, Ctrl and Alt, proven by combinations)
LAYOUTS: dict[str, list[list[Key]]] = {
    "us": [
        _F_ROW,
        [
            _k("`", "`", "~", code=41),
            *_digits(list(zip("1234567890", "!@#$%^&*()", strict=True))),
            _k("-", "-", "_", code=12),
            _k("=", "=", "+", code=13),
            _k("Bksp", "BACKSPACE", code=KEY_BACKSPACE),
        ],
        [
            _k("Tab", "TAB", code=KEY_TAB),
            *_row("qwertyuiop", 16),
            _k("[", "[", "{", code=26),
            _k("]", "]", "}", code=27),
            _k("\\", "\\", "|", code=43),
        ],
        [*_row("asdfghjkl", 30), _k(";", ";", ":", code=39), _k("'", "'", '"', code=40), _ENTER],
        [
            _SHIFT,
            *_row("zxcvbnm", 44),
            _k(",", ",", "<", code=51),
            _k(".", ".", ">", code=52),
            _k("/", "/", "?", code=53),
        ],
        _MODS,
        _NAV_ROW,
    ],
    "fr": [
        _F_ROW,
        [
            _k("²", "²", code=41),
            *_digits(
                list(
                    zip(
                        ["&", "é", '"', "'", "(", "-", "è", "_", "ç", "à"],
                        "1234567890",
                        strict=True,
                    )
                )
            ),
            _k(")", ")", "°", code=12),
            _k("=", "=", "+", code=13),
            _k("Bksp", "BACKSPACE", code=KEY_BACKSPACE),
        ],
        [
            _k("Tab", "TAB", code=KEY_TAB),
            *_row("azertyuiop", 16),
            # dead key: the terminal only sees it combined (â, ê) or followed by a space
            _k("^", "^", "¨", "â", "ê", "î", "ô", "û", "ä", "ë", "ï", "ö", "ü", code=26),
            _k("$", "$", "£", code=27),
        ],
        [*_row("qsdfghjklm", 30), _k("ù", "ù", "%", code=40), _k("*", "*", "µ", code=43), _ENTER],
        [
            _SHIFT,
            _k("<", "<", ">", code=KEY_102ND),
            *_row("wxcvbn", 44),
            _k(",", ",", "?", code=50),
            _k(";", ";", ".", code=51),
            _k(":", ":", "/", code=52),
            _k("!", "!", "§", code=53),
        ],
        _MODS,
        _NAV_ROW,
    ],
}
# What each mode cannot see, as catalogue ids (keyboard.unseen.*): the screen says them
# in the technician's language, the evidence in English
UNSEEABLE_TERMINAL = ["caps_lock", "fn", "super", "print_screen", "sides"]
UNSEEABLE_EVDEV = ["fn_firmware"]


def evdev_layout(rows: list[list[Key]]) -> list[list[Key]]:
    """The same layout with every key evdev can tell apart (both Shifts, Caps Lock...)."""
    out = [list(r) for r in rows]
    out[0] = [*out[0], _k("PrtSc", code=KEY_SYSRQ)]
    out[3] = [_k("Caps", code=KEY_CAPSLOCK), *out[3]]
    shift_row = [
        replace(k, label="LShift", accepts=frozenset()) if k is _SHIFT else k for k in out[4]
    ]
    out[4] = [*shift_row, _k("RShift", code=KEY_RIGHTSHIFT)]
    out[5] = [
        _k("LCtrl", code=KEY_LEFTCTRL),
        _k("Super", code=KEY_LEFTMETA),
        _k("Alt", code=KEY_LEFTALT),
        _k("Space", " ", code=KEY_SPACE),
        _k("AltGr", code=KEY_RIGHTALT),
        _k("Menu", code=KEY_COMPOSE),
        _k("RCtrl", code=KEY_RIGHTCTRL),
    ]
    # the new keys' only token is their label ("Caps", "Super"), which no terminal key
    # decodes to: evdev alone lights them
    return out


def key_tokens(key: str) -> set[str]:
    """What one decoded terminal key tells about the keyboard (a capital proves Shift)."""
    tokens = {key}
    if key.startswith("CTRL+"):
        tokens |= {"CTRL", key[5:]}
    elif key.startswith("ALT+"):
        tokens |= {"ALT", key[4:], key[4:].lower()}
    elif len(key) == 1 and key != key.lower():
        tokens |= {"SHIFT", key.lower()}
    elif len(key) == 1 and key in '~!@#$%^&*()_+{}|:"<>?°£µ§%1234567890./':
        tokens.add("SHIFT")  # needs Shift on at least one of the layouts
    return tokens


# --- evdev -------------------------------------------------------------------------------


def parse_key_bitmask(text: str) -> int:
    """sysfs ``capabilities/key``: hex words, most significant first, one per long."""
    value = 0
    for word in text.split():
        value = (value << 64) | int(word, 16)
    return value


def is_keyboard(bitmask: int) -> bool:
    """A full keyboard has the letter keys and Space (a power button or a lid switch
    also reports EV_KEY, with a handful of codes)."""
    letters = [*range(16, 26), *range(30, 39), *range(44, 51)]
    return all(bitmask >> code & 1 for code in [*letters, KEY_SPACE])


def event_devices(source: Source) -> list[tuple[str, str]]:
    """(sysfs device folder, /dev node) of every input event device; the node sits under
    the live source's root, so a test can point it at a tree of its own."""
    root = getattr(source, "root", Path("/"))
    return [
        (f"sys/class/input/{entry}/device", str(Path(root) / "dev" / "input" / entry))
        for entry in source.listdir("sys/class/input")
        if re.fullmatch(r"event\d+", entry)
    ]


def keyboard_devices(source: Source) -> list[str]:
    """``/dev/input/eventN`` of every full keyboard the kernel knows."""
    return [
        node
        for base, node in event_devices(source)
        if is_keyboard(parse_key_bitmask(source.read_text(f"{base}/capabilities/key") or "0"))
    ]


def parse_key_presses(data: bytes) -> list[int]:
    """Codes of the key presses (value 1; not releases or auto-repeat) in raw events."""
    codes = []
    usable = len(data) - len(data) % INPUT_EVENT.size
    for _sec, _usec, kind, code, value in INPUT_EVENT.iter_unpack(data[:usable]):
        if kind == EV_KEY and value == 1:
            codes.append(code)
    return codes


@dataclass
class KeyEvents:
    """Open keyboard event devices (read-only, non-blocking)."""

    fds: list[int] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, paths: Sequence[str]) -> KeyEvents:
        events = cls()
        for path in paths:
            try:
                events.fds.append(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
                events.paths.append(path)
            except OSError:
                continue  # not root: the terminal alone will have to do
        return events

    def read(self, fd: int) -> list[int]:
        try:
            return parse_key_presses(os.read(fd, INPUT_EVENT.size * 64))
        except BlockingIOError:
            return []

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds.clear()


# --- the check -------------------------------------------------------------------------


def key_label(key: Key, lang: Lang) -> str:
    """The key as drawn and named to the technician: words (Enter, Shift, Del) in their
    language as a French keyboard prints them; characters and F-keys as they are."""
    entry = f"keyboard.key.{key.label}"
    return t(entry, lang) if entry in MESSAGES else key.label


def key_names(keys: Sequence[Key]) -> Rendered:
    """The keys' names, space-separated, in each language (a verdict renders late)."""
    return Rendered(
        "keyboard.keys", texts={lang: " ".join(key_label(k, lang) for k in keys) for lang in LANGS}
    )


def unseeable_words(ids: Sequence[str], lang: Lang) -> list[str]:
    return [t(f"keyboard.unseen.{i}", lang) for i in ids]


def _lit(key: Key, tokens: set[str], codes: set[int]) -> bool:
    return bool(key.accepts & tokens) or (key.code is not None and key.code in codes)


def _draw(
    term: Terminal,
    rows: list[list[Key]],
    tokens: set[str],
    codes: set[int],
    lang: Lang,
    unseeable: list[str],
) -> None:
    term.clear()
    term.write(t("keyboard.screen.title", lang, presses=FINISH_PRESSES) + "\r\n")
    words = unseeable_words(unseeable, lang)
    term.write(t("keyboard.screen.unseen", lang, keys=words) + "\r\n\r\n")
    for row in rows:
        cells = []
        for key in row:
            style = "\x1b[30;42m" if _lit(key, tokens, codes) else "\x1b[7m"
            cells.append(f"{style} {key_label(key, lang)} \x1b[0m")
        term.write(" ".join(cells) + "\r\n\r\n")


def keyboard_check(ctx: CheckContext, _target: Target | None, layout: str | None = None) -> Verdict:
    if ctx.terminal is None:  # the runner skips terminal checks without one
        raise RuntimeError("no terminal")
    term = ctx.terminal
    name = layout or ("fr" if ctx.lang == "fr" else "us")
    events = KeyEvents.open(keyboard_devices(ctx.source)) if ctx.live else KeyEvents()
    evdev = bool(events.fds)
    rows = evdev_layout(LAYOUTS[name]) if evdev else LAYOUTS[name]
    unseeable = UNSEEABLE_EVDEV if evdev else UNSEEABLE_TERMINAL
    keys = [k for row in rows for k in row]
    tokens: set[str] = set()
    codes: set[int] = set()
    enters = 0
    try:
        with term:
            _draw(term, rows, tokens, codes, ctx.lang, unseeable)
            while True:
                ready, _, _ = select.select(
                    [term.fd, *events.fds], [], [], None if not term.pending else 0
                )
                pressed: list[str | int] = []
                if term.pending or term.fd in ready:
                    key = term.read_key(0)
                    if key is not None and not key.startswith("MOUSE:"):
                        pressed.append(key)
                for fd in events.fds:
                    if fd in ready:
                        pressed.extend(events.read(fd))
                for item in pressed:
                    if isinstance(item, int):
                        codes.add(item)
                        enters = enters + 1 if item == KEY_ENTER else 0
                    else:
                        tokens |= key_tokens(item)
                        # with evdev the same press also reaches the terminal: count it once
                        if not evdev:
                            enters = enters + 1 if item == "ENTER" else 0
                if enters >= FINISH_PRESSES or all(_lit(k, tokens, codes) for k in keys):
                    break
                if pressed:
                    _draw(term, rows, tokens, codes, ctx.lang, unseeable)
    finally:
        devices = list(events.paths)
        events.close()
    missing_keys = [k for k in keys if not _lit(k, tokens, codes)]
    missing = [k.label for k in missing_keys]
    evidence: dict[str, Any] = {
        "layout": name,
        "keys_total": len(keys),
        "keys_missing": missing,
        "mode": f"kernel input events ({', '.join(devices)})" if evdev else "terminal",
        "not_testable_here": unseeable_words(unseeable, "en"),
    }
    if missing:
        return Verdict(
            "fail",
            msg(
                "keyboard.missing",
                count=len(missing),
                total=len(keys),
                keys=key_names(missing_keys),
            ),
            evidence,
            repair=msg("repair.replace_keyboard"),
        )
    return Verdict("pass", msg("keyboard.ok", total=len(keys)), evidence)
