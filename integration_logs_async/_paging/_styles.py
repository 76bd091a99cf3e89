"""Declarative descriptions of the two pagination styles, filled in by each provider.

The engine (:mod:`._cursor`, :mod:`._offset`) knows how to walk a listing of each style; a
provider says, as data and small pure functions, what its pages look like: the wire type
of a page, where its items are, and where the next page is (a body field, a ``Link``
header) or how large the collection is.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from .._time import AwareDecoder


class CursorPageView(msgspec.Struct, gc=False):
    """What the cursor engine needs from one page: its records and the link to the next.

    (A msgspec struct: built in C, once per page.)
    """

    items: list[Any]
    next_link: str | None = None  # as sent: absolute, or relative to the page's URL


class OffsetPageView(msgspec.Struct, gc=False):
    """What the offset engine needs from one page: its items and the sizes the server gave."""

    items: list[Any]
    total: int | None  # records in the whole collection
    limit: int | None  # page size the server applied


@dataclass(frozen=True, slots=True)
class CursorStyle:
    """A listing walked by following the link each page gives to the next.

    ``wire(item_type)`` is the msgspec type of a page holding items of ``item_type``;
    ``items(page)`` its records. The next page's link is in the body (``next_in_body(page)``)
    or, with ``next_in_link_header``, the ``Link`` header's ``rel="next"`` (RFC 8288, as
    aiohttp parses it); no link: the last page. ``expected`` says in words what a page looks
    like and what to check when a body is not one (e.g. a base URL of another API version).
    """

    wire: Callable[[Any], Any]
    items: Callable[[Any], list[Any]]
    next_in_body: Callable[[Any], str | None] | None = None
    next_in_link_header: bool = False
    expected: str = ""

    def decoder(self, item_type: Any) -> AwareDecoder[Any]:
        """The decoder of pages holding ``item_type`` (built once per item type)."""
        return _decoder(self.wire, item_type)


@dataclass(frozen=True, slots=True)
class OffsetStyle:
    """A listing walked by ``limit``/``offset`` query parameters.

    ``read(page)`` takes a decoded page to an :class:`OffsetPageView`. ``ceiling``: the offset
    from which the provider may refuse a listing (a 400 there becomes
    :class:`~integration_logs_async.OffsetCeilingError` with ``ceiling_hint``).
    """

    wire: Callable[[Any], Any]
    read: Callable[[Any], OffsetPageView]
    limit_param: str
    offset_param: str
    ceiling: int | None = None
    ceiling_hint: str | None = None

    def decoder(self, item_type: Any) -> AwareDecoder[Any]:
        """The decoder of pages holding ``item_type`` (built once per item type)."""
        return _decoder(self.wire, item_type)


@functools.cache
def _decoder(wire: Callable[[Any], Any], item_type: Any) -> AwareDecoder[Any]:
    return AwareDecoder(wire(item_type))


__all__ = ["CursorPageView", "CursorStyle", "OffsetPageView", "OffsetStyle"]
