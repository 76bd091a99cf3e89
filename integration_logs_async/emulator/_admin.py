"""Admin endpoints under ``/_emulator/`` (no authentication, never faulted or logged).

- ``GET  /_emulator/info``: URLs, credentials and environment variables
- ``GET  /_emulator/faults``: the current :class:`FaultConfig` as JSON
- ``PUT  /_emulator/faults``: replace it (a JSON object in a shape of :meth:`FaultConfig.coerce`:
  FaultConfig fields, rates by kind ``{"server_error": 0.2}``, a schedule ``{"3": "reset"}``)
- ``GET  /_emulator/requests``: the request log
- ``GET  /_emulator/stats``: in-flight counters, log sizes and the server's CPU time
- ``POST /_emulator/logs``: add logs (body: see :func:`add_logs`)
- ``POST /_emulator/logs/delete``: delete logs by id (body: see :func:`delete_logs`)
- ``GET  /_emulator/arrivals``: the arrival schedule and the logs it added so far
- ``PUT  /_emulator/arrivals``: set it, ``{"rate": 5 | "30/m", "providers": ["sendcloud"]}``
- ``POST /_emulator/reset-stats``: clear the request log and ``max_in_flight``
- ``POST /_emulator/expire-tokens``: invalidate every issued token
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from aiohttp import web

from . import _responses as responses
from ._arrivals import parse_rate
from ._config import PROVIDERS, Provider
from ._faults import FaultConfig
from ._info import connection_info
from ._log_fields import LogFieldError, field_names
from ._pipeline import ADMIN_PREFIX
from ._state import origin_of, state_of


def _bad_request(message: str) -> web.Response:
    return responses.json_response({"error": message}, 400)


async def _json_body(request: web.Request) -> Any:
    return msgspec.json.decode(await request.read())


async def info(request: web.Request) -> web.Response:
    """URLs, credentials, environment variables and arrivals of this emulator."""
    state = state_of(request)
    info = connection_info(origin_of(request), state.config)
    return responses.json_response({**info, "arrivals": state.arrivals.to_dict()})


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


def _field_error(field: str | None, message: str, allowed: str, status: int = 400) -> web.Response:
    return responses.json_response({"error": message, "field": field, "allowed": allowed}, status)


_PROVIDER_ALLOWED = "sendcloud or elasticpath"
_BODY_KEYS = "the body's own keys provider, count, integration_id"
_JOBS_ALLOWED = "a job of the integration, as listed by GET /v2/integrations/{id}/jobs"


async def add_logs(request: web.Request) -> web.Response:
    """Add logs at the head of a provider's listings; the admin twin of ``Emulator.add_logs``.

    Body, a JSON object::

        {
          "provider": "sendcloud" | "elasticpath",      required
          "count": 3,                                   integer >= 0, default 1
          "integration_id": 12345 | "uuid",             default: spread over all
          "status_code": 503 | null,                    100-599; null = no response
          "failed": true,                               default: no status or not 2xx
          "error": "...",                               Sendcloud exception, EP error_detail
          "body": "...",                                the response body
          "created_at": "2024-06-01T12:00:00Z",         ISO 8601 with an offset
          "method", "full_url", "exception_type", "protected"    Sendcloud only
          "job_id", "attempt", "processing_time"                 Elastic Path only
        }

    Answers 201 ``{"provider", "added", "total", "ids"}`` (ids oldest first); 400
    ``{"error", "field", "allowed"}`` naming the wrong field and what it allows; 404 (same
    shape, field ``integration_id`` or ``job_id``) for an unknown integration or job.
    """
    try:
        body = await _json_body(request)
    except msgspec.DecodeError as exc:
        return _field_error(None, f"the body is not JSON: {exc}", "a JSON object")
    if not isinstance(body, dict):
        return _field_error(None, "the body is not a JSON object", "a JSON object")
    fields = dict(body)
    provider = fields.pop("provider", None)
    if provider not in PROVIDERS:
        problem = "missing" if provider is None else f"{provider!r} is not allowed"
        return _field_error("provider", f"provider: {problem}", _PROVIDER_ALLOWED)
    chosen: Provider = provider
    count = fields.pop("count", 1)
    integration_id = fields.pop("integration_id", None)
    store = state_of(request).store
    try:
        ids = store.add_logs(chosen, count, integration_id, fields)
    except LogFieldError as exc:
        error = exc
        if exc.field in fields and exc.field not in field_names(chosen):  # no field of its logs
            error = LogFieldError(exc.field, exc.problem, f"{_BODY_KEYS}; {exc.allowed}")
        return _field_error(error.field, str(error), error.allowed)
    except KeyError as exc:
        message = str(exc.args[0])
        if message.startswith("no job"):
            return _field_error("job_id", f"job_id: {message}", _JOBS_ALLOWED, 404)
        ids = store.integration_ids(chosen)
        shown = ", ".join(str(i) for i in ids[:10]) + (", ..." if len(ids) > 10 else "")
        return _field_error("integration_id", f"integration_id: {message}", f"one of {shown}", 404)
    return responses.json_response(
        {"provider": chosen, "added": len(ids), "total": store.log_count(chosen), "ids": ids},
        201,
    )


async def delete_logs(request: web.Request) -> web.Response:
    """Delete logs from every listing of a provider; the admin twin of ``Emulator.delete_logs``.

    Body ``{"provider": "sendcloud" | "elasticpath", "ids": [...]}``.  Answers 200
    ``{"provider", "deleted", "total"}``; 400 ``{"error", "field", "allowed"}`` for a bad
    body; 404 (same shape, field ``ids``) when an id is not a live log, and then nothing
    is deleted.
    """
    try:
        body = await _json_body(request)
    except msgspec.DecodeError as exc:
        return _field_error(None, f"the body is not JSON: {exc}", "a JSON object")
    if not isinstance(body, dict):
        return _field_error(None, "the body is not a JSON object", "a JSON object")
    provider = body.get("provider")
    if provider not in PROVIDERS:
        problem = "missing" if provider is None else f"{provider!r} is not allowed"
        return _field_error("provider", f"provider: {problem}", _PROVIDER_ALLOWED)
    chosen: Provider = provider
    ids = body.get("ids")
    if not isinstance(ids, list):
        return _field_error("ids", f"ids: {ids!r} is not allowed", "a list of log ids")
    unknown = sorted(set(body) - {"provider", "ids"})
    if unknown:
        return _field_error(unknown[0], f"{unknown[0]}: unknown key", "provider, ids")
    store = state_of(request).store
    try:
        deleted = store.delete_logs(chosen, ids)
    except LogFieldError as exc:
        return _field_error(exc.field, str(exc), exc.allowed)
    except KeyError as exc:
        message = str(exc.args[0])
        return _field_error("ids", f"ids: {message}", "ids of live logs of the provider", 404)
    return responses.json_response(
        {"provider": chosen, "deleted": deleted, "total": store.log_count(chosen)}
    )


async def get_arrivals(request: web.Request) -> web.Response:
    """The arrival schedule and the logs it added so far, per provider."""
    return responses.json_response(state_of(request).arrivals.to_dict())


async def put_arrivals(request: web.Request) -> web.Response:
    """Set the arrival schedule: ``{"rate": 5 | "30/m", "providers": [...]}`` (providers
    default to both; rate 0 stops).  Answers the new schedule, 400 ``{"error"}`` when bad."""
    try:
        body = await _json_body(request)
        if not isinstance(body, dict) or "rate" not in body:
            raise ValueError('expected a JSON object with "rate" (e.g. 5, "30/m")')
        rate = body["rate"]
        if isinstance(rate, str):
            rate = parse_rate(rate)
        arrivals = state_of(request).arrivals
        arrivals.set(rate, body.get("providers"))
    except (msgspec.DecodeError, ValueError) as exc:
        return _bad_request(str(exc))
    return responses.json_response(arrivals.to_dict())


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
    app.router.add_post(f"{ADMIN_PREFIX}/logs/delete", delete_logs)
    app.router.add_get(f"{ADMIN_PREFIX}/arrivals", get_arrivals)
    app.router.add_put(f"{ADMIN_PREFIX}/arrivals", put_arrivals)
    app.router.add_post(f"{ADMIN_PREFIX}/reset-stats", reset_stats)
    app.router.add_post(f"{ADMIN_PREFIX}/expire-tokens", expire_tokens)
