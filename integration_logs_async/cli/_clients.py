"""Clients from the environment and flags: credentials, base URLs, client settings."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from .. import _constants as C
from ..auth import Auth, BasicAuth, ClientCredentials
from ..elasticpath import ElasticPathClient
from ..sendcloud import SendcloudClient
from ._common import UsageError, positive_float

CREDENTIALS_HELP = f"""credentials come from the environment:
  sendcloud:   SENDCLOUD_PUBLIC_KEY + SENDCLOUD_SECRET_KEY (HTTP Basic), or
               SENDCLOUD_CLIENT_ID + SENDCLOUD_CLIENT_SECRET (OAuth2; SENDCLOUD_TOKEN_URL optional)
               SENDCLOUD_API_BASE_URL optional (default {C.SENDCLOUD_BASE_URL})
  elasticpath: EPCC_CLIENT_ID + EPCC_CLIENT_SECRET, EPCC_API_BASE_URL
               (default {C.ELASTICPATH_BASE_URL}); EPCC_TOKEN_URL optional
"""



def credentials_from_env(provider: str, env: Mapping[str, str]) -> Auth:
    """The auth object for ``provider`` from environment variables."""
    if provider == "sendcloud":
        key, secret = env.get("SENDCLOUD_PUBLIC_KEY"), env.get("SENDCLOUD_SECRET_KEY")
        if key and secret:
            return BasicAuth(key, secret)
        cid, csecret = env.get("SENDCLOUD_CLIENT_ID"), env.get("SENDCLOUD_CLIENT_SECRET")
        if cid and csecret:
            return ClientCredentials(cid, csecret, token_url=env.get("SENDCLOUD_TOKEN_URL"))
        raise UsageError(
            "missing Sendcloud credentials: set SENDCLOUD_PUBLIC_KEY and SENDCLOUD_SECRET_KEY "
            "(or SENDCLOUD_CLIENT_ID and SENDCLOUD_CLIENT_SECRET)"
        )
    cid, csecret = env.get("EPCC_CLIENT_ID"), env.get("EPCC_CLIENT_SECRET")
    if cid and csecret:
        return ClientCredentials(cid, csecret, token_url=env.get("EPCC_TOKEN_URL"))
    raise UsageError("missing Elastic Path credentials: set EPCC_CLIENT_ID and EPCC_CLIENT_SECRET")


def make_client(
    provider: str,
    env: Mapping[str, str],
    *,
    base_url: str | None = None,
    rate_limit: float | None = None,
    allow_insecure_http: bool = False,
) -> SendcloudClient | ElasticPathClient:
    """A client for ``provider`` configured from the environment and flags."""
    auth = credentials_from_env(provider, env)
    if provider == "sendcloud":
        return SendcloudClient(
            auth,
            base_url=base_url or env.get("SENDCLOUD_API_BASE_URL") or None,
            rate_limit=rate_limit,
            allow_insecure_http=allow_insecure_http,
        )
    return ElasticPathClient(
        auth,
        base_url=base_url or env.get("EPCC_API_BASE_URL") or None,
        rate_limit=rate_limit,
        allow_insecure_http=allow_insecure_http,
    )


def add_client_arguments(parser: argparse.ArgumentParser) -> None:
    """Options that configure the API client, shared by every command that calls an API."""
    parser.add_argument("--base-url", help="API base URL (default from the environment)")
    parser.add_argument("--rate-limit", type=positive_float, help="requests per second")
    parser.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="allow plain http to a non-loopback host (credentials travel unencrypted)",
    )


def client_from_args(
    args: argparse.Namespace, env: Mapping[str, str]
) -> SendcloudClient | ElasticPathClient:
    """The client that ``args`` (from :func:`add_client_arguments`) and ``env`` describe."""
    return make_client(
        args.provider,
        env,
        base_url=args.base_url,
        rate_limit=args.rate_limit,
        allow_insecure_http=args.allow_insecure_http,
    )
