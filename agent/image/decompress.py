"""On-the-fly decompression of image streams: raw, zstd, xz, gzip.

The format is recognised by its magic bytes (a renamed file still works), the file
name only breaks a tie for raw images. Every decompressor reports a damaged or
truncated stream as :class:`CorruptImage`, never as silent short data: python-zstandard's
stream reader returns a clean EOF when its input stops in the middle of a frame, so
:class:`ZstdFrameTracker` follows the frame structure on the side to notice that.
"""

from __future__ import annotations

import bisect
import gzip
import io
import lzma
import os
import struct
import zlib
from typing import BinaryIO, Protocol

import zstandard

from agent.image.errors import CorruptImage

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
XZ_MAGIC = b"\xfd7zXZ\x00"
GZIP_MAGIC = b"\x1f\x8b"
COMPRESSION_SUFFIXES = {".zst": "zstd", ".zstd": "zstd", ".xz": "xz", ".gz": "gzip"}
READ_SIZE = 4 << 20  # compressed bytes per callback into Python: fewer GIL hand-overs


def detect_format(head: bytes, name: str) -> str:
    """ "zstd", "xz", "gzip" or "raw" from the first bytes of the stream."""
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    if head.startswith(XZ_MAGIC):
        return "xz"
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    lowered = name.lower()
    for suffix, fmt in COMPRESSION_SUFFIXES.items():
        if lowered.endswith(suffix):
            # Named compressed but no magic: decompressing raw data as zstd would fail
            # anyway; say clearly what is wrong instead.
            raise CorruptImage(f"{name}: not a {fmt} stream (bad magic bytes {head[:6].hex()})")
    return "raw"


def zstd_content_size(head: bytes) -> int | None:
    """Decompressed size of the first zstd frame when its header records it."""
    try:
        size = zstandard.frame_content_size(head)
    except zstandard.ZstdError:
        return None
    return size if size >= 0 else None


class ZstdFrameTracker:
    """Follows zstd frame boundaries in the compressed bytes, to detect truncation.

    Per RFC 8878: a frame is magic, header (descriptor, window, dictionary id, content
    size), blocks with 3-byte headers (last-block bit, type, size; an RLE block carries
    one byte), then an optional 4-byte checksum. Skippable frames are magic + length.
    Only headers are parsed; the block contents are skipped, so this costs a few Python
    operations per 128 KiB block.
    """

    def __init__(self) -> None:
        self._pending = b""  # bytes of the header being assembled
        self._need = 4  # header bytes still wanted before the next decision
        self._state = "magic"
        self._skip = 0  # content bytes to pass over
        self._checksum = False
        self.frames = 0

    @property
    def between_frames(self) -> bool:
        return self._state == "magic" and not self._pending and self._skip == 0

    def feed(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while len(view):
            if self._skip:
                step = min(self._skip, len(view))
                self._skip -= step
                view = view[step:]
                continue
            take = self._need - len(self._pending)
            self._pending += bytes(view[:take])
            view = view[take:]
            if len(self._pending) == self._need:
                self._advance(self._pending)

    def _advance(self, header: bytes) -> None:
        self._pending = b""
        if self._state == "magic":
            (magic,) = struct.unpack("<I", header)
            if magic & 0xFFFFFFF0 == 0x184D2A50:
                self._state, self._need = "skippable", 4
            elif header == ZSTD_MAGIC:
                self._state, self._need = "descriptor", 1
            else:
                raise CorruptImage(f"not a zstd frame (magic {header.hex()})")
        elif self._state == "skippable":
            (self._skip,) = struct.unpack("<I", header)
            self._state, self._need = "magic", 4
        elif self._state == "descriptor":
            descriptor = header[0]
            fcs_flag, single_segment = descriptor >> 6, (descriptor >> 5) & 1
            self._checksum = bool((descriptor >> 2) & 1)
            dict_bytes = (0, 1, 2, 4)[descriptor & 3]
            fcs_bytes = (1 if single_segment else 0, 2, 4, 8)[fcs_flag]
            rest = (0 if single_segment else 1) + dict_bytes + fcs_bytes
            self._state, self._need = "block", 3
            self._skip = rest  # the rest of the header is not needed
        elif self._state == "block":
            (value,) = struct.unpack("<I", header + b"\x00")
            last, block_type, size = value & 1, (value >> 1) & 3, value >> 3
            if block_type == 3:
                raise CorruptImage("damaged zstd stream (reserved block type)")
            self._skip = 1 if block_type == 1 else size
            if last:
                self.frames += 1
                if self._checksum:
                    self._skip += 4
                self._state, self._need = "magic", 4
            else:
                self._need = 3


class Decompressor(Protocol):
    def readinto(self, buffer: memoryview) -> int: ...

    def finish(self) -> None:
        """Raise CorruptImage if the stream ended where it should not have."""


class _Tracked(io.RawIOBase):
    """Passes compressed bytes through to zstd while the frame tracker watches them."""

    def __init__(self, inner: BinaryIO, tracker: ZstdFrameTracker) -> None:
        self._inner = inner
        self._tracker = tracker
        self.eof = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        if not data:
            self.eof = True
        self._tracker.feed(data)
        return data

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class ZstdStream:
    def __init__(self, compressed: BinaryIO) -> None:
        self._tracker = ZstdFrameTracker()
        self._source = _Tracked(compressed, self._tracker)
        self._reader = zstandard.ZstdDecompressor().stream_reader(
            self._source,  # type: ignore[arg-type]  # any object with read() will do
            read_size=READ_SIZE,
            read_across_frames=True,
        )

    def readinto(self, buffer: memoryview) -> int:
        try:
            return self._reader.readinto(buffer)
        except zstandard.ZstdError as exc:
            raise CorruptImage(f"damaged zstd stream: {exc}") from None

    def finish(self) -> None:
        # Drain: the reader may stop at EOF of output before reading the source's end.
        while self._source.read(READ_SIZE):
            pass
        if not self._tracker.between_frames or self._tracker.frames == 0:
            raise CorruptImage("the zstd stream ends in the middle of a frame: truncated image")


class _StdlibStream:
    """gzip and xz: the standard library already raises EOFError on truncation."""

    def __init__(self, reader: io.BufferedIOBase, fmt: str) -> None:
        self._reader = reader
        self._fmt = fmt

    def readinto(self, buffer: memoryview) -> int:
        try:
            return self._reader.readinto(buffer)
        except EOFError:
            raise CorruptImage(f"the {self._fmt} stream ends early: truncated image") from None
        except (lzma.LZMAError, gzip.BadGzipFile, zlib.error, OSError) as exc:
            raise CorruptImage(f"damaged {self._fmt} stream: {exc}") from None

    def finish(self) -> None:
        pass


class _RawStream:
    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def readinto(self, buffer: memoryview) -> int:
        return self._stream.readinto(buffer)  # type: ignore[attr-defined]

    def finish(self) -> None:
        pass


def open_decompressor(stream: BinaryIO, fmt: str) -> Decompressor:
    if fmt == "zstd":
        return ZstdStream(stream)
    if fmt == "xz":
        return _StdlibStream(lzma.LZMAFile(stream), "xz")
    if fmt == "gzip":
        return _StdlibStream(gzip.GzipFile(fileobj=stream, mode="rb"), "gzip")
    return _RawStream(stream)


class SparseRawStream:
    """A raw local image with a bmap: only the mapped spans are read from the file.

    The stream still advances over the whole image, but the bytes of unmapped areas are
    left as they were in the buffer: the pipeline never hashes nor writes them (this
    stream is only used when no whole-image sha256 is asked for). bmaptool reads a raw
    image the same way; on a 40 %-full image it halves the reading.
    """

    def __init__(self, fd: int, image_size: int, spans: list[tuple[int, int]]) -> None:
        self._fd = fd
        self._size = image_size
        self._spans = spans  # (start, end) byte offsets, sorted, disjoint
        self._starts = [start for start, _ in spans]
        self._position = 0

    def readinto(self, buffer: memoryview) -> int:
        start = self._position
        end = min(start + len(buffer), self._size)
        if start >= end:
            return 0
        index = max(0, bisect.bisect_right(self._starts, start) - 1)
        while index < len(self._spans) and self._spans[index][0] < end:
            span_start, span_end = self._spans[index]
            a, b = max(span_start, start), min(span_end, end)
            while a < b:
                got = os.preadv(self._fd, [buffer[a - start : b - start]], a)
                if got == 0:
                    raise CorruptImage(f"the image file ends at byte {a}, before its bmap's end")
                a += got
            index += 1
        self._position = end
        return end - start

    def finish(self) -> None:
        pass
