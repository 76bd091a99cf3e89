"""Bounded fan-out: merge many streams with at most N running at once.

* **Bounded**: at most ``concurrency`` child streams run, and listing the children (e.g. an
  integration's jobs) takes one of those slots too; children do not prefetch pages (unless
  ``child_prefetch=True``), so at most ``concurrency`` requests are in flight. At most
  ``buffer_pages`` pages wait in the merge buffer, so memory does not grow with the number or
  size of the children.
* **Decoded just in time**: children fetch ahead, but decode a page only while fewer than
  ``FANOUT_DECODE_AHEAD`` items wait for the consumer, so its records are still in the CPU
  cache when consumed. A child waiting to decode has released its connection, and the wait
  does not count against ``request_deadline`` or ``read_timeout`` (``_decode_gate.py``).
* **Ordered per child**: records of one child come out in that child's order; children
  interleave as their pages arrive.
* **Exactly resumable**: :attr:`FanOutStream.checkpoint` is a composite of the children's
  positions *as consumed by you*, not as fetched; pass it back as ``resume_from=``.
* **Clean teardown**: stopping early, raising or being cancelled cancels every child task and
  releases every connection before control returns.
* **Failures**: by default the first child failure cancels the rest and raises
  :class:`~integration_logs_async.FanOutError` naming the child; with ``on_error="collect"``
  the others go on, and failures are in :attr:`FanOutStream.failures` at the end (those
  children are not marked done, so resuming retries them).

The children share their client, hence its rate limiter and retry policy.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import weakref
from collections.abc import AsyncGenerator, AsyncIterable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypedDict, TypeVar

import msgspec

from ._checkpoint import PendingCheckpoint
from ._client_checks import is_count as _is_count
from ._constants import FANOUT_BUFFER, FANOUT_CONCURRENCY, FANOUT_DECODE_AHEAD
from ._consume import NO_PAGE, ConsumeOnce, PageProgress
from ._decode_gate import DecodeGate
from .errors import FanOutError
from .records import RawRecord
from .stream import AsyncStream, Page

T = TypeVar("T")
OnError = Literal["raise", "collect"]


@dataclass(frozen=True, slots=True)
class Source:
    """One child of a fan-out: a label and the ids it covers."""

    label: str
    integration_id: str | None = None
    job_id: str | None = None


StreamFactory = Callable[[str | None], AsyncStream[Any]]
"""Builds a child stream, resuming from the given child checkpoint (or from the start)."""

SourceList = Callable[[], AsyncIterable[tuple[Source, StreamFactory]]]
"""Produces the children lazily (listing integrations or jobs may itself need requests)."""

StopWhen = Callable[[Source, Any], bool]
"""Called per record; True ends that child before the record (e.g. an incremental watermark)."""


class SourcedPage(msgspec.Struct, Generic[T], frozen=True):
    """A page of one child, as yielded by :meth:`FanOutStream.pages` (immutable)."""

    source: Source
    page: Page[T]


class _State(msgspec.Struct, kw_only=True):
    v: int = 1
    key: str
    done: list[str] = msgspec.field(default_factory=list)
    active: dict[str, str] = msgspec.field(default_factory=dict)


_state_decoder = msgspec.json.Decoder(_State)


def _decode_state(token: str, key: str) -> _State:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        state = _state_decoder.decode(raw)
    except (binascii.Error, ValueError, msgspec.MsgspecError):
        raise ValueError(
            "resume_from is not a valid fan-out checkpoint; pass the exact string of "
            "fanout.checkpoint"
        ) from None
    if state.key != key:
        raise ValueError(
            f"checkpoint belongs to fan-out {state.key!r}, not {key!r}; resume it with the same "
            "method and arguments that produced it"
        )
    return state


class _Item(Generic[T]):
    __slots__ = ("error", "kind", "page", "source")

    def __init__(
        self,
        kind: Literal["page", "end", "error", "sources_done"],
        source: Source | None = None,
        page: Page[T] | None = None,
        error: BaseException | None = None,
    ) -> None:
        self.kind = kind
        self.source = source
        self.page = page
        self.error = error


@dataclass(slots=True)
class _Merge(Generic[T]):
    """One iteration's merge: the queue the children fill, its gate, and the tasks."""

    queue: asyncio.Queue[_Item[T]]
    gate: DecodeGate
    feeder: asyncio.Task[None]
    tasks: set[asyncio.Task[None]]
    finished: asyncio.Event  # set once every task has unwound
    sources_done: bool = False


class FanOutOptions(TypedDict, total=False):
    """Keyword options of the clients' fan-out methods (see :class:`FanOutStream`).

    ``concurrency`` (default 8): requests in flight at most; ``on_error``: ``"raise"`` (default)
    or ``"collect"``; ``resume_from``: a ``fanout.checkpoint``; ``max_items``: stop after that
    many records; ``stop_when``: per-record predicate ending that child (incremental runs);
    ``child_prefetch``: let each child prefetch pages as a lone stream would.
    """

    concurrency: int
    on_error: OnError
    resume_from: str | None
    max_items: int | None
    stop_when: StopWhen | None
    child_prefetch: bool


class FanOutStream(ConsumeOnce[T, SourcedPage[T]]):
    """Records of many child streams, merged; see the module documentation.

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
        self._listing = listing  # names a failure of ``sources`` in messages
        self._sources = sources
        self._concurrency = concurrency
        self._buffer = min(buffer, FANOUT_BUFFER)
        self._on_error: OnError = on_error
        self._resume_from = resume_from
        self._state = _decode_state(resume_from, key) if resume_from else _State(key=key)
        self._done = set(self._state.done)
        self._max_items = max_items
        self._stop_when = stop_when
        self._raw = raw
        self._child_prefetch = child_prefetch
        # consumer-side progress: child label -> (page, records consumed from it)
        # (a page fully consumed is kept as its position only, so it is freed at once; the
        # position is encoded when a checkpoint is asked for, not for every page)
        self._marks: dict[str, PendingCheckpoint | tuple[Page[Any], PageProgress[Any]]] = {}
        self._current_label: str | None = None
        self._count = 0  # records consumed before the page in ``_progress``
        self._progress: PageProgress[Any] = NO_PAGE
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None] | set[asyncio.Task[None]]] = []
        self.failures: dict[str, BaseException] = {}
        self.max_running = 0  # most children that ran at once
        self._live = 0
        self._running = 0
        # Children held to one page at a time: label -> (stream, its configured prefetch).
        self._throttled: dict[str, tuple[AsyncStream[Any], int]] = {}
        self._listing_done = False
        self._started_labels: set[str] = set()

    def raw(self) -> FanOutStream[RawRecord]:
        """The same fan-out yielding :class:`RawRecord` (checkpoints are interchangeable)."""
        self._claim(check_only=True)
        return FanOutStream(
            self._key,
            self._sources,
            concurrency=self._concurrency,
            buffer_pages=self._buffer,
            on_error=self._on_error,
            resume_from=self._resume_from,
            max_items=self._max_items,
            stop_when=self._stop_when,
            raw=True,
            child_prefetch=self._child_prefetch,
            listing=self._listing,
        )

    # --- progress --------------------------------------------------------------------------

    @property
    def consumed(self) -> int:
        """Records handed out so far."""
        return self._count_all()

    @property
    def checkpoint(self) -> str:
        """Composite resume token: finished children and each active child's position."""
        active = dict(self._state.active)
        for label, mark in self._marks.items():
            if isinstance(mark, PendingCheckpoint):
                active[label] = mark.encode()
            else:
                active[label] = mark[0].checkpoint_at(mark[1].taken)
        for label in self._done:
            active.pop(label, None)
        state = _State(key=self._key, done=sorted(self._done), active=active)
        return base64.urlsafe_b64encode(msgspec.json.encode(state)).decode().rstrip("=")

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

    # Both generators drive the merge through the same three steps, neither through the
    # other: asyncio.run() ends by closing every async generator still alive, all at once,
    # and a generator nested in another would be closed twice concurrently.

    async def _records(self) -> AsyncGenerator[T, None]:
        if self._max_items == 0:
            return
        merge = self._open_merge()
        try:
            while (sourced := await self._next_page(merge)) is not None:
                self._enter_page(sourced, all_taken=False)
                for item in self._progress:  # the hot loop: nothing else per record
                    yield item
                if self._max_items is not None and self._count_all() >= self._max_items:
                    return
        finally:
            await self._close_merge(merge)

    async def _pages(self) -> AsyncGenerator[SourcedPage[T], None]:
        if self._max_items == 0:
            return
        merge = self._open_merge()
        try:
            while (sourced := await self._next_page(merge)) is not None:
                yield self._enter_page(sourced, all_taken=True)
                if self._max_items is not None and self._count_all() >= self._max_items:
                    return
        finally:
            await self._close_merge(merge)

    def _open_merge(self) -> _Merge[T]:
        """Start the feeder, which starts the children; they fill the merge queue."""
        queue: asyncio.Queue[_Item[T]] = asyncio.Queue(maxsize=self._buffer)
        slots = asyncio.Semaphore(self._concurrency)
        # Children decode a page only when few wait for the consumer (``_decode_gate.py``).
        gate = DecodeGate(queue.qsize, min(FANOUT_DECODE_AHEAD, self._buffer))
        tasks: set[asyncio.Task[None]] = set()
        self._live = 0  # children started whose end or error marker is not consumed yet
        feeder = asyncio.create_task(self._feed(queue, gate, slots, tasks))
        finished = self._finished = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._tasks = [feeder, tasks]
        return _Merge(queue, gate, feeder, tasks, finished)

    async def _next_page(self, merge: _Merge[T]) -> SourcedPage[T] | None:
        """The next page of any child, or None once every child has ended."""
        queue = merge.queue
        while not (merge.sources_done and self._live == 0):
            item = await queue.get()
            merge.gate.taken()
            if item.kind == "sources_done":
                merge.sources_done = True
                continue
            if item.kind == "error":
                assert item.source is not None and item.error is not None
                if item.source.label in self._started_labels:
                    self._live -= 1
                self._fail(item.source, item.error)
                continue
            assert item.source is not None
            label = item.source.label
            if item.kind == "end":
                self._live -= 1
                self._done.add(label)
                self._marks.pop(label, None)
                continue
            assert item.page is not None
            return SourcedPage(item.source, item.page)
        return None

    async def _close_merge(self, merge: _Merge[T]) -> None:
        """Cancel the feeder and every child, and wait until they have unwound."""
        merge.feeder.cancel()
        for task in list(merge.tasks):
            task.cancel()
        try:
            await asyncio.gather(merge.feeder, *merge.tasks, return_exceptions=True)
        finally:
            self._tasks = []
            merge.finished.set()

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
                self._marks[label] = page._source.pending(len(page.items))
        page = self._trim(sourced.page)
        if all_taken:
            self._count += len(page.items)
            self._marks[sourced.source.label] = page._source.pending(len(page.items))
        else:
            self._progress = PageProgress(page.items)
            self._current_label = sourced.source.label
            self._marks[self._current_label] = (page, self._progress)
        return sourced if page is sourced.page else SourcedPage(sourced.source, page)

    def _cancel_children(self) -> None:
        """Cancel the feeder and every child now (their clean-up runs when they next wake)."""
        loop, parts = self._loop, self._tasks
        if loop is None or not parts:
            return
        tasks = [t for part in parts for t in (part if isinstance(part, set) else (part,))]

        def cancel() -> None:
            for task in tasks:
                task.cancel()

        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            cancel()
        else:  # dropped in another thread (cyclic GC): hand it to the loop
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing runs anymore
                loop.call_soon_threadsafe(cancel)

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

    async def _feed(
        self,
        queue: asyncio.Queue[_Item[T]],
        gate: DecodeGate,
        slots: asyncio.Semaphore,
        tasks: set[asyncio.Task[None]],
    ) -> None:
        """List the children and start each when a slot is free.

        Fetching the next child (which may mean a listing request) happens while holding the
        slot that child then runs in, so listing and children together stay within
        ``concurrency`` requests.
        """
        sources = aiter(self._sources())
        error: Exception | None = None
        try:
            while True:
                await slots.acquire()
                try:
                    source, factory = await anext(sources)
                except BaseException:
                    slots.release()
                    raise
                if source.label in self._done:
                    slots.release()
                    continue
                try:
                    stream = factory(self._state.active.get(source.label))
                    if self._raw:
                        stream = stream.raw()
                    # decode a page only when few wait for the consumer (``_decode_gate.py``)
                    stream = stream._with_decode_gate(gate)
                    if not self._child_prefetch:
                        # one page at a time: a fan-out's parallelism is its children, so at
                        # most ``concurrency`` requests are in flight
                        configured = stream.prefetch_pages
                        stream = stream.with_prefetch(0)
                        if configured > 1:
                            self._throttled[source.label] = (stream, configured)
                except Exception as exc:  # e.g. a child checkpoint it refuses: that child fails
                    slots.release()
                    await queue.put(_Item("error", source, error=exc))
                    continue
                task = asyncio.create_task(self._produce(source, stream, queue, slots))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                self._live += 1
                self._started_labels.add(source.label)
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
            await queue.put(_Item("error", Source(self._listing), error=error))
        await queue.put(_Item("sources_done"))

    async def _produce(
        self,
        source: Source,
        stream: AsyncStream[Any],
        queue: asyncio.Queue[_Item[T]],
        slots: asyncio.Semaphore,
    ) -> None:
        """Run one child: push its pages, then an end marker (or its error)."""
        stop = self._stop_when
        try:
            async with stream:
                async for page in stream.pages():
                    if stop is not None:
                        cut = next((i for i, x in enumerate(page.items) if stop(source, x)), None)
                        if cut is not None:
                            if cut:
                                await queue.put(_Item("page", source, self._cut(page, cut)))
                            break
                    if page.items:
                        await queue.put(_Item("page", source, page))
                    del page  # the consumer is its only holder: it frees the records
            await queue.put(_Item("end", source))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await queue.put(_Item("error", source, error=exc))
        finally:
            self._running -= 1
            slots.release()
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
        share = max(1, self._concurrency // len(self._throttled))
        for stream, configured in self._throttled.values():
            stream._set_prefetch(min(configured, share))

    @staticmethod
    def _cut(page: Page[Any], cut: int) -> Page[Any]:
        return msgspec.structs.replace(page, items=page.items[:cut], last=True, next_url=None)
