"""Every check weee knows, declared as data (see :class:`checks.health.model.CheckSpec`).

The order here is the order of the run and of the output: quick verdicts from the
report first, then the timed live checks, then the guided ones a technician answers.
"""

from __future__ import annotations

from checks.health import battery, cpu, guided, memory, peripherals, storage
from checks.health.model import CheckContext, CheckSpec, Requires, Target, Verdict
from checks.i18n import Msg, msg
from checks.system import which


def _storage_system(ctx: CheckContext, _t: Target | None) -> Verdict:
    return storage.evaluate_system_drive(ctx.report.storage, ctx.policy)


def _storage_smart(ctx: CheckContext, t: Target | None) -> Verdict:
    assert t is not None
    return storage.evaluate_smart(t.obj, ctx.policy)


def _self_test_applies(t: Target) -> Msg | None:
    if not storage.is_internal(t.obj):
        return msg("storage.selftest_external", name=t.key)
    return storage.self_test_applies(t.obj)


def _storage_self_test(ctx: CheckContext, t: Target | None) -> Verdict:
    assert t is not None
    if not ctx.policy.storage.self_test:
        return Verdict("skip", msg("storage.selftest_policy", name=t.key), {})
    return storage.run_self_test(
        t.obj,
        run=ctx.run,
        limit_s=ctx.policy.storage.self_test_limit_s,
        progress=ctx.progress,
        sleep=ctx.wait,
        lang=ctx.lang,
    )


def _battery(ctx: CheckContext, t: Target | None) -> Verdict:
    if t is None:
        return battery.evaluate_no_battery(ctx.policy)
    return battery.evaluate_battery(t.obj, ctx.policy, on_ac=battery.ac_online(ctx.source))


def _memory_size(ctx: CheckContext, _t: Target | None) -> Verdict:
    return memory.evaluate_memory_size(ctx.report.memory, ctx.policy)


def _memory_pattern(ctx: CheckContext, _t: Target | None) -> Verdict:
    mp = ctx.policy.memory
    return memory.pattern_test(
        mp.pattern_test_mib, mp.pattern_test_budget_s, progress=ctx.progress, lang=ctx.lang
    )


def _cpu_model(ctx: CheckContext, _t: Target | None) -> Verdict:
    return cpu.evaluate_cpu_model(ctx.report.cpu, ctx.policy)


def _cpu_sensors(ctx: CheckContext, _t: Target | None) -> Verdict:
    return cpu.evaluate_sensors(cpu.read_temperatures())


def _cpu_stress(ctx: CheckContext, _t: Target | None) -> Verdict:
    run = cpu.run_stress(
        ctx.policy.cpu.stress_s,
        source=ctx.source,
        max_mhz=ctx.report.cpu.max_mhz,
        progress=ctx.progress,
        lang=ctx.lang,
    )
    return cpu.evaluate_stress(run, ctx.policy)


def _wifi(ctx: CheckContext, _t: Target | None) -> Verdict:
    scan = None
    finder = ctx.which or which
    if ctx.live and ctx.is_root and ctx.policy.peripherals.wifi_scan and finder("iw"):
        scan = peripherals.iw_scan(ctx.run)
    return peripherals.wifi_verdict(ctx.report, scan=scan)


def _ethernet(ctx: CheckContext, _t: Target | None) -> Verdict:
    return peripherals.ethernet_verdict(ctx.report, ctx.source)


def _webcam(ctx: CheckContext, _t: Target | None) -> Verdict:
    return peripherals.webcam_verdict(ctx.report, ctx.source)


def _audio(ctx: CheckContext, _t: Target | None) -> Verdict:
    return peripherals.audio_verdict(ctx.report, ctx.source)


def _usb(ctx: CheckContext, _t: Target | None) -> Verdict:
    return peripherals.usb_verdict(ctx.source)


def _kit(ctx: CheckContext, t: Target | None) -> Verdict:
    # imported here: checks.kit builds on checks.health.model (no import cycle)
    from checks.kit import kit_check

    return kit_check(ctx, t)


def _kit_confirm(ctx: CheckContext, t: Target | None) -> Verdict:
    from checks.kit import kit_confirm_check

    return kit_confirm_check(ctx, t)


LIVE = Requires(live=True)
TERMINAL = Requires(live=True, terminal=True)

CHECKS: list[CheckSpec] = [
    CheckSpec(
        "storage.system", "storage", _storage_system, title="system drive: SSD and size per policy"
    ),
    CheckSpec(
        "storage.smart",
        "storage",
        _storage_smart,
        per="storage",
        title="SMART health of each drive",
    ),
    CheckSpec(
        "storage.self_test",
        "storage",
        _storage_self_test,
        per="storage",
        estimated_s=100,  # the policy's default limit; it overlaps the other checks
        policy_s=lambda p: p.storage.self_test_limit_s if p.storage.self_test else 0.0,
        requires=Requires(tools=("smartctl",), root=True, live=True),
        background=True,
        applies=_self_test_applies,
        title="the drive's SMART short self-test, polled with a time limit",
    ),
    CheckSpec(
        "battery.health",
        "battery",
        _battery,
        per="battery",
        title="battery present, health, cycles, charging",
    ),
    CheckSpec("memory.size", "memory", _memory_size, title="installed RAM per policy"),
    CheckSpec(
        "memory.pattern",
        "memory",
        _memory_pattern,
        estimated_s=10,
        # the budget is a ceiling: a fast machine tests the whole slice sooner
        policy_s=lambda p: p.memory.pattern_test_budget_s,
        requires=LIVE,
        title="write and verify a slice of free RAM",
    ),
    CheckSpec("cpu.model", "cpu", _cpu_model, title="CPU generation per policy"),
    CheckSpec(
        "cpu.sensors",
        "sensors",
        _cpu_sensors,
        requires=LIVE,
        title="temperature sensors read sane values",
    ),
    CheckSpec(
        "cpu.stress",
        "cpu",
        _cpu_stress,
        estimated_s=15,
        policy_s=lambda p: p.cpu.stress_s,
        requires=LIVE,
        title="load every core, watch temperature and throttling",
    ),
    CheckSpec("wifi", "wifi", _wifi, title="Wi-Fi adapter present (scan when possible)"),
    CheckSpec("ethernet", "ethernet", _ethernet, title="Ethernet port and link"),
    CheckSpec("webcam", "webcam", _webcam, title="webcam present"),
    CheckSpec("audio", "audio", _audio, title="audio device present"),
    CheckSpec("usb", "usb", _usb, title="USB controllers present"),
    CheckSpec(
        "keyboard",
        "keyboard",
        guided.keyboard_check,
        estimated_s=60,
        requires=TERMINAL,
        interactive=True,
        title="press every key on a drawn layout",
    ),
    CheckSpec(
        "screen",
        "screen",
        guided.screen_check,
        estimated_s=15,
        requires=TERMINAL,
        interactive=True,
        title="full-screen colours: dead pixels, backlight",
    ),
    CheckSpec(
        "touchpad",
        "touchpad",
        guided.touchpad_check,
        estimated_s=20,
        requires=TERMINAL,
        interactive=True,
        title="pointer over every zone, left and right click",
    ),
    CheckSpec(
        "webcam.view",
        "webcam",
        guided.webcam_view_check,
        estimated_s=10,
        requires=Requires(tools=("ffmpeg",), live=True, terminal=True),
        interactive=True,
        title="snapshot shown in the terminal, confirmed by the technician",
    ),
    CheckSpec(
        "speakers",
        "speakers",
        guided.speakers_check,
        estimated_s=5,
        requires=Requires(tools=("aplay",), live=True, terminal=True),
        interactive=True,
        title="play a tone, the technician confirms",
    ),
    CheckSpec(
        "microphone",
        "microphone",
        guided.microphone_check,
        estimated_s=5,
        requires=Requires(tools=("arecord",), live=True, terminal=True),
        interactive=True,
        title="record and measure the level",
    ),
    CheckSpec(
        "cosmetic",
        "cosmetic",
        guided.cosmetic_check,
        estimated_s=5,
        requires=Requires(terminal=True),
        interactive=True,
        title="case condition A/B/C entered by the technician",
    ),
    CheckSpec(
        "kit",
        "kit",
        _kit,
        estimated_s=1,
        requires=LIVE,
        title="mouse and 4G key plugged in: USB ids, modem IMEI and SIM (mmcli)",
    ),
    CheckSpec(
        "kit.confirm",
        "kit",
        _kit_confirm,
        estimated_s=20,
        requires=TERMINAL,
        interactive=True,
        title="kit mouse clicks and moves, sleeve confirmed by the technician",
    ),
]
