"""What the bench run shows, and in which words (French or English).

Every word is in the one catalogue of ``checks.i18n`` (the ``run.*`` messages), like the
verdicts of the checks.

The run reports through a :class:`RunView`; :class:`PlainView` writes one line per event
(a serial console, a log, a pipe), ``agent.tui.BenchScreen`` draws the full-screen
technician's display. Both take the same events, so a test can drive either.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from checks.i18n import MESSAGES, Lang, t

if TYPE_CHECKING:
    from agent.run.confirm import Confirmation, EraseDrive, LeftOut, Prompt


def step_name(step: str, lang: Lang) -> str:
    key = f"run.step.{step}"
    return t(key, lang) if key in MESSAGES else step


def status_word(status: str, lang: Lang) -> str:
    key = f"run.status.{status}"
    return t(key, lang) if key in MESSAGES else status


def verdict_word(verdict: str, lang: Lang) -> str:
    key = f"run.verdict.{verdict}"
    return t(key, lang) if key in MESSAGES else verdict.upper()


def format_eta(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return ""
    s = int(seconds + 0.5)
    if s >= 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


def size_words(size_bytes: int | None, lang: Lang) -> str:
    if size_bytes is None:
        return "?"
    size = f"{size_bytes / 1e9:.1f}"
    return size.replace(".", ",") if lang == "fr" else size


def drive_line(drive: EraseDrive, lang: Lang) -> str:
    """One drive of the confirmation screen: device, model, size, serial, method."""
    return t(
        "run.confirm.drive",
        lang,
        device=drive.device,
        model=drive.model or "?",
        gb=size_words(drive.size_bytes, lang),
        serial=drive.serial or "?",
        method=drive.method,
    )


def left_out_line(drive: LeftOut, lang: Lang) -> str:
    what = " ".join(x for x in (drive.model, drive.serial) if x)
    return t(
        "run.confirm.left_out",
        lang,
        device=drive.device,
        what=f"({what})" if what else "",
        reason=drive.reason,
    ).replace("  ", " ")


def confirmation_words(outcome: Confirmation, lang: Lang) -> str:
    """What became of the confirmation, in a sentence."""
    if outcome.by == "profile":
        return t("run.confirm.none", lang)
    if outcome.by == "command-line":
        return t("run.confirm.yes", lang)
    if outcome.confirmed:
        return t(f"run.confirm.go.{outcome.by}", lang)
    return t("run.confirm.stopped", lang)


def why_not_confirmed(outcome: Confirmation, lang: Lang) -> str:
    return t(
        f"run.confirm.why.{outcome.by}",
        lang,
        typed=outcome.typed or "",
        left=outcome.left_s if outcome.left_s is not None else "?",
        mode=outcome.mode,
    )


@dataclass
class Verdict:
    """The end of a run, as the screen shows it and ``run.json`` keeps it."""

    verdict: str  # certified | recycling | maintenance | demonstration | failed | interrupted
    exit_code: int
    asset_id: str | None
    device_id: str | None
    record_id: str | None
    reasons: list[str] = field(default_factory=list)
    grade: str | None = None
    record_path: str | None = None
    label_path: str | None = None
    server: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class RunView:
    """The events of a run. The base class shows nothing (for tests and --json)."""

    lang: Lang = "en"

    def identity(self, facts: dict[str, Any]) -> None:
        """The laptop being worked on (manufacturer, model, serial, device id...)."""

    def plan(self, steps: list[str], states: dict[str, str]) -> None:
        """The steps of this run, with their state (a resumed run has some done)."""

    def step_started(self, step: str) -> None: ...

    def step_progress(
        self, step: str, fraction: float | None, eta_s: float | None, detail: str
    ) -> None: ...

    def step_finished(self, step: str, status: str, summary: str) -> None: ...

    def message(self, text: str, *, level: str = "info") -> None: ...

    def verdict(self, verdict: Verdict) -> None: ...

    def erase_prompt(self, prompt: Prompt) -> None:
        """The erasure's confirmation screen (agent.run.confirm): shown, updated on each
        key or second, and with its outcome once decided."""

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        """The guided checks own the terminal meanwhile."""
        yield

    def close(self) -> None: ...


class PlainView(RunView):
    """One line per event, progress every ``interval_s`` at most: serial consoles, logs."""

    def __init__(
        self, stream: TextIO | None = None, *, lang: Lang = "en", interval_s: float = 5.0
    ) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.lang = lang
        self.interval_s = interval_s
        self._last_progress: dict[str, float] = {}
        self._prompt: Prompt | None = None

    def _say(self, text: str) -> None:
        self.stream.write(f"weee-run: {text}\n")
        self.stream.flush()

    def _t(self, id: str, **params: Any) -> str:
        return t(id, self.lang, **params)

    def identity(self, facts: dict[str, Any]) -> None:
        shown = ", ".join(
            f"{self._fact(k)}={v}" if self.lang != "en" else f"{k}={v}"
            for k, v in facts.items()
            if v not in (None, "")
        )
        self._say(self._t("run.log.laptop", facts=shown))

    def _fact(self, key: str) -> str:
        id = f"run.fact.{key}"
        return self._t(id) if id in MESSAGES else key

    def plan(self, steps: list[str], states: dict[str, str]) -> None:
        if self.lang == "en":
            shown = " > ".join(f"{s}[{states.get(s, 'pending')}]" for s in steps)
        else:
            shown = " > ".join(
                f"{step_name(s, self.lang)} [{status_word(states.get(s, 'pending'), self.lang)}]"
                for s in steps
            )
        self._say(self._t("run.log.steps", steps=shown))

    def step_started(self, step: str) -> None:
        self._last_progress.pop(step, None)
        self._say(self._t("run.log.started", step=step, name=step_name(step, self.lang)))

    def step_progress(
        self, step: str, fraction: float | None, eta_s: float | None, detail: str
    ) -> None:
        now = time.monotonic()
        if now - self._last_progress.get(step, 0.0) < self.interval_s:
            return
        self._last_progress[step] = now
        pct = f" {100 * fraction:5.1f}%" if fraction is not None else ""
        eta = " " + self._t("run.log.eta", eta=format_eta(eta_s)) if eta_s is not None else ""
        text = self._t("run.log.progress", step=step, name=step_name(step, self.lang), progress="")
        self._say(f"{text}{pct}{eta} {detail}".rstrip())

    def step_finished(self, step: str, status: str, summary: str) -> None:
        # English keeps the status id ("erase: done"): logs and tests read it
        word = status if self.lang == "en" else status_word(status, self.lang)
        text = self._t("run.log.finished", step=step, name=step_name(step, self.lang), status=word)
        self._say(f"{text} {('- ' + summary) if summary else ''}".rstrip())

    def message(self, text: str, *, level: str = "info") -> None:
        if level in ("warning", "error"):
            text = self._t(f"run.log.{level}", text=text)
        elif level != "info":
            text = f"{level.upper()}: {text}"
        self._say(text)

    def erase_prompt(self, prompt: Prompt) -> None:
        shown = self._prompt
        self._prompt = prompt
        first = shown is None or shown.request is not prompt.request
        if first:
            self._say(self._t("run.erase.confirm_title"))
            for drive in prompt.request.drives:
                self._say(f"  {drive_line(drive, self.lang)}")
            if prompt.request.left_out:
                self._say(self._t("run.confirm.left_out_title"))
                for other in prompt.request.left_out:
                    self._say(f"  {left_out_line(other, self.lang)}")
            if prompt.request.mode == "type" and prompt.outcome is None:
                # the answer is echoed on this line as it is typed
                self.stream.write(f"weee-run: {self._t('run.erase.confirm_prompt')}: ")
                self.stream.flush()
        if prompt.outcome is not None:
            if prompt.request.mode == "type":
                self.stream.write("\n")
            self._say(confirmation_words(prompt.outcome, self.lang))
            self._prompt = None
            return
        if prompt.request.mode == "type":
            before = "" if first or shown is None else shown.typed
            if prompt.typed.startswith(before):
                self.stream.write(prompt.typed[len(before) :])
            else:  # rubbed out: back over the difference
                common = os.path.commonprefix([before, prompt.typed])
                gone = len(before) - len(common)
                self.stream.write("\b \b" * gone + prompt.typed[len(common) :])
            self.stream.flush()
        elif prompt.left_s is not None:
            left = prompt.left_s
            if first or left <= 10 or left % 10 == 0:
                self._say(self._t("run.confirm.countdown", left=left))

    def verdict(self, verdict: Verdict) -> None:
        words = verdict_word(verdict.verdict, self.lang)
        self._say(self._t("run.log.verdict", verdict=verdict.verdict, words=words))
        if verdict.asset_id:
            self._say(self._t("run.log.asset", asset=verdict.asset_id))
        for reason in verdict.reasons:
            self._say(f"  - {reason}")
        if verdict.record_path:
            self._say(self._t("run.log.record", path=verdict.record_path))
        if verdict.label_path:
            self._say(self._t("run.log.label", path=verdict.label_path))
