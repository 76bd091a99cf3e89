"""Elastic Path's error envelope (pure parsing).

The API answers JSON:API ``{"errors": [{"status", "title", "detail", "source"}]}`` with
``status`` as a number or a string; the token endpoint may answer OAuth2's
``{"error", "error_description"}``; bare ``message``/``detail`` bodies of gateways in front
of the API are accepted too.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ...errors import ProviderError
from .._error_bodies import JsonApiError, envelope_parser, from_jsonapi, from_message, from_oauth


class ElasticPathErrorBody(msgspec.Struct):
    """Every member an Elastic Path error answer may carry."""

    errors: list[JsonApiError] | None = None
    error: str | dict[str, Any] | None = None  # OAuth2's is a string; others are ignored
    error_description: str | None = None
    message: str | None = None
    detail: str | None = None


def _read(env: ElasticPathErrorBody) -> list[ProviderError]:
    found = from_jsonapi(env.errors)
    if isinstance(env.error, str):
        found.append(from_oauth(env.error, env.error_description))
    elif not found:
        found = from_message(env.message, env.detail)
    return found


parse_errors = envelope_parser(ElasticPathErrorBody, _read)
"""Provider error objects from an Elastic Path error body; ``()`` if it has none."""

__all__ = ["ElasticPathErrorBody", "parse_errors"]
