"""Benchmark: ``weee image`` against ``bmaptool copy`` on the same loop device.

A 1 GiB GPT disk image, one ext4 partition about 40 % full (half incompressible data,
half text-like data, as an OS image holds both), compressed with zstd, with its bmap.
Each tool writes it onto the same loop device in the same run (the device is discarded
to zeros before each write, the page cache dropped); each result is checked by a sha256
of the whole device, which must equal the image's. The target: weee <= 0.8x bmaptool's
time. Needs root (losetup), bmaptool, sgdisk, mke2fs, zstd.

    .venv/bin/python benchmarks/image.py [--rounds 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.image.bmap import parse_bmap
from checks.system import run_command

IMAGE_SIZE = 1 << 30
FILL = 0.40
PART_START = 2048  # sectors


def must(argv: list[str], timeout: float = 600.0) -> str:
    result = run_command(argv, timeout=timeout)
    if not result.ok:
        raise SystemExit(f"{' '.join(argv)} failed: {result.error or result.stderr_text.strip()}")
    return result.text


def build_image(work: Path) -> Path:
    """GPT + ext4 filled to ~40 %: files of random bytes and of word salad."""
    tree = work / "tree"
    tree.mkdir()
    rng = random.Random(1)
    words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
             for _ in range(5000)]  # fmt: skip
    target = int(IMAGE_SIZE * FILL)
    written = 0
    index = 0
    while written < target:
        size = min(rng.randint(64 << 10, 24 << 20), target - written)
        path = tree / f"d{index % 16}" / f"f{index}.bin"
        path.parent.mkdir(exist_ok=True)
        if index % 2:
            data = os.urandom(size)
        else:
            text = b" ".join(rng.choice(words) for _ in range(4096)) + b"\n"
            data = (text * (size // len(text) + 1))[:size]
        path.write_bytes(data)
        written += size
        index += 1
    image = work / "os.img"
    with open(image, "wb") as handle:
        handle.truncate(IMAGE_SIZE)
    must(["sgdisk", "-n", f"1:{PART_START}:0", "-t", "1:8300", "-c", "1:root", str(image)])
    last = int(must(["sgdisk", "-i", "1", str(image)]).split("Last sector: ")[1].split()[0])
    blocks = (last - PART_START + 1) * 512 // 4096
    offset = f"offset={PART_START * 512}"
    must(["mke2fs", "-q", "-t", "ext4", "-b", "4096", "-d", str(tree), "-E", offset,
          str(image), str(blocks)])  # fmt: skip
    shutil.rmtree(tree)
    return image


def sha256_of(path: str | Path, length: int | None = None) -> str:
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        remaining = length
        while remaining is None or remaining > 0:
            chunk = handle.read(8 << 20 if remaining is None else min(8 << 20, remaining))
            if not chunk:
                break
            digest.update(chunk)
            if remaining is not None:
                remaining -= len(chunk)
    return digest.hexdigest()


def drop_caches() -> None:
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as handle:
        handle.write("3\n")


def reset_device(device: str) -> None:
    must(["blkdiscard", "--force", device])  # loop: punches the backing file back to zeros
    drop_caches()


def device_io(device: str) -> tuple[int, int]:
    """(bytes read, bytes written) so far on the device, from /sys/block/NAME/stat."""
    fields = Path(f"/sys/block/{Path(device).name}/stat").read_text().split()
    return int(fields[2]) * 512, int(fields[6]) * 512  # always 512-byte sectors


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall time, and CPU time (user + system, the tool and its children: bmaptool runs
    zstd as a child) which the other load on a shared machine disturbs less."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    must(argv, timeout=1800)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="reuse/keep the built image in this folder")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (loop devices)", file=sys.stderr)
        return 5
    weee = str(Path(sys.executable).with_name("weee"))
    work = args.keep or Path(tempfile.mkdtemp(prefix="weee-bench-image-"))
    work.mkdir(parents=True, exist_ok=True)
    device = None
    try:
        image = work / "os.img"
        if not (work / "os.img.zst").exists():
            print("building a 1 GiB image, ~40 % full ...", file=sys.stderr)
            image = build_image(work)
            must(["bmaptool", "create", str(image), "-o", str(work / "os.img.bmap")])
            must(["zstd", "-q", "-f", "-T0", "-3", str(image), "-o", str(work / "os.img.zst")])
        expected = sha256_of(image)
        backing = work / "disk.raw"
        with open(backing, "wb") as handle:
            handle.truncate(IMAGE_SIZE)
        device = must(["losetup", "--find", "--show", "--direct-io=on", str(backing)]).strip()
        source = str(work / "os.img.zst")
        bmap = str(work / "os.img.bmap")
        mapped = parse_bmap(Path(bmap).read_bytes()).mapped_bytes
        print(f"image: 1 GiB, {mapped / 1e6:.0f} MB mapped, "
              f"{os.path.getsize(source) / 1e6:.0f} MB compressed; device {device}")  # fmt: skip
        times: dict[str, list[float]] = {"bmaptool": [], "weee": []}
        cpus: dict[str, list[float]] = {"bmaptool": [], "weee": []}
        commands = {
            "bmaptool": ["bmaptool", "-q", "copy", "--bmap", bmap, source, device],
            "weee": [weee, "image", "--bmap", bmap, "--yes", source, device],
        }
        load_before = os.getloadavg()
        for round_number in range(args.rounds):
            for name in ("bmaptool", "weee") if round_number % 2 == 0 else ("weee", "bmaptool"):
                reset_device(device)
                io_before = device_io(device)
                took, cpu = timed(commands[name])
                read, written = (b - a for a, b in zip(io_before, device_io(device), strict=True))
                drop_caches()
                ok = sha256_of(device, IMAGE_SIZE) == expected
                print(f"round {round_number + 1}: {name:8s} {took:6.2f} s  cpu {cpu:5.2f} s  "
                      f"device read {read / 1e6:4.0f} MB written {written / 1e6:4.0f} MB  "
                      f"load {os.getloadavg()[0]:.1f}  "
                      f"device sha256 {'matches' if ok else 'DIFFERS'}")  # fmt: skip
                if not ok:
                    return 1
                times[name].append(took)
                cpus[name].append(cpu)
        best = {name: min(values) for name, values in times.items()}
        median = {name: statistics.median(values) for name, values in times.items()}
        print(f"bmaptool copy: best {best['bmaptool']:.2f} s, median {median['bmaptool']:.2f} s")
        print(f"weee image:    best {best['weee']:.2f} s, median {median['weee']:.2f} s "
              f"(writes, and reads back and verifies every mapped range, overlapped)")  # fmt: skip
        cpu_median = {name: statistics.median(values) for name, values in cpus.items()}
        print(f"cpu (median): bmaptool {cpu_median['bmaptool']:.2f} s, "
              f"weee {cpu_median['weee']:.2f} s")  # fmt: skip
        print(f"load average (1 min) before the rounds {load_before[0]:.1f}, after "
              f"{os.getloadavg()[0]:.1f}, on {os.cpu_count()} cpus")  # fmt: skip
        # Each round runs both tools back to back: their ratio within a round suffers
        # less from the load of a shared machine drifting than the two medians do.
        paired = [w / b for w, b in zip(times["weee"], times["bmaptool"], strict=True)]
        print(f"per-round weee/bmaptool: {' '.join(f'{r:.2f}' for r in paired)}, "
              f"median {statistics.median(paired):.2f}, worst {max(paired):.2f}")  # fmt: skip
        ratio = median["weee"] / median["bmaptool"]
        verdict = "MET" if ratio <= 0.8 else "NOT MET"
        print(f"weee / bmaptool = {ratio:.2f} (target <= 0.80): {verdict}")
        return 0
    finally:
        if device:
            run_command(["losetup", "-d", device])
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
