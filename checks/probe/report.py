"""Assemble the hardware report from every probe module, reading through one Source."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from checks.identity import IdentityFacts, device_id, is_universal_mac
from checks.probe.battery import read_batteries
from checks.probe.boot import read_firmware
from checks.probe.buses import read_pci, read_usb
from checks.probe.cpu import read_cpu
from checks.probe.display import read_displays
from checks.probe.dmi import read_device, read_dmidecode
from checks.probe.gpu import gpus_from_pci
from checks.probe.memory import read_memory
from checks.probe.model import GapEntry, HardwareReport, ReportSource, StorageDevice
from checks.probe.network import read_network
from checks.probe.peripherals import peripherals_from
from checks.probe.storage import read_storage
from checks.probe.tpm import read_tpm
from checks.probe.values import get_path
from checks.source import CaptureSource, Source

# A capture written by `weee capture` stores the live run's gaps here, so that its
# replay reports the same reasons ("dmidecode: permission denied") the live run saw.
GAPS_KEY = "probe-gaps.json"

# Sources whose absence from a hand-made capture is worth saying
_MAIN_KEYS = {
    "cmd/dmidecode.txt": "device, memory modules",
    "cmd/lsblk.json": "disks",
    "proc/cpuinfo": "processor",
    "cmd/lspci.txt": "GPUs, network, audio",
}


def _is_thorough(source: Source) -> bool:
    """True when the source is a whole machine: what is not found is not there."""
    return source.live or source.read("capture.json") is not None


def _identity_facts(report: HardwareReport) -> IdentityFacts:
    macs = tuple(
        n.mac
        for n in report.network
        if n.mac and n.bus in ("pci", "sdio") and is_universal_mac(n.mac)
    )
    drives = tuple(d.serial for d in report.storage if d.serial and _is_internal_drive(d))
    return IdentityFacts(
        manufacturer=report.device.manufacturer,
        serial=report.device.serial,
        board_serial=report.device.board_serial,
        uuid=report.device.uuid,
        builtin_macs=macs,
        internal_drive_serials=drives,
    )


def _is_internal_drive(disk: StorageDevice) -> bool:
    return disk.protocol in ("ata", "nvme", "mmc", "scsi") and disk.removable is not True


def _source_info(source: Source) -> ReportSource:
    if isinstance(source, CaptureSource):
        meta = source.read_json("capture.json")
        as_root = get_path(meta, "as_root")
        captured_at = get_path(meta, "captured_at")
        return ReportSource(
            live=False,
            capture=str(source.path),
            as_root=as_root if isinstance(as_root, bool) else None,
            captured_at=captured_at if isinstance(captured_at, str) else None,
        )
    return ReportSource(live=source.live, as_root=os.geteuid() == 0)


def build_report(
    source: Source,
    *,
    pool: ThreadPoolExecutor | None = None,
    origin: Source | None = None,
) -> HardwareReport:
    """The hardware report of ``source``: never raises for missing or odd data.

    ``pool`` runs the external tools (``checks.probe.build_report`` passes the one its
    prefetching started them in); ``origin`` is the source the caller made, when
    ``source`` wraps it, for the report's metadata.
    """
    if pool is None:
        with ThreadPoolExecutor(max_workers=8) as own_pool:
            return build_report(source, pool=own_pool, origin=origin)
    origin = origin or source
    thorough = _is_thorough(source)
    # The external tools are most of the time (smartctl: tens to hundreds of ms per
    # drive); they run in workers while the main thread reads sysfs and procfs.
    storage_job = pool.submit(read_storage, source)
    pci_job = pool.submit(read_pci, source)
    usb_job = pool.submit(read_usb, source)
    dmi = read_dmidecode(source)
    report = HardwareReport()
    report.device = read_device(source, dmi)
    report.firmware = read_firmware(source, thorough)
    report.cpu = read_cpu(source, dmi)
    report.memory = read_memory(source, dmi)
    report.batteries = read_batteries(source)
    report.displays = read_displays(source)
    pci = pci_job.result()
    usb = usb_job.result()
    report.gpus = gpus_from_pci(pci or [])
    report.network = read_network(source, pci)
    report.peripherals = peripherals_from(pci or [], usb or [])
    report.tpm = read_tpm(source, dmi, thorough)
    report.storage = storage_job.result()

    ident = device_id(_identity_facts(report))
    if ident is not None:
        report.device.device_id = ident.value
        report.device.device_id_basis = ident.basis
    else:
        source.note_gap("device.device_id", "no serial, UUID, built-in MAC or drive serial")

    if source.live and os.geteuid() != 0:
        source.note_gap("privileges", "not root: serials, memory modules and SMART need root")
    if not thorough:
        for key, what in _MAIN_KEYS.items():
            if source.read(key) is None:
                source.note_gap(key, f"not in capture ({what} unknown)")
    gaps = {(g.what, g.why) for g in source.gaps}
    recorded = source.read_json(GAPS_KEY) if not source.live else None
    if isinstance(recorded, list):
        for item in recorded:
            gap_what, gap_why = get_path(item, "what"), get_path(item, "why")
            if isinstance(gap_what, str) and isinstance(gap_why, str):
                gaps.add((gap_what, gap_why))
    report.gaps = [GapEntry(what, why) for what, why in sorted(gaps)]
    report.source = _source_info(origin)
    return report
