"""Disks from ``lsblk --json`` and their SMART summary from ``smartctl --json``.

A disk known only from a smartctl file (no lsblk in the capture) still appears, built
from what smartctl says. SMART is summarised, not judged: the checks decide.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from checks.identity import clean_serial
from checks.probe.model import NvmeHealth, Smart, StorageDevice
from checks.probe.tools import SKIP_DISK_PREFIXES, SMARTCTL_TIMEOUT, smartctl_argv, smartctl_key
from checks.probe.values import get_path, parse_size, raw_text, text, to_int
from checks.source import Source


@dataclass
class LsblkDisk:
    name: str
    path: str
    model: str | None = None
    serial: str | None = None
    vendor: str | None = None
    wwn: str | None = None
    firmware: str | None = None
    size_bytes: int | None = None
    logical_sector_size: int | None = None
    physical_sector_size: int | None = None
    rotational: bool | None = None
    removable: bool | None = None
    transport: str | None = None


@dataclass
class SmartctlInfo:
    """What one smartctl run says about a drive: identity and the SMART summary."""

    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    vendor: str | None = None
    wwn: str | None = None
    size_bytes: int | None = None
    logical_sector_size: int | None = None
    physical_sector_size: int | None = None
    rotation_rpm: int | None = None  # 0: solid state
    protocol: str | None = None  # smartctl's "ATA" | "NVMe" | "SCSI", lower-cased
    smart: Smart = field(default_factory=Smart)


def _bool(value: object) -> bool | None:
    """lsblk >= 2.33 prints booleans; older versions print "0"/"1" strings."""
    if isinstance(value, bool):
        return value
    if value in ("1", 1):
        return True
    if value in ("0", 0):
        return False
    return None


def _walk(devices: object) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    if not isinstance(devices, list):
        return out
    for dev in devices:
        if isinstance(dev, dict):
            out.append(dev)
    return out


def parse_lsblk(raw: bytes | str) -> list[LsblkDisk]:
    """Whole disks from ``lsblk --json [--bytes] --output-all`` (sizes like "64M" too)."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError, TypeError):
        return []
    disks: list[LsblkDisk] = []
    for dev in _walk(get_path(data, "blockdevices")):
        if dev.get("type") != "disk":
            continue
        name = raw_text(dev.get("kname")) or raw_text(dev.get("name"))
        if name is None or "/" in name or name.startswith(SKIP_DISK_PREFIXES):
            continue
        size = parse_size(dev.get("size"))
        disks.append(
            LsblkDisk(
                name=name,
                path=raw_text(dev.get("path")) or f"/dev/{name}",
                model=text(dev.get("model")),
                serial=clean_serial(raw_text(dev.get("serial"))),
                vendor=text(dev.get("vendor")),
                wwn=text(dev.get("wwn")),
                firmware=text(dev.get("rev")),
                size_bytes=size,
                logical_sector_size=to_int(parse_size(dev.get("log-sec"))),
                physical_sector_size=to_int(parse_size(dev.get("phy-sec"))),
                rotational=_bool(dev.get("rota")),
                removable=_bool(dev.get("rm")),
                transport=text(dev.get("tran")),
            )
        )
    return disks


def _messages(data: object) -> list[str]:
    msgs = get_path(data, "smartctl", "messages")
    out: list[str] = []
    if isinstance(msgs, list):
        for m in msgs:
            s = get_path(m, "string")
            if isinstance(s, str) and s.strip():
                out.append(s.strip())
    return out


def _unavailable_reason(data: dict[str, object], exit_status: int | None) -> str | None:
    messages = _messages(data)
    if get_path(data, "smart_support", "available") is False:
        return "SMART not supported by the device"
    if get_path(data, "smart_support", "enabled") is False:
        return "SMART supported but disabled"
    if exit_status is not None and exit_status & 0b11:
        # bit 0: command line / unknown USB bridge; bit 1: device open failed
        if messages:
            return messages[0]
        if exit_status & 0b10:
            return f"device could not be opened (smartctl exit status {exit_status})"
        return f"smartctl could not query the device (exit status {exit_status})"
    if messages:
        return messages[0]
    return "smartctl gave no SMART data"


def parse_smartctl(raw: bytes | str, exit_status: int | None = None) -> SmartctlInfo:
    """Identity and SMART summary from ``smartctl --json`` output (any smartctl >= 7.0).

    ``exit_status`` is smartctl's bit mask as recorded; the JSON's own
    ``smartctl.exit_status`` is used when it is not known.
    """
    info = SmartctlInfo()
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError, TypeError):
        info.smart = Smart(
            available=False,
            unavailable_reason="smartctl output is not valid JSON",
            smartctl_exit_status=exit_status,
        )
        return info
    if not isinstance(data, dict):
        info.smart = Smart(
            available=False,
            unavailable_reason="smartctl output is not a JSON object",
            smartctl_exit_status=exit_status,
        )
        return info
    if exit_status is None:
        exit_status = to_int(get_path(data, "smartctl", "exit_status"))

    protocol = text(get_path(data, "device", "protocol"))
    info.protocol = protocol.lower() if protocol else None
    model = text(data.get("model_name")) or text(data.get("scsi_model_name"))
    if model is None:
        parts = [text(data.get("scsi_vendor")), text(data.get("scsi_product"))]
        model = " ".join(p for p in parts if p) or None
    info.model = " ".join(model.split()) if model else None
    info.serial = clean_serial(raw_text(data.get("serial_number")))
    info.firmware = text(data.get("firmware_version")) or text(data.get("scsi_revision"))
    info.vendor = text(data.get("scsi_vendor"))
    naa, oui, wwn_id = (to_int(get_path(data, "wwn", k)) for k in ("naa", "oui", "id"))
    if naa is not None and oui is not None and wwn_id is not None:
        info.wwn = f"0x{naa:x}{oui:06x}{wwn_id:09x}"
    size = to_int(get_path(data, "user_capacity", "bytes"))
    if size is None:
        size = to_int(get_path(data, "nvme_namespaces", 0, "size", "bytes"))
    if size is None:
        size = to_int(data.get("nvme_total_capacity"))
    info.size_bytes = size if size is not None and size > 0 else None
    info.logical_sector_size = to_int(data.get("logical_block_size"))
    info.physical_sector_size = to_int(data.get("physical_block_size"))
    if info.logical_sector_size is None:
        info.logical_sector_size = to_int(
            get_path(data, "nvme_namespaces", 0, "formatted_lba_size")
        )
    rpm = to_int(data.get("rotation_rate"))
    info.rotation_rpm = rpm if rpm is not None and rpm >= 0 else None

    attributes: dict[int, int] = {}
    table = get_path(data, "ata_smart_attributes", "table")
    if isinstance(table, list):
        for row in table:
            attr_id = to_int(get_path(row, "id"))
            value = to_int(get_path(row, "raw", "value"))
            if attr_id is not None and value is not None and 0 < attr_id < 256:
                attributes[attr_id] = value

    nvme: NvmeHealth | None = None
    log = data.get("nvme_smart_health_information_log")
    if isinstance(log, dict):
        nvme = NvmeHealth(
            critical_warning=to_int(log.get("critical_warning")),
            media_errors=to_int(log.get("media_errors")),
            percentage_used=to_int(log.get("percentage_used")),
            available_spare=to_int(log.get("available_spare")),
            available_spare_threshold=to_int(log.get("available_spare_threshold")),
        )

    passed = get_path(data, "smart_status", "passed")
    has_data = isinstance(passed, bool) or bool(attributes) or nvme is not None
    available = has_data and get_path(data, "smart_support", "available") is not False

    hours = to_int(get_path(data, "power_on_time", "hours"))
    if hours is None and isinstance(log, dict):
        hours = to_int(log.get("power_on_hours"))
    temperature = to_int(get_path(data, "temperature", "current"))

    self_test: bool | None = None
    supported = get_path(data, "ata_smart_data", "capabilities", "self_tests_supported")
    if isinstance(supported, bool):
        self_test = supported
    elif "nvme_self_test_log" in data:
        self_test = True
    elif info.protocol == "nvme" and isinstance(
        get_path(data, "nvme_optional_admin_commands"), dict
    ):
        self_test = bool(get_path(data, "nvme_optional_admin_commands", "self_test"))

    info.smart = Smart(
        available=available,
        unavailable_reason=None if available else _unavailable_reason(data, exit_status),
        passed=passed if isinstance(passed, bool) else None,
        power_on_hours=hours if hours is not None and hours >= 0 else None,
        temperature_c=temperature,
        ata_attributes=attributes,
        nvme=nvme,
        self_test_supported=self_test,
        smartctl_exit_status=exit_status,
    )
    return info


def _protocol(name: str, transport: str | None, smart_protocol: str | None) -> str | None:
    tran = (transport or "").lower()
    if tran == "usb":
        return "usb"  # whatever the bridge speaks, erasure and SMART go through USB
    if tran == "nvme" or name.startswith("nvme") or smart_protocol == "nvme":
        return "nvme"
    if tran == "mmc" or name.startswith("mmcblk"):
        return "mmc"
    if tran in ("sata", "ata", "pata") or smart_protocol == "ata":
        return "ata"
    if tran in ("sas", "fc", "iscsi", "spi", "scsi", "srp") or smart_protocol == "scsi":
        return "scsi"
    return None


def _kind(protocol: str | None, rotational: bool | None) -> str:
    if protocol == "nvme":
        return "nvme"
    if protocol == "mmc":
        return "emmc"
    if protocol == "usb":
        return "usb"
    if rotational is True:
        return "hdd"
    if rotational is False:
        return "ssd"
    return "other"


def merge_disk(name: str, disk: LsblkDisk | None, smart: SmartctlInfo | None) -> StorageDevice:
    """One report entry from lsblk's view and smartctl's (the drive's own words first)."""
    s = smart or SmartctlInfo()
    d = disk or LsblkDisk(name=name, path=f"/dev/{name}")
    # smartctl reads the drive's IDENTIFY data; the kernel's "rota" is 1 for every USB
    # bridge and for emulated disks, so the drive's rotation rate wins when known.
    rotational = (s.rotation_rpm > 0) if s.rotation_rpm is not None else d.rotational
    protocol = _protocol(name, d.transport, s.protocol)
    if protocol == "nvme":
        rotational = False  # flash by definition; smartctl gives NVMe no rotation rate
    smart_summary = s.smart
    if smart is None:
        smart_summary = Smart(available=False, unavailable_reason="smartctl output missing")
    return StorageDevice(
        name=name,
        path=d.path,
        model=s.model or d.model,
        serial=s.serial or d.serial,
        firmware=s.firmware or d.firmware,
        vendor=d.vendor or s.vendor,
        wwn=d.wwn or s.wwn,
        size_bytes=d.size_bytes if d.size_bytes else s.size_bytes,
        logical_sector_size=d.logical_sector_size or s.logical_sector_size,
        physical_sector_size=d.physical_sector_size or s.physical_sector_size,
        protocol=protocol,
        transport=d.transport,
        rotational=rotational,
        removable=d.removable,
        kind=_kind(protocol, rotational),
        smart=smart_summary,
    )


def _read_smartctl(source: Source, name: str) -> SmartctlInfo | None:
    out = source.command(smartctl_key(name), smartctl_argv(name), timeout=SMARTCTL_TIMEOUT)
    if out is None or not out.stdout.strip():
        return None
    return parse_smartctl(out.stdout, out.returncode)


def _read_all_smartctl(source: Source, names: list[str]) -> dict[str, SmartctlInfo | None]:
    # smartctl on a sleeping HDD or a slow USB bridge can take seconds: one at a time
    # would add them all up on the bench, so drives are asked in parallel.
    if not names:
        return {}
    with ThreadPoolExecutor(max_workers=min(8, len(names))) as pool:
        return dict(zip(names, pool.map(lambda n: _read_smartctl(source, n), names), strict=True))


def read_storage(source: Source) -> list[StorageDevice]:
    out = source.command("cmd/lsblk.json", ["lsblk", "--json", "--bytes", "--output-all"])
    disks = parse_lsblk(out.stdout) if out is not None else []
    if out is not None and out.stdout.strip() and not disks:
        source.note_gap("storage", "lsblk listed no disks")
    if disks:
        names = [d.name for d in disks]
        smart = _read_all_smartctl(source, names)
    else:
        # No lsblk: the disks are those smartctl answered for; live, the kernel's list,
        # in a capture, the smartctl files (so a capture replays to the same disks).
        if source.live:
            candidates = source.listdir("sys/block")
        else:
            candidates = [e[:-5] for e in source.listdir("cmd/smartctl") if e.endswith(".json")]
        candidates = [n for n in candidates if n and not n.startswith(SKIP_DISK_PREFIXES)]
        smart = _read_all_smartctl(source, candidates)
        names = [n for n in candidates if smart.get(n) is not None]
    by_name = {d.name: d for d in disks}
    return [merge_disk(n, by_name.get(n), smart.get(n)) for n in names]
