"""How Elastic Path pages its listings, for the offset engine.

JSON:API pages ``{"data", "meta", "links"}`` walked by ``page[limit]``/``page[offset]``;
the collection size is ``meta.results.total`` (or a flat ``meta.total``), the page size the
server applied ``meta.page.limit`` (or ``meta.limit``). Elastic Path documents a soft ceiling
of 10,000 for ``page[offset]`` in one listing.
"""

from __future__ import annotations

from typing import Any

from ..._paging import OffsetPageView, OffsetStyle
from ._models import ListPage

OFFSET_CEILING = 10_000
"""Elastic Path's documented soft ceiling of ``page[offset]`` for one listing."""

CEILING_HINT = (
    "The listing is longer than the provider lets one walk by offset. Read it in shorter "
    "listings with ElasticPathClient.logs_by_job() (one listing per job), skipping the ids "
    "already read; from the CLI, rerun `integration-logs harvest elasticpath` with "
    "`--scope jobs --append` (keeps the output, adds only the records it lacks)."
)


def _list_page(item_type: Any) -> Any:
    return ListPage[item_type]


def _read(page: ListPage[Any]) -> OffsetPageView:
    meta = page.meta
    total = page.results.total if page.results else None
    limit = None
    if meta is not None:
        if total is None and meta.results is not None:
            total = meta.results.total
        limit = meta.page.limit if meta.page is not None else meta.limit
    return OffsetPageView(page.data, total, limit)


LIST_PAGES = OffsetStyle(
    wire=_list_page,
    read=_read,
    limit_param="page[limit]",
    offset_param="page[offset]",
    ceiling=OFFSET_CEILING,
    ceiling_hint=CEILING_HINT,
)
"""Every Elastic Path listing."""

__all__ = ["CEILING_HINT", "LIST_PAGES", "OFFSET_CEILING"]
