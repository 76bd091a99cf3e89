"""The pagination engine: two pagers (cursor, offset) that turn requests into pages.

A pager knows how to walk one listing and how to restart it from a :class:`Position`; the
stream on top (``stream.py``) counts consumed records and mints checkpoints. Records are
identified by their provider id, which is what makes resume exact:

* cursor (Sendcloud): follow the absolute ``next`` URL; a checkpoint stores the page URL and
  the id of the last record consumed; resume re-fetches that page and skips through that id.
* offset (Elastic Path): every page after the first overlaps the previous one by one record
  (``page[offset] = next - 1``). The overlapping record must be the last one yielded; if
  records arrived at the head and shifted the listing, it is found further in and the
  duplicates before it are skipped; if it is missing, the page is re-fetched and the shift
  computed from the totals. With a known total, later pages are fetched ahead concurrently.
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
from yarl import URL

from ._body_buffers import Body
from ._checkpoint import Position
from ._constants import ELASTICPATH_OFFSET_CEILING
from ._decode_gate import DecodeGate
from ._redact import redact_url
from ._transport import AsyncTransport
from .errors import BadRequestError, OffsetCeilingError, PaginationError, UnsafeURLError
from .models._time import AwareDecoder
from .models.elasticpath import ListPage
from .models.sendcloud import CursorPage
from .records import RecordCodec, record_id

T = TypeVar("T")
U = TypeVar("U")

_MAX_STALLED_PAGES = 3


class WirePage(msgspec.Struct, Generic[T]):
    """A decoded page, normalised across providers.

    This and :class:`FetchedPage` are msgspec structs, not dataclasses: built in C, once per
    page (a frozen dataclass's ``__init__`` costs ~2 us).
    """

    items: list[T]
    next_url: str | None = None
    total: int | None = None  # records in the whole collection
    limit: int | None = None  # page size the server applied


class FetchedPage(msgspec.Struct, Generic[T], kw_only=True):
    """A page as the stream sees it: the records to yield and how to express positions."""

    items: Sequence[T]  # the records to yield (already-consumed ones skipped)
    request_url: URL  # what was requested (``url`` is its redacted text)
    entry: Position  # position before the first record of ``items``
    last: bool  # no page follows
    next_url: str | None = None  # cursor only
    start: int = 0  # offset of items[0] in the listing (offset only)
    total: int | None = None
    cursor_skip: int = 0  # cursor only: records of the page skipped before ``items``
    page_url: str | None = None  # cursor only: the URL that re-fetches this page
    next_followable: bool = True  # cursor only: ``next_url`` is on the configured origin

    @property
    def url(self) -> str:
        """The page's URL as shown in messages (redacted; built only when asked)."""
        return redact_url(self.request_url)

    def position_after(self, consumed: int) -> Position:
        """The position once ``consumed`` records of ``items`` have been taken."""
        if consumed == 0:
            if self.last and not self.items:  # an empty final page: nothing is left
                return Position(anchor=self.entry.anchor, done=True)
            return self.entry
        anchor = record_id(self.items[consumed - 1])
        if consumed == len(self.items) and self.last:
            return Position(anchor=anchor, done=True)
        if self.page_url is not None:  # cursor
            if consumed == len(self.items) and self.next_url is not None and self.next_followable:
                return Position(url=self.next_url, anchor=anchor)
            # Otherwise re-fetch this page on resume: a refused next link (off-origin) must not
            # end up in a checkpoint, or resuming would be refused forever.
            return Position(url=self.page_url, anchor=anchor, in_page=self.cursor_skip + consumed)
        return Position(offset=self.start + consumed, anchor=anchor, total=self.total)


@functools.cache
def _decoder(wire_type: Any) -> AwareDecoder[Any]:
    return AwareDecoder(wire_type)


def _converter(codec: RecordCodec[T]) -> Callable[[list[Any]], list[T]]:
    convert = codec.convert
    if convert is None:
        return lambda items: items
    return lambda items: [convert(x) for x in items]


def _index_of(items: Sequence[Any], anchor: str) -> int | None:
    for i, item in enumerate(items):
        if record_id(item) == anchor:
            return i
    return None


# --- cursor ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CursorPager(Generic[T]):
    """Walks a Sendcloud-style listing by following absolute ``next`` URLs."""

    transport: AsyncTransport
    path: str
    params: dict[str, str]
    codec: RecordCodec[T]
    gate: DecodeGate | None = None  # a fan-out child's: decode only when the consumer is near

    def with_codec(self, codec: RecordCodec[U]) -> CursorPager[U]:
        """The same listing, decoding items with ``codec``."""
        return CursorPager(self.transport, self.path, self.params, codec, self.gate)

    def head_url(self) -> str:
        """URL of the first page."""
        url = self.transport.resolve(self.path)
        return str(url.update_query(self.params) if self.params else url)

    def _decode(self) -> Callable[[Body], WirePage[T]]:
        wire: Any = CursorPage
        decoder = _decoder(wire[self.codec.item_type])
        convert = _converter(self.codec)

        def decode(body: Body) -> WirePage[T]:
            page = decoder.decode(body)
            return WirePage(convert(page.results), next_url=page.next)

        return decode

    def _followable(self, url: str) -> URL | None:
        """``url`` parsed when it may be followed; None when it would be refused (it is, with
        the error, if the stream goes on to follow it)."""
        try:
            return self.transport.resolve(url)
        except UnsafeURLError:
            return None

    async def pages(
        self, start: Position, *, max_items: int | None
    ) -> AsyncGenerator[FetchedPage[T], None]:
        """Pages from ``start`` on, skipping records a checkpoint already covered."""
        del max_items  # cursor pages are fetched one at a time; nothing to plan
        if start.done:
            return
        decode = self._decode()
        head = self.head_url()
        url: str | None = start.url or head
        anchor = start.anchor if start.url is not None else None
        searching = False  # scanning forward for the anchor after the head page grew
        seen: set[str] = set()
        entry = start
        next_target: URL | None = None  # ``url`` already parsed and checked
        while url is not None:
            if url in seen:
                raise PaginationError(
                    f"the provider's next link repeats a page already fetched ({url}); "
                    "stopping instead of looping. Report this to the provider."
                )
            seen.add(url)
            # raises UnsafeURLError off-origin
            target = next_target if next_target is not None else self.transport.resolve(url)
            resp = await self.transport.get(target, decode=decode, resolved=True, gate=self.gate)
            page = resp.value
            if page.next_url is not None and not page.next_url.startswith(("http://", "https://")):
                page.next_url = str(self.transport.join_link(target, page.next_url))
            next_target = None if page.next_url is None else self._followable(page.next_url)
            followable = page.next_url is None or next_target is not None
            skip = 0
            if anchor is not None:
                idx = _index_of(page.items, anchor)
                if idx is not None:
                    skip, anchor, searching = idx + 1, None, False
                elif searching or (start.in_page > 0 and url == head):
                    searching = True  # new records pushed the anchor to a later page
                    skip = len(page.items)
                elif start.in_page > 0:
                    raise PaginationError(
                        f"cannot resume: the page {resp.url} no longer holds record {anchor!r} "
                        "named by the checkpoint; restart the stream without resume_from."
                    )
                else:
                    anchor = None  # checkpoint taken at a page boundary
            if searching and page.next_url is None:
                raise PaginationError(
                    f"cannot resume: record {start.anchor!r} named by the checkpoint was not "
                    "found in the listing; restart the stream without resume_from."
                )
            if not searching:
                fetched = FetchedPage(
                    items=page.items[skip:] if skip else page.items,
                    request_url=resp.request_url,
                    entry=entry,
                    last=page.next_url is None,
                    next_url=page.next_url,
                    cursor_skip=skip,
                    page_url=url,
                    next_followable=followable,
                )
                yield fetched
                entry = (
                    fetched.position_after(len(fetched.items))
                    if fetched.items
                    else Position(url=page.next_url, anchor=entry.anchor)
                )
                del fetched
            url = page.next_url
            del page, resp  # hold no record while the next page is fetched


# --- offset ------------------------------------------------------------------------------------


class _OffsetFetch(msgspec.Struct, Generic[T]):
    offset: int
    page: WirePage[T]
    request_url: URL

    @property
    def url(self) -> str:
        return redact_url(self.request_url)


@dataclass
class OffsetPager(Generic[T]):
    """Walks an Elastic Path-style ``page[limit]``/``page[offset]`` listing."""

    transport: AsyncTransport
    path: str
    params: dict[str, str]
    codec: RecordCodec[T]
    page_size: int
    prefetch: int
    gate: DecodeGate | None = None  # a fan-out child's: decode only when the consumer is near

    def with_codec(self, codec: RecordCodec[U]) -> OffsetPager[U]:
        """The same listing, decoding items with ``codec``."""
        return OffsetPager(
            self.transport, self.path, self.params, codec, self.page_size, self.prefetch, self.gate
        )

    @property
    def _limit(self) -> int:
        # Pages overlap by one record, so a page must hold at least two to make progress.
        return max(2, self.page_size)

    def _decode(self) -> Callable[[Body], WirePage[T]]:
        wire: Any = ListPage
        decoder = _decoder(wire[self.codec.item_type])
        convert = _converter(self.codec)

        def decode(body: Body) -> WirePage[T]:
            page = decoder.decode(body)
            meta = page.meta
            total = page.results.total if page.results else None
            limit = None
            if meta is not None:
                if total is None and meta.results is not None:
                    total = meta.results.total
                limit = meta.page.limit if meta.page is not None else meta.limit
            return WirePage(convert(page.data), total=total, limit=limit)

        return decode

    @functools.cached_property
    def _listing_url(self) -> URL:
        return self.transport.resolve(self.path)

    async def _fetch(self, decode: Callable[[Body], WirePage[T]], offset: int) -> _OffsetFetch[T]:
        url = self._listing_url.update_query(
            {**self.params, "page[limit]": str(self._limit), "page[offset]": str(offset)}
        )
        try:
            resp = await self.transport.get(url, decode=decode, resolved=True, gate=self.gate)
        except BadRequestError as exc:
            if offset >= ELASTICPATH_OFFSET_CEILING and not isinstance(exc, OffsetCeilingError):
                raise OffsetCeilingError.from_error(exc) from None
            raise
        return _OffsetFetch(offset, resp.value, resp.request_url)

    def _is_last(self, got: _OffsetFetch[T]) -> bool:
        page = got.page
        if not page.items:
            return True
        if page.total is not None:  # the collection size is the authority when it is given
            return got.offset + len(page.items) >= page.total
        effective = page.limit or self._limit
        return len(page.items) < min(effective, self._limit)

    async def _locate(
        self,
        decode: Callable[[Body], WirePage[T]],
        got: _OffsetFetch[T],
        anchor: str,
        known_total: int | None,
    ) -> tuple[_OffsetFetch[T], int]:
        """Find ``anchor`` in ``got`` or in a fresh fetch shifted by the growth in total."""
        idx = _index_of(got.page.items, anchor)
        if idx is not None:
            return got, idx
        fresh = await self._fetch(decode, got.offset)
        idx = _index_of(fresh.page.items, anchor)
        if idx is not None:
            return fresh, idx
        if fresh.page.total is not None and known_total is not None:
            shift = fresh.page.total - known_total
            if shift > 0:
                shifted = await self._fetch(decode, got.offset + shift)
                idx = _index_of(shifted.page.items, anchor)
                if idx is not None:
                    return shifted, idx
        raise PaginationError(
            f"record {anchor!r} expected at offset {got.offset} of {fresh.url} is gone: the "
            "listing changed in a way that cannot be reconciled (records removed or more than "
            "a page added at once). Resume from the last checkpoint or restart the stream."
        )

    async def pages(
        self, start: Position, *, max_items: int | None
    ) -> AsyncGenerator[FetchedPage[T], None]:
        """Pages from ``start`` on; later pages prefetched when the total is known."""
        if start.done:
            return
        decode = self._decode()
        planned: deque[tuple[int, asyncio.Task[_OffsetFetch[T]]]] = deque()
        try:
            anchor = start.anchor
            first_offset = (
                start.offset - 1 if anchor is not None and start.offset > 0 else start.offset
            )
            got = await self._fetch(decode, first_offset)
            skip = 0
            if anchor is not None:
                got, idx = await self._locate(decode, got, anchor, start.total)
                skip = idx + 1
            total = got.page.total
            limit_stop = None if max_items is None else got.offset + skip + max_items
            entry = start
            stalled = 0
            plan_from = 0
            while True:
                items = got.page.items
                last = self._is_last(got)
                fetched = FetchedPage(
                    items=items[skip:] if skip else items,
                    request_url=got.request_url,
                    entry=entry,
                    last=last,
                    start=got.offset + skip,
                    total=got.page.total,
                )
                stalled = stalled + 1 if not fetched.items else 0
                if stalled > _MAX_STALLED_PAGES:
                    raise PaginationError(
                        f"{got.url} returned no new records {stalled} times in a row; the "
                        "provider's paging is not advancing. Report this to the provider."
                    )
                yield fetched
                if last:
                    return
                entry = fetched.position_after(len(fetched.items)) if fetched.items else entry
                anchor = record_id(items[-1])
                next_start = got.offset + len(items)
                if got.page.total is not None:
                    total = got.page.total
                if not planned:
                    plan_from = next_start
                # Plan with the page length the server applied (it may cap page[limit]).
                step = max(1, min(self._limit, len(items)) - 1)
                # Hold no record while the next page is fetched: the consumer frees them.
                del fetched, items, got
                if not planned and (self.prefetch <= 1 or total is None):
                    got = await self._fetch(decode, plan_from - 1)  # one at a time: no task
                    plan_from += step
                else:
                    prefetch = total is not None
                    plan_from = self._plan(
                        decode, planned, plan_from, total, limit_stop, step, prefetch=prefetch
                    )
                    if not planned:
                        return
                    _, task = planned.popleft()
                    got = await task
                found = _index_of(got.page.items, anchor)
                if found is None:  # listing shifted under concurrent fetches: go sequential
                    await self._cancel_and_wait(planned)
                    got, found = await self._locate(decode, got, anchor, total)
                skip = found + 1
        finally:
            await self._cancel_and_wait(planned)

    def _plan(
        self,
        decode: Callable[[Body], WirePage[T]],
        planned: deque[tuple[int, asyncio.Task[_OffsetFetch[T]]]],
        plan_from: int,
        total: int | None,
        limit_stop: int | None,
        step: int,
        *,
        prefetch: bool,
    ) -> int:
        """Schedule fetches of the pages after ``plan_from``; return the next unplanned start."""
        depth = max(1, self.prefetch) if prefetch else 1
        while len(planned) < depth:
            if planned and total is not None and plan_from >= total:
                break
            if planned and limit_stop is not None and plan_from >= limit_stop:
                break
            offset = plan_from - 1
            task = asyncio.create_task(self._fetch(decode, offset))
            planned.append((offset, task))
            plan_from += step
        return plan_from

    async def _cancel_and_wait(
        self, planned: deque[tuple[int, asyncio.Task[_OffsetFetch[Any]]]]
    ) -> None:
        tasks = [task for _, task in planned]
        planned.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


Pager = CursorPager[T] | OffsetPager[T]
