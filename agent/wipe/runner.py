"""Plan and run the erasure of several drives at once.

:func:`plan_targets` decides, without opening anything for writing, which drives are
erased and how (the ``--dry-run`` output). :func:`erase` runs each allowed drive in its
own thread: a slow drive never holds the others back, and a drive whose I/O stops
making progress for ``stall_timeout_s`` is reported FAILED while the others finish.
Each drive's report is journalled before the drive is touched and filed when it ends.
"""

from __future__ import annotations

import copy
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from agent.blockdev import (
    Assessment,
    Disk,
    SystemFacts,
    assess_facts,
    is_ata_transport,
    list_disks,
    read_facts,
)
from agent.errors import UnavailableError
from agent.wipe import engine
from agent.wipe.engine import Hooks, JobContext, OverwriteSpec, Progress, Stopped
from agent.wipe.firmware import (
    FirmwareError,
    Run,
    gather_facts,
    hidden_areas,
    kernel_capacity,
    restore_dco,
    restore_hpa,
    run_firmware_method,
    suspend_to_unfreeze,
)
from agent.wipe.journal import Journal
from agent.wipe.methods import DriveFacts, HpaInfo, Plan, select_plan
from agent.wipe.report import (
    ErasureReport,
    Media,
    Operator,
    PassRecord,
    Sanitization,
    Verification,
    now_iso,
)
from checks.system import run_command

log = logging.getLogger(__name__)

# Rough sustained rates for the duration estimate of --dry-run (bytes/s): laptop HDDs
# 75-100 MB/s, SATA SSDs ~400 MB/s, NVMe >1 GB/s, USB sticks and eMMC much less.
TYPICAL_RATE = {
    "hdd": 90e6,
    "ssd": 400e6,
    "nvme": 1200e6,
    "usb": 30e6,
    "emmc": 80e6,
    "other": 200e6,
}


@dataclass
class WipeOptions:
    method: str = "auto"  # auto|firmware|overwrite
    pattern: str = "random"  # overwrite pattern
    passes: int = 1
    verify: str = "full"  # overwrite verification: none|sample|full
    operator: Operator = field(default_factory=Operator)
    destination: str = "reuse"
    allow_suspend: bool = False  # the bench profile allows suspend-to-RAM to unfreeze
    # the bench profile allows DEVICE CONFIGURATION RESTORE (hdparm --dco-restore) on an
    # ATA drive whose DCO hides sectors; without it such a drive is never certified
    restore_dco: bool = False
    # how long the kernel may take to report the native capacity after a rescan
    capacity_wait_s: float = 10.0
    journal_dir: str | os.PathLike[str] | None = None
    stall_timeout_s: float = 300.0
    chunk_bytes: int = engine.DEFAULT_CHUNK
    retries: int = 2
    hooks: Hooks = field(default_factory=Hooks)
    run: Run = run_command
    include_loop: bool = False  # list loop devices among "all drives" (tests, benchmarks)


@dataclass
class Target:
    path: str
    assessment: Assessment
    disk: Disk | None
    facts: DriveFacts | None = None
    plan: Plan | None = None
    estimate_s: float | None = None

    @property
    def allowed(self) -> bool:
        return self.assessment.allowed and self.plan is not None and bool(self.plan.methods)


def estimate_seconds(disk: Disk, plan: Plan, options: WipeOptions) -> float:
    rate = TYPICAL_RATE.get(disk.media_type, 200e6)
    method = plan.first or "overwrite"
    sample_read = 2000 * 64 * 1024 / rate + 2000 * 0.01  # seeks on an HDD
    if method == "overwrite":
        verify = {"full": disk.size_bytes, "sample": 0, "none": 0}[options.verify]
        extra = sample_read if options.verify == "sample" else 0.0
        return disk.size_bytes * options.passes / rate + verify / rate + extra
    if plan.drive_estimate_s:
        return plan.drive_estimate_s + 2 * sample_read
    if method.endswith("crypto"):
        return 10.0 + 2 * sample_read
    return disk.size_bytes / (rate * 4) + 2 * sample_read  # block erase: drive-internal


def plan_targets(
    paths: Sequence[str] | None,
    options: WipeOptions,
    *,
    facts: SystemFacts | None = None,
    drive_facts: dict[str, DriveFacts] | None = None,
    explicit: bool | None = None,
) -> list[Target]:
    """What would be erased, and how. Opens no device for writing. ``explicit``: whether
    USB drives and removable media may be erased (default: when ``paths`` names them)."""
    facts = facts if facts is not None else read_facts()
    explicit = bool(paths) if explicit is None else explicit
    if paths:
        chosen = list(paths)
    else:
        chosen = [d.path for d in list_disks(facts=facts, include_loop=options.include_loop)]
    targets = []
    seen: set[str | None] = set()
    for path in chosen:
        assessment = assess_facts(path, facts, explicit=explicit)
        if assessment.name in seen:
            continue  # the same disk named twice (/dev/sda and a /dev/disk/by-id link)
        seen.add(assessment.name)
        target = Target(path, assessment, assessment.disk)
        if target.disk is None and assessment.allowed:
            assessment.refusals.append(f"{path}: lsblk does not describe it")
        if target.disk is not None and assessment.allowed:
            known = (drive_facts or {}).get(target.disk.name)
            target.facts = known if known is not None else gather_facts(target.disk, options.run)
            target.plan = select_plan(
                target.facts, options.method, allow_suspend=options.allow_suspend
            )
            if not target.plan.methods:
                assessment.refusals.append(
                    f"{path}: no {options.method} erase method available ("
                    + "; ".join(target.plan.reasons)
                    + ")"
                )
            else:
                target.estimate_s = estimate_seconds(target.disk, target.plan, options)
        targets.append(target)
    return targets


# Model-number prefixes of the drive makers found in donated laptops: lsblk's "vendor"
# is "ATA" for every SATA drive and empty for NVMe, so the model is what names the maker.
_MAKERS = (
    ("samsung", "Samsung"), ("wdc", "Western Digital"), ("wd", "Western Digital"),
    ("western digital", "Western Digital"), ("st", "Seagate"), ("seagate", "Seagate"),
    ("toshiba", "Toshiba"), ("kioxia", "Kioxia"), ("hgst", "HGST"), ("hitachi", "Hitachi"),
    ("ct", "Crucial"), ("crucial", "Crucial"), ("micron", "Micron"), ("kingston", "Kingston"),
    ("sandisk", "SanDisk"), ("intel", "Intel"), ("sk hynix", "SK hynix"), ("hfs", "SK hynix"),
    ("liteon", "Lite-On"), ("lite-on", "Lite-On"), ("adata", "ADATA"), ("transcend", "Transcend"),
    ("apple", "Apple"), ("lenovo", "Lenovo"), ("hp", "HP"), ("qemu", "QEMU"),
)  # fmt: skip


def manufacturer_of(disk: Disk) -> str | None:
    vendor = (disk.vendor or "").strip()
    if vendor and vendor.upper() != "ATA" and not vendor.startswith("0x"):
        return vendor
    model = (disk.model or "").lower()
    for prefix, name in sorted(_MAKERS, key=lambda m: -len(m[0])):
        after = model[len(prefix) : len(prefix) + 1]
        # short prefixes ("st", "ct", "hfs") only count before a digit or a separator
        if model.startswith(prefix) and (
            len(prefix) > 3 or after in ("", " ", "-", "_") or after.isdigit()
        ):
            return name
    return None


def media_of(disk: Disk | None, path: str) -> Media:
    if disk is None:
        return Media(path, None, None, None, "other", "other", 0, 512)
    return Media(
        device=disk.path,
        manufacturer=manufacturer_of(disk),
        model=disk.model,
        serial=disk.serial,
        type=disk.media_type,
        interface=disk.interface,
        size_bytes=disk.size_bytes,
        logical_sector_size=disk.logical_sector_size,
    )


def refused_report(target: Target, options: WipeOptions) -> ErasureReport:
    report = ErasureReport(
        media=media_of(target.disk, target.path),
        sanitization=Sanitization.for_method("overwrite", pattern=None, passes=0),
        operator=options.operator,
        destination=options.destination,
        status="refused",
    )
    report.errors.extend(target.assessment.refusals)
    report.finish()
    return report


@dataclass
class _Job:
    target: Target
    report: ErasureReport
    ctx: JobContext
    thread: threading.Thread | None = None
    firmware_busy: bool = False  # a drive command with its own timeout is running
    result: ErasureReport | None = None  # set once, by the job or by the watchdog
    lock: threading.Lock = field(default_factory=threading.Lock)
    wakeup: threading.Event = field(default_factory=threading.Event)  # shared: a job ended


def _erase_one(job: _Job, options: WipeOptions, journal: Journal) -> None:
    try:
        _erase_one_inner(job, options, journal)
    finally:
        job.wakeup.set()  # the main thread is waiting for any job to end


def _erase_one_inner(job: _Job, options: WipeOptions, journal: Journal) -> None:
    target, report, ctx = job.target, job.report, job.ctx
    assert target.disk is not None and target.plan is not None and target.facts is not None
    disk = target.disk
    interrupted = False
    try:
        journal.record(report)
        hidden = _uncover_hidden_areas(job, options)
        if hidden is not None:
            # before any pass: the sectors it leaves hidden would never be written
            report.fail(f"{disk.path}: nothing was erased: {hidden}")
        else:
            _run_methods(job, options, journal)
    except Stopped:
        interrupted = True
    except OSError as exc:
        report.fail(f"{disk.path}: {exc.strerror or exc}")
    except Exception as exc:  # a bug must never turn into a certificate: fail loudly
        log.exception("%s: unexpected error", disk.path)
        report.fail(f"{disk.path}: internal error: {type(exc).__name__}: {exc}")
    report.finish(interrupted=interrupted or ctx.stop.is_set())
    with job.lock:
        if job.result is None:  # not already reported as stalled
            # filed before it counts as done: the main thread exits as soon as every
            # job has a result, and would cut a daemon thread's journal write short
            try:
                journal.close(report)
            except OSError as exc:
                log.error("%s: could not file the journal entry: %s", disk.path, exc)
            job.result = report


def _uncover_hidden_areas(job: _Job, options: WipeOptions) -> str | None:
    """Make an ATA drive's whole native capacity addressable, and seen by the kernel.

    None when the erasure may go on over ``ctx.size_bytes`` (then the native capacity,
    as the kernel reports it); else why it must not start: an HPA that stays, a DCO
    that hides sectors and may not (or could not) be restored, a state that cannot be
    read, or a kernel that still reports the smaller size. The report's hidden areas
    say what was found and done either way.
    """
    target, report, ctx = job.target, job.report, job.ctx
    assert target.disk is not None and target.facts is not None
    disk, facts = target.disk, target.facts
    state = report.hidden_areas = hidden_areas(facts)
    if facts.ata is None:
        if is_ata_transport(facts.transport):
            return (
                "the ATA drive's IDENTIFY could not be read (hdparm -I): its HPA/DCO state "
                "is unknown, hidden sectors may stay"
            )
        return None  # NVMe, eMMC, a loop device, a bridge that passes nothing through
    hpa = facts.hpa
    if hpa is None:
        if facts.ata.hpa_feature or facts.ata.lba_sectors is None:
            return "HPA state unreadable (hdparm -N gave nothing): hidden sectors may stay"
        # no HPA feature set: the drive's addressable size is its native size
        hpa = HpaInfo(facts.ata.lba_sectors, facts.ata.lba_sectors, False)
        state.hpa.present = False
        state.hpa.native_max_sectors = state.hpa.current_max_sectors = hpa.native_max
        state.note = "no HPA feature set"
    real = facts.dco.real_max if facts.dco is not None else None
    if facts.ata.dco_feature and real is None:
        return "DCO state unreadable (hdparm --dco-identify gave nothing): hidden sectors may stay"
    dco_hidden = real - hpa.native_max if real is not None and real > hpa.native_max else 0
    if dco_hidden:
        state.dco.present = True
        if not options.restore_dco:  # said before the drive is touched at all
            state.restored = False
            state.note = f"DCO hides {dco_hidden} sectors; restoring it is not allowed"
            return (
                f"a DCO hides {dco_hidden} sectors (factory max {real}, native max "
                f"{hpa.native_max}) and this bench does not allow restoring it "
                "(erase.restore_dco)"
            )
    if hpa.hidden:  # first: a drive aborts DEVICE CONFIGURATION RESTORE while an HPA is set
        removed = restore_hpa(disk, replace(facts, hpa=hpa), state, options.run)
        if removed is None:
            return f"HPA present, {hpa.native_max - hpa.current_max} sectors hidden: {state.note}"
        hpa = removed
    if dco_hidden:
        again = restore_dco(disk, replace(facts, hpa=hpa), state, options.run)
        if again is None or again.hpa is None:
            return f"a DCO hides {dco_hidden} sectors: {state.note}"
        hpa = again.hpa
        if hpa.hidden:  # the factory configuration came back with the old max address set
            dco_note = state.note
            removed = restore_hpa(disk, again, state, options.run)
            state.note = f"{dco_note}; {state.note}"
            if removed is None:
                return f"HPA present after the DCO restore: {state.note}"
            hpa = removed
            state.restored = True
    # hdparm -N counts logical sectors (LBAs); sysfs counts 512-byte units
    native = hpa.native_max * ctx.sector
    seen, problem = kernel_capacity(disk, native, wait_s=options.capacity_wait_s)
    if seen is None or seen < native:
        seen_text = f"{seen // 512} sectors of 512 bytes" if seen is not None else "no size"
        return (
            f"the kernel still reports {seen_text}, the drive's native size is "
            f"{native // 512}" + (f" ({problem})" if problem else "") + ": reboot and run again"
        )
    ctx.size_bytes = report.media.size_bytes = state.native_size_bytes = seen
    return None


def _run_methods(job: _Job, options: WipeOptions, journal: Journal) -> None:
    """Try the plan's methods in order until one erased and verified the drive."""
    target, report, ctx = job.target, job.report, job.ctx
    assert target.disk is not None and target.plan is not None
    disk, plan = target.disk, target.plan
    done = False
    tried: list[str] = []  # firmware methods the drive refused, or that did not verify
    for index, method in enumerate(plan.methods):
        if method == "overwrite":
            _overwrite(report, options, ctx)
            done = True
        else:
            outcome = _firmware(job, method, options, journal)
            if outcome is None:
                done = True
            elif outcome.startswith("verification"):
                if "overwrite" not in plan.methods[index + 1 :]:
                    done = True  # the failed verification stands: never certified
                else:
                    tried.append(f"{method}: {outcome}")
                    _reset_attempt(report)
            else:
                tried.append(f"{method}: {outcome}")
        if done:
            break
    if ctx.progress and report.sanitization.method != "overwrite":
        ctx.progress(Progress(disk.path, "done", ctx.size_bytes, ctx.size_bytes, 0.0, 0.0))
    if tried:
        report.sanitization.technique += " Tried first, without success: " + "; ".join(tried) + "."
    if not done:
        report.fail(
            "no firmware erase method worked: the drive was not erased (" + "; ".join(tried) + ")"
        )


def _overwrite(report: ErasureReport, options: WipeOptions, ctx: JobContext) -> None:
    report.sanitization = Sanitization.for_method(
        "overwrite", pattern=options.pattern, passes=options.passes
    )
    spec = OverwriteSpec(
        pattern=options.pattern,
        passes=options.passes,
        verify=options.verify,
        chunk_bytes=options.chunk_bytes,
        retries=options.retries,
    )
    engine.overwrite(report, spec, ctx)


def _reset_attempt(report: ErasureReport) -> None:
    """Forget a firmware attempt that did not verify, before the overwrite fallback."""
    report.passes = []
    report.verification = Verification()
    report.errors = [e for e in report.errors if not e.startswith("read error during verification")]


def _firmware(job: _Job, method: str, options: WipeOptions, journal: Journal) -> str | None:
    """Try one firmware method: None when it erased and verified, else why not.

    The drive is held open exclusively (``O_EXCL``) from the sample snapshot to the
    verification, so nothing can mount it in between.
    """
    target, report, ctx = job.target, job.report, job.ctx
    assert target.disk is not None and target.plan is not None
    disk = target.disk
    if method.startswith("ata-security") and target.plan.needs_suspend:
        job.firmware_busy = True
        unfrozen = suspend_to_unfreeze(options.run)
        job.firmware_busy = False
        if not unfrozen:
            log.warning("%s: suspend-to-RAM failed: drive stays frozen", disk.path)
            return "frozen (suspend-to-RAM failed)"
        target.plan.needs_suspend = False
    spots = engine.sample_locations(
        ctx.size_bytes, ctx.sector, 1000, 64 * 1024, random.Random(os.urandom(8))
    )
    fd = engine.open_device(disk.path, write=True)
    try:
        device = engine._Device(fd, ctx, options.retries)
        # what each block held, then the run's own marker over it, durable on the
        # medium: after the erase a surviving marker proves the drive did not erase
        # there, blank regions included
        before = engine.snapshot_samples(device, spots)
        markers = engine.write_markers(device, spots)
        report.sanitization = Sanitization.for_method(method)
        record = PassRecord(number=1, pattern="firmware", started_at=now_iso())
        report.passes = [record]
        journal.record(report)
        if ctx.progress:
            ctx.progress(Progress(disk.path, method, 0, ctx.size_bytes, 0.0, target.estimate_s))
        job.firmware_busy = True
        try:
            run_firmware_method(
                method,
                disk,
                run=options.run,
                drive_estimate_s=target.plan.drive_estimate_s,
                fd=fd,
                evidence=report.evidence,
            )
        except FirmwareError as exc:
            log.warning("%s: %s refused: %s", disk.path, method, exc)
            report.passes = []
            return f"refused by the drive ({exc})"
        finally:
            job.firmware_busy = False
            ctx.last_activity = time.monotonic()
        record.ended_at = now_iso()
        journal.record(report)
        engine.verify_after_firmware(report, device, spots, before, markers)
    finally:
        os.close(fd)
    checked = report.verification
    if checked.result != "passed":
        log.warning("%s: %s reported success but data survived", disk.path, method)
        return (
            f"verification failed: {checked.mismatches} of {checked.samples} sampled "
            f"block(s) not erased ({checked.markers_found} of {checked.markers_written} "
            "markers written before the erase were still there)"
        )
    return None


def erase(
    targets: Sequence[Target] | Sequence[str],
    options: WipeOptions | None = None,
    progress: Callable[[Progress], None] | None = None,
    *,
    stop: threading.Event | None = None,
) -> list[ErasureReport]:
    """Erase every allowed target in parallel; one report per target, in order.

    ``targets`` are planned :class:`Target` objects or device paths (planned here, as
    named explicitly). Refused targets get a ``refused`` report and are not touched.
    """
    options = options or WipeOptions()
    stop = stop or threading.Event()
    planned: list[Target] = (
        plan_targets([str(t) for t in targets], options)
        if targets and isinstance(targets[0], str)
        else [t for t in targets if isinstance(t, Target)]
    )
    journal = Journal(options.journal_dir)
    if any(t.allowed for t in planned):
        try:
            journal.ensure_writable()
        except OSError as exc:
            # without the journal an interruption could go unreported: touch nothing
            raise UnavailableError(
                f"cannot write the erasure journal in {journal.directory}: "
                f"{exc.strerror or exc} (set WEEE_STATE_DIR or --journal-dir)"
            ) from exc
    jobs: list[_Job | ErasureReport] = []
    wakeup = threading.Event()
    for target in planned:
        if not target.allowed or target.disk is None or target.plan is None:
            jobs.append(refused_report(target, options))
            continue
        disk = target.disk
        first = target.plan.methods[0]
        report = ErasureReport(
            media=media_of(disk, target.path),
            sanitization=Sanitization.for_method(
                first,
                pattern=options.pattern if first == "overwrite" else None,
                passes=options.passes if first == "overwrite" else 1,
            ),
            operator=options.operator,
            destination=options.destination,
        )
        ctx = JobContext(
            device=disk.path,
            size_bytes=disk.size_bytes,
            sector=disk.logical_sector_size,
            stop=threading.Event(),
            progress=progress,
            checkpoint=journal.record,
            hooks=options.hooks,
        )
        job = _Job(target, report, ctx, wakeup=wakeup)
        job.thread = threading.Thread(
            target=_erase_one,
            args=(job, options, journal),
            name=f"weee-wipe-{disk.name}",
            daemon=True,
        )
        jobs.append(job)
    running: list[_Job] = []
    try:
        # started inside the try: a Ctrl-C between two starts still stops the drives
        # already erasing (a job never started ends as not certified in _result)
        for entry in jobs:
            if isinstance(entry, _Job):
                assert entry.thread is not None
                entry.thread.start()
                running.append(entry)
        _wait(running, options, journal, stop)
    except KeyboardInterrupt:
        stop.set()
        for job in running:
            job.ctx.stop.set()
        _wait(running, options, journal, threading.Event(), grace_s=60.0)
    return [j if isinstance(j, ErasureReport) else _result(j) for j in jobs]


def _result(job: _Job) -> ErasureReport:
    if job.result is not None:
        return job.result
    # the thread is still stuck (a hung drive): never certify what we did not see end
    report = copy.deepcopy(job.report)
    report.fail("the erasure did not end (drive hung)")
    report.finish(interrupted=True)
    return report


def _wait(
    jobs: list[_Job],
    options: WipeOptions,
    journal: Journal,
    stop: threading.Event,
    grace_s: float | None = None,
) -> None:
    deadline = time.monotonic() + grace_s if grace_s is not None else None
    wakeup = jobs[0].wakeup if jobs else threading.Event()
    while True:
        wakeup.clear()
        alive = [
            j for j in jobs if j.thread is not None and j.thread.is_alive() and j.result is None
        ]
        if not alive:
            return
        if stop.is_set():
            for job in alive:
                job.ctx.stop.set()
        now = time.monotonic()
        for job in alive:
            idle = now - job.ctx.last_activity
            if not job.firmware_busy and idle > options.stall_timeout_s:
                # stop waiting for it: the others go on, it is reported failed
                job.ctx.stop.set()
                with job.lock:
                    if job.result is not None:
                        continue
                    stalled = copy.deepcopy(job.report)
                    stalled.fail(
                        f"{job.ctx.device}: no progress for {idle:.0f} s: "
                        "drive hung, erasure abandoned"
                    )
                    stalled.finish()
                    journal.close(stalled)
                    job.result = stalled
        if deadline is not None and now > deadline:
            return
        # wake up the moment a job ends (a sleep here would add its length to every
        # run). Not Thread.join: a Ctrl-C landing inside join() can leave Python 3.11
        # believing the thread ended while it still runs.
        wakeup.wait(timeout=0.2)
