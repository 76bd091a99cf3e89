"""A store's credentials and client: references resolved from the environment, at the edge.

Only the process that calls the API resolves a :class:`StoreConfig`'s ``"$VAR"`` references;
resolved values go into the :mod:`~integration_logs_async.auth` objects (whose ``repr`` masks
them) and nowhere else. Messages name the store, the key and the variable, never a value.
"""

from __future__ import annotations

from collections.abc import Mapping

from .. import providers
from ..auth import Auth, BasicAuth, ClientCredentials
from ..config import ClientSettings
from ..providers import BaseClient
from ._stores import StoreConfig, StoresFileError, reference_name

__all__ = ["StoreCredentialsError", "client_for_store", "store_auth"]


class StoreCredentialsError(StoresFileError):
    """A store's credentials reference an environment variable that is not set (or empty)."""


def _value(store: StoreConfig, key: str, env: Mapping[str, str]) -> str:
    """``store.credentials[key]`` with its reference resolved from ``env``."""
    written = store.credentials[key]
    var = reference_name(written)
    if var is None:
        return written  # a literal public id or token URL (secrets are always references)
    value = env.get(var)
    if not value:
        state = "which is not set" if value is None else "which is empty"
        raise StoreCredentialsError(
            f"store {store.name!r}: credentials.{key} refers to ${var}, {state}: export it "
            "in the environment of the process that harvests",
            store=store.name,
            key=f"credentials.{key}",
        )
    return value


def store_auth(store: StoreConfig, env: Mapping[str, str]) -> Auth:
    """The credentials of ``store`` with its references resolved from ``env``:
    :class:`BasicAuth` or :class:`ClientCredentials` (``token_url`` None: the provider's).

    A reference to a missing or empty variable is a :class:`StoreCredentialsError`.
    """
    if store.credential_kind == "basic":
        return BasicAuth(_value(store, "public_key", env), _value(store, "secret_key", env))
    token_url = _value(store, "token_url", env) if "token_url" in store.credentials else None
    return ClientCredentials(
        _value(store, "client_id", env),
        _value(store, "client_secret", env),
        token_url=token_url,
    )


def client_for_store(
    store: StoreConfig, env: Mapping[str, str], *, settings: ClientSettings | None = None
) -> BaseClient:
    """A new client for ``store`` (its own connection pool, rate limiter and token cache).

    Of the store's provider and API version, at its ``base_url`` (None: that version's public
    API), paced at its ``rate_limit`` (None: ``settings``' or the provider's default, 0: no
    pacing); ``settings`` are further client settings (timeouts, attempts). Plain http is
    allowed only to loopback hosts (the client's default policy).
    """
    cls = providers.client_class(store.provider, store.api_version)
    auth = store_auth(store, env)
    chosen: ClientSettings = {**(settings or {})}
    if store.rate_limit is not None:
        chosen["rate_limit"] = store.rate_limit
    try:
        return cls(auth, base_url=store.base_url, **chosen)
    except ValueError as exc:  # e.g. a token URL from the environment the client refuses
        raise StoresFileError(
            f"store {store.name!r}: {exc}; fix the store's settings or the variable it refers to",
            store=store.name,
        ) from None
