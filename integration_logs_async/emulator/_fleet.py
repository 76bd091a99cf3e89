"""The :class:`EmulatorFleet`: N independent emulators, one per store, in this event loop.

Each store is its own :class:`Emulator` on its own ``127.0.0.1`` port, with its own data
(seed ``seed + i``), rate-limit buckets, fault schedule and credentials (every credential
kind gets the suffix ``-007`` for store 7: ``emu-sendcloud-public-key-007``...), so a
store's keys are refused by every other store.  :meth:`EmulatorFleet.env` gives the
credentials as environment variables and :meth:`EmulatorFleet.stores_toml` a stores file
referring to them, for ``integration-logs fleet`` and the fleet benchmark.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Literal, Self

from ._config import EmulatorConfig, Provider
from ._faults import FaultConfig, FaultKind
from ._fleet_toml import check_env_prefix, render_stores_toml
from ._server import Emulator

__all__ = ["EmulatorFleet", "FleetAuth", "FleetStore"]

FleetAuth = Literal["basic", "oauth2"]
"""How a fleet's Sendcloud stores authenticate: API keys (HTTP Basic) or OAuth2 clients.
Elastic Path stores always use OAuth2 client credentials."""

_NAME = re.compile(r"[A-Za-z0-9._:-]{1,200}")
_CREDENTIAL_FIELDS = (
    "sendcloud_public_key",
    "sendcloud_secret_key",
    "sendcloud_client_id",
    "sendcloud_client_secret",
    "epcc_client_id",
    "epcc_client_secret",
)


@dataclass(frozen=True, kw_only=True, slots=True)
class FleetStore:
    """One store of a running fleet, as a stores file and a client see it.

    ``credentials`` maps each credential key of the stores file (``public_key``,
    ``secret_key`` or ``client_id``, ``client_secret``, ``token_url``) to the name of its
    environment variable; ``env`` maps those names to the values (the emulator's fake
    secrets).
    """

    name: str
    provider: Provider
    api_version: int | None
    base_url: str
    credentials: Mapping[str, str]
    env: Mapping[str, str] = field(repr=False)  # fake secrets, still kept out of reprs
    emulator: Emulator = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (name, provider, api_version, base_url, url, admin_url,
        credentials as variable names, env with the fake values)."""
        return {
            "name": self.name,
            "provider": self.provider,
            "api_version": self.api_version,
            "base_url": self.base_url,
            "url": self.emulator.url,
            "admin_url": self.emulator.admin_url,
            "credentials": dict(self.credentials),
            "env": dict(self.env),
        }


def _per_store_logs(logs: int | Sequence[int] | None, count: int) -> list[int | None]:
    if logs is None or isinstance(logs, int):
        if isinstance(logs, bool):
            raise ValueError("logs must be a number of logs, or one number per store")
        return [logs] * count
    values = list(logs)
    if len(values) != count or not all(
        isinstance(n, int) and not isinstance(n, bool) for n in values
    ):
        raise ValueError(f"logs must be one number, or a list of {count} numbers (one per store)")
    return list(values)


def _tags(count: int) -> list[str]:
    """Store numbers as written in default names, credentials and variables: 000, 001..."""
    width = max(3, len(str(count - 1)))
    return [f"{i:0{width}d}" for i in range(count)]


def _check_names(names: Sequence[str] | None, count: int) -> list[str]:
    if names is None:
        return [f"store-{tag}" for tag in _tags(count)]
    result = list(names)
    if len(result) != count:
        raise ValueError(f"names must give {count} store names, got {len(result)}")
    for name in result:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(
                f"store name {name!r} must be 1 to 200 letters, digits or . _ : - characters"
            )
    if len(set(result)) != count:
        raise ValueError("store names must be unique")
    return result


def _with_latency(faults: FaultConfig, latency: float) -> FaultConfig:
    """``faults`` plus ``latency`` seconds on every data request (0: unchanged)."""
    if isinstance(latency, bool) or not isinstance(latency, int | float) or not latency >= 0:
        raise ValueError(f"latency must be a number of seconds >= 0, not {latency!r}")
    if latency == 0:
        return faults
    rates = {**faults.rates, FaultKind.LATENCY: 1.0}
    return replace(faults, rates=rates, latency_seconds=float(latency))


class EmulatorFleet:
    """``count`` independent emulators, one per store, each on its own port of ``config.host``.

    ``config`` is the template of every store (default :class:`EmulatorConfig`); store
    ``i`` gets seed ``seed + i`` (``seed`` defaults to ``config.seed``), fault seed
    ``config.faults.seed + i`` (stores do not fault in lockstep), port ``config.port + i``
    when ``config.port`` is not 0 (0: free ports), and credentials of every kind suffixed
    with its number.  ``logs`` (one count, or one per store) sets ``EmulatorConfig.logs``;
    ``rate_limit`` (requests/s per credential, None: ``config.rate_limit_rps``) and
    ``latency`` (seconds added to every data request through the fault configuration) apply
    to each store separately.  ``provider``, ``api_version`` (Sendcloud: 2 or 3) and
    ``auth`` (Sendcloud: ``"basic"`` keys, the default, or ``"oauth2"`` clients) say which
    API the stores file and :meth:`env` point clients at; the emulators serve both providers
    anyway.
    Default store names are ``store-000``, ``store-001``...

    Use as ``async with EmulatorFleet(3, logs=200) as fleet:``.
    """

    def __init__(
        self,
        count: int,
        *,
        provider: Provider = "sendcloud",
        api_version: int = 2,
        auth: FleetAuth | None = None,
        config: EmulatorConfig | None = None,
        logs: int | Sequence[int] | None = None,
        rate_limit: int | None = None,
        latency: float = 0.0,
        seed: int | None = None,
        names: Sequence[str] | None = None,
    ) -> None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"a fleet needs at least one store, not {count!r}")
        if provider not in ("sendcloud", "elasticpath"):
            raise ValueError(f"provider must be 'sendcloud' or 'elasticpath', not {provider!r}")
        if provider == "sendcloud" and api_version not in (2, 3):
            raise ValueError(f"Sendcloud api_version must be 2 or 3, not {api_version!r}")
        auth = auth or ("oauth2" if provider == "elasticpath" else "basic")
        if auth not in ("basic", "oauth2") or (provider == "elasticpath" and auth == "basic"):
            raise ValueError(
                f"auth must be 'basic' or 'oauth2' (Elastic Path: 'oauth2'), not {auth!r}"
            )
        base = config or EmulatorConfig()
        self.provider: Provider = provider
        self.api_version: int | None = api_version if provider == "sendcloud" else None
        self.auth: FleetAuth = auth
        self.names: list[str] = _check_names(names, count)
        self._tags = _tags(count)
        faults = _with_latency(base.faults, latency)
        per_store_logs = _per_store_logs(logs, count)
        first_seed = base.seed if seed is None else seed
        self.emulators: list[Emulator] = []
        for i, (tag, store_logs) in enumerate(zip(self._tags, per_store_logs, strict=True)):
            changes: dict[str, Any] = {
                name: f"{getattr(base, name)}-{tag}" for name in _CREDENTIAL_FIELDS
            }
            changes.update(
                seed=first_seed + i,
                port=base.port + i if base.port else 0,
                faults=replace(faults, seed=faults.seed + i),
            )
            if store_logs is not None:
                changes["logs"] = store_logs
            if rate_limit is not None:
                changes["rate_limit_rps"] = rate_limit
            self.emulators.append(Emulator(replace(base, **changes)))
        self._running = False

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> Self:
        """Start every store concurrently; if one cannot start, stop the others and raise
        its error (e.g. :class:`EmulatorBindError`, with a note naming the store)."""
        if self._running:
            raise RuntimeError("emulator fleet already started")
        self._running = True
        try:
            results = await asyncio.gather(
                *(emu.start() for emu in self.emulators), return_exceptions=True
            )
        except BaseException:  # cancelled while starting: leave nothing listening
            await self.stop()
            raise
        for name, result in zip(self.names, results, strict=True):
            if isinstance(result, BaseException):
                await self.stop()
                result.add_note(f"starting store {name!r} of an emulator fleet")
                raise result
        return self

    async def stop(self) -> None:
        """Stop every store (idempotent); raises the first error once all were asked to stop."""
        self._running = False
        results = await asyncio.gather(
            *(emu.stop() for emu in self.emulators), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def __len__(self) -> int:
        return len(self.emulators)

    def __iter__(self) -> Iterator[Emulator]:
        return iter(self.emulators)

    # -- where and how to connect ---------------------------------------------------------

    def base_url(self, index: int) -> str:
        """The API base URL of store ``index`` for the fleet's provider and version."""
        emu = self.emulators[index]
        if self.provider == "elasticpath":
            return emu.elasticpath_url
        return emu.sendcloud_v3_url if self.api_version == 3 else emu.sendcloud_url

    def store(self, index: int, prefix: str = "EMU") -> FleetStore:
        """Store ``index`` (after :meth:`start`): base URL and credentials variables."""
        emu, tag = self.emulators[index], self._tags[index]
        var = f"{check_env_prefix(prefix)}_STORE_{tag}_"
        values: dict[str, tuple[str, str]]  # credential key -> (variable, value)
        if self.provider == "elasticpath":
            values = {
                "client_id": (var + "CLIENT_ID", emu.epcc_client_id),
                "client_secret": (var + "CLIENT_SECRET", emu.epcc_client_secret),
            }
        elif self.auth == "oauth2":
            values = {
                "client_id": (var + "CLIENT_ID", emu.sendcloud_client_id),
                "client_secret": (var + "CLIENT_SECRET", emu.sendcloud_client_secret),
                "token_url": (var + "TOKEN_URL", emu.sendcloud_token_url),
            }
        else:
            values = {
                "public_key": (var + "PK", emu.sendcloud_public_key),
                "secret_key": (var + "SK", emu.sendcloud_secret_key),
            }
        return FleetStore(
            name=self.names[index],
            provider=self.provider,
            api_version=self.api_version,
            base_url=self.base_url(index),
            credentials={key: name for key, (name, _) in values.items()},
            env=dict(values.values()),
            emulator=emu,
        )

    def stores(self, prefix: str = "EMU") -> list[FleetStore]:
        """Every store, in order (after :meth:`start`)."""
        return [self.store(i, prefix) for i in range(len(self.emulators))]

    def env(self, prefix: str = "EMU") -> dict[str, str]:
        """The credentials of every store as environment variables, e.g.
        ``EMU_STORE_007_PK``/``EMU_STORE_007_SK`` (Sendcloud keys) or
        ``EMU_STORE_007_CLIENT_ID``/``..._CLIENT_SECRET`` (OAuth2; Sendcloud adds
        ``..._TOKEN_URL``).  The values are the emulators' fake secrets."""
        check_env_prefix(prefix)
        return {name: value for store in self.stores(prefix) for name, value in store.env.items()}

    def stores_toml(self, prefix: str = "EMU", **extra_keys: Any) -> str:
        """A stores file for the fleet (after :meth:`start`): one ``[[store]]`` table per
        store with name, provider, api_version (Sendcloud), base_url, ``extra_keys`` (e.g.
        ``rate_limit=0, scope="all"``; None values are left out) and credentials as
        ``"$VAR"`` references to the variables of :meth:`env` (never their values)."""
        tables = [
            {
                "name": store.name,
                "provider": store.provider,
                "api_version": store.api_version,
                "base_url": store.base_url,
                "credentials": {key: "$" + var for key, var in store.credentials.items()},
            }
            for store in self.stores(prefix)
        ]
        return render_stores_toml(tables, extra_keys)
