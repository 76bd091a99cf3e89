"""API versions on the command line: ``--api-version``, a provider's version variable, and
the base URL variable of each version.

A provider's versions come from the registry (:mod:`integration_logs_async.providers`); only a
provider with more than one takes a version. Its variables are named after its base URL
variable (``<P>BASE_URL``, e.g. ``SENDCLOUD_API_BASE_URL``):

- ``<P>VERSION`` (``SENDCLOUD_API_VERSION``): the version when ``--api-version`` is not
  given (the flag wins); unset or empty: the provider's default version.
- the base URL of the default version stays ``<P>BASE_URL``; another version's is its spec's
  own ``base_url_var`` when that differs, else ``<P>V<n>_BASE_URL``
  (``SENDCLOUD_API_V3_BASE_URL``, as the emulator's ``env()`` exports it). With another
  version, ``<P>BASE_URL`` set and that version's variable not set is refused (it points at
  the default version's API; the run would otherwise go to the public API unnoticed), and so
  is a base URL whose path ends in another version's path (``/api/v2`` for v3).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from urllib.parse import urlsplit

from .. import providers
from ..providers import ProviderSpec
from ._common import UsageError


def api_versions(provider: str) -> tuple[int, ...]:
    """The API versions of ``provider`` in the registry, in ascending order."""
    return providers.versions(provider)  # ValueError naming the providers


def versioned_providers() -> list[ProviderSpec]:
    """The default specs of the providers with more than one API version."""
    return [spec for spec in providers.specs() if len(api_versions(spec.name)) > 1]


def _prefix(spec: ProviderSpec) -> str:
    return spec.base_url_var.removesuffix("BASE_URL")


def version_var(provider: str) -> str | None:
    """The variable choosing ``provider``'s API version; None when it has only one."""
    spec = providers.spec(provider)
    if len(api_versions(provider)) < 2:
        return None
    return _prefix(spec) + "VERSION"


def base_url_var(provider: str, api_version: int) -> str:
    """The variable holding the base URL of ``provider``'s API ``api_version``."""
    default = providers.spec(provider)
    spec = providers.client_class(provider, api_version).spec
    if spec.api_version == default.api_version or spec.base_url_var != default.base_url_var:
        return spec.base_url_var
    return f"{_prefix(default)}V{spec.api_version}_BASE_URL"


def _allowed(provider: str) -> str:
    *first, last = (str(v) for v in api_versions(provider))
    return f"{', '.join(first)} or {last}" if first else last


def _parse(provider: str, text: str, label: str) -> int:
    """The version ``text`` (given as ``label``), or a one-line :class:`UsageError`."""
    spec = providers.spec(provider)
    versions = api_versions(provider)
    try:
        value = int(text.strip())
    except ValueError:
        value = None
    if value in versions:
        assert value is not None
        return value
    if len(versions) < 2:
        others = " and ".join(s.title for s in versioned_providers()) or "no provider"
        raise UsageError(
            f"{label}: {spec.title} has one API version ({versions[0]}); --api-version is for "
            f"{others}"
        )
    raise UsageError(
        f"{label}: {spec.title} API version must be {_allowed(provider)} "
        f"(default {spec.api_version})"
    )


def chosen_api_version(provider: str, flag: str | None, env: Mapping[str, str]) -> int | None:
    """The API version ``--api-version FLAG`` or the provider's version variable choose
    (the flag wins); None: neither says, the provider's default.

    A bad value is a :class:`UsageError` naming the flag or the variable and the versions.
    """
    if flag is not None:
        return _parse(provider, flag, f"--api-version {flag}")
    var = version_var(provider)
    text = env.get(var) if var is not None else None
    if not text:
        return None
    return _parse(provider, text, f"{var}={text}")


def _shown(url: str) -> str:
    """``url`` as a message may show it: no ``user:password@``, no query (it may hold a key)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{host}{parts.path}" if parts.scheme else url.split("?", 1)[0]


def _version_of_path(provider: str, url: str) -> int | None:
    """The version whose default base URL path ``url``'s path ends with (None: none does)."""
    path = urlsplit(url).path.rstrip("/")
    for version in api_versions(provider):
        own = urlsplit(providers.client_class(provider, version).spec.base_url).path.rstrip("/")
        if own and path.endswith(own):
            return version
    return None


def chosen_base_url(
    provider: str, api_version: int, flag: str | None, env: Mapping[str, str]
) -> str | None:
    """The base URL of ``provider``'s API ``api_version``: ``--base-url``, else that
    version's variable; None: the version's public API. Refuses (:class:`UsageError`) a URL
    of another version, and the default version's variable standing in for another's."""
    default = providers.spec(provider)
    var = base_url_var(provider, api_version)
    url = flag or env.get(var) or None
    label = "--base-url" if flag else var
    if url is None:
        if var != default.base_url_var and env.get(default.base_url_var):
            raise UsageError(
                f"{default.base_url_var} is the base URL of {default.title} API "
                f"v{default.api_version}; API v{api_version} takes its own: set {var} (or "
                f"--base-url), or unset {default.base_url_var} to use "
                f"{providers.client_class(provider, api_version).spec.base_url}"
            )
        return None
    found = _version_of_path(provider, url)
    if len(api_versions(provider)) > 1 and found is not None and found != api_version:
        raise UsageError(
            f"{label} {_shown(url)} is a {default.title} API v{found} URL, but API "
            f"v{api_version} was asked for: give an API v{api_version} base URL, or "
            f"--api-version {found}"
        )
    return url


def add_api_version_argument(group: argparse._ArgumentGroup) -> None:
    """``--api-version`` (its help names each versioned provider's versions and variable)."""
    specs = versioned_providers()
    if not specs:
        return
    metavar = (
        "{"
        + ",".join(str(v) for v in sorted({v for s in specs for v in api_versions(s.name)}))
        + "}"
    )
    each = "; ".join(
        f"{s.title}: {_allowed(s.name)}, default ${version_var(s.name)}, else {s.api_version}"
        for s in specs
    )
    group.add_argument(
        "--api-version",
        metavar=metavar,
        help=f"the provider's API version ({each}); the default base URL follows it",
    )
