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
from .sendcloud.v3 import SendcloudV3Client

_CLIENTS: dict[str, type[BaseClient]] = {
    cls.spec.name: cls for cls in (SendcloudClient, ElasticPathClient)
}
"""Each provider's client of its default API version."""

_VERSIONS: dict[tuple[str, int], type[BaseClient]] = {
    (cls.spec.name, cls.spec.api_version): cls
    for cls in (SendcloudClient, SendcloudV3Client, ElasticPathClient)
}
"""Every API version's client."""


def names() -> list[str]:
    """The provider names, as the command line takes them."""
    return list(_CLIENTS)


def client_class(name: str, api_version: int | None = None) -> type[BaseClient]:
    """The client class of provider ``name`` (of ``api_version``, default: the provider's
    default version); ``ValueError`` naming the known ones."""
    try:
        cls = _CLIENTS[name]
    except (KeyError, TypeError):
        known = " or ".join(repr(n) for n in _CLIENTS)
        raise ValueError(f"provider must be {known}, not {name!r}") from None
    if api_version is None or api_version == cls.spec.api_version:
        return cls
    try:
        return _VERSIONS[name, api_version]
    except (KeyError, TypeError):
        versions = " or ".join(str(v) for (n, v) in _VERSIONS if n == name)
        raise ValueError(
            f"{cls.spec.title} API version must be {versions}, not {api_version!r}"
        ) from None


def versions(name: str) -> tuple[int, ...]:
    """The API versions of provider ``name``, oldest first; ``ValueError`` for an unknown one."""
    client_class(name)
    return tuple(sorted(v for (n, v) in _VERSIONS if n == name))


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
    "versions",
]
