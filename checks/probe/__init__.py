"""The hardware probe: one module per data source, one function assembling the report.

``build_report(source)`` reads everything through a :class:`checks.source.Source`, so
a live system and a capture folder give the same report.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    # The model classes are imported on first use, not with the package: the probe
    # starts its tools before paying for ~25 dataclass definitions (see prefetch.py).
    if name in __all__:
        from checks.probe import model

        return getattr(model, name)
    raise AttributeError(f"module 'checks.probe' has no attribute {name!r}")


def build_report(source: Source) -> HardwareReport:
    """The full hardware report of ``source`` (see :mod:`checks.probe.report`)."""
    from checks.probe.prefetch import PrefetchSource

    with ThreadPoolExecutor(max_workers=8) as pool:
        early = PrefetchSource(source, pool)
        from checks.probe.report import build_report as _build

        return _build(early, pool=pool, origin=source)
