"""Error-body shapes shared by providers (pure parsing): JSON:API and OAuth2.

A provider's error envelope (its ``_errors.py``) is a msgspec struct naming the members it
accepts; these are the pieces that more than one provider uses. Every documented form is
accepted, and a body that matches none gives ``()``, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import msgspec

from ..errors import ProviderError

E = TypeVar("E")


class JsonApiError(msgspec.Struct):
    """One JSON:API error object (``status`` as a number or a string)."""

    status: int | str | None = None
    title: str | None = None
    detail: str | None = None
    code: int | str | None = None
    source: str | dict[str, Any] | None = None
    request_id: str | None = None


def as_int(value: int | str | None) -> int | None:
    """A status sent as a number or a string of ASCII digits; else None."""
    if isinstance(value, int):
        return value
    # ASCII digits only, and short: str.isdigit() accepts "²" and int() refuses strings of
    # more than 4300 digits; a provider's error body must never make parsing raise.
    if isinstance(value, str) and 0 < len(value) <= 9 and value.isascii() and value.isdigit():
        return int(value)
    return None


def from_jsonapi(items: Iterable[JsonApiError] | None) -> list[ProviderError]:
    """JSON:API error objects as :class:`ProviderError`s (``source`` as its pointer or
    parameter)."""
    found: list[ProviderError] = []
    for item in items or ():
        source = item.source if isinstance(item.source, str) else None
        if isinstance(item.source, dict):
            source = str(item.source.get("pointer") or item.source.get("parameter") or "") or None
        found.append(
            ProviderError(
                status=as_int(item.status),
                title=item.title,
                detail=item.detail,
                code=None if item.code is None else str(item.code),
                source=source,
                request_id=item.request_id,
            )
        )
    return found


def from_oauth(error: str, description: str | None) -> ProviderError:
    """An OAuth2 error answer (``{"error": "invalid_client", "error_description": ...}``)."""
    return ProviderError(code=error, title=error, detail=description)


def from_message(message: str | None, detail: str | None) -> list[ProviderError]:
    """A bare ``{"message"}``/``{"detail"}`` body, as many gateways send."""
    return [ProviderError(title=message, detail=detail)] if message or detail else []


def envelope_parser(
    envelope: type[E], read: Callable[[E], list[ProviderError]]
) -> Callable[[bytes], tuple[ProviderError, ...]]:
    """A parser of error bodies shaped as ``envelope``: ``()`` for anything else."""
    decoder = msgspec.json.Decoder(envelope)

    def parse(body: bytes) -> tuple[ProviderError, ...]:
        try:
            env = decoder.decode(body)
        except (msgspec.MsgspecError, ValueError, RecursionError):
            return ()
        return tuple(read(env))

    return parse


__all__ = [
    "JsonApiError",
    "as_int",
    "envelope_parser",
    "from_jsonapi",
    "from_message",
    "from_oauth",
]
