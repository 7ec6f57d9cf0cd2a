"""UEFI or legacy boot, and the Secure Boot state, from ``/sys/firmware/efi``."""

from __future__ import annotations

from checks.probe.model import Firmware
from checks.source import Source

EFI_GLOBAL = "8be4df61-93ca-11d2-aa0d-e0bf5f6c3b8c"


def parse_efivar_bool(raw: bytes | None) -> bool | None:
    """An efivarfs boolean: 4 attribute bytes, then the 1-byte value."""
    if raw is None or len(raw) < 5:
        return None
    return raw[4] == 1


def read_firmware(source: Source, thorough: bool) -> Firmware:
    platform_size = source.read("sys/firmware/efi/fw_platform_size")
    if platform_size is None:
        # no EFI directory: legacy BIOS boot (or CSM); unknown for a partial capture
        return Firmware(boot_mode="legacy" if thorough else None)
    vars_dir = "sys/firmware/efi/efivars"
    return Firmware(
        boot_mode="uefi",
        secure_boot=parse_efivar_bool(source.read(f"{vars_dir}/SecureBoot-{EFI_GLOBAL}")),
        setup_mode=parse_efivar_bool(source.read(f"{vars_dir}/SetupMode-{EFI_GLOBAL}")),
    )
