"""Sample signed records, for the tests, the upload benchmark and demos.

They are built with the real record definition (``inventory.record.new_record``) and
signed with the real signing code (``inventory.signing.sign_record``), so whatever the
server accepts here it accepts from a bench.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import agent
from inventory.record import new_record
from inventory.signing import b64, key_id_of, raw_public_key, sign_record


def iso(moment: dt.datetime | None = None) -> str:
    return (moment or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")


def hardware(
    *,
    device_id: str | None = None,
    manufacturer: str = "LENOVO",
    model: str = "ThinkPad T440p",
    serial: str | None = None,
    board_serial: str | None = None,
    macs: Sequence[str] = (),
    drives: Sequence[tuple[str, str | None]] = (("sda", None),),
) -> dict[str, Any]:
    """A hardware report with the fields identity matching reads; ``drives`` are
    (kernel name, serial) pairs."""
    return {
        "schema": "weee-hardware/1",
        "device": {
            "manufacturer": manufacturer,
            "model": model,
            "serial": serial,
            "chassis": "laptop",
            "uuid": None,
            "board_manufacturer": manufacturer,
            "board_serial": board_serial,
            "device_id": device_id or f"dev-{uuid.uuid4().hex[:16]}",
        },
        "cpu": {"model": "Intel(R) Core(TM) i5-4300M CPU @ 2.60GHz", "cores": 2, "threads": 4},
        "memory": {"total_bytes": 8 * 2**30, "modules": []},
        "storage": [
            {
                "name": name,
                "path": f"/dev/{name}",
                "model": "Samsung SSD 860 EVO 250GB",
                "serial": drive_serial,
                "size_bytes": 250_059_350_016,
                "protocol": "ata",
                "rotational": False,
                "removable": False,
                "smart": {"passed": True, "power_on_hours": 12000},
            }
            for name, drive_serial in drives
        ],
        "batteries": [],
        "network": [
            {"name": f"eth{i}", "kind": "ethernet", "mac": mac, "bus": "pci"}
            for i, mac in enumerate(macs)
        ],
        "gaps": [],
    }


def check_output(grade: str = "A") -> dict[str, Any]:
    return {
        "checks": [
            {"id": "storage.smart", "status": "pass", "summary": "SMART passed", "evidence": {}}
        ],
        "grade": {
            "eligible": grade != "parts",
            "grade": grade,
            "reasons": [],
            "repairs": [],
            "policy": {"name": "default", "sha256": "0" * 64},
        },
    }


def erasure(
    *, device: str = "/dev/sda", serial: str | None = "S3Z9NB0K123456", status: str = "certified"
) -> dict[str, Any]:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    end = start + dt.timedelta(seconds=42)
    ok = status == "certified"
    return {
        "schema": "weee-erasure/1",
        "erasure_id": str(uuid.uuid4()),
        "status": status,
        "operator": {
            "technician": "Awa",
            "organisation": "Atelier",
            "bench": "b1",
            "location": "Lyon",
        },
        "media": {
            "device": device,
            "manufacturer": "Samsung",
            "model": "Samsung SSD 860 EVO 250GB",
            "serial": serial,
            "type": "ssd",
            "interface": "ata",
            "size_bytes": 250_059_350_016,
            "logical_sector_size": 512,
        },
        "sanitization": {
            "category": "purge",
            "method": "ata-sanitize-crypto",
            "technique": "The drive's own cryptographic erase (ATA SANITIZE CRYPTO SCRAMBLE).",
            "pattern": None,
            "passes": 1,
        },
        "tool": {"name": "weee", "version": agent.__version__},
        "hidden_areas": {
            "hpa": {
                "present": False,
                "native_max_sectors": 488397168,
                "current_max_sectors": 488397168,
            },
            "dco": {"present": False},
            "restored": None,
            "note": None,
        },
        "passes": [
            {
                "number": 1,
                "pattern": "crypto",
                "started_at": iso(start),
                "ended_at": iso(end) if ok else None,
                "bytes_written": 0,
                "errors": [],
            }
        ],
        "verification": {
            "method": "sample" if ok else "none",
            "started_at": iso(end) if ok else None,
            "ended_at": iso(end) if ok else None,
            "bytes_read": 1_024_000 if ok else 0,
            "samples": 2002 if ok else None,
            "mismatches": 0,
            "first_mismatch_offset": None,
            "result": "passed" if ok else "not-done",
        },
        "started_at": iso(start),
        "ended_at": iso(end) if ok else None,
        "duration_s": 42.0 if ok else None,
        "errors": [] if ok else ["interrupted"],
        "destination": "reuse",
    }


def image_result(status: str = "verified") -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    ok = status == "verified"
    return {
        "schema": "weee-image/1",
        "status": status,
        "source": "/srv/images/debian-12-desktop.img.zst",
        "device": "/dev/sda",
        "bytes_written": 4_000_000_000,
        "image_bytes": 4_000_000_000,
        "sha256": "a" * 64,
        "bmap": True,
        "verification": "bmap-ranges" if ok else "none",
        "started_at": iso(now - dt.timedelta(minutes=3)),
        "ended_at": iso(now),
        "duration_s": 180.0,
        "error": None if ok else "write error at offset 0",
    }


def bench_kit(
    *,
    mouse: bool | None = None,
    sleeve: bool | None = None,
    modem: str | None = None,
    want_modem: bool = False,
) -> dict[str, Any]:
    """A record's ``kit`` as the bench writes it (``checks.kit.build_kit``, so the shape
    is the bench's own). A USB mouse is plugged; ``mouse`` is the technician's answer
    (True: it works, False: it did not answer, None: not asked); ``sleeve`` likewise;
    ``modem`` is "answered" (ModemManager gave its IMEI), "unqueried" (seen on USB only)
    or None (no 4G key)."""
    from checks.kit import ModemInfo, UsbDeviceInfo, UsbInterface, build_kit

    devices = [
        UsbDeviceInfo(
            path="1-1",
            vendor_id="046d",
            product_id="c077",
            manufacturer="Logitech",
            product="USB Optical Mouse",
            interfaces=[UsbInterface("03", "01", "02")],
        )
    ]
    info = None
    if modem == "answered":
        info = ModemInfo(
            usb_id="12d1:1506",
            name="Huawei E3372",
            imei="867530901234567",
            sim_present=True,
            operator="Orange F",
            queried_with="mmcli",
        )
    elif modem == "unqueried":
        info = ModemInfo(
            usb_id="12d1:1506", name="Huawei E3372", note="ModemManager does not list it"
        )
    return build_kit(
        devices, info, mouse_confirmed=mouse, sleeve=sleeve, want_modem=want_modem
    ).to_dict()


def bench_info(key: Ed25519PrivateKey, name: str = "bench-1") -> dict[str, Any]:
    return {
        "id": key_id_of(raw_public_key(key)),
        "name": name,
        "organisation": "Atelier du Réemploi",
        "technician": "Awa",
        "location": "Lyon",
    }


def record(
    key: Ed25519PrivateKey,
    *,
    kind: str = "refurbishment",
    hw: dict[str, Any] | None = None,
    certified: bool = True,
    grade: str = "A",
    donor: dict[str, Any] | None = None,
    maintenance_ticket: str | None = None,
    kit: dict[str, Any] | None = None,
    created_at: str | None = None,
    erased: bool | None = None,
    image: str | None = None,
) -> dict[str, Any]:
    """A valid record: certified (erased and imaged) unless ``certified=False``, in which
    case the erasure was interrupted and nothing was imaged; maintenance runs erase nothing.
    ``erased`` and ``image`` ("verified", "failed" or None) override those two parts."""
    hw = hw or hardware()
    serials = [d["serial"] for d in hw["storage"]]
    if erased is None:
        erased = certified and kind != "maintenance"
    if image is None and certified and kind != "maintenance":
        image = "verified"
    erasures: list[dict[str, Any]] = []
    if kind != "maintenance":
        status = "certified" if erased else "incomplete"
        erasures = [erasure(serial=s, status=status) for s in serials]
    image_part = image_result(image) if image else None
    return new_record(
        kind=kind,
        bench=bench_info(key),
        hardware=hw,
        checks=check_output(grade),
        erasures=erasures,
        image=image_part,
        donor=donor,
        maintenance_ticket=maintenance_ticket,
        kit=kit,
        created_at=created_at,
    )


def signed(rec: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    return sign_record(rec, key)


def public_key_b64(key: Ed25519PrivateKey) -> str:
    return b64(raw_public_key(key))
