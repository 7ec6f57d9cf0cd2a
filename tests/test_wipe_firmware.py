"""The firmware-erase path: strict state read-back, and the runner on real loop devices.

The parsers and firmware functions run on drives' recorded answers
(``tests/data/firmware``, see SOURCES.md there) through the injected ``run``.

A loop device has no firmware, so the drive's command is played by a runner passed in
(``WipeOptions.run``) that does to the device what a drive would: zero it (an honest
Format), nothing at all (a drive that says "success" and lies), or refuse (QEMU's
recorded answer to Sanitize). Everything else is real: the exclusive open, the sample
snapshot before the command, the read-back after it, the fallback to overwrite.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from test_wipe_engine import (
    MARKER,
    LoopFactory,
    attach_loops,
    needs_losetup,
    needs_root,
    plant_marker,
    read_all,
)

from agent.blockdev import Assessment, Disk
from agent.wipe import Target, WipeOptions, erase
from agent.wipe.firmware import (
    FirmwareError,
    Outcome,
    parse_ata_sanitize_status,
    parse_ata_security,
    parse_nvme_sanitize_log,
    run_firmware_method,
)
from agent.wipe.methods import DriveFacts, Plan
from agent.wipe.report import (
    EVIDENCE_MAX_CHARS,
    ErasureReport,
    Evidence,
    Media,
    Sanitization,
    clip_output,
)
from checks.system import CommandResult


def on_loop_devices(test: Any) -> Any:
    """The runner tests need root and losetup; the read-back tests need neither."""
    for mark in (pytest.mark.root, needs_root, needs_losetup):
        test = mark(test)
    return test


COMMANDS = Path(__file__).parent / "data" / "wipe" / "qemu-commands"
FIRMWARE = Path(__file__).parent / "data" / "firmware"
QEMU_IDENTIFY = Path(__file__).parent / "data" / "wipe" / "qemu-sata" / "hdparm-I.txt"
SCHEMA = Path(__file__).parent.parent / "inventory" / "schema" / "record-1.schema.json"
SIZE = 24 << 20


@pytest.fixture
def loop_device(tmp_path: Path) -> Iterator[LoopFactory]:
    yield from attach_loops(tmp_path)


def used_drive(device: str) -> None:
    """A donor's drive: full of data (non-uniform everywhere), markers included."""
    with open(device, "r+b", buffering=0) as fh:
        for offset in range(0, SIZE, 1 << 20):
            fh.seek(offset)
            fh.write(os.urandom(1 << 20))
        os.fsync(fh.fileno())
    plant_marker(device, SIZE)


def target(device: str, methods: list[str]) -> Target:
    name = os.path.basename(device)
    disk = Disk(name=name, path=device, size_bytes=SIZE, logical_sector_size=512,
                physical_sector_size=512, model="Test NVMe", serial="FW-TEST-1", vendor=None,
                transport="nvme", rotational=False, removable=False, hotplug=False,
                read_only=False, devtype="disk")  # fmt: skip
    facts = DriveFacts(name=name, transport="nvme", size_bytes=SIZE)
    return Target(device, Assessment(device, name, disk), disk, facts, Plan(methods, ["test"]))


def drive(device: str, *, honest: bool, calls: list[tuple[str, ...]]) -> Any:
    """The drive's side of ``nvme format`` / ``nvme sanitize``."""

    def run(argv: Sequence[str], timeout: float = 30) -> CommandResult:
        args = tuple(argv)
        calls.append(args)
        if args[:2] == ("nvme", "sanitize"):
            # QEMU 7.2's recorded answer: Invalid Command Opcode, exit status 1
            return CommandResult(
                args, 1, (COMMANDS / "nvme_sanitize_crypto.txt").read_bytes(), b"", 0
            )
        if args[:2] == ("nvme", "format"):
            if honest:
                fd = os.open(device, os.O_WRONLY)  # not exclusive: weee holds O_EXCL
                try:
                    for offset in range(0, SIZE, 1 << 20):
                        os.pwrite(fd, bytes(1 << 20), offset)
                    os.fsync(fd)
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)
            return CommandResult(args, 0, (COMMANDS / "nvme_format_ses1.txt").read_bytes(), b"", 0)
        return CommandResult(args, None, b"", b"", 0, error="not a drive command")

    return run


@on_loop_devices
def test_format_is_verified_by_the_sample_read_back(
    tmp_path: Path, loop_device: LoopFactory
) -> None:
    device = loop_device(SIZE)
    used_drive(device)
    calls: list[tuple[str, ...]] = []
    opts = WipeOptions(journal_dir=tmp_path / "j", run=drive(device, honest=True, calls=calls))
    [report] = erase([target(device, ["nvme-format-user-data", "overwrite"])], opts)
    doc = report.to_dict()
    assert doc["status"] == "certified", doc["errors"]
    assert doc["sanitization"]["method"] == "nvme-format-user-data"
    assert doc["sanitization"]["category"] == "purge"
    assert "Tried first" not in doc["sanitization"]["technique"]
    assert doc["verification"]["method"] == "sample" and doc["verification"]["samples"] == 2002
    assert doc["passes"][0]["pattern"] == "firmware"
    assert calls[-1] == ("nvme", "format", device, "--ses=1", "--block-size=512", "--force")
    assert read_all(device).count(MARKER) == 0


@on_loop_devices
def test_refused_sanitize_falls_through_to_format(tmp_path: Path, loop_device: LoopFactory) -> None:
    device = loop_device(SIZE)
    used_drive(device)
    calls: list[tuple[str, ...]] = []
    opts = WipeOptions(journal_dir=tmp_path / "j", run=drive(device, honest=True, calls=calls))
    plan = ["nvme-sanitize-crypto", "nvme-format-user-data", "overwrite"]
    [report] = erase([target(device, plan)], opts)
    assert report.status == "certified"
    assert report.sanitization.method == "nvme-format-user-data"
    assert "nvme-sanitize-crypto: refused by the drive" in report.sanitization.technique
    assert "Invalid Command Opcode" in report.sanitization.technique
    drive_commands = [c[:2] for c in calls if c[1] not in ("id-ns", "sanitize-log")]
    assert drive_commands == [("nvme", "sanitize"), ("nvme", "format")]
    assert [e.command.split()[:2] for e in report.evidence] == [
        ["nvme", "sanitize-log"],  # read before the command, unreadable here
        ["nvme", "sanitize"],  # refused: Invalid Command Opcode, kept as evidence
        ["nvme", "format"],
    ]
    assert "Invalid Command Opcode" in report.evidence[1].output


@on_loop_devices
def test_a_drive_that_lies_is_overwritten_instead(tmp_path: Path, loop_device: LoopFactory) -> None:
    device = loop_device(SIZE)
    used_drive(device)
    opts = WipeOptions(journal_dir=tmp_path / "j", run=drive(device, honest=False, calls=[]))
    [report] = erase([target(device, ["nvme-format-user-data", "overwrite"])], opts)
    assert report.status == "certified", report.errors
    assert report.sanitization.method == "overwrite"
    assert "nvme-format-user-data: verification failed" in report.sanitization.technique
    assert report.errors == []
    assert [p.pattern for p in report.passes] == ["random"]
    assert read_all(device).count(MARKER) == 0


@on_loop_devices
def test_a_drive_that_lies_is_never_certified(tmp_path: Path, loop_device: LoopFactory) -> None:
    device = loop_device(SIZE)
    used_drive(device)
    opts = WipeOptions(journal_dir=tmp_path / "j", run=drive(device, honest=False, calls=[]))
    [report] = erase([target(device, ["nvme-format-user-data"])], opts)  # --method firmware
    assert report.status == "failed"
    assert report.verification.result == "failed"
    assert report.verification.mismatches == 2002  # every sample still holds its marker
    assert report.verification.markers_found == report.verification.markers_written == 2002


@on_loop_devices
def test_secure_discard_refused_by_a_loop_device(tmp_path: Path, loop_device: LoopFactory) -> None:
    """The real BLKSECDISCARD ioctl: a loop device does not support it -> overwrite."""
    device = loop_device(SIZE)
    used_drive(device)
    [report] = erase(
        [target(device, ["mmc-secure-erase", "overwrite"])], WipeOptions(journal_dir=tmp_path / "j")
    )
    assert report.status == "certified"
    assert report.sanitization.method == "overwrite"
    assert "mmc-secure-erase: refused by the drive (BLKSECDISCARD" in report.sanitization.technique
    assert read_all(device).count(MARKER) == 0


# ------------------------------------------------------------------ strict read-back


def answer(name: str | None, rc: int | None = 0, *, stderr: bool = False) -> CommandResult:
    """A recorded answer from tests/data/firmware (None: no output at all)."""
    data = (FIRMWARE / name).read_bytes() if name else b""
    out, err = (b"", data) if stderr else (data, b"")
    return CommandResult((), rc, out, err, 0.0, error=None if rc is not None else "timed out")


def identify(section: str | None) -> CommandResult:
    """QEMU's real ``hdparm -I`` with a recorded Security section where hdparm prints it."""
    text = QEMU_IDENTIFY.read_text()
    if section:
        security = (FIRMWARE / section).read_text()
        text = text.replace("HW reset results:", security + "HW reset results:")
    return CommandResult((), 0, text.encode(), b"", 0.0)


def drive_answers(script: dict[tuple[str, ...], list[CommandResult]]) -> Any:
    """The drive's side: each command prefix answers from its list, in order."""
    calls: list[tuple[str, ...]] = []
    script = {prefix: list(answers) for prefix, answers in script.items()}  # callers keep theirs

    def run(argv: Sequence[str], timeout: float = 30) -> CommandResult:
        args = tuple(argv)
        calls.append(args)
        for prefix, answers in sorted(script.items(), key=lambda kv: -len(kv[0])):
            if args[: len(prefix)] == prefix:
                assert answers, f"the drive was asked {args} once too often"
                return answers.pop(0)
        return CommandResult(args, 0, b"", b"", 0.0)

    run.calls = calls  # type: ignore[attr-defined]
    return run


def disk(name: str) -> Disk:
    return Disk(name=name, path=f"/dev/{name}", size_bytes=SIZE, logical_sector_size=512,
                physical_sector_size=512, model=None, serial=None, vendor=None,
                transport="nvme" if name.startswith("nvme") else "sata", rotational=False,
                removable=False, hotplug=False, read_only=False, devtype="disk")  # fmt: skip


NVME, SATA = disk("nvme0n1"), disk("sda")
NO_WAIT = {"poll": lambda s: None}


@pytest.mark.parametrize(
    ("name", "rc", "stderr", "outcome", "detail"),
    [
        ("hdparm-sanitize-status-completed.txt", 0, False, Outcome.SUCCEEDED, "Without Error"),
        ("hdparm-sanitize-status-completed-native-sata.txt", 0, False, Outcome.SUCCEEDED, "SD0"),
        ("hdparm-sanitize-status-in-process.txt", 0, False, Outcome.IN_PROGRESS, "SD2"),
        ("hdparm-sanitize-status-idle.txt", 0, False, Outcome.FAILED, "no sanitize operation"),
        ("hdparm-sanitize-status-idle-usb-bridge.txt", 0, False, Outcome.FAILED, "bad/missing"),
        ("hdparm-sanitize-status-frozen.txt", 0, False, Outcome.FAILED, "SD1 Sanitize Frozen"),
        ("hdparm-sanitize-status-failed.txt", 5, True, Outcome.FAILED, "completed unsuccessfully"),
        ("hdparm-sanitize-status-not-supported.txt", 22, True, Outcome.FAILED, "not supported"),
        ("hdparm-sanitize-block-erase-started.txt", 0, False, Outcome.FAILED, "no sanitize status"),
        ("nvme-format-success-qemu.txt", 0, False, Outcome.FAILED, "no sanitize status"),
        (None, 0, False, Outcome.FAILED, "no sanitize status"),
        (None, 1, False, Outcome.FAILED, "exit status 1, no output"),
        (None, None, False, Outcome.FAILED, "timed out"),
    ],
)
def test_ata_sanitize_status_is_read_strictly(
    name: str | None, rc: int | None, stderr: bool, outcome: Outcome, detail: str
) -> None:
    read = parse_ata_sanitize_status(answer(name, rc, stderr=stderr))
    assert read.outcome is outcome
    assert detail in read.detail
    if outcome is Outcome.IN_PROGRESS:
        assert read.progress == pytest.approx(0x41C2 / 0x10000)


@pytest.mark.parametrize(
    ("name", "sos", "sprog", "global_erased", "cdw10"),
    [
        ("nvme-sanitize-log-1.16-completed.json", 1, 65535, 1, 2),
        ("nvme-sanitize-log-2.8-completed.json", 1, 65535, 1, 2),
        ("nvme-sanitize-log-2.11-completed.json", 1, 65535, 1, 2),
        ("nvme-sanitize-log-2.x-in-progress.json", 2, 655, 0, 2),
        ("nvme-sanitize-log-1.16-never-sanitized.json", 0, 65535, 0, 0),
        ("nvme-sanitize-log-2.11-failed.json", 3, 65535, 0, 4),
        ("nvme-sanitize-log-2.11-no-deallocate-completed.json", 4, 65535, 1, 0x204),
    ],
)
def test_nvme_sanitize_log_of_every_nvme_cli_layout(
    name: str, sos: int, sprog: int, global_erased: int, cdw10: int
) -> None:
    log = parse_nvme_sanitize_log((FIRMWARE / name).read_text())
    assert (log.sos, log.sprog, log.global_erased, log.cdw10) == (sos, sprog, global_erased, cdw10)
    expected = {1: Outcome.SUCCEEDED, 4: Outcome.SUCCEEDED, 2: Outcome.IN_PROGRESS}
    assert log.read().outcome is expected.get(sos, Outcome.FAILED)


def test_nvme_sanitize_log_as_a_bare_register() -> None:
    log = parse_nvme_sanitize_log(json.dumps({"nvme0": {"sprog": 65535, "sstat": 0x101}}))
    assert (log.sos, log.global_erased, log.passes) == (1, 1, 0)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        (FIRMWARE / "nvme-sanitize-log-refused-qemu.txt").read_text(),
        "[]",
        "{}",
        json.dumps({"nvme0": {"sprog": 65535}}),
        json.dumps({"nvme0": {"sstat": 1}}),
        json.dumps({"nvme0": {"sprog": 1, "sstat": {"status": "completed"}}}),
        json.dumps({"nvme0": {"sprog": 1, "sstat": "(1) done"}}),
        json.dumps({"nvme0": {"sprog": 1, "sstat": 1}, "nvme1": {"sprog": 1, "sstat": 1}}),
    ],
)
def test_an_unreadable_sanitize_log_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_nvme_sanitize_log(text)


@pytest.mark.parametrize(
    ("section", "enabled", "locked", "frozen", "expired"),
    [
        ("hdparm-I-security-frozen.txt", False, False, True, False),
        ("hdparm-I-security-not-enabled.txt", False, False, False, False),
        ("hdparm-I-security-enabled.txt", True, False, False, False),
        ("hdparm-I-security-locked.txt", True, True, False, False),
        ("hdparm-I-security-expired.txt", True, True, False, True),
    ],
)
def test_ata_security_section(
    section: str, enabled: bool, locked: bool, frozen: bool, expired: bool
) -> None:
    state = parse_ata_security(identify(section).text)
    assert (state.enabled, state.locked, state.frozen, state.expired) == (
        enabled, locked, frozen, expired)  # fmt: skip
    assert state.supported


@pytest.mark.parametrize(
    "text",
    [
        identify(None).text,  # QEMU's disk: no Security section
        identify("hdparm-I-security-no-status-word.txt").text,  # no flag printed at all
        (FIRMWARE / "hdparm-I-security-not-enabled.txt").read_text(),  # no identify data
        "",
        " HDIO_DRIVE_CMD(identify) failed: Input/output error",
    ],
)
def test_an_unreadable_security_state_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_ata_security(text)


# ------------------------------------------------------------------ the methods end to end

STARTED = "hdparm-sanitize-block-erase-started.txt"


def test_ata_sanitize_succeeds_on_completed_without_error_only() -> None:
    run = drive_answers({
        ("hdparm", "--yes-i-know-what-i-am-doing"): [answer(STARTED)],
        ("hdparm", "--sanitize-status"): [answer("hdparm-sanitize-status-in-process.txt")] * 3
        + [answer("hdparm-sanitize-status-completed.txt")],
    })  # fmt: skip
    evidence: list[Evidence] = []
    waits: list[float] = []
    run_firmware_method("ata-sanitize-block", SATA, run=run, poll=waits.append, evidence=evidence)
    assert len(waits) == 3
    assert [e.command for e in evidence] == [
        "hdparm --yes-i-know-what-i-am-doing --sanitize-block-erase /dev/sda",
        "hdparm --sanitize-status /dev/sda",  # the first read in progress
        "hdparm --sanitize-status /dev/sda",  # the deciding read
    ]
    assert "SD2 Sanitize operation In Process" in evidence[1].output
    assert "Last Sanitize Operation Completed Without Error" in evidence[2].output
    assert evidence[2].exit_status == 0


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (answer("hdparm-sanitize-status-idle.txt"), "no sanitize operation completed"),
        (answer("hdparm-sanitize-status-idle-usb-bridge.txt"), "bad/missing sense"),
        (answer("hdparm-sanitize-status-frozen.txt"), "Frozen"),
        (answer("hdparm-sanitize-status-failed.txt", 5, stderr=True), "unsuccessfully"),
        (answer("hdparm-sanitize-status-not-supported.txt", 22, stderr=True), "not supported"),
        (answer(None, 0), "no sanitize status"),
        (answer(None, 1), "status unreadable"),
        (answer(None, None), "timed out"),
        (answer("nvme-sanitize-log-2.11-completed.json"), "no sanitize status"),
    ],
)
def test_ata_sanitize_fails_on_every_other_state(status: CommandResult, message: str) -> None:
    run = drive_answers({
        ("hdparm", "--yes-i-know-what-i-am-doing"): [answer(STARTED)],
        ("hdparm", "--sanitize-status"): [status],
    })  # fmt: skip
    evidence: list[Evidence] = []
    with pytest.raises(FirmwareError, match=message):
        run_firmware_method("ata-sanitize-crypto", SATA, run=run, evidence=evidence, **NO_WAIT)
    raw = (status.text + status.stderr_text).strip()
    assert evidence[-1].command == "hdparm --sanitize-status /dev/sda"
    assert raw in evidence[-1].output and evidence[-1].exit_status == status.returncode


@pytest.mark.parametrize(
    "started",
    [
        answer("hdparm-sanitize-block-erase-usb-bridge.txt"),  # registers lost on the way
        answer("hdparm-sanitize-status-not-supported.txt", 22, stderr=True),
        answer(None, 0),  # exit 0, but hdparm did not say it started
    ],
)
def test_ata_sanitize_not_accepted_is_never_polled(started: CommandResult) -> None:
    run = drive_answers({
        ("hdparm", "--yes-i-know-what-i-am-doing"): [started],
        ("hdparm", "--sanitize-status"): [answer("hdparm-sanitize-status-completed.txt")],
    })  # fmt: skip
    evidence: list[Evidence] = []
    with pytest.raises(FirmwareError, match="not accepted"):
        run_firmware_method("ata-sanitize-block", SATA, run=run, evidence=evidence, **NO_WAIT)
    assert not any(c[1] == "--sanitize-status" for c in run.calls)
    assert len(evidence) == 1 and evidence[0].exit_status == started.returncode


LOG_NEVER = "nvme-sanitize-log-1.16-never-sanitized.json"
LOG_DONE = "nvme-sanitize-log-2.11-completed.json"
LOG_RUNNING = "nvme-sanitize-log-2.x-in-progress.json"


@pytest.mark.parametrize(
    ("logs", "waits"),
    [
        ([LOG_NEVER, LOG_RUNNING, LOG_RUNNING, LOG_DONE], 2),  # seen in progress
        ([LOG_NEVER, LOG_DONE], 0),  # too fast to be seen, but the log moved
        ([LOG_DONE, LOG_RUNNING, LOG_DONE], 1),  # sanitized before, and seen running again
        (["nvme-sanitize-log-2.11-failed.json", LOG_DONE], 0),
        ([LOG_NEVER, "nvme-sanitize-log-2.11-no-deallocate-completed.json"], 0),
        ([None, LOG_RUNNING, "nvme-sanitize-log-2.8-completed.json"], 1),  # no log before
    ],
)
def test_nvme_sanitize_succeeds_when_this_operation_completed(
    logs: list[str | None], waits: int
) -> None:
    run = drive_answers({("nvme", "sanitize-log"): [answer(n, 0 if n else 1) for n in logs]})
    evidence: list[Evidence] = []
    polls: list[float] = []
    run_firmware_method("nvme-sanitize-crypto", NVME, run=run, poll=polls.append,
                        evidence=evidence)  # fmt: skip
    assert len(polls) == waits
    assert run.calls[1] == ("nvme", "sanitize", "/dev/nvme0", "--sanact=4")
    assert evidence[0].command == "nvme sanitize-log /dev/nvme0 -o json"  # before
    assert evidence[-1].command == "nvme sanitize-log /dev/nvme0 -o json"  # deciding
    assert parse_nvme_sanitize_log(evidence[-1].output).read().outcome is Outcome.SUCCEEDED


@pytest.mark.parametrize(
    ("logs", "message"),
    [
        ([LOG_DONE, LOG_DONE], "same as before the command"),  # an earlier owner's sanitize
        ([None, LOG_DONE], "same as before the command"),  # unreadable before, never seen
        ([LOG_NEVER, LOG_NEVER], "never been sanitized"),
        ([LOG_NEVER, LOG_RUNNING, "nvme-sanitize-log-2.11-failed.json"], "sanitize failed"),
        ([LOG_NEVER, "nvme-sanitize-log-refused-qemu.txt"], "unreadable.*Invalid Field"),
        ([LOG_NEVER, None], "unreadable"),
        ([LOG_NEVER, "hdparm-sanitize-status-completed.txt"], "unreadable"),
    ],
)
def test_nvme_sanitize_fails_on_every_other_state(logs: list[str | None], message: str) -> None:
    answers = [
        answer(n, 1 if n and n.endswith("qemu.txt") else 0) if n else answer(None, 1) for n in logs
    ]
    run = drive_answers({("nvme", "sanitize-log"): answers})
    evidence: list[Evidence] = []
    with pytest.raises(FirmwareError, match=message):
        run_firmware_method("nvme-sanitize-block", NVME, run=run, evidence=evidence, **NO_WAIT)
    last = answers[-1]
    assert evidence[-1].command == "nvme sanitize-log /dev/nvme0 -o json"
    assert (last.text + last.stderr_text).strip() in evidence[-1].output
    assert evidence[-1].exit_status == last.returncode


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (answer("nvme-format-success-qemu.txt", 0), None),
        (answer("nvme-format-success-qemu.txt", 1), "Success formatting"),  # exit status wins
        (answer("nvme-format-write-protected.txt", 1), "NS_WRITE_PROTECTED"),
        (answer(None, 0), "no output"),
        (answer("hdparm-sanitize-status-idle.txt", 0), "no success message"),
        (answer(None, None), "timed out"),
    ],
)
def test_nvme_format_needs_its_success_message_and_exit_0(
    result: CommandResult, message: str | None
) -> None:
    run = drive_answers({("nvme", "format"): [result], ("nvme", "id-ns"): [answer(None, 1)]})
    evidence: list[Evidence] = []
    if message is None:
        run_firmware_method("nvme-format-crypto", NVME, run=run, evidence=evidence)
    else:
        with pytest.raises(FirmwareError, match=message):
            run_firmware_method("nvme-format-crypto", NVME, run=run, evidence=evidence)
    [kept] = evidence
    assert kept.command == "nvme format /dev/nvme0n1 --ses=2 --block-size=512 --force"
    assert (result.text + result.stderr_text).strip() in kept.output
    assert kept.exit_status == result.returncode


ERASE = ("hdparm", "--user-master", "u", "--security-erase-enhanced")
DISABLE = ("hdparm", "--user-master", "u", "--security-disable")


def test_ata_security_erase_reads_not_enabled_and_not_locked_back() -> None:
    reads = [
        identify("hdparm-I-security-enabled.txt"),
        identify("hdparm-I-security-not-enabled.txt"),
    ]
    run = drive_answers({("hdparm", "-I"): reads})
    evidence: list[Evidence] = []
    run_firmware_method("ata-security-erase-enhanced", SATA, run=run, evidence=evidence)
    assert [e.command.split()[:4] for e in evidence] == [
        ["hdparm", "--user-master", "u", "--security-set-pass"],
        ["hdparm", "-I", "/dev/sda"],
        list(ERASE),
        ["hdparm", "-I", "/dev/sda"],
    ]
    assert "\tnot\tenabled\n\tnot\tlocked" in evidence[-1].output  # the Security section kept
    assert not any(c[:4] == DISABLE for c in run.calls)


@pytest.mark.parametrize(
    ("final", "message"),
    [
        (identify("hdparm-I-security-enabled.txt"), "still enabled after"),
        (identify("hdparm-I-security-locked.txt"), "still enabled and locked"),
        (identify("hdparm-I-security-expired.txt"), "still enabled and locked"),
        (identify("hdparm-I-security-no-status-word.txt"), "does not say whether"),
        (identify(None), "no Security section"),
        (answer(None, 0), "no ATA identify data"),
        (answer(None, 5), "hdparm -I failed"),
        (CommandResult((), 5, b"", b" HDIO_DRIVE_CMD(identify) failed: Input/output error", 0),
         "Input/output error"),
    ],
)  # fmt: skip
def test_ata_security_erase_fails_unless_read_back_cleared(
    final: CommandResult, message: str
) -> None:
    run = drive_answers({("hdparm", "-I"): [identify("hdparm-I-security-enabled.txt"), final]})
    evidence: list[Evidence] = []
    with pytest.raises(FirmwareError, match=message):
        run_firmware_method("ata-security-erase-enhanced", SATA, run=run, evidence=evidence)
    read_back = next(e for e in reversed(evidence) if e.command == "hdparm -I /dev/sda")
    assert read_back.exit_status == final.returncode
    raw = (final.text + final.stderr_text).strip()
    assert raw[-1000:] in read_back.output  # the end of hdparm -I, where Security is, kept
    assert run.calls[-1][:4] == DISABLE  # never leave our password on the drive


@pytest.mark.parametrize(
    "after_set_pass",
    [
        identify(None),  # QEMU: no security at all
        identify("hdparm-I-security-not-enabled.txt"),
        identify("hdparm-I-security-frozen.txt"),
        answer(None, 5),
    ],
)
def test_ata_security_password_not_accepted(after_set_pass: CommandResult) -> None:
    run = drive_answers({("hdparm", "-I"): [after_set_pass]})
    evidence: list[Evidence] = []
    with pytest.raises(FirmwareError, match="did not accept"):
        run_firmware_method("ata-security-erase", SATA, run=run, evidence=evidence)
    assert not any("--security-erase" in c for c in run.calls)
    assert evidence[1].command == "hdparm -I /dev/sda"


# ------------------------------------------------------------------ evidence in the report


def test_evidence_round_trips_and_the_record_schema_allows_it() -> None:
    media = Media("/dev/sda", None, "M", "S", "ssd", "ata", SIZE, 512)
    report = ErasureReport(media, Sanitization.for_method("ata-sanitize-block"))
    report.evidence = [Evidence("hdparm --sanitize-status /dev/sda", 0, clip_output("x" * 10_000)),
                       Evidence("nvme sanitize-log /dev/nvme0 -o json", None, "")]  # fmt: skip
    schema = json.loads(SCHEMA.read_text())
    erasure = jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/erasure"})
    doc = report.to_dict()
    erasure.validate(doc)
    assert ErasureReport.from_dict(doc).evidence == report.evidence
    old = {k: v for k, v in doc.items() if k != "evidence"}  # a report from before the field
    erasure.validate(old)
    assert ErasureReport.from_dict(old).evidence == []
    doc["evidence"][0]["output"] = "x" * 10_000  # unclipped: the schema refuses it
    assert not erasure.is_valid(doc)


def test_evidence_output_is_clipped_keeping_both_ends() -> None:
    run = drive_answers({
        ("hdparm", "--yes-i-know-what-i-am-doing"): [answer(STARTED)],
        ("hdparm", "--sanitize-status"): [
            CommandResult((), 0, b"A" * 6000 + (FIRMWARE / "hdparm-sanitize-status-idle.txt")
                          .read_bytes(), b"", 0.0)],
    })  # fmt: skip
    evidence: list[Evidence] = []
    with pytest.raises(FirmwareError):
        run_firmware_method("ata-sanitize-block", SATA, run=run, evidence=evidence, **NO_WAIT)
    kept = evidence[-1].output
    assert len(kept) <= EVIDENCE_MAX_CHARS + 60
    assert kept.startswith("AAAA") and kept.rstrip().endswith("SD0 Sanitize Idle")
    assert "characters cut" in kept
