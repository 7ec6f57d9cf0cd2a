"""The whole server suite again, on the real PostgreSQL of scripts/services/postgres.sh.

The in-process tests use one database per pytest run (pytest-django configures Django
once), so the PostgreSQL run is a second pytest run of this directory with
WEEE_SERVER_TEST_DATABASE_URL set; the live-server tests already run on both databases.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from checks.system import run_command

POSTGRES_URL = os.environ.get("WEEE_TEST_POSTGRES_URL")


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.skipif(
    not POSTGRES_URL, reason="WEEE_TEST_POSTGRES_URL unset: source scripts/services/postgres.sh"
)
def test_the_server_suite_passes_on_postgresql():
    here = Path(__file__).parent
    assert POSTGRES_URL
    result = run_command(
        [
            sys.executable,
            "-m",
            "pytest",
            str(here),
            "-q",
            "-p",
            "no:cacheprovider",
            # the live-server, browser and this test have their own PostgreSQL runs
            "-m",
            "not slow and not browser and not postgres",
        ],
        timeout=900,
        env={**os.environ, "WEEE_SERVER_TEST_DATABASE_URL": POSTGRES_URL},
    )
    summary = result.text.strip().splitlines()[-1] if result.text.strip() else ""
    assert result.returncode == 0, result.text[-8000:] + result.stderr_text[-2000:]
    assert " passed" in summary and "failed" not in summary, summary
