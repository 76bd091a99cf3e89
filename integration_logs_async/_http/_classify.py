"""The response classifier: what a response means for the request that got it (pure, no I/O).

From a request's method and URL and its response's status, headers and body to one outcome:

- :data:`OK`: a 2xx, decode the body;
- :class:`Redirect`: a 3xx to a checked target on the configured origin, followed (GETs only,
  within the redirect budget);
- :data:`REAUTHENTICATE`: a 401 to a request that carried a token the client can replace:
  drop it and replay the request once;
- :class:`Failure`: anything else, with the typed :class:`~integration_logs_async.APIError`
  built (the provider's error objects parsed, ``Retry-After`` read). Whether it is retried
  is the retry policy's decision (``_retry.py``); a 429 also says how long every request of
  the client pauses.

The transport does what the outcome says; this module only decides, so it is tested without a
network (``tests/unit/test_transport_classify.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, NamedTuple

from yarl import URL

from ..errors import APIError, ProviderError, error_class_for, excerpt
from ._origin import OriginPolicy
from ._redact import redact_url
from ._retry import parse_retry_after

REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})

ErrorParser = Callable[[bytes], tuple[ProviderError, ...]]
"""Provider error objects from an error response's body; ``()`` when it holds none."""


class _Ok:
    __slots__ = ()

    def __repr__(self) -> str:
        return "OK"


class _Reauthenticate:
    __slots__ = ()

    def __repr__(self) -> str:
        return "REAUTHENTICATE"


OK: Final = _Ok()
"""A 2xx: the body is the answer."""

REAUTHENTICATE: Final = _Reauthenticate()
"""A 401 to a request whose token can be replaced: drop the token, replay once."""


class Redirect(NamedTuple):
    """Follow the redirect to ``target`` (on the configured origin, checked)."""

    target: URL


class Failure(NamedTuple):
    """The request failed with ``error``.

    ``pause``: on a 429, how long every request of the client waits (``Retry-After``, or
    ``default_429_pause`` when the server did not say); ``pauses_client``: whether that wait
    is within ``retry_after_cap`` (above it the client raises instead of waiting).
    """

    error: APIError
    pause: float | None = None
    pauses_client: bool = False


Outcome = _Ok | _Reauthenticate | Redirect | Failure


def _unchanged(text: str) -> str:
    return text


@dataclass(frozen=True, slots=True)
class ResponseClassifier:
    """Classifies the responses of one client (its origin, error parser and 429 settings)."""

    origin: OriginPolicy
    parse_errors: ErrorParser
    default_429_pause: float
    retry_after_cap: float
    redact: Callable[[str], str] = _unchanged
    """Masks the client's secrets in a body excerpt shown in an error."""

    def classify(
        self,
        method: str,
        url: URL,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        *,
        may_redirect: bool,
        may_reauthenticate: bool,
    ) -> Outcome:
        """What the response means for the request.

        ``may_redirect``: the redirect budget is not spent; ``may_reauthenticate``: the request
        carried a token the client can replace and was not replayed for a 401 already. A
        redirect's target is checked even when it is not followed: an off-origin ``Location``
        raises :class:`~integration_logs_async.UnsafeURLError`.
        """
        if 200 <= status < 300:
            return OK
        if status in REDIRECT_STATUSES and "Location" in headers:
            target = self.origin.follow(
                url, headers["Location"], context="redirect to", requote=True
            )
            if may_redirect and method == "GET":
                return Redirect(target)
        elif status == 401 and may_reauthenticate:
            return REAUTHENTICATE
        return self.failure(status, method, redact_url(url), headers, body)

    def failure(
        self, status: int, method: str, shown: str, headers: Mapping[str, str], body: bytes
    ) -> Failure:
        """The :class:`Failure` of a non-2xx response (``shown``: the request's URL, redacted)."""
        errors = self.parse_errors(body)
        request_id = headers.get("X-Request-Id") or next(
            (e.request_id for e in errors if e.request_id), None
        )
        retry_after = parse_retry_after(headers)
        error = error_class_for(status)(  # a 429: RateLimitError
            status=status,
            method=method,
            url=shown,
            errors=errors,
            excerpt="" if errors else self.redact(excerpt(body)),
            request_id=request_id,
            retry_after=retry_after,
        )
        if status != 429:
            return Failure(error)
        pause = self.default_429_pause if retry_after is None else retry_after
        return Failure(error, pause, pause <= self.retry_after_cap)


__all__ = [
    "OK",
    "REAUTHENTICATE",
    "REDIRECT_STATUSES",
    "ErrorParser",
    "Failure",
    "Outcome",
    "Redirect",
    "ResponseClassifier",
]
