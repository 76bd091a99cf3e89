"""The :class:`Emulator`: builds the store, serves both providers on one port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable, Mapping
from dataclasses import replace
from types import TracebackType
from typing import Any, Self, Unpack

from aiohttp import web

from ..auth import BasicAuth, ClientCredentials
from ..config import ClientSettings
from ..providers.elasticpath import ElasticPathClient
from ..providers.sendcloud import SendcloudClient, SendcloudV3Client
from . import _admin, _elasticpath, _sendcloud, _sendcloud_v3
from ._auth import CredentialKind
from ._config import EmulatorConfig, EmulatorOptions, Provider
from ._errors import EmulatorBindError, EmulatorLoopError
from ._faults import FaultConfig
from ._info import connection_info, environment
from ._log_fields import LogFields
from ._marshal import call_in_loop
from ._pipeline import pipeline
from ._records import RequestRecord
from ._state import STATE, EmulatorState
from ._store import LogId, Store

SHUTDOWN_TIMEOUT = 0.5
"""Seconds a stopping server waits for in-flight handlers (injected sleeps end at once)."""


def create_app(state: EmulatorState) -> web.Application:
    """The aiohttp application serving Sendcloud, Elastic Path and the admin endpoints."""
    app = web.Application(middlewares=[pipeline])
    app[STATE] = state
    _admin.add_routes(app)
    _sendcloud.add_routes(app, state.config.sendcloud_prefix)
    _sendcloud_v3.add_routes(app, state.config.sendcloud_v3_prefix)
    _elasticpath.add_routes(app)
    return app


class Emulator:
    """A local server emulating the Sendcloud and Elastic Path integration-log APIs.

    Use as ``async with Emulator(EmulatorConfig(...)) as emu:`` or with keyword
    shortcuts for any config field, e.g. ``Emulator(seed=1, logs=2000)``.  It
    binds ``config.host`` on ``config.port`` (0 = a free port).

    Changing the data while it serves: :meth:`add_logs` (new logs at the head of every
    listing), :meth:`delete_logs` (gone from every listing), :meth:`set_arrival_rate`
    (logs arriving on a schedule, see :attr:`arrivals`), :meth:`set_faults`.  These are
    safe to call from another thread than the server's (they run on its event loop).
    """

    def __init__(
        self, config: EmulatorConfig | None = None, /, **options: Unpack[EmulatorOptions]
    ) -> None:
        base = config or EmulatorConfig()
        changes: dict[str, Any] = dict(options)
        if "faults" in changes:  # a FaultConfig, or a dict shape of FaultConfig.coerce
            changes["faults"] = FaultConfig.coerce(changes["faults"])
        self.config = replace(base, **changes) if changes else base
        self._state: EmulatorState | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> Self:
        """Build the store (if not built yet) and start listening."""
        if self._runner is not None:
            raise RuntimeError("emulator already started")
        state = self._ensure_state()
        state.closing = asyncio.Event()  # bound to this start's event loop
        runner = web.AppRunner(
            create_app(state),
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=SHUTDOWN_TIMEOUT,
        )
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.config.host, self.config.port))
            except OSError as exc:
                raise EmulatorBindError(self.config.host, self.config.port, exc) from exc
            site = web.SockSite(runner, sock)
            await site.start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._port = sock.getsockname()[1]
        self._loop = asyncio.get_running_loop()
        self._runner = runner
        state.arrivals.start()
        return self

    async def stop(self) -> None:
        """Stop serving; in-flight requests get :data:`SHUTDOWN_TIMEOUT` to finish."""
        runner, self._runner = self._runner, None
        self._loop = None
        if runner is not None:
            state = self._ensure_state()
            state.closing.set()
            await state.arrivals.stop()
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _ensure_state(self) -> EmulatorState:
        if self._state is None:
            self._state = EmulatorState(self.config, Store(self.config))
        return self._state

    # -- where and how to connect ---------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("emulator not started")
        return self._port

    @property
    def url(self) -> str:
        """Base URL of the server, e.g. ``http://127.0.0.1:8080``."""
        return f"http://{self.config.host}:{self.port}"

    @property
    def sendcloud_url(self) -> str:
        """Sendcloud API base URL, e.g. ``http://127.0.0.1:8080/api/v2``."""
        return self.url + self.config.sendcloud_prefix

    @property
    def sendcloud_v3_url(self) -> str:
        """Sendcloud API v3 base URL, e.g. ``http://127.0.0.1:8080/api/v3`` (same store)."""
        return self.url + self.config.sendcloud_v3_prefix

    @property
    def sendcloud_token_url(self) -> str:
        """Sendcloud OAuth2 token URL."""
        return self.url + "/oauth2/token"

    @property
    def elasticpath_url(self) -> str:
        """Elastic Path API base URL (paths start with ``/v2`` and ``/oauth``)."""
        return self.url

    @property
    def elasticpath_token_url(self) -> str:
        """Elastic Path access-token URL."""
        return self.url + "/oauth/access_token"

    @property
    def admin_url(self) -> str:
        """Base URL of the admin endpoints."""
        return self.url + "/_emulator"

    @property
    def sendcloud_public_key(self) -> str:
        """Sendcloud API public key (HTTP Basic user name)."""
        return self.config.sendcloud_public_key

    @property
    def sendcloud_secret_key(self) -> str:
        """Sendcloud API secret key (HTTP Basic password)."""
        return self.config.sendcloud_secret_key

    @property
    def sendcloud_client_id(self) -> str:
        """Sendcloud OAuth2 client id."""
        return self.config.sendcloud_client_id

    @property
    def sendcloud_client_secret(self) -> str:
        """Sendcloud OAuth2 client secret."""
        return self.config.sendcloud_client_secret

    @property
    def epcc_client_id(self) -> str:
        """Elastic Path client id."""
        return self.config.epcc_client_id

    @property
    def epcc_client_secret(self) -> str:
        """Elastic Path client secret."""
        return self.config.epcc_client_secret

    def env(self) -> dict[str, str]:
        """Environment variables pointing a client at this emulator."""
        return environment(self.url, self.config)

    def info(self) -> dict[str, object]:
        """URLs, credentials, environment and arrivals, as ``emulate --json`` prints them."""
        arrivals = call_in_loop(self._loop, self._ensure_state().arrivals.to_dict)
        return {**connection_info(self.url, self.config), "arrivals": arrivals}

    def sendcloud_client(
        self, *, oauth: bool = False, **settings: Unpack[ClientSettings]
    ) -> SendcloudClient:
        """A :class:`SendcloudClient` for this emulator: HTTP Basic keys, or (``oauth=True``)
        OAuth2 client credentials from its token endpoint. ``settings`` as for the client."""
        self._check_loop()
        return SendcloudClient(self._sendcloud_auth(oauth), base_url=self.sendcloud_url, **settings)

    def sendcloud_v3_client(
        self, *, oauth: bool = False, **settings: Unpack[ClientSettings]
    ) -> SendcloudV3Client:
        """A :class:`SendcloudV3Client` for this emulator's Sendcloud API v3 routes (the same
        store and credentials as :meth:`sendcloud_client`)."""
        self._check_loop()
        return SendcloudV3Client(
            self._sendcloud_auth(oauth), base_url=self.sendcloud_v3_url, **settings
        )

    def _sendcloud_auth(self, oauth: bool) -> BasicAuth | ClientCredentials:
        if oauth:
            return ClientCredentials(
                self.sendcloud_client_id,
                self.sendcloud_client_secret,
                token_url=self.sendcloud_token_url,
            )
        return BasicAuth(self.sendcloud_public_key, self.sendcloud_secret_key)

    def elasticpath_client(self, **settings: Unpack[ClientSettings]) -> ElasticPathClient:
        """An :class:`ElasticPathClient` for this emulator (OAuth2 client credentials)."""
        self._check_loop()
        auth = ClientCredentials(self.epcc_client_id, self.epcc_client_secret)
        return ElasticPathClient(auth, base_url=self.elasticpath_url, **settings)

    def _check_loop(self) -> None:
        """Refuse a client while the server's loop is not running: it would never answer.

        A server on another loop that runs (in another thread) is fine.
        """
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:  # no loop yet: the client binds to one when used
            return
        server = self._loop
        if server is not None and running is not server and not server.is_running():
            raise EmulatorLoopError(
                f"the emulator at {self.url} serves on an event loop that is not running "
                "while this code runs, so it would never answer; start it on the loop that "
                "uses it (with pytest-asyncio: set asyncio_default_fixture_loop_scope to the "
                "tests' loop scope, or drop loop_scope from the test's asyncio marker)"
            )

    # -- data, faults, credentials and statistics -----------------------------------------

    @property
    def store(self) -> Store:
        """The synthetic data (built on first use)."""
        return self._ensure_state().store

    def add_logs(
        self,
        provider: Provider,
        count: int = 1,
        integration_id: LogId | None = None,
        **fields: Unpack[LogFields],
    ) -> list[LogId]:
        """Append ``count`` newer logs (at the head of every listing); returns their ids,
        oldest first.

        Without ``fields`` the logs are synthetic like the rest of the store.  With them,
        every new log has exactly those fields, in one vocabulary for both providers:
        ``status_code`` (None: no response), ``failed``, ``error``, ``body``, ``created_at``
        (an aware datetime or ISO 8601 string), and for Sendcloud ``method``, ``full_url``,
        ``exception_type``, ``protected``, for Elastic Path ``job_id``, ``attempt``,
        ``processing_time``.  ``failed`` defaults to "no status or not 2xx", ``status_code``
        to 500 for a failed log and 200 otherwise::

            emu.add_logs("sendcloud", 3, integration_id, status_code=503,
                         created_at=datetime(2024, 6, 1, 12, tzinfo=UTC))
            emu.add_logs("elasticpath", 1, failed=False)   # succeeded, status 200

        Listings stay in the order logs were added, whatever their ``created_at``.  Raises
        :class:`LogFieldError` (a ValueError naming the field and what is allowed) and
        KeyError for an unknown integration or job.
        """
        store = self.store
        return call_in_loop(
            self._loop, lambda: store.add_logs(provider, count, integration_id, fields)
        )

    def delete_logs(self, provider: Provider, ids: Iterable[LogId]) -> int:
        """Delete logs by id from every listing of ``provider``; returns how many.

        Sendcloud v2 and v3 (keyset cursors stay correct when the record a cursor points at
        is deleted) and Elastic Path (offset listings: later records move up one, totals
        shrink) alike; :attr:`store` lookups miss them too.  All or nothing: KeyError naming
        the ids that are not live logs of the provider (unknown or deleted already), and
        nothing is deleted; :class:`LogFieldError` for an id of the wrong type.
        """
        store, wanted = self.store, list(ids)
        return call_in_loop(self._loop, lambda: store.delete_logs(provider, wanted))

    def set_arrival_rate(
        self, rate: float, providers: Iterable[Provider] | Provider | None = None
    ) -> None:
        """Let ``rate`` synthetic logs per second arrive for each of ``providers`` (None:
        both) while the server runs; 0 stops.  The count restarts from now: ``t`` seconds
        later ``floor(rate * t)`` more logs per provider.  ValueError for a negative rate
        or an unknown provider.
        """
        arrivals = self._ensure_state().arrivals
        call_in_loop(self._loop, lambda: arrivals.set(rate, providers))

    @property
    def arrivals(self) -> dict[str, Any]:
        """The arrival schedule: ``rate`` (logs/s per provider), ``providers``,
        ``success_ratio`` and ``added`` (logs added by arrivals so far, per provider)."""
        return call_in_loop(self._loop, self._ensure_state().arrivals.to_dict)

    @property
    def faults(self) -> FaultConfig:
        """The fault configuration in force."""
        return self._ensure_state().faults.config

    def set_faults(self, faults: FaultConfig | Mapping[Any, Any] | None = None) -> None:
        """Replace the fault configuration (None: no faults); the schedule restarts.

        ``faults`` is a :class:`FaultConfig` or a dict in the shapes of
        :meth:`FaultConfig.coerce` (``{"server_error": 0.2}``, ``{3: "reset"}``...).
        """
        config, state = FaultConfig.coerce(faults), self._ensure_state()
        call_in_loop(self._loop, lambda: state.set_faults(config))

    def add_credential(self, kind: CredentialKind, identity: str, secret: str) -> None:
        """Accept another key pair or client (e.g. to test per-credential rate limits)."""
        self._ensure_state().auth.add(kind, identity, secret)

    def expire_tokens(self) -> None:
        """Invalidate every access token issued so far."""
        self._ensure_state().auth.expire_tokens()

    @property
    def issued_tokens(self) -> list[str]:
        """Every access token issued so far, oldest first (e.g. to scan output for leaks)."""
        return list(self._ensure_state().auth.issued)

    @property
    def requests(self) -> list[RequestRecord]:
        """The request log, oldest first (admin requests excluded)."""
        return self._ensure_state().stats.records

    @property
    def in_flight(self) -> int:
        """Data requests being handled right now."""
        return self._ensure_state().stats.in_flight

    @property
    def max_in_flight(self) -> int:
        """Most data requests handled at the same time since the last reset."""
        return self._ensure_state().stats.max_in_flight

    def reset_stats(self) -> None:
        """Clear the request log and the concurrency peak."""
        self._ensure_state().stats.reset()
