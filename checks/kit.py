"""The kit that goes with a laptop: the mouse and the 4G key plugged into it, the sleeve.

USB devices are read from sysfs through the Source (``sys/bus/usb/devices/*``), so the
USB ids the record carries are what the kernel saw. The mouse is a USB HID device with
the boot-mouse protocol (or one that calls itself a mouse); the technician confirms its
clicks and movement at the terminal. The 4G modem is asked through ModemManager's
``mmcli`` when it is there (IMEI, SIM present); otherwise it is recorded by its USB id
only, and the kit object says that it was not queried.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from checks.health.model import CheckContext, Runner, Target, Verdict
from checks.health.pointer import MouseEvents, find_mice
from checks.i18n import Msg, msg
from checks.source import Source

USB_ROOT = "sys/bus/usb/devices"
HID_CLASS, BOOT_SUBCLASS, MOUSE_PROTOCOL = "03", "01", "02"
CDC_CLASSES = {"02", "0a"}  # communications / CDC data: what modems expose
# USB vendors of the common 4G dongles (Huawei, ZTE, Sierra, Quectel, Fibocom, Telit,
# Alcatel/TCL, Novatel): a vendor-specific interface from one of them is a modem
MODEM_VENDORS = {"12d1", "19d2", "1199", "2c7c", "2cb7", "1bc7", "1bbb", "1410"}


@dataclass
class UsbInterface:
    cls: str
    subclass: str
    protocol: str


@dataclass
class UsbDeviceInfo:
    path: str  # sysfs name: "1-2"
    vendor_id: str
    product_id: str
    manufacturer: str | None = None
    product: str | None = None
    serial: str | None = None
    interfaces: list[UsbInterface] = field(default_factory=list)

    @property
    def usb_id(self) -> str:
        return f"{self.vendor_id}:{self.product_id}"

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.manufacturer, self.product) if p) or self.usb_id


def read_usb_devices(source: Source) -> list[UsbDeviceInfo]:
    devices: list[UsbDeviceInfo] = []
    entries = source.listdir(USB_ROOT)
    for entry in entries:
        if ":" in entry or entry.startswith("usb"):
            continue  # interfaces ("1-2:1.0") and root hubs ("usb1")
        base = f"{USB_ROOT}/{entry}"

        def attr(name: str, base: str = base) -> str | None:
            text = source.read_text(f"{base}/{name}")
            return text.strip() if text and text.strip() else None

        vid, pid = attr("idVendor"), attr("idProduct")
        if not vid or not pid:
            continue
        dev = UsbDeviceInfo(
            entry, vid.lower(), pid.lower(), attr("manufacturer"), attr("product"), attr("serial")
        )
        for iface in entries:
            if iface.startswith(entry + ":"):
                ib = f"{USB_ROOT}/{iface}"
                dev.interfaces.append(
                    UsbInterface(
                        (source.read_text(f"{ib}/bInterfaceClass") or "").strip().lower(),
                        (source.read_text(f"{ib}/bInterfaceSubClass") or "").strip().lower(),
                        (source.read_text(f"{ib}/bInterfaceProtocol") or "").strip().lower(),
                    )
                )
        devices.append(dev)
    return devices


def is_mouse(dev: UsbDeviceInfo) -> bool:
    if any(
        i.cls == HID_CLASS and i.subclass == BOOT_SUBCLASS and i.protocol == MOUSE_PROTOCOL
        for i in dev.interfaces
    ):
        return True
    return "mouse" in (dev.product or "").lower()


def is_modem(dev: UsbDeviceInfo) -> bool:
    if any(i.cls in CDC_CLASSES for i in dev.interfaces):
        return True
    return dev.vendor_id in MODEM_VENDORS and any(i.cls == "ff" for i in dev.interfaces)


@dataclass
class ModemInfo:
    usb_id: str | None
    name: str | None
    imei: str | None = None
    sim_present: bool | None = None
    operator: str | None = None
    queried_with: str | None = None  # "mmcli" when ModemManager answered
    note: str | None = None


def parse_mmcli_list(text: str) -> list[str]:
    try:
        doc = json.loads(text)
    except ValueError:
        return []
    paths = doc.get("modem-list", []) if isinstance(doc, dict) else []
    return [p for p in paths if isinstance(p, str)]


def parse_mmcli_modem(text: str) -> dict[str, Any]:
    """IMEI, SIM and operator from ``mmcli -m N -J``."""
    try:
        doc = json.loads(text)
    except ValueError:
        return {}
    modem = doc.get("modem", {}) if isinstance(doc, dict) else {}
    generic = modem.get("generic", {})
    gpp = modem.get("3gpp", {})
    sim = generic.get("sim")
    imei = gpp.get("imei") or generic.get("equipment-identifier")
    return {
        "imei": imei if imei and imei != "--" else None,
        "sim_present": bool(sim) and sim != "--",
        "operator": (gpp.get("operator-name") or None)
        if gpp.get("operator-name") != "--"
        else None,
        "manufacturer": generic.get("manufacturer"),
        "model": generic.get("model"),
    }


def query_modem(run: Runner, usb: UsbDeviceInfo | None) -> ModemInfo | None:
    listed = run(["mmcli", "-L", "-J"], timeout=15)
    if listed.returncode is None and usb is None:
        return None
    if listed.ok:
        for path in parse_mmcli_list(listed.text):
            index = path.rsplit("/", 1)[-1]
            detail = run(["mmcli", "-m", index, "-J"], timeout=15)
            if not detail.ok:
                continue
            info = parse_mmcli_modem(detail.text)
            name = " ".join(p for p in (info.get("manufacturer"), info.get("model")) if p) or None
            return ModemInfo(
                usb_id=usb.usb_id if usb else None,
                name=name or (usb.name if usb else None),
                imei=info.get("imei"),
                sim_present=info.get("sim_present"),
                operator=info.get("operator"),
                queried_with="mmcli",
            )
    if usb is None:
        return None
    note = (
        "ModemManager (mmcli) not available"
        if listed.returncode is None
        else "ModemManager does not list it"
    )
    return ModemInfo(usb_id=usb.usb_id, name=usb.name, note=note)


@dataclass
class Kit:
    mouse: dict[str, Any] | None
    modem: dict[str, Any] | None
    sleeve: bool | None  # confirmed by the technician; None: not asked
    usb_devices: list[dict[str, str]]
    complete: bool
    # what is missing, as ids (mouse, mouse-no-answer, mouse-unconfirmed, sleeve,
    # sleeve-unconfirmed, modem, sim): the verdict names them in the reader's language
    missing: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_kit(
    devices: list[UsbDeviceInfo],
    modem: ModemInfo | None,
    *,
    mouse_confirmed: bool | None,
    sleeve: bool | None,
    want_modem: bool = False,
) -> Kit:
    mice = [d for d in devices if is_mouse(d)]
    mouse = (
        {
            "usb_id": mice[0].usb_id,
            "name": mice[0].name,
            "serial": mice[0].serial,
            "confirmed": mouse_confirmed,
        }
        if mice
        else None
    )
    missing: list[str] = []
    if mouse is None:
        missing.append("mouse")
    elif mouse_confirmed is False:
        missing.append("mouse-no-answer")
    elif mouse_confirmed is None:
        missing.append("mouse-unconfirmed")
    if sleeve is not True:
        missing.append("sleeve" if sleeve is False else "sleeve-unconfirmed")
    if modem is None and want_modem:
        missing.append("modem")
    elif modem is not None and modem.queried_with == "mmcli" and modem.sim_present is False:
        missing.append("sim")
    return Kit(
        mouse=mouse,
        modem=asdict(modem) if modem else None,
        sleeve=sleeve,
        usb_devices=[{"usb_id": d.usb_id, "name": d.name, "sysfs": d.path} for d in devices],
        complete=not missing,
        missing=missing,
    )


# --- the checks --------------------------------------------------------------------------


def _plugged(ctx: CheckContext) -> tuple[list[UsbDeviceInfo], ModemInfo | None]:
    devices = read_usb_devices(ctx.source)
    modem_usb = next((d for d in devices if is_modem(d)), None)
    if ctx.live:
        return devices, query_modem(ctx.run, modem_usb)
    note = "from a capture"
    return devices, ModemInfo(modem_usb.usb_id, modem_usb.name, note=note) if modem_usb else None


def _items(kit: Kit) -> list[Msg]:
    # named in the reader's language, like the missing items
    items = [msg("kit.item.mouse_id", usb_id=str(kit.mouse.get("usb_id")))] if kit.mouse else []
    if kit.sleeve:
        items.append(msg("kit.item.sleeve"))
    if kit.modem:
        items.append(msg("kit.item.modem_id", usb_id=str(kit.modem.get("usb_id"))))
    return items


def kit_check(ctx: CheckContext, _target: Target | None) -> Verdict:
    """Automatic part: what is plugged in, recorded (confirmations come from kit.confirm)."""
    devices, modem = _plugged(ctx)
    kit = build_kit(devices, modem, mouse_confirmed=None, sleeve=None)
    if ctx.kit is None:  # a confirmed kit from kit.confirm is never replaced
        ctx.kit = kit.to_dict()
    evidence = kit.to_dict()
    if kit.mouse is None:
        return Verdict("warn", msg("kit.incomplete", missing=[msg("kit.item.mouse")]), evidence)
    return Verdict("pass", msg("kit.recorded", items=_items(kit)), evidence)


def kit_confirm_check(ctx: CheckContext, _target: Target | None) -> Verdict:
    """Guided part: the technician uses the kit mouse and confirms the sleeve."""
    from checks.health import guided

    term = ctx.terminal
    if term is None:  # the runner skips terminal checks without one
        raise RuntimeError("no terminal")
    devices, modem = _plugged(ctx)
    mouse_confirmed: bool | None = None
    how = None
    if any(is_mouse(d) for d in devices):
        title = guided._ui(
            ctx.lang,
            "Kit mouse (use the mouse, not the touchpad).",
            "Souris du kit (la souris, pas le pavé tactile).",
        )
        # as root on the bare console the USB mouse's own events say it works; a
        # terminal's mouse reporting is the fallback (it cannot tell mouse from touchpad)
        events = MouseEvents.open([m for m in find_mice(ctx.source) if m.usb]) if ctx.live else None
        if events is not None:
            try:
                result = guided.mouse_test(term, ctx.lang, title, events)
            finally:
                events.close()
            how = f"mouse events ({events.mouse.path}, {events.mouse.name or 'unnamed'})"
        else:
            result = guided.pointer_test(term, ctx.lang, title)
            how = "terminal mouse reporting (xterm SGR)"
        mouse_confirmed = result.outcome == "complete"
    with term:
        term.clear()
        question = guided._ui(
            ctx.lang, "Is the sleeve in the kit? y/n ", "La housse est-elle dans le kit ? o/n "
        )
        sleeve = term.ask(question, guided.YES) == "yes"
    kit = build_kit(devices, modem, mouse_confirmed=mouse_confirmed, sleeve=sleeve)
    if kit.mouse is not None:
        kit.mouse["confirmed_with"] = how
    ctx.kit = kit.to_dict()
    evidence = kit.to_dict()
    if kit.complete:
        return Verdict("pass", msg("kit.ok", items=_items(kit)), evidence)
    missing = [msg(f"kit.item.{item}") for item in kit.missing]
    return Verdict("warn", msg("kit.incomplete", missing=missing), evidence)
