"""The request pipeline (an aiohttp middleware).

For data and token endpoints, in order: count the request and draw its fault,
sleep for injected latency or a ``slow`` fault, check the credentials (data
endpoints; token handlers check their own), answer an error-status fault,
answer a ``foreign_redirect`` (data endpoints), answer 401 for bad
credentials, apply the per-credential rate limit, run the handler, then cut
the answer short for ``truncated`` or ``reset``.  Every request except admin
ones ends up in the request log; data requests also count towards
``max_in_flight``.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from . import _responses as responses
from ._config import Provider
from ._faults import NO_FAULT, STATUS_FAULTS, FaultDecision, FaultKind
from ._records import Category, RequestRecord
from ._state import EmulatorState, Exchange, exchange_context, state_of

ADMIN_PREFIX = "/_emulator"
SENDCLOUD_TOKEN_PATHS = ("/oauth2/token", "/oauth2/token/")
ELASTICPATH_TOKEN_PATH = "/oauth/access_token"
KEPT_HEADERS = ("Link",)
"""Headers of the handler's answer that ``truncated`` and ``reset`` faults keep."""


def classify(
    path: str, sendcloud_prefix: str, sendcloud_v3_prefix: str | None = None
) -> tuple[Provider | None, Category]:
    """Which provider and kind of endpoint a path belongs to (Sendcloud v2 and v3 alike)."""
    for prefix in (sendcloud_prefix, sendcloud_v3_prefix):
        if prefix is not None and (path == prefix or path.startswith(prefix + "/")):
            return "sendcloud", "data"
    if path.startswith("/v2/"):
        return "elasticpath", "data"
    if path in SENDCLOUD_TOKEN_PATHS:
        return "sendcloud", "token"
    if path == ELASTICPATH_TOKEN_PATH:
        return "elasticpath", "token"
    return None, "other"


@web.middleware
async def pipeline(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Fault injection, authentication, rate limiting and request logging."""
    if request.path.startswith(ADMIN_PREFIX):
        return await handler(request)
    state = state_of(request)
    config = state.config
    provider, category = classify(request.path, config.sendcloud_prefix, config.sendcloud_v3_prefix)
    exchange = Exchange(provider, category)
    started = time.monotonic()
    status = 500
    decision = NO_FAULT
    if category == "data":
        state.stats.enter()
    try:
        if provider is not None and _faultable(state, category):
            decision = state.faults.decide()
        with exchange_context(exchange):
            response = await _process(request, handler, state, exchange, decision)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = 499  # client went away (nginx's convention)
        raise
    finally:
        if category == "data":
            state.stats.leave()
        state.stats.add(
            RequestRecord(
                method=request.method,
                path=request.path,
                query_string=request.query_string,
                provider=provider,
                category=category,
                auth_scheme=exchange.auth_scheme,
                credential=exchange.credential,
                status=status,
                started=started,
                finished=time.monotonic(),
                fault=exchange.fault,
                delay=decision.delay,
            )
        )


def _faultable(state: EmulatorState, category: Category) -> bool:
    if category == "data":
        return True
    return category == "token" and state.faults.config.include_token_endpoints


async def _process(
    request: web.Request,
    handler: Handler,
    state: EmulatorState,
    exchange: Exchange,
    decision: FaultDecision,
) -> web.StreamResponse:
    early = await _gate(request, state, exchange, decision)
    if early is not None:
        return early
    if decision.kind is FaultKind.FOREIGN_NEXT:
        port = str(request.url.port or "")
        exchange.next_origin = state.faults.config.foreign_origin.replace("{port}", port)
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # unknown route or method: answer in the provider's format
        if exchange.provider is None or exc.status < 400:
            raise
        return responses.provider_error(exchange.provider, request, exc.status)
    if exchange.next_rewritten:
        exchange.fault = FaultKind.FOREIGN_NEXT
    return await _cut_short(request, response, exchange, decision.kind)


async def _gate(
    request: web.Request, state: EmulatorState, exchange: Exchange, decision: FaultDecision
) -> web.Response | None:
    """Injected delays, then the answers that replace the handler's: faults, 401, 429."""
    kind = decision.kind
    if decision.delay > 0:
        await state.pause(decision.delay)
    if kind is FaultKind.SLOW:
        exchange.fault = kind
        await state.pause(state.faults.config.slow_seconds)
    if exchange.category != "data" or exchange.provider is None:
        return _status_fault(request, state, exchange, decision) if kind in STATUS_FAULTS else None
    # Credentials are read before a fault is answered so that the request log shows the sender.
    result = state.auth.authenticate(exchange.provider, request.headers.get("Authorization"))
    exchange.auth_scheme, exchange.credential = result.scheme, result.credential
    if kind in STATUS_FAULTS:
        return _status_fault(request, state, exchange, decision)
    if kind is FaultKind.FOREIGN_REDIRECT:
        exchange.fault = kind
        return _foreign_redirect(request, state)
    if not result.ok:
        return responses.unauthorized(exchange.provider, request)
    if state.limiter is not None and not state.limiter.allow(result.credential or ""):
        return responses.provider_error(
            exchange.provider, request, 429, headers={"Retry-After": "1"}
        )
    return None


async def _cut_short(
    request: web.Request,
    response: web.StreamResponse,
    exchange: Exchange,
    kind: FaultKind | None,
) -> web.StreamResponse:
    """Apply a ``truncated`` or ``reset`` fault to the handler's answer."""
    if kind not in (FaultKind.TRUNCATED, FaultKind.RESET) or not isinstance(response, web.Response):
        return response
    exchange.fault = kind
    if kind is FaultKind.TRUNCATED:
        return _truncated(response)
    return await _reset(request, response)


def _status_fault(
    request: web.Request, state: EmulatorState, exchange: Exchange, decision: FaultDecision
) -> web.Response:
    assert decision.kind is not None and exchange.provider is not None
    exchange.fault = decision.kind
    status, html = STATUS_FAULTS[decision.kind]
    headers = {}
    if decision.kind is FaultKind.RATE_LIMITED:
        headers["Retry-After"] = str(state.faults.config.retry_after_seconds)
    if html:
        return responses.html_error(status, headers)
    return responses.provider_error(
        exchange.provider, request, status, number=decision.number, headers=headers
    )


def _foreign_redirect(request: web.Request, state: EmulatorState) -> web.Response:
    """``302`` to the same path and query on the configured foreign origin."""
    port = str(request.url.port or "")
    origin = state.faults.config.foreign_origin.replace("{port}", port).rstrip("/")
    return web.Response(status=302, headers={"Location": origin + request.path_qs})


def _body_of(response: web.Response) -> bytes:
    body = response.body
    return bytes(body) if isinstance(body, bytes | bytearray | memoryview) else b""


def _truncated(response: web.Response) -> web.Response:
    """Same status and type, but only the first half of the body."""
    body = _body_of(response)
    return web.Response(
        body=body[: len(body) // 2],
        status=response.status,
        content_type=response.content_type,
        headers=_kept_headers(response),
    )


def _kept_headers(response: web.Response) -> dict[str, str]:
    """Headers a cut-short answer keeps: Sendcloud v3's ``Link`` (its next page)."""
    return {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}


async def _reset(request: web.Request, response: web.Response) -> web.StreamResponse:
    """Announce the full body, send half of it, then abort the connection."""
    body = _body_of(response)
    stream = web.StreamResponse(status=response.status, headers=_kept_headers(response))
    stream.content_type = response.content_type
    stream.content_length = len(body)
    await stream.prepare(request)
    await stream.write(body[: len(body) // 2])
    transport = request.transport
    if transport is not None:
        transport.abort()
    return stream
