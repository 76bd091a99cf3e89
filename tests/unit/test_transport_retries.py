"""Retries on the wire: what is retried, how long the client waits, when it gives up."""

from __future__ import annotations

import asyncio
import email.utils
import time
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from integration_logs_async import (
    APIError,
    BadRequestError,
    BasicAuth,
    DecodeError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    SendcloudClient,
    ServerError,
    TransportError,
    TransportEvent,
)
from integration_logs_async._http import _retry

from .._support.clients import FAST
from ._fakes import SC_BASE, calls, sc_log, total_requests

URL_ = SC_BASE + "/integrations"
LOG_URL = SC_BASE + "/integrations/7/logs"


def client(events: list[TransportEvent] | None = None, **settings: Any) -> SendcloudClient:
    hook = None if events is None else events.append
    made: SendcloudClient = SendcloudClient(
        BasicAuth("pub", "sec"), **{**FAST, "on_event": hook, **settings}
    )
    return made  # settings spread from a dict: the overloads cannot tell the version


def retries(events: list[TransportEvent]) -> list[TransportEvent]:
    return [e for e in events if e.kind == "retry"]


@pytest.mark.parametrize(
    "exc",
    [
        aiohttp.ClientConnectionError("connection reset"),
        aiohttp.ServerDisconnectedError(),
        TimeoutError(),
        aiohttp.ServerTimeoutError("read timeout"),
        aiohttp.ClientPayloadError("truncated"),
    ],
)
async def test_connection_errors_are_retried(mock: aioresponses, exc: Exception) -> None:
    mock.get(URL_, exception=exc)
    mock.get(URL_, payload=[{"id": 1}])
    async with client() as c:
        [integration] = await c.integrations().collect()
        assert c.stats.retries == 1
        assert c.stats.requests == 2
    assert integration.id == 1
    assert len(calls(mock, "GET", URL_)) == 2


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_retryable_statuses_are_retried(mock: aioresponses, status: int) -> None:
    events: list[TransportEvent] = []
    mock.get(URL_, status=status)
    mock.get(URL_, payload=[])
    async with client(events) as c:
        assert await c.integrations().collect() == []
        assert c.stats.statuses == {status: 1, 200: 1}
    assert len(calls(mock, "GET", URL_)) == 2
    [retry] = retries(events)
    assert (retry.method, retry.url, retry.status, retry.attempt) == ("GET", URL_, status, 1)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequestError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, APIError),
        (422, BadRequestError),
        (501, ServerError),
    ],
)
async def test_other_statuses_are_not_retried(
    mock: aioresponses, status: int, error: type[APIError]
) -> None:
    mock.get(URL_, status=status, repeat=True)
    async with client() as c:
        with pytest.raises(error) as info:
            await c.integrations().collect()
        assert c.stats.retries == 0
    assert type(info.value) is error
    assert info.value.status == status
    assert total_requests(mock) == 1


async def test_exhausted_server_errors_raise_server_error(mock: aioresponses) -> None:
    events: list[TransportEvent] = []
    mock.get(
        URL_, status=503, payload={"error": {"code": 503, "message": "maintenance"}}, repeat=True
    )
    async with client(events, max_attempts=4) as c:
        with pytest.raises(ServerError) as info:
            await c.integrations().collect()
        assert c.stats.retries == 3
    assert (info.value.status, info.value.method, info.value.url) == (503, "GET", URL_)
    assert str(info.value).startswith(f"GET {URL_} -> HTTP 503: maintenance.")
    assert len(calls(mock, "GET", URL_)) == 4
    assert [e.attempt for e in retries(events)] == [1, 2, 3]


async def test_exhausted_connection_errors_raise_transport_error(mock: aioresponses) -> None:
    mock.get(URL_, exception=aiohttp.ClientConnectionError("refused"), repeat=True)
    async with client(max_attempts=3) as c:
        with pytest.raises(TransportError) as info:
            await c.integrations().collect()
    assert (info.value.method, info.value.url) == ("GET", URL_)
    assert str(info.value).startswith(f"GET {URL_}: ClientConnectionError: refused.")
    assert len(calls(mock, "GET", URL_)) == 3


async def test_exhausted_rate_limits_raise_rate_limit_error(mock: aioresponses) -> None:
    mock.get(URL_, status=429, repeat=True)
    async with client(max_attempts=3) as c:
        with pytest.raises(RateLimitError) as info:
            await c.integrations().collect()
        assert c.stats.rate_limited == 3
    assert info.value.retry_after is None
    assert info.value.status == 429
    assert len(calls(mock, "GET", URL_)) == 3


async def test_retry_after_seconds_is_honoured(mock: aioresponses) -> None:
    events: list[TransportEvent] = []
    mock.get(URL_, status=429, headers={"Retry-After": "0.05"})
    mock.get(URL_, payload=[])
    async with client(events) as c:
        started = time.monotonic()
        await c.integrations().collect()
        elapsed = time.monotonic() - started
    assert elapsed >= 0.05
    [retry] = retries(events)
    assert retry.wait == 0.05
    assert [(e.kind, e.wait) for e in events if e.kind == "rate_limited"] == [
        ("rate_limited", 0.05)
    ]


async def test_retry_after_ms_is_honoured(mock: aioresponses) -> None:
    events: list[TransportEvent] = []
    mock.get(URL_, status=429, headers={"retry-after-ms": "40", "Retry-After": "100"})
    mock.get(URL_, payload=[])
    async with client(events) as c:
        started = time.monotonic()
        await c.integrations().collect()
        elapsed = time.monotonic() - started
    assert elapsed >= 0.04
    assert [e.wait for e in retries(events)] == [0.04]


async def test_retry_after_http_date_is_honoured(
    mock: aioresponses, monkeypatch: pytest.MonkeyPatch
) -> None:
    when = 1_700_000_000.0
    monkeypatch.setattr(_retry, "time", SimpleNamespace(time=lambda: when - 0.05))
    events: list[TransportEvent] = []
    mock.get(URL_, status=429, headers={"Retry-After": email.utils.formatdate(when, usegmt=True)})
    mock.get(URL_, payload=[])
    async with client(events) as c:
        await c.integrations().collect()
    [retry] = retries(events)
    assert retry.wait == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"Retry-After": "121"}, 121.0), ({"retry-after-ms": "3600000"}, 3600.0)],
)
async def test_retry_after_above_cap_raises_at_once(
    mock: aioresponses, headers: dict[str, str], expected: float
) -> None:
    mock.get(URL_, status=429, headers=headers, repeat=True)
    async with client(retry_after_cap=120) as c:
        with pytest.raises(RateLimitError) as info:
            await c.integrations().collect()
        assert c.stats.retries == 0
    assert info.value.retry_after == expected
    assert f"The provider asked to wait {expected:g} s." in str(info.value)
    assert total_requests(mock) == 1


async def test_http_date_retry_after_above_cap(
    mock: aioresponses, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = 1_700_000_000.0
    monkeypatch.setattr(_retry, "time", SimpleNamespace(time=lambda: now))
    date = email.utils.formatdate(now + 3600, usegmt=True)
    mock.get(URL_, status=429, headers={"Retry-After": date}, repeat=True)
    async with client() as c:
        with pytest.raises(RateLimitError) as info:
            await c.integrations().collect()
    assert info.value.retry_after == 3600.0
    assert total_requests(mock) == 1


async def test_decode_errors_are_retried_by_default(mock: aioresponses) -> None:
    mock.get(URL_, body="<html>gateway hiccup</html>", content_type="text/html")
    mock.get(URL_, payload=[])
    async with client() as c:
        assert await c.integrations().collect() == []
    assert len(calls(mock, "GET", URL_)) == 2


async def test_decode_errors_not_retried_when_disabled(mock: aioresponses) -> None:
    mock.get(URL_, body="<html>oops</html>", content_type="text/html", repeat=True)
    async with client(retry_decode_errors=False) as c:
        with pytest.raises(DecodeError):
            await c.integrations().collect()
    assert total_requests(mock) == 1


async def test_persistent_decode_error_after_retries(mock: aioresponses) -> None:
    mock.get(URL_, body="not json", repeat=True)
    async with client(max_attempts=2) as c:
        with pytest.raises(DecodeError):
            await c.integrations().collect()
    assert total_requests(mock) == 2


@pytest.mark.parametrize(
    "response",
    [{"status": 503}, {"exception": aiohttp.ClientConnectionError("reset")}, {"status": 429}],
)
async def test_post_is_never_retried(mock: aioresponses, response: dict[str, Any]) -> None:
    mock.post(LOG_URL, repeat=True, **response)
    async with client() as c:
        with pytest.raises((ServerError, TransportError, RateLimitError)):
            await c.create_integration_log(7, {"base_url": "https://shop.example"})
        assert c.stats.retries == 0
    assert total_requests(mock) == 1


async def test_post_creates_a_log(mock: aioresponses) -> None:
    mock.post(LOG_URL, status=201, payload=sc_log(99))
    async with client() as c:
        log = await c.create_integration_log(7, {"base_url": "https://shop.example", "x": [1]})
    assert log.id == 99
    [call] = calls(mock, "POST", LOG_URL)
    assert call.kwargs["data"] == b'{"base_url":"https://shop.example","x":[1]}'
    assert call.kwargs["headers"]["Content-Type"] == "application/json"
    assert call.kwargs["headers"]["Authorization"] == "Basic cHViOnNlYw=="


async def test_request_deadline_raises_transport_error(mock: aioresponses) -> None:
    async def hang(url: URL, **kwargs: Any) -> CallbackResult:
        await asyncio.sleep(5)
        return CallbackResult(body="[]")

    mock.get(URL_, callback=hang)
    async with client(request_deadline=0.05) as c:
        started = time.monotonic()
        with pytest.raises(TransportError) as info:
            await c.integrations().collect()
        elapsed = time.monotonic() - started
    assert elapsed < 1.0
    assert (info.value.method, info.value.url) == ("GET", URL_)
    assert f"GET {URL_}: no success within request_deadline=0.05 s" in str(info.value)


async def test_after_an_expired_deadline_the_task_and_client_go_on(mock: aioresponses) -> None:
    answered: list[int] = []

    async def hang_once(url: URL, **kwargs: Any) -> CallbackResult:
        if not answered:
            answered.append(0)
            await asyncio.sleep(5)
        return CallbackResult(body='[{"id": 1}]')

    mock.get(URL_, callback=hang_once, repeat=True)
    task = asyncio.current_task()
    assert task is not None
    async with client(request_deadline=0.05) as c:
        with pytest.raises(TransportError, match="no success within request_deadline"):
            await c.integrations().collect()
        assert task.cancelling() == 0  # the deadline's cancellation was taken back
        assert [i.id for i in await c.integrations().collect()] == [1]
        await asyncio.sleep(0.1)  # the shared timer fires again: nothing left to cancel
    assert task.cancelling() == 0


async def test_cancelling_a_request_is_not_turned_into_a_timeout(mock: aioresponses) -> None:
    started = asyncio.Event()

    async def hang(url: URL, **kwargs: Any) -> CallbackResult:
        started.set()
        await asyncio.sleep(5)
        return CallbackResult(body="[]")

    mock.get(URL_, callback=hang)
    async with client(request_deadline=60) as c:
        request = asyncio.create_task(c.integrations().collect())
        await started.wait()
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request


async def test_request_deadline_covers_retries(mock: aioresponses) -> None:
    async def slow_failure(url: URL, **kwargs: Any) -> CallbackResult:
        await asyncio.sleep(0.03)
        return CallbackResult(status=503)

    mock.get(URL_, callback=slow_failure, repeat=True)
    async with client(request_deadline=0.1, max_attempts=50) as c:
        started = time.monotonic()
        with pytest.raises((TransportError, ServerError)):
            await c.integrations().collect()
        assert time.monotonic() - started < 1.0  # 50 attempts of 30 ms would take 1.5 s
    assert 2 <= total_requests(mock) <= 4  # each attempt takes 30 ms of the 100 ms


async def test_broken_event_hook_does_not_break_requests(mock: aioresponses) -> None:
    def hook(event: TransportEvent) -> None:
        raise RuntimeError("hook bug")

    mock.get(URL_, payload=[])
    async with SendcloudClient(BasicAuth("pub", "sec"), on_event=hook, **FAST) as c:
        assert await c.integrations().collect() == []


async def test_request_events_and_stats(mock: aioresponses) -> None:
    events: list[TransportEvent] = []
    mock.get(URL_, body="[]")
    async with client(events) as c:
        await c.integrations().collect()
        assert c.stats.requests == 1
        assert c.stats.bytes_received == 2
        assert c.stats.statuses == {200: 1}
    [event] = events
    assert (event.kind, event.method, event.url, event.status, event.bytes) == (
        "request",
        "GET",
        URL_,
        200,
        2,
    )
