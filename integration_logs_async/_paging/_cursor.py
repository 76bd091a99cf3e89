"""The cursor engine: walks a listing by following the link each page gives to the next.

A checkpoint stores the page URL and the id of the last record consumed; resume re-fetches
that page and skips through that id. If new records pushed the anchor to a later page of
the head, it is searched for forward. Links are followed as given (absolute, or resolved
against the page's URL), and only on the configured origin.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

import msgspec
from yarl import URL

from .._http import AsyncTransport, Body, DecodeGate, Links
from ..errors import PaginationError, UnsafeURLError
from ._codec import RecordCodec, index_of
from ._fetched import FetchedCursorPage
from ._positions import CursorPosition, Position
from ._styles import CursorPageView, CursorStyle

T = TypeVar("T")
U = TypeVar("U")


def _next_in_header(links: Links | None, shown: str) -> str | None:
    """The ``rel="next"`` URL of a page's ``Link`` header (a ``rel`` may list several
    relations), or None; :class:`PaginationError` when the header is unreadable."""
    if links is None:
        raise PaginationError(
            f"the Link header of {shown} is not a list of '<URL>; rel=...' links (RFC 8288), "
            "so where the next page is cannot be told; stopping instead of guessing. Report "
            "this to the provider."
        )
    for relations, link in links.items():
        if "next" in relations.lower().split():  # relation types are case-insensitive
            url = link.get("url")
            return None if url is None else str(url)
    return None


def _absolute(page_url: URL, link: str) -> str:
    """``link`` made absolute against ``page_url`` when it can be (it is shown, not followed)."""
    if link.startswith(("http://", "https://")):
        return link
    try:
        return str(page_url.join(URL(link, encoded=True)))
    except (TypeError, ValueError):
        return link


@dataclass(frozen=True)
class CursorPager(Generic[T]):
    """Walks one cursor listing (``path`` with ``params``), decoding items with ``codec``."""

    position_type: ClassVar[type[CursorPosition]] = CursorPosition

    transport: AsyncTransport
    path: str
    params: dict[str, str]
    codec: RecordCodec[T]
    style: CursorStyle
    gate: DecodeGate | None = None  # a fan-out child's: decode only when the consumer is near

    def with_codec(self, codec: RecordCodec[U]) -> CursorPager[U]:
        """The same listing, decoding items with ``codec``."""
        return CursorPager(self.transport, self.path, self.params, codec, self.style, self.gate)

    def head_url(self) -> URL:
        """URL of the first page."""
        url = self.transport.origin.resolve(self.path)
        return url.update_query(self.params) if self.params else url

    def _decode(self) -> Callable[[Body], CursorPageView]:
        style = self.style
        decoder = style.decoder(self.codec.item_type)
        convert = self.codec.converter()
        items, in_body, expected = style.items, style.next_in_body, style.expected

        # Items are converted here, while the body is still in its receive buffer.
        def decode(body: Body) -> CursorPageView:
            try:
                page = decoder.decode(body)
            except msgspec.ValidationError as exc:
                if not expected:
                    raise
                raise msgspec.ValidationError(f"{exc}; expected {expected}") from None
            return CursorPageView(convert(items(page)), None if in_body is None else in_body(page))

        return decode

    async def pages(
        self, start: Position, *, max_items: int | None
    ) -> AsyncGenerator[FetchedCursorPage[T], None]:
        """Pages from ``start`` on, skipping records a checkpoint already covered."""
        del max_items  # cursor pages are fetched one at a time; nothing to plan
        if not isinstance(start, CursorPosition):
            raise TypeError(f"a {type(start).__name__} is not a position in this listing")
        if start.done:
            return
        decode = self._decode()
        in_header = self.style.next_in_link_header
        origin = self.transport.origin
        head_url = self.head_url()
        head = str(head_url)
        # A checkpoint's URL is checked again: the configured origin may have changed.
        target: URL = origin.resolve(start.url) if start.url else head_url
        url: str | None = start.url or head
        anchor = start.anchor if start.url is not None else None
        searching = False  # scanning forward for the anchor after the head page grew
        seen: set[str] = set()
        entry = start
        refused: UnsafeURLError | None = None  # the next link, if it may not be followed
        while url is not None:
            if refused is not None:
                raise refused
            if url in seen:
                raise PaginationError(
                    f"the provider's next link repeats a page already fetched ({url}); "
                    "stopping instead of looping. Report this to the provider."
                )
            seen.add(url)
            resp = await self.transport.get(target, decode=decode, gate=self.gate)
            page = resp.value
            link = _next_in_header(resp.links, resp.url) if in_header else page.next_link
            if link is not None:
                try:  # resolved against this page's URL, parsed and checked in one go
                    target = origin.follow(target, link)
                    if not link.startswith(("http://", "https://")):
                        link = str(target)  # relative: absolute from here on
                except UnsafeURLError as exc:
                    # The page's records are still handed out; the error is raised when the
                    # stream goes on, and no checkpoint names the refused link.
                    refused = exc
                    link = _absolute(target, link)
            followable = refused is None
            skip = 0
            if anchor is not None:
                idx = index_of(page.items, anchor)
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
            if searching and link is None:
                raise PaginationError(
                    f"cannot resume: record {start.anchor!r} named by the checkpoint was not "
                    "found in the listing; restart the stream without resume_from."
                )
            if not searching:
                fetched = FetchedCursorPage(
                    items=page.items[skip:] if skip else page.items,
                    request_url=resp.request_url,
                    entry=entry,
                    last=link is None,
                    page_url=url,
                    next_url=link,
                    skipped=skip,
                    next_followable=followable,
                )
                yield fetched
                entry = (
                    fetched.position_after(len(fetched.items))
                    if fetched.items
                    else CursorPosition(url=link, anchor=entry.anchor)
                )
                del fetched
            url = link
            del page, resp  # hold no record while the next page is fetched


__all__ = ["CursorPager"]
