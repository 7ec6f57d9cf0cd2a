"""The run journal: every step's outcome, on the stick, so a power cut loses nothing.

Layout under ``<state_dir>/run/``::

    current/run.json        the run in progress: its id, the laptop, each step's state
    current/<step>.json     what each finished step produced (probe report, erasures...)
    runs/<run_id>/          finished runs, moved there whole when the run ends

Every file is written atomically (temporary file, fsync, rename, fsync of the folder), so
a power cut leaves the previous or the new version of a file, never half of one. A step
is marked ``running`` before it starts and ``done``/``failed``/``skipped`` after its
output is on disk: a step found ``running`` at the next boot was interrupted and is
taken again (the erasure journal of ``agent.wipe`` says which erasures it cut short).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.wipe.journal import atomic_write
from agent.wipe.report import now_iso

RUN_FORMAT = "weee-run-journal/1"
STEP_STATUSES = ("pending", "running", "done", "failed", "skipped")


@dataclass
class StepState:
    status: str = "pending"
    started_at: str | None = None
    ended_at: str | None = None
    duration_s: float | None = None
    summary: str = ""
    attempts: int = 0


@dataclass
class RunState:
    run_id: str
    started_at: str
    mode: str  # refurbishment | maintenance
    steps: dict[str, StepState]
    device_id: str | None = None
    maintenance_ticket: str | None = None
    boots: int = 1  # how many times this run was started (1 + resumes)
    ended_at: str | None = None
    verdict: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"format": RUN_FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> RunState:
        if doc.get("format") != RUN_FORMAT:
            raise ValueError(f"not a {RUN_FORMAT} file (format {doc.get('format')!r})")
        fields = {k: v for k, v in doc.items() if k != "format"}
        fields["steps"] = {name: StepState(**s) for name, s in doc["steps"].items()}
        return cls(**fields)


@dataclass
class RunJournal:
    state_dir: Path
    directory: Path = field(init=False)

    def __post_init__(self) -> None:
        self.directory = Path(self.state_dir) / "run"

    @property
    def current(self) -> Path:
        return self.directory / "current"

    def ensure_writable(self) -> None:
        """Fail before anything is done if the journal cannot be written."""
        self.current.mkdir(parents=True, exist_ok=True)
        atomic_write(self.current / f".probe-{os.getpid()}", b"ok")
        (self.current / f".probe-{os.getpid()}").unlink()

    def load(self) -> RunState | None:
        """The run in progress, if a previous boot left one."""
        path = self.current / "run.json"
        if not path.exists():
            return None
        return RunState.from_dict(json.loads(path.read_text("utf-8")))

    def start(
        self, *, mode: str, steps: list[str], maintenance_ticket: str | None = None
    ) -> RunState:
        self.current.mkdir(parents=True, exist_ok=True)
        state = RunState(
            run_id=str(uuid.uuid4()),
            started_at=now_iso(),
            mode=mode,
            steps={name: StepState() for name in steps},
            maintenance_ticket=maintenance_ticket,
        )
        self.save(state)
        return state

    def save(self, state: RunState) -> None:
        data = json.dumps(state.to_dict(), indent=1, ensure_ascii=False).encode("utf-8")
        atomic_write(self.current / "run.json", data)

    def write_output(self, step: str, data: Any) -> Path:
        path = self.current / f"{step}.json"
        atomic_write(path, json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8"))
        return path

    def read_output(self, step: str) -> Any:
        path = self.current / f"{step}.json"
        if not path.exists():
            return None
        return json.loads(path.read_text("utf-8"))

    def archive(self, state: RunState, *, reason: str = "finished") -> Path:
        """Move the current run to ``runs/<run_id>`` (kept for audit), clearing the way."""
        state_path = self.current / "run.json"
        if state_path.exists():
            doc = state.to_dict()
            doc["archived"] = {"at": now_iso(), "reason": reason}
            atomic_write(state_path, json.dumps(doc, indent=1, ensure_ascii=False).encode())
        target = self.directory / "runs" / state.run_id
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        os.replace(self.current, target)
        return target
