"""The probe's tool invocations, shared by the readers and the prefetcher (no heavy imports)."""

from __future__ import annotations

# Not drives a laptop was donated with: RAM disks, loop files, optical, device-mapper
SKIP_DISK_PREFIXES = ("loop", "zram", "ram", "sr", "fd", "md", "dm-", "nbd", "rbd", "nullb")
SMARTCTL_TIMEOUT = 30.0


def smartctl_key(name: str) -> str:
    return f"cmd/smartctl/{name}.json"


def smartctl_argv(name: str) -> list[str]:
    return ["smartctl", "--json=c", "--xall", f"/dev/{name}"]
