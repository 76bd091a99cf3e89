"""How Sendcloud v2 pages its listings, for the cursor engine.

Logs come in cursor pages ``{"next", "previous", "results"}``: the next page is the
absolute ``next`` URL. ``GET /integrations`` answers one plain array: a listing of one page.
"""

from __future__ import annotations

import operator
from typing import Any

from ..._paging import CursorStyle
from ._models import CursorPage


def _cursor_page(item_type: Any) -> Any:
    return CursorPage[item_type]


def _array(item_type: Any) -> Any:
    return list[item_type]


def _itself(page: list[Any]) -> list[Any]:
    return page


LOG_PAGES = CursorStyle(
    wire=_cursor_page,
    items=operator.attrgetter("results"),
    next_in_body=operator.attrgetter("next"),
    expected='a Sendcloud API v2 page, {"next", "previous", "results": [...]} (an API v3 URL '
    'answers {"data": [...]}: check that base_url is the v2 API, ending in /api/v2)',
)
"""``/integrations/logs`` and ``/integrations/{id}/logs``."""

ARRAY = CursorStyle(
    wire=_array,
    items=_itself,
    expected="a Sendcloud API v2 list of integrations, a plain JSON array (an API v3 URL "
    'answers {"data": [...]}: check that base_url is the v2 API, ending in /api/v2)',
)
"""``/integrations``: one plain JSON array, no next page."""

__all__ = ["ARRAY", "LOG_PAGES"]
