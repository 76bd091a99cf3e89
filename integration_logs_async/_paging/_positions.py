"""Where a stream stands in a listing: one position type per pagination style.

A position is what a checkpoint stores. Anchoring on the id of the last record consumed is
what keeps resume exact when new records arrive at the head of a listing.
"""

from __future__ import annotations

import msgspec


class CursorPosition(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A position in a listing walked by following links (Sendcloud).

    ``url`` is the page to (re)fetch (None: the first page); ``anchor`` the id of the last
    record consumed; ``in_page`` how many records of ``url``'s page were consumed (0 when
    the position is a page boundary). ``done``: nothing is left.
    """

    url: str | None = None
    anchor: str | None = None
    in_page: int = 0
    done: bool = False


class OffsetPosition(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A position in a listing walked by ``limit``/``offset`` (Elastic Path).

    ``offset`` counts the records consumed from the start of the listing; ``anchor`` is the
    id of the last one and ``total`` the collection size when it was consumed (to find the
    anchor again if records arrived at the head). ``done``: nothing is left.
    """

    offset: int = 0
    anchor: str | None = None
    total: int | None = None
    done: bool = False


Position = CursorPosition | OffsetPosition
"""A position of either pagination style."""

__all__ = ["CursorPosition", "OffsetPosition", "Position"]
