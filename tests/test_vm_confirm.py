"""The erasure's confirmation in the QEMU laptop, run the way the bench stick runs it.

The stick's own launcher (``scripts/live/weee-bench``, the file ``build-live-image``
installs as ``/usr/local/sbin/weee-bench``) runs on a pseudo-terminal as root, as on
tty1: ``weee run --profile <data>/profile.toml --screen full`` and nothing else (no
``--yes``). Each run has its own data folder (``WEEE_DATA_DIR``, as the stick's service
sets it) with a profile of one ``erase.confirm`` mode, ``run.unattended = true`` (no
guided checks: the erasure is still confirmed). Keys are typed on the terminal.

One boot for five runs: ``type`` with a wrong word, then with ERASE; ``countdown`` (30 s)
stopped by a key, then (3 s) left to run out; ``none``, whose profile also names the
USB drive without ``allow_usb``. The laptop has an NVMe and a SATA drive and a USB
drive, each found by its serial (never by a fixed /dev name); donor markers are written
at every MiB and in the last sector before each run and counted after it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from vm.bench import MARKER
from vm.harness import REPO, THINKPAD_X1_CARBON_5, Drive, boot_vm, guest_or_skip, make_disk

pytestmark = [pytest.mark.vm, pytest.mark.slow]

SERIALS = {"nvme": "WEEENVME0001", "sata": "WEEESATA0001", "usb": "WEEEUSB00001"}

# Runs in the guest (Debian's python3, stdlib only).
GUEST = r"""
import fcntl, json, os, pty, select, signal, struct, subprocess, termios, time

MARKER = open("/out/marker.bin", "rb").read()
SERIALS = json.load(open("/out/serials.json"))
disks = json.loads(subprocess.run(["lsblk", "-J", "-d", "-o", "PATH,SERIAL"],
                                  capture_output=True, text=True, check=True).stdout)
PATHS = {kind: next(d["path"] for d in disks["blockdevices"] if d["serial"] == serial)
         for kind, serial in SERIALS.items()}
LAUNCHER = "/weee/scripts/live/weee-bench"


def mark():
    # the donor's data: a marker at every MiB and in the last sector of each drive
    for path in PATHS.values():
        fd = os.open(path, os.O_RDWR)
        size = os.lseek(fd, 0, os.SEEK_END)
        for offset in range(0, size, 1 << 20):
            os.pwrite(fd, MARKER, offset)
        os.pwrite(fd, MARKER, size - 512)  # the marker is shorter than a sector
        os.fsync(fd)
        os.close(fd)
    subprocess.run(["blockdev", "--flushbufs", *PATHS.values()], check=False)


def count():
    counts = {}
    for kind, path in PATHS.items():
        subprocess.run(["blockdev", "--flushbufs", path], check=False)
        with open(path, "rb") as f:
            data = f.read()
        counts[kind] = data.count(MARKER)
    return counts


def launcher_on_a_pty(name):
    # as weee-bench.service starts it on tty1: TERM=linux, LANG=C.UTF-8, WEEE_DATA_DIR
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.environ.update(TERM="linux", LANG="C.UTF-8", WEEE_DATA_DIR=f"/out/{name}")
        os.execvp("sh", ["sh", "-c", f"exec {LAUNCHER} 2> /out/{name}.err"])
    return pid, fd


def read_until(fd, seen, text, timeout=400):
    deadline = time.time() + timeout
    while text not in seen and time.time() < deadline:
        if not select.select([fd], [], [], 5)[0]:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:
            return False
        if not data:
            return False
        seen.extend(data)
    return text in seen


def run(name, keys=()):
    # keys: (text to wait for, bytes to type) in order
    mark()
    before = count()
    pid, fd = launcher_on_a_pty(name)
    seen = bytearray()
    shown = []
    for text, typed in keys:
        shown.append(read_until(fd, seen, text))
        time.sleep(0.3)
        os.write(fd, typed)
    ended = read_until(fd, seen, b"Enter: power off")
    # the launcher now waits for Enter to power the machine off: stopped instead
    os.killpg(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    os.close(fd)
    json.dump({"before": before, "after": count(), "shown": shown, "ended": ended,
               "paths": PATHS, "screen": seen.decode("utf-8", "replace")},
              open(f"/out/{name}.json", "w"))


run("type-wrong", [(b"Type ERASE to go on", b"erase\r")])
run("type-erase", [(b"Type ERASE to go on", b"ERASE\r")])
run("countdown-key", [(b"press any key to stop", b" ")])
run("countdown-out")
# the drives named by path (the guest knows them by serial), the USB one among them
head = open("/out/none.head").read()
open("/out/none/profile.toml", "w").write(f"{head}drives = {json.dumps(list(PATHS.values()))}\n")
run("none")
"""

PROFILE = """[run]
steps = ["probe", "checks", "erase", "record", "spool"]
unattended = true
lang = "en"
[policy]
file = "/out/policy.toml"
[bench]
name = "vm-bench"
technician = "Alice"
[erase]
"""

RUNS = {
    "type-wrong": 'confirm = "type"\n',
    "type-erase": 'confirm = "type"\n',
    "countdown-key": 'confirm = "countdown"\ncountdown_s = 30\n',
    "countdown-out": 'confirm = "countdown"\ncountdown_s = 3\n',
    # + drives = [the three, by path]: the guest writes it (see the fixture)
    "none": 'confirm = "none"\n',
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    guest = guest_or_skip()
    root = tmp_path_factory.mktemp("confirm")
    share = root / "share"
    share.mkdir()
    (share / "marker.bin").write_bytes(MARKER)
    (share / "serials.json").write_text(json.dumps(SERIALS))
    (share / "policy.toml").write_text((REPO / "tests" / "vm" / "laptop-policy.toml").read_text())
    for name, erase in RUNS.items():
        (share / name).mkdir()
        if name != "none":
            (share / name / "profile.toml").write_text(PROFILE + erase)
    drives = [
        Drive(kind, make_disk(root / f"{kind}.img", 32 << 20), serial)
        for kind, serial in SERIALS.items()
    ]
    script = "python3 /out/guest.py\n"
    (share / "none.head").write_text(PROFILE + RUNS["none"])
    (share / "guest.py").write_text(GUEST)
    result = boot_vm(
        script,
        guest=guest,
        share=share,
        drives=drives,
        smbios=THINKPAD_X1_CARBON_5,
        timeout=1500,
    )
    assert result.exit_status == 0, result.summary()
    out: dict[str, dict[str, Any]] = {}
    for name in RUNS:
        doc = json.loads((share / f"{name}.json").read_text())
        doc["err"] = (share / f"{name}.err").read_text()
        runs_dir = share / name / "state" / "run" / "runs"
        [run_dir] = list(runs_dir.iterdir())
        doc["run"] = json.loads((run_dir / "run.json").read_text())
        doc["erase"] = json.loads((run_dir / "erase.json").read_text())
        records = list((share / name / "spool" / "records").glob("*.json"))
        doc["record"] = json.loads(records[0].read_text())["record"] if records else None
        out[name] = doc
    return out


def _listed(screen: str) -> str:
    """The confirmation screen: from its title to its question or countdown."""
    start = screen.index("is about to ERASE")
    ends = [screen.find(w, start) for w in ("Type ERASE to go on", "press any key to stop")]
    return screen[start : min(e for e in ends if e > 0)]


def _erased(doc: dict[str, Any]) -> list[str]:
    return sorted(
        e["media"]["serial"] for e in doc["erase"]["erasures"] if e["status"] == "certified"
    )


def test_the_launcher_passes_nothing_that_decides_for_the_technician() -> None:
    launcher = (REPO / "scripts" / "live" / "weee-bench").read_text()
    commands = [line.strip() for line in launcher.splitlines() if line.strip().startswith("weee ")]
    assert commands == [
        'weee run --profile "$profile" --screen full',
        "weee run --screen full",
    ]
    build = (REPO / "scripts" / "build-live-image").read_text()
    assert '"$repo/scripts/live/weee-bench" "$rootfs/usr/local/sbin/weee-bench"' in build


@pytest.mark.parametrize("name", ["type-wrong", "type-erase", "countdown-key", "countdown-out"])
def test_the_screen_lists_every_drive_and_what_is_left_out(
    runs: dict[str, dict[str, Any]], name: str
) -> None:
    doc = runs[name]
    assert all(doc["shown"]) and doc["ended"], doc["screen"][-3000:] + doc["err"]
    listed = _listed(doc["screen"])
    for serial in (SERIALS["nvme"], SERIALS["sata"]):
        assert serial in listed
    assert "0.0 GB" in listed  # 32 MiB drives
    # the USB drive is not erased, and the screen says why
    assert "Not erased:" in listed and "a USB drive or removable medium" in listed


def test_type_a_wrong_word_erases_nothing(runs: dict[str, dict[str, Any]]) -> None:
    doc = runs["type-wrong"]
    assert doc["after"] == doc["before"] == {"nvme": 33, "sata": 33, "usb": 33}
    erase = doc["run"]["steps"]["erase"]
    assert erase["status"] == "failed"
    assert erase["summary"] == "not confirmed: 'erase' typed instead of ERASE; nothing erased"
    assert doc["erase"]["confirmation"]["mode"] == "type"
    assert doc["erase"]["confirmation"]["by"] == "typed"
    assert doc["erase"]["confirmation"]["typed"] == "erase"
    assert doc["erase"]["confirmation"]["confirmed"] is False
    assert doc["record"]["erasures"] == [] and doc["record"]["certified"] is False


def test_type_erase_erases_the_laptops_drives(runs: dict[str, dict[str, Any]]) -> None:
    doc = runs["type-erase"]
    assert doc["after"] == {"nvme": 0, "sata": 0, "usb": 33}
    assert doc["run"]["steps"]["erase"]["status"] == "done"
    assert _erased(doc) == [SERIALS["nvme"], SERIALS["sata"]]
    confirmation = doc["erase"]["confirmation"]
    assert (confirmation["mode"], confirmation["by"], confirmation["typed"]) == (
        "type",
        "typed",
        "ERASE",
    )
    assert confirmation["confirmed"] is True


def test_countdown_a_key_stops_it_and_nothing_is_erased(runs: dict[str, dict[str, Any]]) -> None:
    doc = runs["countdown-key"]
    assert doc["after"] == doc["before"]
    erase = doc["run"]["steps"]["erase"]
    assert erase["status"] == "failed"
    assert erase["summary"].startswith("not confirmed: a key stopped the countdown ")
    confirmation = doc["erase"]["confirmation"]
    assert (confirmation["mode"], confirmation["by"], confirmation["confirmed"]) == (
        "countdown",
        "key",
        False,
    )
    assert 0 < confirmation["left_s"] <= 30


def test_countdown_run_out_erases(runs: dict[str, dict[str, Any]]) -> None:
    doc = runs["countdown-out"]
    assert "Erasing in 3 s" in doc["screen"] and "Erasing in 1 s" in doc["screen"]
    assert doc["after"] == {"nvme": 0, "sata": 0, "usb": 33}
    assert _erased(doc) == [SERIALS["nvme"], SERIALS["sata"]]
    confirmation = doc["erase"]["confirmation"]
    assert (confirmation["by"], confirmation["seconds"], confirmation["confirmed"]) == (
        "countdown",
        3,
        True,
    )


def test_none_erases_without_a_question_but_not_a_named_usb_drive(
    runs: dict[str, dict[str, Any]],
) -> None:
    doc = runs["none"]
    screen = doc["screen"]
    assert "Type ERASE" not in screen and "press any key" not in screen
    assert "no confirmation: the bench profile chose so" in screen
    assert doc["erase"]["confirmation"] == {
        "mode": "none",
        "confirmed": True,
        "by": "profile",
        "at": doc["erase"]["confirmation"]["at"],
    }
    # the NVMe and SATA drives erased; the USB drive, named but not allowed, refused
    assert doc["after"] == {"nvme": 0, "sata": 0, "usb": 33}
    by_serial = {e["media"]["serial"]: e["status"] for e in doc["erase"]["erasures"]}
    assert by_serial == {
        SERIALS["nvme"]: "certified",
        SERIALS["sata"]: "certified",
        SERIALS["usb"]: "refused",
    }


def test_the_runs_were_started_without_yes(runs: dict[str, dict[str, Any]]) -> None:
    # what the launcher started, seen by the guest: no command-line confirmation
    for doc in runs.values():
        assert doc["erase"].get("confirmation", {}).get("by") != "command-line"
    assert Path(REPO / "scripts" / "live" / "weee-bench").stat().st_mode & 0o111
