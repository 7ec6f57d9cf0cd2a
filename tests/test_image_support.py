"""Helpers for the image tests (no tests here): disk images built with the real tools,
loop devices that are always detached, and a local HTTP server with Range support that
can drop connections mid-transfer.

The images are small (48 MiB) GPT disks: an EFI system partition (FAT, with a file)
and an ext4 partition filled by ``mke2fs -d`` with random and text files, leaving
unmapped gaps so a bmap has something to skip. The "plain" variant has only the ext4
partition. Compressed with the real ``zstd``, ``xz`` and ``gzip``; bmaps made by
``bmaptool create``.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agent.image.partitions import read_gpt
from checks.system import run_command, which

IMAGE_SIZE = 48 << 20
TOOLS = ("sgdisk", "mke2fs", "mkfs.vfat", "mcopy", "bmaptool", "zstd", "xz", "gzip", "debugfs")
COMPRESSORS = {
    "zst": ["zstd", "-q", "-f", "-k"],
    "xz": ["xz", "-q", "-f", "-k", "-T1"],
    "gz": ["gzip", "-q", "-f", "-k"],
}

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="loop devices need root")
needs_tools = pytest.mark.skipif(
    any(which(t) is None for t in (*TOOLS, "losetup")),
    reason="needs " + ", ".join(t for t in (*TOOLS, "losetup") if which(t) is None),
)


def must(argv: list[str], timeout: float = 120.0) -> str:
    result = run_command(argv, timeout=timeout)
    assert result.ok, f"{' '.join(argv)}: {result.error or result.stderr_text}"
    return result.text


def sha256_file(path: Path | str, length: int | None = None) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        remaining = length if length is not None else 1 << 62
        while remaining > 0 and (chunk := handle.read(min(1 << 20, remaining))):
            digest.update(chunk)
            remaining -= len(chunk)
    return digest.hexdigest()


def _fill_tree(tree: Path, seed: int) -> None:
    rng = random.Random(seed)
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "hostname").write_text("trainee-laptop\n")
    for index in range(12):
        folder = tree / f"data{index % 3}"
        folder.mkdir(exist_ok=True)
        size = rng.randint(100_000, 1_500_000)
        if index % 2:
            content = rng.randbytes(size)
        else:
            content = (b"weee refurbished laptop %d\n" % index) * (size // 26)
        (folder / f"file{index}.bin").write_bytes(content)


@dataclass
class Images:
    folder: Path
    variant: str  # "esp" or "plain"
    raw: Path
    bmap: Path
    sha256: str
    compressed: dict[str, Path] = field(default_factory=dict)

    def source(self, kind: str) -> Path:
        return self.raw if kind == "raw" else self.compressed[kind]


def build_images(
    folder: Path, variant: str = "esp", kinds: tuple[str, ...] = ("zst", "xz", "gz")
) -> Images:
    folder.mkdir(parents=True, exist_ok=True)
    raw = folder / "os.img"
    with open(raw, "wb") as handle:
        handle.truncate(IMAGE_SIZE)
    if variant == "esp":
        must(["sgdisk", "-n", "1:2048:+8M", "-t", "1:ef00", "-c", "1:EFI system",
              "-n", "2:0:0", "-t", "2:8300", "-c", "2:root", str(raw)])  # fmt: skip
    else:
        must(["sgdisk", "-n", "1:2048:0", "-t", "1:8300", "-c", "1:root", str(raw)])
    gpt = read_gpt(str(raw))
    assert gpt is not None
    if variant == "esp":
        esp = gpt.partitions[0]
        kib = (esp.last_lba - esp.first_lba + 1) * 512 // 1024
        must(["mkfs.vfat", f"--offset={esp.first_lba}", str(raw), str(kib)])
        loader = folder / "BOOTX64.EFI"
        loader.write_bytes(random.Random(7).randbytes(200_000))
        image = f"{raw}@@{esp.first_lba * 512}"
        must(["mmd", "-i", image, "::/EFI", "::/EFI/BOOT"])
        must(["mcopy", "-i", image, str(loader), "::/EFI/BOOT/BOOTX64.EFI"])
        loader.unlink()
    root = gpt.partitions[-1]
    tree = folder / "tree"
    _fill_tree(tree, seed=len(variant))
    blocks = (root.last_lba - root.first_lba + 1) * 512 // 4096
    must(["mke2fs", "-q", "-t", "ext4", "-b", "4096", "-L", "root", "-d", str(tree),
          "-E", f"offset={root.first_lba * 512}", str(raw), str(blocks)])  # fmt: skip
    must(["rm", "-rf", str(tree)])
    bmap = folder / "os.img.bmap"
    must(["bmaptool", "create", str(raw), "-o", str(bmap)])
    images = Images(folder, variant, raw, bmap, sha256_file(raw))
    for kind in kinds:
        must([*COMPRESSORS[kind], str(raw)])
        suffix = {"zst": ".zst", "xz": ".xz", "gz": ".gz"}[kind]
        images.compressed[kind] = raw.with_name(raw.name + suffix)
    return images


@contextmanager
def loop_device(
    backing: Path, size: int, fill: bytes | None = None, sector_size: int = 512
) -> Iterator[str]:
    """A loop device over a new file of ``size`` bytes, always detached afterwards.
    ``sector_size=4096`` makes it a 4Kn disk (O_DIRECT then wants 4 KiB alignment)."""
    with open(backing, "wb") as handle:
        if fill is None:
            handle.truncate(size)
        else:
            block = fill * (1 << 20)
            for _ in range(size >> 20):
                handle.write(block)
    device = must(
        ["losetup", "--find", "--show", f"--sector-size={sector_size}", str(backing)]
    ).strip()
    try:
        yield device
    finally:
        run_command(["losetup", "-d", device])


@dataclass
class ServerControl:
    """What the handler does; what it saw."""

    drop_after: int | None = None  # close the connection after this many body bytes ...
    drops_left: int = 0  # ... for this many responses (then serve normally)
    absolute_cut: int | None = None  # never send beyond this file offset (truncating server)
    ranges: bool = True  # False: ignore Range headers, like some plain servers
    change_after_first: bool = False  # serve other content (new ETag) after the first body
    missing_status: int = 404  # object stores answer 403 for a missing object
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range)


def _handler(folder: Path, control: ServerControl) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path = folder / self.path.lstrip("/").split("?")[0]
            control.requests.append((self.path, self.headers.get("Range")))
            if not path.is_file():
                self.send_error(control.missing_status)
                return
            data = path.read_bytes()
            served_before = any(p == self.path for p, _ in control.requests[:-1])
            if control.change_after_first and served_before:
                data = data[::-1]  # "a new image was published meanwhile"
            etag = f'"{hashlib.sha256(data).hexdigest()[:16]}"'
            start = 0
            wanted = self.headers.get("Range")
            if_range = self.headers.get("If-Range")
            ranged = control.ranges and wanted and wanted.startswith("bytes=")
            if ranged and if_range in (None, etag):
                start = int(wanted[6:].split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            if control.ranges:
                self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            limit = len(body)
            if control.drops_left and control.drop_after is not None and control.drop_after < limit:
                control.drops_left -= 1
                limit = control.drop_after
            if control.absolute_cut is not None:
                limit = min(limit, max(0, control.absolute_cut - start))
            self.wfile.write(body[:limit])
            self.wfile.flush()
            if limit < len(body):
                self.close_connection = True  # the client sees a short body: a dropped link

    return Handler


@contextmanager
def http_server(
    folder: Path, control: ServerControl | None = None
) -> Iterator[tuple[str, ServerControl]]:
    """Serve ``folder`` on 127.0.0.1 (a free port) in a thread; shut down afterwards."""
    control = control or ServerControl()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(folder, control))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", control
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
