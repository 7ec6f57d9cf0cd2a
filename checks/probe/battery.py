"""Batteries from ``/sys/class/power_supply/<name>/uevent``.

The kernel gives energy in µWh (``energy_*``) or only charge in µAh (``charge_*``),
which becomes Wh through ``voltage_min_design`` (the pack's nominal voltage). Any value
may be missing, 0, or absurd; a value that cannot be trusted is None, never a guess.
"""

from __future__ import annotations

from checks.identity import clean_serial
from checks.probe.model import Battery
from checks.probe.values import parse_key_values, text, to_int
from checks.source import Source

# Cycle counts that mean "not reported": 0 from ACPI firmware that only implements
# _BIF (no cycle field: every such pack reads 0 whatever its wear), -1, and the
# all-ones values of 16-bit and 32-bit gauges (bq27000 uncalibrated: 65535).
_CYCLE_SENTINELS = {0, -1, 0xFFFF, 0xFFFFFFFF}
_MAX_PLAUSIBLE_WH = 500.0  # no notebook pack comes near; beyond is a firmware glitch
_MAX_PLAUSIBLE_V = 60.0
_MIN_PLAUSIBLE_DESIGN_WH = 1.0


def _micro(fields: dict[str, str], key: str) -> float | None:
    value = to_int(fields.get(key))
    if value is None or value <= 0:
        return None
    return value / 1_000_000


def _wh(value: float | None) -> float | None:
    if value is None or value > _MAX_PLAUSIBLE_WH:
        return None
    return round(value, 3)


def is_battery(fields: dict[str, str]) -> bool:
    """A system battery (not the AC adapter, not a wireless mouse's cell)."""
    if fields.get("POWER_SUPPLY_SCOPE", "").lower() == "device":
        return False
    kind = fields.get("POWER_SUPPLY_TYPE")
    if kind is not None:
        return kind == "Battery"
    # Some gauge drivers (bq27000) write no TYPE: a battery is what reports its charge.
    return any(
        k in fields
        for k in (
            "POWER_SUPPLY_CHARGE_FULL_DESIGN",
            "POWER_SUPPLY_ENERGY_FULL_DESIGN",
            "POWER_SUPPLY_CAPACITY",
            "POWER_SUPPLY_CHARGE_NOW",
            "POWER_SUPPLY_ENERGY_NOW",
        )
    )


def parse_uevent(raw: str, name: str | None = None) -> Battery:
    """A battery from the text of its uevent file."""
    fields = parse_key_values(raw)
    battery_name = text(fields.get("POWER_SUPPLY_NAME")) or name or "battery"
    volts = _micro(fields, "POWER_SUPPLY_VOLTAGE_MIN_DESIGN")
    if volts is not None and volts > _MAX_PLAUSIBLE_V:
        volts = None

    def energy(kind: str) -> float | None:
        wh = _micro(fields, f"POWER_SUPPLY_ENERGY_{kind}")
        if wh is not None:
            return _wh(wh)
        ah = _micro(fields, f"POWER_SUPPLY_CHARGE_{kind}")
        if ah is not None and volts is not None:
            return _wh(ah * volts)
        return None

    design = energy("FULL_DESIGN")
    if design is not None and design < _MIN_PLAUSIBLE_DESIGN_WH:
        design = None  # a few µWh: a gauge reporting in the wrong unit, not a pack
    full = energy("FULL")
    now = energy("NOW")
    health = round(full / design * 100, 1) if design and full is not None else None
    cycles = to_int(fields.get("POWER_SUPPLY_CYCLE_COUNT"))
    if cycles is not None and (cycles in _CYCLE_SENTINELS or cycles < 0):
        cycles = None
    present = to_int(fields.get("POWER_SUPPLY_PRESENT"))
    return Battery(
        name=battery_name,
        present=None if present is None else present == 1,
        status=text(fields.get("POWER_SUPPLY_STATUS")),
        technology=text(fields.get("POWER_SUPPLY_TECHNOLOGY")),
        manufacturer=text(fields.get("POWER_SUPPLY_MANUFACTURER")),
        model=text(fields.get("POWER_SUPPLY_MODEL_NAME")),
        serial=clean_serial(fields.get("POWER_SUPPLY_SERIAL_NUMBER")),
        design_wh=design,
        full_wh=full,
        now_wh=now,
        health_pct=health,
        cycles=cycles,
        voltage_min_design_v=round(volts, 3) if volts is not None else None,
    )


def read_batteries(source: Source) -> list[Battery]:
    batteries: list[Battery] = []
    for name in source.listdir("sys/class/power_supply"):
        raw = source.read_text(f"sys/class/power_supply/{name}/uevent")
        if raw is None:
            continue
        if is_battery(parse_key_values(raw)):
            batteries.append(parse_uevent(raw, name))
    return batteries
