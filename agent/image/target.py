"""The device (or image file) being written: O_DIRECT I/O with a buffered fallback.

O_DIRECT keeps gigabytes of image out of the page cache (a bench laptop's RAM is small
and the page cache would only delay the real writes to the final fsync) and makes the
read-back verification read the disk, not memory. It needs the buffer address, offset
and length aligned to the logical block size: buffers come from mmap (page aligned),
offsets follow bmap blocks; whatever is not aligned (the partial last block of an
image) goes through a second, ordinary descriptor. Where O_DIRECT is refused (tmpfs,
some FUSE file systems) everything goes through the ordinary descriptor.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import mmap
import os
import stat
import struct
from dataclasses import dataclass, field

from agent.image.errors import ImageError, ImageTooLarge, SourceNotFound

log = logging.getLogger(__name__)

BLKSSZGET = 0x1268  # <linux/fs.h>: logical sector size
FILE_ALIGNMENT = 4096  # O_DIRECT on a file wants the file system's block size


def aligned_buffer(size: int) -> mmap.mmap:
    """Anonymous memory, page aligned, as O_DIRECT requires.

    Asked for as transparent huge pages: each O_DIRECT request pins its buffer's pages,
    and first use faults them in; with 2 MiB pages instead of 4 KiB ones both cost
    ~500x fewer page operations. Measured on the image benchmark (8 interleaved
    rounds): system CPU 0.20 -> 0.09 s, wall time -21 %. Where THP is off or unknown
    the advice is refused and ordinary pages are used.
    """
    buffer = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    advice = getattr(mmap, "MADV_HUGEPAGE", None)
    if advice is not None:
        try:
            buffer.madvise(advice)
        except OSError:
            pass
    return buffer


@dataclass
class Target:
    path: str
    is_block: bool
    size: int
    alignment: int
    fd: int  # ordinary descriptor: unaligned pieces, fsync
    direct_fd: int | None  # O_DIRECT descriptor, None when unsupported
    direct_failures: list[str] = field(default_factory=list)
    # Descriptors given up but kept open until close(): other writer/verifier threads
    # may still be using one, and a closed number could be reused by an unrelated open.
    retired_fds: list[int] = field(default_factory=list)

    @property
    def direct(self) -> bool:
        return self.direct_fd is not None

    def _aligned(self, offset: int, length: int) -> bool:
        return (
            self.direct_fd is not None
            and offset % self.alignment == 0
            and length % self.alignment == 0
        )

    def write(self, offset: int, data: memoryview) -> None:
        end = offset + len(data)
        if end > self.size:
            raise ImageTooLarge(
                f"the image does not fit on {self.path}: writing bytes {offset}-{end - 1} "
                f"would pass its end ({self.size} bytes)"
            )
        fd = self.direct_fd if self._aligned(offset, len(data)) else self.fd
        assert fd is not None
        try:
            self._pwrite_all(fd, offset, data)
        except OSError as exc:
            if fd == self.direct_fd and exc.errno == errno.EINVAL:
                self._give_up_direct(exc)
                self._pwrite_all(self.fd, offset, data)
                return
            raise ImageError(f"{self.path}: write error at byte {offset}: {exc.strerror}") from None

    @staticmethod
    def _pwrite_all(fd: int, offset: int, data: memoryview) -> None:
        while len(data):
            written = os.pwrite(fd, data, offset)
            if written <= 0:
                raise OSError(errno.EIO, "short write")
            data = data[written:]
            offset += written

    def read_into(self, offset: int, buffer: memoryview) -> int:
        """Read len(buffer) bytes at offset (fewer at the end of a file)."""
        fd = self.direct_fd if self._aligned(offset, len(buffer)) else self.fd
        assert fd is not None
        total = 0
        try:
            while total < len(buffer):
                count = os.preadv(fd, [buffer[total:]], offset + total)
                if count == 0:
                    break
                total += count
        except OSError as exc:
            if fd == self.direct_fd and exc.errno == errno.EINVAL:
                self._give_up_direct(exc)
                return self.read_into(offset, buffer)
            raise ImageError(
                f"{self.path}: read error at byte {offset + total}: {exc.strerror}"
            ) from None
        return total

    def _give_up_direct(self, exc: OSError) -> None:
        log.info("%s: O_DIRECT refused (%s), using ordinary I/O", self.path, exc.strerror)
        self.direct_failures.append(str(exc))
        if self.direct_fd is not None:
            self.retired_fds.append(self.direct_fd)
            self.direct_fd = None

    def drop_cache(self, offset: int, length: int) -> None:
        """Make ordinary reads of this range go to the disk, not the page cache."""
        os.posix_fadvise(self.fd, offset, length, os.POSIX_FADV_DONTNEED)

    def flush(self) -> None:
        try:
            os.fsync(self.fd)
        except OSError as exc:
            raise ImageError(f"{self.path}: flushing the writes failed: {exc.strerror}") from None

    def close(self) -> None:
        for fd in (self.direct_fd, self.fd, *self.retired_fds):
            if fd is not None:
                os.close(fd)
        self.direct_fd = None
        self.retired_fds.clear()


def device_size(path: str) -> tuple[bool, int]:
    """(is a block device, size in bytes) of an existing target."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise SourceNotFound(f"{path}: no such device or file") from None
    if stat.S_ISBLK(info.st_mode):
        # sysfs, not open(): looking at a device must not need the right to open it.
        sysfs = f"/sys/dev/block/{os.major(info.st_rdev)}:{os.minor(info.st_rdev)}/size"
        try:
            with open(sysfs, encoding="ascii") as handle:
                return True, int(handle.read().strip()) * 512  # always 512-byte units
        except (OSError, ValueError) as exc:
            raise ImageError(f"{path}: cannot read its size from {sysfs}: {exc}") from None
    if stat.S_ISREG(info.st_mode):
        return False, info.st_size
    raise SourceNotFound(f"{path}: neither a block device nor a regular file")


def open_target(path: str) -> Target:
    """Open for writing. Block devices are opened O_EXCL: the kernel then refuses a
    device that is mounted or claimed by another exclusive user, a last safety net
    under the checks of agent.blockdev."""
    is_block, size = device_size(path)
    flags = os.O_RDWR | os.O_CLOEXEC | (os.O_EXCL if is_block else 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            raise ImageError(
                f"{path}: the device is in use (mounted or held by another program)"
            ) from None
        raise ImageError(f"{path}: cannot open for writing: {exc.strerror}") from None
    alignment = FILE_ALIGNMENT
    if is_block:
        raw = fcntl.ioctl(fd, BLKSSZGET, struct.pack("i", 0))
        alignment = max(struct.unpack("i", raw)[0], 512)
    direct_fd: int | None
    try:
        # O_EXCL is held by the first descriptor; a second O_EXCL open would fail.
        direct_fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | os.O_DIRECT)
    except OSError as exc:
        log.info("%s: O_DIRECT unavailable (%s)", path, exc.strerror)
        direct_fd = None
    return Target(path, is_block, size, alignment, fd, direct_fd)
