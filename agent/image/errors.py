"""Why an image write failed: each error is a WeeeError with the exit code it deserves."""

from __future__ import annotations

from agent.errors import EXIT_FAILED, EXIT_UNAVAILABLE, EXIT_USAGE, WeeeError


class ImageError(WeeeError):
    """The write ran and failed (bad data, mismatch, device error): exit code 1."""

    exit_code = EXIT_FAILED


class SourceNotFound(ImageError):
    exit_code = EXIT_USAGE


class SourceUnavailable(ImageError):
    """The server could not be reached or kept failing beyond the retries."""

    exit_code = EXIT_UNAVAILABLE


class CorruptImage(ImageError):
    """The compressed stream is damaged or ends early."""


class ChecksumMismatch(ImageError):
    """Data read from the image (or back from the disk) does not match its checksum."""


class ImageTooLarge(ImageError):
    """The image does not fit on the target device."""
