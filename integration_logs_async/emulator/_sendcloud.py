"""Sendcloud v2 routes: integrations, cursor-paginated logs, log creation, OAuth2 tokens."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

import msgspec
from aiohttp import web

from . import _responses as responses
from ._auth import CredentialKind, parse_basic
from ._cursor import Cursor, InvalidCursor, window
from ._pipeline import SENDCLOUD_TOKEN_PATHS
from ._state import EmulatorState, exchange_of, origin_of, state_of

NOT_FOUND = "No Integration matches the given query."


def _page_size(request: web.Request, state: EmulatorState) -> int:
    """DRF semantics: a bad value means the default, a big one the maximum."""
    config = state.config
    try:
        size = int(request.query.get("page_size", ""))
    except ValueError:
        return config.sendcloud_page_size
    return config.sendcloud_page_size if size < 1 else min(size, config.sendcloud_max_page_size)


def _link(request: web.Request, origin: str, cursor: Cursor | None) -> bytes:
    if cursor is None:
        return b"null"
    params = [(k, v) for k, v in request.query.items() if k != "cursor"]
    params.append(("cursor", cursor.encode()))
    return msgspec.json.encode(f"{origin}{request.path}?{urlencode(params)}")


async def _logs_page(request: web.Request, integration: int | None) -> web.Response:
    state = state_of(request)
    store = state.store.sendcloud
    raw_cursor = request.query.get("cursor")
    try:
        cursor = Cursor.decode(raw_cursor) if raw_cursor is not None else None
    except InvalidCursor:
        return responses.sendcloud_error(request, 404, "Invalid cursor")
    scope = store.keyset(integration)
    page = window(scope, cursor, _page_size(request, state))
    positions = scope.positions
    records = store.join(positions[k] for k in range(page.hi - 1, page.lo - 1, -1))
    origin = origin_of(request)
    exchange = exchange_of(request)
    next_origin = exchange.next_origin or origin
    exchange.next_rewritten = exchange.next_origin is not None and page.next is not None
    body = b"".join(
        (
            b'{"next":',
            _link(request, next_origin, page.next),
            b',"previous":',
            _link(request, origin, page.previous),
            b',"results":[',
            records,
            b"]}",
        )
    )
    return responses.json_bytes(body)


def _integration(request: web.Request) -> int | None:
    """Position of the path's integration, or None when unknown."""
    try:
        integration_id = int(request.match_info["id"])
    except ValueError:
        return None
    return state_of(request).store.sendcloud.integration_index(integration_id)


async def list_integrations(request: web.Request) -> web.Response:
    """``GET /integrations``: a plain JSON array."""
    return responses.json_bytes(state_of(request).store.sendcloud.integrations_json)


async def get_integration(request: web.Request) -> web.Response:
    """``GET /integrations/{id}``."""
    index = _integration(request)
    if index is None:
        return responses.sendcloud_error(request, 404, NOT_FOUND)
    return responses.json_bytes(state_of(request).store.sendcloud.integrations[index].json)


async def list_logs(request: web.Request) -> web.Response:
    """``GET /integrations/logs``: logs of all integrations, newest first."""
    return await _logs_page(request, None)


async def integration_logs(request: web.Request) -> web.Response:
    """``GET /integrations/{id}/logs``."""
    index = _integration(request)
    if index is None:
        return responses.sendcloud_error(request, 404, NOT_FOUND)
    return await _logs_page(request, index)


_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "full_url": (str,),
    "method": (str,),
    "response_code": (int,),
    "response": (dict,),
    "request": (dict,),
    "created_at": (str,),
    "exception_type": (str,),
    "exception": (str,),
}


def _validate(body: Any) -> dict[str, list[str]]:
    """DRF-like field errors of a posted log (empty when valid)."""
    if not isinstance(body, dict):
        return {"non_field_errors": ["Invalid data. Expected a dictionary."]}
    errors: dict[str, list[str]] = {}
    base_url = body.get("base_url")
    if base_url is None:
        errors["base_url"] = ["This field is required."]
    elif not isinstance(base_url, str) or not base_url.strip():
        errors["base_url"] = ["This field may not be blank."]
    for name, types in _FIELD_TYPES.items():
        value = body.get(name)
        bad_bool = isinstance(value, bool) and bool not in types
        if value is not None and (not isinstance(value, types) or bad_bool):
            errors[name] = ["Incorrect type."]
    return errors


async def create_log(request: web.Request) -> web.Response:
    """``POST /integrations/{id}/logs``: store a log at the head, answer 201."""
    index = _integration(request)
    if index is None:
        return responses.sendcloud_error(request, 404, NOT_FOUND)
    try:
        body = msgspec.json.decode(await request.read())
    except msgspec.DecodeError as exc:
        return responses.sendcloud_error(request, 400, f"JSON parse error - {exc}")
    errors = _validate(body)
    if errors:
        return responses.sendcloud_error(request, 400, str(errors))
    created = state_of(request).store.sendcloud.create_log(index, body)
    return responses.json_bytes(created, status=201)


def _oauth_error(error: str, description: str, status: int = 400) -> web.Response:
    return responses.json_response({"error": error, "error_description": description}, status)


async def issue_token(request: web.Request) -> web.Response:
    """``POST /oauth2/token``: OAuth2 client credentials (client auth by Basic or form)."""
    state = state_of(request)
    exchange = exchange_of(request)
    form = await request.post()
    client_id, secret = form.get("client_id"), form.get("client_secret")
    exchange.auth_scheme = "form"
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        exchange.auth_scheme = "basic"
        client_id, secret = parse_basic(header[6:])
    identity = client_id if isinstance(client_id, str) else None
    exchange.credential = identity
    if form.get("grant_type") != "client_credentials":
        return _oauth_error("unsupported_grant_type", "grant_type must be client_credentials")
    scope = form.get("scope", "api")
    if scope != "api":
        return _oauth_error("invalid_scope", "The only available scope is 'api'.")
    secret_text = secret if isinstance(secret, str) else None
    if not state.auth.check(CredentialKind.SENDCLOUD_CLIENT, identity, secret_text):
        return _oauth_error(
            "invalid_client",
            "Client authentication failed (e.g., unknown client, no client authentication "
            "included, or unsupported authentication method).",
            401,
        )
    assert identity is not None
    token = state.auth.issue("sendcloud", identity)
    return responses.json_response(
        {
            "access_token": token.value,
            "token_type": "Bearer",
            "expires_in": math.ceil(state.auth.token_ttl),
            "scope": "api",
        },
        headers={"Cache-Control": "no-store"},
    )


def add_routes(app: web.Application, prefix: str) -> None:
    """Register the Sendcloud routes under ``prefix``."""
    app.router.add_get(f"{prefix}/integrations", list_integrations)
    app.router.add_get(f"{prefix}/integrations/logs", list_logs)
    app.router.add_get(f"{prefix}/integrations/{{id}}", get_integration)
    app.router.add_get(f"{prefix}/integrations/{{id}}/logs", integration_logs)
    app.router.add_post(f"{prefix}/integrations/{{id}}/logs", create_log)
    for path in SENDCLOUD_TOKEN_PATHS:
        app.router.add_post(path, issue_token)
