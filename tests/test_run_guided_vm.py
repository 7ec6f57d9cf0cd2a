"""An attended ``weee run`` in the QEMU laptop, answered by virtual hands.

The run goes on a pseudo-terminal as root (its full screen and the guided checks share
it, as on the bench stick's tty1). A uinput keyboard types every key of the drawn layout
but "q", then Enter three times; a uinput clickpad is touched in every zone and clicked;
the colours, the cosmetic grade ("C") and the sleeve are answered on the terminal. The
signed record must hold the kernel-event verdicts, the typed grade, and the grade the
policy computes from them. One boot for the module (about 2 min under emulation).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from vm.bench import MARKER
from vm.harness import (
    REPO,
    ROOT_SERIAL,
    THINKPAD_X1_CARBON_5,
    Drive,
    boot_vm,
    count_marker,
    guest_or_skip,
    make_disk,
)
from vm.uinput import GUEST_PREAMBLE

from checks.health.keyboard import LAYOUTS, evdev_layout
from inventory.signing import verify_signed

pytestmark = [pytest.mark.vm, pytest.mark.slow]

LEFT_OUT = "q"

# Runs in the guest (Debian's python3, stdlib only).
TECHNICIAN = (
    GUEST_PREAMBLE
    + r"""
keyboard = device(b"weee test typist", range(1, 128), bus=BUS_I8042)
pad = device(b"weee test clickpad", [BTN_LEFT, BTN_TOOL_FINGER, BTN_TOUCH], {0: 1000, 1: 800},
             bus=BUS_I8042)
wait_for_nodes("weee test typist", "weee test clickpad")


def weee_run_on_a_pty(profile, err):
    pid, fd = pty.fork()
    if pid == 0:
        # a 120x40 terminal, as a laptop's console roughly is
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.environ["TERM"] = "linux"
        os.execvp("sh", ["sh", "-c", f"exec weee run --profile {profile} --lang en 2> {err}"])
    return pid, fd


def read_until(fd, seen, text=None, timeout=300):
    # what the program draws, until ``text`` is drawn (or, without text, until it ends)
    deadline = time.time() + timeout
    while (text is None or text not in seen) and time.time() < deadline:
        try:
            data = os.read(fd, 65536)
        except OSError:
            return
        if not data:
            return
        seen.extend(data)


# First a run whose technician does not type ERASE: nothing may be erased.
pid, fd = weee_run_on_a_pty("/out/refuse.toml", "/out/refused.err")
seen = bytearray()
read_until(fd, seen, b"Type ERASE to go on")
os.write(fd, b"no\r")
read_until(fd, seen)
_, status = os.waitpid(pid, 0)
marker = open("/out/marker.bin", "rb").read()
first_mib = {}
for drive in ("nvme", "sata"):
    # the drives by serial (sh found them: the SATA drive's sdX follows the boot stick's)
    with open(os.environ[drive.upper()], "rb") as f:
        first_mib[drive] = f.read(1 << 20).count(marker)
json.dump({"status": os.waitstatus_to_exitcode(status), "markers": first_mib,
           "screen": seen.decode("utf-8", "replace")}, open("/out/refused.json", "w"))

pid, master = weee_run_on_a_pty("/out/profile.toml", "/out/run.err")

screen = bytearray()
lock = threading.Lock()


def drain():
    # keep reading the screen, or weee blocks on a full pty
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            return
        if not data:
            return
        with lock:
            screen.extend(data)


threading.Thread(target=drain, daemon=True).start()
mark = 0


def wait_for(text, timeout=300):
    # the next time ``text`` is drawn after what was already answered
    global mark
    deadline = time.time() + timeout
    while time.time() < deadline:
        with lock:
            found = screen.find(text, mark)
        if found >= 0:
            mark = found + len(text)
            return
        time.sleep(0.05)
    raise SystemExit(f"never shown: {text!r}")


def answer(key):
    os.write(master, key)


wait_for(b"press every key once")
for code in codes:
    send(keyboard, (EV_KEY, code, 1))
    send(keyboard, (EV_KEY, code, 0))
for _ in range(3):
    send(keyboard, (EV_KEY, KEY_ENTER, 1))
    send(keyboard, (EV_KEY, KEY_ENTER, 0))
    time.sleep(0.1)
for colour in (b"red", b"green", b"blue", b"white", b"black"):
    wait_for(colour + b": even, no dead pixel? y/n")
    answer(b"y")
wait_for(b"Slide a finger")
for row in range(3):
    for col in range(3):
        x, y = col * 333 + 150, row * 266 + 130
        down = [(EV_KEY, BTN_TOUCH, 1), (EV_KEY, BTN_TOOL_FINGER, 1)]
        send(pad, (EV_ABS, 0, x), (EV_ABS, 1, y), *down)
        send(pad, (EV_KEY, BTN_TOUCH, 0), (EV_KEY, BTN_TOOL_FINGER, 0))
send(pad, (EV_KEY, BTN_LEFT, 1))
send(pad, (EV_KEY, BTN_LEFT, 0))
wait_for(b"Press A, B or C")
answer(b"c")
wait_for(b"Is the sleeve in the kit? y/n")
answer(b"y")
# the erasure asks the technician, listing what it is about to destroy
wait_for(b"Type ERASE to go on")
answer(b"ERASE\r")
_, status = os.waitpid(pid, 0)
open("/out/run.status", "w").write(str(os.waitstatus_to_exitcode(status)))
with lock:
    open("/out/screen.txt", "wb").write(bytes(screen))
fcntl.ioctl(keyboard, UI_DEV_DESTROY)
fcntl.ioctl(pad, UI_DEV_DESTROY)
"""
)

SCRIPT = """
modprobe -a uinput evdev
root_disk > /out/root-disk.txt
NVME=$(disk_by_serial WEEENVME0001) SATA=$(disk_by_serial WEEESATA0001) python3 /out/technician.py
"""


@pytest.fixture(scope="module")
def attended(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    guest = guest_or_skip()
    root = tmp_path_factory.mktemp("attended")
    share = root / "share"
    share.mkdir()
    rows = evdev_layout(LAYOUTS["us"])
    codes = [k.code for r in rows for k in r if k.label not in (LEFT_OUT, "Enter")]
    (share / "codes.json").write_text(json.dumps(codes))
    (share / "technician.py").write_text(TECHNICIAN)
    # the VM laptop's policy, with the guided checks required: their answers decide
    policy = (REPO / "tests" / "vm" / "laptop-policy.toml").read_text()
    assert "required = []" in policy
    required = 'required = ["keyboard", "screen", "touchpad"]'
    # and warnings alone (no battery, Wi-Fi, sound in QEMU) grade B at worst, so the
    # technician's "C" is what makes it C
    grade = "\n[grade]\ngrade_b_max_warnings = 100\n"
    (share / "policy.toml").write_text(policy.replace("required = []", required) + grade)
    (share / "marker.bin").write_bytes(MARKER)
    (share / "refuse.toml").write_text(
        '[run]\nsteps = ["probe", "checks", "erase", "record", "spool"]\n'
        '[policy]\nfile = "/out/policy.toml"\n'
        '[bench]\nname = "vm-bench"\ntechnician = "Alice"\n'
        '[paths]\ndata_dir = "/out/data-refused"\n'
        '[erase]\nconfirm = "type"\n'
    )
    (share / "profile.toml").write_text(
        '[run]\nsteps = ["probe", "checks", "guided", "erase", "record", "spool"]\n'
        '[policy]\nfile = "/out/policy.toml"\n'
        '[bench]\nname = "vm-bench"\ntechnician = "Alice"\n'
        '[paths]\ndata_dir = "/out/data"\n'
        '[erase]\nconfirm = "type"\n'
    )
    drives = [
        Drive("nvme", make_disk(root / "nvme.img", 64 << 20, marker=MARKER), "WEEENVME0001"),
        Drive("sata", make_disk(root / "sata.img", 64 << 20, marker=MARKER), "WEEESATA0001"),
    ]
    # a marker at every MiB and in the last sector: 65 on each drive before the run
    assert all(count_marker(root / f"{d}.img", MARKER) == 65 for d in ("nvme", "sata"))
    result = boot_vm(
        SCRIPT,
        guest=guest,
        share=share,
        drives=drives,
        smbios=THINKPAD_X1_CARBON_5,
        timeout=420,
    )
    assert result.exit_status == 0, result.summary()
    err = share / "run.err"
    status = share / "run.status"
    assert status.exists(), result.summary() + (err.read_text() if err.exists() else "")
    records = list((share / "data" / "spool" / "records").glob("*.json"))
    assert len(records) == 1, result.summary() + err.read_text()
    runs = list((share / "data" / "state" / "run" / "runs").iterdir())
    return {
        "status": int(status.read_text()),
        "signed": json.loads(records[0].read_text()),
        "run": json.loads((runs[0] / "run.json").read_text()),
        "screen": (share / "screen.txt").read_bytes().decode("utf-8", "replace"),
        "rows": rows,
        "markers": {d: count_marker(root / f"{d}.img", MARKER) for d in ("nvme", "sata")},
        "refused": json.loads((share / "refused.json").read_text()),
        "root_disk": (share / "root-disk.txt").read_text().strip(),
        "refused_run": json.loads(
            next((share / "data-refused" / "state" / "run" / "runs").iterdir())
            .joinpath("run.json")
            .read_text()
        ),
    }


def _checks(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in record["checks"]["checks"]}


def test_the_run_went_through_the_guided_step_on_its_terminal(attended: dict[str, Any]) -> None:
    # not certified (no image in this profile), which the exit status says
    assert attended["status"] == 1
    run = attended["run"]
    steps = ("probe", "checks", "guided", "erase", "record")
    assert [run["steps"][s]["status"] for s in steps] == ["done"] * 5
    assert run["steps"]["guided"]["summary"].startswith("grade C: ")
    # the full screen was drawn before the guided checks took the terminal, and again
    # once they gave it back
    screen = attended["screen"]
    title = "weee · refurbishment bench"
    assert title in screen[: screen.index("press every key once")]
    assert title in screen[screen.rindex("Is the sleeve in the kit?") :]


def test_the_record_holds_the_kernel_event_answers(attended: dict[str, Any]) -> None:
    record = verify_signed(attended["signed"]).record
    assert record["hardware"]["device"]["model"] == "ThinkPad X1 Carbon 5th"
    checks = _checks(record)
    keyboard = checks["keyboard"]
    assert keyboard["status"] == "fail"
    assert keyboard["evidence"]["mode"].startswith("kernel input events (/dev/input/event")
    assert keyboard["evidence"]["keys_missing"] == [LEFT_OUT]
    assert keyboard["evidence"]["keys_total"] == sum(len(r) for r in attended["rows"])
    touchpad = checks["touchpad"]
    assert touchpad["status"] == "pass", touchpad
    assert "weee test clickpad" in touchpad["evidence"]["mode"]
    assert checks["screen"]["status"] == "pass"
    assert checks["cosmetic"]["evidence"] == {"grade": "C"}
    assert record["kit"]["sleeve"] is True
    # what this laptop cannot do is skipped with the reason (no alsa-utils, no ffmpeg)
    for check_id, tool in (("speakers", "aplay"), ("microphone", "arecord")):
        assert checks[check_id]["status"] == "skip"
        assert checks[check_id]["summary"] == f"Skipped: {tool} is not installed."
    assert checks["webcam.view"]["status"] == "skip"


def test_the_grade_is_computed_with_the_answers(attended: dict[str, Any]) -> None:
    grade = verify_signed(attended["signed"]).record["checks"]["grade"]
    assert grade["cosmetic_grade"] == "C"
    assert grade["health_grade"] == "B"  # the warnings'
    assert grade["grade"] == "C"  # the worse of the two: the technician's
    assert grade["eligible"] is False
    assert grade["repairs"] == ["replace the keyboard"]
    assert grade["reasons"] == [
        f"1 of {sum(len(r) for r in attended['rows'])} keys did not answer: q."
    ]


def test_the_erasure_went_ahead_once_the_technician_typed_erase(
    attended: dict[str, Any],
) -> None:
    # the confirmation listed the laptop's two drives, and not the USB stick the guest
    # booted from
    screen = attended["screen"]
    # (what it leaves out, the guest's own root disk, comes after "Not erased:")
    listed = screen[screen.index("is about to ERASE") : screen.index("Not erased:")]
    assert "WEEENVME0001" in listed and "WEEESATA0001" in listed
    assert attended["root_disk"].startswith("/dev/sd"), attended["root_disk"]
    assert ROOT_SERIAL not in listed
    assert not re.search(re.escape(attended["root_disk"]) + r"\b", listed), listed
    record = verify_signed(attended["signed"]).record
    erasures = {e["media"]["serial"]: e for e in record["erasures"]}
    assert sorted(erasures) == ["WEEENVME0001", "WEEESATA0001"]
    assert all(e["status"] == "certified" for e in erasures.values())
    assert attended["markers"] == {"nvme": 0, "sata": 0}


def test_without_erase_typed_nothing_is_erased(attended: dict[str, Any]) -> None:
    refused = attended["refused"]
    assert "Type ERASE to go on" in refused["screen"]
    assert refused["status"] != 0
    erase = attended["refused_run"]["steps"]["erase"]
    assert erase["status"] == "failed"
    # the marker at the start of each drive was still there after that run
    assert refused["markers"] == {"nvme": 1, "sata": 1}
