"""Elastic Path routes: integrations, jobs and logs (offset paginated), access tokens."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import msgspec
from aiohttp import web

from . import _responses as responses
from ._auth import CredentialKind
from ._paging import LIMIT, OFFSET, PageError, page_links, page_meta, parse_page
from ._pipeline import ELASTICPATH_TOKEN_PATH
from ._state import exchange_of, origin_of, state_of

NOT_FOUND_DETAIL = "The resource could not be found"


def _not_found() -> web.Response:
    return responses.elasticpath_error(404, "Not Found", NOT_FOUND_DETAIL)


def _listing(
    request: web.Request, count: int, join: Callable[[Iterable[int]], bytes]
) -> web.Response:
    """A paginated listing of ``count`` items, newest first.

    ``join(ks)`` renders the items numbered ``ks`` (0 = oldest), comma-separated.
    """
    state = state_of(request)
    config = state.config
    query = dict(request.query)
    try:
        page = parse_page(
            query, config.ep_page_limit, config.ep_max_page_limit, config.ep_offset_ceiling
        )
    except PageError as exc:
        return responses.elasticpath_error(400, "Bad Request", str(exc))
    newest = count - 1 - page.offset
    items = join(range(newest, max(newest - page.limit, -1), -1))
    exchange = exchange_of(request)
    origin = origin_of(request)
    others = [(k, v) for k, v in request.query.items() if k not in (LIMIT, OFFSET)]
    next_base = f"{exchange.next_origin}{request.path}" if exchange.next_origin else None
    links = page_links(f"{origin}{request.path}", others, page, count, next_base)
    exchange.next_rewritten = next_base is not None and links["next"] is not None
    tail = {"links": links, **page_meta(page, count, config.ep_meta_style)}
    body = b'{"data":[' + items + b"]," + msgspec.json.encode(tail)[1:]
    return responses.json_bytes(body)


def _logs(request: web.Request, scope: Sequence[int]) -> web.Response:
    join = state_of(request).store.elasticpath.join
    return _listing(request, len(scope), lambda ks: join(scope[k] for k in ks))


def _join_each(item: Callable[[int], bytes]) -> Callable[[Iterable[int]], bytes]:
    return lambda ks: b",".join(item(k) for k in ks)


async def list_integrations(request: web.Request) -> web.Response:
    """``GET /v2/integrations``."""
    store = state_of(request).store.elasticpath
    origin = origin_of(request)

    def item(k: int) -> bytes:
        integration = store.integrations[k]
        links = {"self": f"{origin}/v2/integrations/{integration.id}"}
        return msgspec.json.encode({**integration.obj, "links": links})

    return _listing(request, len(store.integrations), _join_each(item))


async def get_integration(request: web.Request) -> web.Response:
    """``GET /v2/integrations/{id}``."""
    store = state_of(request).store.elasticpath
    index = store.integration_index(request.match_info["id"])
    if index is None:
        return _not_found()
    integration = store.integrations[index]
    links = {"self": f"{origin_of(request)}/v2/integrations/{integration.id}"}
    return responses.json_response({"data": {**integration.obj, "links": links}})


async def list_logs(request: web.Request) -> web.Response:
    """``GET /v2/integrations/logs``: logs of all integrations."""
    return _logs(request, state_of(request).store.elasticpath.scope())


async def integration_logs(request: web.Request) -> web.Response:
    """``GET /v2/integrations/{id}/logs``."""
    store = state_of(request).store.elasticpath
    index = store.integration_index(request.match_info["id"])
    if index is None:
        return _not_found()
    return _logs(request, store.scope(index))


async def list_jobs(request: web.Request) -> web.Response:
    """``GET /v2/integrations/{id}/jobs``."""
    store = state_of(request).store.elasticpath
    index = store.integration_index(request.match_info["id"])
    if index is None:
        return _not_found()
    jobs = store.integrations[index].jobs

    def item(k: int) -> bytes:
        return msgspec.json.encode({"id": store.job_ids[jobs[k]], "type": "integration-job"})

    return _listing(request, len(jobs), _join_each(item))


async def job_logs(request: web.Request) -> web.Response:
    """``GET /v2/integrations/{id}/jobs/{job_id}/logs``."""
    store = state_of(request).store.elasticpath
    index = store.integration_index(request.match_info["id"])
    job = None if index is None else store.job_index(index, request.match_info["job_id"])
    if index is None or job is None:
        return _not_found()
    return _logs(request, store.scope(index, job))


def _token_error(status: int, title: str, detail: str) -> web.Response:
    """Token endpoint errors: the authentication spec gives ``status`` as a string."""
    error = {"status": str(status), "title": title, "detail": detail}
    return responses.json_response({"errors": [error]}, status)


async def issue_token(request: web.Request) -> web.Response:
    """``POST /oauth/access_token`` with form fields (client credentials grant)."""
    state = state_of(request)
    exchange = exchange_of(request)
    form = await request.post()
    client_id, secret = form.get("client_id"), form.get("client_secret")
    identity = client_id if isinstance(client_id, str) else None
    exchange.auth_scheme, exchange.credential = "form", identity
    if form.get("grant_type") != "client_credentials":
        return _token_error(400, "Bad Request", "grant_type must be client_credentials")
    secret_text = secret if isinstance(secret, str) else None
    if not state.auth.check(CredentialKind.EPCC_CLIENT, identity, secret_text):
        return _token_error(401, "Unauthorized", "Invalid client_id or client_secret")
    assert identity is not None
    token = state.auth.issue("elasticpath", identity)
    bearer = {
        "access_token": token.value,
        "token_type": "Bearer",
        "expires": token.expires_epoch,
        "expires_in": math.ceil(state.auth.token_ttl),
        "identifier": "client_credentials",
    }
    return responses.json_response({"data": bearer} if state.config.ep_token_under_data else bearer)


def add_routes(app: web.Application) -> None:
    """Register the Elastic Path routes."""
    app.router.add_get("/v2/integrations", list_integrations)
    app.router.add_get("/v2/integrations/logs", list_logs)
    app.router.add_get("/v2/integrations/{id}", get_integration)
    app.router.add_get("/v2/integrations/{id}/logs", integration_logs)
    app.router.add_get("/v2/integrations/{id}/jobs", list_jobs)
    app.router.add_get("/v2/integrations/{id}/jobs/{job_id}/logs", job_logs)
    app.router.add_post(ELASTICPATH_TOKEN_PATH, issue_token)
