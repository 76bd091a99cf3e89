"""Reusable receive buffers for response bodies (``_body_buffers``).

The reader is a real ``aiohttp.StreamReader`` fed chunk by chunk, so what arrives in one
chunk and what arrives in several is exact (no network timing involved).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import msgspec
import pytest
from aiohttp import web
from aiohttp.base_protocol import BaseProtocol

from integration_logs_async import BasicAuth, DecodeError, SendcloudClient, ServerError
from integration_logs_async._constants import SOCKET_READ_BYTES
from integration_logs_async._http._body_buffers import Body, BodyBuffers


class _Connected(BaseProtocol):
    """A protocol that is connected (waiting for more data is allowed) and never paused."""

    @property
    def connected(self) -> bool:
        return True


def reader(*chunks: bytes, eof: bool = True) -> aiohttp.StreamReader:
    loop = asyncio.get_running_loop()
    stream = aiohttp.StreamReader(_Connected(loop), 2**30, loop=loop)  # never pauses
    for chunk in chunks:
        stream.feed_data(chunk)
    if eof:
        stream.feed_eof()
    return stream


def pool(keep: int = 4, max_bytes: int = 1 << 20) -> BodyBuffers:
    return BodyBuffers(keep=keep, max_bytes=max_bytes)


def identity(body: Body) -> bytes:
    return bytes(body)


async def test_a_body_in_one_chunk_is_that_chunk() -> None:
    chunk = b'{"results": []}'
    buffers = pool()
    body = await buffers.read(reader(chunk), len(chunk))
    assert body is chunk  # no copy, nothing taken from the pool
    assert buffers.decode(body, identity) == chunk
    assert len(buffers) == 0


async def test_an_empty_body_is_empty() -> None:
    assert await pool().read(reader(), 0) == b""


async def test_chunks_are_assembled_in_a_buffer_that_is_reused() -> None:
    buffers = pool()
    first = await buffers.read(reader(b"abc", b"defg", b"h"), 8)
    assert isinstance(first, bytearray)
    assert first == b"abcdefgh"
    assert buffers.decode(first, identity) == b"abcdefgh"
    assert len(buffers) == 1  # recycled after decoding
    longer = await buffers.read(reader(b"0123456789", b"ABCDEF"), 16)
    assert longer is first and longer == b"0123456789ABCDEF"
    buffers.recycle(longer)
    shorter = await buffers.read(reader(b"xy", b"z"), 3)
    assert shorter is first and shorter == b"xyz"  # sized exactly: isascii() and len() hold


async def test_a_decoder_sees_exactly_the_body() -> None:
    buffers = pool()
    records = [{"id": i, "body": "x" * 300} for i in range(50)]
    wire = msgspec.json.encode({"results": records})
    pieces = [wire[i : i + 1000] for i in range(0, len(wire), 1000)]
    body = await buffers.read(reader(*pieces), len(wire))
    decoded = buffers.decode(body, msgspec.json.Decoder().decode)
    assert decoded == {"results": records}


async def test_a_value_that_references_the_buffer_keeps_it_out_of_the_pool() -> None:
    buffers = pool()
    decoder = msgspec.json.Decoder(list[msgspec.Raw])
    body = await buffers.read(reader(b'[{"a": 1},', b' {"b": 2}]'), 20)
    raws = buffers.decode(body, decoder.decode)  # each Raw is a view into the buffer
    assert len(buffers) == 0
    again = await buffers.read(reader(b'[{"c": 3},', b' {"d": 4}]'), 20)
    assert again is not body
    assert [bytes(r) for r in raws] == [b'{"a": 1}', b'{"b": 2}']  # not overwritten


async def test_a_failed_decode_leaves_the_body_to_the_caller() -> None:
    buffers = pool()
    body = await buffers.read(reader(b"not ", b"json"), 8)
    with pytest.raises(msgspec.DecodeError):
        buffers.decode(body, msgspec.json.Decoder().decode)
    assert len(buffers) == 0
    assert body == b"not json"  # intact for the error message


async def test_a_body_shorter_than_its_content_length_is_an_error() -> None:
    with pytest.raises(aiohttp.ClientPayloadError, match="ended after 5 of its 9 bytes"):
        await pool().read(reader(b"abc", b"de"), 9)


@pytest.mark.parametrize("chunks", [(b"abcdef",), (b"abc", b"defg")], ids=["one", "several"])
async def test_a_body_longer_than_its_content_length_is_an_error(
    chunks: tuple[bytes, ...],
) -> None:
    with pytest.raises(aiohttp.ClientPayloadError, match="longer than its Content-Length"):
        await pool().read(reader(*chunks), 5 if len(chunks) == 1 else 6)


async def test_a_failed_read_does_not_return_its_buffer() -> None:
    buffers = pool()
    buffers.recycle(bytearray(b"old"))
    stream = reader(b"abc", eof=False)
    reading = asyncio.ensure_future(buffers.read(stream, 9))
    await asyncio.sleep(0)  # the first chunk is copied into the pooled buffer
    assert len(buffers) == 0
    stream.set_exception(aiohttp.ClientPayloadError("connection lost"))
    with pytest.raises(aiohttp.ClientPayloadError):
        await reading
    assert len(buffers) == 0  # the half-filled buffer is dropped, not reused


def test_the_pool_keeps_a_bounded_number_of_bounded_buffers() -> None:
    buffers = pool(keep=2, max_bytes=10)
    buffers.recycle(bytearray(11))  # too large to keep
    assert len(buffers) == 0
    for _ in range(3):
        buffers.recycle(bytearray(10))
    assert len(buffers) == 2


# --- through the client: bodies larger than one socket read -------------------------------


@contextlib.asynccontextmanager
async def serving(handler: Callable[[web.Request], Awaitable[web.Response]]) -> AsyncIterator[str]:
    """An aiohttp server on 127.0.0.1 answering every path with ``handler``; yields the
    Sendcloud base URL pointing at it."""
    app = web.Application()
    app.router.add_get("/api/v2/integrations/{name}/logs", handler)
    app.router.add_get("/api/v2/integrations/logs", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/api/v2"
    finally:
        await runner.cleanup()


async def test_large_error_and_undecodable_bodies_are_reported_exactly() -> None:
    """A 503 page, an undecodable 200 and a valid page, each ~400 KB (several socket reads):
    both errors carry the start of their own body, and the next page still decodes exactly."""
    html = b"<html>" + b"upstream is down " * 24_000 + b"</html>"
    broken = b'{"next": null, "results": [' + b'{"id": 1},' * 40_000 + b"oops"
    record = {"id": 7, "base_url": "https://shop.example", "created_at": "2024-01-01T00:00:00Z"}
    good = msgspec.json.encode({"next": None, "results": [{**record, "exception": "x" * 400_000}]})
    bodies = {"down": (503, html), "broken": (200, broken), "good": (200, good)}
    assert min(len(body) for _, body in bodies.values()) > 2 * SOCKET_READ_BYTES

    async def handler(request: web.Request) -> web.Response:
        status, body = bodies[request.match_info["name"]]
        return web.Response(status=status, body=body, content_type="application/json")

    async with (
        serving(handler) as base_url,
        SendcloudClient(
            BasicAuth("pub", "secret"), base_url=base_url, rate_limit=0, max_attempts=1
        ) as client,
    ):
        with pytest.raises(ServerError, match="upstream is down") as down:
            await client.integration_logs("down").collect()
        assert down.value.status == 503
        pool = client._transport._io.bodies
        assert len(pool) == 1  # the error kept a copy; the buffer went back
        with pytest.raises(DecodeError) as undecodable:
            await client.integration_logs("broken").collect()
        assert undecodable.value.excerpt.startswith('{"next": null, "results": [{"id": 1},')
        assert len(pool) == 0  # a failed decode keeps its body out of the pool
        (log,) = await client.integration_logs("good").collect()
        assert log.id == 7 and log.exception == "x" * 400_000
        assert len(pool) == 1


async def test_a_session_you_pass_reads_bodies_as_configured() -> None:
    """No pooled buffers on a caller's session: ``read()`` feeds its trace hooks."""
    page = msgspec.json.encode({"next": None, "results": [], "pad": "y" * 400_000})
    chunks: list[int] = []

    async def on_chunk(_: Any, __: Any, params: aiohttp.TraceResponseChunkReceivedParams) -> None:
        chunks.append(len(params.chunk))

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=page, content_type="application/json")

    tracing = aiohttp.TraceConfig()
    tracing.on_response_chunk_received.append(on_chunk)
    async with (
        serving(handler) as base_url,
        aiohttp.ClientSession(trace_configs=[tracing]) as session,
        SendcloudClient(
            BasicAuth("pub", "secret"), base_url=base_url, rate_limit=0, session=session
        ) as client,
    ):
        assert await client.logs().collect() == []
        assert len(client._transport._io.bodies) == 0
    assert sum(chunks) == len(page)
