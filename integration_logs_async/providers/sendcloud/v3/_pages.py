"""How Sendcloud v3 pages its listings, for the cursor engine.

Bodies are ``{"data": [...]}``; the next page is only in the ``Link`` header,
``<URL>; rel="next"`` (none: the last page). The cursor in that URL is opaque (the documents
disagree on its format: a timestamp in the logs reference, base64 in the pagination guide),
so it is never built or parsed: the link is followed as given, resolved against the request
URL if relative, and only on the configured origin. ``rel="prev"`` is ignored.
"""

from __future__ import annotations

import operator
from typing import Any

from ...._paging import CursorStyle
from ._models import DataPage


def _data_page(item_type: Any) -> Any:
    return DataPage[item_type]


DATA_PAGES = CursorStyle(
    wire=_data_page,
    items=operator.attrgetter("data"),
    next_in_link_header=True,
    expected='a Sendcloud API v3 page, {"data": [...]} (an API v2 URL answers {"next", '
    '"previous", "results"}: check that base_url is the v3 API, ending in /api/v3)',
)
"""Every v3 listing: logs, one integration's logs, integrations (which documents no paging,
but a ``Link`` it ever sends is followed)."""

__all__ = ["DATA_PAGES"]
