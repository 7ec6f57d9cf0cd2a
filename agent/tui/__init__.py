"""The technician's screen: a full-screen view of the bench run (rich ``Live``).

Top: the laptop's identity. Middle: each step with its state, a progress bar and its
ETA. Bottom: the last messages. At the end, the verdict in large coloured letters and the
asset ID in block letters, readable from across the room. French or English.
"""

from __future__ import annotations

import contextlib
import sys
import termios
import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from agent.run.confirm import Prompt
from agent.run.view import (
    RunView,
    Verdict,
    confirmation_words,
    format_eta,
    left_out_line,
    size_words,
    status_word,
    step_name,
    verdict_word,
)
from agent.tui.bigtext import big_lines
from checks.i18n import Lang, t

VERDICT_STYLE = {
    "certified": "bold white on green4",
    "recycling": "bold black on yellow",
    "demonstration": "bold black on cyan",
    "maintenance": "bold white on blue",
    "failed": "bold white on red3",
    "interrupted": "bold white on magenta",
}
STATUS_ICON = {
    "pending": ("·", "dim"),
    "running": ("▶", "bold cyan"),
    "done": ("✔", "green"),
    "failed": ("✘", "bold red"),
    "skipped": ("–", "yellow"),
}
# the rows of the identity panel, in this order (their words: "run.fact.*" in checks.i18n)
IDENTITY_ROWS = ("model", "serial", "device_id", "cpu", "memory", "storage")


def _label(key: str, lang: Lang) -> str:
    return t(f"run.screen.{key}", lang)


class _Echo:
    """The terminal's echo, off while the full screen is drawn: a key pressed meanwhile
    would print over it (the guided step then drops such keys, see agent.run.steps).
    Given back as it was whenever the screen steps aside and at the end."""

    def __init__(self) -> None:
        self.saved: list[Any] | None = None

    def off(self) -> None:
        if not sys.stdin.isatty():
            return
        try:
            attrs = termios.tcgetattr(sys.stdin.fileno())
            self.saved = list(attrs)
            attrs[3] &= ~termios.ECHO
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSANOW, attrs)
        except termios.error:
            self.saved = None

    def restore(self) -> None:
        if self.saved is None:
            return
        try:
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSANOW, self.saved)
        except termios.error:
            pass
        self.saved = None


class BenchScreen(RunView):
    def __init__(
        self, *, lang: Lang = "en", console: Console | None = None, screen: bool = True
    ) -> None:
        self.lang = lang
        self.console = console if console is not None else Console()
        self.steps: list[str] = []
        self.states: dict[str, str] = {}
        self.summaries: dict[str, str] = {}
        self.progress: dict[str, tuple[float | None, float | None, str]] = {}
        self.facts: dict[str, Any] = {}
        self.messages: deque[tuple[str, str]] = deque(maxlen=5)
        self.final: Verdict | None = None
        self.prompt: Prompt | None = None
        self._lock = threading.Lock()  # the erasure reports progress from its threads
        self.live = Live(
            console=self.console,
            screen=screen,
            refresh_per_second=4,
            get_renderable=self.render,
            transient=False,
        )
        self._echo = _Echo()
        self._echo.off()
        self.live.start()

    # --- events ----------------------------------------------------------------------

    def identity(self, facts: dict[str, Any]) -> None:
        with self._lock:
            self.facts = dict(facts)

    def plan(self, steps: list[str], states: dict[str, str]) -> None:
        with self._lock:
            self.steps = list(steps)
            self.states = {s: states.get(s, "pending") for s in steps}

    def step_started(self, step: str) -> None:
        with self._lock:
            self.states[step] = "running"
            self.progress.pop(step, None)

    def step_progress(
        self, step: str, fraction: float | None, eta_s: float | None, detail: str
    ) -> None:
        with self._lock:
            self.progress[step] = (fraction, eta_s, detail)

    def step_finished(self, step: str, status: str, summary: str) -> None:
        with self._lock:
            self.states[step] = status
            self.summaries[step] = summary
            self.progress.pop(step, None)

    def message(self, text: str, *, level: str = "info") -> None:
        with self._lock:
            self.messages.append((level, text))

    def verdict(self, verdict: Verdict) -> None:
        with self._lock:
            self.final = verdict
        self.live.refresh()

    def erase_prompt(self, prompt: Prompt) -> None:
        with self._lock:
            if prompt.outcome is None:
                self.prompt = prompt
            else:
                self.prompt = None
                level = "info" if prompt.outcome.confirmed else "warning"
                self.messages.append((level, confirmation_words(prompt.outcome, self.lang)))
        self.live.refresh()

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        # Live leaves its alternate screen: the guided checks draw on the normal one and
        # read the keyboard themselves (nothing here reads stdin). What they leave there
        # is cleared, so the verdict printed at the end stands alone.
        self.live.stop()
        self._echo.restore()
        try:
            yield
        finally:
            if self.console.is_terminal:
                self.console.clear()
            self._echo.off()
            self.live.start()

    def close(self) -> None:
        self.live.stop()
        self._echo.restore()
        # the alternate screen is gone with Live: leave the verdict on the console
        if self.final is not None:
            self.console.print(self.render())

    # --- drawing ---------------------------------------------------------------------

    def render(self) -> RenderableType:
        with self._lock:
            parts: list[RenderableType] = [self._identity_panel()]
            if self.prompt is not None:
                parts.append(self._prompt_panel(self.prompt))
            if self.final is not None:
                parts.append(self._verdict_panel(self.final))
            parts.append(self._steps_table())
            if self.messages:
                parts.append(self._messages())
        return Group(*parts)

    def _identity_panel(self) -> Panel:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        facts = self.facts
        model = " ".join(str(facts[k]) for k in ("manufacturer", "model") if facts.get(k))
        values = {**facts, "model": model}
        for key in IDENTITY_ROWS:
            value = values.get(key)
            if value not in (None, ""):
                grid.add_row(t(f"run.fact.{key}", self.lang), str(value))
        return Panel(grid, title=_label("title", self.lang), title_align="left")

    def _steps_table(self) -> Table:
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(width=2)
        table.add_column(min_width=24)
        table.add_column(width=11)
        table.add_column(width=32)
        table.add_column(width=8, justify="right")
        table.add_column(ratio=1, overflow="ellipsis", no_wrap=True)
        for step in self.steps:
            status = self.states.get(step, "pending")
            icon, style = STATUS_ICON.get(status, ("?", ""))
            fraction, eta, detail = self.progress.get(step, (None, None, ""))
            if status == "running":
                bar: RenderableType = ProgressBar(
                    total=1.0,
                    completed=fraction if fraction is not None else 0.0,
                    pulse=fraction is None,
                    width=30,
                )
                text = detail
            else:
                bar = Text("")
                text = self.summaries.get(step, "")
            table.add_row(
                Text(icon, style=style),
                Text(step_name(step, self.lang), style="bold" if status == "running" else ""),
                Text(status_word(status, self.lang), style=style),
                bar,
                Text(format_eta(eta) if status == "running" else ""),
                Text(text, style="dim" if status != "running" else ""),
            )
        return table

    def _prompt_panel(self, prompt: Prompt) -> Panel:
        """The erasure's confirmation: every drive to erase, what is left out and why,
        then the question (type ERASE) or the countdown in block digits."""
        lang = self.lang
        request = prompt.request
        drives = Table(box=None, padding=(0, 2), show_header=False)
        for _ in range(5):
            drives.add_column()
        for d in request.drives:
            unit = "Go" if lang == "fr" else "GB"
            drives.add_row(
                Text(d.device, style="bold"),
                d.model or "?",
                f"{size_words(d.size_bytes, lang)} {unit}",
                d.serial or "?",
                Text(d.method, style="dim"),
            )
        lines: list[RenderableType] = [drives]
        if request.left_out:
            lines.append(Text(t("run.confirm.left_out_title", lang), style="bold"))
            for left in request.left_out:
                lines.append(Text(f"  {left_out_line(left, lang)}", style="dim"))
        lines.append(Text(""))
        if request.mode == "type":
            lines.append(Text(t("run.erase.confirm_prompt", lang), style="bold yellow"))
            lines.append(Text(f"> {prompt.typed}█", style="bold"))
        elif prompt.left_s is not None:
            for row in big_lines(str(prompt.left_s)):
                lines.append(Text(row, style="bold red", justify="center"))
            lines.append(
                Text(
                    t("run.confirm.countdown", lang, left=prompt.left_s),
                    style="bold yellow",
                    justify="center",
                )
            )
        return Panel(
            Group(*lines),
            title=Text(t("run.erase.confirm_title", lang), style="bold white on red3"),
            title_align="left",
            border_style="red3",
        )

    def _messages(self) -> Panel:
        styles = {"warning": "yellow", "error": "bold red", "info": ""}
        lines = [Text(text, style=styles.get(level, "")) for level, text in self.messages]
        return Panel(Group(*lines), border_style="dim")

    def _verdict_panel(self, verdict: Verdict) -> Panel:
        style = VERDICT_STYLE.get(verdict.verdict, "bold")
        word = verdict_word(verdict.verdict, self.lang)
        width = self.console.size.width - 4
        lines: list[RenderableType] = []
        big = big_lines(word)
        if max(len(row) for row in big) <= width:
            lines += [Text(row, style=style, justify="center") for row in big]
        else:
            lines.append(Text(word, style=style, justify="center"))
        lines.append(Text(""))
        if verdict.asset_id:
            lines.append(Text(_label("asset", self.lang), style="bold", justify="center"))
            for row in big_lines(verdict.asset_id):
                lines.append(Text(row, style="bold", justify="center"))
        else:
            lines.append(Text(_label("pending_sync", self.lang), justify="center"))
            if verdict.device_id:
                lines.append(Text(verdict.device_id, style="bold", justify="center"))
        for reason in verdict.reasons:
            lines.append(Text(f"• {reason}"))
        sep = " : " if self.lang == "fr" else ": "
        if verdict.record_path:
            lines.append(
                Text(f"{_label('record', self.lang)}{sep}{verdict.record_path}", style="dim")
            )
        if verdict.label_path:
            lines.append(
                Text(f"{_label('label', self.lang)}{sep}{verdict.label_path}", style="dim")
            )
        return Panel(Group(*lines), border_style=style.split(" on ")[-1])
