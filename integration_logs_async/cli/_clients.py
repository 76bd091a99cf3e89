"""Clients from the environment and flags: credentials, base URLs, client settings."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TextIO

from .. import _constants as C
from ..auth import Auth, BasicAuth, ClientCredentials
from ..config import ClientSettings
from ..elasticpath import ElasticPathClient
from ..sendcloud import SendcloudClient
from ._common import UsageError, non_negative_float, positive_float, positive_int

CREDENTIALS_HELP = f"""credentials come from the environment:
  sendcloud:   SENDCLOUD_PUBLIC_KEY + SENDCLOUD_SECRET_KEY (HTTP Basic), or
               SENDCLOUD_CLIENT_ID + SENDCLOUD_CLIENT_SECRET (OAuth2; SENDCLOUD_TOKEN_URL optional);
               when both pairs are set, HTTP Basic is used (and a note on stderr says so)
               SENDCLOUD_API_BASE_URL optional (default {C.SENDCLOUD_BASE_URL})
  elasticpath: EPCC_CLIENT_ID + EPCC_CLIENT_SECRET, EPCC_API_BASE_URL
               (default {C.ELASTICPATH_BASE_URL}); EPCC_TOKEN_URL optional
"""

_BASIC = ("SENDCLOUD_PUBLIC_KEY", "SENDCLOUD_SECRET_KEY")
_OAUTH = ("SENDCLOUD_CLIENT_ID", "SENDCLOUD_CLIENT_SECRET")
_BASE_URL_VARIABLE = {"sendcloud": "SENDCLOUD_API_BASE_URL", "elasticpath": "EPCC_API_BASE_URL"}


def _both_set(env: Mapping[str, str], names: tuple[str, str]) -> bool:
    return all(env.get(name) for name in names)


def credentials_from_env(provider: str, env: Mapping[str, str]) -> Auth:
    """The auth object for ``provider`` from environment variables."""
    if provider == "sendcloud":
        if _both_set(env, _BASIC):
            return BasicAuth(env[_BASIC[0]], env[_BASIC[1]])
        if _both_set(env, _OAUTH):
            return ClientCredentials(
                env[_OAUTH[0]], env[_OAUTH[1]], token_url=env.get("SENDCLOUD_TOKEN_URL")
            )
        raise UsageError(
            "missing Sendcloud credentials: set SENDCLOUD_PUBLIC_KEY and SENDCLOUD_SECRET_KEY "
            "(or SENDCLOUD_CLIENT_ID and SENDCLOUD_CLIENT_SECRET)"
        )
    cid, csecret = env.get("EPCC_CLIENT_ID"), env.get("EPCC_CLIENT_SECRET")
    if cid and csecret:
        return ClientCredentials(cid, csecret, token_url=env.get("EPCC_TOKEN_URL"))
    raise UsageError("missing Elastic Path credentials: set EPCC_CLIENT_ID and EPCC_CLIENT_SECRET")


def credentials_note(provider: str, env: Mapping[str, str]) -> str | None:
    """One line naming the credentials used when the environment offers two kinds; else None.

    Names variables only, never their values.
    """
    if provider == "sendcloud" and _both_set(env, _BASIC) and _both_set(env, _OAUTH):
        return (
            f"sendcloud: using HTTP Basic credentials ({_BASIC[0]}, {_BASIC[1]}); "
            f"{_OAUTH[0]} and {_OAUTH[1]} are set too and not used (unset the Basic pair "
            "to use OAuth2)"
        )
    return None


def make_client(
    provider: str,
    env: Mapping[str, str],
    *,
    base_url: str | None = None,
    rate_limit: float | None = None,
    allow_insecure_http: bool = False,
    settings: ClientSettings | None = None,
) -> SendcloudClient | ElasticPathClient:
    """A client for ``provider`` configured from the environment and flags.

    ``rate_limit``: requests per second, ``0`` for no pacing, ``None`` for the provider's
    documented limit; ``settings``: further :class:`~integration_logs_async.ClientConfig`
    settings (timeouts, attempts).
    """
    auth = credentials_from_env(provider, env)
    chosen: ClientSettings = {**(settings or {})}
    chosen["rate_limit"] = rate_limit
    chosen["allow_insecure_http"] = allow_insecure_http
    url = base_url or env.get(_BASE_URL_VARIABLE[provider]) or None
    if provider == "sendcloud":
        return SendcloudClient(auth, base_url=url, **chosen)
    return ElasticPathClient(auth, base_url=url, **chosen)


_RATE_HELP = (
    "client-side pacing in requests per second; 0 disables it (default: 90%% of the "
    f"provider's documented limit: sendcloud {C.SENDCLOUD_RATE_LIMIT:g}/s, "
    f"elasticpath {C.ELASTICPATH_RATE_LIMIT:g}/s)"
)


def add_client_arguments(parser: argparse.ArgumentParser) -> None:
    """Options that configure the API client, shared by every command that calls an API."""
    group = parser.add_argument_group("client options")
    group.add_argument(
        "--base-url",
        metavar="URL",
        help="API base URL (default: $SENDCLOUD_API_BASE_URL or $EPCC_API_BASE_URL, else the "
        "provider's public API)",
    )
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
) -> SendcloudClient | ElasticPathClient:
    """The client that ``args`` (from :func:`add_client_arguments`) and ``env`` describe.

    When the environment holds two kinds of credentials, a one-line note saying which are
    used goes to ``notes`` (default stderr).
    """
    client = make_client(
        args.provider,
        env,
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
