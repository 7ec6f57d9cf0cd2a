"""Progress on stderr: bytes, percentage, MB/s and ETA, per phase (write, verify)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from agent.image.writer import human_bytes

PHASE_NAMES = {"write": "writing ", "verify": "verifying"}


def format_eta(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class ProgressPrinter:
    """A ProgressFn: one updating line on a terminal, a line every few seconds in logs."""

    def __init__(self, stream: TextIO | None = None, *, interval_s: float | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._tty = self._stream.isatty()
        self._interval_s = interval_s if interval_s is not None else (0.2 if self._tty else 5.0)
        self._phase: str | None = None
        self._phase_start = 0.0
        self._last = 0.0

    def line(self, phase: str, done: int, total: int | None, elapsed: float) -> str:
        rate = done / elapsed if elapsed > 0 else 0.0
        text = f"{PHASE_NAMES.get(phase, phase)} {human_bytes(done)}"
        if total:
            text += f" / {human_bytes(total)} {min(100.0, 100.0 * done / total):5.1f}%"
        if elapsed < 0.5:
            return text  # a rate over a few milliseconds means nothing
        text += f"  {rate / 1e6:7.1f} MB/s"
        if total and rate > 0 and done < total:
            text += f"  ETA {format_eta((total - done) / rate)}"
        return text

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if phase != self._phase:
            self.end()
            self._phase, self._phase_start, self._last = phase, now, 0.0
        finished = total is not None and done >= total
        if not finished and now - self._last < self._interval_s:
            return
        self._last = now
        text = self.line(phase, done, total, now - self._phase_start)
        if self._tty:
            self._stream.write("\r\x1b[K" + text)
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def end(self) -> None:
        if self._phase is not None and self._tty:
            self._stream.write("\n")
            self._stream.flush()
        self._phase = None
