"""Errors a user can act on, each carrying its exit code.

Exit codes are part of the interface (scripts and the bench run branch on them):

====  =========================================================================
 0    success
 1    failed: the operation ran and failed (erasure error, verification mismatch)
 2    usage: bad arguments or bad input files (click's own code for usage errors)
 3    refused: a safety rule refused a target (boot medium, mounted device, ...)
 4    incomplete: an earlier operation was interrupted and never finished
 5    unavailable: a tool, device or service the command needs is missing
====  =========================================================================
"""

from __future__ import annotations

import click

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_INCOMPLETE = 4
EXIT_UNAVAILABLE = 5


class WeeeError(click.ClickException):
    """An expected failure: printed as one clear message, never as a traceback."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code  # type: ignore[misc]  # click declares it ClassVar


class UsageError(WeeeError):
    exit_code = EXIT_USAGE


class RefusedError(WeeeError):
    exit_code = EXIT_REFUSED


class IncompleteError(WeeeError):
    exit_code = EXIT_INCOMPLETE


class UnavailableError(WeeeError):
    exit_code = EXIT_UNAVAILABLE
