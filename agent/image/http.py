"""Resumable HTTP(S) download stream (imported only when the source is a URL).

A download is never copied to the stick first: :class:`HttpReader` is a file-like
object over the response body that, when the connection drops, reconnects with a
``Range`` request from the byte it had reached (``If-Range`` guards against the file
changing on the server meanwhile), a bounded number of times in a row.
"""

from __future__ import annotations

import http.client
import io
import logging
import time
from collections.abc import Callable

import requests
import urllib3

from agent.image.errors import ImageError, SourceNotFound, SourceUnavailable

log = logging.getLogger(__name__)

# Errors after which a download is worth resuming (dropped connection, timeout,
# body shorter than its Content-Length).
_TRANSIENT: tuple[type[BaseException], ...] = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
)


def _validator(response: requests.Response) -> str | None:
    """What identifies this version of the file: a strong ETag, else Last-Modified."""
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return response.headers.get("Last-Modified")


def _discard(response: requests.Response, count: int) -> None:
    while count > 0:
        data = response.raw.read(min(count, 1 << 20))
        if not data:
            raise _Truncated(f"connection closed {count} bytes before the resume point")
        count -= len(data)


class _Truncated(Exception):
    """The body ended before its announced length (a connection closed cleanly)."""


_RESUMABLE: tuple[type[BaseException], ...] = (*_TRANSIENT, _Truncated)


class HttpReader(io.RawIOBase):
    """A resumable, read-once stream over an HTTP(S) resource."""

    def __init__(
        self,
        url: str,
        *,
        session: requests.Session | None = None,
        retries: int = 5,
        backoff_s: float = 0.5,
        timeout_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        self.url = url
        self.size: int | None = None
        self.resumes = 0
        self._session = session or requests.Session()
        self._retries = retries
        self._backoff_s = backoff_s
        self._timeout_s = timeout_s
        self._sleep = sleep
        self._position = 0
        self._validator: str | None = None
        self._response: requests.Response | None = None
        self._with_retries(self._connect_once)

    def readable(self) -> bool:
        return True

    def _connect(self) -> None:
        headers = {"Accept-Encoding": "identity"}  # we decompress ourselves
        if self._position:
            headers["Range"] = f"bytes={self._position}-"
            if self._validator:
                headers["If-Range"] = self._validator
        response = self._session.get(
            self.url, stream=True, headers=headers, timeout=self._timeout_s
        )
        if response.status_code in (404, 410):
            response.close()
            raise SourceNotFound(
                f"{self.url}: not found on the server (HTTP {response.status_code})"
            )
        if response.status_code >= 500:
            response.close()
            raise requests.HTTPError(f"HTTP {response.status_code}")
        if response.status_code not in (200, 206):
            response.close()
            raise ImageError(f"{self.url}: the server answered HTTP {response.status_code}")
        if self._position == 0:
            length = response.headers.get("Content-Length")
            self.size = int(length) if length and length.isdigit() else None
            self._validator = _validator(response)
        elif response.status_code == 206:
            content_range = response.headers.get("Content-Range", "")
            start = content_range.removeprefix("bytes ").split("-", 1)[0]
            if start != str(self._position):
                response.close()
                raise ImageError(
                    f"{self.url}: the server resumed at {content_range!r}, "
                    f"not at byte {self._position}"
                )
        else:
            # The whole body again: the server ignores Range, or (If-Range) the file changed.
            if self._validator is not None and _validator(response) != self._validator:
                response.close()
                raise ImageError(f"{self.url}: the image changed on the server during the download")
            log.info(
                "%s: no Range support; skipping %d bytes already read", self.url, self._position
            )
            _discard(response, self._position)
        self._response = response

    def _with_retries(self, action: Callable[[], int | None]) -> int | None:
        failures = 0
        while True:
            try:
                return action()
            except _RESUMABLE as exc:
                failures += 1
                self._drop()
                where = f"at byte {self._position}" + (f" of {self.size}" if self.size else "")
                if failures > self._retries:
                    if self.size is None and self._position == 0:
                        # Never got an answer: the server is down or unreachable.
                        raise SourceUnavailable(
                            f"{self.url}: cannot download after {self._retries} retries: {exc}"
                        ) from None
                    raise ImageError(
                        f"{self.url}: download truncated {where} "
                        f"after {self._retries} retries: {exc}"
                    ) from None
                delay = self._backoff_s * 2 ** (failures - 1)
                log.warning("%s: %s %s; resuming in %.1f s", self.url, exc, where, delay)
                self._sleep(delay)
                self.resumes += 1

    def _connect_once(self) -> None:
        if self._response is None:
            self._connect()

    def _drop(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None

    def _read_some(self, buffer: memoryview) -> int:
        if self._response is None:
            self._connect()
        assert self._response is not None
        count = self._response.raw.readinto(buffer)
        if count == 0 and self.size is not None and self._position < self.size:
            raise _Truncated(f"connection closed at byte {self._position} of {self.size}")
        self._position += count
        return int(count)

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.size is not None and self._position >= self.size:
            return 0
        count = self._with_retries(lambda: self._read_some(buffer))
        assert count is not None
        return count

    def close(self) -> None:
        self._drop()
        super().close()


def fetch_bytes(
    url: str, *, session: requests.Session | None = None, guessing: bool = False
) -> bytes | None:
    """A small file (a bmap) from ``url``; None when the server has none (404/410).

    ``guessing``: the URL is only a guess beside the image; object stores (S3 and the
    like) answer 403 for a missing object, so 403 means "none" too.
    """
    try:
        response = (session or requests.Session()).get(url, timeout=30)
    except requests.RequestException as exc:
        raise SourceUnavailable(f"{url}: cannot fetch the bmap: {exc}") from None
    if response.status_code in ((403, 404, 410) if guessing else (404, 410)):
        return None
    if response.status_code != 200:
        raise ImageError(f"{url}: the server answered HTTP {response.status_code}")
    return response.content
