"""``read_timeout`` kept on the shared deadline clock instead of aiohttp's ``sock_read`` timer.

aiohttp enforces ``ClientTimeout(sock_read=...)`` by cancelling and re-arming a
``TimerHandle`` on every socket read of a response, several per list page. Each one is an
allocation and a push into the event loop's heap of mostly cancelled handles: measurably more
CPU per record than without that timer (figures: benchmarks/README.md).

For the session the client creates, a :class:`ReadWatch` enforces the same bound on the
transport's :class:`~._deadlines.DeadlineClock`. It is a deadline scope around one attempt,
and it starts unarmed. The session's connector arms it once the request has its connection
(:meth:`ReadWatches.connection_acquired`), so the wait for a free pooled connection is not
counted: that wait is not the server being silent. It is pushed back each time a chunk of the
body arrives (:meth:`ReadWatch.progress`). Pushing back is an attribute store; the shared
timer, firing early, re-arms for the new deadline. An expired watch raises
:class:`ReadTimeout`. No context variable: the watches are kept by task, in the session.

A session you pass keeps aiohttp's own ``sock_read``: its connector is not the library's.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from ._deadlines import DeadlineClock, DeadlineScope


class ReadTimeout(TimeoutError):
    """The server sent nothing for ``read_timeout`` seconds (headers or the next body chunk)."""


class ReadWatches:
    """The read watches of one session's requests in flight, by task.

    The session's connector calls :meth:`connection_acquired` when it hands a request its
    connection; the watch of the task that asked starts counting.
    """

    __slots__ = ("_by_task", "_clock", "seconds")

    def __init__(self, clock: DeadlineClock, seconds: float) -> None:
        self._clock = clock
        self.seconds = seconds
        self._by_task: dict[asyncio.Task[Any], ReadWatch] = {}

    def watch(self) -> ReadWatch:
        """A new watch, for ``with`` around one request and the reading of its body."""
        return ReadWatch(self)

    def connection_acquired(self) -> None:
        """A request has its connection: from here on, silence is the server's."""
        # A task started inside a watch is another task: it does not start its parent's.
        watch = self._by_task.get(asyncio.current_task())  # type: ignore[arg-type]
        if watch is not None:
            watch.progress()

    def __len__(self) -> int:
        """Watches in flight."""
        return len(self._by_task)


class ReadWatch(DeadlineScope):
    """``with watches.watch():`` around one request and the reading of its body."""

    __slots__ = ("_outer", "_watches", "seconds")

    def __init__(self, watches: ReadWatches) -> None:
        # Not DeadlineScope.__init__: one call less on the path of every request.
        self._clock = watches._clock
        self._watches = watches
        self.when = math.inf  # unarmed until the connection is there
        self.expired = False
        self.seconds = watches.seconds

    def __enter__(self) -> ReadWatch:
        super().__enter__()
        by_task = self._watches._by_task
        self._outer = by_task.get(self._task)
        by_task[self._task] = self
        return self

    def __exit__(self, *exc_info: Any) -> None:
        by_task = self._watches._by_task
        if self._outer is None:
            del by_task[self._task]
        else:
            by_task[self._task] = self._outer
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


__all__ = ["ReadTimeout", "ReadWatch", "ReadWatches"]
