"""Response builders: JSON bodies and each provider's error format.

Sendcloud v2 errors look like ``{"error": {"code", "message", "request"}}`` where
``request`` is the path without its leading slash; Sendcloud v3 errors (paths under
``sendcloud_v3_prefix``) and Elastic Path errors are JSON:API
``{"errors": [{"status", "title", "detail"?, ...}]}`` (see :mod:`._sendcloud_v3_bodies`).
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import msgspec
from aiohttp import web

from . import _bodies as bodies
from . import _sendcloud_v3_bodies as v3
from ._config import Provider
from ._state import state_of

JSON = "application/json"
_EP_DETAILS: Mapping[int, str] = {
    429: "",
    500: "There was an internal server error, you can report with your request id.",
    502: "The upstream service returned an invalid response.",
    503: "The service is temporarily unavailable, please retry shortly.",
    504: "The upstream service did not respond in time.",
}

_SENDCLOUD_CHALLENGE: Mapping[str, str] = {"WWW-Authenticate": 'Basic realm="api"'}


def _is_v3(request: web.Request) -> bool:
    """Whether a Sendcloud request is one of API v3 (JSON:API errors)."""
    return state_of(request).config.is_sendcloud_v3(request.path)


def json_bytes(
    body: bytes, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A response carrying already-encoded JSON."""
    return web.Response(body=body, status=status, content_type=JSON, headers=headers)


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A response carrying ``data`` encoded with msgspec."""
    return json_bytes(msgspec.json.encode(data), status, headers)


def sendcloud_error(
    request: web.Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A Sendcloud-style error response."""
    body = {"error": {"code": status, "message": message, "request": request.path.lstrip("/")}}
    return json_response(body, status, headers)


def elasticpath_error(
    status: int,
    title: str,
    detail: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> web.Response:
    """A JSON:API error response (Elastic Path)."""
    error: dict[str, Any] = {"status": status, "title": title}
    if detail:
        error["detail"] = detail
    error.update(extra)
    return json_response({"errors": [error]}, status, headers)


def html_error(status: int, headers: Mapping[str, str] | None = None) -> web.Response:
    """The bare HTML page a proxy (nginx) answers with."""
    page = bodies.nginx_page(status, HTTPStatus(status).phrase)
    return web.Response(text=page, status=status, content_type="text/html", headers=headers)


def provider_error(
    provider: Provider,
    request: web.Request,
    status: int,
    *,
    number: int = 0,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """The JSON error a provider answers for ``status`` (rate limit or server trouble)."""
    phrase = HTTPStatus(status).phrase
    if provider == "sendcloud" and _is_v3(request):
        return json_bytes(v3.error_body(status), status, headers)
    if provider == "sendcloud":
        message = (
            "Request was throttled. Expected available in 1 second." if status == 429 else phrase
        )
        return sendcloud_error(request, status, message, headers)
    if status == 429:
        return elasticpath_error(429, "Too Many Requests", headers=headers)
    return elasticpath_error(
        status, phrase, _EP_DETAILS.get(status), headers, request_id=f"emu-{number:08d}"
    )


def unauthorized(provider: Provider, request: web.Request) -> web.Response:
    """401 for missing, unknown or expired credentials."""
    if provider == "sendcloud" and _is_v3(request):
        given = bool(request.headers.get("Authorization"))
        return json_bytes(v3.unauthorized_body(given), 401, _SENDCLOUD_CHALLENGE)
    if provider == "sendcloud":
        return sendcloud_error(request, 401, "Invalid username/password.", _SENDCLOUD_CHALLENGE)
    return elasticpath_error(401, "Unable to validate access token")
