"""Memory checks: installed size against the policy, and a quick pattern test.

The pattern test is a sanity check of a slice of free RAM within a time budget, not a
memtest86+: it catches a module that is badly broken (stuck bits in what the kernel
hands us), not a rare flipped bit. The evidence says how much was tested.
"""

from __future__ import annotations

import math
import mmap
import time
from collections.abc import Callable
from typing import Any

import psutil

from checks.health.model import Verdict
from checks.i18n import Lang, msg, t
from checks.policy import Policy
from checks.probe.model import Memory

GIB = 1 << 30
MIB = 1 << 20
MODULE_SIZES_GIB = (1, 2, 4, 8, 16, 32, 64)
# leave the rest of the system this much free memory, whatever the policy asks
KEEP_FREE_MIB = 512


def installed_gib(mem: Memory) -> float | None:
    if not mem.total_bytes:
        return None
    gib = mem.total_bytes / GIB
    if mem.total_source == "meminfo":
        # MemTotal leaves out what firmware and the GPU reserve: 8 GB reads ~7.6 GiB
        return float(math.ceil(gib))
    return round(gib, 2)


def soldered_only(mem: Memory) -> bool:
    """No free slot and every module soldered ("Row Of Chips"): nothing can be added."""
    if mem.slots_free not in (0, None) or not mem.modules:
        return False
    return mem.slots_free == 0 and all(
        (m.form_factor or "").lower() == "row of chips" for m in mem.modules
    )


def ram_to_add(missing_gib: float) -> int:
    """The smallest module size that covers what is missing."""
    for size in MODULE_SIZES_GIB:
        if size >= missing_gib - 1e-6:
            return size
    return MODULE_SIZES_GIB[-1]


def evaluate_memory_size(mem: Memory, policy: Policy) -> Verdict:
    min_gib = policy.memory.min_gib
    gib = installed_gib(mem)
    evidence: dict[str, Any] = {
        "total_bytes": mem.total_bytes,
        "total_source": mem.total_source,
        "installed_gib": gib,
        "min_gib": min_gib,
        "slots_total": mem.slots_total,
        "slots_free": mem.slots_free,
        "max_capacity_bytes": mem.max_capacity_bytes,
        "modules": [
            {"size_bytes": m.size_bytes, "type": m.type, "form_factor": m.form_factor}
            for m in mem.modules
        ],
    }
    if gib is None:
        return Verdict("warn", msg("memory.unknown"), evidence)
    shown = _gib_text(gib)
    if gib >= min_gib:
        return Verdict("pass", msg("memory.ok", gib=shown), evidence)
    max_gib = mem.max_capacity_bytes / GIB if mem.max_capacity_bytes else None
    if max_gib is not None and max_gib < min_gib:
        return Verdict(
            "fail",
            msg("memory.small_max", gib=shown, max=_gib_text(max_gib), min=min_gib),
            evidence,
        )
    if soldered_only(mem):
        evidence["soldered"] = True
        return Verdict("fail", msg("memory.small", gib=shown, min=min_gib), evidence)
    add = ram_to_add(min_gib - gib)
    return Verdict(
        "fail",
        msg("memory.small", gib=shown, min=min_gib),
        evidence,
        repair=msg("repair.add_ram", gib=add),
    )


def _gib_text(gib: float) -> float | int:
    return int(gib) if gib == int(gib) else round(gib, 1)


PATTERNS: tuple[bytes, ...] = (b"\x00", b"\xff", b"\x55", b"\xaa")


def pattern_test(
    mib: int,
    budget_s: float,
    *,
    available_bytes: Callable[[], int] = lambda: psutil.virtual_memory().available,
    clock: Callable[[], float] = time.monotonic,
    progress: Callable[[str], None] = lambda _t: None,
    lang: Lang = "en",
) -> Verdict:
    """Write and verify ``mib`` MiB of fresh anonymous memory with fixed patterns and
    an address pattern (catches address lines that alias), within ``budget_s``."""
    free_mib = available_bytes() // MIB
    size_mib = min(mib, max(0, free_mib - KEEP_FREE_MIB))
    evidence: dict[str, Any] = {
        "requested_mib": mib,
        "free_mib": free_mib,
        "budget_s": budget_s,
        "method": "anonymous mmap, 4 fixed patterns + address pattern, write then verify",
    }
    if size_mib < 16:
        return Verdict("skip", msg("memory.pattern_short", free=free_mib), evidence)
    size = size_mib * MIB
    chunk = MIB
    start = clock()
    errors = 0
    done_patterns = 0
    bad_offsets: list[int] = []
    tested_bytes = 0
    with mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS) as region:
        for pattern in (*PATTERNS, None):
            if clock() - start > budget_s:
                break
            written = 0
            for offset in range(0, size, chunk):
                # the budget is honoured inside a pass too: a slow machine verifies less
                if clock() - start > budget_s:
                    break
                region[offset : offset + chunk] = _chunk(pattern, offset, chunk)
                written = offset + chunk
            bad, offsets = verify_pass(region, pattern, written, chunk)
            errors += bad
            bad_offsets.extend(offsets[: max(0, 10 - len(bad_offsets))])
            tested_bytes += written
            if written == size:
                done_patterns += 1
            progress(
                t("progress.memory_pattern", lang, done=done_patterns, total=len(PATTERNS) + 1)
            )
    took = clock() - start
    evidence.update(
        {
            "tested_mib": size_mib,
            "patterns_done": done_patterns,
            "bytes_written_and_verified": tested_bytes,
            "duration_s": round(took, 2),
            "error_bytes": errors,
            "bad_chunk_offsets": bad_offsets,
        }
    )
    if errors:
        return Verdict(
            "fail",
            msg("memory.pattern_fail", errors=errors, mib=size_mib),
            evidence,
            repair=msg("repair.replace_ram"),
        )
    return Verdict("pass", msg("memory.pattern_ok", mib=size_mib, patterns=done_patterns), evidence)


def verify_pass(
    region: mmap.mmap | bytearray, pattern: bytes | None, length: int, chunk: int = MIB
) -> tuple[int, list[int]]:
    """Bytes that differ from what ``pattern`` wrote over ``length`` bytes of ``region``,
    and the offsets of the chunks holding them."""
    errors = 0
    offsets: list[int] = []
    for offset in range(0, length, chunk):
        expected = _chunk(pattern, offset, chunk)
        got = region[offset : offset + chunk]
        if got != expected:
            errors += sum(1 for a, b in zip(got, expected, strict=True) if a != b)
            offsets.append(offset)
    return errors, offsets


def _chunk(pattern: bytes | None, offset: int, size: int) -> bytes:
    if pattern is not None:
        return pattern * size
    # every word of a 1 MiB chunk holds the chunk's offset: a chunk that lands on
    # another one (an address line stuck or shorted) reads back the wrong offset
    word = offset.to_bytes(8, "little")
    return word * (size // 8)
