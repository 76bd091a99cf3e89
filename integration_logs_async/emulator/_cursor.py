"""Sendcloud keyset cursors, in the style of Django REST framework's ``CursorPagination``.

A cursor is ``base64("p=<id>")`` for "ids strictly below <id>" (forward) or
``base64("r=1&p=<id>")`` for "ids strictly above <id>" (backward).  Pages are
windows over a scope's ids in ascending order and are served newest first, so
logs created while a client walks forward never shift the pages it has left.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qs, urlencode


class InvalidCursor(ValueError):
    """The ``cursor`` query parameter is not one this server issued."""


@dataclass(frozen=True, slots=True)
class Cursor:
    """A keyset position: ids below ``position`` (or above it, when ``reverse``)."""

    position: int
    reverse: bool = False

    def encode(self) -> str:
        """The opaque query-parameter value."""
        query = urlencode({"r": "1", "p": self.position} if self.reverse else {"p": self.position})
        return base64.b64encode(query.encode()).decode()

    @classmethod
    def decode(cls, value: str) -> Cursor:
        """Parse a value made by :meth:`encode`; raises :class:`InvalidCursor`."""
        try:
            query = base64.b64decode(value.encode(), validate=True).decode()
            fields = parse_qs(query, keep_blank_values=True, strict_parsing=True)
            position = int(fields["p"][0])
            reverse = fields.get("r", ["0"])[0] == "1"
        except (binascii.Error, UnicodeError, ValueError, KeyError) as exc:
            raise InvalidCursor(value) from exc
        return cls(position, reverse)


@dataclass(frozen=True, slots=True)
class Window:
    """Positions ``[lo, hi)`` of an ascending scope, and the neighbouring cursors."""

    lo: int
    hi: int
    next: Cursor | None
    previous: Cursor | None


class KeysetScope(Protocol):
    """A set of records ordered by ascending id."""

    def __len__(self) -> int: ...

    def id_at(self, k: int) -> int:
        """The k-th smallest id."""
        ...

    def count_below(self, log_id: int) -> int:
        """How many ids are ``< log_id``."""
        ...

    def count_up_to(self, log_id: int) -> int:
        """How many ids are ``<= log_id``."""
        ...


def window(scope: KeysetScope, cursor: Cursor | None, page_size: int) -> Window:
    """The page a cursor designates in ``scope`` (None = the newest page)."""
    count = len(scope)
    if cursor is None:
        hi = count
        lo = max(0, hi - page_size)
    elif not cursor.reverse:
        hi = scope.count_below(cursor.position)
        lo = max(0, hi - page_size)
    else:
        lo = scope.count_up_to(cursor.position)
        hi = min(count, lo + page_size)
    next_cursor = previous = None
    if lo > 0:  # older records exist: continue below the oldest one shown
        next_cursor = Cursor(scope.id_at(lo) if lo < hi else scope.id_at(lo - 1) + 1)
    if hi < count:  # newer records exist: go back above the newest one shown
        newest = scope.id_at(hi - 1) if lo < hi else scope.id_at(hi) - 1
        previous = Cursor(newest, reverse=True)
    return Window(lo, hi, next_cursor, previous)
