"""The processor, from ``/proc/cpuinfo`` and cpufreq, with DMI and py-cpuinfo as fallbacks.

py-cpuinfo takes over a second on this kind of machine (it probes CPUID in a child
process), which alone would break the probe's 1 s budget, so it runs only when the
kernel's cpuinfo names no model (some ARM boards). Its JSON is kept in captures as
``cmd/py-cpuinfo.json`` like any other source.
"""

from __future__ import annotations

import json
import os
import re

from checks.probe.dmi import DmiRecord, records_of
from checks.probe.model import Cpu
from checks.probe.values import get_path, text, to_float, to_int
from checks.source import Source

_MHZ_RE = re.compile(r"(\d+)\s*MHz", re.IGNORECASE)


def parse_proc_cpuinfo(raw: str) -> Cpu:
    """Model, vendor, logical and physical core counts and flags from /proc/cpuinfo."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    header: dict[str, str] = {}
    for line in raw.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue
        current[key.strip().lower()] = value.strip()
    if current:
        blocks.append(current)
    processors = [b for b in blocks if "processor" in b and to_int(b["processor"]) is not None]
    for b in blocks:  # ARM prints "Hardware", "Model" after the processor blocks
        header.update({k: v for k, v in b.items() if k not in header})
    first = processors[0] if processors else header
    model = text(first.get("model name")) or text(header.get("model name"))
    if model is None:
        model = text(header.get("model")) if not processors or "model name" not in first else None
    vendor = text(first.get("vendor_id")) or text(first.get("cpu implementer"))
    threads = len(processors) or None
    pairs = {
        (b.get("physical id"), b.get("core id")) for b in processors if b.get("core id") is not None
    }
    sockets_set = {b.get("physical id") for b in processors if b.get("physical id") is not None}
    cores: int | None = len(pairs) if pairs else None
    if cores is None and threads is not None and not any("siblings" in b for b in processors):
        cores = threads  # ARM: no SMT information, every processor is a core
    flags_text = first.get("flags") or first.get("features") or ""
    return Cpu(
        model=" ".join(model.split()) if model else None,
        vendor=vendor,
        cores=cores,
        threads=threads,
        sockets=len(sockets_set) or None,
        base_mhz=None,
        max_mhz=None,
        flags=sorted(set(flags_text.split()))[:400],
    )


def parse_py_cpuinfo(raw: bytes | str) -> Cpu:
    """Model, vendor, architecture and advertised frequency from py-cpuinfo's JSON."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError, TypeError):
        return Cpu()
    if not isinstance(data, dict):
        return Cpu()
    hz = get_path(data, "hz_advertised", 0)
    hz_value = to_int(hz)
    flags = data.get("flags")
    return Cpu(
        model=text(data.get("brand_raw")),
        vendor=text(data.get("vendor_id_raw")),
        architecture=text(data.get("arch_string_raw")),
        threads=to_int(data.get("count")),
        base_mhz=round(hz_value / 1e6, 1) if hz_value and hz_value > 0 else None,
        flags=sorted({f for f in flags if isinstance(f, str)})[:400]
        if isinstance(flags, list)
        else [],
    )


def parse_dmi_processor(records: list[DmiRecord]) -> Cpu:
    """Model and counts from SMBIOS type 4 (populated sockets only)."""
    sockets = records_of(records, 4)
    populated = [r for r in sockets if "unpopulated" not in r.fields.get("Status", "").lower()]
    # coreboot on System76 Galago Pro (galp4) marks its only, running CPU "Unpopulated"
    populated = populated or sockets[:1]
    if not populated:
        return Cpu()
    first = populated[0]
    model = text(first.fields.get("Version"))
    if model is not None and model.lower() in ("cpu version", "c1", "c0"):
        model = None  # template strings some Insyde/Phoenix BIOSes leave in type 4
    cores = [to_int(r.fields.get("Core Count")) for r in populated]
    threads = [to_int(r.fields.get("Thread Count")) for r in populated]
    max_match = _MHZ_RE.search(first.fields.get("Max Speed", ""))
    cur_match = _MHZ_RE.search(first.fields.get("Current Speed", ""))
    return Cpu(
        model=" ".join(model.split()) if model else None,
        vendor=text(first.fields.get("Manufacturer")),
        cores=sum(c for c in cores if c) if all(cores) else None,
        threads=sum(t for t in threads if t) if all(threads) else None,
        sockets=len(populated),
        base_mhz=float(cur_match.group(1)) if cur_match else None,
        max_mhz=float(max_match.group(1)) if max_match else None,
    )


def _khz_to_mhz(raw: str | None) -> float | None:
    value = to_float(raw.strip()) if raw else None
    if value is None or value <= 0 or value > 1e8:
        return None
    return round(value / 1000, 1)


def read_cpu(source: Source, dmi: list[DmiRecord] | None) -> Cpu:
    cpu = Cpu()
    raw = source.read_text("proc/cpuinfo")
    if raw is not None:
        cpu = parse_proc_cpuinfo(raw)
    if cpu.model is None and raw is not None:

        def produce() -> bytes | None:
            import cpuinfo  # slow (see module docstring): imported only when needed

            return cpuinfo.get_cpu_info_json().encode()

        data = source.produce("cmd/py-cpuinfo.json", produce)
        if data is not None:
            extra = parse_py_cpuinfo(data)
            cpu.model = extra.model
            cpu.vendor = cpu.vendor or extra.vendor
            cpu.base_mhz = cpu.base_mhz or extra.base_mhz
    arch = source.produce("cmd/arch.txt", lambda: os.uname().machine.encode())
    if arch is not None:
        cpu.architecture = text(arch.decode("utf-8", errors="replace"))
    cpu.max_mhz = _khz_to_mhz(
        source.read_text("sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    )
    base = source.read_text("sys/devices/system/cpu/cpu0/cpufreq/base_frequency")
    cpu.base_mhz = _khz_to_mhz(base) or cpu.base_mhz
    if dmi is not None:
        fallback = parse_dmi_processor(dmi)
        cpu.model = cpu.model or fallback.model
        cpu.vendor = cpu.vendor or fallback.vendor
        cpu.cores = cpu.cores or fallback.cores
        cpu.threads = cpu.threads or fallback.threads
        cpu.sockets = cpu.sockets or fallback.sockets
        cpu.max_mhz = cpu.max_mhz or fallback.max_mhz
        cpu.base_mhz = cpu.base_mhz or fallback.base_mhz
    if cpu.model is None:
        source.note_gap("cpu", "no processor model in /proc/cpuinfo, py-cpuinfo or DMI")
    return cpu
