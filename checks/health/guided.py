"""Guided checks: a technician looks, listens, presses; one key press per answer.

They run in whatever terminal the bench has (the Linux console of the stick, an X
terminal, tmux). Without a graphical display they do what a terminal can and say so in
the evidence: colours fill the text area rather than every pixel, keys that send no
character (Caps Lock, Fn, Super, a modifier alone) cannot be seen, the pointer is read
through the terminal's mouse reporting.
"""

from __future__ import annotations

import math
import os
import select
import struct
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checks.health.keyboard import LAYOUTS, key_tokens, keyboard_check
from checks.health.model import CheckContext, Runner, Target, Verdict
from checks.health.pointer import DIRECTIONS, MouseEvents, PadEvents, find_touchpads
from checks.health.terminal import MOUSE_OFF, MOUSE_ON, Terminal
from checks.i18n import MESSAGES, Lang, Msg, msg

YES = {"y": "yes", "o": "yes", "n": "no"}  # "o" for "oui"

# the keyboard check has its own module; these stay importable from here
__all__ = ["LAYOUTS", "key_tokens", "keyboard_check"]


def _ui(lang: Lang, en: str, fr: str) -> str:
    return fr if lang == "fr" else en


def _pointer_msg(word: str) -> Msg | str:
    """A button or direction id (left, up) in the technician's words (pointer.*)."""
    return msg(f"pointer.{word}") if f"pointer.{word}" in MESSAGES else word


def _pointer_word(lang: Lang, word: str) -> str:
    said = _pointer_msg(word)
    return said.render(lang) if isinstance(said, Msg) else said


def _terminal(ctx: CheckContext) -> Terminal:
    if ctx.terminal is None:  # the runner skips terminal checks without one
        raise RuntimeError("no terminal")
    return ctx.terminal


# --- screen --------------------------------------------------------------------------

COLOURS: list[tuple[str, str, tuple[int, int, int], int]] = [
    # name, French name, 24-bit RGB, 8-colour ANSI code
    ("red", "rouge", (255, 0, 0), 41),
    ("green", "vert", (0, 255, 0), 42),
    ("blue", "bleu", (0, 0, 255), 44),
    ("white", "blanc", (255, 255, 255), 47),
    ("black", "noir", (0, 0, 0), 40),
]


def screen_mode_msg() -> Msg:
    """Where the colours are drawn and with how many, in words of either language."""
    truecolor = os.environ.get("COLORTERM", "") in ("truecolor", "24bit")
    display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return msg(
        "guided.screen_mode",
        where=msg("guided.where.window" if display else "guided.where.console"),
        depth=msg("guided.depth.24" if truecolor else "guided.depth.8"),
    )


def screen_mode() -> str:
    """The mode as the evidence records it (English, like every evidence value)."""
    return screen_mode_msg().render("en")


def screen_check(ctx: CheckContext, _target: Target | None) -> Verdict:
    term = _terminal(ctx)
    mode = screen_mode()
    words = screen_mode_msg()
    truecolor = "24-bit" in mode
    defects: list[Msg] = []
    answers: dict[str, str] = {}
    with term:
        cols, rows = term.size()
        for name, name_fr, (r, g, b), ansi in COLOURS:
            bg = f"\x1b[48;2;{r};{g};{b}m" if truecolor else f"\x1b[{ansi}m"
            term.write("\x1b[H" + bg + ("\x1b[2K" + " " * cols + "\r\n") * (rows - 1))
            prompt = _ui(
                ctx.lang,
                f" {name}: even, no dead pixel? y/n ",
                f" {name_fr} : uniforme, sans pixel mort ? o/n ",
            )
            term.at(rows, 1, "\x1b[0m\x1b[2K" + prompt)
            answer = term.ask("", YES)
            answers[name] = answer
            if answer == "no":
                defects.append(msg(f"guided.colour.{name}"))
        term.clear()
    evidence = {
        "answers": answers,
        "mode": mode,
        "note": "colours fill the text cells, not each pixel",
    }
    if defects:
        return Verdict(
            "fail",
            msg("screen.defects", colours=defects, mode=words),
            evidence,
            repair=msg("repair.replace_screen"),
        )
    return Verdict("pass", msg("screen.ok", mode=words), evidence)


# --- cosmetic grade ------------------------------------------------------------------


def cosmetic_check(ctx: CheckContext, _target: Target | None) -> Verdict:
    term = _terminal(ctx)
    with term:
        term.clear()
        grade = term.ask(
            _ui(
                ctx.lang,
                "Case condition: A = like new, B = light wear, C = marked or cracked. "
                "Press A, B or C: ",
                "État du boîtier : A = comme neuf, B = légère usure, C = marqué ou fêlé. "
                "Appuyez sur A, B ou C : ",
            ),
            {"a": "A", "b": "B", "c": "C"},
        )
    ctx.cosmetic_grade = grade
    return Verdict("pass", msg("cosmetic.grade", grade=grade), {"grade": grade})


# --- touchpad (and the kit mouse) ----------------------------------------------------

ZONE_COLS, ZONE_ROWS = 3, 3
BUTTONS = {0: "left", 1: "middle", 2: "right"}


@dataclass
class PointerResult:
    zones_seen: set[tuple[int, int]]
    buttons: set[str]
    events: int
    outcome: str  # "complete" | "gave-up" | "no-mouse"
    required_buttons: tuple[str, ...] = ("left", "right")

    def missing(self) -> list[Msg]:
        out = [
            msg("touchpad.zone", col=c + 1, row=r + 1)
            for r in range(ZONE_ROWS)
            for c in range(ZONE_COLS)
            if (c, r) not in self.zones_seen
        ]
        out += [
            msg("touchpad.button", button=_pointer_msg(b))
            for b in self.required_buttons
            if b not in self.buttons
        ]
        return out


def pointer_test(
    term: Terminal, lang: Lang, title: str, pad: PadEvents | None = None
) -> PointerResult:
    """Cover every zone and press every button; n gives up, s says no pointer here.

    With ``pad`` (the touchpad's kernel events), the zones are areas of the pad's own
    surface and the buttons those the pad has; otherwise the pointer is read through the
    terminal's mouse reporting and the zones are areas of the screen.
    """
    zones: set[tuple[int, int]] = pad.state.zones if pad else set()
    buttons: set[str] = pad.state.buttons if pad else set()
    required = tuple(pad.pad.buttons) if pad else ("left", "right")
    events = 0
    with term:
        if pad is None:
            term.write(MOUSE_ON)
        cols, rows = term.size()
        height = max(1, (rows - 3) // ZONE_ROWS)
        width = max(1, cols // ZONE_COLS)

        def draw() -> None:
            term.clear()
            if pad is not None:
                hint = _ui(
                    lang,
                    " Slide a finger over every area of the pad, press its "
                    + " and ".join(required)
                    + " button. n: gives no answer.",
                    " Glissez un doigt sur chaque zone du pavé, appuyez sur ses boutons ("
                    + ", ".join(_pointer_word(lang, b) for b in required)
                    + "). n : ne répond pas.",
                )
            else:
                hint = _ui(
                    lang,
                    " Move over every box, click left and right. "
                    "n: gives no answer, s: no pointer here.",
                    " Passez sur chaque case, cliquez à gauche et à droite. n : ne répond pas, "
                    "s : pas de pointeur ici.",
                )
            term.write(title + hint)
            for r in range(ZONE_ROWS):
                for c in range(ZONE_COLS):
                    colour = "\x1b[42m" if (c, r) in zones else "\x1b[47m"
                    for line in range(height - 1):
                        term.at(
                            3 + r * height + line,
                            1 + c * width,
                            colour + " " * (width - 1) + "\x1b[0m",
                        )
            term.at(
                rows,
                1,
                _ui(lang, "buttons: ", "boutons : ")
                + ", ".join(_pointer_word(lang, b) for b in sorted(buttons)),
            )

        def complete() -> bool:
            return len(zones) == ZONE_COLS * ZONE_ROWS and set(required) <= buttons

        draw()
        outcome = "complete"
        while True:
            if pad is not None and not term.pending:
                ready, _, _ = select.select([term.fd, pad.fd], [], [])
                if pad.fd in ready and pad.read():
                    if complete():
                        break
                    draw()
                if term.fd not in ready:
                    continue
            key = term.read_key(0 if pad is not None else None)
            if key is None:
                continue
            if key.startswith("MOUSE:"):
                if pad is not None:
                    continue  # the pad's own events are the truth here
                events += 1
                _, code, x, y, kind = key.split(":")
                button = int(code)
                col, row = int(x) - 1, int(y) - 3
                if row >= 0:
                    zones.add((min(ZONE_COLS - 1, col // width), min(ZONE_ROWS - 1, row // height)))
                if kind == "M" and not button & 32 and (button & 3) in BUTTONS and button < 64:
                    buttons.add(BUTTONS[button & 3])
                if complete():
                    break
                draw()
            elif key.lower() == "n":
                outcome = "gave-up"
                break
            elif key.lower() == "s" and pad is None:
                outcome = "no-mouse"
                break
        if pad is None:
            term.write(MOUSE_OFF)
        term.clear()
    return PointerResult(
        zones, buttons, pad.state.events if pad else events, outcome, required_buttons=required
    )


def mouse_test(term: Terminal, lang: Lang, title: str, mouse: MouseEvents) -> PointerResult:
    """A mouse through its kernel events: move it each way and press each button."""
    state = mouse.state
    required = tuple(b for b in ("left", "right") if b in mouse.mouse.buttons)
    with term:

        def draw() -> None:
            term.clear()
            term.write(
                title
                + _ui(
                    lang,
                    " Move the mouse left, right, up and down, press each button. "
                    "n: gives no answer.\r\n\r\n",
                    " Bougez la souris à gauche, à droite, en haut et en bas, appuyez sur chaque "
                    "bouton. n : ne répond pas.\r\n\r\n",
                )
            )
            cells = [
                ("\x1b[30;42m" if item in seen else "\x1b[7m")
                + f" {_pointer_word(lang, item)} \x1b[0m"
                for item, seen in [
                    *((d, state.directions) for d in DIRECTIONS),
                    *((b, state.buttons) for b in required),
                ]
            ]
            term.write(" ".join(cells) + "\r\n")

        def complete() -> bool:
            return set(DIRECTIONS) <= state.directions and set(required) <= state.buttons

        draw()
        outcome = "complete"
        while not complete():
            if not term.pending:
                ready, _, _ = select.select([term.fd, mouse.fd], [], [])
                if mouse.fd in ready and mouse.read():
                    draw()
                if term.fd not in ready:
                    continue
            key = term.read_key(0)
            if key is not None and key.lower() == "n":
                outcome = "gave-up"
                break
        term.clear()
    # directions stand in for zones in the result: all four seen = every "zone"
    zones = {(i % ZONE_COLS, i // ZONE_COLS) for i in range(ZONE_COLS * ZONE_ROWS)}
    return PointerResult(
        zones if set(DIRECTIONS) <= state.directions else set(),
        set(state.buttons),
        state.events,
        outcome,
        required_buttons=required,
    )


def touchpad_check(ctx: CheckContext, _target: Target | None) -> Verdict:
    term = _terminal(ctx)
    pad = PadEvents.open(find_touchpads(ctx.source), ZONE_COLS, ZONE_ROWS) if ctx.live else None
    try:
        result = pointer_test(term, ctx.lang, _ui(ctx.lang, "Touchpad.", "Pavé tactile."), pad)
    finally:
        if pad is not None:
            pad.close()
    mode = (
        f"touchpad events ({pad.pad.path}, {pad.pad.name or 'unnamed'})"
        if pad
        else "terminal mouse reporting (xterm SGR)"
    )
    evidence = {
        "zones_seen": len(result.zones_seen),
        "zones_total": ZONE_COLS * ZONE_ROWS,
        "buttons": sorted(result.buttons),
        "buttons_required": list(result.required_buttons),
        "events": result.events,
        "mode": mode,
    }
    if result.outcome == "no-mouse":
        return Verdict("skip", msg("touchpad.no_mouse"), evidence)
    missing = result.missing()
    if missing:
        return Verdict(
            "fail",
            msg("touchpad.missing", missing=missing),
            evidence,
            repair=msg("repair.replace_touchpad"),
        )
    return Verdict(
        "pass",
        msg(
            "touchpad.ok",
            zones=ZONE_COLS * ZONE_ROWS,
            buttons=[_pointer_msg(b) for b in sorted(result.buttons)],
        ),
        evidence,
    )


# --- speakers and microphone ---------------------------------------------------------

SAMPLE_RATE = 16000
SILENCE_DBFS = -45.0


def tone_wav(
    path: Path, *, hz: float = 1000.0, seconds: float = 1.5, rate: int = SAMPLE_RATE
) -> None:
    frames = bytearray()
    for i in range(int(seconds * rate)):
        frames += struct.pack("<h", int(0.5 * 32767 * math.sin(2 * math.pi * hz * i / rate)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))


def peak_dbfs(path: Path) -> float:
    """Peak level of a 16-bit WAV in dBFS (-inf for pure silence)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError("expected 16-bit samples")
        data = w.readframes(w.getnframes())
    count = len(data) // 2
    if count == 0:
        return float("-inf")
    peak = max(abs(s) for (s,) in struct.iter_unpack("<h", data[: count * 2]))
    return 20 * math.log10(peak / 32768) if peak else float("-inf")


def speakers_check(ctx: CheckContext, _target: Target | None) -> Verdict:
    term = _terminal(ctx)
    with tempfile.TemporaryDirectory(prefix="weee-audio-") as tmp:
        tone = Path(tmp) / "tone.wav"
        tone_wav(tone)
        with term:
            term.clear()
            term.write(
                _ui(
                    ctx.lang,
                    "Playing a tone on the speakers...\r\n",
                    "Son de test sur les haut-parleurs...\r\n",
                )
            )
            played = ctx.run(["aplay", "-q", str(tone)], timeout=15)
            evidence: dict[str, Any] = {"aplay_exit_status": played.returncode, "tone_hz": 1000}
            if not played.ok:
                # nothing was played: asking whether it was heard would only invite a guess
                error = played.error or played.stderr_text.strip()[-200:] or "aplay failed"
                evidence["error"] = error
                return Verdict(
                    "fail",
                    msg("speakers.failed", error=error),
                    evidence,
                    repair=msg("repair.repair_audio"),
                )
            heard = term.ask(
                _ui(ctx.lang, "Did you hear it? y/n ", "L'avez-vous entendu ? o/n "), YES
            )
    evidence["answer"] = heard
    if heard == "yes":
        return Verdict("pass", msg("speakers.ok"), evidence)
    return Verdict("fail", msg("speakers.bad"), evidence, repair=msg("repair.repair_audio"))


def microphone_check(ctx: CheckContext, _target: Target | None, seconds: int = 3) -> Verdict:
    term = _terminal(ctx)
    with tempfile.TemporaryDirectory(prefix="weee-audio-") as tmp:
        rec = Path(tmp) / "rec.wav"
        with term:
            term.clear()
            term.write(
                _ui(
                    ctx.lang,
                    f"Speak or clap near the laptop for {seconds} s...\r\n",
                    f"Parlez ou tapez dans les mains près de l'ordinateur "
                    f"pendant {seconds} s...\r\n",
                )
            )
            result = ctx.run(
                [
                    "arecord",
                    "-q",
                    "-d",
                    str(seconds),
                    "-f",
                    "S16_LE",
                    "-r",
                    str(SAMPLE_RATE),
                    "-c",
                    "1",
                    str(rec),
                ],
                timeout=seconds + 10,
            )
        evidence: dict[str, Any] = {"arecord_exit_status": result.returncode, "seconds": seconds}
        if not result.ok or not rec.exists():
            error = result.error or result.stderr_text.strip()[-200:] or "no recording"
            evidence["error"] = error
            return Verdict(
                "fail",
                msg("microphone.failed", error=error),
                evidence,
                repair=msg("repair.repair_audio"),
            )
        level = peak_dbfs(rec)
    shown = round(level, 1) if math.isfinite(level) else -120.0
    evidence.update({"peak_dbfs": shown, "silence_below_dbfs": SILENCE_DBFS})
    if level < SILENCE_DBFS:
        return Verdict(
            "fail",
            msg("microphone.silent", level=shown),
            evidence,
            repair=msg("repair.repair_audio"),
        )
    return Verdict("pass", msg("microphone.ok", level=shown), evidence)


# --- webcam --------------------------------------------------------------------------


def parse_ppm(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and RGB bytes of a binary PPM (P6, maxval 255)."""
    parts: list[bytes] = []
    pos = 0
    while len(parts) < 4:
        while data[pos : pos + 1].isspace():
            pos += 1
        if data[pos : pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end : end + 1].isspace():
            end += 1
        parts.append(data[pos:end])
        pos = end
    if parts[0] != b"P6" or parts[3] != b"255":
        raise ValueError("not a P6 PPM with maxval 255")
    width, height = int(parts[1]), int(parts[2])
    pixels = data[pos + 1 : pos + 1 + width * height * 3]
    if len(pixels) != width * height * 3:
        raise ValueError("truncated PPM")
    return width, height, pixels


def render_halfblocks(width: int, height: int, rgb: bytes) -> list[str]:
    """Terminal lines showing the image, two pixels per cell (upper half block)."""
    lines = []
    for y in range(0, height - 1, 2):
        cells = []
        for x in range(width):
            top = rgb[(y * width + x) * 3 : (y * width + x) * 3 + 3]
            bottom = rgb[((y + 1) * width + x) * 3 : ((y + 1) * width + x) * 3 + 3]
            cells.append(
                f"\x1b[38;2;{top[0]};{top[1]};{top[2]}m\x1b[48;2;{bottom[0]};{bottom[1]};{bottom[2]}m▀"
            )
        lines.append("".join(cells) + "\x1b[0m")
    return lines


def grab_frame(run: Runner, device: str, cols: int, rows: int) -> tuple[int, int, bytes] | str:
    width = max(16, min(cols, 120))
    height = max(8, min((rows - 3) * 2, 80))
    result = run(
        [
            "ffmpeg", "-loglevel", "error", "-f", "v4l2", "-i", device, "-frames:v", "1",
            "-vf", f"scale={width}:{height}", "-f", "image2pipe", "-vcodec", "ppm", "-",
        ],
        timeout=20,
    )  # fmt: skip
    if not result.ok or not result.stdout:
        return result.error or result.stderr_text.strip()[-200:] or "no frame"
    try:
        return parse_ppm(result.stdout)
    except (ValueError, IndexError) as exc:
        return str(exc)


def video_devices(devices: Sequence[str] | None = None) -> list[str]:
    names = devices if devices is not None else sorted(os.listdir("/dev"))
    return [f"/dev/{n}" for n in names if n.startswith("video")]


def webcam_view_check(ctx: CheckContext, _target: Target | None) -> Verdict:
    term = _terminal(ctx)
    devices = video_devices()
    if not devices:
        return Verdict("skip", msg("webcam.view_cannot", why=msg("guided.no_video")), {})
    words = msg("guided.webcam_mode")
    mode = words.render("en")
    with term:
        cols, rows = term.size()
        frame = grab_frame(ctx.run, devices[0], cols, rows)
        if isinstance(frame, str):
            return Verdict(
                "fail",
                msg("webcam.view_bad", mode=words),
                {"device": devices[0], "error": frame},
                repair=msg("repair.replace_webcam"),
            )
        term.clear()
        term.write("\r\n".join(render_halfblocks(*frame)) + "\r\n")
        answer = term.ask(
            _ui(
                ctx.lang,
                "Do you see the camera's image? y/n ",
                "Voyez-vous l'image de la caméra ? o/n ",
            ),
            YES,
        )
    evidence = {
        "device": devices[0],
        "frame": f"{frame[0]}x{frame[1]}",
        "answer": answer,
        "mode": mode,
    }
    if answer == "yes":
        return Verdict("pass", msg("webcam.view_ok", mode=words), evidence)
    return Verdict(
        "fail", msg("webcam.view_bad", mode=words), evidence, repair=msg("repair.replace_webcam")
    )
