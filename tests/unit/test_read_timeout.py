"""``read_timeout``: silence from the server, on the shared deadline clock (``_read_timeout``).

A scripted HTTP server on loopback sends each answer in timed pieces, so what is silence and
what is progress is exact: a stall before the headers or in the middle of the body fails the
request; a slow but steady body, or a long wait for a free pooled connection, does not.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from integration_logs_async import BasicAuth, SendcloudClient, TransportError
from integration_logs_async._http._deadlines import DeadlineClock
from integration_logs_async._http._read_timeout import ReadWatches

READ_TIMEOUT = 0.2
BODY = b'[{"id": 1}, {"id": 2}, {"id": 3}, {"id": 4}, {"id": 5}, {"id": 6}]'

Script = list[tuple[float, bytes]]  # (seconds to wait first, bytes to send then)


def head(length: int = len(BODY)) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(length).encode() + b"\r\n\r\n"
    )


def pieces(data: bytes, count: int, pause: float) -> Script:
    size = -(-len(data) // count)
    return [(pause, data[i : i + size]) for i in range(0, len(data), size)]


class ScriptedServer:
    """Answers the n-th request with ``scripts[n]`` (the last script repeats)."""

    def __init__(self, scripts: list[Script]) -> None:
        self.scripts = scripts
        self.requests = 0
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        # Python 3.11's wait_closed() does not wait for the connection handlers: end them
        # here, so none is left pending when the test's event loop closes.
        for handler in self._handlers:
            handler.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                script = self.scripts[min(self.requests, len(self.scripts) - 1)]
                self.requests += 1
                for pause, data in script:
                    await asyncio.sleep(pause)
                    writer.write(data)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def client_for(server: ScriptedServer, **settings: Any) -> SendcloudClient:
    options: dict[str, Any] = {"read_timeout": READ_TIMEOUT, "max_attempts": 1, "rate_limit": 0}
    options.update(settings)
    made: SendcloudClient = SendcloudClient(
        BasicAuth("public-key", "secret-key"),
        base_url=f"http://127.0.0.1:{server.port}",
        **options,
    )
    return made  # settings spread from a dict: the overloads cannot tell the version


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[list[Script]], Any]]:
    servers: list[ScriptedServer] = []

    async def start(scripts: list[Script]) -> ScriptedServer:
        server = await ScriptedServer(scripts).__aenter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.__aexit__(None, None, None)


async def test_a_stall_before_the_headers_is_a_read_timeout(serve: Any) -> None:
    # The server is silent 25 x read_timeout; the client gives up long before (the bound has
    # room for a loaded machine: 4 x once failed at 5.8 x under three suites on two cores).
    server = await serve([[(25 * READ_TIMEOUT, head() + BODY)]])
    async with client_for(server) as client:
        started = time.monotonic()
        with pytest.raises(TransportError) as caught:
            await client.integrations().collect()
        waited = time.monotonic() - started
    message = str(caught.value)
    assert "GET" in message and f"127.0.0.1:{server.port}/integrations" in message
    assert f"the server sent nothing for read_timeout={READ_TIMEOUT:g} s" in message
    assert READ_TIMEOUT * 0.9 <= waited < 15 * READ_TIMEOUT


async def test_a_stall_in_the_middle_of_the_body_is_a_read_timeout(serve: Any) -> None:
    half = len(BODY) // 2
    server = await serve([[(0, head() + BODY[:half]), (5 * READ_TIMEOUT, BODY[half:])]])
    async with client_for(server) as client:
        with pytest.raises(TransportError, match="sent nothing for read_timeout"):
            await client.integrations().collect()


async def test_a_slow_but_steady_body_is_not_a_timeout(serve: Any) -> None:
    # Six pieces, each after 0.4 x read_timeout: the whole answer takes 2.4 x read_timeout.
    server = await serve([[(0, head()), *pieces(BODY, 6, 0.4 * READ_TIMEOUT)]])
    async with client_for(server) as client:
        started = time.monotonic()
        integrations = await client.integrations().collect()
        assert time.monotonic() - started > 2 * READ_TIMEOUT
    assert [i.id for i in integrations] == [1, 2, 3, 4, 5, 6]


async def test_the_wait_for_a_pooled_connection_is_not_silence(serve: Any) -> None:
    # One connection: the second request waits ~2.4 x read_timeout for the first to finish.
    slow = [(0, head()), *pieces(BODY, 6, 0.4 * READ_TIMEOUT)]
    server = await serve([slow, [(0, head() + BODY)]])
    async with client_for(server, max_connections=1) as client:
        first, second = await asyncio.gather(
            client.integrations().collect(), client.integrations().collect()
        )
    assert first == second and len(first) == 6
    assert server.connections == 1 and server.requests == 2


async def test_a_read_timeout_is_retried_like_any_transport_error(serve: Any) -> None:
    server = await serve([[(5 * READ_TIMEOUT, head() + BODY)], [(0, head() + BODY)]])
    async with client_for(server, max_attempts=2, backoff_initial=0.01) as client:
        assert len(await client.integrations().collect()) == 6
        assert client.stats.retries == 1
    assert server.requests == 2


async def test_requests_do_not_arm_a_timer_each(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neither aiohttp's sock_read nor the watch arms a timer per request or per read."""
    server = await serve([[(0, head()), *pieces(BODY, 4, 0.001)]])
    loop = asyncio.get_running_loop()
    armed: list[Callable[..., Any]] = []
    call_at = loop.call_at

    def counting_call_at(when: float, callback: Any, *args: Any, **kw: Any) -> Any:
        armed.append(callback)
        return call_at(when, callback, *args, **kw)

    async with client_for(server) as client:
        await client.integrations().collect()  # connection set up: not counted
        monkeypatch.setattr(loop, "call_at", counting_call_at)
        for _ in range(20):
            assert len(await client.integrations().collect()) == 6
    ours = ("DeadlineClock._fire", "ResponseHandler._on_read_timeout")
    timers = [c for c in armed if getattr(c, "__qualname__", "") in ours]
    assert len(timers) <= 1, timers  # the server's asyncio.sleep() timers aside


async def test_a_session_you_pass_keeps_aiohttps_sock_read(serve: Any) -> None:
    server = await serve([[(5 * READ_TIMEOUT, head() + BODY)]])
    async with aiohttp.ClientSession() as session:
        client = client_for(server, session=session)
        async with client:
            with pytest.raises(TransportError, match="timed out waiting for the server"):
                await client.integrations().collect()


async def test_a_watch_started_in_a_task_is_not_started_by_its_child_tasks() -> None:
    clock = DeadlineClock()
    watches = ReadWatches(clock, 60)
    with watches.watch() as watch:

        async def child() -> None:
            watches.connection_acquired()

        await asyncio.create_task(child())  # another task: not the one watched
        assert watch.when == float("inf")  # not armed by the child
        watches.connection_acquired()
        assert watch.when < float("inf") and clock.armed_at == watch.when
    assert len(clock) == 0
    assert len(watches) == 0
    clock.close()


async def test_watches_nest_within_a_task() -> None:
    clock = DeadlineClock()
    watches = ReadWatches(clock, 60)
    with watches.watch() as outer:
        with watches.watch() as inner:
            watches.connection_acquired()
        assert inner.when < float("inf") and outer.when == float("inf")
        watches.connection_acquired()
        assert outer.when < float("inf")
        assert len(watches) == 1
    assert len(watches) == 0
    clock.close()
