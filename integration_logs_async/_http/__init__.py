"""The HTTP layer (private): origin policy, response classifier, session, retries, tokens.

The rest of the package imports from here, not from the modules, which are:

- ``_origin``: which URLs may be requested (:class:`OriginPolicy`, ``check_base_url``);
- ``_classify``: what a response means (:class:`ResponseClassifier`), pure;
- ``_retry``: whether and how long to retry, pure, plus tenacity's wait;
- ``_transport``: :class:`AsyncTransport`: one attempt's I/O (redirects, 401 replay), pacing;
- ``_retry_loop``: tenacity, entered after a first failure;
- ``_response``: :class:`Response`, a decoded 2xx answer;
- ``_session``: the client's own aiohttp session (capped reads, read watch, receive buffers)
  or yours;
- ``_tokens``: credentials to ``Authorization`` headers; token requests, cache and refresh;
- ``_transport_errors``: connection failures in words a user can act on;
- ``_deadlines``, ``_read_timeout``, ``_socket_reads``, ``_body_buffers``, ``_ratelimit``,
  ``_decode_gate``, ``_redact``: the machinery each of those names.
"""

from ._body_buffers import Body, BodyBuffers
from ._classify import (
    OK,
    REAUTHENTICATE,
    ErrorParser,
    Failure,
    Outcome,
    Redirect,
    ResponseClassifier,
)
from ._deadlines import DeadlineClock
from ._decode_gate import DecodeGate
from ._origin import OriginPolicy, check_base_url, is_loopback
from ._ratelimit import AsyncRateLimiter
from ._redact import REDACTED, Secrets, redact_headers, redact_text, redact_url
from ._response import NO_LINKS, Links
from ._retry import parse_retry_after
from ._tokens import TokenEndpoint, parse_token_response
from ._transport import AsyncTransport, Response

__all__ = [
    "NO_LINKS",
    "OK",
    "REAUTHENTICATE",
    "REDACTED",
    "AsyncRateLimiter",
    "AsyncTransport",
    "Body",
    "BodyBuffers",
    "DeadlineClock",
    "DecodeGate",
    "ErrorParser",
    "Failure",
    "Links",
    "OriginPolicy",
    "Outcome",
    "Redirect",
    "Response",
    "ResponseClassifier",
    "Secrets",
    "TokenEndpoint",
    "check_base_url",
    "is_loopback",
    "parse_retry_after",
    "parse_token_response",
    "redact_headers",
    "redact_text",
    "redact_url",
]
