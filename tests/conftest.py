"""Shared test helpers: where the recordings live, and small capture folders.

The recordings from real machines sit in ``shared/fixtures`` beside the repository
(``<repo>/../shared``: here ``/work/shared`` next to ``/work/main``; CI clones the repo
into another folder with ``shared/`` beside it). ``WEEE_SHARED`` overrides the guess.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Property tests judge results, not speed: no per-example deadline and no too_slow health
# check. On a loaded CI machine an example can pass Hypothesis's default 200 ms; it then
# replays it, finds it fast, and fails the test as "Unreliable test timings" (Flaky).
# A test's own @settings inherits these unless it names them.
settings.register_profile(
    "weee", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.load_profile("weee")

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = REPO / "tests" / "data"


def _find_shared() -> Path:
    env = os.environ.get("WEEE_SHARED")
    if env:
        return Path(env)
    return REPO.parent / "shared"


SHARED = _find_shared()
FIXTURES = SHARED / "fixtures"


def fixture_path(*parts: str) -> Path:
    """A path under ``shared/fixtures``; the test skips (with the reason) when absent."""
    path = FIXTURES.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"recording not available: {path} (set WEEE_SHARED)")
    return path


def fixture_files(folder: str, pattern: str) -> list[Path]:
    """Sorted recordings matching ``pattern`` (for parametrize: empty when absent)."""
    base = FIXTURES / folder
    return sorted(base.glob(pattern)) if base.is_dir() else []


CaptureFactory = Callable[[Mapping[str, bytes | str | Path]], Path]


@pytest.fixture
def make_capture(tmp_path: Path) -> CaptureFactory:
    """Build a capture folder from ``{capture key: bytes | text | file to copy}``."""
    counter = iter(range(1_000_000))

    def build(files: Mapping[str, bytes | str | Path]) -> Path:
        root = tmp_path / f"capture-{next(counter)}"
        root.mkdir()
        for key, content in files.items():
            dest = root / key
            dest.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copyfile(content, dest)
            elif isinstance(content, bytes):
                dest.write_bytes(content)
            else:
                dest.write_text(content)
        return root

    return build
