"""A laptop that comes back is recognised: by device id, by serial, and without one."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.identity import is_placeholder
from checks.probe.dmi import parse_device, parse_dmidecode
from inventory.server.devices.identity import facts_of, usable
from inventory.server.devices.models import Device
from inventory.server.samples import hardware, record
from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db


def test_it_recognises_a_laptop_by_its_device_id(api, key):
    first = api.store(record(key, hw=hardware(device_id="dev-aaaa")))
    again = api.store(record(key, hw=hardware(device_id="dev-aaaa", drives=[("sda", "NEW")])))
    assert again["asset_id"] == first["asset_id"]
    assert Device.objects.count() == 1


@pytest.mark.parametrize(
    "first_hw, second_hw, matched_by",
    [
        (
            hardware(serial="PF0XYZ12", drives=[("sda", "D1")]),
            hardware(serial="PF0XYZ12", drives=[("sda", "D2")]),
            "serial",
        ),
        (
            hardware(serial=None, board_serial="L1HF65E00AB"),
            hardware(serial=None, board_serial="L1HF65E00AB"),
            "board_serial",
        ),
        (
            hardware(serial=None, macs=["54:ee:75:12:34:56"], drives=[("sda", "D1")]),
            hardware(serial=None, macs=["54:ee:75:12:34:56"], drives=[("sda", "D9")]),
            "mac",
        ),
        (
            hardware(serial=None, drives=[("sda", "S3Z9NB0K1"), ("sdb", "WD-123")]),
            hardware(serial=None, drives=[("sda", "S3Z9NB0K1"), ("sdb", "WD-123")]),
            "drive_serial",
        ),
        (
            hardware(serial=None, macs=["54:ee:75:00:00:01"], drives=[("sda", "Z1")]),
            hardware(serial=None, macs=["54:ee:75:00:00:01"], drives=[("sda", "Z1")]),
            "drive_serial+mac",
        ),
    ],
    ids=["serial", "board-serial-only", "mac-only", "drives-only", "mac-and-drive"],
)
def test_it_recognises_a_laptop_without_its_device_id(api, key, first_hw, second_hw, matched_by):
    first = api.store(record(key, hw=first_hw))
    # a new device id: an older agent, or a changed board, gave it another one
    again = api.store(record(key, hw=second_hw))
    assert again["asset_id"] == first["asset_id"]
    device = Device.objects.get()
    assert device.records.order_by("pk").last().matched_by == matched_by


@pytest.mark.parametrize(
    "placeholder",
    [
        "To Be Filled By O.E.M.",
        "Default string",
        "System Serial Number",
        "0123456789",
        "--",
        "  ",
        "00000000",
    ],
)
def test_it_never_merges_laptops_on_a_placeholder_serial(api, key, placeholder):
    api.store(record(key, hw=hardware(serial=placeholder, drives=[("sda", "A")])))
    api.store(record(key, hw=hardware(serial=placeholder, drives=[("sda", "B")])))
    assert Device.objects.count() == 2


def test_a_drive_moved_into_another_laptop_does_not_merge_the_two(api, key):
    first = api.store(record(key, hw=hardware(serial="AAA111", drives=[("sda", "MOVED")])))
    second = api.store(record(key, hw=hardware(serial="BBB222", drives=[("sda", "MOVED")])))
    assert first["asset_id"] != second["asset_id"]
    # the drive now belongs to the second laptop: it identifies that one from now on
    third = api.store(record(key, hw=hardware(serial=None, drives=[("sda", "MOVED")])))
    assert third["asset_id"] == second["asset_id"]


def test_usb_drives_and_adapters_do_not_identify_a_laptop(api, key):
    hw1 = hardware(serial=None, drives=[("sda", "BOOTSTICK")])
    hw1["storage"][0]["protocol"] = "usb"
    hw1["network"] = [
        {"name": "usb0", "kind": "ethernet", "mac": "00:e0:4c:68:00:01", "bus": "usb"}
    ]
    hw2 = hardware(serial=None, drives=[("sda", "BOOTSTICK")])
    hw2["storage"][0]["protocol"] = "usb"
    hw2["network"] = hw1["network"]
    api.store(record(key, hw=hw1))
    api.store(record(key, hw=hw2))
    assert Device.objects.count() == 2


@pytest.mark.parametrize(
    "run, expected",
    [
        ({}, "certified"),
        ({"certified": False}, "diagnosed"),
        ({"certified": False, "erased": True}, "erased"),
        ({"certified": False, "erased": True, "image": "failed"}, "erased"),
        ({"certified": False, "erased": False, "image": "verified"}, "diagnosed"),
        ({"certified": False, "hw": hardware(drives=[]), "image": "verified"}, "imaged"),
    ],
    ids=[
        "certified",
        "interrupted-erasure",
        "erased-not-imaged",
        "image-failed",
        "imaged-after-incomplete-erasure",
        "imaged-without-drive-to-erase",
    ],
)
def test_a_bench_run_moves_the_laptop_along_its_lifecycle(api, key, run, expected):
    rec = record(key, **run)
    assert rec["certified"] is (expected == "certified")
    api.store(rec)
    assert Device.objects.get().status == expected


def test_an_older_run_uploaded_late_does_not_move_the_laptop_back(api, key):
    hw = hardware(serial="LATE1")
    api.store(record(key, hw=hw, certified=True))
    api.store(record(key, hw=hw, certified=False, created_at="2020-01-01T10:00:00+00:00"))
    device = Device.objects.get()
    assert device.status == "certified"
    assert device.records.count() == 2


def test_a_recycling_run_recycles_the_laptop(api, key):
    hw = hardware(serial="RCY1")
    api.store(record(key, hw=hw, certified=False))
    api.store(record(key, hw=hw, kind="recycling", certified=False, erased=True))
    assert Device.objects.get().status == "recycled"


def test_a_recycling_run_whose_erasure_did_not_complete_is_not_recycled(api, key):
    """Parts leave for the recycler only once every drive of the laptop was erased: an
    interrupted erasure leaves the laptop diagnosed (its data may remain)."""
    api.store(record(key, hw=hardware(serial="RCY2"), kind="recycling", certified=False))
    assert Device.objects.get().status == "diagnosed"


def test_the_donor_and_batch_of_the_record_are_kept(api, key):
    api.store(record(key, donor={"name": "Ville de Lyon", "batch": "2026-03"}))
    device = Device.objects.get()
    assert device.batch is not None
    assert (device.batch.donor.name, device.batch.reference) == ("Ville de Lyon", "2026-03")


# One identity rule: the probe's (checks.identity). The server applies it again to what
# records from older agents and the API carry; it used to keep a shorter list of its own
# and took these as real serials, merging different laptops into one.
PROBE_PLACEHOLDERS = [
    "To_Be_Filled_By_OEM",
    "To Be Filled By O.E.M.",
    "Not Available",
    "OEM",
    "SerNum0",
    "Default string",
    "System Serial Number",
    "Chassis Serial Number",
    "Base Board Serial Number",
    "0123456789",
    "Not Specified",
    "None",
    "N/A",
    "Unknown",
    "INVALID",
    "0",
    "--",
    "  ",
    "00000000",
    "XXXXXXXXXX",
]


@pytest.mark.parametrize("placeholder", PROBE_PLACEHOLDERS)
def test_the_server_takes_the_probes_placeholders_as_no_serial(api, key, placeholder):
    assert is_placeholder(placeholder)  # the probe's rule: this is no serial
    first = hardware(serial=placeholder, board_serial=placeholder, drives=[("sda", "A")])
    second = hardware(serial=placeholder, board_serial=placeholder, drives=[("sda", "B")])
    api.store(record(key, hw=first))
    api.store(record(key, hw=second))
    assert Device.objects.count() == 2
    kinds = {f.kind for f in facts_of(record(key, hw=first))}
    assert "serial" not in kinds and "board_serial" not in kinds


def dmidecode_dumps() -> list[Path]:
    folder = FIXTURES / "dmidecode"
    if not folder.is_dir():
        pytest.skip(f"recordings not available: {folder}")
    return sorted(folder.glob("*.txt"))


def test_the_server_reads_200_real_dmidecode_serials_as_the_probe_does():
    """The 200 notebooks' system and board serials, raw as dmidecode printed them: the
    server keeps exactly what the probe keeps (its serial, or nothing)."""
    dumps = dmidecode_dumps()
    assert len(dumps) >= 200
    compared = 0
    for dump in dumps:
        records = parse_dmidecode(dump.read_text(errors="replace"))
        device = parse_device(records)
        raw = device.raw
        for field, kept in (
            ("system_serial", device.serial),
            ("board_serial", device.board_serial),
        ):
            if field in raw:
                assert usable(raw[field]) == kept, (dump.name, field, raw[field])
                compared += 1
    assert compared >= 200
