"""Pure parts of ``weee image``: bmap parsing, stream formats, the zstd frame tracker,
the pipeline's verification against a disk that returns other data, the progress line.

bmap files come from the real ``bmaptool create`` (format 2.0); the 1.3 (SHA1) and 1.0
(no checksums) variants are the same map written in those formats' element names.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.errors import EXIT_FAILED, EXIT_REFUSED, EXIT_UNAVAILABLE, EXIT_USAGE
from agent.image import write_image
from agent.image.bmap import BmapInvalid, parse_bmap
from agent.image.decompress import (
    ZstdFrameTracker,
    detect_format,
    open_decompressor,
    zstd_content_size,
)
from agent.image.errors import ChecksumMismatch, CorruptImage
from agent.image.pipeline import Extent, Progress, write_and_verify
from agent.image.progress import ProgressPrinter
from agent.image.source import bmap_candidates
from agent.image.target import Target, open_target
from checks.system import run_command, which

needs_bmaptool = pytest.mark.skipif(which("bmaptool") is None, reason="bmaptool missing")


def _sparse_image(path: Path) -> bytes:
    rng = random.Random(3)
    with open(path, "wb") as handle:
        handle.truncate(4 << 20)
        for block in (0, 1, 2, 300, 301, 700):
            handle.seek(block * 4096)
            handle.write(rng.randbytes(4096))
        handle.seek((4 << 20) - 100)
        handle.write(b"end of image" * 5)
    return path.read_bytes()


@pytest.fixture(scope="module")
def bmap_v2(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    if which("bmaptool") is None:
        pytest.skip("bmaptool missing")
    folder = tmp_path_factory.mktemp("bmap")
    image = _sparse_image(folder / "a.img")
    result = run_command(["bmaptool", "create", str(folder / "a.img")])
    assert result.ok, result.stderr_text
    return result.stdout, image


def _older_format(v2: bytes, image: bytes, version: str) -> bytes:
    """The same map in format 1.3 (SHA1 per range, BmapFileSHA1) or 1.0 (no checksums)."""
    doc = parse_bmap(v2)
    ranges = []
    for r in doc.ranges:
        start, length = r.byte_span(doc.block_size, doc.image_size)
        if version == "1.3":
            sha1 = hashlib.sha1(image[start : start + length]).hexdigest()
            ranges.append(f'<Range sha1="{sha1}"> {r.first}-{r.last} </Range>')
        else:
            ranges.append(f"<Range> {r.first}-{r.last} </Range>")
    file_sum = "<BmapFileSHA1> " + "0" * 40 + " </BmapFileSHA1>" if version == "1.3" else ""
    text = (
        f'<?xml version="1.0" ?>\n<bmap version="{version}">\n'
        f"<ImageSize> {doc.image_size} </ImageSize>\n<BlockSize> {doc.block_size} </BlockSize>\n"
        f"<BlocksCount> {doc.blocks_count} </BlocksCount>\n"
        f"<MappedBlocksCount> {doc.mapped_blocks} </MappedBlocksCount>\n{file_sum}\n"
        f"<BlockMap>\n{chr(10).join(ranges)}\n</BlockMap>\n</bmap>\n"
    )
    if version == "1.3":
        text = text.replace("0" * 40, hashlib.sha1(text.encode()).hexdigest())
    return text.encode()


@pytest.mark.parametrize(
    ("version", "checksum_type"), [("2.0", "sha256"), ("1.3", "sha1"), ("1.0", None)]
)
@needs_bmaptool
def test_parses_bmap_formats(
    bmap_v2: tuple[bytes, bytes], version: str, checksum_type: str | None
) -> None:
    v2, image = bmap_v2
    raw = v2 if version == "2.0" else _older_format(v2, image, version)
    doc = parse_bmap(raw)
    assert doc.version == version
    assert doc.checksum_type == checksum_type
    assert doc.image_size == len(image) and doc.block_size == 4096
    spans = [(r.first, r.last) for r in doc.ranges]
    assert spans == [(0, 2), (300, 301), (700, 700), (1023, 1023)]
    for r in doc.ranges:
        start, length = r.byte_span(doc.block_size, doc.image_size)
        if checksum_type is None:
            assert r.checksum is None
        else:
            assert (
                r.checksum == hashlib.new(checksum_type, image[start : start + length]).hexdigest()
            )


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda t: t.replace(b"<BlocksCount> 1024", b"<BlocksCount> 1025"), "does not match"),
        (lambda t: t.replace(b"> 300-301 <", b"> 2-301 <"), "overlaps"),  # on a 1.0 map
        (lambda t: t.replace(b'version="2.0"', b'version="3.0"'), "not supported"),
        (lambda t: t.replace(b"> 700 <", b"> 701 <"), "damaged"),  # file checksum catches it
        (lambda t: t[: len(t) // 2], "not a valid XML"),
        (lambda t: t.replace(b"<MappedBlocksCount> 7", b"<MappedBlocksCount> 8"), "damaged"),
    ],
    ids=["blocks-count", "overlap", "version-3", "edited-range", "cut", "mapped-count"],
)
@needs_bmaptool
def test_rejects_bad_bmaps(
    bmap_v2: tuple[bytes, bytes], damage: Callable[[bytes], bytes], message: str
) -> None:
    raw = bmap_v2[0]
    if message == "overlaps":  # a 2.0 map's own checksum would catch the edit first
        raw = _older_format(raw, bmap_v2[1], "1.0")
    with pytest.raises(BmapInvalid, match=message):
        parse_bmap(damage(raw))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("/srv/os.img.zst", ["/srv/os.img.zst.bmap", "/srv/os.img.bmap", "/srv/os.bmap"]),
        ("/srv/os.img", ["/srv/os.img.bmap", "/srv/os.bmap"]),
        (
            "https://images.example/v2/os.img.xz?token=1",
            [
                "https://images.example/v2/os.img.xz.bmap",
                "https://images.example/v2/os.img.bmap",
                "https://images.example/v2/os.bmap",
            ],
        ),
    ],
)
def test_bmap_is_looked_for_beside_the_image(source: str, expected: list[str]) -> None:
    assert bmap_candidates(source) == expected


# ------------------------------------------------------------------ stream formats

PAYLOAD = random.Random(5).randbytes(300_000) + bytes(3_000_000) + b"tail" * 10_000


def _compress(tool: list[str], data: bytes) -> bytes:
    result = run_command(tool, input=data, timeout=60)
    assert result.ok, result.stderr_text
    return result.stdout


FORMATS = {
    "zstd": ["zstd", "-q", "-c", "-"],
    "zstd-no-check": ["zstd", "-q", "--no-check", "-c", "-"],
    "xz": ["xz", "-q", "-c", "-"],
    "gzip": ["gzip", "-q", "-c", "-"],
}


def _decompress_all(data: bytes, fmt: str) -> bytes:
    stream = open_decompressor(io.BufferedReader(io.BytesIO(data)), fmt)
    out = bytearray()
    buffer = memoryview(bytearray(1 << 20))
    while count := stream.readinto(buffer):
        out += buffer[:count]
    stream.finish()
    return bytes(out)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_decompresses_real_tool_output(name: str) -> None:
    data = _compress(FORMATS[name], PAYLOAD)
    fmt = detect_format(data[:16], "x.img")
    assert fmt == name.split("-")[0]
    assert _decompress_all(data, fmt) == PAYLOAD


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.999])
@pytest.mark.parametrize("name", sorted(FORMATS))
def test_truncated_streams_are_corrupt(name: str, fraction: float) -> None:
    data = _compress(FORMATS[name], PAYLOAD)
    cut = data[: max(16, int(len(data) * fraction))]
    with pytest.raises(CorruptImage):
        _decompress_all(cut, name.split("-")[0])


def test_zstd_multiple_and_skippable_frames() -> None:
    one = _compress(FORMATS["zstd"], PAYLOAD)
    skippable = (0x184D2A53).to_bytes(4, "little") + (5).to_bytes(4, "little") + b"hello"
    data = one + skippable + one
    tracker = ZstdFrameTracker()
    for offset in range(0, len(data), 777):  # headers split across reads
        tracker.feed(data[offset : offset + 777])
    assert tracker.between_frames and tracker.frames == 2
    assert _decompress_all(data, "zstd") == PAYLOAD * 2
    with pytest.raises(CorruptImage, match="truncated"):
        _decompress_all(data[: len(one) + 3], "zstd")


def test_zstd_records_content_size() -> None:
    data = _compress(["zstd", "-q", "-c"], b"")  # empty stdin: size 0 known
    assert zstd_content_size(data[:18]) in (0, None)
    assert zstd_content_size(b"\x00" * 18) is None


def test_named_compressed_but_not_compressed_is_refused() -> None:
    with pytest.raises(CorruptImage, match="not a zstd stream"):
        detect_format(b"\x00" * 16, "os.img.zst")
    assert detect_format(b"\x00" * 16, "os.img") == "raw"


# ------------------------------------------------------------------ verification


class _LyingTarget(Target):
    """A real file target whose read-back returns one flipped byte at ``bad_offset``."""

    bad_offset = 0

    def read_into(self, offset: int, buffer: memoryview) -> int:
        count = super().read_into(offset, buffer)
        if offset <= self.bad_offset < offset + count:
            buffer[self.bad_offset - offset] ^= 0xFF
        return count


def test_readback_mismatch_fails_and_names_the_range(tmp_path: Path) -> None:
    image = random.Random(9).randbytes(1 << 20)
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(2 << 20))
    opened = open_target(str(disk))
    fields = ("path", "is_block", "size", "alignment", "fd", "direct_fd")
    target = _LyingTarget(**{name: getattr(opened, name) for name in fields})
    target.bad_offset = 600_000
    extents = [
        Extent(0, 262144, hashlib.sha256(image[:262144]).hexdigest(), "blocks 0-63"),
        Extent(524288, 262144, hashlib.sha256(image[524288:786432]).hexdigest(), "blocks 128-191"),
    ]
    source = open_decompressor(io.BufferedReader(io.BytesIO(image)), "raw")
    try:
        with pytest.raises(ChecksumMismatch, match=r"verification failed: .* blocks 128-191"):
            write_and_verify(
                source, target, extents=extents, algorithm="sha256",
                image_size=len(image), whole_sha256=False, chunk_size=1 << 18,
            )  # fmt: skip
    finally:
        target.close()
    written = disk.read_bytes()
    assert written[:262144] == image[:262144]  # it did write; it just does not claim success


def test_unreachable_server_is_unavailable(tmp_path: Path) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(1 << 20))
    result = write_image("http://127.0.0.1:9/os.img.zst", str(disk), retries=0, backoff_s=0)
    assert result.status == "failed"
    assert result.exit_code == EXIT_UNAVAILABLE
    assert "127.0.0.1:9" in (result.error or "")


def test_progress_line_shows_rate_eta_and_verified() -> None:
    printer = ProgressPrinter(io.StringIO())
    line = printer.line(Progress("write", 500_000_000, 1_000_000_000, 200_000_000, 100_000_000,
                                 400_000_000), elapsed=2.0)  # fmt: skip
    assert "writing" in line and "50.0%" in line and "250.0 MB/s" in line
    assert "ETA 0:00:02" in line and "verified 100.0 MB" in line


def test_o_direct_falls_back_on_tmpfs(tmp_path: Path) -> None:
    """/dev/shm refuses O_DIRECT: the target still works, through ordinary I/O."""
    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm")
    path = Path("/dev/shm") / f"weee-test-{os.getpid()}.img"
    try:
        path.write_bytes(bytes(1 << 20))
        target = open_target(str(path))
        try:
            data = memoryview(bytearray(b"\x42" * 8192))
            target.write(4096, data)
            target.flush()
            back = memoryview(bytearray(8192))
            assert target.read_into(4096, back) == 8192 and back.tobytes() == data.tobytes()
        finally:
            target.close()
    finally:
        path.unlink(missing_ok=True)


@needs_bmaptool
def test_raw_image_with_bmap_reads_only_mapped_spans(
    bmap_v2: tuple[bytes, bytes], tmp_path: Path
) -> None:
    """And a raw image cut short of its bmap fails before writing anything."""
    raw_bmap, image = bmap_v2
    (tmp_path / "os.bmap").write_bytes(raw_bmap)
    (tmp_path / "os.img").write_bytes(image)
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(len(image)))
    result = write_image(str(tmp_path / "os.img"), str(disk))
    assert result.status == "verified", result.error
    assert disk.read_bytes() == image
    (tmp_path / "cut.img").write_bytes(image[: 2 << 20])
    (tmp_path / "cut.bmap").write_bytes(raw_bmap)
    result = write_image(str(tmp_path / "cut.img"), str(disk))
    assert result.status == "failed" and result.exit_code == EXIT_FAILED
    assert "truncated" in (result.error or "")
    assert result.bytes_written == 0  # found before writing anything


def test_refusal_from_the_safety_check_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "os.img"
    source.write_bytes(b"\x01" * (1 << 20))
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(1 << 20))

    def refuse(path: str, explicit: bool) -> tuple[list[str], str]:
        return [f"{path} is mounted: /srv (test)"], f"{path}  fake disk"

    result = write_image(str(source), str(disk), safety=refuse)
    assert result.status == "failed"
    assert result.exit_code == EXIT_REFUSED
    assert "is mounted: /srv" in (result.error or "")
    assert disk.read_bytes() == bytes(1 << 20)


@pytest.mark.parametrize("version", ["1.3", "1.0"])
@needs_bmaptool
def test_writes_with_older_bmap_formats(
    bmap_v2: tuple[bytes, bytes], tmp_path: Path, version: str
) -> None:
    """SHA1 ranges (1.3) are checked with SHA1; without checksums (1.0) the read-back
    is compared with the digests taken while writing."""
    raw_bmap, image = bmap_v2
    (tmp_path / "os.img").write_bytes(image)
    old = tmp_path / f"os-{version}.bmap"
    old.write_bytes(_older_format(raw_bmap, image, version))
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(len(image)))
    result = write_image(str(tmp_path / "os.img"), str(disk), bmap=str(old))
    assert result.status == "verified", result.error
    assert result.verification == "bmap-ranges"
    assert disk.read_bytes() == image
    if version == "1.3":  # a wrong SHA1 is caught and named
        bad = tmp_path / "bad.bmap"
        doc = parse_bmap(old.read_bytes())
        first = doc.ranges[0]
        assert first.checksum is not None
        text = old.read_text().replace(first.checksum, "0" * 40)
        bad.write_text(_with_sha1_file_checksum(text))
        result = write_image(str(tmp_path / "os.img"), str(disk), bmap=str(bad))
        assert result.status == "failed"
        assert f"blocks {first.first}-{first.last}" in (result.error or "")


def _with_sha1_file_checksum(text: str) -> str:
    """Recompute a 1.3 bmap's BmapFileSHA1 (over the file with the value zeroed)."""
    start = text.index("<BmapFileSHA1>") + len("<BmapFileSHA1>")
    end = text.index("</BmapFileSHA1>")
    zeroed = text[:start] + " " + "0" * 40 + " " + text[end:]
    digest = hashlib.sha1(zeroed.encode()).hexdigest()
    return text[:start] + " " + digest + " " + text[end:]


def test_an_image_is_not_written_onto_itself(tmp_path: Path) -> None:
    image = tmp_path / "os.img"
    image.write_bytes(b"\x01" * 8192)
    result = write_image(str(image), str(tmp_path / "." / "os.img"))
    assert result.status == "failed" and "onto itself" in (result.error or "")
    assert image.read_bytes() == b"\x01" * 8192


@needs_bmaptool
def test_bmap_of_another_image_is_refused(bmap_v2: tuple[bytes, bytes], tmp_path: Path) -> None:
    raw_bmap, image = bmap_v2
    (tmp_path / "os.img").write_bytes(image + bytes(4096))  # not the image the bmap maps
    (tmp_path / "os.bmap").write_bytes(raw_bmap)
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(len(image) + 4096))
    result = write_image(str(tmp_path / "os.img"), str(disk))
    assert result.exit_code == EXIT_USAGE
    assert "bmap of another image" in (result.error or "")
