"""The one door to external programs.

Every tool weee runs (dmidecode, smartctl, nvme, hdparm, lsblk, ...) goes through
:func:`run_command`: an argv list (never a shell string: a device path pasted into a
shell command in a root tool that wipes disks is a disaster), a timeout on every call,
and ``LC_ALL=C`` so that numbers keep their decimal point and messages stay parseable.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int | None  # None when the program could not be started or timed out
    stdout: bytes
    stderr: bytes
    duration_s: float
    error: str | None = None  # "not found", "timed out after 30 s", "permission denied", ...

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.error is None

    @property
    def text(self) -> str:
        """stdout decoded leniently: tools print non-UTF-8 firmware strings."""
        return self.stdout.decode("utf-8", errors="replace")

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", errors="replace")


def c_locale_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"LC_ALL": "C", "LANG": "C", "LANGUAGE": "C"})
    if extra:
        env.update(extra)
    return env


def which(tool: str) -> str | None:
    """Path of ``tool``, also looking in the sbin directories a non-root PATH lacks."""
    found = shutil.which(tool)
    if found:
        return found
    for directory in ("/usr/sbin", "/sbin", "/usr/local/sbin"):
        candidate = os.path.join(directory, tool)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def run_command(
    argv: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> CommandResult:
    """Run ``argv`` and return what happened; never raises for a failing program."""
    if isinstance(argv, str):  # a string here is a programming error, not user input
        raise TypeError("run_command takes an argv list, not a string")
    args = tuple(str(a) for a in argv)
    if not args:
        raise ValueError("empty argv")
    exe = which(args[0]) if os.sep not in args[0] else args[0]
    start = time.monotonic()
    if exe is None:
        log.debug("%s: not installed", args[0])
        return CommandResult(args, None, b"", b"", 0.0, error=f"{args[0]}: not installed")
    try:
        proc = subprocess.run(  # argv list, no shell
            (exe, *args[1:]),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            env=c_locale_env(env),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        took = time.monotonic() - start
        log.warning("%s: timed out after %.0f s", " ".join(args), timeout)
        return CommandResult(
            args,
            None,
            exc.stdout or b"",
            exc.stderr or b"",
            took,
            error=f"timed out after {timeout:g} s",
        )
    except OSError as exc:
        took = time.monotonic() - start
        log.debug("%s: %s", args[0], exc)
        return CommandResult(args, None, b"", b"", took, error=f"{args[0]}: {exc.strerror or exc}")
    took = time.monotonic() - start
    log.debug("%s -> %s in %.2f s", " ".join(args), proc.returncode, took)
    return CommandResult(args, proc.returncode, proc.stdout, proc.stderr, took)
