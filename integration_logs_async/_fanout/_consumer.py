"""``FanOutStream``: the consumer side of a fan-out, merging its children's pages.

It takes the children's pages off the merge queue of a :class:`~._scheduler.FanOutRun` (one
per iteration), trims them to ``max_items``, and keeps what outlives the iteration: each
child's progress as consumed (which :attr:`FanOutStream.checkpoint` encodes), the failures,
and the most children that ran at once.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncGenerator, Callable
from typing import Any, TypeVar

import msgspec

from .._client_checks import is_count as _is_count
from .._constants import FANOUT_BUFFER, FANOUT_CONCURRENCY
from .._consume import NO_PAGE, ConsumeOnce, PageProgress
from .._paging import PendingCheckpoint
from ..errors import FanOutError
from ..records import RawRecord
from ..stream import Page
from ._checkpoint import FanOutCheckpoint, decode_fanout_checkpoint, encode_fanout_checkpoint
from ._scheduler import ChildEnd, FanOutRun, RunPlan
from ._types import OnError, Source, SourcedPage, SourceList, StopWhen

T = TypeVar("T")


class FanOutStream(ConsumeOnce[T, SourcedPage[T]]):
    """Records of many child streams, merged; see :mod:`integration_logs_async.fanout`.

    ``key`` identifies the fan-out in its checkpoints; ``listing`` says in the user's words
    what producing the children does (e.g. ``"listing the integrations"``), and names a
    failure to list them in :class:`~integration_logs_async.FanOutError`.
    """

    def __init__(
        self,
        key: str,
        sources: SourceList,
        *,
        concurrency: int = FANOUT_CONCURRENCY,
        buffer_pages: int | None = None,
        on_error: OnError = "raise",
        resume_from: str | None = None,
        max_items: int | None = None,
        stop_when: StopWhen | None = None,
        raw: bool = False,
        child_prefetch: bool = False,
        listing: str = "listing the fan-out's streams",
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be an integer >= 1, got {concurrency!r}")
        buffer = buffer_pages if buffer_pages is not None else max(2 * concurrency, 4)
        if not isinstance(buffer, int) or buffer < 1:
            raise ValueError(f"buffer_pages must be an integer >= 1, got {buffer_pages!r}")
        if on_error not in ("raise", "collect"):
            raise ValueError(f"on_error must be 'raise' or 'collect', got {on_error!r}")
        if max_items is not None and (not _is_count(max_items) or max_items < 0):
            raise ValueError(f"max_items must be an integer >= 0 or None, got {max_items!r}")
        self._key = key
        self._plan = RunPlan(
            sources=sources,
            listing=listing,
            concurrency=concurrency,
            buffer=min(buffer, FANOUT_BUFFER),
            raw=raw,
            child_prefetch=child_prefetch,
            stop_when=stop_when,
        )
        self._on_error: OnError = on_error
        self._resume_from = resume_from
        self._resumed = (  # the checkpoint resumed from: where the children restart
            decode_fanout_checkpoint(resume_from, key) if resume_from else FanOutCheckpoint(key=key)
        )
        self._done = set(self._resumed.done)
        self._max_items = max_items
        # consumer-side progress: child label -> (page, records consumed from it)
        # (a page fully consumed is kept as its position only, so it is freed at once; the
        # position is encoded when a checkpoint is asked for, not for every page)
        self._marks: dict[str, PendingCheckpoint | tuple[Page[Any], PageProgress[Any]]] = {}
        self._current_label: str | None = None
        self._count = 0  # records consumed before the page in ``_progress``
        self._progress: PageProgress[Any] = NO_PAGE
        self._run: FanOutRun[T] | None = None  # the children, while an iteration runs
        self._max_running = 0  # of the iteration once it has ended
        self.failures: dict[str, BaseException] = {}

    def raw(self) -> FanOutStream[RawRecord]:
        """The same fan-out yielding :class:`RawRecord` (checkpoints are interchangeable)."""
        self._claim(check_only=True)
        plan = self._plan
        return FanOutStream(
            self._key,
            plan.sources,
            concurrency=plan.concurrency,
            buffer_pages=plan.buffer,
            on_error=self._on_error,
            resume_from=self._resume_from,
            max_items=self._max_items,
            stop_when=plan.stop_when,
            raw=True,
            child_prefetch=plan.child_prefetch,
            listing=plan.listing,
        )

    # --- progress --------------------------------------------------------------------------

    @property
    def consumed(self) -> int:
        """Records handed out so far."""
        return self._count_all()

    @property
    def max_running(self) -> int:
        """Most children that ran at once."""
        run = self._run
        return self._max_running if run is None else run.max_running

    @property
    def checkpoint(self) -> str:
        """Composite resume token: finished children and each active child's position."""
        active = dict(self._resumed.active)
        for label, mark in self._marks.items():
            if isinstance(mark, PendingCheckpoint):
                active[label] = mark.encode()
            else:
                active[label] = mark[0].checkpoint_at(mark[1].taken)
        for label in self._done:
            active.pop(label, None)
        return encode_fanout_checkpoint(self._key, self._done, active)

    # --- iteration -------------------------------------------------------------------------

    _noun = "fan-out"

    def _drop_callback(self) -> Callable[[weakref.ref[Any]], None]:
        # Dropping the iterator (a ``break``, an exception or a cancellation leaving the
        # ``async for``) cancels every child at once, so no request starts after that; asyncio
        # then finalises the generator, which waits for the children to finish unwinding.
        # Weakly bound: the stream must not be kept alive by its own weakref's callback.
        cancel_children = weakref.WeakMethod(self._cancel_children)

        def dropped(_: weakref.ref[Any]) -> None:
            cancel = cancel_children()
            if cancel is not None:
                cancel()

        return dropped

    def _cancel_children(self) -> None:
        run = self._run
        if run is not None:
            run.cancel()

    # Both generators drive the merge through the same three steps, neither through the
    # other: asyncio.run() ends by closing every async generator still alive, all at once,
    # and a generator nested in another would be closed twice concurrently.

    async def _records(self) -> AsyncGenerator[T, None]:
        if self._max_items == 0:
            return
        run = self._start()
        try:
            while (sourced := await self._next_page(run)) is not None:
                self._enter_page(sourced, all_taken=False)
                for item in self._progress:  # the hot loop: nothing else per record
                    yield item
                if self._max_items is not None and self._count_all() >= self._max_items:
                    return
        finally:
            await self._stop(run)

    async def _pages(self) -> AsyncGenerator[SourcedPage[T], None]:
        if self._max_items == 0:
            return
        run = self._start()
        try:
            while (sourced := await self._next_page(run)) is not None:
                yield self._enter_page(sourced, all_taken=True)
                if self._max_items is not None and self._count_all() >= self._max_items:
                    return
        finally:
            await self._stop(run)

    def _start(self) -> FanOutRun[T]:
        """Start this iteration's children; they fill its merge queue."""
        run: FanOutRun[T] = FanOutRun(self._plan, resume=self._resumed.active, skip=self._done)
        self._run, self._finished = run, run.finished
        return run

    async def _stop(self, run: FanOutRun[T]) -> None:
        """Cancel the children and wait until they have unwound; keep what outlives them."""
        try:
            await run.close()
        finally:
            self._max_running, self._run = run.max_running, None

    async def _next_page(self, run: FanOutRun[T]) -> SourcedPage[T] | None:
        """The next page of any child, or None once every child has ended."""
        queue, gate = run.queue, run.gate
        while True:
            item = await queue.get()
            gate.taken()
            if isinstance(item, SourcedPage):
                return item
            if item is None:
                return None
            self._end(item)

    def _end(self, end: ChildEnd) -> None:
        """A child ended: done, or failed (raises :class:`FanOutError` unless collecting)."""
        source, error = end.source, end.error
        if error is None:
            self._done.add(source.label)
            self._marks.pop(source.label, None)
        else:
            self._fail(source, error)

    def _count_all(self) -> int:
        return self._count + self._progress.taken

    def _enter_page(self, sourced: SourcedPage[T], *, all_taken: bool) -> SourcedPage[T]:
        """Make ``sourced`` (trimmed to ``max_items``) the page being consumed.

        A page consumed whole is kept only as its checkpoint, so its records are freed as soon
        as the consumer drops them (while still in cache), not when its child's next page
        arrives.
        """
        self._count += self._progress.taken
        self._progress = NO_PAGE
        label, self._current_label = self._current_label, None
        previous = None if label is None else self._marks.get(label)
        if label is not None and isinstance(previous, tuple):
            page, progress = previous
            if progress.taken == len(page.items):
                self._marks[label] = page._pending(len(page.items))
        page = self._trim(sourced.page)
        if all_taken:
            self._count += len(page.items)
            self._marks[sourced.source.label] = page._pending(len(page.items))
        else:
            self._progress = PageProgress(page.items)
            self._current_label = sourced.source.label
            self._marks[self._current_label] = (page, self._progress)
        return sourced if page is sourced.page else SourcedPage(sourced.source, page)

    def _trim(self, page: Page[T]) -> Page[T]:
        if self._max_items is None:
            return page
        room = self._max_items - self._count
        if room >= len(page.items):
            return page
        return msgspec.structs.replace(page, items=page.items[:room], last=False)

    def _fail(self, source: Source, error: BaseException) -> None:
        self.failures[source.label] = error
        if self._on_error == "raise":
            raise FanOutError({source.label: error}) from error


__all__ = ["FanOutStream"]
