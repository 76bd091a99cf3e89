"""Sendcloud v3's error envelope (pure parsing).

JSON:API ``{"errors": [{"status", "code", "title", "detail", "source"}]}``, ``status`` a
number or a string (the spec types it a string, its examples use both), ``errors`` a list or
a single object (the spec allows both); the OAuth2 token server's
``{"error", "error_description"}``; bare ``message``/``detail`` bodies of gateways.
"""

from __future__ import annotations

import msgspec

from ....errors import ProviderError
from ..._error_bodies import JsonApiError, envelope_parser, from_jsonapi, from_message, from_oauth


class SendcloudV3ErrorBody(msgspec.Struct):
    """Every member a Sendcloud v3 error answer may carry."""

    errors: list[JsonApiError] | JsonApiError | None = None
    error: str | None = None
    error_description: str | None = None
    message: str | None = None
    detail: str | None = None


def _read(env: SendcloudV3ErrorBody) -> list[ProviderError]:
    items = [env.errors] if isinstance(env.errors, JsonApiError) else env.errors
    found = from_jsonapi(items)
    if env.error is not None:
        found.append(from_oauth(env.error, env.error_description))
    elif not found:
        found = from_message(env.message, env.detail)
    return found


parse_errors = envelope_parser(SendcloudV3ErrorBody, _read)
"""Provider error objects from a Sendcloud v3 error body; ``()`` if it has none."""

__all__ = ["SendcloudV3ErrorBody", "parse_errors"]
