"""Small, total conversions shared by the parsers: they return None, never raise."""

from __future__ import annotations

import re
from collections.abc import Mapping

from checks.identity import is_placeholder

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
    "gib": 1024**3,
    "t": 1024**4,
    "tb": 1024**4,
    "tib": 1024**4,
    "p": 1024**5,
    "pb": 1024**5,
    "pib": 1024**5,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*([a-zA-Z]*)\s*$")


def text(value: object) -> str | None:
    """A stripped string, or None for non-strings, empty strings and placeholders."""
    if not isinstance(value, str):
        return None
    cleaned = value.replace("\x00", "").strip()
    if is_placeholder(cleaned):
        return None
    return cleaned


def raw_text(value: object) -> str | None:
    """A stripped string kept as written (placeholders included), None when empty."""
    if not isinstance(value, str):
        return None
    cleaned = value.replace("\x00", "").strip()
    return cleaned or None


def to_int(value: object) -> int | None:
    """An int from an int or a decimal string; bools and floats with fractions are None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        s = value.strip()
        if re.fullmatch(r"[-+]?\d{1,30}", s):
            return int(s)
    return None


def to_float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        f = float(value)
        return f if f == f and f not in (float("inf"), float("-inf")) else None
    if isinstance(value, str):
        try:
            f = float(value.strip())
        except ValueError:
            return None
        return f if f == f and f not in (float("inf"), float("-inf")) else None
    return None


def parse_size(value: object) -> int | None:
    """Bytes from ``123``, ``"123"``, ``"64M"``, ``"8 GB"``, ``"4096 MB"`` (binary units).

    lsblk prints ``64M`` without ``--bytes`` and DMI prints ``8 GB`` for 8 GiB modules;
    both mean powers of 1024.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if not isinstance(value, str):
        return None
    match = _SIZE_RE.match(value)
    if not match:
        return None
    number, unit = match.groups()
    factor = _SIZE_UNITS.get(unit.lower())
    if factor is None:
        return None
    try:
        amount = float(number.replace(",", "."))
    except ValueError:
        return None
    return int(round(amount * factor))


def get_path(data: object, *keys: str | int) -> object:
    """``data[k1][k2]...`` or None when any step is missing or of the wrong type."""
    current = data
    for key in keys:
        if isinstance(key, int):
            if not isinstance(current, list) or not -len(current) <= key < len(current):
                return None
            current = current[key]
        else:
            if not isinstance(current, Mapping):
                return None
            current = current.get(key)
    return current


def parse_key_values(raw: str, sep: str = "=") -> dict[str, str]:
    """``KEY=value`` lines (uevent files) into a dict; malformed lines are skipped."""
    result: dict[str, str] = {}
    for line in raw.splitlines():
        key, found, value = line.partition(sep)
        if found and key.strip():
            result[key.strip()] = value.strip()
    return result
