"""Client-side rate limiting shared by every request of one client."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque

from .._constants import RATE_WINDOW, RATE_WINDOW_ANSWER_WAIT, RATE_WINDOW_GUARD


class Grant:
    """One request's permission to send: when it was granted and when its answer began.

    The transport reports the answer (or the failure, or the cancellation) with
    :meth:`AsyncRateLimiter.answered`; the server counted the request between the two.
    """

    __slots__ = ("_settled", "answered", "sent")

    def __init__(self, sent: float) -> None:
        self.sent = sent
        self.answered: float | None = None
        self._settled: asyncio.Future[None] | None = None  # made when someone waits

    async def wait_answered(self, at_most: float) -> None:
        """Return once the answer began, or after ``at_most`` seconds."""
        if self.answered is not None:
            return
        if self._settled is None:
            self._settled = asyncio.get_running_loop().create_future()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(at_most):
                await asyncio.shield(self._settled)

    def _settle(self, at: float) -> None:
        self.answered = at
        if self._settled is not None and not self._settled.done():
            self._settled.set_result(None)


_UNTRACKED = Grant(0.0)  # what an unpaced limiter grants: nothing to remember


class AsyncRateLimiter:
    """Paces requests to ``rate`` per second (GCRA, i.e. a token bucket with ``burst``).

    Every coroutine of a client calls :meth:`acquire` before sending. :meth:`pause` makes
    every caller wait until a moment, which is how one 429 slows the whole client down
    rather than just the task that received it. ``rate=None`` disables pacing (pauses
    still apply).

    A paced limiter also guards a server's one-second sliding window: request *j* waits
    until one window has passed since the server can have counted request *j - n*
    (``n = max(burst, ceil(rate))``), that is since its answer began, less the travel
    time (the shortest round trip of a data request, the part of any answer's time that
    is not waiting). Spacing alone leaves a margin of ``headroom`` of a window (20 ms at
    2%); a server that holds one request longer before counting it (a busy core, a new
    connection) counts the next ones bunched, and those came back as 429s. The guard
    costs nothing while answers come back on time: the spacing is then the later of the
    two.
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
        # The last ``n`` grants, oldest first (the sliding-window guard; unused when unpaced).
        self._window = 0 if rate is None else max(burst, math.ceil(rate * RATE_WINDOW))
        self._recent: deque[Grant] = deque(maxlen=self._window)
        # Travel: the shortest round trip (grant to answer) of the data requests answered.
        self._travel = 0.0
        self._shortest_trip: float | None = None
        self._answers = 0

    @property
    def paused_for(self) -> float:
        """Seconds left in the current pause (0 when not paused)."""
        return max(0.0, self._paused_until - time.monotonic())

    def pause(self, seconds: float) -> None:
        """Hold every caller of :meth:`acquire` for at least ``seconds`` from now."""
        self._paused_until = max(self._paused_until, time.monotonic() + max(0.0, seconds))

    def answered(self, grant: Grant, at: float, *, measured: bool = True) -> None:
        """Record that the answer to ``grant``'s request began at ``at`` (``time.monotonic``).

        ``measured=False``: its time is no measure of travel (a token request, answered by
        another part of the server and often much faster; a request that failed or was
        cancelled without an answer).
        """
        if grant is _UNTRACKED or grant.answered is not None:
            return
        grant._settle(at)
        if not measured:
            return
        self._answers += 1
        trip = at - grant.sent
        if self._shortest_trip is None or trip < self._shortest_trip:
            self._shortest_trip = trip
        # The first answers (a new connection, a server just woken) can all be slow: their
        # trip is no measure of travel, and nothing is taken off until two windows' worth.
        if self._answers >= 2 * self._window:
            self._travel = self._shortest_trip

    def window_opens(self) -> tuple[float, Grant | None]:
        """When the sliding-window guard lets the next request go (0: now, or no guard),
        and the grant whose answer it waits for, if that answer has not begun yet."""
        recent = self._recent
        if not self._window or len(recent) < self._window:
            return 0.0, None
        oldest = recent[0]
        if oldest.answered is None:
            # Not counted yet, or counted a moment ago: wait for its answer, but a request
            # unanswered for this long is stuck, and spacing alone paces the next ones.
            give_up = oldest.sent + RATE_WINDOW_ANSWER_WAIT
            return (give_up, oldest) if give_up > time.monotonic() else (0.0, None)
        return oldest.answered + RATE_WINDOW + RATE_WINDOW_GUARD - self._travel, None

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

    def try_acquire(self) -> Grant | None:
        """Take the next slot if it is free now; None (nothing taken): await :meth:`acquire`.

        The common path of an unpaced or idle limiter, without a coroutine per request.
        """
        now = time.monotonic()
        if self._paused_until > now:
            return None
        if self.rate is None:
            return _UNTRACKED
        tat = max(self._tat, now)
        if tat - (self.burst - 1) * self._interval > now or self.window_opens()[0] > now:
            return None
        self._tat = tat + self._interval
        return self._grant(now)

    async def acquire(self) -> Grant:
        """Wait until this caller may send one request."""
        while True:
            delay = self.reserve()
            if delay > 0:
                await asyncio.sleep(delay)
            # A pause that started while we slept applies to us too.
            while self._paused_until <= (now := time.monotonic()):
                if self.rate is None:
                    return _UNTRACKED
                opens, unanswered = self.window_opens()
                if opens <= now:
                    return self._grant(now)
                if unanswered is not None:
                    await unanswered.wait_answered(opens - now)
                else:
                    await asyncio.sleep(opens - now)

    def _grant(self, now: float) -> Grant:
        grant = Grant(now)
        self._recent.append(grant)
        return grant
