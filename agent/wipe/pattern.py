"""Aligned buffers, the random pattern and fast comparison.

The random pattern is the AES-256-CTR keystream under a per-pass key, addressed by the
byte offset on the disk: the 16-byte block at offset ``o`` uses the counter
``nonce + o // 16``. So any part of the pass can be regenerated on its own, which is
what full and sampled verification need, and nothing but the key (kept in memory only,
never written to the journal or the report) is needed to check it. AES-CTR from
``cryptography`` runs at several GB/s on one core with AES-NI and releases the GIL,
so the keystream can be generated in a thread while the disk is busy.

Buffers are anonymous ``mmap`` regions: page-aligned as ``O_DIRECT`` requires. Their
comparison goes through libc ``memcmp`` (via ctypes) because comparing memoryviews in
Python runs element by element at a fraction of the disk's speed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os
import secrets
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

AES_BLOCK = 16
_SLACK = 4096  # update_into needs len(data) + 15 bytes of room; keep the tail aligned

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
_memcmp = _libc.memcmp
_memcmp.argtypes = (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
_memcmp.restype = ctypes.c_int


class AlignedBuffer:
    """A page-aligned, zero-filled buffer usable for O_DIRECT I/O."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._map = mmap.mmap(-1, size + _SLACK)
        self.view = memoryview(self._map)
        self._anchor = ctypes.c_char.from_buffer(self._map)
        self.address = ctypes.addressof(self._anchor)

    def __len__(self) -> int:
        return self.size

    def close(self) -> None:
        del self._anchor
        self.view.release()
        self._map.close()


def same_bytes(a: AlignedBuffer, a_start: int, b: AlignedBuffer, b_start: int, length: int) -> bool:
    return _memcmp(a.address + a_start, b.address + b_start, length) == 0


def first_difference(a: AlignedBuffer, b: AlignedBuffer, length: int, unit: int) -> list[int]:
    """Offsets (multiples of ``unit``) of the units that differ between ``a`` and ``b``."""
    return [
        start
        for start in range(0, length, unit)
        if _memcmp(a.address + start, b.address + start, min(unit, length - start)) != 0
    ]


@dataclass
class Keystream:
    """AES-256-CTR keystream addressed by disk offset (see the module docstring)."""

    key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    nonce: int = field(default_factory=lambda: secrets.randbits(128))

    def fill(self, offset: int, out: AlignedBuffer, length: int, zeros: bytes) -> None:
        """Write the keystream for disk bytes [offset, offset+length) into ``out``."""
        if offset % AES_BLOCK:
            raise ValueError("keystream offsets are multiples of 16 bytes")
        counter = (self.nonce + offset // AES_BLOCK) % (1 << 128)
        encryptor = Cipher(algorithms.AES(self.key), modes.CTR(counter.to_bytes(16, "big")))
        enc = encryptor.encryptor()
        enc.update_into(memoryview(zeros)[:length], out.view[: length + AES_BLOCK - 1])


class Pattern:
    """What a pass writes at each offset: zeros, or the keystream of one key."""

    def __init__(self, name: str, keystream: Keystream | None = None) -> None:
        if name not in ("zero", "random"):
            raise ValueError(f"unknown pattern {name!r}")
        self.name = name
        self.keystream = keystream if keystream is not None else Keystream()

    @property
    def constant(self) -> bool:
        return self.name == "zero"

    def fill(self, offset: int, out: AlignedBuffer, length: int, zeros: bytes) -> None:
        if self.name == "zero":
            if not same_bytes(out, 0, _zero_buffer(length), 0, length):
                ctypes.memset(out.address, 0, length)
            return
        self.keystream.fill(offset, out, length, zeros)


_ZERO_CACHE: dict[int, AlignedBuffer] = {}


def _zero_buffer(length: int) -> AlignedBuffer:
    """A shared read-only-by-convention zero buffer at least ``length`` long."""
    size = max(length, 1 << 20)
    for have, buf in _ZERO_CACHE.items():
        if have >= length:
            return buf
    buf = AlignedBuffer(size)
    _ZERO_CACHE[size] = buf
    return buf


def zero_buffer(length: int) -> AlignedBuffer:
    return _zero_buffer(length)


def is_uniform(data: bytes) -> bool:
    """All bytes equal (0x00 or 0xFF after a block erase, say)."""
    return not data or data.count(data[0]) == len(data)


def page_size() -> int:
    return os.sysconf("SC_PAGE_SIZE")
