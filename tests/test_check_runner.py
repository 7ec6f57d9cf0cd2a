"""The runner: declarations expanded per device, skips with their reasons, background
checks overlapping the others and stopped when the run is interrupted."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from checks.health.memory import _chunk, verify_pass
from checks.health.model import CheckCancelled, CheckContext, CheckSpec, Requires, Target, Verdict
from checks.health.runner import plan_checks, run_checks
from checks.health.storage import run_self_test
from checks.i18n import msg
from checks.policy import load_default_policy
from checks.probe.model import Battery, HardwareReport, Smart, StorageDevice
from checks.source import CaptureSource
from checks.system import CommandResult
from tests.conftest import CaptureFactory


def ok(_ctx: CheckContext, _t: Target | None) -> Verdict:
    return Verdict("pass", msg("memory.ok", gib=8))


def context(make_capture: CaptureFactory, **kw: object) -> CheckContext:
    report = HardwareReport(
        storage=[
            StorageDevice("sda", "/dev/sda", kind="ssd", smart=Smart(available=True)),
            StorageDevice("sdb", "/dev/sdb", kind="usb", transport="usb"),
        ],
        batteries=[Battery("BAT0"), Battery("BAT1")],
    )
    return CheckContext(report, CaptureSource(make_capture({})), load_default_policy(), **kw)  # type: ignore[arg-type]


def test_expansion_per_device_and_stated_skips(make_capture: CaptureFactory) -> None:
    specs = [
        CheckSpec("storage.x", "storage", ok, per="storage"),
        CheckSpec("battery.x", "battery", ok, per="battery"),
        CheckSpec("needs.root", "cpu", ok, requires=Requires(root=True)),
        CheckSpec("needs.tool", "cpu", ok, requires=Requires(tools=("no-such-tool-here",))),
        CheckSpec("needs.live", "cpu", ok, requires=Requires(live=True)),
        CheckSpec(
            "needs.person", "keyboard", ok, interactive=True, requires=Requires(terminal=True)
        ),
    ]
    ctx = context(make_capture, is_root=False, unattended=True, which=lambda _t: None)
    plan = plan_checks(specs, ctx)
    assert [p.id for p in plan] == [
        "storage.x.sda",
        "storage.x.sdb",
        "battery.x.BAT0",
        "battery.x.BAT1",
        "needs.root",
        "needs.tool",
        "needs.live",
        "needs.person",
    ]
    # the USB drive says nothing about the laptop
    assert [p.component for p in plan[:2]] == ["storage", "external-storage"]
    reasons = {p.id: p.skip.message.render("en") for p in plan if p.skip}
    assert reasons == {
        "needs.root": "Skipped: needs root.",
        "needs.tool": "Skipped: no-such-tool-here is not installed.",
        "needs.live": "Skipped: needs the live machine, not a capture.",
        "needs.person": "Skipped: needs a technician (unattended run).",
    }
    results = run_checks(plan, ctx)
    assert [r.status for r in results] == ["pass"] * 4 + ["skip"] * 4


def test_a_crashing_check_is_a_skip_with_the_error(make_capture: CaptureFactory) -> None:
    def broken(_ctx: CheckContext, _t: Target | None) -> Verdict:
        raise ValueError("unexpected sysfs value")

    ctx = context(make_capture)
    [result] = run_checks(plan_checks([CheckSpec("x", "cpu", broken)], ctx), ctx)
    assert result.status == "skip"
    assert (
        result.verdict.message.render("en") == "Could not run: ValueError: unexpected sysfs value."
    )


def test_background_checks_overlap_the_foreground(make_capture: CaptureFactory) -> None:
    # Proved by a rendezvous, not a stopwatch (a loaded machine stretches any timing):
    # each check says it is running and waits for the other. Run one after the other,
    # the first would wait out its 30 s alone and fail; run together, both meet at once.
    running = {"bg": threading.Event(), "fg": threading.Event()}

    def meets(me: str, other: str) -> Callable[[CheckContext, Target | None], Verdict]:
        def check(_ctx: CheckContext, _t: Target | None) -> Verdict:
            running[me].set()
            met = running[other].wait(timeout=30)
            return Verdict("pass" if met else "fail", msg("memory.ok", gib=8))

        return check

    ctx = context(make_capture)
    specs = [
        CheckSpec("bg", "storage", meets("bg", "fg"), background=True),
        CheckSpec("fg", "cpu", meets("fg", "bg")),
    ]
    results = run_checks(plan_checks(specs, ctx), ctx)
    # plan order, whatever finished first; both met the other while it ran
    assert [(r.id, r.status) for r in results] == [("bg", "pass"), ("fg", "pass")]


def test_interrupting_the_run_stops_background_checks(make_capture: CaptureFactory) -> None:
    waiting = threading.Event()
    stopped = threading.Event()

    def waits(ctx: CheckContext, _t: Target | None) -> Verdict:
        waiting.set()
        try:
            ctx.wait(100)
        except CheckCancelled:
            stopped.set()
            raise
        return Verdict("pass", msg("memory.ok", gib=8))

    def ctrl_c(_ctx: CheckContext, _t: Target | None) -> Verdict:
        # Ctrl+C once the background check is really waiting (not after a fixed pause
        # that a loaded machine may outlast before the background thread even starts)
        assert waiting.wait(timeout=30)
        raise KeyboardInterrupt

    ctx = context(make_capture)
    specs = [CheckSpec("bg", "storage", waits, background=True), CheckSpec("fg", "cpu", ctrl_c)]
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_checks(plan_checks(specs, ctx), ctx)
    assert stopped.is_set()  # its 100 s wait was cut short by the interruption
    # and the run did not wait it out (a generous bound: a loaded machine is slow, but
    # nowhere near 100 s)
    assert time.monotonic() - start < 30


def test_an_interrupted_self_test_is_aborted_on_the_drive() -> None:
    calls: list[list[str]] = []

    def smartctl(argv: list[str], timeout: float = 30) -> CommandResult:
        calls.append(list(argv))
        return CommandResult(tuple(argv), 0, b"{}", b"", 0.0)

    def cancelled(_s: float) -> None:
        raise CheckCancelled("stop")

    drive = StorageDevice("sda", "/dev/sda", smart=Smart(available=True))
    with pytest.raises(CheckCancelled):
        run_self_test(drive, run=smartctl, limit_s=100, sleep=cancelled)
    assert calls[-1] == ["smartctl", "-X", "/dev/sda"]


def test_memory_verify_finds_a_flipped_bit_and_an_aliased_chunk() -> None:
    chunk = 4096
    region = bytearray(_chunk(b"\x55", 0, chunk) * 4)
    assert verify_pass(region, b"\x55", len(region), chunk) == (0, [])
    region[chunk * 2 + 17] ^= 0x04  # one stuck bit in the third chunk
    assert verify_pass(region, b"\x55", len(region), chunk) == (1, [chunk * 2])
    # address pattern: chunk 3 written where chunk 1 should be (an address line fault)
    addressed = bytearray(b"".join(_chunk(None, off, chunk) for off in range(0, 4 * chunk, chunk)))
    assert verify_pass(addressed, None, len(addressed), chunk) == (0, [])
    addressed[chunk : 2 * chunk] = _chunk(None, 3 * chunk, chunk)
    errors, offsets = verify_pass(addressed, None, len(addressed), chunk)
    assert offsets == [chunk] and errors > 0
