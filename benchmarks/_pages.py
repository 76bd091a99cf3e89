"""Fetch real response pages from an emulator process (exact wire bytes), with urllib."""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
import urllib.request
from typing import Any

from ._common import EmulatorProcess


def _get(url: str, headers: dict[str, str]) -> bytes:
    return _get_with_headers(url, headers)[0]


def _get_with_headers(url: str, headers: dict[str, str]) -> tuple[bytes, Any]:
    req = urllib.request.Request(url, headers={"Accept": "application/json", **headers})
    with urllib.request.urlopen(req, timeout=60) as resp:
        body: bytes = resp.read()
        return body, resp.headers


def _sendcloud_basic(emu: EmulatorProcess) -> dict[str, str]:
    creds: dict[str, Any] = emu.info["credentials"]
    pair = f"{creds['sendcloud_public_key']}:{creds['sendcloud_secret_key']}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


# ``<URL>; rel="next"`` (or rel=next, or a rel listing several relations), RFC 8288.
_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]+)*)")
_REL = re.compile(r'rel\s*=\s*"?([^";,]*)"?', re.IGNORECASE)


def _next_link(page_url: str, header: str | None) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header, made absolute against the page's URL."""
    for match in _LINK.finditer(header or ""):
        rel = _REL.search(match.group(2))
        if rel and "next" in rel.group(1).split():
            return urllib.parse.urljoin(page_url, str(match.group(1)))
    return None


def elasticpath_token(emu: EmulatorProcess) -> str:
    creds = emu.info["credentials"]
    form = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": creds["epcc_client_id"],
            "client_secret": creds["epcc_client_secret"],
        }
    ).encode()
    req = urllib.request.Request(f"{emu.url}/oauth/access_token", data=form, method="POST")
    with urllib.request.urlopen(req, timeout=60) as resp:
        return str(json.loads(resp.read())["access_token"])


def elasticpath_pages(emu: EmulatorProcess, count: int, limit: int = 100) -> list[bytes]:
    """``count`` pages of ``GET /v2/integrations/logs`` spread over the whole store."""
    headers = {"Authorization": f"Bearer {elasticpath_token(emu)}"}
    step = max(limit, (emu.logs - limit) // max(1, count - 1))
    pages = []
    for k in range(count):
        offset = min(k * step, max(0, emu.logs - limit))
        url = f"{emu.url}/v2/integrations/logs?page[limit]={limit}&page[offset]={offset}"
        pages.append(_get(url, headers))
    return pages


def sendcloud_pages(emu: EmulatorProcess, count: int, page_size: int = 100) -> list[bytes]:
    """``count`` consecutive pages of ``GET /integrations/logs`` (following ``next``)."""
    headers = _sendcloud_basic(emu)
    url: str | None = f"{emu.info['sendcloud_url']}/integrations/logs?page_size={page_size}"
    pages: list[bytes] = []
    while url and len(pages) < count:
        body = _get(url, headers)
        pages.append(body)
        url = json.loads(body)["next"]
    return pages


def sendcloud_v3_pages(emu: EmulatorProcess, count: int, page_size: int = 100) -> list[bytes]:
    """``count`` consecutive pages of v3 ``GET /api/v3/integrations/logs`` (``{"data": [...]}``,
    following the ``Link`` header's ``rel="next"``)."""
    headers = _sendcloud_basic(emu)
    url: str | None = f"{emu.info['sendcloud_v3_url']}/integrations/logs?page_size={page_size}"
    pages: list[bytes] = []
    while url and len(pages) < count:
        body, response_headers = _get_with_headers(url, headers)
        pages.append(body)
        url = _next_link(url, response_headers.get("Link"))
    return pages
