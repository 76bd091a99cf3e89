"""Clients from the environment and flags: credentials, base URLs, client settings."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TextIO

from .. import _constants as C
from .. import providers
from ..auth import Auth, BasicAuth, ClientCredentials
from ..config import ClientSettings
from ..providers import BaseClient, CredentialVars, ProviderSpec
from ._common import UsageError, non_negative_float, positive_float, positive_int
from ._versions import (
    add_api_version_argument,
    api_versions,
    base_url_var,
    chosen_api_version,
    chosen_base_url,
    version_var,
)

_KIND = {"basic": "HTTP Basic", "client_credentials": "OAuth2"}
_PAIR = {"basic": "Basic", "client_credentials": "OAuth2"}


def _credentials_help(spec: ProviderSpec) -> list[str]:
    kinds = []
    for creds in spec.credentials:
        token = f"; {creds.token_url_var} optional" if creds.token_url_var else ""
        kinds.append(f"{creds.id_var} + {creds.secret_var} ({_KIND[creds.kind]}{token})")
    lines = [f"  {spec.name}:", *(f"    {kind}" for kind in kinds)]
    if len(kinds) > 1:
        lines.append(
            f"    when both are set, {_KIND[spec.credentials[0].kind]} is used "
            "(a note on stderr says so)"
        )
    lines.append(f"    {spec.base_url_var} optional (default {spec.base_url})")
    versions = api_versions(spec.name)
    if len(versions) > 1:
        lines.append(
            f"    {version_var(spec.name)} optional: API version, "
            + " or ".join(str(v) for v in versions)
            + f" (default {spec.api_version}; --api-version wins)"
        )
        for version in versions:
            if version != spec.api_version:
                url = providers.client_class(spec.name, version).spec.base_url
                lines.append(
                    f"    {base_url_var(spec.name, version)} optional with API v{version} "
                    f"(default {url})"
                )
    return lines


CREDENTIALS_HELP = "credentials come from the environment:\n" + "".join(
    line + "\n" for spec in providers.specs() for line in _credentials_help(spec)
)


def _both_set(env: Mapping[str, str], creds: CredentialVars) -> bool:
    return bool(env.get(creds.id_var) and env.get(creds.secret_var))


def _auth(creds: CredentialVars, env: Mapping[str, str]) -> Auth:
    if creds.kind == "basic":
        return BasicAuth(env[creds.id_var], env[creds.secret_var])
    token_url = env.get(creds.token_url_var) if creds.token_url_var else None
    return ClientCredentials(env[creds.id_var], env[creds.secret_var], token_url=token_url)


def credentials_from_env(provider: str, env: Mapping[str, str]) -> Auth:
    """The auth object for ``provider`` from environment variables (the first pair set, in
    the order the provider's spec prefers)."""
    spec = providers.spec(provider)
    for creds in spec.credentials:
        if _both_set(env, creds):
            return _auth(creds, env)
    first, *others = spec.credentials
    alternatives = "".join(f" (or {c.id_var} and {c.secret_var})" for c in others)
    raise UsageError(
        f"missing {spec.title} credentials: set {first.id_var} and {first.secret_var}"
        + alternatives
    )


def credentials_note(provider: str, env: Mapping[str, str]) -> str | None:
    """One line naming the credentials used when the environment offers two kinds; else None.

    Names variables only, never their values.
    """
    spec = providers.spec(provider)
    offered = [creds for creds in spec.credentials if _both_set(env, creds)]
    if len(offered) < 2:
        return None
    used, *unused = offered
    ignored = " and ".join(f"{c.id_var} and {c.secret_var}" for c in unused)
    return (
        f"{spec.name}: using {_KIND[used.kind]} credentials ({used.id_var}, {used.secret_var}); "
        f"{ignored} are set too and not used (unset the {_PAIR[used.kind]} pair "
        f"to use {_KIND[unused[0].kind]})"
    )


def make_client(
    provider: str,
    env: Mapping[str, str],
    *,
    base_url: str | None = None,
    rate_limit: float | None = None,
    allow_insecure_http: bool = False,
    settings: ClientSettings | None = None,
    api_version: int | None = None,
) -> BaseClient:
    """A client for ``provider`` configured from the environment and flags.

    ``api_version``: the provider's API version (None: its version variable, e.g.
    ``SENDCLOUD_API_VERSION``, else its default); the base URL is ``base_url``, else the
    version's variable, else the version's public API. ``rate_limit``: requests per
    second, ``0`` for no pacing, ``None`` for the provider's documented limit;
    ``settings``: further :class:`~integration_logs_async.ClientConfig` settings (timeouts,
    attempts).
    """
    if api_version is None:
        api_version = chosen_api_version(provider, None, env)
    cls = providers.client_class(provider, api_version)  # ValueError naming the versions
    url = chosen_base_url(provider, cls.spec.api_version, base_url, env)
    auth = credentials_from_env(provider, env)
    chosen: ClientSettings = {**(settings or {})}
    chosen["rate_limit"] = rate_limit
    chosen["allow_insecure_http"] = allow_insecure_http
    return cls(auth, base_url=url, **chosen)


_RATE_HELP = (
    "client-side pacing in requests per second; 0 disables it (default: "
    f"{C.RATE_LIMIT_HEADROOM * 100:.0f}%% of the provider's documented limit: "
    + ", ".join(f"{spec.name} {spec.rate_limit:g}/s" for spec in providers.specs())
    + ")"
)


def add_client_arguments(parser: argparse.ArgumentParser) -> None:
    """Options that configure the API client, shared by every command that calls an API."""
    group = parser.add_argument_group("client options")
    group.add_argument(
        "--base-url",
        metavar="URL",
        help="API base URL (default: "
        + " or ".join(f"${spec.base_url_var}" for spec in providers.specs())
        + "".join(
            f"; {spec.title} API v{v}: ${base_url_var(spec.name, v)}"
            for spec in providers.specs()
            for v in api_versions(spec.name)
            if v != spec.api_version
        )
        + ", else the provider's public API of that version)",
    )
    add_api_version_argument(group)
    group.add_argument("--rate-limit", type=non_negative_float, metavar="N", help=_RATE_HELP)
    group.add_argument(
        "--max-attempts",
        type=positive_int,
        default=C.MAX_ATTEMPTS,
        metavar="N",
        help="tries per request, the first included, on 429, 5xx and network errors",
    )
    group.add_argument(
        "--connect-timeout",
        type=positive_float,
        default=C.CONNECT_TIMEOUT,
        metavar="S",
        help="seconds to wait for a connection to the server",
    )
    group.add_argument(
        "--read-timeout",
        type=positive_float,
        default=C.READ_TIMEOUT,
        metavar="S",
        help="seconds the server may stay silent while answering",
    )
    group.add_argument(
        "--request-deadline",
        type=positive_float,
        default=C.REQUEST_DEADLINE,
        metavar="S",
        help="seconds one request may take, all retries and waits included",
    )
    group.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="allow plain http to a non-loopback host (credentials travel unencrypted)",
    )


def client_from_args(
    args: argparse.Namespace, env: Mapping[str, str], *, notes: TextIO | None = None
) -> BaseClient:
    """The client that ``args`` (from :func:`add_client_arguments`) and ``env`` describe.

    When the environment holds two kinds of credentials, a one-line note saying which are
    used goes to ``notes`` (default stderr).
    """
    client = make_client(
        args.provider,
        env,
        api_version=chosen_api_version(args.provider, args.api_version, env),
        base_url=args.base_url,
        rate_limit=args.rate_limit,
        allow_insecure_http=args.allow_insecure_http,
        settings={
            "max_attempts": args.max_attempts,
            "connect_timeout": args.connect_timeout,
            "read_timeout": args.read_timeout,
            "request_deadline": args.request_deadline,
        },
    )
    note = credentials_note(args.provider, env)
    if note is not None:
        print(note, file=notes if notes is not None else sys.stderr)
    return client
