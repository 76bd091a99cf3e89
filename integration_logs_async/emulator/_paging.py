"""Elastic Path offset pagination: ``page[limit]``/``page[offset]``, ``meta`` and ``links``.

Follows the reference pagination and links guides: offsets count records and
are zero-based, ``links`` hold absolute URLs with ``first``/``current`` always
set, ``last`` null when there is a single page, ``prev``/``next`` null at the
ends.  aiohttp decodes the query, so raw brackets and ``page%5Blimit%5D`` are
the same parameter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from ._config import MetaStyle

LIMIT = "page[limit]"
OFFSET = "page[offset]"


class PageError(ValueError):
    """A bad ``page[...]`` parameter; the message is the error detail."""


@dataclass(frozen=True, slots=True)
class PageRequest:
    """The requested ``limit`` and zero-based record ``offset``."""

    limit: int
    offset: int


def _integer(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise PageError(f"{name} must be an integer") from None


def parse_page(
    query: dict[str, str], default: int, maximum: int, ceiling: int | None
) -> PageRequest:
    """Read and check the page parameters of a query; raises :class:`PageError`."""
    limit = _integer(query.get(LIMIT, str(default)), LIMIT)
    offset = _integer(query.get(OFFSET, "0"), OFFSET)
    if not 1 <= limit <= maximum:
        raise PageError(f"{LIMIT} must be between 1 and {maximum}")
    if offset < 0:
        raise PageError(f"{OFFSET} must not be negative")
    if ceiling is not None and offset > ceiling:
        raise PageError(
            f"{OFFSET} must not exceed {ceiling}: page through larger collections by "
            "filtering and sorting instead"
        )
    return PageRequest(limit, offset)


def page_links(
    base: str,
    others: Iterable[tuple[str, str]],
    page: PageRequest,
    total: int,
    next_base: str | None = None,
) -> dict[str, str | None]:
    """The ``links`` object; ``next_base`` replaces ``base`` in the ``next`` link."""
    extra = urlencode(list(others))
    prefix = f"?{extra}&" if extra else "?"

    def link(offset: int, origin: str = base) -> str:
        return f"{origin}{prefix}{LIMIT}={page.limit}&{OFFSET}={offset}"

    pages = -(-total // page.limit)
    has_next = page.offset + page.limit < total
    return {
        "current": link(page.offset),
        "first": link(0),
        "last": link((pages - 1) * page.limit) if pages > 1 else None,
        "prev": link(max(0, page.offset - page.limit)) if page.offset > 0 else None,
        "next": link(page.offset + page.limit, next_base or base) if has_next else None,
    }


def page_meta(page: PageRequest, total: int, style: MetaStyle) -> dict[str, Any]:
    """``meta`` (and for the flat style the top-level ``results``) of a listing."""
    numbers = {
        "limit": page.limit,
        "offset": page.offset,
        "current": page.offset // page.limit + 1,
        "total": -(-total // page.limit),
    }
    if style == "nested":
        return {"meta": {"page": numbers, "results": {"total": total}}}
    return {"meta": numbers, "results": {"total": total}}
