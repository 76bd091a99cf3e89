"""Request deadlines kept on one shared timer instead of one timer per request.

``asyncio.timeout()`` arms a ``TimerHandle`` for every scope and cancels it on exit. A
cancelled handle stays in the event loop's heap until the loop purges it, and every push
into that heap compares handles with a Python ``__lt__``: measured, the per-request scope
cost more CPU than any other single piece of the library's own per-request work (figures:
benchmarks/README.md).

A :class:`DeadlineClock` keeps the scopes in flight and arms one timer, at the earliest
deadline among them. Entering and leaving a scope is a dict insert and delete; the timer is
re-armed only when a scope's deadline is earlier than the armed one (never, for one
transport's requests, whose deadlines only grow) or when it fires. A firing timer cancels
the task of every scope whose deadline has passed and re-arms for the earliest remaining one,
so a stream of requests costs one timer per ``request_deadline`` seconds, not one each.

The semantics are those of ``asyncio.timeout()``: expiry cancels the task; the scope turns
that cancellation into ``TimeoutError`` on exit; a cancellation from elsewhere (counted with
``Task.cancelling()``) passes through as ``CancelledError``; nested scopes each handle their
own expiry.
"""

from __future__ import annotations

import asyncio
import math
from types import TracebackType


class DeadlineScope:
    """``with clock.scope(seconds):`` in a task; raises ``TimeoutError`` once it expires."""

    __slots__ = ("_cancelling", "_clock", "_task", "expired", "when")

    def __init__(self, clock: DeadlineClock, when: float) -> None:
        self._clock = clock
        self.when = when
        self.expired = False

    def __enter__(self) -> DeadlineScope:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a deadline scope must be entered inside an asyncio task")
        self._task = task
        self._cancelling = task.cancelling()
        clock = self._clock
        clock._scopes[self] = None
        if self.when < clock._timer_when:
            clock._arm(self.when)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._clock._scopes.pop(self, None)
        if (
            self.expired
            and self._task.uncancel() <= self._cancelling
            and exc_type is asyncio.CancelledError
        ):
            # No cancellation other than ours is pending: this one is ours to turn into a
            # timeout (as asyncio.timeout() does).
            raise self._timeout_error() from exc

    def _timeout_error(self) -> TimeoutError:
        """What an expired scope raises on exit."""
        return TimeoutError()

    def _expire(self) -> None:
        self.expired = True
        self._task.cancel()


class DeadlineClock:
    """The deadline scopes of one transport, on one shared timer."""

    __slots__ = ("_loop", "_scopes", "_timer", "_timer_when")

    def __init__(self) -> None:
        self._scopes: dict[DeadlineScope, None] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_when = math.inf

    def scope(self, seconds: float) -> DeadlineScope:
        """A scope ending ``seconds`` from now (on the running loop's clock)."""
        return DeadlineScope(self, self.now() + seconds)

    def now(self) -> float:
        """The running loop's time; binds the clock to that loop."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # first use, or a client reused on another loop
            self.close()
            self._loop = loop
        return loop.time()

    def paused(self) -> PausedScopes:
        """``with clock.paused():`` the current task's scopes stop counting meanwhile.

        On exit each of them ends as much later as the pause lasted. For waits that are not
        the provider's (a fan-out child waiting for its consumer).
        """
        return PausedScopes(self)

    def __len__(self) -> int:
        """Scopes in flight."""
        return len(self._scopes)

    @property
    def armed_at(self) -> float | None:
        """When the shared timer fires (loop time), or None when it is not armed."""
        return None if self._timer is None else self._timer_when

    def close(self) -> None:
        """Disarm the timer (scopes still in flight are no longer enforced)."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_when = None, math.inf

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        assert self._loop is not None  # set by scope()
        self._timer, self._timer_when = self._loop.call_at(when, self._fire), when

    def _fire(self) -> None:
        self._timer, self._timer_when = None, math.inf
        assert self._loop is not None
        now = self._loop.time()
        earliest = math.inf
        for scope in list(self._scopes):
            if scope.when <= now:
                del self._scopes[scope]
                scope._expire()
            elif scope.when < earliest:
                earliest = scope.when
        if earliest < math.inf:
            self._arm(earliest)


class PausedScopes:
    """See :meth:`DeadlineClock.paused`."""

    __slots__ = ("_clock", "_held", "_since")

    def __init__(self, clock: DeadlineClock) -> None:
        self._clock = clock

    def __enter__(self) -> None:
        clock = self._clock
        task = asyncio.current_task()
        # A scope that has expired already is not in the clock: its cancellation stands.
        self._held = held = [scope for scope in clock._scopes if scope._task is task]
        for scope in held:
            del clock._scopes[scope]
        self._since = clock.now()

    def __exit__(self, *exc_info: object) -> None:
        clock = self._clock
        shift = clock.now() - self._since
        for scope in self._held:
            scope.when += shift
            clock._scopes[scope] = None
            if scope.when < clock._timer_when:
                clock._arm(scope.when)


__all__ = ["DeadlineClock", "DeadlineScope", "PausedScopes"]
