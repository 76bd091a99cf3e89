"""The client's aiohttp session: the one it creates (tuned for throughput), or one you pass (as is).

The session the client creates (:class:`OwnedSession`) gets the library's performance
machinery, all of it here:

- connections that read at most ``SOCKET_READ_BYTES`` at once (``_socket_reads.py``);
- ``read_timeout`` kept on the transport's shared deadline clock by read watches
  instead of aiohttp's per-read ``sock_read`` timer (``_read_timeout.py``);
- bodies of known length read into pooled receive buffers (``_body_buffers.py``).

A session you pass (:class:`BorrowedSession`) keeps aiohttp's own ``sock_read`` and is read
with ``resp.read()``, which also feeds its tracing hooks. Both read a body within
``max_response_bytes`` the same way; the transport never asks which one it has.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable
from typing import Any, Protocol

import aiohttp
from yarl import URL

from .._constants import BODY_BUFFER_MAX_BYTES
from ..config import ClientConfig
from ..errors import ResponseTooLargeError
from ._body_buffers import BodyBuffers
from ._deadlines import DeadlineClock
from ._read_timeout import ReadWatches
from ._redact import redact_url
from ._socket_reads import CappedReadsConnector

_CLOSED = "this client is closed; create a new one"


class Watch(Protocol):
    """The read timeout of one attempt: ``with`` around it; told of every chunk read."""

    def __enter__(self) -> Watch: ...

    def __exit__(self, *exc_info: Any) -> None: ...

    def progress(self) -> None:
        """Data arrived: the allowed silence starts over."""


class _NoWatch:
    """A session you pass times its reads itself (``sock_read``)."""

    __slots__ = ()

    def __enter__(self) -> _NoWatch:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        return None

    def progress(self) -> None:
        return None


_NO_WATCH = _NoWatch()


class _Session(abc.ABC):
    """What both kinds share: the timeouts, the closed state, reading a body within the limit."""

    current: aiohttp.ClientSession | None
    bodies: BodyBuffers

    def __init__(self, config: ClientConfig, *, sock_read: float | None) -> None:
        self._limit = config.max_response_bytes
        self._closed = False
        # ``sock_connect``, not ``connect``: the latter also bounds the wait for a free pooled
        # connection (not a network problem; the request deadline bounds it) and arms a timer
        # for every request, even one that reuses a connection.
        self.timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=config.connect_timeout, sock_read=sock_read
        )

    def refuse_requests(self) -> None:
        """The client is closing: :meth:`get` raises from now on."""
        self._closed = True

    async def read(
        self, resp: aiohttp.ClientResponse, method: str, url: URL, watch: Watch
    ) -> bytes | bytearray:
        """The body, within ``max_response_bytes``; ``watch`` is told of every chunk."""
        limit = self._limit
        length = resp.content_length
        if length is not None and length > limit:
            raise ResponseTooLargeError(
                method=method, url=redact_url(url), status=resp.status, limit=limit
            )
        encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
        if length is not None and encoding == "identity":  # within the limit
            return await self._read_exactly(resp, length, watch)
        # Count what is read even when Content-Length is small: it is the size on the wire,
        # and a compressed body (Content-Encoding: gzip) can inflate far beyond it.
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_any():
            watch.progress()
            size += len(chunk)
            if size > limit:
                raise ResponseTooLargeError(
                    method=method, url=redact_url(url), status=resp.status, limit=limit
                )
            chunks.append(chunk)
        return b"".join(chunks)

    @abc.abstractmethod
    def _read_exactly(
        self, resp: aiohttp.ClientResponse, length: int, watch: Watch
    ) -> Awaitable[bytes | bytearray]:
        """Reads a body of known length (awaited by :meth:`read`: no coroutine of its own)."""


class BorrowedSession(_Session):
    """A session the caller passed: used as configured, never closed by the client."""

    def __init__(self, session: aiohttp.ClientSession, config: ClientConfig) -> None:
        super().__init__(config, sock_read=config.read_timeout)
        self.current = self._given = session
        # Read with ``resp.read()``: never into a pooled buffer, so the pool stays empty.
        self.bodies = BodyBuffers(keep=0, max_bytes=0)

    def get(self) -> aiohttp.ClientSession:
        """The session to send with."""
        if self._closed:
            raise RuntimeError(_CLOSED)
        return self._given

    def watch(self) -> Watch:
        """The read timeout of one attempt: aiohttp's ``sock_read``, nothing to do here."""
        return _NO_WATCH

    async def aclose(self) -> None:
        """The client is closing: a session you passed stays open (it is yours)."""
        self._closed = True

    def _read_exactly(
        self, resp: aiohttp.ClientResponse, length: int, watch: Watch
    ) -> Awaitable[bytes | bytearray]:
        return resp.read()  # ``read()`` also feeds the session's tracing hooks


class OwnedSession(_Session):
    """The session the client creates (on first use) and closes."""

    def __init__(self, config: ClientConfig, deadlines: DeadlineClock) -> None:
        # ``read_timeout`` is kept by the read watch instead of aiohttp's per-read timer.
        super().__init__(config, sock_read=None)
        self.current = None
        self._config = config
        self._watches = ReadWatches(deadlines, config.read_timeout)
        # One receive buffer per connection at most (why: ``_body_buffers.py``).
        self.bodies = BodyBuffers(keep=config.max_connections, max_bytes=BODY_BUFFER_MAX_BYTES)

    def get(self) -> aiohttp.ClientSession:
        """The session, created on first use."""
        if self._closed:
            raise RuntimeError(_CLOSED)
        if self.current is None:
            config = self._config
            connector = CappedReadsConnector(
                on_connection=self._watches.connection_acquired,
                limit=config.max_connections,
                ttl_dns_cache=300,
                ssl=config.verify_ssl,
            )
            self.current = aiohttp.ClientSession(
                connector=connector,
                timeout=self.timeout,
                headers={"User-Agent": config.user_agent},
                # These APIs authenticate every request and set no cookies we need; a real jar
                # would store whatever a server sets and filter it on every request.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self.current

    def watch(self) -> Watch:
        """``read_timeout`` for one attempt, on the shared deadline clock."""
        return self._watches.watch()

    async def aclose(self) -> None:
        """Close the session (if it was ever created). Idempotent."""
        self._closed = True
        if self.current is not None and not self.current.closed:
            await self.current.close()

    def _read_exactly(
        self, resp: aiohttp.ClientResponse, length: int, watch: Watch
    ) -> Awaitable[bytes | bytearray]:
        return self.bodies.read(resp.content, length, watch.progress)


__all__ = ["BorrowedSession", "OwnedSession", "Watch"]
