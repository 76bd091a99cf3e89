"""``TailStream``: follow one newest-first listing, yielding each new log once, forever.

Every ``poll_interval`` (jittered) the tail reads the listing from its head until it
reaches the logs it has already accounted for (:mod:`._window`), then yields what is new,
oldest first: an idle poll costs one request. While logs are arriving, every
``lookback / 2`` seconds a poll *sweeps* the look-back window down to its floor, for late
logs that a listing sorted by ``created_at`` files below newer ones; once nothing new has
come for ``lookback`` seconds no late log can still be due, and sweeps stop.

Requests go through the client, so its rate limiter, 429 pauses and retries apply; a poll
that still fails with a transient error (5xx, network, 429, a listing that shifted beyond
repair) is logged and tried again later, backing off; refused credentials and other
definite answers end the tail with their typed error.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from .. import _constants as C
from .._client_checks import check_count
from .._consume import ConsumeOnce
from .._time import AwareDecoder
from ..errors import (
    DecodeError,
    PaginationError,
    RateLimitError,
    ServerError,
    TransportError,
)
from ..records import RawRecord
from ._checkpoint import decode_tail_checkpoint, encode_tail_checkpoint
from ._filter import LogFilter
from ._types import TailBatch, TailListing, TailStats
from ._window import PollResult, PollScan, TailState, account, advance

T = TypeVar("T")

logger = logging.getLogger(C.LOGGER_NAME)

TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    ServerError,
    RateLimitError,
    TransportError,
    DecodeError,
    PaginationError,
)
"""Failures a tail outlives: the poll is tried again later (after the client's own retries)."""


def _seconds(name: str, value: Any, *, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= minimum:
        raise ValueError(f"{name} must be a number of seconds >= {minimum:g}, got {value!r}")
    return float(value)


class TailStream(ConsumeOnce[T, TailBatch[T]]):
    """New logs of one listing as they arrive: ``async for log in client.tail(): ...``.

    Never ends by itself: stop with ``break``, cancellation or :meth:`aclose`. Each log is
    yielded once; :attr:`checkpoint`, valid after any number of logs, resumes exactly after
    the last one handed out (``client.tail(resume_from=...)``). :meth:`pages` yields one
    :class:`TailBatch` per poll that found logs.
    """

    _noun = "tail"

    def __init__(
        self,
        listing: TailListing,
        *,
        since: datetime | None = None,
        resume_from: str | None = None,
        poll_interval: float = C.TAIL_POLL_INTERVAL,
        lookback: float = C.TAIL_LOOKBACK,
        log_filter: LogFilter | None = None,
        typed: bool = True,
    ) -> None:
        self._interval = _seconds("poll_interval", poll_interval, minimum=0.0)
        self._lookback = timedelta(seconds=_seconds("lookback", lookback, minimum=0.0))
        if since is not None and (not isinstance(since, datetime) or since.tzinfo is None):
            raise ValueError(f"since must be a timezone-aware datetime, got {since!r}")
        self._listing = listing
        self._since = since
        self._resume_from = resume_from
        self._filter = log_filter or LogFilter()
        self._typed = typed
        if resume_from is not None:
            self._state = decode_tail_checkpoint(
                resume_from, provider=listing.provider, listing=listing.key
            )
        else:
            self._state = TailState(since=since)
        self._opened_at = datetime.now(UTC)
        # Sweeps: the first poll, then every half look-back while logs keep coming.
        self._sweep_every = max(self._interval, self._lookback.total_seconds() / 2)
        self._sweep_due = 0.0  # time.monotonic() from which the next poll sweeps
        self._moved_at = time.monotonic()  # when the newest log seen last moved
        self._warned_ownerless = False
        self._runner: asyncio.Task[Any] | None = None  # the task inside a poll or sleep
        self._closing = False  # aclose() was called
        self._stopping = False  # aclose() cancelled the runner: end normally
        self.stats = TailStats()
        """Counters of this tail's polls."""

    def __repr__(self) -> str:
        return f"<TailStream {self._listing.where} yielded={self.stats.yielded}>"

    @property
    def listing(self) -> str:
        """Which listing this tail follows (its path)."""
        return self._listing.key

    @property
    def checkpoint(self) -> str:
        """Opaque token of the position after the last log handed out."""
        state = self._state
        if not state.started and state.since is None:
            # Before the first poll, "from now" can only be the client's clock; whole
            # seconds, as providers stamp logs (a log of this second is not lost).
            state = TailState(since=self._opened_at.replace(microsecond=0))
        return encode_tail_checkpoint(self._listing.provider, self._listing.key, state)

    def raw(self) -> TailStream[RawRecord]:
        """The same tail yielding :class:`RawRecord` (the server's exact bytes)."""
        self._claim(check_only=True)
        twin: TailStream[RawRecord] = TailStream(
            self._listing,
            since=self._since,
            resume_from=self._resume_from,
            poll_interval=self._interval,
            lookback=self._lookback.total_seconds(),
            log_filter=self._filter,
            typed=False,
        )
        return twin

    # --- polling -----------------------------------------------------------------------------

    def _sweeps_now(self) -> bool:
        now = time.monotonic()
        if now < self._sweep_due:
            return False
        quiet = now - self._moved_at
        return quiet <= self._lookback.total_seconds() + self._sweep_every

    async def _poll(self) -> PollResult:
        """Walk the listing from its head as far as the window needs."""
        deep = not self._state.started or self._sweeps_now()
        scan = PollScan(self._state, self._lookback, where=self._listing.where, deep=deep)
        walk = self._listing.open()
        async with walk:
            async for page in walk.pages():
                self.stats.pages += 1
                if not scan.feed(page.items):
                    break
        if deep:
            self.stats.sweeps += 1
            self._sweep_due = time.monotonic() + self._sweep_every
        self.stats.floor = scan.floor
        return scan.result()

    async def _polls(self) -> AsyncGenerator[PollResult, None]:
        """Poll results until :meth:`aclose`, sleeping between polls; transient failures are
        waited out. :meth:`aclose` from another task ends the poll or sleep in progress."""
        failures = 0
        try:
            while not self._closing:
                self._runner = asyncio.current_task()
                try:
                    result = await self._poll()
                except TRANSIENT_ERRORS as exc:
                    failures += 1
                    self.stats.failures += 1
                    self.stats.last_error = str(exc)
                    delay = self._backoff(failures)
                    logger.warning(
                        "tail of %s: poll failed (%s); trying again in %.1f s",
                        self._listing.where,
                        exc,
                        delay,
                    )
                    await asyncio.sleep(delay)
                    continue
                failures = 0
                stats = self.stats
                stats.polls += 1
                stats.last_poll_at = time.time()
                stats.last_error = None
                if not result.new:
                    stats.idle_polls += 1
                stats.new += len(result.new)
                self._runner = None
                yield result
                del result
                self._runner = asyncio.current_task()
                # After the first poll, a random part of an interval: tails started together
                # (one per integration) spread out at once instead of polling in bursts.
                first = stats.polls == 1
                await asyncio.sleep(self._interval * random.random() if first else self._jittered())
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._stopping and task is not None:  # our own cancel, from aclose()
                self._stopping = False
                if task.uncancel() == 0:
                    return  # only aclose() asked: end normally
            raise
        finally:
            self._runner = None

    async def aclose(self) -> None:
        """Stop: ``async for`` over this tail ends normally, also when called from another
        task (the poll or sleep in progress is cancelled). Idempotent."""
        self._closing = True
        runner = self._runner
        if runner is not None and runner is not asyncio.current_task() and not runner.done():
            self._stopping = True
            runner.cancel()
            if self._finished is not None:
                await self._finished.wait()
            return
        await super().aclose()

    def _jittered(self) -> float:
        spread = C.TAIL_JITTER * (2.0 * random.random() - 1.0)
        return self._interval * (1.0 + spread)

    def _backoff(self, failures: int) -> float:
        base = max(self._interval, C.TAIL_FAILURE_BACKOFF_MIN)
        return float(min(base * 2 ** (failures - 1), C.TAIL_FAILURE_BACKOFF_MAX))

    async def _accept(self, result: PollResult) -> AsyncGenerator[RawRecord, None]:
        """The poll's new logs that pass the filter, the state accounting for each."""
        lookback, keep, normalize = self._lookback, self._filter, self._listing.normalize
        newest = self._state.newest
        self._state = advance(self._state, result.walked, lookback, start=result.start)
        if result.new or self._state.newest != newest:
            self._moved_at = time.monotonic()
        for record in result.new:
            self._state = account(self._state, record)
            if keep.empty or keep.keeps(record, normalize):
                self.stats.yielded += 1
                yield record
            elif keep.integration_ids and record.integration_id is None:
                self._warn_ownerless(record)

    def _warn_ownerless(self, record: RawRecord) -> None:
        """Say once that ``integration_ids`` cannot see this listing's owners (not silently)."""
        if self._warned_ownerless:
            return
        self._warned_ownerless = True
        logger.warning(
            "tail of %s: log %s names no integration, so integration_ids cannot keep it "
            "(nor others like it); to follow one integration exactly, tail its own listing "
            "(integration_id=...)",
            self._listing.where,
            record.id,
        )

    def _out(self) -> Callable[[RawRecord], Any]:
        return self._listing.decode if self._typed else _identity

    async def _records(self) -> AsyncGenerator[T, None]:
        out = self._out()
        finished = self._finished = asyncio.Event()
        try:
            async with aclosing(self._polls()) as polls:
                async for result in polls:
                    async with aclosing(self._accept(result)) as accepted:
                        async for record in accepted:
                            yield out(record)
        finally:
            finished.set()

    def pages(
        self, *, idle: bool = False, max_items: int | None = None
    ) -> AsyncIterator[TailBatch[T]]:
        """One :class:`TailBatch` per poll that found logs (after filters).

        ``idle=True``: one per poll, also when it found none (``items`` empty), so the
        consumer can save :attr:`TailBatch.checkpoint` after the first poll or stop after
        one. ``max_items``: end after that many logs; the last batch is cut short and its
        checkpoint resumes exactly after its last log.
        """
        if max_items is not None:
            check_count("max_items", max_items, minimum=1)
        return self._begin(self._pages(idle=idle, max_items=max_items))

    async def _pages(
        self, *, idle: bool = False, max_items: int | None = None
    ) -> AsyncGenerator[TailBatch[T], None]:
        out = self._out()
        left = max_items
        finished = self._finished = asyncio.Event()
        try:
            async with aclosing(self._polls()) as polls:
                async for result in polls:
                    items: list[T] = []
                    async with aclosing(self._accept(result)) as accepted:
                        async for record in accepted:  # the state accounts for each one
                            items.append(out(record))
                            if left is not None and len(items) >= left:
                                break
                    if items or idle:
                        yield TailBatch(items, self.checkpoint)
                    if left is not None:
                        left -= len(items)
                        if left <= 0:
                            return
        finally:
            finished.set()


def _identity(record: RawRecord) -> RawRecord:
    return record


def typed_decoder(item_type: Any) -> Callable[[RawRecord], Any]:
    """A raw record's bytes as ``item_type`` (UTC assumed for a timestamp without offset)."""
    decoder: AwareDecoder[Any] = AwareDecoder(item_type)
    return lambda record: decoder.decode(record.raw)


__all__ = ["TRANSIENT_ERRORS", "TailStream", "typed_decoder"]
