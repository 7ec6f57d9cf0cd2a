"""The technician's one-screen summary of a hardware report (``weee probe``)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from checks.probe.model import Battery, HardwareReport, StorageDevice


def _gib(n: int | None) -> str:
    if n is None:
        return "?"
    gib = n / 1024**3
    return f"{gib:.0f} GiB" if gib >= 10 or gib.is_integer() else f"{gib:.1f} GiB"


def _gb(n: int | None) -> str:
    if n is None:
        return "size ?"
    gb = n / 1000**3
    if gb >= 1000:
        return f"{gb / 1000:.1f} TB"
    return f"{gb:.0f} GB" if gb >= 10 else f"{gb:.1f} GB"


def _join(*parts: str | None) -> str:
    return " · ".join(p for p in parts if p)


def _disk_line(d: StorageDevice) -> str:
    s = d.smart
    if not s.available:
        health = f"[yellow]no SMART[/] ({escape(s.unavailable_reason or 'unknown')})"
    elif s.passed is False:
        health = "[bold red]SMART FAILED[/]"
    elif s.passed is True:
        health = "[green]SMART passed[/]"
    else:
        health = "SMART status unknown"
    hours = f"{s.power_on_hours} h" if s.power_on_hours is not None else None
    kind = d.kind if d.protocol in (None, d.kind) else f"{d.kind}/{d.protocol}"
    return _join(
        escape(d.model or "unknown model"),
        _gb(d.size_bytes),
        kind,
        f"s/n {escape(d.serial)}" if d.serial else "[yellow]no serial[/]",
        health,
        _smart_warnings(d),
        hours,
    )


# ATA attributes whose raw value is a count of bad or doubtful sectors / errors
_ATA_COUNTERS = {
    5: "reallocated",
    187: "uncorrectable",
    197: "pending",
    198: "offline uncorrectable",
}


def _smart_warnings(d: StorageDevice) -> str | None:
    """The raw counters a technician should see at once (the checks give the verdict)."""
    bad = [
        f"{value} {label}"
        for attr, label in _ATA_COUNTERS.items()
        if (value := d.smart.ata_attributes.get(attr))
    ]
    wear = None
    nvme = d.smart.nvme
    if nvme is not None:
        if nvme.critical_warning:
            bad.append(f"critical warning 0x{nvme.critical_warning:02x}")
        if nvme.media_errors:
            bad.append(f"{nvme.media_errors} media errors")
        if nvme.percentage_used is not None:
            wear = f"{nvme.percentage_used} % worn"
    return _join(f"[red]{', '.join(bad)}[/]" if bad else None, wear) or None


def _battery_line(b: Battery) -> str:
    if b.health_pct is None:
        health = "[yellow]health unknown[/]"
    else:
        colour = "green" if b.health_pct >= 80 else "yellow" if b.health_pct >= 50 else "red"
        health = f"[{colour}]{b.health_pct:.0f} %[/] of {b.design_wh:g} Wh"
    return _join(
        escape(b.model or "battery"),
        health,
        f"{b.cycles} cycles" if b.cycles is not None else "cycles ?",
        escape(b.status) if b.status else None,
    )


def show_report(report: HardwareReport, console: Console | None = None) -> None:
    console = console or Console()
    dev = report.device
    title = _join(escape(dev.manufacturer or "unknown maker"), escape(dev.model or "unknown model"))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold cyan", no_wrap=True)
    grid.add_column()
    grid.add_row(
        "Device",
        _join(
            f"[bold]{title}[/]",
            dev.chassis,
            f"s/n {escape(dev.serial)}" if dev.serial else "[yellow]no serial[/]",
        ),
    )
    grid.add_row("ID", _join(dev.device_id or "[yellow]none[/]", dev.device_id_basis))
    fw = report.firmware
    sb = {True: "Secure Boot on", False: "Secure Boot off", None: None}[fw.secure_boot]
    tpm = f"TPM {report.tpm.version or '?'}" if report.tpm.present else None
    grid.add_row(
        "Firmware",
        _join(
            escape(_join(dev.bios_vendor, dev.bios_version, dev.bios_date)) or None,
            fw.boot_mode.upper() if fw.boot_mode else None,
            sb,
            tpm,
        ),
    )
    cpu = report.cpu
    grid.add_row(
        "CPU",
        _join(
            escape(cpu.model or "unknown"),
            f"{cpu.cores or '?'} cores / {cpu.threads or '?'} threads",
            f"max {cpu.max_mhz / 1000:.1f} GHz" if cpu.max_mhz else None,
        ),
    )
    mem = report.memory
    modules = ", ".join(
        escape(_join(_gib(m.size_bytes), m.type, f"{m.speed_mts} MT/s" if m.speed_mts else None))
        for m in mem.modules
    )
    grid.add_row(
        "Memory",
        _join(
            _gib(mem.total_bytes) + (" usable" if mem.total_source == "meminfo" else ""),
            modules or None,
            f"{mem.slots_free} free slot(s)" if mem.slots_free is not None else None,
        ),
    )
    for d in report.storage:
        grid.add_row(f"Disk {escape(d.name)}", _disk_line(d))
    if not report.storage:
        grid.add_row("Disk", "[yellow]none found[/]")
    for b in report.batteries:
        grid.add_row(f"Battery {escape(b.name)}", _battery_line(b))
    if not report.batteries:
        grid.add_row("Battery", "none")
    for s in report.displays:
        grid.add_row(
            "Screen",
            _join(
                "internal" if s.internal else "external",
                f'{s.diagonal_in:g}"' if s.diagonal_in else None,
                f"{s.native_width}×{s.native_height}" if s.native_width else None,
                escape(_join(s.manufacturer, s.name)) or None,
            ),
        )
    for g in report.gpus:
        grid.add_row("GPU", escape(_join(g.vendor, g.model)) or "unknown")
    for n in report.network:
        grid.add_row("Network", escape(_join(n.kind, n.name, n.mac, n.model)))
    kinds = sorted({p.kind for p in report.peripherals})
    grid.add_row("Other", ", ".join(kinds) if kinds else "none found")
    console.print(grid)
    if report.gaps:
        console.print(f"[yellow]Could not read ({len(report.gaps)}):[/]")
        for gap in report.gaps:
            console.print(f"  [dim]{escape(gap.what)}: {escape(gap.why)}[/]")
