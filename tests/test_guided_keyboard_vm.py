"""The keyboard check on a real kernel: in the QEMU laptop, a virtual keyboard made with
uinput types every key but three, while ``weee check --only keyboard`` runs as root on a
pseudo-terminal; the check reads the kernel's input events and lists the three."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from vm.harness import THINKPAD_X1_CARBON_5, boot_vm, guest_or_skip

from checks.health.keyboard import LAYOUTS, evdev_layout

pytestmark = [pytest.mark.vm, pytest.mark.slow]

SKIPPED = ("RShift", "Caps", "q")

# Runs in the guest (Debian's python3, stdlib only).
TYPIST = r"""
import fcntl, json, os, pty, struct, sys, threading, time

codes = json.load(open("/out/codes.json"))
EV_SYN, EV_KEY = 0, 1
UI_SET_EVBIT, UI_SET_KEYBIT, UI_DEV_CREATE, UI_DEV_DESTROY = 0x40045564, 0x40045565, 0x5501, 0x5502

ui = os.open("/dev/uinput", os.O_WRONLY | os.O_NONBLOCK)
fcntl.ioctl(ui, UI_SET_EVBIT, EV_KEY)
for code in range(1, 128):
    fcntl.ioctl(ui, UI_SET_KEYBIT, code)
# struct uinput_user_dev: name[80], input_id (4 x u16), ff_effects_max, 4 x 64 absinfo
header = struct.pack("80sHHHHi", b"weee test typist", 3, 0x1234, 0x5678, 1, 0)
os.write(ui, header + bytes(4 * 64 * 4))
fcntl.ioctl(ui, UI_DEV_CREATE)
time.sleep(1.0)  # let devtmpfs make /dev/input/eventN

def press(code):
    for value in (1, 0):
        os.write(ui, struct.pack("llHHi", 0, 0, EV_KEY, code, value))
        os.write(ui, struct.pack("llHHi", 0, 0, EV_SYN, 0, 0))
        time.sleep(0.01)

pid, master = pty.fork()
if pid == 0:
    os.execvp("sh", ["sh", "-c",
        "weee check --only keyboard --json --lang en --layout us > /out/kb.json 2> /out/kb.err"])
screen = []

def drain():
    # keep reading the screen, or weee blocks on a full pty and the kernel drops events
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            return
        if not data:
            return
        screen.append(data)

reader = threading.Thread(target=drain, daemon=True)
reader.start()
deadline = time.time() + 120
while b"press every key once" not in b"".join(screen) and time.time() < deadline:
    time.sleep(0.05)
for code in codes:
    press(code)
for _ in range(3):
    press(28)  # Enter
    time.sleep(0.1)
_, status = os.waitpid(pid, 0)
fcntl.ioctl(ui, UI_DEV_DESTROY)
print("typist done, weee status", status)
"""

SCRIPT = """
modprobe -a uinput evdev
python3 /out/typist.py
"""


def test_keyboard_check_reads_the_kernels_key_events(tmp_path: Path) -> None:
    guest = guest_or_skip()
    share = tmp_path / "share"
    share.mkdir()
    rows = evdev_layout(LAYOUTS["us"])
    codes = [k.code for r in rows for k in r if k.label not in SKIPPED and k.label != "Enter"]
    (share / "codes.json").write_text(json.dumps(codes))
    (share / "typist.py").write_text(TYPIST)
    result = boot_vm(SCRIPT, guest=guest, share=share, smbios=THINKPAD_X1_CARBON_5, timeout=300)
    assert result.exit_status == 0, result.summary()
    out = share / "kb.json"
    assert out.exists() and out.read_text(), result.summary() + (share / "kb.err").read_text()
    doc = json.loads(out.read_text())
    [kb] = doc["checks"]
    assert kb["evidence"]["mode"].startswith("kernel input events (/dev/input/event")
    # every drawn key but the three the typist left out answered
    assert kb["evidence"]["keys_missing"] == ["q", "Caps", "RShift"]
    assert kb["status"] == "fail"
    assert kb["evidence"]["keys_total"] == sum(len(r) for r in rows)
