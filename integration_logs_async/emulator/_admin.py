"""Admin endpoints under ``/_emulator/`` (no authentication, never faulted or logged).

- ``GET  /_emulator/info``: URLs, credentials and environment variables
- ``GET  /_emulator/faults``: the current :class:`FaultConfig` as JSON
- ``PUT  /_emulator/faults``: replace it (a JSON object in a shape of :meth:`FaultConfig.coerce`:
  FaultConfig fields, rates by kind ``{"server_error": 0.2}``, a schedule ``{"3": "reset"}``)
- ``GET  /_emulator/requests``: the request log
- ``GET  /_emulator/stats``: in-flight counters, log sizes and the server's CPU time
- ``POST /_emulator/logs``: ``{"provider", "count", "integration_id"?}`` grows a store
- ``POST /_emulator/reset-stats``: clear the request log and ``max_in_flight``
- ``POST /_emulator/expire-tokens``: invalidate every issued token
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from aiohttp import web

from . import _responses as responses
from ._config import PROVIDERS, Provider
from ._faults import FaultConfig
from ._info import connection_info
from ._pipeline import ADMIN_PREFIX
from ._state import origin_of, state_of


def _bad_request(message: str) -> web.Response:
    return responses.json_response({"error": message}, 400)


async def _json_body(request: web.Request) -> Any:
    return msgspec.json.decode(await request.read())


async def info(request: web.Request) -> web.Response:
    """URLs, credentials and environment variables of this emulator."""
    return responses.json_response(connection_info(origin_of(request), state_of(request).config))


async def get_faults(request: web.Request) -> web.Response:
    """The current fault configuration."""
    return responses.json_response(state_of(request).faults.config.to_dict())


async def put_faults(request: web.Request) -> web.Response:
    """Replace the fault configuration (the schedule restarts counting)."""
    try:
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise ValueError("expected a JSON object")
        faults = FaultConfig.coerce(body)
    except (msgspec.DecodeError, ValueError) as exc:
        return _bad_request(str(exc))
    state_of(request).set_faults(faults)
    return responses.json_response(faults.to_dict())


async def get_requests(request: web.Request) -> web.Response:
    """The request log, oldest first."""
    records = state_of(request).stats.records
    return responses.json_response([record.to_dict() for record in records])


async def get_stats(request: web.Request) -> web.Response:
    """Concurrency counters, store sizes and the process CPU time (for benchmarks)."""
    state = state_of(request)
    return responses.json_response(
        {
            "in_flight": state.stats.in_flight,
            "max_in_flight": state.stats.max_in_flight,
            "requests": len(state.stats.records),
            "logs": {provider: state.store.log_count(provider) for provider in PROVIDERS},
            "cpu_seconds": time.process_time(),
        }
    )


async def add_logs(request: web.Request) -> web.Response:
    """Grow a provider's store with newer logs."""
    try:
        body = await _json_body(request)
        provider = body["provider"]
        count = body["count"]
        integration_id = body.get("integration_id")
        if provider not in PROVIDERS or not isinstance(count, int) or count < 0:
            raise ValueError("need provider 'sendcloud' or 'elasticpath' and a count >= 0")
    except (msgspec.DecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return _bad_request(f"bad request: {exc}")
    store = state_of(request).store
    chosen: Provider = provider
    try:
        ids = store.add_logs(chosen, count, integration_id)
    except KeyError as exc:
        return responses.json_response({"error": str(exc.args[0])}, 404)
    return responses.json_response(
        {"provider": chosen, "added": len(ids), "total": store.log_count(chosen), "ids": ids},
        201,
    )


async def reset_stats(request: web.Request) -> web.Response:
    """Clear the request log and the concurrency peak."""
    state_of(request).stats.reset()
    return web.Response(status=204)


async def expire_tokens(request: web.Request) -> web.Response:
    """Invalidate every issued access token."""
    state_of(request).auth.expire_tokens()
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    """Register the admin routes."""
    app.router.add_get(f"{ADMIN_PREFIX}/info", info)
    app.router.add_get(f"{ADMIN_PREFIX}/faults", get_faults)
    app.router.add_put(f"{ADMIN_PREFIX}/faults", put_faults)
    app.router.add_get(f"{ADMIN_PREFIX}/requests", get_requests)
    app.router.add_get(f"{ADMIN_PREFIX}/stats", get_stats)
    app.router.add_post(f"{ADMIN_PREFIX}/logs", add_logs)
    app.router.add_post(f"{ADMIN_PREFIX}/reset-stats", reset_stats)
    app.router.add_post(f"{ADMIN_PREFIX}/expire-tokens", expire_tokens)
