"""Which erasure method a drive really supports: a pure function of recorded facts.

Facts are what the drive says about itself: ``nvme id-ctrl -o json`` (``oacs``,
``sanicap``, ``fna``), ``hdparm -I`` (Security and SANITIZE feature lines, frozen state,
the drive's own erase-time estimate), ``hdparm -N`` (HPA), ``hdparm --dco-identify``
(DCO), ``smartctl --json`` (is there a pass-through at all: USB bridges often have
none) and the transport from lsblk. :func:`select_plan` turns them into an ordered list
of methods, strongest first (NIST SP 800-88 / IEEE 2883), ending with the overwrite
fallback in ``auto`` mode. The runner tries them in order: a drive that claims a
feature but rejects the command falls through to the next.

Only what the drive *advertises* is planned: QEMU's NVMe controller accepts
``nvme format --ses=2`` although its ``fna`` says crypto erase is unsupported; a real
drive would reject it, and a format that "succeeded" that way proves nothing. So
``fna`` bit 2 decides, not the exit status.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

# NVMe Identify Controller (NVM Express Base Specification 2.0)
OACS_FORMAT_NVM = 1 << 1
SANICAP_CRYPTO_ERASE = 1 << 0
SANICAP_BLOCK_ERASE = 1 << 1
SANICAP_OVERWRITE = 1 << 2
FNA_CRYPTO_ERASE = 1 << 2

FIRMWARE_METHODS = (
    "nvme-sanitize-crypto",
    "nvme-sanitize-block",
    "nvme-format-crypto",
    "nvme-format-user-data",
    "ata-sanitize-crypto",
    "ata-sanitize-block",
    "ata-security-erase-enhanced",
    "ata-security-erase",
    "mmc-secure-erase",
)


@dataclass(frozen=True)
class NvmeCaps:
    oacs: int
    sanicap: int
    fna: int

    @property
    def format_nvm(self) -> bool:
        return bool(self.oacs & OACS_FORMAT_NVM)

    @property
    def sanitize_crypto(self) -> bool:
        return bool(self.sanicap & SANICAP_CRYPTO_ERASE)

    @property
    def sanitize_block(self) -> bool:
        return bool(self.sanicap & SANICAP_BLOCK_ERASE)

    @property
    def format_crypto(self) -> bool:
        return bool(self.fna & FNA_CRYPTO_ERASE)


@dataclass(frozen=True)
class AtaCaps:
    security_supported: bool = False
    security_enabled: bool = False
    locked: bool = False
    frozen: bool = False
    count_expired: bool = False
    enhanced_erase: bool = False
    erase_minutes: int | None = None
    enhanced_erase_minutes: int | None = None
    sanitize: bool = False
    sanitize_crypto: bool = False
    sanitize_block: bool = False
    sanitize_overwrite: bool = False
    hpa_feature: bool = False
    dco_feature: bool = False
    lba_sectors: int | None = None


@dataclass(frozen=True)
class HpaInfo:
    current_max: int
    native_max: int
    enabled: bool

    @property
    def hidden(self) -> bool:
        return self.current_max < self.native_max


@dataclass(frozen=True)
class DcoInfo:
    real_max: int | None


@dataclass
class DriveFacts:
    """What is known about one drive, from recordings or the live tools."""

    name: str
    transport: str | None  # lsblk tran
    size_bytes: int
    nvme: NvmeCaps | None = None
    ata: AtaCaps | None = None
    hpa: HpaInfo | None = None
    dco: DcoInfo | None = None
    passthrough: bool = True  # False: smartctl says the USB bridge passes nothing through
    smart_notes: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """Methods to try in order, with the reasons behind the choice."""

    methods: list[str]
    reasons: list[str]
    frozen: bool = False
    needs_suspend: bool = False  # unfreeze with suspend-to-RAM before ATA security erase
    drive_estimate_s: float | None = None  # the drive's own estimate, when it gives one

    @property
    def first(self) -> str | None:
        return self.methods[0] if self.methods else None


# ---------------------------------------------------------------------------- parsing


def _int(value: object) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text, 16) if text.lower().startswith("0x") else int(text)
        except ValueError:
            return 0
    return 0


def parse_nvme_id_ctrl(text: str | bytes) -> NvmeCaps | None:
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    if not isinstance(doc, dict) or "oacs" not in doc:
        return None
    return NvmeCaps(
        oacs=_int(doc.get("oacs")), sanicap=_int(doc.get("sanicap")), fna=_int(doc.get("fna"))
    )


def security_section(text: str) -> list[str] | None:
    """The lines of ``hdparm -I``'s Security section; None when it has none."""
    if "\nSecurity:" not in "\n" + text:
        return None
    lines = []
    for line in ("\n" + text).split("\nSecurity:", 1)[1].splitlines()[1:]:
        if line and not line[0].isspace():
            break  # next section
        lines.append(line)
    return lines


def flag(lines: list[str], word: str) -> bool | None:
    """A Security-section line: "\\tnot\\tfrozen" -> False, "\\t\\tfrozen" -> True."""
    for line in lines:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "not" and len(parts) > 1 and parts[1].rstrip(":") == word:
            return False
        if parts[0].rstrip(":") == word:
            return True
    return None


def _feature(text: str, name: str) -> bool:
    """A "Commands/features" line that is supported (not prefixed with "not")."""
    for line in text.splitlines():
        stripped = line.replace("*", " ").strip()
        if stripped == name or stripped.endswith("\t" + name) or stripped.endswith(" " + name):
            return not stripped.startswith("not")
    return False


def parse_hdparm_identify(text: str) -> AtaCaps | None:
    """``hdparm -I``; None when there is no ATA identify data at all."""
    if "ATA device" not in text and "Model Number" not in text:
        return None
    security_lines = security_section(text) or []
    supported = flag(security_lines, "supported") is True
    minutes_normal = minutes_enhanced = None
    for line in security_lines:
        m = re.search(r"(\d+)min for SECURITY ERASE UNIT", line)
        if m:
            minutes_normal = int(m.group(1))
        m = re.search(r"(\d+)min for ENHANCED SECURITY ERASE UNIT", line)
        if m:
            minutes_enhanced = int(m.group(1))
    enhanced = any(
        "supported: enhanced erase" in line and "not" not in line.split()[0]
        for line in security_lines
        if line.split()
    )
    lba = re.search(r"LBA48\s+user addressable sectors:\s+(\d+)", text) or re.search(
        r"LBA\s+user addressable sectors:\s+(\d+)", text
    )
    return AtaCaps(
        security_supported=supported,
        security_enabled=flag(security_lines, "enabled") is True,
        locked=flag(security_lines, "locked") is True,
        frozen=flag(security_lines, "frozen") is True,
        count_expired=flag(security_lines, "expired") is True,
        enhanced_erase=supported and enhanced,
        erase_minutes=minutes_normal,
        enhanced_erase_minutes=minutes_enhanced,
        sanitize=_feature(text, "SANITIZE feature set"),
        sanitize_crypto=_feature(text, "CRYPTO_SCRAMBLE_EXT command"),
        sanitize_block=_feature(text, "BLOCK_ERASE_EXT command"),
        sanitize_overwrite=_feature(text, "OVERWRITE_EXT command"),
        hpa_feature=_feature(text, "Host Protected Area feature set"),
        dco_feature=_feature(text, "Device Configuration Overlay feature set"),
        lba_sectors=int(lba.group(1)) if lba else None,
    )


def parse_hdparm_n(text: str) -> HpaInfo | None:
    """``hdparm -N``: " max sectors   = 976771055/976773168, HPA is enabled"."""
    m = re.search(r"max sectors\s*=\s*(\d+)/(\d+),\s*HPA is (enabled|disabled)", text)
    if not m:
        return None
    return HpaInfo(int(m.group(1)), int(m.group(2)), m.group(3) == "enabled")


def parse_dco_identify(text: str) -> DcoInfo | None:
    """``hdparm --dco-identify``: "Real max sectors: 976773168"."""
    m = re.search(r"Real max sectors:\s*(\d+)", text)
    if not m:
        return None
    return DcoInfo(int(m.group(1)))


def smartctl_passthrough(doc: dict[str, Any]) -> tuple[bool, list[str]]:
    """Does smartctl reach the drive? ("Unknown USB bridge" = no pass-through)."""
    messages = [
        str(m.get("string"))
        for m in (doc.get("smartctl") or {}).get("messages") or []
        if isinstance(m, dict) and m.get("string")
    ]
    blocked = any("Unknown USB bridge" in m or "Unsupported" in m for m in messages)
    no_device = "device" not in doc and "model_name" not in doc
    return not (blocked or no_device), messages


# -------------------------------------------------------------------------- selection


def select_plan(facts: DriveFacts, mode: str = "auto", *, allow_suspend: bool = False) -> Plan:
    """Methods to try on the drive, strongest first; ``mode`` is auto|firmware|overwrite."""
    if mode not in ("auto", "firmware", "overwrite"):
        raise ValueError(f"unknown method mode {mode!r}")
    methods: list[str] = []
    reasons: list[str] = []
    plan = Plan(methods, reasons)
    if mode == "overwrite":
        reasons.append("overwrite requested")
        methods.append("overwrite")
        return plan

    name = facts.name
    if facts.transport == "usb" and not facts.passthrough:
        reasons.append("USB bridge without command pass-through: no firmware erase reachable")
    elif facts.nvme is not None or name.startswith("nvme"):
        _plan_nvme(facts.nvme, reasons, methods)
    elif facts.ata is not None:
        _plan_ata(facts.ata, plan, allow_suspend)
    elif name.startswith("mmcblk") or facts.transport == "mmc":
        if name.startswith("mmcblk") and "boot" not in name and "rpmb" not in name:
            methods.append("mmc-secure-erase")
            reasons.append("eMMC: secure erase/trim (BLKSECDISCARD), if the device accepts it")
    else:
        reasons.append("no ATA or NVMe identify data: no firmware erase known for this drive")

    if mode == "auto":
        methods.append("overwrite")
        if len(methods) == 1:
            reasons.append("overwrite: the only method this drive offers")
    elif not methods:
        reasons.append("firmware erase requested but the drive supports none")
    return plan


def _plan_nvme(caps: NvmeCaps | None, reasons: list[str], methods: list[str]) -> None:
    if caps is None:
        reasons.append("NVMe: identify data unreadable")
        return
    if caps.sanitize_crypto:
        methods.append("nvme-sanitize-crypto")
    if caps.sanitize_block:
        methods.append("nvme-sanitize-block")
    if not (caps.sanitize_crypto or caps.sanitize_block):
        reasons.append(f"NVMe Sanitize not supported (sanicap=0x{caps.sanicap:x})")
    if caps.format_nvm:
        if caps.format_crypto:
            methods.append("nvme-format-crypto")
        else:
            reasons.append(f"NVMe Format: no crypto erase (fna=0x{caps.fna:x}), user-data erase")
        methods.append("nvme-format-user-data")
    else:
        reasons.append(f"NVMe Format NVM not supported (oacs=0x{caps.oacs:x})")


def _plan_ata(caps: AtaCaps, plan: Plan, allow_suspend: bool) -> None:
    methods, reasons = plan.methods, plan.reasons
    if caps.sanitize and caps.sanitize_crypto:
        methods.append("ata-sanitize-crypto")
    if caps.sanitize and caps.sanitize_block:
        methods.append("ata-sanitize-block")
    if not caps.sanitize:
        reasons.append("ATA SANITIZE feature set not supported")
    if not caps.security_supported:
        reasons.append("ATA Security feature set not supported")
        return
    if caps.locked:
        reasons.append("ATA security is locked with an unknown password: security erase skipped")
        return
    if caps.count_expired:
        reasons.append("ATA security attempt count expired: power-cycle the drive to retry")
        return
    if caps.frozen:
        plan.frozen = True
        if not allow_suspend:
            reasons.append(
                "frozen: ATA security erase needs the drive unfrozen "
                "(suspend-to-RAM is not allowed on this bench)"
            )
            return
        plan.needs_suspend = True
        reasons.append("frozen: suspend-to-RAM (rtcwake) first to unfreeze the drive")
    if caps.enhanced_erase:
        methods.append("ata-security-erase-enhanced")
        if caps.enhanced_erase_minutes:
            plan.drive_estimate_s = caps.enhanced_erase_minutes * 60.0
    methods.append("ata-security-erase")
    if plan.drive_estimate_s is None and caps.erase_minutes:
        plan.drive_estimate_s = caps.erase_minutes * 60.0
