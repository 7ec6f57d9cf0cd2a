"""bmaptool's block map: which blocks of an image hold data, with a checksum per range.

Format facts (bmaptool's own history): versions 1.0-1.2 carry no checksums; 1.3 adds
SHA1 (``sha1`` attribute on each ``Range``, ``BmapFileSHA1`` over the file); 1.4 and
2.0 are the same format with a ``ChecksumType`` element (sha256 in practice), a
``chksum`` attribute per range and ``BmapFileChecksum``. The file checksum is computed
over the bmap file with its own value replaced by ASCII zeros.

Parsing is pure (:func:`parse_bmap` takes bytes); reading the file or URL is elsewhere.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

SUPPORTED_MAJOR = 2


class BmapInvalid(ValueError):
    """The bmap file is malformed, inconsistent or fails its own checksum."""


@dataclass(frozen=True)
class BmapRange:
    first: int  # first block, inclusive
    last: int  # last block, inclusive
    checksum: str | None  # hex digest of the range's bytes, None in bmap < 1.3

    def byte_span(self, block_size: int, image_size: int) -> tuple[int, int]:
        """(offset, length) in bytes; the last block of an image may be partial."""
        start = self.first * block_size
        end = min((self.last + 1) * block_size, image_size)
        return start, end - start

    def describe(self, block_size: int, image_size: int) -> str:
        start, length = self.byte_span(block_size, image_size)
        return f"blocks {self.first}-{self.last} (bytes {start}-{start + length - 1})"


@dataclass(frozen=True)
class Bmap:
    version: str
    image_size: int
    block_size: int
    blocks_count: int
    mapped_blocks: int
    checksum_type: str | None  # hashlib name ("sha256", "sha1"), None when no checksums
    ranges: tuple[BmapRange, ...]

    @property
    def mapped_bytes(self) -> int:
        return sum(r.byte_span(self.block_size, self.image_size)[1] for r in self.ranges)


def _text(root: ElementTree.Element, tag: str, *, required: bool = True) -> str | None:
    element = root.find(tag)
    if element is None or element.text is None or not element.text.strip():
        if required:
            raise BmapInvalid(f"missing <{tag}>")
        return None
    return element.text.strip()


def _int(root: ElementTree.Element, tag: str) -> int:
    value = _text(root, tag)
    assert value is not None
    try:
        number = int(value)
    except ValueError:
        raise BmapInvalid(f"<{tag}> is not a number: {value!r}") from None
    if number < 0:
        raise BmapInvalid(f"<{tag}> is negative: {number}")
    return number


def _check_file_checksum(raw: bytes, checksum_type: str, expected: str) -> None:
    expected_bytes = expected.encode("ascii")
    position = raw.find(expected_bytes)
    if position < 0:  # cannot happen for a value parsed from this very file
        raise BmapInvalid("bmap file checksum not found in the file")
    zeroed = raw[:position] + b"0" * len(expected_bytes) + raw[position + len(expected_bytes) :]
    actual = hashlib.new(checksum_type, zeroed).hexdigest()
    if actual != expected.lower():
        raise BmapInvalid(
            f"the bmap file is damaged: its {checksum_type} is {actual}, it says {expected}"
        )


def parse_bmap(raw: bytes) -> Bmap:
    """Parse and validate a bmap file's bytes (format 1.0 to 2.x)."""
    try:
        root = ElementTree.fromstring(raw)
    except ElementTree.ParseError as exc:
        raise BmapInvalid(f"not a valid XML bmap file: {exc}") from None
    if root.tag != "bmap":
        raise BmapInvalid(f"not a bmap file (root element <{root.tag}>)")
    version = root.attrib.get("version", "").strip()
    try:
        major, minor = (int(part) for part in version.split(".", 1))
    except ValueError:
        raise BmapInvalid(f"bad bmap version {version!r}") from None
    if major > SUPPORTED_MAJOR:
        raise BmapInvalid(f"bmap format {version} is not supported (up to {SUPPORTED_MAJOR}.x)")

    if major >= 2 or (major == 1 and minor >= 4):
        checksum_type: str | None = (_text(root, "ChecksumType") or "").lower()
        attribute, file_tag = "chksum", "BmapFileChecksum"
    elif major == 1 and minor == 3:
        checksum_type, attribute, file_tag = "sha1", "sha1", "BmapFileSHA1"
    else:
        checksum_type, attribute, file_tag = None, "", ""
    if checksum_type is not None:
        try:
            hashlib.new(checksum_type)
        except ValueError:
            raise BmapInvalid(f"unknown checksum type {checksum_type!r}") from None

    image_size = _int(root, "ImageSize")
    block_size = _int(root, "BlockSize")
    blocks_count = _int(root, "BlocksCount")
    mapped_blocks = _int(root, "MappedBlocksCount")
    if block_size == 0 or block_size % 512:
        raise BmapInvalid(f"block size {block_size} is not a multiple of 512")
    if blocks_count != -(-image_size // block_size):
        raise BmapInvalid(
            f"image size {image_size} does not match {blocks_count} blocks of {block_size} bytes"
        )
    if checksum_type is not None:
        file_checksum = _text(root, file_tag, required=False)
        if file_checksum is not None:
            _check_file_checksum(raw, checksum_type, file_checksum)

    block_map = root.find("BlockMap")
    if block_map is None:
        raise BmapInvalid("missing <BlockMap>")
    ranges: list[BmapRange] = []
    for element in block_map.findall("Range"):
        text = (element.text or "").strip()
        first_s, _, last_s = text.partition("-")
        try:
            first = int(first_s)
            last = int(last_s) if last_s else first
        except ValueError:
            raise BmapInvalid(f"bad range {text!r}") from None
        if first > last or last >= blocks_count:
            raise BmapInvalid(f"range {text!r} is outside the image's {blocks_count} blocks")
        if ranges and first <= ranges[-1].last:
            raise BmapInvalid(f"range {text!r} overlaps or precedes the one before it")
        checksum = element.attrib.get(attribute) if attribute else None
        if checksum_type is not None and not checksum:
            raise BmapInvalid(f"range {text!r} has no {checksum_type} checksum")
        ranges.append(BmapRange(first, last, checksum.strip().lower() if checksum else None))
    counted = sum(r.last - r.first + 1 for r in ranges)
    if counted != mapped_blocks:
        raise BmapInvalid(f"ranges hold {counted} blocks, <MappedBlocksCount> says {mapped_blocks}")
    return Bmap(
        version=version,
        image_size=image_size,
        block_size=block_size,
        blocks_count=blocks_count,
        mapped_blocks=mapped_blocks,
        checksum_type=checksum_type,
        ranges=tuple(ranges),
    )
