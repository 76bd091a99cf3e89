"""What makes a provider, as data: :class:`ProviderSpec`.

A provider (or one API version of it) is one folder under ``providers/`` holding its
client, wire models, raw-record keys, error envelope, normalizer and this spec. The engine,
the harvest and the command line read the spec; none of them names a provider.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from .. import _constants as C
from .._http import TokenEndpoint
from ..errors import ProviderError
from ..records import NormalizedLog, RawRecord

Scope = Literal["all", "integrations", "jobs"]
"""What a harvest reads: one listing of all logs, one per integration, or one per job."""


@dataclass(frozen=True, slots=True)
class CredentialVars:
    """A pair of environment variables holding one kind of credentials.

    ``kind``: ``"basic"`` (HTTP Basic: public key and secret key) or ``"client_credentials"``
    (OAuth2: client id and secret, with an optional token URL in ``token_url_var``).
    """

    kind: Literal["basic", "client_credentials"]
    id_var: str
    secret_var: str
    token_url_var: str | None = None


@dataclass(frozen=True, slots=True)
class TokenDefaults:
    """Where a provider's OAuth2 client-credentials tokens come from, unless overridden.

    ``url``: an absolute token URL; else ``path`` under the client's ``base_url``.
    ``credentials_in``: the client id and secret go in a Basic header or in the form.
    """

    credentials_in: Literal["basic", "form"]
    url: str | None = None
    path: str | None = None
    scope: str | None = None

    def endpoint(self, base_url: str, token_url: str | None) -> TokenEndpoint:
        """The token endpoint of a client at ``base_url`` (``token_url`` wins when set)."""
        url = token_url or self.url or base_url.rstrip("/") + (self.path or "")
        return TokenEndpoint(url=url, credentials_in=self.credentials_in, scope=self.scope)


Normalizer = Callable[[RawRecord], NormalizedLog]
"""A provider's mapping of one raw log to the provider-neutral :class:`NormalizedLog`."""


class IntegrationSummary(msgspec.Struct, frozen=True):
    """An integration as the ``integrations`` command shows it, the same for every provider
    (the id as the provider types it: a number for Sendcloud, a UUID string for Elastic Path)."""

    id: int | str
    name: str | None
    type: str | None
    status: str


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """A provider's defaults, environment and hooks.

    ``name`` is how users and files name it (CLI argument, checkpoints, harvest output), and
    ``api_version`` which version of its API this is, and ``checkpoint_name`` how its
    checkpoints name it (one per version, so a checkpoint of one version is refused by
    another);
    ``harvest_scopes`` are the harvest scopes it supports, its default first;
    ``ceiling_scope`` the one whose listings stay under its offset ceiling (None: no ceiling);
    ``documented_rate_limit`` is requests per second as the provider documents it (clients
    pace at ``RATE_LIMIT_HEADROOM`` of it, :attr:`rate_limit`); page sizes go from 1 to
    ``max_page_size``, and ``default_page_size`` is asked for when none is given (None: the
    server chooses).
    """

    name: str
    title: str
    api_version: int
    checkpoint_name: str
    base_url: str
    base_url_var: str
    token: TokenDefaults
    credentials: tuple[CredentialVars, ...]  # in order of preference
    documented_rate_limit: float
    max_page_size: int
    default_page_size: int | None
    harvest_scopes: tuple[Scope, ...]
    ceiling_scope: Scope | None
    parse_errors: Callable[[bytes], tuple[ProviderError, ...]]
    normalize: Normalizer
    summarize_integration: Callable[[Any], IntegrationSummary]

    @property
    def rate_limit(self) -> float:
        """The default pacing of a client: a margin below the documented limit."""
        return self.documented_rate_limit * C.RATE_LIMIT_HEADROOM

    @property
    def token_url_vars(self) -> tuple[str, ...]:
        """The environment variables that may override the token URL."""
        return tuple(c.token_url_var for c in self.credentials if c.token_url_var)

    def check_scope(self, scope: str) -> None:
        """``ValueError`` unless ``scope`` is one of :attr:`harvest_scopes`."""
        if scope not in self.harvest_scopes:
            scopes = " and ".join(sorted(self.harvest_scopes))
            raise ValueError(f"{self.title} has no {scope}: its harvest scopes are {scopes}")


__all__ = [
    "CredentialVars",
    "IntegrationSummary",
    "Normalizer",
    "ProviderSpec",
    "Scope",
    "TokenDefaults",
]
