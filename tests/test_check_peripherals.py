"""Peripheral verdicts, the QEMU guest recordings, and the webcam snapshot renderer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checks.health import run_health_checks
from checks.health.guided import parse_ppm, render_halfblocks
from checks.health.peripherals import (
    ethernet_verdict,
    parse_iw_scan,
    usb_verdict,
    wifi_verdict,
)
from checks.policy import load_default_policy
from checks.probe import build_report
from checks.probe.model import HardwareReport, NetworkInterface, Peripheral
from checks.source import CaptureSource
from tests.conftest import FIXTURES, CaptureFactory

POLICY = load_default_policy()
QEMU_CASES = ["plain", "nvme-critical-warning"]


def _qemu_capture(case: str, make_capture: CaptureFactory) -> Path:
    base = FIXTURES / "qemu-vm" / case
    if not base.is_dir():
        pytest.skip(f"recording not available: {base}")
    return make_capture(
        {
            "cmd/smartctl/nvme0n1.json": base / "smartctl_nvme.json",
            "cmd/smartctl/sda.json": base / "smartctl_sata.json",
            "cmd/smartctl/sdb.json": base / "smartctl_usb.json",
            "cmd/lspci.txt": base / "lspci.txt",
        }
    )


@pytest.mark.parametrize("case", QEMU_CASES)
def test_qemu_guest_recordings(case: str, make_capture: CaptureFactory) -> None:
    capture = _qemu_capture(case, make_capture)
    source = CaptureSource(capture)
    outcome = run_health_checks(build_report(source), source, POLICY, only=["storage.smart", "usb"])
    by_id = {r.id: r for r in outcome.results}
    nvme = by_id["storage.smart.nvme0n1"]
    # the guest's NVMe drive was started with smart_critical_warning=4 in the second case
    recorded = json.loads((FIXTURES / "qemu-vm" / case / "smartctl_nvme.json").read_text())
    warning = recorded["nvme_smart_health_information_log"]["critical_warning"]
    assert nvme.verdict.evidence["nvme"]["critical_warning"] == warning
    if warning:
        assert nvme.status == "fail"
        assert any("reliability degraded" in f for f in nvme.verdict.evidence["findings"])
    else:
        assert nvme.status == "pass"
    assert by_id["storage.smart.sda"].status == "pass"
    # behind an unknown USB bridge: no SMART, said so, never a pass
    usb_disk = by_id["storage.smart.sdb"]
    assert (
        usb_disk.status == "warn"
        and "Unknown USB bridge" in usb_disk.verdict.evidence["unavailable_reason"]
    )
    usb = by_id["usb"]
    assert usb.status == "pass" and "QEMU XHCI" in usb.verdict.evidence["controllers"][0]["device"]


def test_usb_controller_kind_from_the_pci_class(make_capture: CaptureFactory) -> None:
    lspci = (
        "Slot:\t00:14.0\nClass:\tUSB controller [0c03]\nVendor:\tIntel Corporation [8086]\n"
        "Device:\tSunrise Point-LP USB 3.0 xHCI Controller [9d2f]\n"
    )
    capture = make_capture(
        {"cmd/lspci.txt": lspci, "sys/bus/pci/devices/0000:00:14.0/class": "0x0c0330\n"}
    )
    verdict = usb_verdict(CaptureSource(capture))
    assert verdict.status == "pass" and "xHCI (USB 3)" in verdict.message.render("en")
    assert (
        usb_verdict(
            CaptureSource(
                make_capture(
                    {"cmd/lspci.txt": "Slot:\t00:02.0\nClass:\tVGA compatible controller [0300]\n"}
                )
            )
        ).status
        == "fail"
    )


def _report(*network: NetworkInterface, peripherals: tuple[Peripheral, ...] = ()) -> HardwareReport:
    return HardwareReport(network=list(network), peripherals=list(peripherals))


WLAN = NetworkInterface(name="wlp2s0", kind="wifi", bus="pci", model="Wireless 8265")


def test_wifi_present_absent_and_scanned() -> None:
    assert wifi_verdict(_report()).status == "fail"
    assert wifi_verdict(_report()).repair is not None
    assert wifi_verdict(_report(WLAN)).status == "pass"
    assert wifi_verdict(_report(WLAN), scan=lambda _i: 7).message.id == "wifi.scan_ok"
    assert wifi_verdict(_report(WLAN), scan=lambda _i: 0).status == "warn"
    assert wifi_verdict(_report(WLAN), scan=lambda _i: None).message.id == "wifi.present"
    no_driver = NetworkInterface(name=None, kind="wifi", bus="pci", model="BCM4313")
    assert wifi_verdict(_report(no_driver)).message.id == "wifi.controller_only"


def test_iw_scan_counts_distinct_networks() -> None:
    text = (
        "BSS 00:11:22:33:44:55(on wlp2s0)\n\tSSID: a\n"
        "BSS 66:77:88:99:aa:bb(on wlp2s0) -- associated\n\tSSID: b\n"
        "BSS 00:11:22:33:44:55(on wlp2s0)\n"
    )
    assert parse_iw_scan(text) == 2


@pytest.mark.parametrize(
    ("carrier", "status", "message"),
    [
        ("1", "pass", "ethernet.link"),
        ("0", "warn", "ethernet.no_link"),
        (None, "pass", "ethernet.present"),
    ],
)
def test_ethernet_link(
    carrier: str | None, status: str, message: str, make_capture: CaptureFactory
) -> None:
    files = {"sys/class/net/enp0s31f6/speed": "1000\n"}
    if carrier is not None:
        files["sys/class/net/enp0s31f6/carrier"] = carrier + "\n"
    eth = NetworkInterface(name="enp0s31f6", kind="ethernet", bus="pci")
    verdict = ethernet_verdict(_report(eth), CaptureSource(make_capture(files)))
    assert (verdict.status, verdict.message.id) == (status, message)


def test_no_ethernet_port_is_not_a_fault(make_capture: CaptureFactory) -> None:
    assert ethernet_verdict(_report(WLAN), CaptureSource(make_capture({}))).status == "skip"


def test_webcam_snapshot_renders_two_pixels_per_cell() -> None:
    # a 2x2 image: red, green on top; blue, white below
    pixels = bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255])
    width, height, rgb = parse_ppm(b"P6\n# from ffmpeg\n2 2\n255\n" + pixels)
    assert (width, height, rgb) == (2, 2, pixels)
    [line] = render_halfblocks(width, height, rgb)
    assert line == (
        "\x1b[38;2;255;0;0m\x1b[48;2;0;0;255m▀\x1b[38;2;0;255;0m\x1b[48;2;255;255;255m▀\x1b[0m"
    )
    with pytest.raises(ValueError):
        parse_ppm(b"P6\n2 2\n255\n" + pixels[:5])
