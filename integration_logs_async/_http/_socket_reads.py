"""Cap the size of asyncio's per-read buffer on the connections the library opens.

asyncio's selector transport reads with ``sock.recv(max_size)`` and its TLS layer with
``SSLObject.read(max_size)``: each read allocates a fresh ``max_size`` bytes object (256 KiB)
and shrinks it to what arrived. 256 KiB is above glibc's default mmap threshold (128 KiB), so
depending on the process's heap history every read can become mmap + mremap + munmap on
cold pages (CPython gh-85451). Which regime a process lands in varies from run to run, and
client CPU per record with it, the difference spent in asyncio's read path and aiohttp's
parser (figures: benchmarks/README.md). Reading at most
:data:`~._constants.SOCKET_READ_BYTES` keeps the buffer on the heap, whatever the regime.

``max_size`` is an undocumented but public-named attribute of CPython's transports (a class
attribute; we set it per instance, on connections of the library's own session only).
Transports without it (uvloop, other event loops) are left alone, and so is a smaller value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp.client_reqrep import ClientRequest
from aiohttp.connector import Connection
from aiohttp.tracing import Trace

from .._constants import SOCKET_READ_BYTES


class CappedReadsConnector(aiohttp.TCPConnector):
    """A ``TCPConnector`` whose connections read at most ``SOCKET_READ_BYTES`` at once, and
    which calls ``on_connection()`` once it has handed a request its connection (the request's
    read timeout starts counting: ``_read_timeout.py``)."""

    def __init__(self, *, on_connection: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_connection = on_connection

    async def connect(
        self,
        req: ClientRequest,
        traces: list[Trace],
        timeout: aiohttp.ClientTimeout,  # noqa: ASYNC109 (aiohttp's signature)
    ) -> Connection:
        """A pooled or new connection, its reads capped (once per connection in effect)."""
        connection = await super().connect(req, traces, timeout)
        cap_socket_reads(connection.transport)
        self._on_connection()
        return connection


def cap_socket_reads(transport: object, limit: int = SOCKET_READ_BYTES) -> None:
    """Make ``transport`` (and its TLS layer, if any) read at most ``limit`` bytes at once."""
    _cap(transport, limit)
    # A TLS connection: the app-facing transport wraps an SSLProtocol that reads decrypted
    # data with its own ``max_size``.
    _cap(getattr(transport, "_ssl_protocol", None), limit)


def _cap(holder: object, limit: int) -> None:
    current = getattr(holder, "max_size", None)
    if type(current) is int and current > limit:
        holder.max_size = limit  # type: ignore[attr-defined]


__all__ = ["CappedReadsConnector", "cap_socket_reads"]
