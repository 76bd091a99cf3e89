"""The per-read buffer cap on asyncio transports (``_socket_reads``).

asyncio reads into a fresh ``max_size`` bytes object per read; 256 KiB falls into glibc's
mmap regime in some processes (CPython gh-85451). These tests pin the premise on the running
Python (so a CPython change that moves ``max_size`` fails here, not silently in production).
"""

from __future__ import annotations

import asyncio
import ssl
from asyncio import sslproto
from types import SimpleNamespace

import pytest

from integration_logs_async._constants import SOCKET_READ_BYTES
from integration_logs_async._http._socket_reads import cap_socket_reads


async def test_a_plain_tcp_transport_reads_at_most_the_cap() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await asyncio.get_running_loop().create_connection(
        asyncio.Protocol, "127.0.0.1", port
    )
    try:
        default = type(transport).max_size  # type: ignore[attr-defined]
        assert transport.max_size == default > SOCKET_READ_BYTES  # type: ignore[attr-defined]
        cap_socket_reads(transport)
        assert transport.max_size == SOCKET_READ_BYTES  # type: ignore[attr-defined]
        # the class (every other transport) unchanged; max_size is private, untyped asyncio state
        assert type(transport).max_size == default  # type: ignore[attr-defined]
    finally:
        transport.close()
        server.close()
        await server.wait_closed()


async def test_the_tls_layer_reads_at_most_the_cap() -> None:
    loop = asyncio.get_running_loop()
    # typeshed wants a waiter future; CPython accepts None (it checks `waiter is None`)
    protocol = sslproto.SSLProtocol(
        loop,
        asyncio.Protocol(),
        ssl.create_default_context(),
        None,  # type: ignore[arg-type]
        server_hostname="x",
    )
    app_transport = protocol._app_transport  # what aiohttp's connection holds for https
    try:
        assert protocol.max_size > SOCKET_READ_BYTES
        cap_socket_reads(app_transport)
        assert protocol.max_size == SOCKET_READ_BYTES
        assert sslproto.SSLProtocol.max_size > SOCKET_READ_BYTES
    finally:
        app_transport._closed = True  # never connected: nothing to shut down


@pytest.mark.parametrize(
    "transport",
    [
        SimpleNamespace(),  # uvloop and other loops: no such attribute
        SimpleNamespace(max_size=16 * 1024),  # someone chose smaller reads: kept
        SimpleNamespace(max_size="256k"),  # not ours to interpret
        SimpleNamespace(max_size=True),
        None,
    ],
    ids=["absent", "smaller", "not-an-int", "bool", "none"],
)
def test_other_transports_are_left_alone(transport: object) -> None:
    before = dict(vars(transport)) if transport is not None else None
    cap_socket_reads(transport)
    assert (dict(vars(transport)) if transport is not None else None) == before
