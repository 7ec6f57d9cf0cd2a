"""Benchmark: `weee probe --json` live and on a capture, beside `lshw -json`.

Targets (issue 2): <= 1.0 s wall and <= 80 MB peak RSS on this machine, and <= 2x lshw.
Each command runs in a fresh process (the bench runs it that way); the figure is the
median of N runs, peak RSS is the child's ru_maxrss (the largest of the runs).

    .venv/bin/python benchmarks/probe.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def measure(argv: list[str], runs: int) -> tuple[float, float]:
    """(median wall seconds, peak RSS in MB) of ``argv`` run ``runs`` times."""
    walls: list[float] = []
    peak_kb = 0
    for _ in range(runs):
        start = time.perf_counter()
        # os.wait4 gives this one child's rusage (RUSAGE_CHILDREN would mix all runs)
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - start)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}")
        peak_kb = max(peak_kb, usage.ru_maxrss)
    return statistics.median(walls), peak_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    weee = str(Path(sys.executable).with_name("weee"))
    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        capture = Path(tmp) / "capture"
        subprocess.run([weee, "capture", str(capture)], check=True, capture_output=True)
        rows.append(("weee probe --json (live)", *measure([weee, "probe", "--json"], args.runs)))
        rows.append(
            (
                "weee probe --json --from CAPTURE",
                *measure([weee, "probe", "--json", "--from", str(capture)], args.runs),
            )
        )
    lshw = shutil.which("lshw")
    if lshw:
        rows.append(("lshw -json", *measure([lshw, "-json"], args.runs)))
    print(f"{'command':40} {'wall s':>8} {'peak MB':>8}")
    for name, wall, rss in rows:
        print(f"{name:40} {wall:8.3f} {rss:8.1f}")
    live_wall, live_rss = rows[0][1], rows[0][2]
    print(
        f"target live: wall <= 1.0 s: {'ok' if live_wall <= 1.0 else 'MISSED'};"
        f" peak <= 80 MB: {'ok' if live_rss <= 80 else 'MISSED'}"
    )
    if lshw:
        ratio = live_wall / rows[-1][1]
        print(
            f"live probe / lshw wall ratio: {ratio:.2f} (target <= 2): "
            f"{'ok' if ratio <= 2 else 'MISSED'}"
        )
    print(
        f"as root: {os.geteuid() == 0}; runs: {args.runs}; cpus: {os.cpu_count()};"
        f" self rss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
