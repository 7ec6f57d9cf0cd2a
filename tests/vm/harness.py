"""Boot a laptop-shaped QEMU guest, run a script in it, bring its results back.

The guest (``scripts/build-vm-guest``: Debian bookworm, Debian's python3 and weee's
runtime dependencies as python3-* packages, the tools weee calls) boots with
``init=/bench/init`` instead of systemd: that init mounts two 9p shares -- this source
tree read-only at ``/weee`` and the results folder read-write at ``/out`` -- starts udevd
for the block devices, runs ``/out/.vm/run.sh`` (the script given to :func:`boot_vm`,
with ``PYTHONPATH=/weee`` and ``weee`` on ``PATH``), writes its exit status to
``/out/.vm/exit_status`` and powers off. About 20 s per boot under software emulation.

The guest boots from a USB stick, as a bench laptop boots weee: its root filesystem is a
``usb-storage`` device (removable) on the laptop's xHCI controller, found by the kernel
by its label (``root=LABEL=weee-vm-root``), so it is reported, and refused, as the
boot medium and never as one of the laptop's internal drives. It is opened with
``snapshot=on``: every boot starts from the same image, and the cached image is never
modified. The VM is always killed when :func:`boot_vm`
returns, whatever happened (timeout, exception, power-cut trigger).

See tests/vm/README.md for how to use it in a test.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import struct
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from checks.system import run_command

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "scripts" / "build-vm-guest"
QEMU = "qemu-system-x86_64"
# Where the guest reaches the host through QEMU's user networking (slirp): QEMU's own
# internal network inside the QEMU process, no real network involved.
HOST_FROM_GUEST = "10.0.2.2"
# The guest's root disk: the USB stick the laptop boots from (serial as lsblk shows it).
ROOT_SERIAL = "WEEEVMROOT01"

# Shell functions every script run by :func:`boot_vm` can call. /dev/sdX names depend on
# the order the disks were probed in (the root stick, then the SATA drives, with other USB
# drives in between): find a disk by what it is, never by its sdX name.
GUEST_FUNCTIONS = r"""
# disk_by_serial SERIAL: the whole disk with that serial number (/dev/sdb, /dev/nvme0n1)
disk_by_serial() { lsblk -dnpo PATH,SERIAL | awk -v s="$1" '$2==s {print $1}'; }
# root_disk: the whole disk that holds the running system's / (the USB stick booted from)
root_disk() {
  _src=$(findmnt -no SOURCE /) || return 1
  _parent=$(lsblk -ndo PKNAME "$_src" 2>/dev/null)
  echo "/dev/${_parent:-${_src#/dev/}}"
}
"""


# --- the guest -----------------------------------------------------------------------


@dataclass(frozen=True)
class Guest:
    directory: Path

    @property
    def kernel(self) -> Path:
        return self.directory / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.directory / "initrd.img"

    @property
    def rootfs(self) -> Path:
        return self.directory / "rootfs.img"

    @property
    def root_label(self) -> str:
        """The root filesystem's label, as scripts/build-vm-guest wrote it."""
        manifest = json.loads((self.directory / "manifest.json").read_text())
        label = manifest.get("root_label")
        if not isinstance(label, str) or not label:
            raise RuntimeError(f"{self.directory}/manifest.json names no root_label: rebuild")
        return label


def vm_unavailable_reason() -> str | None:
    """Why VM tests cannot run on this machine, or None when they can."""
    if shutil.which(QEMU) is None:
        return f"{QEMU} not installed (scripts/setup --dev installs qemu-system-x86)"
    if shutil.which("debootstrap") is None and shutil.which("/usr/sbin/debootstrap") is None:
        return "debootstrap not installed (scripts/setup --dev)"
    if os.geteuid() != 0:
        return "building the VM guest needs root (debootstrap)"
    return None


@functools.cache
def build_guest() -> Guest:
    """Build the guest, or find it in the cache (``/var/cache/weee-vm/<hash>``).

    Cached per process, so several test modules share one build; the script itself takes
    a lock, so concurrent test runs wait for one build instead of racing.
    """
    result = run_command([str(BUILD_SCRIPT)], timeout=1200)
    if not result.ok:
        raise RuntimeError(
            f"scripts/build-vm-guest failed ({result.error or result.returncode}):\n"
            + result.stderr_text[-3000:]
        )
    directory = Path(result.text.strip().splitlines()[-1])
    return Guest(directory)


def guest_or_skip() -> Guest:
    """The guest for a test: skip (with the reason) when this machine cannot run VMs."""
    reason = vm_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    return build_guest()


# --- the laptop's parts --------------------------------------------------------------


@dataclass(frozen=True)
class Drive:
    """One emulated disk of the laptop, backed by an image file on the host.

    ``blkdebug``: a blkdebug config file (see :func:`write_blkdebug_config`) wrapping the
    image, to inject I/O errors. ``properties``: extra QEMU device properties, e.g.
    ``{"smart_critical_warning": "4"}`` on an NVMe drive (smartctl then says FAILED).
    """

    kind: Literal["nvme", "sata", "usb"]
    image: Path
    serial: str
    model: str | None = None  # SATA only: QEMU's nvme and usb-storage take no model
    rotation_rate: int = 1  # SATA: 1 = SSD; 0 = let QEMU say rotational (an HDD)
    blkdebug: Path | None = None
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BlkdebugRule:
    sector: int  # 512-byte sector
    event: Literal["read_aio", "write_aio"] = "write_aio"
    errno: int = 5  # EIO


def write_blkdebug_config(path: Path, rules: Sequence[BlkdebugRule]) -> Path:
    """One ``[inject-error]`` section per rule; the guest sees ``I/O error, dev ...``."""
    sections = [
        "[inject-error]\n"
        f'event = "{rule.event}"\nerrno = "{rule.errno}"\n'
        f'sector = "{rule.sector}"\nonce = "off"\n'
        for rule in rules
    ]
    path.write_text("\n".join(sections))
    return path


def make_disk(path: Path, size_bytes: int, *, marker: bytes | None = None) -> Path:
    """A sparse disk image; with ``marker``, the marker is written every MiB.

    The marker lands at the start of every MiB, so an erasure that skips any region of
    the disk leaves one behind; :func:`count_marker` finds them afterwards.
    """
    with path.open("wb") as f:
        f.truncate(size_bytes)
        if marker:
            for offset in range(0, size_bytes, 1 << 20):
                f.seek(offset)
                f.write(marker[: size_bytes - offset])
            # the very last sector too: the off-by-one that overwrite tools get wrong
            f.seek(max(0, size_bytes - 512))
            f.write(marker[:512])
    return path


def count_marker(path: Path, marker: bytes) -> int:
    """How many times ``marker`` appears in the image (chunked, overlap-safe)."""
    count = 0
    tail = b""
    with path.open("rb") as f:
        while chunk := f.read(8 << 20):
            data = tail + chunk
            count += data.count(marker)
            # keep an overlap so a marker across two chunks is seen, but not twice
            tail = data[-(len(marker) - 1) :] if len(marker) > 1 else b""
    return count


# --- the laptop's identity (SMBIOS) ----------------------------------------------------


@dataclass(frozen=True)
class Smbios:
    """The firmware identity of the emulated laptop.

    Types 0, 1 and 2 go through ``-smbios type=N,...``; the chassis (type 3) is passed as
    a raw structure because QEMU cannot set the chassis type otherwise (always "Other").
    """

    manufacturer: str
    product: str
    version: str
    serial: str
    sku: str = ""
    family: str = ""
    uuid: str | None = None
    board_serial: str = ""
    board_version: str = ""
    bios_vendor: str = ""
    bios_version: str = ""
    bios_date: str = ""
    chassis_type: int = 0x0A  # Notebook
    chassis_sku: str = ""

    def qemu_args(self, type3_file: Path) -> list[str]:
        def kv(pairs: dict[str, str]) -> str:
            # QEMU option syntax: a comma inside a value is doubled
            return ",".join(f"{k}={v.replace(',', ',,')}" for k, v in pairs.items() if v)

        type1 = {
            "manufacturer": self.manufacturer,
            "product": self.product,
            "version": self.version,
            "serial": self.serial,
            "sku": self.sku,
            "family": self.family,
            "uuid": self.uuid or "",
        }
        type2 = {
            "manufacturer": self.manufacturer,
            "product": self.product,
            "version": self.board_version,
            "serial": self.board_serial,
        }
        args = ["-smbios", "type=1," + kv(type1), "-smbios", "type=2," + kv(type2)]
        type0 = {"vendor": self.bios_vendor, "version": self.bios_version, "date": self.bios_date}
        if any(type0.values()):
            args += ["-smbios", "type=0," + kv(type0)]
        type3_file.write_bytes(self.type3_structure())
        args += ["-smbios", f"file={type3_file}"]
        return args

    def type3_structure(self) -> bytes:
        """A raw SMBIOS 2.7 type-3 (System Enclosure) structure, 22 bytes + strings."""
        strings = [self.manufacturer, "None", self.serial, "No Asset Information"]
        sku = self.chassis_sku
        if sku:
            strings.append(sku)
        formatted = struct.pack(
            "<BBHBBBBBBBBBIBBBBB",
            3,  # type
            22,  # length of the formatted area
            0x0300,  # handle (where QEMU puts its own type 3)
            1,  # manufacturer: string 1
            self.chassis_type,
            2,  # version: string 2
            3,  # serial number: string 3
            4,  # asset tag: string 4
            0x03,  # boot-up state: safe
            0x03,  # power supply state: safe
            0x03,  # thermal state: safe
            0x03,  # security status: none
            0,  # OEM-defined
            0,  # height: unspecified
            0,  # number of power cords: unspecified
            0,  # contained element count
            3,  # contained element record length
            5 if sku else 0,  # SKU number: string 5
        )
        table = b"".join(s.encode("ascii") + b"\0" for s in strings) + b"\0"
        return formatted + table


# A real laptop's identity: the Lenovo ThinkPad X1 Carbon 5th of the recordings in
# shared/fixtures/qemu-vm (Lenovo puts the marketing name in the system Version).
THINKPAD_X1_CARBON_5 = Smbios(
    manufacturer="LENOVO",
    product="20HRCTO1WW",
    version="ThinkPad X1 Carbon 5th",
    serial="PF0XXXXX",
    sku="LENOVO_MT_20HR_BU_Think_FM_ThinkPad X1 Carbon 5th",
    family="ThinkPad X1 Carbon 5th",
    uuid="4c4c4544-0042-3510-8051-b2c04f4e3432",
    board_serial="L1HF7AB01XY",
    board_version="SDK0J40697 WIN",
    bios_vendor="LENOVO",
    bios_version="N1MET70W (1.55 )",
    bios_date="09/26/2022",
    chassis_sku="LENOVO_MT_20HR",
)


# --- booting -------------------------------------------------------------------------


@dataclass(frozen=True)
class VMResult:
    console_log: str  # the serial console: kernel messages, init, the script's output
    exit_status: int | None  # the script's exit status; None if it never finished
    share_dir: Path  # the results folder (the guest's /out)
    duration_s: float
    timed_out: bool = False
    power_cut: bool = False  # killed on purpose by ``power_cut_on``

    def summary(self, lines: int = 60) -> str:
        """The end of the console, for assertion messages."""
        tail = "\n".join(self.console_log.splitlines()[-lines:])
        return f"exit_status={self.exit_status} timed_out={self.timed_out}\n{tail}"


def _drive_args(index: int, drive: Drive) -> list[str]:
    node = f"d{index}"
    if drive.blkdebug is not None:
        backing = (
            f"if=none,id={node},format=raw,file.driver=blkdebug,"
            f"file.config={drive.blkdebug},file.image.filename={drive.image}"
        )
    else:
        backing = f"file={drive.image},format=raw,if=none,id={node}"
    extra = "".join(f",{k}={v}" for k, v in drive.properties.items())
    args = ["-drive", backing]
    if drive.kind == "nvme":
        args += ["-device", f"nvme,serial={drive.serial},drive={node}{extra}"]
    elif drive.kind == "sata":
        # one AHCI controller per disk keeps the option simple (ahciN.0)
        model = (drive.model or "QEMU HARDDISK").replace(",", ",,")
        args += [
            "-device",
            f"ahci,id=ahci{index}",
            "-device",
            f"ide-hd,drive={node},bus=ahci{index}.0,serial={drive.serial},model={model},"
            f"rotation_rate={drive.rotation_rate}{extra}",
        ]
    else:
        args += ["-device", f"usb-storage,bus=xhci.0,drive={node},serial={drive.serial}{extra}"]
    return args


def qemu_command(
    guest: Guest,
    *,
    drives: Sequence[Drive],
    smbios: Smbios,
    share: Path,
    console: Path,
    network: bool,
    source: Path,
    memory_mb: int,
    cpus: int,
) -> list[str]:
    accel = os.environ.get("WEEE_VM_ACCEL", "tcg")
    # Nested KVM hangs after the BIOS on these machines (vm-recipe.md): software
    # emulation unless someone opts in with WEEE_VM_ACCEL=kvm on a machine where it works.
    accel_args = (
        ["-accel", "kvm", "-cpu", "host"]
        if accel == "kvm"
        else ["-accel", "tcg,thread=multi", "-cpu", "max"]
    )
    argv = [
        QEMU,
        *accel_args,
        "-machine",
        "q35",
        "-smp",
        str(cpus),
        "-m",
        str(memory_mb),
        "-display",
        "none",
        "-monitor",
        "none",
        "-serial",
        f"file:{console}",
        "-no-reboot",
        "-kernel",
        str(guest.kernel),
        "-initrd",
        str(guest.initrd),
        "-append",
        # no_timer_check: under a loaded host the kernel's IO-APIC timer check can miss
        # its ticks in software emulation and panic at boot ("IO-APIC + timer doesn't
        # work"); a laptop's real timer is not what these tests examine.
        # root=LABEL=: the stick is sdX in whatever order the disks come (the initrd's
        # udev resolves the label); usb_storage.delay_use=0: no 1 s wait before its scan.
        f"console=ttyS0 root=LABEL={guest.root_label} rw init=/bench/init panic=-1 quiet"
        " no_timer_check usb_storage.delay_use=0",
        # The root disk: a USB stick on the laptop's xHCI controller, as on a bench.
        "-device",
        "qemu-xhci,id=xhci",
        "-drive",
        f"file={guest.rootfs},format=raw,if=none,id=root,snapshot=on",
        "-device",
        f"usb-storage,bus=xhci.0,drive=root,removable=on,serial={ROOT_SERIAL}",
        "-virtfs",
        f"local,path={share},mount_tag=out,security_model=none",
        "-virtfs",
        f"local,path={source},mount_tag=weee,security_model=none,readonly=on",
    ]
    # The guest reaches the host at 10.0.2.2 through QEMU's user-mode network stack.
    argv += ["-nic", "user,model=virtio-net-pci"] if network else ["-nic", "none"]
    for index, drive in enumerate(drives):
        argv += _drive_args(index, drive)
    argv += smbios.qemu_args(share / ".vm" / "smbios-type3.bin")
    return argv


def boot_vm(
    script: str,
    *,
    guest: Guest,
    drives: Sequence[Drive] = (),
    smbios: Smbios = THINKPAD_X1_CARBON_5,
    share: Path,
    timeout: float = 600.0,  # a boot takes ~60 s quiet; a stuck guest costs only a failing run
    network: bool = False,
    power_cut_on: str | None = None,
    power_cut_delay: float = 0.0,
    source: Path = REPO,
    memory_mb: int = 1024,
    cpus: int = 2,
) -> VMResult:
    """Boot the guest, run ``script`` (sh) in it, return when it powers off or is killed.

    ``share`` is the guest's ``/out``: put inputs there, find outputs there. It survives
    the VM, so booting twice with the same ``share`` is a reboot of the same bench (the
    power-cut test does that). ``power_cut_on``: when this text appears on the console,
    wait ``power_cut_delay`` seconds and kill QEMU, like pulling the plug.
    """
    share.mkdir(parents=True, exist_ok=True)
    control = share / ".vm"
    control.mkdir(exist_ok=True)
    (control / "exit_status").unlink(missing_ok=True)
    (control / "run.sh").write_text("set -u\n" + GUEST_FUNCTIONS + script)
    console = control / "console.log"
    console.write_bytes(b"")
    argv = qemu_command(
        guest,
        drives=drives,
        smbios=smbios,
        share=share,
        console=console,
        network=network,
        source=source,
        memory_mb=memory_mb,
        cpus=cpus,
    )
    started = time.monotonic()
    timed_out, power_cut = _run_qemu(
        argv, control, console, timeout=timeout, stop_on=power_cut_on, stop_delay=power_cut_delay
    )
    duration = time.monotonic() - started
    status_file = control / "exit_status"
    exit_status: int | None = None
    if status_file.exists() and not power_cut:
        text = status_file.read_text().strip()
        exit_status = int(text) if text.lstrip("-").isdigit() else None
    log = console.read_text(errors="replace")
    stderr = (control / "qemu-stderr.txt").read_text(errors="replace").strip()
    if stderr:
        log += "\n[qemu stderr]\n" + stderr
    return VMResult(
        console_log=log,
        exit_status=exit_status,
        share_dir=share,
        duration_s=duration,
        timed_out=timed_out,
        power_cut=power_cut,
    )


def _run_qemu(
    argv: Sequence[str],
    control: Path,
    console: Path,
    *,
    timeout: float,
    stop_on: str | None,
    stop_delay: float,
) -> tuple[bool, bool]:
    """Run QEMU until it exits, ``timeout`` passes (timed out) or ``stop_on`` appears on
    the console (stopped: killed ``stop_delay`` s later). Always killed on return."""
    (control / "qemu-argv.txt").write_text("\n".join(argv) + "\n")
    started = time.monotonic()
    timed_out = stopped = False
    # Popen, not checks.system.run_command: the VM runs for minutes and must be watched
    # while it runs (console triggers for the power cut) and killed on every exit path.
    with (control / "qemu-stderr.txt").open("wb") as stderr_file:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr_file,
            start_new_session=True,
        )
    try:
        stop_at: float | None = None
        while proc.poll() is None:
            now = time.monotonic()
            if now - started > timeout:
                timed_out = True
                break
            if stop_on is not None and stop_at is None:
                if stop_on in console.read_text(errors="replace"):
                    stop_at = now + stop_delay
            if stop_at is not None and now >= stop_at:
                stopped = True
                break
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    return timed_out, stopped


OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")


def boot_disk(
    stick: Path,
    *,
    firmware: Literal["bios", "uefi"],
    work: Path,
    drives: Sequence[Drive] = (),
    smbios: Smbios = THINKPAD_X1_CARBON_5,
    timeout: float = 600.0,
    stop_on: str | None = None,
    stop_delay: float = 1.0,
    memory_mb: int = 1536,
    cpus: int = 2,
) -> VMResult:
    """Boot the laptop from ``stick`` (a USB stick image: the live image) through its
    firmware, legacy BIOS (SeaBIOS) or UEFI (OVMF), as a technician would. The serial
    console is the log; ``stop_on`` kills the VM once that text appears on it."""
    work.mkdir(parents=True, exist_ok=True)
    console = work / "console.log"
    console.write_bytes(b"")
    argv = [
        QEMU, "-accel", "tcg,thread=multi", "-cpu", "max", "-machine", "q35",
        "-smp", str(cpus), "-m", str(memory_mb), "-display", "none", "-monitor", "none",
        "-serial", f"file:{console}", "-no-reboot", "-nic", "none",
        "-device", "qemu-xhci,id=xhci",
        "-drive", f"if=none,id=stick,format=raw,file={stick}",
        "-device", "usb-storage,bus=xhci.0,drive=stick,bootindex=0,removable=on",
    ]  # fmt: skip
    if firmware == "uefi":
        vars_copy = work / "OVMF_VARS.fd"
        shutil.copyfile(OVMF_VARS, vars_copy)
        argv += [
            "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
            "-drive", f"if=pflash,format=raw,unit=1,file={vars_copy}",
        ]  # fmt: skip
    for index, drive in enumerate(drives):
        argv += _drive_args(index, drive)
    argv += smbios.qemu_args(work / "smbios-type3.bin")
    started = time.monotonic()
    timed_out, stopped = _run_qemu(
        argv, work, console, timeout=timeout, stop_on=stop_on, stop_delay=stop_delay
    )
    log = console.read_text(errors="replace")
    stderr = (work / "qemu-stderr.txt").read_text(errors="replace").strip()
    if stderr:
        log += "\n[qemu stderr]\n" + stderr
    return VMResult(
        console_log=log,
        exit_status=None,
        share_dir=work,
        duration_s=time.monotonic() - started,
        timed_out=timed_out,
        power_cut=stopped,
    )
