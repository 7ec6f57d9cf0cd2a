"""Progress on stderr: bytes, percentage, MB/s and ETA, per phase (write, verify)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from agent.blockdev import human_size
from agent.image.pipeline import Progress

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
        self._start: float | None = None
        self._last = 0.0
        self._shown = False

    def line(self, progress: Progress, elapsed: float) -> str:
        if progress.phase == "write":
            done, total = progress.image_done, progress.image_total
        else:
            done, total = progress.verified, progress.verify_total
        text = f"{PHASE_NAMES.get(progress.phase, progress.phase)} {human_size(done)}"
        if total:
            text += f" / {human_size(total)} {min(100.0, 100.0 * done / total):5.1f}%"
        if elapsed >= 0.5:  # a rate over a few milliseconds means nothing
            rate = done / elapsed
            text += f"  {rate / 1e6:7.1f} MB/s"
            if total and rate > 0 and done < total:
                text += f"  ETA {format_eta((total - done) / rate)}"
        if progress.phase == "write":
            text += f"  (written {human_size(progress.written)}, "
            text += f"verified {human_size(progress.verified)})"
        return text

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        if self._start is None:
            self._start = now
        if progress.phase != self._phase:
            self.end()
            self._phase, self._last = progress.phase, 0.0
        if now - self._last < self._interval_s:
            return
        self._last = now
        # Rates are over the whole run: verification overlaps the write.
        text = self.line(progress, now - self._start)
        self._shown = True
        if self._tty:
            self._stream.write("\r\x1b[K" + text)
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def end(self) -> None:
        if self._shown and self._tty:
            self._stream.write("\n")
            self._stream.flush()
        self._shown = False
        self._phase = None
