"""Fan-out children decode a page only shortly before the consumer needs it.

When the consumer is the bottleneck (a CPU-bound harvest), a fan-out's children keep its merge
queue full: each page used to be decoded some ``buffer_pages`` pages before it was consumed.
By then its records had left the CPU cache, and writing them out and freeing them cost more
than for a page decoded just in time. Decoding into memory that had gone cold cost more too:
measured, a gated fan-out decodes a page faster than an ungated one, and than a lone stream
(figures: benchmarks/README.md).

A :class:`DecodeGate` holds a child back between the arrival of a body and its decoding
until fewer than ``ahead`` items wait in the merge queue. The fan-out hands it to each child
stream, whose pager passes it to every page request; the transport waits at it after the
connection has gone back to the pool and the read timeout has ended. The request deadline is
paused meanwhile: the wait is the consumer's, not the provider's. Only page requests wait,
never a token request.

Liveness: a waiter is woken when the consumer takes an item and the gate is open. A waiter
that passes while the queue is empty also wakes the next one: it may put nothing into the
queue (a prefetch, a page cut by ``stop_when``), and then no item taken would. A woken waiter
that is cancelled before it runs hands its wake-up on. So while waiters wait, either the
consumer has items left to take, each waking one, or a woken waiter is on its way.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable


class DecodeGate:
    """Open while fewer than ``ahead`` items wait for the consumer (``backlog()``)."""

    __slots__ = ("_ahead", "_backlog", "_waiters")

    def __init__(self, backlog: Callable[[], int], ahead: int) -> None:
        self._backlog = backlog
        self._ahead = ahead
        self._waiters: deque[asyncio.Future[None]] = deque()

    def is_open(self) -> bool:
        """Whether a body may be decoded now."""
        return self._backlog() < self._ahead

    @property
    def waiting(self) -> int:
        """Tasks waiting at the gate."""
        return len(self._waiters)

    async def wait(self) -> None:
        """Return once the gate is open (at once if it is)."""
        loop = asyncio.get_running_loop()
        woken = False
        while not self.is_open():
            waiter: asyncio.Future[None] = loop.create_future()
            if woken:  # woken, but others got there first: first in line again
                self._waiters.appendleft(waiter)
            else:
                self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # woken, then cancelled: the wake-up goes to the next
                else:
                    with contextlib.suppress(ValueError):  # unless a wake-up dropped it
                        self._waiters.remove(waiter)
                raise
            woken = True
        if self._waiters and not self._backlog():
            # Nothing is left for the consumer to take, so no item taken will wake the next
            # waiter: this one may put nothing into the queue (a prefetch, a cut page).
            self._wake_one()

    def taken(self) -> None:
        """The consumer took an item: wake a waiter if the gate is open now."""
        if self._waiters and self.is_open():
            self._wake_one()

    def _wake_one(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


__all__ = ["DecodeGate"]
