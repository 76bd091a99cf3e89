"""The exception tree. Every failure the library raises is an :class:`IntegrationLogsError`.

The HTTP part follows status classes, like gidgethub::

    IntegrationLogsError
    ├── APIError                    any non-2xx answer (status, provider error objects)
    │   ├── BadRequestError         400, 422
    │   ├── AuthenticationError     401 (also a failed token request)
    │   ├── PermissionDeniedError   403
    │   ├── NotFoundError           404
    │   ├── RateLimitError          429 (``retry_after`` seconds)
    │   └── ServerError             5xx
    ├── TransportError              connection problems, timeouts, deadline exceeded
    ├── DecodeError                 body is not JSON or not of the documented shape
    ├── UnsafeURLError              a pagination link or redirect leaves the configured origin
    ├── PaginationError             the server's pagination is inconsistent (e.g. a loop)
    └── FanOutError                 one or more child streams of a fan-out failed

Messages say what happened, where (method, URL without secrets, status) and what to do.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any
from urllib.parse import urlsplit

import msgspec

from ._constants import ERROR_EXCERPT_CHARS


class ProviderError(msgspec.Struct, frozen=True, omit_defaults=True):
    """One error object as the provider sent it.

    Elastic Path sends JSON:API objects (``status``, ``title``, ``detail``, ``source``);
    Sendcloud sends ``{"error": {"code", "message", "request"}}``; OAuth servers send
    ``{"error": "invalid_client", "error_description": ...}``. All land here.
    """

    status: int | None = None
    title: str | None = None
    detail: str | None = None
    code: str | None = None
    source: str | None = None
    request_id: str | None = None

    def __str__(self) -> str:
        parts = [p for p in (self.title, self.detail) if p]
        if self.code and not parts:
            parts.append(self.code)
        return ": ".join(parts) if parts else "(no message)"


class IntegrationLogsError(Exception):
    """Base class of every error raised by this library."""


class APIError(IntegrationLogsError):
    """The provider answered with a non-success status.

    Attributes: ``status``, ``method``, ``url`` (redacted), ``errors`` (parsed provider error
    objects, possibly empty), ``excerpt`` (start of the body when it was not a known error
    shape), ``request_id`` (when the provider sent one).
    """

    hint = "see the provider's error details above"

    def __init__(
        self,
        *,
        status: int,
        method: str,
        url: str,
        errors: tuple[ProviderError, ...] = (),
        excerpt: str = "",
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after  # seconds the provider asked to wait (429, 503)
        self.status = status
        self.method = method
        self.url = url
        self.errors = errors
        self.excerpt = excerpt
        self.request_id = request_id
        super().__init__(self._message())

    def _message(self) -> str:
        what = "; ".join(str(e) for e in self.errors) or self.excerpt or "(empty body)"
        rid = f" [request id {self.request_id}]" if self.request_id else ""
        wait = f" The provider asked to wait {self.retry_after:g} s." if self.retry_after else ""
        what = _without_status(what, self.status).rstrip(". ")
        return f"{self.method} {self.url} -> HTTP {self.status}: {what}{rid}. {self.hint}{wait}"


def _without_status(text: str, status: int) -> str:
    """``text`` without a leading repeat of the status ("404: Not Found" -> "Not Found"),
    as many servers' plain error pages start with it."""
    code = str(status)
    if text.startswith(code) and text[len(code) : len(code) + 1] in (":", " ", "-"):
        rest = text[len(code) + 1 :].lstrip(" :-")
        return rest or text
    return text


class BadRequestError(APIError):
    """400/422: the provider rejected the request's parameters."""

    hint = "Check the arguments (page size, offsets, ids) against the provider's documentation."


class OffsetCeilingError(BadRequestError):
    """An offset listing was refused past the provider's offset ceiling (Elastic Path documents
    a soft limit of 10,000 records per listing).

    ``ceiling`` is that offset; the hint, set by the provider, says how to read on.
    """

    hint = "The listing is longer than the provider lets one walk by offset."

    def __init__(self, *, ceiling: int | None = None, hint: str | None = None, **answer: Any):
        self.ceiling = ceiling
        if hint is not None:
            self.hint = hint
        super().__init__(**answer)

    @classmethod
    def from_error(
        cls, exc: APIError, *, ceiling: int | None = None, hint: str | None = None
    ) -> OffsetCeilingError:
        """The same answer as an :class:`OffsetCeilingError` at ``ceiling``, with ``hint``."""
        return cls(
            ceiling=ceiling,
            hint=hint,
            status=exc.status,
            method=exc.method,
            url=exc.url,
            errors=exc.errors,
            excerpt=exc.excerpt,
            request_id=exc.request_id,
            retry_after=exc.retry_after,
        )


class AuthenticationError(APIError):
    """401: credentials missing, wrong or expired (after one token refresh and replay)."""

    hint = "Check the credentials (key/secret or client id/secret) and the base URL."


class PermissionDeniedError(APIError):
    """403: valid credentials that lack permission for this resource."""

    hint = "The credentials are valid but lack permission; use keys with access to this resource."


class NotFoundError(APIError):
    """404: the resource (integration, job, page) does not exist.

    The hint depends on the request: one that named an integration or job id may name one
    that does not exist; one that named none (listing the integrations, or every log) can
    only have gone to a wrong URL.
    """

    hint = "Check the integration/job id and that base_url points at the right API and region."
    no_id_hint = (
        "The request named no integration or job id, so its URL is wrong: check that base_url "
        "points at the right API and region."
    )

    def _message(self) -> str:
        if "hint" not in vars(self) and not names_an_id(self.url):  # a hint set stays
            self.hint = self.no_id_hint
        return super()._message()


_ID_PARENTS = ("integrations", "jobs")
_NOT_IDS = ("logs", "jobs")


def names_an_id(url: str) -> bool:
    """Whether ``url``'s path names an integration or job id: a segment after
    ``integrations`` or ``jobs`` that is not ``logs`` or ``jobs`` (``/integrations/7/logs``,
    ``/v2/integrations/a/jobs/b/logs``; not ``/integrations`` nor ``/integrations/logs``)."""
    segments = [s for s in urlsplit(url).path.split("/") if s]
    return any(
        segment in _ID_PARENTS and following not in _NOT_IDS
        for segment, following in pairwise(segments)
    )


class RateLimitError(APIError):
    """429 that could not be absorbed by waiting: retries exhausted or the wait is too long.

    ``retry_after`` is the wait in seconds the provider asked for (``None`` if it gave none).
    """

    hint = "Lower rate_limit or concurrency, or retry later."


class ServerError(APIError):
    """5xx: the provider failed; raised once retries are exhausted."""

    hint = "The provider failed; retry later or resume the stream from its checkpoint."


class TransportError(IntegrationLogsError):
    """The request did not complete: connection refused/reset, timeout, deadline exceeded."""

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        self.method = method
        self.url = url
        super().__init__(message)


class DecodeError(IntegrationLogsError):
    """A response body was not JSON, or not of the documented shape.

    Carries ``method``, ``url`` (redacted), ``status`` and ``excerpt`` (start of the body).
    """

    def __init__(self, *, method: str, url: str, status: int, reason: str, body: bytes) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.reason = reason
        self.excerpt = excerpt(body)
        super().__init__(
            f"{method} {url} -> HTTP {status}: response body could not be decoded ({reason}). "
            f"Body starts with: {self.excerpt!r}. Check that base_url points at the provider's "
            "API; if the provider changed its format, report it with this message."
        )


class UnsafeURLError(IntegrationLogsError):
    """A URL from the server (pagination link, redirect) leaves the configured origin.

    No credentials were sent to it.
    """

    def __init__(
        self, url: str, *, expected_origin: str, context: str, reason: str | None = None
    ) -> None:
        self.url = url
        self.expected_origin = expected_origin
        why = reason or (
            f"it is outside the configured origin {expected_origin}, and credentials are only "
            "sent there. If the provider moved, set base_url to the new origin."
        )
        super().__init__(f"refusing to follow {context} {url}: {why}")


class PaginationError(IntegrationLogsError):
    """The provider's pagination is inconsistent, e.g. a ``next`` link that loops."""


class TailGapError(IntegrationLogsError):
    """A tail cannot guarantee it saw every log, e.g. a log appeared later than its look-back
    window allows, or carries no ``created_at`` to place it by. The tail ends rather than
    skip it silently; its last checkpoint is still exact up to there."""


class FanOutError(IntegrationLogsError):
    """One or more child streams of a fan-out failed.

    ``failures`` maps a child's label (e.g. ``"integration 42"``, or ``"listing the
    integrations"`` when listing the children failed) to its exception. With one failure the
    message is ``"LABEL: REASON"``.
    """

    def __init__(self, failures: dict[str, BaseException]) -> None:
        self.failures = failures
        shown = "; ".join(f"{label}: {exc}" for label, exc in list(failures.items())[:3])
        if len(failures) == 1:  # the one failure says it all
            super().__init__(shown)
            return
        more = f" (and {len(failures) - 3} more)" if len(failures) > 3 else ""
        super().__init__(f"{len(failures)} stream(s) failed: {shown}{more}")


def excerpt(body: bytes, limit: int = ERROR_EXCERPT_CHARS) -> str:
    """A short, printable start of a response body for messages."""
    text = body[: limit * 4].decode("utf-8", errors="replace")
    text = " ".join(text.split())
    return text[:limit] + ("…" if len(text) > limit else "")


_STATUS_CLASSES: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: BadRequestError,
    429: RateLimitError,
}


def error_class_for(status: int) -> type[APIError]:
    """The :class:`APIError` subclass for an HTTP status."""
    if status >= 500:
        return ServerError
    return _STATUS_CLASSES.get(status, APIError)


class ResponseTooLargeError(IntegrationLogsError):
    """A response body exceeded ``max_response_bytes``; it was not read into memory."""

    def __init__(self, *, method: str, url: str, status: int, limit: int) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.limit = limit
        super().__init__(
            f"{method} {url} -> HTTP {status}: response body exceeds max_response_bytes="
            f"{limit}; reading stopped. Lower page_size or raise max_response_bytes if the "
            "provider's pages are legitimately that large."
        )


__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "DecodeError",
    "FanOutError",
    "IntegrationLogsError",
    "NotFoundError",
    "OffsetCeilingError",
    "PaginationError",
    "PermissionDeniedError",
    "ProviderError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ServerError",
    "TailGapError",
    "TransportError",
    "UnsafeURLError",
]
