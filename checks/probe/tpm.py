"""The TPM: ``/sys/class/tpm`` first, SMBIOS type 43 as a fallback."""

from __future__ import annotations

from checks.probe.dmi import DmiRecord, records_of
from checks.probe.model import Tpm
from checks.probe.values import text, to_int
from checks.source import Source


def parse_tpm_sysfs(version_major: str | None, caps: str | None) -> Tpm:
    major = to_int((version_major or "").strip())
    if major == 2:
        return Tpm(present=True, version="2.0")
    if major == 1:
        return Tpm(present=True, version="1.2")
    for line in (caps or "").splitlines():
        if line.startswith("TCG version:"):
            return Tpm(present=True, version=line.split(":", 1)[1].strip() or None)
    return Tpm(present=True)


def parse_tpm_dmi(records: list[DmiRecord]) -> Tpm:
    recs = records_of(records, 43)
    if not recs:
        return Tpm()
    fields = recs[0].fields
    spec = text(fields.get("Specification Version"))
    return Tpm(present=True, version=spec, manufacturer=text(fields.get("Vendor ID")))


def read_tpm(source: Source, dmi: list[DmiRecord] | None, thorough: bool) -> Tpm:
    """``thorough``: the source is the whole machine, so nothing found means no TPM."""
    devices = [d for d in source.listdir("sys/class/tpm") if d.startswith("tpm")]
    if devices:
        base = f"sys/class/tpm/{devices[0]}"
        tpm = parse_tpm_sysfs(
            source.read_text(f"{base}/tpm_version_major"),
            source.read_text(f"{base}/device/caps"),
        )
        if tpm.version is None or tpm.manufacturer is None:
            from_dmi = parse_tpm_dmi(dmi or [])
            tpm.version = tpm.version or from_dmi.version
            tpm.manufacturer = from_dmi.manufacturer
        return tpm
    tpm = parse_tpm_dmi(dmi or [])
    if tpm.present is None and thorough:
        # a TPM switched off in the firmware setup is absent for the OS too
        tpm.present = False
    return tpm
