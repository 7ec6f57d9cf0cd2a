"""Stage timings of the whole bench run in the VM (the run of tests/test_vm_bench.py).

    sudo .venv/bin/python benchmarks/bench_vm.py [--runs N]

Builds the guest if it is not cached (timed separately), boots the emulated ThinkPad
with its NVMe and SATA drives (128 MiB each, full of a donor marker), runs
``weee run --unattended`` against ``weee serve`` on the host, and prints how long each
stage took: boot, probe, checks, erasure, image, record, spool, sync, label, and the
whole boot-to-poweroff. Software emulation (TCG) on 2 cores: figures are for this kind
of machine, not for a laptop.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# tests/ gives the VM harness (weee's own packages come from the editable install)
sys.path.append(str(REPO / "tests"))

from vm.bench import DISK_BYTES, MARKER, RUN_SCRIPT, make_bench  # noqa: E402
from vm.harness import build_guest, count_marker, vm_unavailable_reason  # noqa: E402

STAGES = ("probe", "checks", "erase", "image", "record", "spool", "sync", "label")


def one_run(root: Path) -> dict[str, float]:
    guest = build_guest()
    bench = make_bench(root, guest)
    # the guest's uptime when the script starts = kernel boot + init + udev settle
    script = "echo weee-bench-uptime $(cut -d' ' -f1 /proc/uptime)\n" + RUN_SCRIPT
    with bench.server():
        bench.write_profile()
        result = bench.boot(script)
    if result.exit_status != 0:
        raise SystemExit(f"the bench run failed:\n{result.summary()}")
    summary = bench.summary()
    if count_marker(bench.nvme, MARKER) or count_marker(bench.sata, MARKER):
        raise SystemExit("a donor marker survived the run")
    timings = {"boot": 0.0}
    for line in result.console_log.splitlines():
        if line.startswith("weee-bench-uptime "):
            timings["boot"] = float(line.split()[1])
    for stage in STAGES:
        timings[stage] = float(summary["steps"][stage]["duration_s"] or 0.0)
    timings["total (QEMU start to poweroff)"] = result.duration_s
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    reason = vm_unavailable_reason()
    if reason:
        raise SystemExit(f"cannot run: {reason}")
    started = time.monotonic()
    guest = build_guest()
    print(f"guest {guest.directory.name}: ready in {time.monotonic() - started:.1f} s")
    print(f"drives: NVMe + SATA, {DISK_BYTES >> 20} MiB each; overwrite verify=full")
    runs = []
    for number in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="weee-bench-vm-") as tmp:
            runs.append(one_run(Path(tmp)))
        print(f"run {number + 1}/{args.runs} done")
    print(f"\n{'stage':34} {'median s':>9} {'min s':>7} {'max s':>7}")
    for stage in runs[0]:
        values = [r[stage] for r in runs]
        print(f"{stage:34} {statistics.median(values):9.1f} {min(values):7.1f} {max(values):7.1f}")


if __name__ == "__main__":
    main()
