"""Shared server state and the per-request exchange record handlers write into."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from aiohttp import web

from ._arrivals import Arrivals
from ._auth import AuthRegistry, RateLimiter
from ._config import EmulatorConfig, Provider
from ._faults import FaultConfig, FaultKind, FaultPolicy
from ._records import AuthScheme, Category, RequestStats
from ._store import Store


class EmulatorState:
    """Everything the request handlers share: config, data, auth, faults, stats, arrivals."""

    def __init__(self, config: EmulatorConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.auth = AuthRegistry(config)
        self.limiter = RateLimiter(config.rate_limit_rps) if config.rate_limit_rps else None
        self.faults = FaultPolicy(config.faults)
        self.stats = RequestStats(config.request_log_size)
        self.arrivals = Arrivals(config, store)
        """Logs arriving on a schedule (ticks only while the server runs)."""
        self.closing = asyncio.Event()
        """Set while the server stops: injected sleeps end early."""

    async def pause(self, seconds: float) -> None:
        """Sleep for an injected delay, or until the server starts stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closing.wait(), seconds)

    def set_faults(self, faults: FaultConfig) -> None:
        """Replace the fault policy; its schedule counts requests from now on."""
        self.faults = FaultPolicy(faults)


STATE = web.AppKey("integration_logs_async.emulator.state", EmulatorState)


@dataclass(slots=True)
class Exchange:
    """What the pipeline and the handler learn about one request, for the request log."""

    provider: Provider | None
    category: Category
    auth_scheme: AuthScheme | None = None
    credential: str | None = None
    fault: FaultKind | None = None
    next_origin: str | None = None
    """Set by the ``foreign_next`` fault: origin to use in the ``next`` link."""
    next_rewritten: bool = False
    """Set by handlers when they did put ``next_origin`` into a link."""


_CURRENT: ContextVar[Exchange | None] = ContextVar("emulator_exchange", default=None)


@contextmanager
def exchange_context(exchange: Exchange) -> Iterator[None]:
    """Make ``exchange`` the current one while the pipeline runs a request.

    aiohttp serves each request in its own task and the middleware awaits the
    handler directly, so the handler sees the exchange of its own request.
    """
    token = _CURRENT.set(exchange)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def exchange_of(request: web.Request) -> Exchange:
    """The exchange of the request being handled (a blank one outside the pipeline)."""
    del request  # kept in the signature: handlers ask "for this request"
    return _CURRENT.get() or Exchange(None, "other")


def state_of(request: web.Request) -> EmulatorState:
    """The shared state of the app serving ``request``."""
    return request.app[STATE]


def origin_of(request: web.Request) -> str:
    """``scheme://host[:port]`` the client used, for absolute links."""
    return f"{request.scheme}://{request.host}"
