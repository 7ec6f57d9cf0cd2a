"""The whole bench, in a VM: a laptop dressed as a ThinkPad X1 Carbon 5th with an NVMe
and a SATA drive full of donor data, ``weee run`` in it, the programme database on the
host. Each test is one laptop's story; each boot takes ~20 s plus the run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from vm.bench import IMAGE_BYTES, MARKER, VMBench, make_bench
from vm.harness import count_marker, guest_or_skip

pytestmark = [pytest.mark.vm, pytest.mark.slow]


@pytest.fixture
def vm_bench(tmp_path: Path) -> VMBench:
    return make_bench(tmp_path / "bench", guest_or_skip())


def _imaged(vm_bench: VMBench, disk: Path) -> bool:
    with disk.open("rb") as drive:
        return drive.read(IMAGE_BYTES) == vm_bench.image.read_bytes()


def test_it_erases_images_certifies_and_registers_the_laptop(vm_bench: VMBench) -> None:
    with vm_bench.server() as server:
        vm_bench.write_profile()
        result = vm_bench.boot()
        assert result.exit_status == 0, result.summary()
        summary = vm_bench.summary()
        verdict = summary["verdict"]
        assert verdict["verdict"] == "certified", summary

        # both drives erased: not one marker left anywhere; the OS on the NVMe drive
        assert count_marker(vm_bench.nvme, MARKER) == 0
        assert count_marker(vm_bench.sata, MARKER) == 0
        assert _imaged(vm_bench, vm_bench.nvme)

        signed = vm_bench.signed_record(verdict["record_id"])
        record = signed["record"]
        assert record["certified"] is True
        assert record["device_id"] == verdict["device_id"]
        assert record["hardware"]["device"]["model"] == "ThinkPad X1 Carbon 5th"
        erasures = {e["media"]["serial"]: e for e in record["erasures"]}
        assert set(erasures) == {"WEEENVME0001", "WEEESATA0001"}
        assert all(e["status"] == "certified" for e in erasures.values())
        assert erasures["WEEESATA0001"]["sanitization"]["method"] == "overwrite"
        assert record["image"]["status"] == "verified"
        assert record["donor"] == {"name": "Ville de Test", "batch": "2026-11"}

        # registered in the programme database, which gave the asset ID on the label
        stored = server.get_record(record["record_id"], vm_bench.token)
        assert stored.status_code == 200, stored.text
        assert verdict["asset_id"]
        label = Path(str(verdict["label_path"]).replace("/out", str(vm_bench.share), 1))
        assert f"ASSET   {verdict['asset_id']}" in label.read_text()
