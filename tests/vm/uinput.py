"""A technician's hands inside the QEMU laptop: virtual input devices made with uinput.

``GUEST_PREAMBLE`` is Python source that runs in the guest (Debian's python3, stdlib
only), put before a test's own script: it defines ``device()`` (a uinput keyboard or
clickpad), ``send()`` (events then a SYN) and ``wait_for_nodes()`` (until devtmpfs has
made their ``/dev/input/eventN``: it does so in its own time after UI_DEV_CREATE, and a
fixed sleep may not be enough in a guest on a loaded host), and then reads the key
codes the host wrote to ``/out/codes.json``.
"""

GUEST_PREAMBLE = r"""
import fcntl, glob, json, os, pty, struct, sys, termios, threading, time

codes = json.load(open("/out/codes.json"))
EV_SYN, EV_KEY, EV_ABS = 0, 1, 3
UI_SET_EVBIT, UI_SET_KEYBIT, UI_SET_ABSBIT = 0x40045564, 0x40045565, 0x40045567
UI_DEV_CREATE, UI_DEV_DESTROY = 0x5501, 0x5502
BTN_LEFT, BTN_TOOL_FINGER, BTN_TOUCH, KEY_ENTER = 272, 325, 330, 28
BUS_USB, BUS_I8042 = 0x03, 0x11


def device(name, keys, absmax=None, bus=BUS_USB):
    fd = os.open("/dev/uinput", os.O_WRONLY | os.O_NONBLOCK)
    fcntl.ioctl(fd, UI_SET_EVBIT, EV_KEY)
    for code in keys:
        fcntl.ioctl(fd, UI_SET_KEYBIT, code)
    maxima = [0] * 64
    if absmax:
        fcntl.ioctl(fd, UI_SET_EVBIT, EV_ABS)
        for axis, top in absmax.items():
            fcntl.ioctl(fd, UI_SET_ABSBIT, axis)
            maxima[axis] = top
    # struct uinput_user_dev: name[80], input_id (bustype, vendor, product, version),
    # ff_effects_max, absmax[64], absmin[64], absfuzz[64], absflat[64]
    header = struct.pack("80sHHHHi", name, bus, 0x1234, 0x5678, 1, 0)
    os.write(fd, header + struct.pack("64i", *maxima) + bytes(3 * 64 * 4))
    fcntl.ioctl(fd, UI_DEV_CREATE)
    return fd


def send(fd, *events):
    for kind, code, value in events:
        os.write(fd, struct.pack("llHHi", 0, 0, kind, code, value))
    os.write(fd, struct.pack("llHHi", 0, 0, EV_SYN, 0, 0))
    time.sleep(0.01)


def event_node(name):
    for sysfs in glob.glob("/sys/class/input/event*"):
        try:
            with open(sysfs + "/device/name") as f:
                if f.read().strip() == name:
                    return "/dev/input/" + os.path.basename(sysfs)
        except OSError:
            pass
    return None


def wait_for_nodes(*names):
    deadline = time.time() + 120
    while time.time() < deadline:
        nodes = [event_node(name) for name in names]
        if all(node and os.path.exists(node) for node in nodes):
            print("input nodes", nodes)
            return
        time.sleep(0.05)
    sys.exit(f"no /dev/input/event node for {names}")
"""
