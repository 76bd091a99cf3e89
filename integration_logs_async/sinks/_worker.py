"""One worker thread per sink: blocking database and file calls, off the event loop, in order.

A DuckDB connection must not be used from two threads at once, and a sink's writes must
happen in the order they were asked for: one thread does both. Cancelling the task that
awaits a job never leaves it half done: a job not started never runs; a running one is told
(its ``cancel`` event, checked before it commits) and awaited before the cancellation goes
on, so the file or database is settled (committed or rolled back) when the caller sees it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from typing import Any, TypeVar

_T = TypeVar("_T")


class Worker:
    """A single thread that runs a sink's blocking jobs one after another."""

    def __init__(self, name: str) -> None:
        self._executor: ThreadPoolExecutor | None = ThreadPoolExecutor(1, thread_name_prefix=name)

    @property
    def running(self) -> bool:
        """False once :meth:`close` was called."""
        return self._executor is not None

    async def run(
        self, fn: Callable[..., _T], *args: Any, cancel: threading.Event | None = None
    ) -> _T:
        """``fn(*args)`` in the thread; see the module for cancellation."""
        if self._executor is None:
            raise RuntimeError("the sink is not open")
        job: Future[_T] = self._executor.submit(fn, *args)
        try:
            return await asyncio.wrap_future(job)
        except asyncio.CancelledError:
            if cancel is not None:
                cancel.set()
            if not job.done():
                with suppress(BaseException):
                    await asyncio.wrap_future(job)
            raise

    def submit(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` in the thread without waiting (clean-up from a closing generator)."""
        if self._executor is not None:
            self._executor.submit(fn)

    async def close(self, last: Callable[[], None]) -> None:
        """Run ``last`` (the sink's own close) after the queued jobs, then end the thread;
        idempotent. Cancelled while waiting: ``last`` still runs, in the thread."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        try:
            await asyncio.shield(asyncio.wrap_future(executor.submit(last)))
        finally:
            executor.shutdown(wait=False)


__all__ = ["Worker"]
