"""The programme policy: what a laptop needs to go to a trainee (TOML, strict).

The documented default ships as ``checks/default-policy.toml``; a programme's file
overrides any of its keys. Loading is strict because a policy decides who gets a
laptop: a malformed file, an unknown key (a typo such as ``min_ram`` would otherwise
silently keep the default), a wrong type or an out-of-range value is a
:class:`PolicyError` naming the file, the line and the key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import tomllib
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from agent.errors import UsageError

DEFAULT_POLICY_NAME = "default-policy.toml"

# ATA attribute names used in the policy, with their SMART ids.
ATA_ATTRIBUTES: dict[str, int] = {
    "reallocated_sectors": 5,
    "reported_uncorrectable": 187,
    "command_timeout": 188,
    "reallocation_events": 196,
    "current_pending_sectors": 197,
    "offline_uncorrectable": 198,
}


class PolicyError(UsageError):
    """A policy file that cannot be used, with where the problem is."""

    def __init__(self, path: str, message: str, *, line: int | None = None, key: str | None = None):
        where = path if line is None else f"{path}, line {line}"
        what = f"{where}: {key}: {message}" if key else f"{where}: {message}"
        super().__init__(f"policy {what}")
        self.path = path
        self.line = line
        self.key = key


def _range(lo: float | None = None, hi: float | None = None) -> dict[str, Any]:
    return {"min": lo, "max": hi}


@dataclass(frozen=True)
class AtaThreshold:
    warn_above: int = 0
    fail_above: int = 0


@dataclass(frozen=True)
class AtaPolicy:
    reallocated_sectors: AtaThreshold = AtaThreshold(0, 10)
    reported_uncorrectable: AtaThreshold = AtaThreshold(0, 10)
    command_timeout: AtaThreshold = AtaThreshold(0, 100)
    reallocation_events: AtaThreshold = AtaThreshold(0, 10)
    current_pending_sectors: AtaThreshold = AtaThreshold(0, 0)
    offline_uncorrectable: AtaThreshold = AtaThreshold(0, 0)

    def by_id(self) -> dict[int, tuple[str, AtaThreshold]]:
        return {i: (name, getattr(self, name)) for name, i in ATA_ATTRIBUTES.items()}


@dataclass(frozen=True)
class NvmePolicy:
    fail_on_critical_warning: bool = True
    media_errors_fail_above: int = field(default=0, metadata=_range(0))
    percentage_used_warn_at: int = field(default=80, metadata=_range(0))
    percentage_used_fail_at: int = field(default=100, metadata=_range(0))
    spare_warn_margin: int = field(default=10, metadata=_range(0, 100))


@dataclass(frozen=True)
class StoragePolicy:
    min_gib: float = field(default=120, metadata=_range(0))
    require_ssd: bool = True
    no_smart: Literal["warn", "skip"] = "warn"
    power_on_hours_warn_above: int = field(default=15000, metadata=_range(0))
    warn_on_self_test_log_errors: bool = True
    warn_on_error_log: bool = False
    self_test: bool = True
    self_test_limit_s: float = field(default=100.0, metadata=_range(0, 7200))
    ata: AtaPolicy = AtaPolicy()
    nvme: NvmePolicy = NvmePolicy()


@dataclass(frozen=True)
class MemoryPolicy:
    min_gib: float = field(default=8, metadata=_range(0))
    pattern_test_mib: int = field(default=256, metadata=_range(0, 1 << 20))
    pattern_test_budget_s: float = field(default=10.0, metadata=_range(0, 3600))


@dataclass(frozen=True)
class BatteryPolicy:
    required: bool = True
    min_health_pct: float = field(default=60.0, metadata=_range(0, 200))
    warn_health_pct: float = field(default=80.0, metadata=_range(0, 200))
    max_cycles: int = field(default=1000, metadata=_range(0))
    warn_cycles: int = field(default=600, metadata=_range(0))
    require_charging_on_ac: bool = True


@dataclass(frozen=True)
class CpuPolicy:
    min_intel_core_generation: int = field(default=6, metadata=_range(1, 99))
    min_amd_ryzen_generation: int = field(default=2, metadata=_range(1, 99))
    accept_other_cpus: bool = False
    stress_s: float = field(default=15.0, metadata=_range(0, 3600))
    temperature_warn_c: float = field(default=90.0, metadata=_range(0, 150))
    temperature_fail_c: float = field(default=100.0, metadata=_range(0, 150))
    throttle_warn_ratio: float = field(default=0.5, metadata=_range(0, 1))


PERIPHERAL_IDS = (
    "wifi",
    "ethernet",
    "webcam",
    "audio",
    "usb",
    "keyboard",
    "screen",
    "touchpad",
    "speakers",
    "microphone",
)


@dataclass(frozen=True)
class PeripheralPolicy:
    required: tuple[str, ...] = field(
        default=("wifi", "webcam", "audio", "usb", "keyboard", "screen", "touchpad"),
        metadata={"choices": PERIPHERAL_IDS},
    )
    unchecked_blocks: bool = False
    wifi_scan: bool = True


@dataclass(frozen=True)
class GradePolicy:
    max_repairs: int = field(default=2, metadata=_range(0))
    grade_a_min_battery_health_pct: float = field(default=80.0, metadata=_range(0, 200))
    grade_b_max_warnings: int = field(default=2, metadata=_range(0))


@dataclass(frozen=True)
class Policy:
    name: str = "weee default policy"
    memory: MemoryPolicy = MemoryPolicy()
    storage: StoragePolicy = StoragePolicy()
    battery: BatteryPolicy = BatteryPolicy()
    cpu: CpuPolicy = CpuPolicy()
    peripherals: PeripheralPolicy = PeripheralPolicy()
    grade: GradePolicy = GradePolicy()
    # where it came from: shown in the grade object so a record says which rules applied
    source: str = field(default="<built-in>", compare=False)
    sha256: str = field(default="", compare=False)

    def identity(self) -> dict[str, str]:
        return {"name": self.name, "sha256": self.sha256}


_META_FIELDS = {"source", "sha256"}


# --- loading -------------------------------------------------------------------------


def default_policy_text() -> str:
    return resources.files("checks").joinpath(DEFAULT_POLICY_NAME).read_text(encoding="utf-8")


def load_default_policy() -> Policy:
    return parse_policy(default_policy_text(), source=f"<built-in {DEFAULT_POLICY_NAME}>")


def load_policy(path: str | Path | None = None) -> Policy:
    """The default policy, or the file at ``path`` laid over it."""
    if path is None:
        return load_default_policy()
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise PolicyError(str(p), f"cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(str(p), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse_policy(text, source=str(p))


def parse_policy(text: str, *, source: str = "<policy>") -> Policy:
    """Parse policy TOML ``text`` over the defaults; strict (see module docstring)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already ends with "(at line L, column C)"
        line = _toml_error_line(str(exc))
        if line is None and "end of document" in str(exc):
            line = max(1, len(text.splitlines()))
        raise PolicyError(source, f"not valid TOML: {exc}", line=line) from None
    locator = _KeyLocator(text)
    base = _apply(Policy(), doc, (), source, locator)
    policy = dataclasses.replace(
        base, source=source, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest()
    )
    _check_consistency(policy, source, locator)
    return policy


def _toml_error_line(message: str) -> int | None:
    m = re.search(r"at line (\d+)", message)
    return int(m.group(1)) if m else None


def _apply(
    obj: Any, doc: dict[str, Any], path: tuple[str, ...], source: str, loc: _KeyLocator
) -> Any:
    fields = {f.name: f for f in dataclasses.fields(obj) if f.name not in _META_FIELDS}
    hints = typing.get_type_hints(type(obj))
    changes: dict[str, Any] = {}
    for key, value in doc.items():
        dotted = ".".join((*path, key))
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise PolicyError(
                source, f"unknown key (known here: {known})", line=loc.line(path, key), key=dotted
            )
        hint = hints[key]
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise PolicyError(
                    source, "must be a table ([section])", line=loc.line(path, key), key=dotted
                )
            changes[key] = _apply(current, value, (*path, key), source, loc)
        else:
            changes[key] = _convert(value, hint, fields[key], dotted, source, loc.line(path, key))
    return dataclasses.replace(obj, **changes) if changes else obj


def _convert(
    value: Any, hint: Any, f: dataclasses.Field[Any], key: str, source: str, line: int | None
) -> Any:
    def bad(message: str) -> PolicyError:
        return PolicyError(source, message, line=line, key=key)

    origin = typing.get_origin(hint)
    meta = f.metadata
    if origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            raise bad(f"must be one of {', '.join(map(repr, choices))}, not {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise bad(f"must be true or false, not {value!r}")
        return value
    if hint is int or hint is float:
        # bool is an int in Python; "min_gib = true" is still a mistake
        ok = isinstance(value, int) if hint is int else isinstance(value, int | float)
        if isinstance(value, bool) or not ok:
            kind = "a whole number" if hint is int else "a number"
            raise bad(f"must be {kind}, not {value!r}")
        lo, hi = meta.get("min"), meta.get("max")
        if lo is not None and value < lo:
            raise bad(f"must be at least {lo:g}, not {value!r}")
        if hi is not None and value > hi:
            raise bad(f"must be at most {hi:g}, not {value!r}")
        return float(value) if hint is float else value
    if hint is str:
        if not isinstance(value, str) or not value.strip():
            raise bad(f"must be a non-empty string, not {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad(f"must be a list of strings, not {value!r}")
        allowed: tuple[str, ...] = meta.get("choices") or ()
        if allowed:
            unknown = [v for v in value if v not in allowed]
            if unknown:
                raise bad(f"unknown value {unknown[0]!r} (known: {', '.join(allowed)})")
        return tuple(value)
    raise AssertionError(f"policy field {key} has an unsupported type {hint!r}")


def _check_consistency(policy: Policy, source: str, loc: _KeyLocator) -> None:
    """Pairs of thresholds that only make sense one way round (low <= high).

    The error names whichever of the two keys the file sets (the other may be a
    default), so the line points at what the programme wrote.
    """
    b, c, n = policy.battery, policy.cpu, policy.storage.nvme
    pairs: list[tuple[tuple[str, ...], str, float, str, float]] = [
        (("battery",), "min_health_pct", b.min_health_pct, "warn_health_pct", b.warn_health_pct),
        (("battery",), "warn_cycles", b.warn_cycles, "max_cycles", b.max_cycles),
        (
            ("cpu",),
            "temperature_warn_c",
            c.temperature_warn_c,
            "temperature_fail_c",
            c.temperature_fail_c,
        ),
        (
            ("storage", "nvme"),
            "percentage_used_warn_at",
            n.percentage_used_warn_at,
            "percentage_used_fail_at",
            n.percentage_used_fail_at,
        ),
    ]
    for name in ATA_ATTRIBUTES:
        t: AtaThreshold = getattr(policy.storage.ata, name)
        pairs.append(
            (("storage", "ata", name), "warn_above", t.warn_above, "fail_above", t.fail_above)
        )
    for path, low_key, low, high_key, high in pairs:
        if low <= high:
            continue
        high_line = loc.line(path, high_key, exact=True)
        line: int | None
        if high_line is not None:
            key, line, message = high_key, high_line, f"must be at least {low_key} ({low:g})"
        else:
            key, line = low_key, loc.line(path, low_key)
            message = f"must be at most {high_key} ({high:g})"
        raise PolicyError(source, message, line=line, key=".".join((*path, key)))


class _KeyLocator:
    """Finds the line of ``section.key`` in TOML text.

    tomllib reports line numbers only for syntax errors; for an unknown key or a bad
    value we find the line ourselves by following the ``[table]`` headers. Handles the
    forms a policy uses: ``[a.b]`` headers, bare or quoted keys and dotted keys
    (``ata.reallocated_sectors.warn_above = 1`` under ``[storage]``).
    """

    _HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
    _KEY = re.compile(
        r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
    )

    def __init__(self, text: str) -> None:
        self.entries: list[tuple[tuple[str, ...], int]] = []
        table: tuple[str, ...] = ()
        for number, raw in enumerate(text.splitlines(), start=1):
            header = self._HEADER.match(raw)
            if header:
                table = self._split(header.group(1))
                self.entries.append((table, number))
                continue
            key = self._KEY.match(raw)
            if key:
                self.entries.append(((*table, *self._split(key.group(1))), number))

    @staticmethod
    def _split(dotted: str) -> tuple[str, ...]:
        parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", dotted)
        return tuple(p.strip("\"'") for p in parts)

    def line(self, table: tuple[str, ...], key: str, *, exact: bool = False) -> int | None:
        full = (*table, key)
        # exact key first, then the first line that opens something under it
        for path, number in self.entries:
            if path == full:
                return number
        if exact:
            return None
        for path, number in self.entries:
            if path[: len(full)] == full:
                return number
        return None
