"""A decoded 2xx answer (:class:`Response`), and decoding a body into one."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Generic, TypeVar

import aiohttp
import msgspec
from multidict import CIMultiDictProxy, MultiDict, MultiDictProxy
from yarl import URL

from .._constants import ERROR_EXCERPT_CHARS
from ..errors import DecodeError
from ._body_buffers import Body, BodyBuffers
from ._redact import REDACTED, redact_url

T = TypeVar("T")

DECODE_FAILURES = (msgspec.MsgspecError, ValueError, TypeError, RecursionError, OverflowError)
"""What a decode callable may raise for a body it cannot decode."""

# Token values in a token response that failed to decode: kept out of the error's excerpt.
_TOKEN_VALUE = re.compile(rb'("(?:access|refresh|id)_token"\s*:\s*")[^"]*')


Links = MultiDictProxy[MultiDictProxy[str | URL]]
"""A response's ``Link`` header as aiohttp parses it (RFC 8288): relation -> its parameters,
``url`` among them, resolved against the request's URL."""

NO_LINKS: Links = MultiDictProxy(MultiDict())


def links_of(response: aiohttp.ClientResponse) -> Links | None:
    """The ``Link`` header of ``response`` parsed by aiohttp (no header: no links), or None
    when it is there but unreadable (no ``<URL>`` in it, or a URL that does not parse)."""
    if "Link" not in response.headers:
        return NO_LINKS
    try:
        links = response.links
    except (TypeError, ValueError):
        return None
    return links if links else None


class Response(msgspec.Struct, Generic[T]):
    """A decoded 2xx answer (a struct: built in C, once per request).

    ``links``: its ``Link`` header (:data:`NO_LINKS` when it has none; None when the header is
    unreadable).
    """

    status: int
    request_url: URL
    headers: CIMultiDictProxy[str]
    value: T
    nbytes: int
    links: Links | None = NO_LINKS

    @property
    def url(self) -> str:
        """The request's URL, redacted (built when asked: most responses never need it)."""
        return redact_url(self.request_url)


def decode_response(
    bodies: BodyBuffers,
    decode: Callable[[Body], T],
    method: str,
    url: URL,
    status: int,
    headers: CIMultiDictProxy[str],
    body: bytes | bytearray,
    redact: Callable[[str], str],
    *,
    token_response: bool,
    links: Links | None = NO_LINKS,
) -> Response[T]:
    """``decode(body)`` as a :class:`Response`, or :class:`DecodeError` (secrets masked)."""
    size = len(body)
    try:
        # No UTF-8 pass over the body here: msgspec validates every string it decodes, and
        # raw records check their own bytes (``providers/_raw.py``); what is left unchecked is
        # skipped, never handed out.
        value = bodies.decode(body, decode)
    except DECODE_FAILURES as exc:
        raise DecodeError(
            method=method,
            url=redact_url(url),
            status=status,
            reason=redact(str(exc)),
            body=_safe_excerpt(body, redact, token_response=token_response),
        ) from None
    return Response(status, url, headers, value, size, links)


def _safe_excerpt(
    body: bytes | bytearray, redact: Callable[[str], str], *, token_response: bool
) -> bytes:
    """The start of ``body`` with secrets (and, in token responses, tokens) masked."""
    head = bytes(body[: ERROR_EXCERPT_CHARS * 8])
    if token_response:
        head = _TOKEN_VALUE.sub(rb"\g<1>" + REDACTED.encode(), head)
    return redact(head.decode("utf-8", errors="replace")).encode()


__all__ = ["DECODE_FAILURES", "Response", "decode_response"]
