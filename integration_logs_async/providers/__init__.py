"""The providers, one folder each, and the registry the harvest and the CLI look them up in.

Adding a provider (or an API version of one) is adding a folder with its client, models,
raw-record keys, error envelope, normalizer and :class:`ProviderSpec`, and one line here.
"""

from __future__ import annotations

from ._base import BaseClient
from ._spec import (
    CredentialVars,
    IntegrationSummary,
    Normalizer,
    ProviderSpec,
    Scope,
    TokenDefaults,
)
from .elasticpath import ElasticPathClient
from .sendcloud import SendcloudClient

_CLIENTS: dict[str, type[BaseClient]] = {
    cls.spec.name: cls for cls in (SendcloudClient, ElasticPathClient)
}


def names() -> list[str]:
    """The provider names, as the command line takes them."""
    return list(_CLIENTS)


def client_class(name: str) -> type[BaseClient]:
    """The client class of provider ``name``; ``ValueError`` naming the known ones."""
    try:
        return _CLIENTS[name]
    except (KeyError, TypeError):
        known = " or ".join(repr(n) for n in _CLIENTS)
        raise ValueError(f"provider must be {known}, not {name!r}") from None


def spec(name: str) -> ProviderSpec:
    """The :class:`ProviderSpec` of provider ``name``; ``ValueError`` naming the known ones."""
    return client_class(name).spec


def specs() -> list[ProviderSpec]:
    """Every provider's spec, in registry order."""
    return [cls.spec for cls in _CLIENTS.values()]


__all__ = [
    "BaseClient",
    "CredentialVars",
    "IntegrationSummary",
    "Normalizer",
    "ProviderSpec",
    "Scope",
    "TokenDefaults",
    "client_class",
    "names",
    "spec",
    "specs",
]
