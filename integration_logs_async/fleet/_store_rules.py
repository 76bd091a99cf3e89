"""The rules of one store's keys in a stores file: each key checked and normalized (pure).

:func:`check_store` takes one store's table (``[defaults]`` already applied) and returns the
keyword arguments of :class:`~integration_logs_async.fleet._stores.StoreConfig`, or raises
:class:`StoresFileError` naming the source, the store, the key path, what is wrong and what to
write instead. Secret values are never part of a message.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .. import providers
from ..providers import ProviderSpec
from ..providers._base import path_id
from ._credential_rules import check_credentials, check_url
from ._store_errors import StoreChecker, StoresFileError, listed

__all__ = ["STORE_KEYS", "check_store"]

STORE_KEYS = (
    "name",
    "provider",
    "api_version",
    "base_url",
    "credentials",
    "rate_limit",
    "scope",
    "integration_ids",
    "page_size",
    "concurrency",
)
"""The keys of a ``[[store]]`` table, in the order they are checked."""

_NAME = re.compile(r"[A-Za-z0-9._:-]{1,200}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _name(table: Mapping[str, Any], check: StoreChecker) -> str:
    name = table.get("name")
    if name is None:
        check.fail("name", "missing", 'give each store a unique name, e.g. name = "shop-eu"')
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        check.fail(
            "name",
            f"{name!r} is not a store name",
            "use 1 to 200 letters, digits, '.', '_', ':' or '-', e.g. name = \"shop-eu\"",
        )
    check.named(name)
    return name


def _unknown_keys(table: Mapping[str, Any], known: tuple[str, ...], check: StoreChecker) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean {close[0]}?" if close else f"the keys are {', '.join(known)}"
            check.fail(str(key), "unknown key", f"remove it ({hint})")


def _provider(table: Mapping[str, Any], check: StoreChecker) -> str:
    names = providers.names()
    provider = table.get("provider")
    known = listed([f'"{n}"' for n in names])
    if provider is None:
        check.fail("provider", "missing", f"write provider = {known}")
    if provider not in names:
        check.fail("provider", f"{provider!r} is not a provider", f"write provider = {known}")
    return str(provider)


def _api_version(table: Mapping[str, Any], provider: str, check: StoreChecker) -> int | None:
    version = table.get("api_version")
    if version is None:
        return None
    default = providers.spec(provider)
    versions = providers.versions(provider)
    if len(versions) < 2:
        check.fail(
            "api_version",
            f"{default.title} has one API version",
            "remove api_version from this store",
        )
    if not _is_int(version) or version not in versions:
        allowed = listed([str(v) for v in versions])
        check.fail(
            "api_version",
            f"{version!r} is not a {default.title} API version",
            f"write {allowed} (default {default.api_version}), or leave it out",
        )
    return int(version)


def _version_of_path(provider: str, url: str) -> int | None:
    """The API version whose public base URL's path ``url``'s path ends with (None: none)."""
    path = urlsplit(url).path.rstrip("/")
    for version in providers.versions(provider):
        own = urlsplit(providers.client_class(provider, version).spec.base_url).path.rstrip("/")
        if own and path.endswith(own):
            return version
    return None


def _base_url(table: Mapping[str, Any], spec: ProviderSpec, check: StoreChecker) -> str | None:
    url = table.get("base_url")
    if url is None:
        return None
    todo = f'write the API\'s URL, e.g. base_url = "{spec.base_url}", or leave it out'
    if not isinstance(url, str):
        check.fail("base_url", f"must be a string, not {type(url).__name__}", todo)
    check_url(url, "base_url", check, todo)
    found = _version_of_path(spec.name, url)
    if len(providers.versions(spec.name)) > 1 and found is not None and found != spec.api_version:
        check.fail(
            "base_url",
            f"{url} is a {spec.title} API v{found} URL, but the store uses API v{spec.api_version}",
            f"give an API v{spec.api_version} URL, or write api_version = {found}",
        )
    return url


def _rate_limit(table: Mapping[str, Any], spec: ProviderSpec, check: StoreChecker) -> float | None:
    rate = table.get("rate_limit")
    if rate is None:
        return None
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not math.isfinite(rate):
        rate = None
    if rate is None or rate < 0:
        check.fail(
            "rate_limit",
            f"{table['rate_limit']!r} is not a number of requests per second",
            f"write a number >= 0 (0: no pacing), or leave it out for {spec.rate_limit:g}/s",
        )
    return float(rate)


def _scope(table: Mapping[str, Any], spec: ProviderSpec, check: StoreChecker) -> str | None:
    scope = table.get("scope")
    if scope is None:
        return None
    if scope not in spec.harvest_scopes:
        allowed = listed([f'"{s}"' for s in spec.harvest_scopes])
        check.fail(
            "scope",
            f"{scope!r} is not a {spec.title} harvest scope",
            f'write {allowed} (default "{spec.harvest_scopes[0]}"), or leave it out',
        )
    return str(scope)


def _integration_ids(
    table: Mapping[str, Any], scope: str | None, check: StoreChecker
) -> tuple[str, ...]:
    ids = table.get("integration_ids")
    if ids is None:
        return ()
    example = 'write a list of ids, e.g. integration_ids = ["1234", "5678"]'
    if not isinstance(ids, list | tuple):
        check.fail("integration_ids", "must be a list", example)
    out: list[str] = []
    for value in ids:
        if not (isinstance(value, str) or _is_int(value)):
            check.fail("integration_ids", f"{value!r} is not an id", example)
        try:
            text = path_id(value, "integration id")
        except ValueError as exc:
            check.fail("integration_ids", str(exc), example)
        if text in out:
            check.fail("integration_ids", f"{text!r} is listed twice", "list each id once")
        out.append(text)
    if out and scope == "all":
        check.fail(
            "integration_ids",
            'selects integrations, but scope = "all" reads one listing of every log',
            'write scope = "integrations" (or "jobs"), or remove integration_ids',
        )
    return tuple(out)


def _count(
    table: Mapping[str, Any], key: str, check: StoreChecker, *, maximum: int | None, default: str
) -> int | None:
    value = table.get(key)
    if value is None:
        return None
    if not _is_int(value) or value < 1 or (maximum is not None and value > maximum):
        allowed = f"from 1 to {maximum}" if maximum is not None else ">= 1"
        check.fail(
            key,
            f"{value!r} is out of range",
            f"write an integer {allowed}, or leave it out ({default})",
        )
    return int(value)


def check_store(
    table: Mapping[str, Any],
    *,
    source: str,
    position: int | None = None,
    from_defaults: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The :class:`StoreConfig` keyword arguments of one store's ``table``.

    ``source`` names the file (or ``"job"``), ``position`` the store's place in it (1-based,
    shown when it has no valid name), ``from_defaults`` the keys that came from
    ``[defaults]`` (their messages say so). The first problem raises :class:`StoresFileError`.
    """
    check = StoreChecker(source, position, from_defaults)
    if not isinstance(table, Mapping):
        raise StoresFileError(
            f"{source}: {check.label}: must be a table; write [[store]] and its keys below it",
            source=source,
            store=check.label,
        )
    name = _name(table, check)
    _unknown_keys(table, STORE_KEYS, check)
    provider = _provider(table, check)
    api_version = _api_version(table, provider, check)
    spec = providers.client_class(provider, api_version).spec
    scope = _scope(table, spec, check)
    return {
        "name": name,
        "provider": provider,
        "api_version": api_version,
        "base_url": _base_url(table, spec, check),
        "credentials": check_credentials(table, spec, check),
        "rate_limit": _rate_limit(table, spec, check),
        "scope": scope,
        "integration_ids": _integration_ids(table, scope, check),
        "page_size": _count(
            table,
            "page_size",
            check,
            maximum=spec.max_page_size,
            default=f"{spec.default_page_size}" if spec.default_page_size else "the server's",
        ),
        "concurrency": _count(table, "concurrency", check, maximum=None, default="8"),
    }
