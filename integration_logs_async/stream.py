"""``AsyncStream``: what every list method returns.

Iterate it for records (``async for log in stream``), or call :meth:`AsyncStream.pages` for
pages. ``stream.checkpoint`` is valid after any number of consumed records; pass it back as
``resume_from=`` to the same method with the same arguments to continue exactly after the
last record consumed.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncGenerator, Sequence
from typing import Any, Generic, TypeVar

import msgspec

from ._client_checks import is_count as _is_count
from ._consume import NO_PAGE, ConsumeOnce, PageProgress
from ._http import DecodeGate
from ._paging import (
    FetchedCursorPage,
    FetchedPage,
    OffsetPager,
    Pager,
    PendingCheckpoint,
    Position,
    RecordCodec,
    decode_checkpoint,
    encode_checkpoint,
)
from .records import RawRecord

T = TypeVar("T")


class _PagePositions:
    """A page's URL and the checkpoints within it, built only when asked for."""

    __slots__ = ("_fetched", "_key", "_provider")

    def __init__(self, provider: str, key: str, fetched: FetchedPage[Any]) -> None:
        self._provider = provider
        self._key = key
        self._fetched = fetched

    def __repr__(self) -> str:
        return f"<page of {self._provider} {self._key} {self.url}>"

    @property
    def url(self) -> str:
        """The page's URL, redacted."""
        return self._fetched.url

    def pending(self, consumed: int) -> PendingCheckpoint:
        """The position once ``consumed`` records of the fetched page are consumed, to be
        encoded later (it holds no record)."""
        return PendingCheckpoint(self._provider, self._key, self._fetched.position_after(consumed))

    def checkpoint(self, consumed: int) -> str:
        """The resume token once ``consumed`` records of the fetched page are consumed."""
        return self.pending(consumed).encode()


class Page(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """One page of a stream: its records and metadata (immutable).

    ``total`` is the collection size the provider reported (offset pagination), ``next_url``
    the provider's link to the following page (cursor pagination), ``checkpoint`` the resume
    token once every record of this page has been consumed. ``url`` (redacted) and the
    checkpoints are computed when read, not for every page. (A msgspec struct, not a
    dataclass: built in C, once per page.)
    """

    items: Sequence[T]
    number: int
    last: bool
    _positions: _PagePositions
    next_url: str | None = None
    offset: int | None = None
    total: int | None = None

    @property
    def url(self) -> str:
        """The URL this page was fetched from (credentials redacted)."""
        return self._positions.url

    @property
    def checkpoint(self) -> str:
        """The resume token once every record of this page has been consumed."""
        return self._positions.checkpoint(len(self.items))

    def checkpoint_at(self, consumed: int) -> str:
        """The resume token once the first ``consumed`` records of this page are consumed."""
        if not 0 <= consumed <= len(self.items):
            raise ValueError(f"consumed must be within 0..{len(self.items)}, got {consumed}")
        return self._positions.checkpoint(consumed)

    def _pending(self, consumed: int) -> PendingCheckpoint:
        """The position after ``consumed`` records, encoded only when asked (fan-outs keep
        one per child)."""
        return self._positions.pending(consumed)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Any:
        return iter(self.items)


class AsyncStream(ConsumeOnce[T, Page[T]]):
    """An async iterable of records across pages, resumable from :attr:`checkpoint`.

    A stream is consumed once. Breaking out of ``async for`` early is safe: no further
    requests are made; call :meth:`aclose` (or use ``async with``) to release prefetching at
    once rather than when the iterator is garbage-collected.
    """

    def __init__(
        self,
        pager: Pager[T],
        *,
        provider: str,
        key: str,
        raw_codec: RecordCodec[RawRecord],
        resume_from: str | None = None,
        max_items: int | None = None,
    ) -> None:
        if max_items is not None and (not _is_count(max_items) or max_items < 0):
            raise ValueError(f"max_items must be an integer >= 0 or None, got {max_items!r}")
        self._pager = pager
        self._provider = provider
        self._key = key
        self._raw_codec = raw_codec
        self._resume_from = resume_from
        position_type = pager.position_type
        self._start: Position = (
            decode_checkpoint(
                resume_from, provider=provider, stream=key, position_type=position_type
            )
            if resume_from is not None
            else position_type()
        )
        self._max_items = max_items
        # Consumer-side state. Pages fully consumed are kept only as the position after them,
        # so their records are freed as soon as the consumer is done with them (while still
        # in cache, and before the next page is decoded into the memory they held).
        self._settled = self._start  # position after the pages fully consumed
        self._before_page = 0  # records in those pages
        self._current: FetchedPage[T] | None = None  # the page being consumed record by record
        self._progress: PageProgress[T] = NO_PAGE  # within ``_current``

    def __repr__(self) -> str:
        return f"<AsyncStream {self._provider} {self._key} consumed={self.consumed}>"

    # --- state ---------------------------------------------------------------------------

    @property
    def key(self) -> str:
        """Which listing this stream walks (provider-specific path with ids)."""
        return self._key

    @property
    def _item_type(self) -> Any:
        """The type each record is decoded to (a tail decodes its raw records to it)."""
        return self._pager.codec.item_type

    @property
    def consumed(self) -> int:
        """Records handed out so far."""
        return self._before_page + self._progress.taken

    @property
    def exhausted(self) -> bool:
        """True once the listing's end has been reached (not merely ``max_items``)."""
        return self._position().done

    def _position(self) -> Position:
        if self._current is None:
            return self._settled
        return self._current.position_after(self._progress.taken)

    @property
    def checkpoint(self) -> str:
        """Opaque token for the position after the last consumed record."""
        return encode_checkpoint(self._provider, self._key, self._position())

    # --- variants --------------------------------------------------------------------------

    def raw(self) -> AsyncStream[RawRecord]:
        """The same listing yielding :class:`RawRecord` (the server's exact bytes).

        Checkpoints are interchangeable between a stream and its ``raw()`` twin.
        """
        self._claim(check_only=True)
        return self._twin(self._pager.with_codec(self._raw_codec))

    def with_prefetch(self, pages: int) -> AsyncStream[T]:
        """The same listing fetching up to ``pages`` pages ahead (offset pagination only;
        ``0`` or ``1``: one page at a time). Fan-outs use this to bound requests in flight."""
        if isinstance(pages, bool) or not isinstance(pages, int) or pages < 0:
            raise ValueError(f"pages must be an integer >= 0, got {pages!r}")
        self._claim(check_only=True)
        pager = self._pager
        if isinstance(pager, OffsetPager):
            pager = dataclasses.replace(pager, prefetch=pages)
        return self._twin(pager)

    @property
    def prefetch_pages(self) -> int:
        """Pages fetched ahead (offset pagination; 0 for cursor pagination)."""
        pager = self._pager
        return pager.prefetch if isinstance(pager, OffsetPager) else 0

    def _set_prefetch(self, pages: int) -> None:
        """Change how many pages are fetched ahead, also while the stream is being consumed
        (takes effect when the next pages are planned). No effect on cursor pagination."""
        if isinstance(pages, bool) or not isinstance(pages, int) or pages < 0:
            raise ValueError(f"pages must be an integer >= 0, got {pages!r}")
        if isinstance(self._pager, OffsetPager):
            self._pager.prefetch = pages

    def _with_decode_gate(self, gate: DecodeGate) -> AsyncStream[T]:
        """The same listing, decoding each page only when ``gate`` (a fan-out's) is open."""
        self._claim(check_only=True)
        return self._twin(dataclasses.replace(self._pager, gate=gate))

    def _twin(self, pager: Pager[Any]) -> AsyncStream[Any]:
        return AsyncStream(
            pager,
            provider=self._provider,
            key=self._key,
            raw_codec=self._raw_codec,
            resume_from=self._resume_from,
            max_items=self._max_items,
        )

    # --- iteration -----------------------------------------------------------------------

    def _remaining(self) -> int | None:
        return None if self._max_items is None else self._max_items - self.consumed

    def _settle(self, fetched: FetchedPage[T], taken: int) -> None:
        """``taken`` records of ``fetched`` are consumed, and no more will be."""
        self._settled = fetched.position_after(taken)
        self._before_page += taken
        self._current, self._progress = None, NO_PAGE

    async def _records(self) -> AsyncGenerator[T, None]:
        if self._remaining() == 0:
            return
        fetching = self._pager.pages(self._start, max_items=self._max_items)
        finished = self._finished = asyncio.Event()
        limited = self._max_items is not None
        try:
            async for fetched in fetching:
                items = fetched.items
                remaining = self._remaining() if limited else None
                if remaining is not None and remaining < len(items):
                    items = items[:remaining]
                progress = PageProgress(items)
                self._current, self._progress = fetched, progress
                for item in progress:  # the hot loop: nothing else per record
                    yield item
                self._settle(fetched, len(items))
                del fetched, items, progress  # the page is freed here, not at the next one
                if limited and self._remaining() == 0:
                    return
        finally:
            try:
                await fetching.aclose()
            finally:
                finished.set()

    async def _pages(self) -> AsyncGenerator[Page[T], None]:
        if self._remaining() == 0:
            return
        fetching = self._pager.pages(self._start, max_items=self._max_items)
        finished = self._finished = asyncio.Event()
        number = 0
        try:
            async for fetched in fetching:
                number += 1
                remaining = self._remaining()
                size = len(fetched.items)
                take = size if remaining is None else min(remaining, size)
                items = fetched.items if take == len(fetched.items) else fetched.items[:take]
                self._settle(fetched, take)
                if isinstance(fetched, FetchedCursorPage):
                    next_url, offset, total = fetched.next_url, None, None
                else:
                    next_url, offset, total = None, fetched.start, fetched.total
                page = Page(
                    items=items,
                    number=number,
                    last=fetched.last and take == len(fetched.items),
                    _positions=_PagePositions(self._provider, self._key, fetched),
                    next_url=next_url,
                    offset=offset,
                    total=total,
                )
                del fetched, items  # the consumer's page is the only holder of its records
                yield page
                del page
                if self._remaining() == 0:
                    return
        finally:
            try:
                await fetching.aclose()
            finally:
                finished.set()


__all__ = ["AsyncStream", "Page"]
