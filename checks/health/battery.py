"""Battery checks: present, health against design, cycles, charging on mains.

:func:`evaluate_battery` is pure; :func:`ac_online` reads the mains adapter state
through the Source (``sys/class/power_supply/*``), so a capture replays it.
"""

from __future__ import annotations

from typing import Any

from checks.health.model import SEVERITY, Status, Verdict
from checks.i18n import Msg, msg
from checks.policy import Policy
from checks.probe.model import Battery
from checks.source import Source

# "Not charging" above this charge level is a charge threshold at work (ThinkPads stop
# at 80 % or 95 % when the owner set it), not a fault
HELD_CHARGE_OK_PCT = 75.0


def parse_uevent(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip().removeprefix("POWER_SUPPLY_")] = value.strip()
    return out


def ac_online(source: Source) -> bool | None:
    """True when a mains adapter is online, False when all are offline, None if unknown."""
    states: list[bool] = []
    for name in source.listdir("sys/class/power_supply"):
        base = f"sys/class/power_supply/{name}"
        text = source.read_text(f"{base}/uevent")
        fields = parse_uevent(text) if text else {}
        kind = fields.get("TYPE") or (source.read_text(f"{base}/type") or "").strip()
        if kind != "Mains":
            continue
        online = fields.get("ONLINE") or (source.read_text(f"{base}/online") or "").strip()
        if online in ("0", "1"):
            states.append(online == "1")
    if not states:
        return None
    return any(states)


def charge_pct(bat: Battery) -> float | None:
    if bat.now_wh is None or not bat.full_wh:
        return None
    return round(bat.now_wh / bat.full_wh * 100, 1)


def evaluate_battery(bat: Battery, policy: Policy, *, on_ac: bool | None) -> Verdict:
    bp = policy.battery
    name = bat.name
    evidence: dict[str, Any] = {
        "present": bat.present,
        "status": bat.status,
        "design_wh": bat.design_wh,
        "full_wh": bat.full_wh,
        "now_wh": bat.now_wh,
        "health_pct": bat.health_pct,
        "cycles": bat.cycles,
        "on_ac": on_ac,
        "min_health_pct": bp.min_health_pct,
        "max_cycles": bp.max_cycles,
        "manufacturer": bat.manufacturer,
        "model": bat.model,
    }
    if bat.present is False:
        return Verdict(
            "fail" if bp.required else "warn",
            msg("battery.absent", name=name),
            evidence,
            repair=msg("repair.fit_battery"),
        )
    findings: list[tuple[Status, Msg]] = []
    health = bat.health_pct
    if health is None:
        findings.append(("warn", msg("battery.unknown", name=name)))
    elif health < bp.min_health_pct:
        findings.append(
            (
                "fail",
                msg(
                    "battery.health_fail", name=name, health=round(health, 1), min=bp.min_health_pct
                ),
            )
        )
    elif health < bp.warn_health_pct:
        findings.append(("warn", msg("battery.health_warn", name=name, health=round(health, 1))))
    if bat.cycles is not None:
        if bat.cycles > bp.max_cycles:
            findings.append(
                (
                    "fail",
                    msg("battery.cycles_fail", name=name, cycles=bat.cycles, max=bp.max_cycles),
                )
            )
        elif bat.cycles > bp.warn_cycles:
            findings.append(("warn", msg("battery.cycles_warn", name=name, cycles=bat.cycles)))
    if on_ac and bp.require_charging_on_ac:
        status = (bat.status or "").lower()
        capacity = charge_pct(bat)
        evidence["charge_pct"] = capacity
        if status == "discharging":
            findings.append(("fail", msg("battery.not_charging", name=name)))
        elif status == "not charging" and (capacity is None or capacity < HELD_CHARGE_OK_PCT):
            findings.append(
                (
                    "warn",
                    msg(
                        "battery.held",
                        name=name,
                        capacity=capacity if capacity is not None else "?",
                    ),
                )
            )
    evidence["findings"] = [m.render("en") for _s, m in findings]
    if not findings:
        return Verdict(
            "pass", msg("battery.ok", name=name, health=round(health or 0.0, 1)), evidence
        )
    status_, message = max(findings, key=lambda f: SEVERITY[f[0]])
    repair = msg("repair.replace_battery") if status_ == "fail" else None
    if status_ == "fail" and not bp.required:
        status_ = "warn"
    return Verdict(status_, message, evidence, repair=repair)


def evaluate_no_battery(policy: Policy) -> Verdict:
    if policy.battery.required:
        return Verdict("fail", msg("battery.none"), {}, repair=msg("repair.fit_battery"))
    return Verdict("skip", msg("battery.none"), {})
