"""A bench in a VM: the laptop (guest), its drives, the stick's data folder, the server.

Used by tests/test_vm_bench.py and benchmarks/bench_vm.py. The host keeps:

- ``share/``: the guest's ``/out``; ``share/data`` is the stick's data partition (bench
  key, spool, journals, labels), ``share/os.img`` the OS image, ``share/profile.toml``;
- ``nvme.img`` and ``sata.img``: the laptop's drives, filled with a marker every MiB;
- ``server/``: the programme database (SQLite) that ``weee serve`` runs on 127.0.0.1,
  which the guest reaches at 10.0.2.2 through QEMU's user networking.
"""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.run.localserver import LocalServer, free_port, local_server
from inventory.benchkeys import Bench, init_bench
from vm.harness import (
    HOST_FROM_GUEST,
    REPO,
    THINKPAD_X1_CARBON_5,
    Drive,
    Guest,
    VMResult,
    boot_vm,
    make_disk,
)

MARKER = b"DONOR-DATA-MARKER:jean.dupont@example.org:IBAN-FR76-0000"
DISK_BYTES = 128 << 20
IMAGE_BYTES = 8 << 20
POLICY = "/weee/tests/vm/laptop-policy.toml"

# Every boot first notes each disk's kernel name by serial: the laptop's SATA drive is
# /dev/sdX after the USB stick the guest booted from, whose sdX comes first.
DEVICES_SCRIPT = "lsblk -dnpo PATH,SERIAL > /out/devices.txt\n"

RUN_SCRIPT = """
weee run --yes --profile /out/profile.toml --unattended --screen plain --json \
    > /out/summary.json
"""


@dataclass
class VMBench:
    root: Path
    guest: Guest
    bench: Bench
    port: int
    token: str = ""

    @property
    def share(self) -> Path:
        return self.root / "share"

    @property
    def data_dir(self) -> Path:
        return self.share / "data"

    @property
    def server_dir(self) -> Path:
        return self.root / "server"

    @property
    def nvme(self) -> Path:
        return self.root / "nvme.img"

    @property
    def sata(self) -> Path:
        return self.root / "sata.img"

    @property
    def image(self) -> Path:
        return self.share / "os.img"

    def drives(self, *, sata_blkdebug: Path | None = None) -> list[Drive]:
        return [
            Drive("nvme", self.nvme, "WEEENVME0001"),
            Drive(
                "sata",
                self.sata,
                "WEEESATA0001",
                model="Samsung SSD 860 EVO 500GB",
                blkdebug=sata_blkdebug,
            ),
        ]

    @contextlib.contextmanager
    def server(self) -> Iterator[LocalServer]:
        """The programme database, on the same port and database every time."""
        with local_server(self.server_dir, port=self.port) as server:
            if not self.token:
                self.token = server.register_bench("vm-bench", self.bench.public_key_path)
            yield server

    def write_profile(self, *, extra: str = "") -> None:
        (self.share / "profile.toml").write_text(
            f"""
[bench]
name = "vm-bench"
organisation = "Atelier de test"
technician = "Alice"
location = "Bench 1"

[donor]
name = "Ville de Test"
batch = "2026-11"

[policy]
file = "{POLICY}"

[image]
source = "/out/os.img"
grow = false

[server]
url = "http://{HOST_FROM_GUEST}:{self.port}"
token = "{self.token}"

[paths]
data_dir = "/out/data"
{extra}
"""
        )

    def boot(self, script: str = RUN_SCRIPT, **kwargs: Any) -> VMResult:
        kwargs.setdefault("drives", self.drives())
        kwargs.setdefault("timeout", 300)
        return boot_vm(
            DEVICES_SCRIPT + script,
            guest=self.guest,
            smbios=THINKPAD_X1_CARBON_5,
            share=self.share,
            network=True,
            source=REPO,
            **kwargs,
        )

    def device(self, serial: str) -> str:
        """The disk with this serial as the last boot named it (/dev/sdb, /dev/nvme0n1)."""
        for line in (self.share / "devices.txt").read_text().splitlines():
            path, _, found = line.partition(" ")
            if found.strip() == serial:
                return path
        raise AssertionError(f"no disk with serial {serial} in the last boot")

    def summary(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads((self.share / "summary.json").read_text())
        return doc

    def signed_record(self, record_id: str) -> dict[str, Any]:
        for path in (self.data_dir / "spool" / "records").glob(f"*-{record_id}.json"):
            doc: dict[str, Any] = json.loads(path.read_text())
            return doc
        raise AssertionError(f"record {record_id} is not in the spool")


def make_bench(root: Path, guest: Guest) -> VMBench:
    """Drives full of donor data, an OS image, a bench key on the stick."""
    root.mkdir(parents=True, exist_ok=True)
    share = root / "share"
    share.mkdir(exist_ok=True)
    bench = init_bench(
        share / "data", name="vm-bench", organisation="Atelier de test", technician="Alice"
    )
    vm_bench = VMBench(root=root, guest=guest, bench=bench, port=free_port())
    make_disk(vm_bench.nvme, DISK_BYTES, marker=MARKER)
    make_disk(vm_bench.sata, DISK_BYTES, marker=MARKER)
    vm_bench.image.write_bytes(random.Random(1).randbytes(IMAGE_BYTES))
    return vm_bench
