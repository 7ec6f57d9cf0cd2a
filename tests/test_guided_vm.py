"""The keyboard and touchpad checks on a real kernel: in the QEMU laptop, devices made
with uinput act as the technician while ``weee check`` runs as root on a pseudo-terminal
(no X, no gpm: as on the bench stick). A virtual keyboard types every key but three; a
virtual clickpad is touched in every zone and clicked. One boot for the module."""

from __future__ import annotations

import json
from typing import Any

import pytest
from vm.harness import THINKPAD_X1_CARBON_5, boot_vm, guest_or_skip
from vm.uinput import GUEST_PREAMBLE

from checks.health.keyboard import LAYOUTS, evdev_layout

pytestmark = [pytest.mark.vm, pytest.mark.slow]

SKIPPED = ("RShift", "Caps", "q")

# Runs in the guest (Debian's python3, stdlib only).
TYPIST = (
    GUEST_PREAMBLE
    + r"""
keyboard = device(b"weee test typist", range(1, 128))
pad = device(b"weee test clickpad", [BTN_LEFT, BTN_TOOL_FINGER, BTN_TOUCH], {0: 1000, 1: 800})
wait_for_nodes("weee test typist", "weee test clickpad")


def run_weee(only, out, act):
    pid, master = pty.fork()
    if pid == 0:
        os.execvp("sh", ["sh", "-c",
            f"weee check --only {only} --json --lang en --layout us > {out} 2> {out}.err"])
    screen = []

    def drain():
        # keep reading the screen, or weee blocks on a full pty and events are dropped
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            screen.append(data)

    threading.Thread(target=drain, daemon=True).start()
    act(lambda text: b"".join(screen).find(text) >= 0)
    _, status = os.waitpid(pid, 0)
    print(only, "weee status", status)


def wait_for(seen, text):
    deadline = time.time() + 120
    while not seen(text):
        if time.time() > deadline:
            sys.exit(f"{text!r} never shown")  # rather than type to nobody until timeout
        time.sleep(0.05)


def type_keys(seen):
    wait_for(seen, b"press every key once")
    for code in codes:
        send(keyboard, (EV_KEY, code, 1))
        send(keyboard, (EV_KEY, code, 0))
    for _ in range(3):
        send(keyboard, (EV_KEY, 28, 1))
        send(keyboard, (EV_KEY, 28, 0))
        time.sleep(0.1)


def use_pad(seen):
    wait_for(seen, b"Slide a finger")
    for row in range(3):
        for col in range(3):
            x, y = col * 333 + 150, row * 266 + 130
            down = [(EV_KEY, BTN_TOUCH, 1), (EV_KEY, BTN_TOOL_FINGER, 1)]
            send(pad, (EV_ABS, 0, x), (EV_ABS, 1, y), *down)
            send(pad, (EV_KEY, BTN_TOUCH, 0), (EV_KEY, BTN_TOOL_FINGER, 0))
    send(pad, (EV_KEY, BTN_LEFT, 1))
    send(pad, (EV_KEY, BTN_LEFT, 0))


run_weee("keyboard", "/out/kb.json", type_keys)
run_weee("touchpad", "/out/tp.json", use_pad)
fcntl.ioctl(keyboard, UI_DEV_DESTROY)
fcntl.ioctl(pad, UI_DEV_DESTROY)
"""
)

SCRIPT = """
modprobe -a uinput evdev
python3 /out/typist.py
"""


@pytest.fixture(scope="module")
def guided(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    guest = guest_or_skip()
    share = tmp_path_factory.mktemp("share")
    rows = evdev_layout(LAYOUTS["us"])
    codes = [k.code for r in rows for k in r if k.label not in SKIPPED and k.label != "Enter"]
    (share / "codes.json").write_text(json.dumps(codes))
    (share / "typist.py").write_text(TYPIST)
    result = boot_vm(SCRIPT, guest=guest, share=share, smbios=THINKPAD_X1_CARBON_5, timeout=300)
    assert result.exit_status == 0, result.summary()
    docs: dict[str, Any] = {"rows": rows}
    for name in ("kb", "tp"):
        out = share / f"{name}.json"
        err = share / f"{name}.json.err"
        assert out.exists() and out.read_text(), result.summary() + (
            err.read_text() if err.exists() else ""
        )
        [docs[name]] = json.loads(out.read_text())["checks"]
    return docs


def test_keyboard_check_reads_the_kernels_key_events(guided: dict[str, Any]) -> None:
    kb = guided["kb"]
    assert kb["evidence"]["mode"].startswith("kernel input events (/dev/input/event")
    # every drawn key but the three the typist left out answered
    assert kb["evidence"]["keys_missing"] == ["q", "Caps", "RShift"]
    assert kb["status"] == "fail"
    assert kb["evidence"]["keys_total"] == sum(len(r) for r in guided["rows"])


def test_touchpad_check_reads_the_pads_own_events(guided: dict[str, Any]) -> None:
    tp = guided["tp"]
    assert tp["status"] == "pass", tp
    assert tp["evidence"]["mode"].startswith("touchpad events (/dev/input/event")
    assert "weee test clickpad" in tp["evidence"]["mode"]
    # a clickpad has one physical button: that is the one required
    assert tp["evidence"]["buttons_required"] == ["left"]
    assert tp["evidence"]["zones_seen"] == 9
