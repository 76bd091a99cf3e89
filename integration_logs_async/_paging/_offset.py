"""The offset engine: walks a ``limit``/``offset`` listing (Elastic Path).

Every page after the first overlaps the previous one by one record (``offset = next - 1``).
The overlapping record must be the last one yielded; if records arrived at the head and
shifted the listing, it is found further in and the duplicates before it are skipped; if it
is missing, the page is re-fetched and the shift computed from the totals. With a known
total, later pages are fetched ahead concurrently (``prefetch``).
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import msgspec
from yarl import URL

from .._http import AsyncTransport, Body, DecodeGate, redact_url
from ..errors import BadRequestError, OffsetCeilingError, PaginationError
from ._codec import RecordCodec, index_of, record_id
from ._fetched import FetchedOffsetPage
from ._positions import OffsetPosition, Position
from ._styles import OffsetPageView, OffsetStyle

T = TypeVar("T")
U = TypeVar("U")

_MAX_STALLED_PAGES = 3


class _OffsetFetch(msgspec.Struct, Generic[T]):
    offset: int
    page: OffsetPageView
    request_url: URL

    @property
    def url(self) -> str:
        return redact_url(self.request_url)


@dataclass
class OffsetPager(Generic[T]):
    """Walks an Elastic Path-style ``page[limit]``/``page[offset]`` listing."""

    position_type: ClassVar[type[OffsetPosition]] = OffsetPosition

    transport: AsyncTransport
    path: str
    params: dict[str, str]
    codec: RecordCodec[T]
    style: OffsetStyle
    page_size: int
    prefetch: int
    gate: DecodeGate | None = None  # a fan-out child's: decode only when the consumer is near

    def with_codec(self, codec: RecordCodec[U]) -> OffsetPager[U]:
        """The same listing, decoding items with ``codec``."""
        return OffsetPager(
            self.transport,
            self.path,
            self.params,
            codec,
            self.style,
            self.page_size,
            self.prefetch,
            self.gate,
        )

    @property
    def _limit(self) -> int:
        # Pages overlap by one record, so a page must hold at least two to make progress.
        return max(2, self.page_size)

    def _decode(self) -> Callable[[Body], OffsetPageView]:
        decoder = self.style.decoder(self.codec.item_type)
        convert = self.codec.converter()
        read = self.style.read

        # Items are converted here, while the body is still in its receive buffer.
        def decode(body: Body) -> OffsetPageView:
            page = read(decoder.decode(body))
            page.items = convert(page.items)
            return page

        return decode

    @functools.cached_property
    def _listing_url(self) -> URL:
        return self.transport.origin.resolve(self.path)

    async def _fetch(
        self, decode: Callable[[Body], OffsetPageView], offset: int
    ) -> _OffsetFetch[T]:
        style = self.style
        url = self._listing_url.update_query(
            {**self.params, style.limit_param: str(self._limit), style.offset_param: str(offset)}
        )
        try:
            resp = await self.transport.get(url, decode=decode, gate=self.gate)
        except BadRequestError as exc:
            ceiling = style.ceiling
            if (
                ceiling is not None
                and offset >= ceiling
                and not isinstance(exc, OffsetCeilingError)
            ):
                raise OffsetCeilingError.from_error(
                    exc, ceiling=ceiling, hint=style.ceiling_hint
                ) from None
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
        decode: Callable[[Body], OffsetPageView],
        got: _OffsetFetch[T],
        anchor: str,
        known_total: int | None,
    ) -> tuple[_OffsetFetch[T], int]:
        """Find ``anchor`` in ``got`` or in a fresh fetch shifted by the growth in total."""
        idx = index_of(got.page.items, anchor)
        if idx is not None:
            return got, idx
        fresh = await self._fetch(decode, got.offset)
        idx = index_of(fresh.page.items, anchor)
        if idx is not None:
            return fresh, idx
        if fresh.page.total is not None and known_total is not None:
            shift = fresh.page.total - known_total
            if shift > 0:
                shifted = await self._fetch(decode, got.offset + shift)
                idx = index_of(shifted.page.items, anchor)
                if idx is not None:
                    return shifted, idx
        raise PaginationError(
            f"record {anchor!r} expected at offset {got.offset} of {fresh.url} is gone: the "
            "listing changed in a way that cannot be reconciled (records removed or more than "
            "a page added at once). Resume from the last checkpoint or restart the stream."
        )

    async def pages(
        self, start: Position, *, max_items: int | None
    ) -> AsyncGenerator[FetchedOffsetPage[T], None]:
        """Pages from ``start`` on; later pages prefetched when the total is known."""
        if not isinstance(start, OffsetPosition):
            raise TypeError(f"a {type(start).__name__} is not a position in this listing")
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
                fetched = FetchedOffsetPage(
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
                found = index_of(got.page.items, anchor)
                if found is None:  # listing shifted under concurrent fetches: go sequential
                    await self._cancel_and_wait(planned)
                    got, found = await self._locate(decode, got, anchor, total)
                skip = found + 1
        finally:
            await self._cancel_and_wait(planned)

    def _plan(
        self,
        decode: Callable[[Body], OffsetPageView],
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


__all__ = ["OffsetPager"]
