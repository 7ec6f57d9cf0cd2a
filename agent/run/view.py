"""What the bench run shows, and in which words (French or English).

The run reports through a :class:`RunView`; :class:`PlainView` writes one line per event
(a serial console, a log, a pipe), ``agent.tui.BenchScreen`` draws the full-screen
technician's display. Both take the same events, so a test can drive either.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from checks.i18n import Lang

STEP_NAMES: dict[str, dict[str, str]] = {
    "probe": {"en": "Hardware inventory", "fr": "Inventaire du matériel"},
    "checks": {"en": "Automatic checks", "fr": "Contrôles automatiques"},
    "guided": {"en": "Guided checks", "fr": "Contrôles guidés"},
    "erase": {"en": "Data erasure", "fr": "Effacement des données"},
    "image": {"en": "System image", "fr": "Image système"},
    "record": {"en": "Signed record", "fr": "Fiche signée"},
    "spool": {"en": "Saved on the stick", "fr": "Enregistrée sur la clé"},
    "sync": {"en": "Programme database", "fr": "Base du programme"},
    "label": {"en": "Asset label", "fr": "Étiquette"},
}

STATUS_WORDS: dict[str, dict[str, str]] = {
    "pending": {"en": "waiting", "fr": "en attente"},
    "running": {"en": "running", "fr": "en cours"},
    "done": {"en": "done", "fr": "fait"},
    "failed": {"en": "FAILED", "fr": "ÉCHEC"},
    "skipped": {"en": "skipped", "fr": "sauté"},
}

VERDICT_WORDS: dict[str, dict[str, str]] = {
    "certified": {"en": "READY: CERTIFIED", "fr": "PRÊT : CERTIFIÉ"},
    "recycling": {"en": "PARTS: RECYCLING", "fr": "PIÈCES : RECYCLAGE"},
    "maintenance": {"en": "MAINTENANCE DONE", "fr": "MAINTENANCE FAITE"},
    "failed": {"en": "NOT CERTIFIED", "fr": "NON CERTIFIÉ"},
    "interrupted": {"en": "INTERRUPTED", "fr": "INTERROMPU"},
}


def step_name(step: str, lang: Lang) -> str:
    return STEP_NAMES.get(step, {}).get(lang, step)


def status_word(status: str, lang: Lang) -> str:
    return STATUS_WORDS.get(status, {}).get(lang, status)


def verdict_word(verdict: str, lang: Lang) -> str:
    return VERDICT_WORDS.get(verdict, {}).get(lang, verdict.upper())


def format_eta(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return ""
    s = int(seconds + 0.5)
    if s >= 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


@dataclass
class Verdict:
    """The end of a run, as the screen shows it and ``run.json`` keeps it."""

    verdict: str  # certified | recycling | maintenance | failed | interrupted
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

    def _say(self, text: str) -> None:
        self.stream.write(f"weee-run: {text}\n")
        self.stream.flush()

    def identity(self, facts: dict[str, Any]) -> None:
        shown = ", ".join(f"{k}={v}" for k, v in facts.items() if v not in (None, ""))
        self._say(f"laptop: {shown}")

    def plan(self, steps: list[str], states: dict[str, str]) -> None:
        self._say("steps: " + " > ".join(f"{s}[{states.get(s, 'pending')}]" for s in steps))

    def step_started(self, step: str) -> None:
        self._last_progress.pop(step, None)
        self._say(f"{step}: started ({step_name(step, self.lang)})")

    def step_progress(
        self, step: str, fraction: float | None, eta_s: float | None, detail: str
    ) -> None:
        now = time.monotonic()
        if now - self._last_progress.get(step, 0.0) < self.interval_s:
            return
        self._last_progress[step] = now
        pct = f" {100 * fraction:5.1f}%" if fraction is not None else ""
        eta = f" ETA {format_eta(eta_s)}" if eta_s is not None else ""
        self._say(f"{step}:{pct}{eta} {detail}".rstrip())

    def step_finished(self, step: str, status: str, summary: str) -> None:
        self._say(f"{step}: {status} {('- ' + summary) if summary else ''}".rstrip())

    def message(self, text: str, *, level: str = "info") -> None:
        self._say(f"{level.upper()}: {text}" if level != "info" else text)

    def verdict(self, verdict: Verdict) -> None:
        self._say(f"VERDICT: {verdict.verdict} ({verdict_word(verdict.verdict, self.lang)})")
        if verdict.asset_id:
            self._say(f"asset ID: {verdict.asset_id}")
        for reason in verdict.reasons:
            self._say(f"  - {reason}")
        if verdict.record_path:
            self._say(f"record: {verdict.record_path}")
        if verdict.label_path:
            self._say(f"label: {verdict.label_path}")
