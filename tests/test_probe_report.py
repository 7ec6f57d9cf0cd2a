"""build_report over a capture holding every kind of source a laptop has."""

from __future__ import annotations

from checks.probe import build_report
from checks.probe.boot import EFI_GLOBAL
from checks.source import CaptureSource
from tests.conftest import CaptureFactory, fixture_path
from tests.test_probe_parsers import LSPCI_VMM, LSUSB, X86_CPUINFO, _edid


def _laptop(make_capture: CaptureFactory, **extra: bytes | str) -> CaptureSource:
    files: dict[str, object] = {
        "capture.json": '{"format": "weee-capture/1", "as_root": true}',
        "proc/cpuinfo": X86_CPUINFO,
        "proc/meminfo": "MemTotal:        7990000 kB\n",
        "cmd/lspci.txt": LSPCI_VMM,
        "cmd/lsusb.txt": LSUSB,
        "sys/class/drm/card0-eDP-1/edid": _edid(),
        "sys/class/drm/card0-HDMI-A-1/edid": b"",  # nothing plugged in
        "sys/firmware/efi/fw_platform_size": "64\n",
        f"sys/firmware/efi/efivars/SecureBoot-{EFI_GLOBAL}": b"\x06\x00\x00\x00\x01",
        "sys/class/tpm/tpm0/tpm_version_major": "2\n",
        "sys/class/power_supply/AC/uevent": "POWER_SUPPLY_NAME=AC\nPOWER_SUPPLY_TYPE=Mains\n",
        "sys/class/power_supply/BAT0/uevent": fixture_path(
            "power_supply", "lenovo-l14m4p23", "BAT0", "uevent"
        ),
        "sys/class/net/enp0s31f6/uevent": "INTERFACE=enp0s31f6\n",
        "sys/class/net/enp0s31f6/device/uevent": "DRIVER=e1000e\nPCI_SLOT_NAME=0000:00:1f.6\n",
        "sys/class/net/enp0s31f6/address": "54:e1:ad:11:22:33\n",
        "sys/class/net/enp0s31f6/type": "1\n",
        "sys/class/net/enp0s31f6/addr_assign_type": "0\n",
        "sys/class/net/lo/uevent": "INTERFACE=lo\n",
        "sys/class/net/lo/address": "00:00:00:00:00:00\n",
    }
    files.update(extra)
    return CaptureSource(make_capture(files))  # type: ignore[arg-type]


def test_every_section_of_a_laptop(make_capture: CaptureFactory) -> None:
    report = build_report(_laptop(make_capture))
    assert report.firmware.boot_mode == "uefi" and report.firmware.secure_boot is True
    assert report.tpm.present is True and report.tpm.version == "2.0"
    (panel,) = report.displays
    assert panel.internal and panel.diagonal_in == 14.0 and panel.native_width == 1920
    assert [g.model for g in report.gpus] == ["HD Graphics 620"]
    kinds = {(n.kind, n.name) for n in report.network}
    # the Wi-Fi card has no interface and no sysfs driver entry: shown without a name
    assert kinds == {("ethernet", "enp0s31f6"), ("wifi", None)}
    eth = next(n for n in report.network if n.name == "enp0s31f6")
    assert eth.model == "Ethernet Connection (4) I219-V" and eth.mac == "54:e1:ad:11:22:33"
    assert {p.kind for p in report.peripherals} == {"audio", "bluetooth", "webcam", "fingerprint"}
    assert [b.name for b in report.batteries] == ["BAT0"]
    assert report.memory.total_bytes == 7990000 * 1024 and report.memory.total_source == "meminfo"
    assert report.cpu.cores == 2 and report.cpu.threads == 4
    # no DMI: the id rests on the burnt-in MAC of the built-in Ethernet
    assert report.device.device_id_basis == "mac"


def test_legacy_boot_and_no_tpm_on_a_whole_machine_capture(make_capture: CaptureFactory) -> None:
    source = _laptop(make_capture)
    for key in ("sys/firmware/efi/fw_platform_size", "sys/class/tpm/tpm0/tpm_version_major"):
        (source.path / key).unlink()
    (source.path / "sys/class/tpm/tpm0").rmdir()
    report = build_report(source)
    assert report.firmware.boot_mode == "legacy" and report.firmware.secure_boot is None
    assert report.tpm.present is False


def test_recorded_gaps_of_the_live_run_come_back(make_capture: CaptureFactory) -> None:
    gaps = '[{"what": "cmd/dmidecode.txt", "why": "dmidecode: not installed"}]'
    report = build_report(_laptop(make_capture, **{"probe-gaps.json": gaps}))
    assert ("cmd/dmidecode.txt", "dmidecode: not installed") in {
        (g.what, g.why) for g in report.gaps
    }
