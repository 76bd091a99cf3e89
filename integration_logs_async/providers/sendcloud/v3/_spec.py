"""Sendcloud API v3 as data: the v2 spec with v3's base URL, page sizes and hooks."""

from __future__ import annotations

import dataclasses

from .._spec import SPEC as V2
from ._errors import parse_errors
from ._normalize import normalize, summarize_integration

MAX_PAGE_SIZE = 100
"""``page_size`` of the log listings: 1 to 100, default 25 (we ask for 100)."""

SPEC = dataclasses.replace(
    V2,
    api_version=3,
    checkpoint_name="sendcloud/v3",
    base_url="https://panel.sendcloud.sc/api/v3",
    base_url_var="SENDCLOUD_API_V3_BASE_URL",  # v2's SENDCLOUD_API_BASE_URL names a v2 URL
    max_page_size=MAX_PAGE_SIZE,
    default_page_size=MAX_PAGE_SIZE,  # the fewest requests
    parse_errors=parse_errors,
    normalize=normalize,
    summarize_integration=summarize_integration,
)
"""Sendcloud API v3: the same account, credentials, token endpoint and rate limit as v2."""

__all__ = ["MAX_PAGE_SIZE", "SPEC"]
