"""Fixtures of the unit suite: a strict aioresponses mock and a fake clock (also as the rate
limiter's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aioresponses import aioresponses

from integration_logs_async._http import _ratelimit


@pytest.fixture
def mock() -> Iterator[aioresponses]:
    """Intercept every aiohttp request; an unregistered URL fails with a connection error."""
    with aioresponses() as m:
        yield m


class FakeClock:
    """Stands in for the ``time`` module of one library module (``monotonic`` and ``time``)."""

    def __init__(self, start: float = 1000.0, wall: float = 1_700_000_000.0) -> None:
        self.now = start
        self.wall = wall

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.wall += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, fake_clock: FakeClock) -> FakeClock:
    """The fake clock as the rate limiter's (``_http/_ratelimit.py``) ``time`` module."""
    monkeypatch.setattr(_ratelimit, "time", fake_clock)
    return fake_clock
