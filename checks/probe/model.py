"""The hardware report: typed results of the probe.

Every probe module returns one of these dataclasses; :func:`checks.probe.build_report`
assembles them into a :class:`HardwareReport`. Core field names are a contract with the
programme database and the checks (``/shared/docs/capture-format.md``): ``device.*``,
``cpu.*``, ``memory.*``, ``storage[]``, ``batteries[]``. Unknown values are ``None``,
never a placeholder string; a list is empty when nothing was found.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

REPORT_SCHEMA = "weee-hardware/1"


@dataclass
class Device:
    """Who made the laptop and which one it is (DMI types 0-3)."""

    manufacturer: str | None = None  # as the vendor writes it ("LENOVO", "Dell Inc.")
    model: str | None = None  # marketing name on the case ("ThinkPad T440p")
    serial: str | None = None  # None when missing or a placeholder
    chassis: str | None = None  # laptop|convertible|tablet|desktop|all-in-one|server|other
    sku: str | None = None
    family: str | None = None
    uuid: str | None = None  # SMBIOS system UUID, lower case; None when placeholder
    board_manufacturer: str | None = None
    board_model: str | None = None
    board_serial: str | None = None  # None when missing or a placeholder
    bios_vendor: str | None = None
    bios_version: str | None = None
    bios_date: str | None = None  # ISO date (YYYY-MM-DD) when parseable, else as given
    device_id: str | None = None  # stable identifier, see checks/identity.py
    device_id_basis: str | None = None  # system-serial | board-serial | system-uuid | mac | ...
    # raw DMI strings as read (placeholders kept), for audits and vendor quirks
    raw: dict[str, str | None] = field(default_factory=dict)


@dataclass
class Firmware:
    """How the machine booted: UEFI or legacy BIOS, and the Secure Boot state."""

    boot_mode: str | None = None  # "uefi" | "legacy"
    secure_boot: bool | None = None
    setup_mode: bool | None = None


@dataclass
class Cpu:
    """The processor, all sockets together."""

    model: str | None = None
    vendor: str | None = None
    architecture: str | None = None  # "x86_64", "aarch64", ...
    cores: int | None = None  # physical cores, all sockets
    threads: int | None = None  # logical CPUs
    sockets: int | None = None
    base_mhz: float | None = None
    max_mhz: float | None = None
    flags: list[str] = field(default_factory=list)


@dataclass
class MemoryModule:
    """One populated memory slot (DMI type 17)."""

    locator: str | None = None
    size_bytes: int | None = None
    type: str | None = None  # "DDR4", "LPDDR3", ...
    speed_mts: int | None = None
    configured_speed_mts: int | None = None
    form_factor: str | None = None  # "SODIMM", "DIMM", "Row Of Chips"
    manufacturer: str | None = None
    part_number: str | None = None
    serial: str | None = None


@dataclass
class Memory:
    """Installed memory, its modules and the free slots."""

    total_bytes: int | None = None  # installed (sum of modules; else /proc/meminfo)
    total_source: str | None = None  # "dmi" | "meminfo" (meminfo undercounts)
    slots_total: int | None = None
    slots_free: int | None = None
    max_capacity_bytes: int | None = None
    modules: list[MemoryModule] = field(default_factory=list)


@dataclass
class NvmeHealth:
    """The NVMe SMART / health log values the storage checks rest on."""

    critical_warning: int | None = None
    media_errors: int | None = None
    percentage_used: int | None = None
    available_spare: int | None = None
    available_spare_threshold: int | None = None


@dataclass
class Smart:
    """smartctl's summary of one drive; ``available`` False says why in ``unavailable_reason``."""

    available: bool = False
    unavailable_reason: str | None = None
    passed: bool | None = None
    power_on_hours: int | None = None
    temperature_c: int | None = None
    # raw values by attribute id: 5, 9, 187, 188, 196, 197, 198, ... when present
    ata_attributes: dict[int, int] = field(default_factory=dict)
    nvme: NvmeHealth | None = None
    self_test_supported: bool | None = None
    smartctl_exit_status: int | None = None


@dataclass
class StorageDevice:
    """One whole disk: lsblk's view merged with what the drive itself says."""

    name: str  # kernel name: "sda", "nvme0n1"
    path: str  # "/dev/sda"
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    vendor: str | None = None
    wwn: str | None = None
    size_bytes: int | None = None
    logical_sector_size: int | None = None
    physical_sector_size: int | None = None
    protocol: str | None = None  # ata | nvme | scsi | mmc | usb
    transport: str | None = None  # lsblk TRAN: "sata", "nvme", "usb", "mmc", ...
    rotational: bool | None = None
    removable: bool | None = None
    kind: str | None = None  # hdd | ssd | nvme | emmc | usb | other
    smart: Smart = field(default_factory=Smart)


@dataclass
class Battery:
    """One system battery from its power_supply uevent, energies in Wh."""

    name: str
    present: bool | None = None
    status: str | None = None
    technology: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    design_wh: float | None = None
    full_wh: float | None = None
    now_wh: float | None = None
    health_pct: float | None = None  # full / design * 100 (may exceed 100 on new packs)
    cycles: int | None = None  # None when unknown (0 or 65535 sentinels)
    voltage_min_design_v: float | None = None


@dataclass
class Display:
    """A panel or monitor described by its EDID."""

    connector: str  # "card0-eDP-1"
    internal: bool | None = None  # eDP/LVDS/DSI panel
    manufacturer: str | None = None  # EDID 3-letter PNP id ("LGD", "AUO")
    product_code: int | None = None
    name: str | None = None  # EDID monitor name descriptor
    serial: str | None = None
    width_mm: int | None = None
    height_mm: int | None = None
    diagonal_in: float | None = None
    native_width: int | None = None
    native_height: int | None = None
    year: int | None = None


@dataclass
class PciDevice:
    """One PCI function as lspci names it."""

    slot: str
    class_name: str | None = None
    vendor: str | None = None
    device: str | None = None
    vendor_id: str | None = None
    device_id: str | None = None
    driver: str | None = None


@dataclass
class UsbDevice:
    """One USB device as lsusb names it."""

    bus: str | None
    device_number: str | None
    vendor_id: str | None
    product_id: str | None
    description: str | None


@dataclass
class Gpu:
    """A graphics adapter."""

    vendor: str | None = None
    model: str | None = None
    pci_slot: str | None = None
    pci_id: str | None = None  # "8086:5916"


@dataclass
class NetworkInterface:
    """A network adapter: an interface, or a controller without a driver."""

    name: str | None = None  # "enp0s31f6", "wlp3s0"; None for a controller without one
    kind: str | None = None  # ethernet | wifi | wwan | bluetooth | other
    mac: str | None = None
    vendor: str | None = None
    model: str | None = None
    bus: str | None = None  # pci | usb | virtual | other
    pci_slot: str | None = None


@dataclass
class Peripheral:
    """A built-in device worth listing: webcam, audio, Bluetooth, readers."""

    kind: str  # webcam | audio | bluetooth | card-reader | fingerprint
    vendor: str | None = None
    model: str | None = None
    bus: str | None = None  # pci | usb
    id: str | None = None  # "8086:9dc8" / "04f2:b5ce"


@dataclass
class Tpm:
    """The Trusted Platform Module, when the firmware exposes one."""

    present: bool | None = None
    version: str | None = None  # "2.0" | "1.2"
    manufacturer: str | None = None


@dataclass
class GapEntry:
    """Something the probe could not read, and why."""

    what: str
    why: str


@dataclass
class ReportSource:
    """Where the facts came from: left out when comparing a capture with its replay."""

    live: bool
    capture: str | None = None
    as_root: bool | None = None
    captured_at: str | None = None


@dataclass
class HardwareReport:
    """The whole report of ``weee probe --json`` (schema ``weee-hardware/1``)."""

    schema: str = REPORT_SCHEMA
    device: Device = field(default_factory=Device)
    firmware: Firmware = field(default_factory=Firmware)
    cpu: Cpu = field(default_factory=Cpu)
    memory: Memory = field(default_factory=Memory)
    storage: list[StorageDevice] = field(default_factory=list)
    batteries: list[Battery] = field(default_factory=list)
    displays: list[Display] = field(default_factory=list)
    gpus: list[Gpu] = field(default_factory=list)
    network: list[NetworkInterface] = field(default_factory=list)
    peripherals: list[Peripheral] = field(default_factory=list)
    tpm: Tpm = field(default_factory=Tpm)
    gaps: list[GapEntry] = field(default_factory=list)
    source: ReportSource | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (ATA attribute ids become strings only when dumped as JSON)."""
        return asdict(self)
