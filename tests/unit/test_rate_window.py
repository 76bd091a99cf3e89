"""The limiter's sliding-window guard: request j goes one window after request j - n was
answered, whatever the spacing says (``_http/_ratelimit.py``)."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from aioresponses import aioresponses

from integration_logs_async import BasicAuth, SendcloudClient
from integration_logs_async._constants import RATE_WINDOW_GUARD
from integration_logs_async._http import _ratelimit
from integration_logs_async._http._ratelimit import AsyncRateLimiter, Grant

from .._support.clients import FAST
from ._fakes import SC_BASE
from .conftest import FakeClock

URL_ = SC_BASE + "/integrations"


def take(limiter: AsyncRateLimiter) -> Grant:
    grant = limiter.try_acquire()
    assert grant is not None
    return grant


def send_next(limiter: AsyncRateLimiter, clock: FakeClock) -> Grant:
    """The next grant, the clock moved on a millisecond at a time until it comes."""
    while (grant := limiter.try_acquire()) is None:
        clock.advance(0.001)
    return grant


def test_a_late_answer_holds_the_request_a_window_later(clock: FakeClock) -> None:
    limiter = AsyncRateLimiter(2.0)  # n = 2, slots 0.5 s apart
    first = take(limiter)
    clock.advance(0.5)
    take(limiter)
    limiter.answered(first, first.sent + 0.3)  # the server may have counted it at +0.3 s
    clock.advance(0.5)  # the third slot by spacing: +1.0 s
    assert limiter.try_acquire() is None
    opens, waiting_for = limiter.window_opens()
    assert opens == pytest.approx(first.sent + 0.3 + 1.0 + RATE_WINDOW_GUARD)
    assert waiting_for is None
    clock.advance(opens - clock.now)
    assert limiter.try_acquire() is not None


def test_answers_on_time_cost_nothing(clock: FakeClock) -> None:
    limiter = AsyncRateLimiter(2.0, headroom=0.02)
    sent: list[float] = []
    for _ in range(12):
        grant = send_next(limiter, clock)
        sent.append(grant.sent)
        limiter.answered(grant, grant.sent + 0.002)
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert gaps == pytest.approx([1 / (2 * 0.98)] * 11, abs=0.0011)


def test_the_shortest_trip_counts_only_after_two_windows_of_answers(clock: FakeClock) -> None:
    limiter = AsyncRateLimiter(1.0)  # n = 1: each request waits for the previous answer
    trip = 0.2
    opened: list[float] = []
    for _ in range(4):
        grant = send_next(limiter, clock)
        limiter.answered(grant, grant.sent + trip)
        opened.append(limiter.window_opens()[0] - grant.sent)
    # a window after the answer, then (two answers in) less the shortest trip: after the send
    assert opened == pytest.approx([trip + 1 + RATE_WINDOW_GUARD] + [1 + RATE_WINDOW_GUARD] * 3)


def test_an_unanswered_request_is_waited_for_only_so_long(clock: FakeClock) -> None:
    limiter = AsyncRateLimiter(2.0)
    first = take(limiter)
    clock.advance(0.6)
    take(limiter)
    clock.advance(0.5)
    opens, waiting_for = limiter.window_opens()
    assert waiting_for is first and opens == pytest.approx(first.sent + 2.0)
    assert limiter.try_acquire() is None
    clock.advance(opens - clock.now)  # still no answer: stuck; spacing alone paces again
    assert limiter.window_opens() == (0.0, None)
    assert limiter.try_acquire() is not None


def test_unpaced_limiters_keep_nothing(clock: FakeClock) -> None:
    limiter = AsyncRateLimiter(None)
    grants = [take(limiter) for _ in range(3)]
    assert grants[0] is grants[1] is grants[2]
    limiter.answered(grants[0], clock.now)
    assert limiter.window_opens() == (0.0, None)


async def test_acquire_wakes_when_the_awaited_answer_arrives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_ratelimit, "RATE_WINDOW", 0.1)  # rate 20: n = 2, slots 50 ms apart
    monkeypatch.setattr(_ratelimit, "RATE_WINDOW_ANSWER_WAIT", 30.0)
    limiter = AsyncRateLimiter(20.0)
    first = await limiter.acquire()
    await limiter.acquire()
    third = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0.15)
    assert not third.done()  # waiting for the first request's answer
    # answered long ago (a request that was counted early): the window is open at once
    limiter.answered(first, first.sent)
    started = time.monotonic()
    await asyncio.wait_for(third, 10)
    assert time.monotonic() - started < 5  # woken by the answer, not by the 30 s give-up


async def test_every_request_settles_its_grant_failed_or_not(mock: aioresponses) -> None:
    mock.get(URL_, exception=ConnectionResetError("reset"))
    mock.get(URL_, status=500, body="oops")
    mock.get(URL_, payload=[], repeat=True)
    settings = {**FAST, "rate_limit": 1000, "max_attempts": 5}
    async with SendcloudClient(BasicAuth("a", "b"), **settings) as client:
        for _ in range(3):
            await client.integrations().collect()
        recent = list(client._transport.limiter._recent)
    assert len(recent) == 5 and all(grant.answered is not None for grant in recent)


def test_token_requests_and_failures_are_no_measure_of_travel(clock: FakeClock) -> None:
    limiter = AsyncRateLimiter(1.0)  # n = 1
    fast = send_next(limiter, clock)
    limiter.answered(fast, fast.sent + 0.001, measured=False)  # a token request
    for _ in range(3):
        grant = send_next(limiter, clock)
        limiter.answered(grant, grant.sent + 0.1)
    # travel is the data requests' 0.1 s, not the token request's 1 ms
    assert limiter.window_opens()[0] == pytest.approx(grant.sent + 1 + RATE_WINDOW_GUARD)
