"""``read_timeout`` kept on the shared deadline clock instead of aiohttp's ``sock_read`` timer.

aiohttp enforces ``ClientTimeout(sock_read=...)`` by cancelling and re-arming a
``TimerHandle`` on every socket read of a response, several per list page. Each one is an
allocation and a push into the event loop's heap of mostly cancelled handles: measurably more
CPU per record than without that timer (figures: benchmarks/README.md).

For the session the client creates, a :class:`ReadWatch` enforces the same bound on the
transport's :class:`~._deadlines.DeadlineClock`. It is a deadline scope around one attempt,
and it starts unarmed. The connector arms it once the request has its connection
(:func:`connection_acquired`), so the wait for a free pooled connection is not counted: that
wait is not the server being silent. It is pushed back each time a chunk of the body arrives
(:meth:`ReadWatch.progress`). Pushing back is an attribute store; the shared timer, firing
early, re-arms for the new deadline. An expired watch raises :class:`ReadTimeout`.

A session you pass keeps aiohttp's own ``sock_read``: its connector is not the library's.
"""

from __future__ import annotations

import asyncio
import math
from contextvars import ContextVar
from typing import Any

from ._deadlines import DeadlineClock, DeadlineScope


class ReadTimeout(TimeoutError):
    """The server sent nothing for ``read_timeout`` seconds (headers or the next body chunk)."""


_WATCH: ContextVar[ReadWatch | None] = ContextVar("integration_logs_async_read_watch", default=None)


class ReadWatch(DeadlineScope):
    """``with ReadWatch(clock, read_timeout):`` around one request and the reading of its body."""

    __slots__ = ("_token", "seconds")

    def __init__(self, clock: DeadlineClock, seconds: float) -> None:
        # Not DeadlineScope.__init__: one call less on the path of every request.
        self._clock = clock
        self.when = math.inf  # unarmed until the connection is there
        self.expired = False
        self.seconds = seconds

    def __enter__(self) -> ReadWatch:
        super().__enter__()
        self._token = _WATCH.set(self)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        _WATCH.reset(self._token)
        super().__exit__(*exc_info)

    def progress(self) -> None:
        """Data arrived (or the connection is ready): the allowed silence starts over.

        Moving the deadline later is an attribute store: the shared timer, firing at the old
        time, finds the watch not yet due and re-arms for it.
        """
        clock = self._clock
        loop = clock._loop
        self.when = when = (loop.time() if loop is not None else clock.now()) + self.seconds
        if when < clock._timer_when:
            clock._arm(when)

    def _timeout_error(self) -> TimeoutError:
        return ReadTimeout(f"the server sent nothing for read_timeout={self.seconds:g} s")


def connection_acquired() -> None:
    """Called by the library's connector when a request has its connection: from here on,
    silence is the server's, and the request's watch (if any) starts counting."""
    watch = _WATCH.get()
    # A task started inside the watch inherits the context, not the watch.
    if watch is not None and watch._task is asyncio.current_task():
        watch.progress()


__all__ = ["ReadTimeout", "ReadWatch", "connection_acquired"]
