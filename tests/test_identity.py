"""Placeholder serials and the stable device identifier (docs/identity.md)."""

from __future__ import annotations

import pytest

from checks.identity import (
    IdentityFacts,
    clean_serial,
    clean_uuid,
    device_id,
    is_placeholder,
    normalise_mac,
)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "--",
        "-",
        "..",
        "To Be Filled By O.E.M.",
        "To be filled by O.E.M.",
        "Default string",
        "System Serial Number",
        "0123456789",
        "Not Specified",
        "None",
        "N/A",
        "Not Applicable",
        "0000000000",
        "FFFFFFFF",
        "xxxxxxxx",
        "[Empty]",
        "Chassis Serial Number",
        "Type2 - Board Serial Number",
        "A1_Manufacturer0",
        "Array1_PartNumber0",
        "SerNum3",
        "System SKU#",
        "Unknown",
        "INVALID",
    ],
)
def test_placeholders_are_not_serials(value: str | None) -> None:
    assert is_placeholder(value)
    assert clean_serial(value) is None


@pytest.mark.parametrize("value", ["PF0XXXXX", "5CG7194HZ4", "R9-0ABC12", "C02XL0GZJGH5", "10252"])
def test_real_serials_are_kept(value: str) -> None:
    assert clean_serial(f"  {value} ") == value


@pytest.mark.parametrize(
    "uuid",
    [
        "00000000-0000-0000-0000-000000000000",
        "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
        "03000200-0400-0500-0006-000700080009",
        "--",
        "not-a-uuid",
    ],
)
def test_placeholder_uuids(uuid: str) -> None:
    assert clean_uuid(uuid) is None


def test_uuid_is_lower_cased() -> None:
    assert (
        clean_uuid("4C4C4544-0042-3510-8051-B2C04F4E3432") == "4c4c4544-0042-3510-8051-b2c04f4e3432"
    )


LAPTOP = IdentityFacts(
    manufacturer="LENOVO",
    serial="PF0XXXXX",
    board_serial="L1HF7AB01XY",
    uuid="4c4c4544-0042-3510-8051-b2c04f4e3432",
    builtin_macs=("8c:16:45:aa:bb:cc",),
    internal_drive_serials=("S3Z9NB0K123456",),
)


def test_system_serial_first_and_stable_across_drive_swap_and_reinstall() -> None:
    first = device_id(LAPTOP)
    assert first is not None and first.basis == "system-serial" and first.value.startswith("wd1-")
    swapped = IdentityFacts(
        manufacturer="LENOVO", serial="PF0XXXXX", internal_drive_serials=("NEWDRIVE99",)
    )
    assert device_id(swapped) == first
    # vendor spelling and serial case do not change the id
    respelled = IdentityFacts(manufacturer="Lenovo", serial="pf0xxxxx")
    assert device_id(respelled) == first


def test_same_serial_from_two_vendors_is_two_devices() -> None:
    a = device_id(IdentityFacts(manufacturer="HP", serial="12345ABC"))
    b = device_id(IdentityFacts(manufacturer="Dell Inc.", serial="12345ABC"))
    assert a is not None and b is not None and a.value != b.value


def test_fallback_order() -> None:
    no_serial = IdentityFacts(
        manufacturer="Acer",
        serial="To Be Filled By O.E.M.",
        board_serial="NBGXX11001",
        uuid="4c4c4544-0042-3510-8051-b2c04f4e3432",
        builtin_macs=("8c:16:45:aa:bb:cc",),
    )
    assert (got := device_id(no_serial)) is not None and got.basis == "board-serial"
    no_board = IdentityFacts(
        serial="Default string",
        board_serial="--",
        uuid=no_serial.uuid,
        builtin_macs=no_serial.builtin_macs,
    )
    assert (got := device_id(no_board)) is not None and got.basis == "system-uuid"
    macs_only = IdentityFacts(
        uuid="03000200-0400-0500-0006-000700080009",
        builtin_macs=("8c:16:45:aa:bb:cc", "02:00:00:00:00:01"),
    )
    assert (got := device_id(macs_only)) is not None and got.basis == "mac"
    drives_only = IdentityFacts(
        builtin_macs=("02:00:00:00:00:01",), internal_drive_serials=("B", "A")
    )
    got = device_id(drives_only)
    assert got is not None and got.basis == "drive-serial"
    assert got == device_id(IdentityFacts(internal_drive_serials=("A", "B")))


def test_nothing_trustworthy_means_no_id() -> None:
    assert (
        device_id(
            IdentityFacts(
                manufacturer="Default string",
                serial="0123456789",
                board_serial="--",
                uuid="--",
                builtin_macs=("00:00:00:00:00:00",),
                internal_drive_serials=("", "0000000"),
            )
        )
        is None
    )


def test_mac_normalisation() -> None:
    assert normalise_mac("8C-16-45-AA-BB-CC") == "8c:16:45:aa:bb:cc"
    assert normalise_mac("ff:ff:ff:ff:ff:ff") is None and normalise_mac("zz") is None
