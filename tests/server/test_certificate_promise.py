"""The certificate's promise: every drive of the laptop, every sector, or no certificate.

One table of the ways a drive can escape erasure. Each row makes its escape happen on
the bench for real (the erasure runner on loop devices the test creates, the real
planner and refusals) beside a drive that was erased and verified, and an OS image that
verified, so that the escape is the only thing standing between the laptop and a
certificate. Each row is then followed through every place that could still say
"certified":

- the bench: the record ``new_record`` assembles says ``certified: false`` and why;
- ``validate_record``: a record that claims ``certified: true`` anyway is refused, naming
  the rule;
- the programme database: the honest record is stored (HTTP 201) as not certified and
  the laptop is not "certified"; the forged one is refused (HTTP 400) with the reason;
- the certificate PDF (read back with pdftotext): NOT CERTIFIED, and the drive that
  escaped named as NOT ERASED.

This machine's own disk is only ever planned (never opened for writing): its refusal is
what the planner decides for a drive holding the running system.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import test_wipe_hidden as hidden
import test_wipe_markers as markers
from test_documents import pdf_text
from test_wipe_engine import MARKER, LoopFactory, attach_loops, must, needs_losetup, needs_root

from agent.blockdev import _mount_device, read_facts, underlying_disks
from agent.wipe import WipeOptions, erase, plan_targets
from agent.wipe.engine import Hooks
from agent.wipe.methods import AtaCaps, DriveFacts, HpaInfo
from agent.wipe.runner import refused_report
from checks.system import CommandResult
from inventory.documents.certificate import render_batch_summary, render_certificates
from inventory.record import RecordInvalid, new_record, validate_record
from inventory.server.devices.models import Device, Record
from inventory.server.samples import bench_info, check_output, image_result, signed
from inventory.signing import b64, canonical_bytes, key_id_of, raw_public_key

pytestmark = [pytest.mark.django_db, pytest.mark.root, needs_root, needs_losetup]

SIZE = 4 << 20  # each loop drive


@dataclass
class Bench:
    """What one row's bench made: the laptop's drives as the hardware report lists
    them, the erasure reports, and the drive expected to have escaped."""

    tmp: Path
    loops: LoopFactory
    storage: list[dict[str, Any]] = field(default_factory=list)
    erasures: list[dict[str, Any]] = field(default_factory=list)
    escaped: str = ""
    cleanup: list[list[str]] = field(default_factory=list)  # commands run after the row
    demonstration: dict[str, Any] | None = None  # hardware.demonstration, when a demo

    def options(self, **kwargs: Any) -> WipeOptions:
        return WipeOptions(
            pattern="zero", verify="full", journal_dir=self.tmp / "journal", **kwargs
        )

    def drive(self) -> str:
        """A new loop drive, listed in the hardware report as an internal drive."""
        device = self.loops(SIZE)
        self.storage.append(
            {
                "name": device.rsplit("/", 1)[-1],
                "path": device,
                "serial": None,
                "size_bytes": SIZE,
                "transport": None,
                "removable": False,
            }
        )
        return device

    def erase(self, devices: list[str], **kwargs: Any) -> None:
        reports = erase(devices, self.options(**kwargs))
        self.erasures += [r.to_dict() for r in reports]


# --- the escapes ------------------------------------------------------------------------


def profile_subset(bench: Bench) -> None:
    """The profile names one drive (erase.drives): the other is never erased."""
    erased, left = bench.drive(), bench.drive()
    bench.erase([erased])
    bench.escaped = left


def system_drive(bench: Bench) -> None:
    """An internal drive holds the running system (weee not booted from its stick):
    refused by the planner, kept in the record as refused."""
    facts = read_facts()
    root = [m for m in facts.mounts if m.mountpoint == "/"][-1]
    device = _mount_device(root, facts)
    if device is None:
        pytest.skip(f"/ is not on a block device here ({root.fstype})")
    name = sorted(underlying_disks(device, facts))[0]
    bench.erase([bench.drive()])
    # plan only: this machine's disk is never handed to erase(), only planned and refused
    [target] = plan_targets([f"/dev/{name}"], bench.options(), facts=facts)
    assert not target.allowed and any("running system" in r for r in target.assessment.refusals)
    assert target.disk is not None and target.disk.laptop_drive
    bench.erasures.append(refused_report(target, bench.options()).to_dict())
    bench.storage.append(
        {
            "name": name,
            "path": f"/dev/{name}",
            "serial": target.disk.serial,
            "size_bytes": target.disk.size_bytes,
            "transport": target.disk.transport,
            "removable": False,
        }
    )
    bench.escaped = name


def refused_mounted(bench: Bench) -> None:
    """A drive of the laptop is mounted: refused, never touched."""
    erased, mounted = bench.drive(), bench.drive()
    must(["mkfs.ext4", "-q", "-F", mounted])
    where = bench.tmp / "mnt"
    where.mkdir()
    must(["mount", mounted, str(where)])
    try:
        bench.erase([erased, mounted])
    finally:
        must(["umount", str(where)])
    bench.escaped = mounted


def failed_verification(bench: Bench) -> None:
    """The drive does not keep what was written (the donor's data comes back after the
    pass): verification fails, the erasure is FAILED."""
    erased, bad = bench.drive(), bench.drive()

    def donor_data_survives(device: str, _pass: int) -> None:
        if device == bad:
            with open(bad, "r+b", buffering=0) as fh:
                fh.seek(1 << 20)
                fh.write(MARKER)
                os.fsync(fh.fileno())

    bench.erase([erased, bad], hooks=Hooks(after_pass=donor_data_survives))
    bench.escaped = bad


def frozen(bench: Bench) -> None:
    """An ATA drive frozen by the BIOS, on a bench whose profile asks for the drive's own
    purge (method firmware) and forbids suspend-to-RAM: no method left, refused."""
    erased, stuck = bench.drive(), bench.drive()
    name = stuck.rsplit("/", 1)[-1]
    caps = AtaCaps(security_supported=True, frozen=True, enhanced_erase=True)
    options = bench.options(method="firmware")
    targets = plan_targets(
        [stuck], options, drive_facts={name: DriveFacts(name, "sata", SIZE, ata=caps)}
    )
    assert not targets[0].allowed and any("frozen" in r for r in targets[0].assessment.refusals)
    bench.erase([erased])
    bench.erasures += [r.to_dict() for r in erase(targets, options)]
    bench.escaped = stuck


FIRMWARE = (
    Path(__file__).parents[1] / "data" / "firmware"
)  # recorded (or, as SOURCES.md says, derived) outputs


def answer(name: str | None, returncode: int = 0) -> CommandResult:
    out = (FIRMWARE / name).read_bytes() if name else b""
    return CommandResult(("hdparm",), returncode, out, b"", 0.0)


def sanitize_drive(started: str, status: CommandResult) -> Callable[[Bench], None]:
    """An ATA drive that offers SANITIZE BLOCK ERASE, on a bench whose profile asks for
    the drive's own purge (method firmware): the drive answers the sanitize command with
    ``started`` and every status read with ``status``. Run by the real runner on a loop
    device that stands for the drive's media."""

    def make(bench: Bench) -> None:
        erased, drive = bench.drive(), bench.drive()
        bench.erase([erased])
        name = drive.rsplit("/", 1)[-1]
        sectors = SIZE // 512
        facts = DriveFacts(
            name,
            "sata",
            SIZE,
            ata=AtaCaps(sanitize=True, sanitize_block=True, hpa_feature=True),
            hpa=HpaInfo(current_max=sectors, native_max=sectors, enabled=False),
        )

        def run(argv: Sequence[str], timeout: float = 30) -> CommandResult:
            if "--sanitize-block-erase" in argv:
                return answer(started)
            if "--sanitize-status" in argv:
                return status
            return CommandResult(tuple(argv), 0, b"", b"", 0.0)

        options = bench.options(method="firmware", run=run)
        targets = plan_targets([drive], options, drive_facts={name: facts})
        assert targets[0].plan is not None
        assert targets[0].plan.methods == ["ata-sanitize-block"], targets[0].plan
        bench.erasures += [r.to_dict() for r in erase(targets, options)]
        bench.escaped = drive

    return make


def hidden_area(case_name: str) -> Callable[[Bench], None]:
    """An ATA drive with a hidden area (the cases of tests/test_wipe_hidden.py): a loop
    device over a larger file, the drive's registers answered by its ``run``."""

    def make(bench: Bench) -> None:
        bench.erase([bench.drive()])
        case = hidden.CASES[case_name]
        attached: list[str] = []
        try:
            device, drive = hidden.attach_case_drive(bench.tmp / "hidden.img", case, attached)
        finally:
            bench.cleanup += [["losetup", "-d", d] for d in attached]
        target = hidden.ata_target(device, drive)
        options = bench.options(run=drive.run, restore_dco=case.restore_dco, capacity_wait_s=0.5)
        [report] = erase([target], options)
        bench.erasures.append(report.to_dict())
        assert target.disk is not None
        bench.storage.append(
            {"name": target.disk.name, "path": device, "serial": target.disk.serial,
             "size_bytes": target.disk.size_bytes, "transport": "sata", "removable": False}
        )  # fmt: skip
        bench.escaped = device

    return make


def firmware_no_op(content: str) -> Callable[[Bench], None]:
    """An NVMe drive that answers Format "Success" and erases nothing (the cases of
    tests/test_wipe_markers.py), on a blank or a written medium, firmware-only profile."""

    def make(bench: Bench) -> None:
        bench.erase([bench.drive()])
        device = bench.loops(markers.SIZE)
        if content == "data":
            markers.fill_with_data(device)
        report, _ = markers.erase_with(bench.tmp, device, "nothing", markers.FIRMWARE_ONLY)
        bench.erasures.append(report.to_dict())
        bench.storage.append(
            {"name": device.rsplit("/", 1)[-1], "path": device, "serial": "MARKER-1",
             "size_bytes": markers.SIZE, "transport": "nvme", "removable": False}
        )  # fmt: skip
        bench.escaped = device

    return make


def identify_unreadable(bench: Bench) -> None:
    """A SATA drive that does not answer IDENTIFY (hdparm -I gives nothing: RAID/RST
    mode, an SG_IO error): its HPA/DCO state is unknown, so it is not certified, even
    though an overwrite of what the kernel shows would verify."""
    erased, drive = bench.drive(), bench.drive()
    bench.erase([erased])
    name = drive.rsplit("/", 1)[-1]
    options = bench.options()
    targets = plan_targets([drive], options, drive_facts={name: DriveFacts(name, "sata", SIZE)})
    assert targets[0].allowed
    bench.erasures += [r.to_dict() for r in erase(targets, options)]
    bench.escaped = drive


def demonstration(bench: Bench) -> None:
    """A profile that says ``run.demonstration``: the record lists only the named drive
    (erased) and marks itself a demonstration; the machine's other drives were never
    erased. A demonstration certifies no laptop."""
    erased = bench.drive()
    bench.erase([erased])
    bench.demonstration = {"note": "weee demo", "drives_left_out": ["/dev/sda"]}
    bench.escaped = "/dev/sda"


ESCAPES: dict[str, Callable[[Bench], None]] = {
    "profile-subset": profile_subset,
    "system-drive": system_drive,
    "refused-mounted": refused_mounted,
    "failed-verification": failed_verification,
    "frozen": frozen,
    "sanitize-idle": sanitize_drive(
        "hdparm-sanitize-block-erase-started.txt", answer("hdparm-sanitize-status-idle.txt")
    ),
    "sanitize-failed": sanitize_drive(
        "hdparm-sanitize-block-erase-started.txt", answer("hdparm-sanitize-status-failed.txt")
    ),
    "sanitize-aborted": sanitize_drive(
        "hdparm-sanitize-block-erase-usb-bridge.txt",
        answer("hdparm-sanitize-status-idle-usb-bridge.txt"),
    ),
    "sanitize-status-read-failed": sanitize_drive(
        "hdparm-sanitize-block-erase-started.txt", answer(None, returncode=5)
    ),
    "hpa-kept": hidden_area("hpa-refused"),
    "hpa-rescan-failed": hidden_area("hpa-kernel-keeps-old-size"),
    "dco-not-allowed": hidden_area("dco-not-allowed"),
    "dco-restore-refused": hidden_area("dco-restore-refused"),
    "firmware-no-op-blank": firmware_no_op("blank"),
    "firmware-no-op-written": firmware_no_op("data"),
    "identify-unreadable": identify_unreadable,
    "demonstration": demonstration,
}


@pytest.fixture
def loops(tmp_path: Path) -> Iterator[LoopFactory]:
    yield from attach_loops(tmp_path)


@pytest.fixture(params=list(ESCAPES), ids=list(ESCAPES))
def escaped(request: Any, tmp_path: Path, loops: LoopFactory) -> Bench:
    bench = Bench(tmp_path, loops)
    try:
        ESCAPES[request.param](bench)
    finally:
        for argv in bench.cleanup:
            must(argv)
    assert bench.escaped, "the row named no escaped drive"
    # the other drive was erased for real: the escape alone keeps the certificate away
    assert any(e["status"] == "certified" for e in bench.erasures)
    return bench


def bench_record(bench: Bench, key: Any) -> dict[str, Any]:
    return new_record(
        kind="refurbishment",
        bench=bench_info(key),
        hardware={
            "device": {"manufacturer": "Lenovo", "model": "ThinkPad T480", "device_id": "d-1"},
            "storage": bench.storage,
            **({"demonstration": bench.demonstration} if bench.demonstration else {}),
        },
        checks=check_output(),
        erasures=bench.erasures,
        image=image_result("verified"),
    )


def escaped_name(bench: Bench) -> str:
    return bench.escaped.rsplit("/", 1)[-1]


def why(bench: Bench) -> str:
    """What every place must say of the row: the drive that escaped, named (a
    demonstration says it is one)."""
    return "a demonstration" if bench.demonstration else f"{escaped_name(bench)} ("


def test_the_bench_never_certifies_an_escape(escaped: Bench, key: Any) -> None:
    record = bench_record(escaped, key)
    assert record["certified"] is False
    from inventory.record import certified_reason

    reason = certified_reason(record)
    assert why(escaped) in reason, reason


def test_validate_record_refuses_a_record_that_claims_it(escaped: Bench, key: Any) -> None:
    forged = {**bench_record(escaped, key), "certified": True}
    with pytest.raises(RecordInvalid) as info:
        validate_record(forged)
    assert info.value.path == "certified"
    assert why(escaped) in info.value.message


def test_the_database_stores_it_not_certified_and_refuses_the_forgery(
    escaped: Bench, key: Any, api: Any
) -> None:
    record = bench_record(escaped, key)
    response = api.upload(signed(record, key))
    assert response.status_code == 201, response.content
    assert Record.objects.get(record_id=record["record_id"]).certified is False
    assert Device.objects.get().status != "certified"

    forged = {**record, "record_id": "3f0c1b9e-8a57-4c1e-9d2a-5b7f6e4d3c21", "certified": True}
    # signed by the bench's own key, by hand: sign_record itself refuses to sign it
    refused = api.upload(
        {
            "record": forged,
            "signature": {
                "alg": "ed25519",
                "key_id": key_id_of(raw_public_key(key)),
                "public_key": b64(raw_public_key(key)),
                "value": b64(key.sign(canonical_bytes(forged))),
            },
        }
    )
    assert refused.status_code == 400, refused.content
    assert why(escaped) in refused.content.decode()
    assert Record.objects.count() == 1


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")
def test_the_certificate_says_not_certified_and_names_the_drive(
    escaped: Bench, key: Any, tmp_path: Path
) -> None:
    out = tmp_path / "certificate.pdf"
    render_certificates([signed(bench_record(escaped, key), key)], out)
    text = pdf_text(out)
    assert "RESULT: NOT CERTIFIED" in text and "CERTIFIED. All" not in text
    if escaped.demonstration:
        assert "a demonstration: a disposable disk stood for the laptop's drives" in text
    else:
        assert f"1 of 2 drives erased — {escaped_name(escaped)} (" in text, text
        assert "NOT ERASED" in text
    # the donor's batch summary: the laptop not certified, its drives counted truly
    summary = tmp_path / "summary.pdf"
    render_batch_summary([signed(bench_record(escaped, key), key)], summary)
    words = pdf_text(summary)
    assert "0 laptop(s) certified" in words and "NOT CERTIFIED" in words
    if not escaped.demonstration:
        assert "2 drive(s): 1 drive(s) sanitized and verified, 1 not" in words, words


def test_the_control_row_every_drive_erased_is_certified(
    tmp_path: Path, loops: LoopFactory, key: Any, api: Any
) -> None:
    """Without an escape the same bench certifies: the rows above fail for their escape
    alone, not for something else in how they are made."""
    bench = Bench(tmp_path, loops)
    bench.erase([bench.drive(), bench.drive()])
    record = bench_record(bench, key)
    assert record["certified"] is True
    assert api.upload(signed(record, key)).status_code == 201
    assert Record.objects.get().certified is True
    out = tmp_path / "certificate.pdf"
    render_certificates([signed(record, key)], out)
    assert "RESULT: CERTIFIED" in pdf_text(out)
