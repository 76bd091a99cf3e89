"""A fetched page as the stream sees it: the records to yield and how to express positions.

One type per pagination style; both are msgspec structs (built in C, once per page) that
compute positions only when asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

import msgspec
from yarl import URL

from .._http import redact_url
from ._codec import record_id
from ._positions import CursorPosition, OffsetPosition

T = TypeVar("T")


class FetchedCursorPage(msgspec.Struct, Generic[T], kw_only=True):
    """A page of a cursor listing, with the records a checkpoint already covered skipped."""

    items: Sequence[T]  # the records to yield
    request_url: URL  # what was requested (``url`` is its redacted text)
    entry: CursorPosition  # position before the first record of ``items``
    last: bool  # no page follows
    page_url: str  # the URL that re-fetches this page
    next_url: str | None = None  # absolute
    skipped: int = 0  # records of the page skipped before ``items``
    next_followable: bool = True  # ``next_url`` is on the configured origin

    @property
    def url(self) -> str:
        """The page's URL as shown in messages (redacted; built only when asked)."""
        return redact_url(self.request_url)

    def position_after(self, consumed: int) -> CursorPosition:
        """The position once ``consumed`` records of ``items`` have been taken."""
        if consumed == 0:
            if self.last and not self.items:  # an empty final page: nothing is left
                return CursorPosition(anchor=self.entry.anchor, done=True)
            return self.entry
        anchor = record_id(self.items[consumed - 1])
        if consumed == len(self.items):
            if self.last:
                return CursorPosition(anchor=anchor, done=True)
            if self.next_url is not None and self.next_followable:
                return CursorPosition(url=self.next_url, anchor=anchor)
        # Otherwise re-fetch this page on resume: a refused next link (off-origin) must not
        # end up in a checkpoint, or resuming would be refused forever.
        return CursorPosition(url=self.page_url, anchor=anchor, in_page=self.skipped + consumed)


class FetchedOffsetPage(msgspec.Struct, Generic[T], kw_only=True):
    """A page of an offset listing, with the records already yielded skipped."""

    items: Sequence[T]  # the records to yield
    request_url: URL  # what was requested (``url`` is its redacted text)
    entry: OffsetPosition  # position before the first record of ``items``
    last: bool  # no page follows
    start: int  # offset of items[0] in the listing
    total: int | None = None

    @property
    def url(self) -> str:
        """The page's URL as shown in messages (redacted; built only when asked)."""
        return redact_url(self.request_url)

    def position_after(self, consumed: int) -> OffsetPosition:
        """The position once ``consumed`` records of ``items`` have been taken."""
        if consumed == 0:
            if self.last and not self.items:  # an empty final page: nothing is left
                return OffsetPosition(anchor=self.entry.anchor, done=True)
            return self.entry
        anchor = record_id(self.items[consumed - 1])
        if consumed == len(self.items) and self.last:
            return OffsetPosition(anchor=anchor, done=True)
        return OffsetPosition(offset=self.start + consumed, anchor=anchor, total=self.total)


FetchedPage = FetchedCursorPage[T] | FetchedOffsetPage[T]
"""A fetched page of either pagination style."""

__all__ = ["FetchedCursorPage", "FetchedOffsetPage", "FetchedPage"]
