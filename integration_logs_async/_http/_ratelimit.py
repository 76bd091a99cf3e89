"""Client-side rate limiting shared by every request of one client."""

from __future__ import annotations

import asyncio
import time


class AsyncRateLimiter:
    """Paces requests to ``rate`` per second (GCRA, i.e. a token bucket with ``burst``).

    Every coroutine of a client calls :meth:`acquire` before sending. :meth:`pause` makes
    every caller wait until a moment, which is how one 429 slows the whole client down
    rather than just the task that received it. ``rate=None`` disables pacing (pauses
    still apply).
    """

    def __init__(self, rate: float | None, *, burst: int = 1, headroom: float = 0.0) -> None:
        if rate is not None and rate <= 0:
            raise ValueError(f"rate_limit must be a positive number of requests/s, got {rate!r}")
        if burst < 1:
            raise ValueError(f"rate_limit_burst must be >= 1, got {burst!r}")
        self.rate = rate
        self.burst = burst
        if not 0.0 <= headroom < 1.0:
            raise ValueError(f"headroom must be within [0, 1), got {headroom!r}")
        # ``headroom``: requests spaced slightly wider than 1/rate (EXPLICIT_RATE_LIMIT_MARGIN).
        self._interval = 0.0 if rate is None else 1.0 / (rate * (1.0 - headroom))
        self._tat = 0.0  # theoretical arrival time of the next request
        self._paused_until = 0.0

    @property
    def paused_for(self) -> float:
        """Seconds left in the current pause (0 when not paused)."""
        return max(0.0, self._paused_until - time.monotonic())

    def pause(self, seconds: float) -> None:
        """Hold every caller of :meth:`acquire` for at least ``seconds`` from now."""
        self._paused_until = max(self._paused_until, time.monotonic() + max(0.0, seconds))

    def reserve(self) -> float:
        """Reserve the next slot and return how long to wait for it (pure bookkeeping)."""
        now = time.monotonic()
        start = max(now, self._paused_until)
        if self.rate is None:
            return start - now
        tat = max(self._tat, start)
        tolerance = (self.burst - 1) * self._interval
        slot = max(start, tat - tolerance)
        self._tat = tat + self._interval
        return slot - now

    def try_acquire(self) -> bool:
        """Take the next slot if it is free now; False (nothing taken): await :meth:`acquire`.

        The common path of an unpaced or idle limiter, without a coroutine per request.
        """
        now = time.monotonic()
        if self._paused_until > now:
            return False
        if self.rate is None:
            return True
        tat = max(self._tat, now)
        if tat - (self.burst - 1) * self._interval > now:
            return False
        self._tat = tat + self._interval
        return True

    async def acquire(self) -> None:
        """Wait until this caller may send one request."""
        while True:
            delay = self.reserve()
            if delay > 0:
                await asyncio.sleep(delay)
            # A pause that started while we slept applies to us too.
            if self._paused_until <= time.monotonic():
                return
