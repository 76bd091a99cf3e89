"""Helpers of the Sendcloud v3 emulator tests: fetch a v3 URL, validate it, follow ``Link``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from . import _schemas as schemas

__all__ = ["Page", "fetch", "ids", "parse_link", "walk"]

_LINK_VALUE = re.compile(r'<(https?://[^<>\s]+)>; rel="(next|prev)"')
_LOG_FIELDS = set(
    schemas.document("sendcloud-v3")["components"]["schemas"]["integration-log"]["properties"]
)


@dataclass
class Page:
    """One v3 listing answer: its records and the URLs of its ``Link`` header."""

    status: int
    body: Any
    links: dict[str, str]


def parse_link(value: str | None) -> dict[str, str]:
    """``{rel: url}`` of a ``Link`` header, asserting the documented shape exactly."""
    if value is None:
        return {}
    pairs = _LINK_VALUE.findall(value)
    assert pairs and ", ".join(f'<{url}>; rel="{rel}"' for url, rel in pairs) == value, value
    schemas.check(value, *schemas.SC3_LINK)
    return {rel: url for url, rel in pairs}


def _schema_of(path: str) -> tuple[str, ...]:
    """The spec's 200 schema for a v3 path."""
    if path.endswith("/integrations/logs"):
        return schemas.SC3_LOGS
    if path.endswith("/logs"):
        return schemas.SC3_INTEGRATION_LOGS
    return schemas.SC3_INTEGRATIONS if path.endswith("/integrations") else schemas.SC3_INTEGRATION


async def fetch(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> Page:
    """GET a v3 URL; the body is validated against the spec for its status."""
    async with http.get(url, headers=headers) as response:
        assert response.content_type == "application/json"
        body = json.loads(await response.read())
        links = parse_link(response.headers.get("Link"))
    if response.status == 200:
        path = urlsplit(url).path
        listing = path.endswith("/logs")
        schemas.check(body, *_schema_of(path))
        assert set(body) == {"data"}
        for log in body["data"] if listing else ():
            schemas.check(log, *schemas.SC3_LOG)
            assert set(log) <= _LOG_FIELDS and log["additional_data"] == ""
    else:
        assert not links
        schemas.check(body, *schemas.SC3_ERRORS)
    return Page(response.status, body, links)


async def walk(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str], rel: str = "next"
) -> list[Page]:
    """Every page from ``url`` on, following ``Link`` ``rel``."""
    pages = []
    next_url: str | None = url
    while next_url:
        page = await fetch(http, next_url, headers)
        assert page.status == 200, page.body
        pages.append(page)
        next_url = page.links.get(rel)
    return pages


def ids(pages: list[Page]) -> list[int]:
    return [log["id"] for page in pages for log in page.body["data"]]
