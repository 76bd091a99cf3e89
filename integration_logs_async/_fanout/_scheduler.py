"""One run of a fan-out's children: list them, start each in a free slot, fill the merge queue.

A :class:`FanOutRun` owns everything one iteration needs, from the first child started to the
last one unwound: the merge queue and its decode gate, the slots, the feeder and child tasks,
the counts, and the children held to one page at a time. The consumer creates it when
iteration starts and drops it when iteration ends.

The queue carries, per child and in that child's order, its pages (:class:`SourcedPage`), then
one :class:`ChildEnd` (holding the error if the child failed). A failure to list the children
is a ``ChildEnd`` labelled with the listing. ``None`` comes last, once every child has ended.

Bounded: fetching the next child (which may mean a listing request) holds the slot that child
then runs in, so listing and children together stay within ``concurrency`` requests; children
fetch one page at a time (unless ``child_prefetch``) until the listing is done.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Container, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

import msgspec

from .._constants import FANOUT_DECODE_AHEAD
from .._http import DecodeGate
from ..stream import AsyncStream, Page
from ._types import Source, SourcedPage, SourceList, StopWhen, StreamFactory

T = TypeVar("T")


class ChildEnd:
    """Queue marker: the child ``source`` ran to its end (``error`` None) or failed."""

    __slots__ = ("error", "source")

    def __init__(self, source: Source, error: Exception | None = None) -> None:
        self.source = source
        self.error = error


QueueItem: TypeAlias = SourcedPage[T] | ChildEnd | None
"""What the merge queue carries; ``None``: every child has ended, nothing follows."""


@dataclass(frozen=True, slots=True)
class RunPlan:
    """How a fan-out runs its children (fixed when the fan-out is made)."""

    sources: SourceList
    listing: str  # what producing the children does, in the user's words
    concurrency: int
    buffer: int  # pages waiting in the merge queue at most
    raw: bool
    child_prefetch: bool
    stop_when: StopWhen | None


class FanOutRun(Generic[T]):
    """One iteration of a fan-out's children; starts listing them at once (in a running loop).

    ``resume`` holds the child checkpoints to resume from; a child whose label is in ``skip``
    (read as each child is listed) has finished already and is not started.
    """

    __slots__ = (
        "_feeder",
        "_listing_done",
        "_loop",
        "_plan",
        "_resume",
        "_running",
        "_skip",
        "_slots",
        "_tasks",
        "_throttled",
        "finished",
        "gate",
        "max_running",
        "queue",
    )

    def __init__(self, plan: RunPlan, *, resume: Mapping[str, str], skip: Container[str]) -> None:
        self._plan = plan
        self._resume = resume
        self._skip = skip
        queue: asyncio.Queue[QueueItem[T]] = asyncio.Queue(maxsize=plan.buffer)
        self.queue = queue
        # Children decode a page only when few wait for the consumer (``_decode_gate.py``).
        self.gate = DecodeGate(queue.qsize, min(FANOUT_DECODE_AHEAD, plan.buffer))
        self.finished = asyncio.Event()  # set once every task has unwound
        self.max_running = 0  # most children that ran at once
        self._running = 0
        self._slots = asyncio.Semaphore(plan.concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        # Children held to one page at a time: label -> (stream, its configured prefetch).
        self._throttled: dict[str, tuple[AsyncStream[Any], int]] = {}
        self._listing_done = False
        self._loop = asyncio.get_running_loop()
        self._feeder = asyncio.create_task(self._feed())

    # --- teardown --------------------------------------------------------------------------

    def cancel(self) -> None:
        """Cancel the feeder and every child now, from any thread (their clean-up runs when
        they next wake)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._cancel_all()
        else:  # dropped in another thread (cyclic GC): hand it to the loop
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing runs anymore
                self._loop.call_soon_threadsafe(self._cancel_all)

    def _cancel_all(self) -> None:
        self._feeder.cancel()
        for task in list(self._tasks):
            task.cancel()

    async def close(self) -> None:
        """Cancel the feeder and every child, and wait until they have unwound."""
        self._cancel_all()
        try:
            await asyncio.gather(self._feeder, *self._tasks, return_exceptions=True)
        finally:
            self.finished.set()

    # --- the feeder ------------------------------------------------------------------------

    async def _feed(self) -> None:
        """List the children and start each when a slot is free; ``None`` once all ended."""
        plan, queue, slots = self._plan, self.queue, self._slots
        sources = aiter(plan.sources())
        error: Exception | None = None
        try:
            while True:
                await slots.acquire()
                try:
                    source, factory = await anext(sources)
                except BaseException:
                    slots.release()
                    raise
                if source.label in self._skip:
                    slots.release()
                    continue
                try:
                    stream = self._child_stream(source, factory)
                except Exception as exc:  # e.g. a child checkpoint it refuses: that child fails
                    slots.release()
                    await queue.put(ChildEnd(source, exc))
                    continue
                task = asyncio.create_task(self._produce(source, stream))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                self._running += 1
                self.max_running = max(self.max_running, self._running)
        except StopAsyncIteration:
            self._listing_done = True
            self._rebalance()
        except Exception as exc:
            error = exc
        finally:
            # Close the listing now (not when the GC finds it), whatever happened.
            aclose = getattr(sources, "aclose", None)
            if aclose is not None:
                try:
                    await aclose()
                except Exception as exc:
                    error = error or exc
        if error is not None:
            await queue.put(ChildEnd(Source(plan.listing), error))
        while self._tasks:  # each child's end marker is queued before its task ends
            await asyncio.wait(self._tasks)
        await queue.put(None)

    def _child_stream(self, source: Source, factory: StreamFactory) -> AsyncStream[Any]:
        stream = factory(self._resume.get(source.label))
        if self._plan.raw:
            stream = stream.raw()
        # decode a page only when few wait for the consumer (``_decode_gate.py``)
        stream = stream._with_decode_gate(self.gate)
        if not self._plan.child_prefetch:
            # one page at a time: a fan-out's parallelism is its children, so at most
            # ``concurrency`` requests are in flight
            configured = stream.prefetch_pages
            stream = stream.with_prefetch(0)
            if configured > 1:
                self._throttled[source.label] = (stream, configured)
        return stream

    # --- one child -------------------------------------------------------------------------

    async def _produce(self, source: Source, stream: AsyncStream[Any]) -> None:
        """Run one child: push its pages, then its end marker (with its error if it failed)."""
        put, stop = self.queue.put, self._plan.stop_when
        try:
            async with stream:
                async for page in stream.pages():
                    if stop is not None:
                        cut = next((i for i, x in enumerate(page.items) if stop(source, x)), None)
                        if cut is not None:
                            if cut:
                                await put(SourcedPage(source, _cut(page, cut)))
                            break
                    if page.items:
                        await put(SourcedPage(source, page))
                    del page  # the consumer is its only holder: it frees the records
            await put(ChildEnd(source))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await put(ChildEnd(source, exc))
        finally:
            self._running -= 1
            self._slots.release()
            if self._throttled.pop(source.label, None) is not None:
                self._rebalance()

    def _rebalance(self) -> None:
        """Once every child has started, let the ones still running share the idle slots.

        Children fetch one page at a time so that ``concurrency`` children make at most
        ``concurrency`` requests. When fewer are left and no more will start, each may fetch
        up to ``concurrency // running`` pages ahead (never more than its own
        ``prefetch_pages``), so the last children, often the largest, do not crawl one
        request at a time while the other slots sit idle.
        """
        if not self._listing_done or not self._throttled:
            return
        share = max(1, self._plan.concurrency // len(self._throttled))
        for stream, configured in self._throttled.values():
            stream._set_prefetch(min(configured, share))


def _cut(page: Page[Any], cut: int) -> Page[Any]:
    """``page`` ending before record ``cut``: the child's last page."""
    return msgspec.structs.replace(page, items=page.items[:cut], last=True, next_url=None)


__all__ = ["ChildEnd", "FanOutRun", "QueueItem", "RunPlan"]
