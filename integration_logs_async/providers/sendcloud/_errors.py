"""Sendcloud's error envelope (pure parsing).

v2 documents ``{"error": {"code", "message", "request"}}``; its OAuth2 token server answers
``{"error": "...", "error_description": "..."}``; JSON:API ``{"errors": [...]}`` is accepted
too, as are bare ``message``/``detail`` bodies of gateways in front of the API.
"""

from __future__ import annotations

import msgspec

from ...errors import ProviderError
from .._error_bodies import (
    JsonApiError,
    as_int,
    envelope_parser,
    from_jsonapi,
    from_message,
    from_oauth,
)


class SendcloudError(msgspec.Struct):
    """The ``error`` object of a v2 error answer."""

    code: int | str | None = None
    message: str | None = None
    request: str | None = None


class SendcloudErrorBody(msgspec.Struct):
    """Every member a Sendcloud error answer may carry."""

    errors: list[JsonApiError] | None = None
    error: SendcloudError | str | None = None
    error_description: str | None = None
    message: str | None = None
    detail: str | None = None


def _read(env: SendcloudErrorBody) -> list[ProviderError]:
    found = from_jsonapi(env.errors)
    if isinstance(env.error, SendcloudError):
        code = env.error.code
        found.append(
            ProviderError(
                status=as_int(code),
                title=env.error.message,
                code=None if code is None else str(code),
            )
        )
    elif isinstance(env.error, str):
        found.append(from_oauth(env.error, env.error_description))
    elif not found:
        found = from_message(env.message, env.detail)
    return found


parse_errors = envelope_parser(SendcloudErrorBody, _read)
"""Provider error objects from a Sendcloud error body; ``()`` if it has none."""

__all__ = ["SendcloudError", "SendcloudErrorBody", "parse_errors"]
