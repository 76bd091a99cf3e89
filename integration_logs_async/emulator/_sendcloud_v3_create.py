"""Sendcloud API v3 ``POST /integrations/{id}/logs``: validate the body, store the log.

The body follows the spec's ``integration-log-create`` schema: only ``base_url`` is
required, unknown members are refused (``additionalProperties: false``; the spec's
400 example is ``extra_forbidden`` with ``source.pointer`` ``body/<member>``), and
every other member is optional and nullable.  The answer is ``201 {"data": log}``
with the stored log in its v3 form; the log joins the store, so v2 lists it too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from aiohttp import web

from . import _responses as responses
from . import _sendcloud_v3_bodies as bodies
from ._state import state_of

__all__ = ["ALLOWED_TYPES", "create_log", "validate"]

ALLOWED_TYPES: dict[str, tuple[type, ...]] = {
    "base_url": (str,),
    "full_url": (str,),
    "method": (str,),
    "response_code": (int,),
    "response": (dict,),
    "request": (dict,),
    "created_at": (str,),
    "exception_type": (str,),
    "exception": (str,),
}
"""Members of ``integration-log-create`` and their JSON types (all but ``base_url`` nullable)."""

_TYPE_NAMES = {str: "string", int: "integer", dict: "object"}


def _error(code: str, title: str, detail: str, pointer: str) -> dict[str, Any]:
    return {
        "status": 400,  # an integer, as in the spec's 400 example
        "code": code,
        "title": title,
        "detail": detail,
        "source": {"pointer": pointer},
    }


def _member_error(name: str, value: Any) -> dict[str, Any] | None:
    """The error of one known member, or None when its value is allowed."""
    types = ALLOWED_TYPES[name]
    if value is None:
        if name == "base_url":
            return _error("null", "Null", "Input should not be null", f"body/{name}")
        return None
    if isinstance(value, bool) or not isinstance(value, types):
        detail = f"Input should be a valid {_TYPE_NAMES[types[0]]}"
        return _error("invalid", "Invalid", detail, f"body/{name}")
    if name == "base_url" and isinstance(value, str) and not value.strip():
        return _error(
            "invalid", "Invalid", "String should have at least 1 character", "body/base_url"
        )
    if name == "response_code" and isinstance(value, int) and value < 0:
        detail = "Input should be greater than or equal to 0"
        return _error("min_value", "Min Value", detail, f"body/{name}")
    if name == "created_at" and isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            detail = "Input should be a valid datetime"
            return _error("invalid", "Invalid", detail, f"body/{name}")
    return None


def validate(body: Any) -> list[dict[str, Any]]:
    """JSON:API error objects for a posted body (empty when it is valid)."""
    if not isinstance(body, dict):
        return [_error("invalid", "Invalid", "Input should be a valid dictionary", "body")]
    errors = []
    if "base_url" not in body:
        errors.append(_error("required", "Required", "Field required", "body/base_url"))
    for name, value in body.items():
        if name not in ALLOWED_TYPES:
            detail = "Extra inputs are not permitted"
            errors.append(_error("extra_forbidden", "Extra Forbidden", detail, f"body/{name}"))
            continue
        error = _member_error(name, value)
        if error is not None:
            errors.append(error)
    return errors


def _bad_request(errors: list[dict[str, Any]]) -> web.Response:
    return responses.json_bytes(msgspec.json.encode({"errors": errors}), 400)


async def create_log(request: web.Request) -> web.Response:
    """``POST /integrations/{id}/logs``: store a log at the head, answer 201."""
    store = state_of(request).store.sendcloud
    try:
        index = store.integration_index(int(request.match_info["id"]))
    except ValueError:
        index = None
    if index is None:
        return responses.json_bytes(bodies.not_found_body(), 404)
    try:
        body = msgspec.json.decode(await request.read())
    except msgspec.DecodeError:
        return _bad_request([_error("invalid", "Invalid", "Invalid JSON", "body")])
    errors = validate(body)
    if errors:
        return _bad_request(errors)
    created = bodies.logs_v3(store.create_log(index, body))
    return responses.json_bytes(b'{"data":' + created[1:-1] + b"}", status=201)
