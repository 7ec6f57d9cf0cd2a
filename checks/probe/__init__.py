"""The hardware probe: one module per data source, one function assembling the report.

``build_report(source)`` reads everything through a :class:`checks.source.Source`, so
a live system and a capture folder give the same report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from checks.probe.model import (
    Battery,
    Cpu,
    Device,
    Display,
    Firmware,
    GapEntry,
    Gpu,
    HardwareReport,
    Memory,
    MemoryModule,
    NetworkInterface,
    NvmeHealth,
    Peripheral,
    Smart,
    StorageDevice,
    Tpm,
)

if TYPE_CHECKING:
    from checks.source import Source

__all__ = [
    "Battery",
    "Cpu",
    "Device",
    "Display",
    "Firmware",
    "GapEntry",
    "Gpu",
    "HardwareReport",
    "Memory",
    "MemoryModule",
    "NetworkInterface",
    "NvmeHealth",
    "Peripheral",
    "Smart",
    "StorageDevice",
    "Tpm",
    "build_report",
]


def build_report(source: Source) -> HardwareReport:
    """The full hardware report of ``source`` (see :mod:`checks.probe.report`)."""
    from checks.probe.report import build_report as _build

    return _build(source)
