"""Sendcloud API v3 routes: the v2 store through v3 paths, bodies and ``Link`` paging.

Served under ``EmulatorConfig.sendcloud_v3_prefix`` (``/api/v3``):

- ``GET /integrations`` -> ``{"data": [...]}`` (not paginated, as documented), in the
  documented ``sort`` order (:mod:`._sendcloud_v3_bodies`);
- ``GET /integrations/{id}`` -> ``{"data": {...}}``, or the documented 404;
- ``GET /integrations/logs`` and ``GET /integrations/{id}/logs`` -> ``{"data": [...]}``,
  newest first, with the same records (ids) as v2;
- ``POST /integrations/{id}/logs`` (:mod:`._sendcloud_v3_create`).

Paging follows the v3 guide: the body holds only ``data``; the next page is only in
the ``Link`` header, ``<absolute URL>; rel="next"`` (absent on the last page),
followed by ``, <absolute URL>; rel="prev"`` when there is a previous page (RFC 8288).
The cursor is the opaque base64 keyset cursor of v2 (:mod:`._cursor`), as the guide
describes v3 cursors; a cursor this server did not issue is a 404 ``Invalid cursor``.
``page_size`` is clamped to ``1..sendcloud_v3_max_page_size`` (the guide: "clamped
between 0 and the endpoint's max size"), a non-integer means the default.  The
``Link`` URLs keep the request's other query parameters, then ``cursor`` and
``page_size``, in the order of the spec's example.

Authentication, rate limiting and faults come from the pipeline exactly as for v2;
errors are JSON:API (:mod:`._sendcloud_v3_bodies`, via :mod:`._responses`).
"""

from __future__ import annotations

from urllib.parse import urlencode

import msgspec
from aiohttp import web

from . import _responses as responses
from . import _sendcloud_v3_bodies as bodies
from ._cursor import Cursor, InvalidCursor, window
from ._sendcloud_v3_create import create_log
from ._state import EmulatorState, exchange_of, origin_of, state_of

__all__ = [
    "add_routes",
    "get_integration",
    "integration_logs",
    "link_header",
    "list_integrations",
    "list_logs",
    "page_size",
]


def page_size(request: web.Request, state: EmulatorState) -> int:
    """The request's ``page_size``, clamped to the configured range (default when absent)."""
    config = state.config
    try:
        size = int(request.query.get("page_size", ""))
    except ValueError:
        return config.sendcloud_v3_page_size
    return max(1, min(size, config.sendcloud_v3_max_page_size))


def _page_url(request: web.Request, origin: str, cursor: Cursor, size: int) -> str:
    params = [(k, v) for k, v in request.query.items() if k not in ("cursor", "page_size")]
    params += [("cursor", cursor.encode()), ("page_size", str(size))]
    return f"{origin}{request.path}?{urlencode(params)}"


def link_header(links: list[tuple[str, str]]) -> str:
    """An RFC 8288 ``Link`` value from ``(url, rel)`` pairs."""
    return ", ".join(f'<{url}>; rel="{rel}"' for url, rel in links)


async def _logs_page(request: web.Request, integration: int | None) -> web.Response:
    state = state_of(request)
    store = state.store.sendcloud
    raw_cursor = request.query.get("cursor")
    try:
        cursor = Cursor.decode(raw_cursor) if raw_cursor is not None else None
    except InvalidCursor:
        return responses.json_bytes(bodies.not_found_body("Invalid cursor"), 404)
    size = page_size(request, state)
    scope = store.keyset(integration)
    page = window(scope, cursor, size)
    positions = scope.positions
    records = store.join(positions[k] for k in range(page.hi - 1, page.lo - 1, -1))
    origin = origin_of(request)
    exchange = exchange_of(request)
    links: list[tuple[str, str]] = []
    if page.next is not None:
        next_origin = exchange.next_origin or origin
        exchange.next_rewritten = exchange.next_origin is not None
        links.append((_page_url(request, next_origin, page.next, size), "next"))
    if page.previous is not None:
        links.append((_page_url(request, origin, page.previous, size), "prev"))
    headers = {"Link": link_header(links)} if links else None
    return responses.json_bytes(b'{"data":' + bodies.logs_v3(records) + b"}", headers=headers)


def _integration(request: web.Request) -> int | None:
    """Position of the path's integration, or None when unknown."""
    try:
        integration_id = int(request.match_info["id"])
    except ValueError:
        return None
    return state_of(request).store.sendcloud.integration_index(integration_id)


def _not_found() -> web.Response:
    return responses.json_bytes(bodies.not_found_body(), 404)


async def list_integrations(request: web.Request) -> web.Response:
    """``GET /integrations``: every integration, ``{"data": [...]}``, sorted by ``sort``."""
    store = state_of(request).store.sendcloud
    data = [bodies.integration_v3(integration.json) for integration in store.integrations]
    try:
        data = bodies.sort_integrations(data, request.query.get("sort"))
    except bodies.InvalidSort as exc:
        return responses.json_bytes(bodies.invalid_sort_body(str(exc)), 400)
    return responses.json_bytes(msgspec.json.encode({"data": data}))


async def get_integration(request: web.Request) -> web.Response:
    """``GET /integrations/{id}``: ``{"data": {...}}``."""
    index = _integration(request)
    if index is None:
        return _not_found()
    integration = state_of(request).store.sendcloud.integrations[index]
    return responses.json_bytes(
        msgspec.json.encode({"data": bodies.integration_v3(integration.json)})
    )


async def list_logs(request: web.Request) -> web.Response:
    """``GET /integrations/logs``: logs of all integrations, newest first."""
    return await _logs_page(request, None)


async def integration_logs(request: web.Request) -> web.Response:
    """``GET /integrations/{id}/logs``: logs of one integration, newest first."""
    index = _integration(request)
    if index is None:
        return _not_found()
    return await _logs_page(request, index)


def add_routes(app: web.Application, prefix: str) -> None:
    """Register the Sendcloud v3 routes under ``prefix``."""
    app.router.add_get(f"{prefix}/integrations", list_integrations)
    app.router.add_get(f"{prefix}/integrations/logs", list_logs)
    app.router.add_get(f"{prefix}/integrations/{{id}}", get_integration)
    app.router.add_get(f"{prefix}/integrations/{{id}}/logs", integration_logs)
    app.router.add_post(f"{prefix}/integrations/{{id}}/logs", create_log)
