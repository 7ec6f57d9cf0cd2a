"""The bench profile (TOML): which steps a bench run takes, and with what.

The documented default is ``agent/run/default-profile.toml``; a bench's file overrides
any of its keys. Loading is strict, as for the programme policy: a profile decides what
gets erased, so an unknown key, a wrong type or a bad value is a :class:`ProfileError`
naming the file and the key, never a silently kept default.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from agent.errors import UsageError

DEFAULT_PROFILE = "default-profile.toml"
STEPS = ("probe", "checks", "guided", "erase", "image", "record", "spool", "sync", "label")
# Without these a record cannot exist: a profile may not leave them out.
REQUIRED_STEPS = ("probe", "checks", "record", "spool")
MAX_COUNTDOWN_S = 600


class ProfileError(UsageError):
    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"bench profile {source}: {message}")


@dataclass(frozen=True)
class BenchSection:
    name: str = "bench"
    organisation: str = ""
    technician: str = ""
    location: str = ""


@dataclass(frozen=True)
class DonorSection:
    name: str = ""
    batch: str = ""


@dataclass(frozen=True)
class RunSection:
    steps: tuple[str, ...] = STEPS
    lang: str = ""
    unattended: bool = False
    parts: str = "recycle"
    # a demonstration (weee demo, tests): the drives named in erase.drives, disposable
    # disks, stand for the laptop's storage in the record, which says so; this machine's
    # own drives are named as left out, never as erased
    demonstration: bool = False


@dataclass(frozen=True)
class PolicySection:
    file: str = ""


@dataclass(frozen=True)
class EraseSection:
    drives: tuple[str, ...] = ()
    method: str = "auto"
    pattern: str = "random"
    passes: int = 1
    verify: str = "full"
    restore_dco: bool = False
    # how the erasure is confirmed (agent.run.confirm): "type" (the technician types
    # ERASE), "countdown" (countdown_s seconds that any key stops) or "none" (the
    # programme's explicit choice for a dedicated erasure bench)
    confirm: str = "countdown"
    countdown_s: int = 30
    # drives named in ``drives`` may be USB drives or removable media only if true
    allow_usb: bool = False


@dataclass(frozen=True)
class ImageSection:
    source: str = ""
    sha256: str = ""
    target: str = "auto"
    grow: bool = True


@dataclass(frozen=True)
class ServerSection:
    url: str = ""
    token: str = ""
    ca: str = ""


@dataclass(frozen=True)
class PathsSection:
    data_dir: str = ""
    state_dir: str = ""


@dataclass(frozen=True)
class Profile:
    bench: BenchSection = field(default_factory=BenchSection)
    donor: DonorSection = field(default_factory=DonorSection)
    run: RunSection = field(default_factory=RunSection)
    policy: PolicySection = field(default_factory=PolicySection)
    erase: EraseSection = field(default_factory=EraseSection)
    image: ImageSection = field(default_factory=ImageSection)
    server: ServerSection = field(default_factory=ServerSection)
    paths: PathsSection = field(default_factory=PathsSection)
    source: str = "<built-in>"

    def data_dir(self, env: dict[str, str] | None = None) -> Path:
        from inventory.benchkeys import default_data_dir

        return Path(self.paths.data_dir) if self.paths.data_dir else default_data_dir(env)

    def state_dir(self, env: dict[str, str] | None = None) -> Path:
        env = dict(os.environ) if env is None else env
        if self.paths.state_dir:
            return Path(self.paths.state_dir)
        if env.get("WEEE_STATE_DIR"):
            return Path(env["WEEE_STATE_DIR"])
        return self.data_dir(env) / "state"

    def donor_object(self) -> dict[str, str] | None:
        if not self.donor.name and not self.donor.batch:
            return None
        return {"name": self.donor.name, "batch": self.donor.batch}


SECTIONS: dict[str, type] = {
    "bench": BenchSection,
    "donor": DonorSection,
    "run": RunSection,
    "policy": PolicySection,
    "erase": EraseSection,
    "image": ImageSection,
    "server": ServerSection,
    "paths": PathsSection,
}

CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("run", "lang"): ("", "fr", "en"),
    ("run", "parts"): ("recycle", "refurbish"),
    ("erase", "method"): ("auto", "firmware", "overwrite"),
    ("erase", "pattern"): ("random", "zero"),
    ("erase", "verify"): ("full", "sample"),
    ("erase", "confirm"): ("type", "countdown", "none"),
}


def default_profile_text() -> str:
    return resources.files("agent.run").joinpath(DEFAULT_PROFILE).read_text(encoding="utf-8")


def load_profile(path: str | Path | None = None) -> Profile:
    """The built-in defaults, with the file at ``path`` laid over them."""
    if path is None:
        return parse_profile("", source="<built-in>")
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(str(p), f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ProfileError(str(p), f"not UTF-8 text ({exc.reason})") from None
    return parse_profile(text, source=str(p))


def parse_profile(text: str, *, source: str = "<profile>") -> Profile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(source, f"not valid TOML: {exc}") from None
    sections: dict[str, Any] = {}
    for name, value in data.items():
        if name not in SECTIONS:
            raise ProfileError(source, f"unknown section [{name}] (known: {', '.join(SECTIONS)})")
        if not isinstance(value, dict):
            raise ProfileError(source, f"{name} must be a [section]")
        sections[name] = _section(name, value, source)
    profile = Profile(**sections, source=source)
    _check(profile, source)
    return profile


def _section(name: str, values: dict[str, Any], source: str) -> Any:
    cls = SECTIONS[name]
    defaults = cls()
    known = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise ProfileError(
                source, f"unknown key {name}.{key} (known: {', '.join(sorted(known))})"
            )
        default = getattr(defaults, key)
        where = f"{name}.{key}"
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ProfileError(source, f"{where} must be true or false, not {value!r}")
        elif isinstance(default, int):
            if not isinstance(value, int) or isinstance(value, bool):
                raise ProfileError(source, f"{where} must be a whole number, not {value!r}")
        elif isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ProfileError(source, f"{where} must be a list of strings, not {value!r}")
            value = tuple(value)
        elif not isinstance(value, str):
            raise ProfileError(source, f"{where} must be a string, not {value!r}")
        choices = CHOICES.get((name, key))
        if choices is not None and value not in choices:
            shown = ", ".join(repr(c) for c in choices)
            raise ProfileError(source, f"{where} = {value!r}: expected one of {shown}")
        kwargs[key] = value
    return cls(**kwargs)


def _check(profile: Profile, source: str) -> None:
    steps = profile.run.steps
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise ProfileError(
            source, f"run.steps: unknown step(s) {', '.join(unknown)} (known: {', '.join(STEPS)})"
        )
    missing = [s for s in REQUIRED_STEPS if s not in steps]
    if missing:
        raise ProfileError(source, f"run.steps: {', '.join(missing)} cannot be left out")
    if list(steps) != [s for s in STEPS if s in steps]:
        raise ProfileError(source, f"run.steps: keep the order {', '.join(STEPS)}")
    if profile.erase.passes < 1 or profile.erase.passes > 7:
        raise ProfileError(source, "erase.passes must be between 1 and 7")
    if not 1 <= profile.erase.countdown_s <= MAX_COUNTDOWN_S:
        raise ProfileError(
            source,
            f"erase.countdown_s = {profile.erase.countdown_s}: expected 1 to {MAX_COUNTDOWN_S}"
            ' seconds (no wait at all: confirm = "none")',
        )
    if "image" in steps and "erase" not in steps:
        # writing an image over a drive that was never erased would certify nothing and
        # leave the donor's data in the unwritten blocks
        raise ProfileError(source, "run.steps: 'image' needs 'erase' before it")
    if profile.run.demonstration and not profile.erase.drives:
        raise ProfileError(
            source, "run.demonstration needs erase.drives: the disposable disks it erases"
        )
    for drive in profile.erase.drives:
        if not drive.startswith("/dev/"):
            raise ProfileError(source, f"erase.drives: {drive!r} is not a /dev/ path")
