"""Benchmark: `weee probe --json` live and on a capture, beside `lshw -json`.

Targets (issue 2): <= 1.0 s wall and <= 80 MB peak RSS on this machine, and <= 2x lshw.
Each command runs in a fresh process (the bench runs it that way), the three commands
interleaved round by round; the figures are the median and the minimum wall time of N
rounds, and the child's peak RSS (ru_maxrss, largest of the rounds).

    .venv/bin/python benchmarks/probe.py [--runs 9]
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


def run_once(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """(wall seconds, peak RSS in MB, CPU seconds incl. its tools) of one run of ``argv``."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    # os.wait4 gives this one child's rusage (RUSAGE_CHILDREN would mix all runs)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    weee = str(Path(sys.executable).with_name("weee"))
    with tempfile.TemporaryDirectory() as tmp:
        # An installed weee (Debian package, pip) runs from byte-compiled modules; this
        # sandbox sets PYTHONDONTWRITEBYTECODE, which makes every run recompile all of
        # them. The children get a bytecode cache in a temporary folder (the tree stays
        # clean) and one warm-up run fills it.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        capture = Path(tmp) / "capture"
        subprocess.run([weee, "capture", str(capture)], check=True, capture_output=True, env=env)
        commands = {
            "weee probe --json (live)": [weee, "probe", "--json"],
            "weee probe --json --from CAPTURE": [weee, "probe", "--json", "--from", str(capture)],
        }
        lshw = shutil.which("lshw")
        if lshw:
            commands["lshw -json"] = [lshw, "-json"]
        uncached = statistics.median(
            run_once(
                [weee, "probe", "--json"],
                {
                    **env,
                    "PYTHONDONTWRITEBYTECODE": "1",
                    "PYTHONPYCACHEPREFIX": str(Path(tmp) / "none"),
                },
            )[0]
            for _ in range(3)
        )
        walls: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        peaks: dict[str, float] = dict.fromkeys(commands, 0.0)
        # Interleaved rounds: on a shared 2-core machine the load changes from second to
        # second, and interleaving exposes every command to the same load.
        for _ in range(args.runs):
            for name, argv in commands.items():
                wall, rss, cpu = run_once(argv, env)
                walls[name].append(wall)
                cpus[name].append(cpu)
                peaks[name] = max(peaks[name], rss)
    # CPU seconds (user + system, the tools it ran included) hardly depend on what else
    # the shared machine is doing; wall time does.
    print(f"{'command':36} {'median s':>9} {'min s':>7} {'CPU s':>7} {'peak MB':>8}")
    for name in commands:
        print(
            f"{name:36} {statistics.median(walls[name]):9.3f} {min(walls[name]):7.3f}"
            f" {statistics.median(cpus[name]):7.3f} {peaks[name]:8.1f}"
        )
    live = "weee probe --json (live)"
    live_wall = statistics.median(walls[live])
    print(
        f"target live: wall <= 1.0 s: {'ok' if live_wall <= 1.0 else 'MISSED'};"
        f" peak <= 80 MB: {'ok' if peaks[live] <= 80 else 'MISSED'}"
    )
    if "lshw -json" in commands:
        ratio = live_wall / statistics.median(walls["lshw -json"])
        best = min(walls[live]) / min(walls["lshw -json"])
        cpu_ratio = statistics.median(cpus[live]) / statistics.median(cpus["lshw -json"])
        print(
            f"live probe / lshw: wall median {ratio:.2f}, best {best:.2f}, CPU {cpu_ratio:.2f}"
            f" (target <= 2): {'ok' if ratio <= 2 else 'MISSED'}"
        )
    print(f"for reference, live probe without any bytecode cache: {uncached:.3f} s (median of 3)")
    load = os.getloadavg()[0]
    print(
        f"as root: {os.geteuid() == 0}; rounds: {args.runs}; cpus: {os.cpu_count()};"
        f" load average {load:.2f}; self rss"
        f" {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
