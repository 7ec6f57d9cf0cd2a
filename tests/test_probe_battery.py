"""Battery uevent recordings (energy-based, charge-only, uncalibrated) and hostile ones."""

from __future__ import annotations

import pytest

from checks.probe import build_report
from checks.probe.battery import is_battery, parse_uevent
from checks.probe.values import parse_key_values
from checks.source import CaptureSource
from tests.conftest import CaptureFactory, fixture_path

# Worked out by hand from the uevent files (µWh / 1e6; µAh × voltage_min_design µV / 1e12)
CASES = {
    # ENERGY_FULL_DESIGN=60000000, ENERGY_FULL=52260000: 52.26 / 60 = 87.1 %
    "lenovo-l14m4p23/BAT0": dict(design_wh=60.0, full_wh=52.26, health_pct=87.1, cycles=None),
    # 41.25 / 46.97 = 87.82 %
    "lenovo-lnv45n1/BAT0": dict(design_wh=46.97, full_wh=41.25, health_pct=87.8, cycles=None),
    # charge only: 2.8 Ah × 14.8 V = 41.44 Wh; 2.365 Ah × 14.8 V = 35.002 Wh -> 84.5 %
    "dell-gr43747-charge/BAT0": dict(design_wh=41.44, full_wh=35.002, health_pct=84.5, cycles=None),
    # no voltage_min_design, no charge_full, cycle count 65535: nothing can be trusted
    "bq27000-uncalibrated/bq27000-battery": dict(
        design_wh=None, full_wh=None, health_pct=None, cycles=None
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_battery_recording(case: str, make_capture: CaptureFactory) -> None:
    folder, name = case.split("/")
    capture = make_capture(
        {
            f"sys/class/power_supply/{name}/uevent": fixture_path(
                "power_supply", folder, name, "uevent"
            )
        }
    )
    report = build_report(CaptureSource(capture))
    (battery,) = report.batteries
    assert battery.name == name
    for field, value in CASES[case].items():
        assert getattr(battery, field) == value, field
    assert battery.present is True and battery.technology == "Li-ion"
    # only the uevent was given: the rest of the report is empty
    assert report.storage == [] and report.device.model is None and report.cpu.model is None


def test_dell_pack_identity() -> None:
    raw = fixture_path("power_supply", "dell-gr43747-charge", "BAT0", "uevent").read_text()
    battery = parse_uevent(raw)
    assert (battery.manufacturer, battery.model, battery.serial) == ("SMP", "DELL GR43747", "10252")
    assert battery.voltage_min_design_v == 14.8


def test_new_pack_may_read_above_design() -> None:
    raw = (
        "POWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_ENERGY_FULL_DESIGN=45000000\n"
        "POWER_SUPPLY_ENERGY_FULL=46350000\nPOWER_SUPPLY_CYCLE_COUNT=3\n"
    )
    battery = parse_uevent(raw, "BAT1")
    assert battery.health_pct == 103.0 and battery.cycles == 3 and battery.name == "BAT1"


@pytest.mark.parametrize(
    "raw",
    [
        "POWER_SUPPLY_ENERGY_FULL_DESIGN=0\nPOWER_SUPPLY_ENERGY_FULL=0\n",
        "POWER_SUPPLY_ENERGY_FULL_DESIGN=-5\nPOWER_SUPPLY_ENERGY_FULL=abc\n",
        "POWER_SUPPLY_ENERGY_FULL_DESIGN=999999999999999\n",  # 1e9 Wh: a firmware glitch
        "POWER_SUPPLY_CHARGE_FULL_DESIGN=4000000\nPOWER_SUPPLY_VOLTAGE_MIN_DESIGN=0\n",
        "POWER_SUPPLY_ENERGY_FULL_DESIGN=50000000\n",  # design only: no health
        "POWER_SUPPLY_ENERGY_FULL_DESIGN=4\nPOWER_SUPPLY_ENERGY_FULL=4\n",  # 4 µWh: wrong unit
    ],
)
def test_absurd_or_missing_values_are_unknown(raw: str) -> None:
    battery = parse_uevent(raw, "BAT0")
    assert battery.health_pct is None


def test_ac_adapter_and_peripheral_batteries_are_not_system_batteries() -> None:
    assert not is_battery(parse_key_values("POWER_SUPPLY_TYPE=Mains\nPOWER_SUPPLY_ONLINE=1\n"))
    mouse = "POWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_SCOPE=Device\nPOWER_SUPPLY_CAPACITY=40\n"
    assert not is_battery(parse_key_values(mouse))
    # the bq27000 gauge writes no TYPE at all
    raw = fixture_path("power_supply", "bq27000-uncalibrated", "bq27000-battery", "uevent")
    assert is_battery(parse_key_values(raw.read_text()))


def test_non_utf8_uevent_does_not_crash(make_capture: CaptureFactory) -> None:
    capture = make_capture(
        {
            "sys/class/power_supply/BAT0/uevent": b"POWER_SUPPLY_TYPE=Battery\n"
            b"POWER_SUPPLY_MODEL_NAME=\xff\xfe\x00garbage\nPOWER_SUPPLY_ENERGY_FULL_DESIGN=40000000",
            "sys/class/power_supply/AC/uevent": b"POWER_SUPPLY_TYPE=Mains\n",
        }
    )
    (battery,) = build_report(CaptureSource(capture)).batteries
    assert battery.name == "BAT0" and battery.design_wh == 40.0


def test_every_battery_recording_has_expected_values() -> None:
    from tests.conftest import fixture_files

    found = {
        f"{p.parent.parent.name}/{p.parent.name}"
        for p in fixture_files("power_supply", "*/*/uevent")
    }
    if not found:
        pytest.skip("power_supply recordings not available")
    assert found == set(CASES)
