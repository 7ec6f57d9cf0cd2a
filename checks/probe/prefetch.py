"""Start the probe's external tools before the parsers are even imported.

On a bench the probe's wall time is Python's start-up plus the slowest tool; starting
lsblk, dmidecode, lspci and lsusb first lets them run (in their own processes) while
Python imports and reads sysfs. :class:`PrefetchSource` hands the readers the
prefetched output when they ask for the same key, so each tool still runs once and
captures record exactly what the report was built from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from checks.probe.tools import SKIP_DISK_PREFIXES, smartctl_argv, smartctl_key
from checks.source import Output, Source
from checks.system import DEFAULT_TIMEOUT

# key -> argv: the commands every probe runs, whatever the machine
EARLY_COMMANDS: dict[str, list[str]] = {
    "cmd/lsblk.json": ["lsblk", "--json", "--bytes", "--output-all"],
    "cmd/dmidecode.txt": ["dmidecode"],
    "cmd/lspci.txt": ["lspci", "-vmm", "-nn"],
    "cmd/lsusb.txt": ["lsusb"],
}


class PrefetchSource(Source):
    """Delegates to ``inner``; commands listed in EARLY_COMMANDS start at once."""

    def __init__(self, inner: Source, pool: ThreadPoolExecutor) -> None:
        super().__init__()
        self.inner = inner
        self.live = inner.live
        self.gaps = inner.gaps  # one list: gaps noted through either object are kept
        self._futures: dict[str, Future[Output | None]] = {}
        if inner.live:
            for key, argv in EARLY_COMMANDS.items():
                self._futures[key] = pool.submit(inner.command, key, argv)
            # smartctl is the slowest tool on a laptop with a spinning disk: it starts
            # now for every whole disk the kernel lists, not after lsblk has answered.
            # A disk lsblk does not list is never asked for, and its output never used.
            for name in inner.listdir("sys/block"):
                if not name.startswith(SKIP_DISK_PREFIXES):
                    key = smartctl_key(name)
                    self._futures[key] = pool.submit(inner.command, key, smartctl_argv(name))

    def read(self, key: str) -> bytes | None:
        return self.inner.read(key)

    def listdir(self, key: str) -> list[str]:
        return self.inner.listdir(key)

    def command(
        self, key: str, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT
    ) -> Output | None:
        future = self._futures.pop(key, None)
        if future is not None:
            return future.result()
        return self.inner.command(key, argv, timeout=timeout)

    def produce(self, key: str, producer: Callable[[], bytes | None]) -> bytes | None:
        return self.inner.produce(key, producer)
