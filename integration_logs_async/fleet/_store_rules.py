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
from typing import Any, Literal, NoReturn
from urllib.parse import urlsplit

from .. import providers
from .._http import check_base_url, is_loopback
from ..providers import ProviderSpec
from ..providers._base import path_id

__all__ = [
    "CREDENTIAL_KEYS",
    "SECRET_KEYS",
    "STORE_KEYS",
    "CredentialKind",
    "StoresFileError",
    "check_store",
    "credential_kind",
    "reference_name",
]

CredentialKind = Literal["basic", "client_credentials"]
"""HTTP Basic (public key + secret key) or OAuth2 client credentials."""

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

CREDENTIAL_KEYS: dict[CredentialKind, tuple[str, ...]] = {
    "basic": ("public_key", "secret_key"),
    "client_credentials": ("client_id", "client_secret", "token_url"),
}
"""The keys of a store's ``credentials`` table, per kind."""

SECRET_KEYS = frozenset({"secret_key", "client_secret"})
"""Credentials keys whose value must be an environment-variable reference."""

_NAME = re.compile(r"[A-Za-z0-9._:-]{1,200}")
_REFERENCE = re.compile(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})")
_KIND_TITLE = {"basic": "HTTP Basic", "client_credentials": "OAuth2 client credentials"}


class StoresFileError(ValueError):
    """A stores file (or a store's JSON) that cannot be used; the message says where and why.

    ``source``: the file (or ``"job"``); ``store``: the store's name, or ``"store N"`` when it
    has no valid name; ``key``: the key path (``credentials.secret_key``); each None when the
    error is not about one.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        store: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.source = source
        self.store = store
        self.key = key


def reference_name(value: str) -> str | None:
    """The variable a ``"$NAME"`` or ``"${NAME}"`` reference names; None for anything else."""
    match = _REFERENCE.fullmatch(value)
    return (match.group(1) or match.group(2)) if match else None


def credential_kind(keys: Mapping[str, object]) -> CredentialKind:
    """The kind of credentials a (checked) ``credentials`` table holds."""
    return "basic" if "public_key" in keys else "client_credentials"


def _variable_hint(store: str | None, key: str) -> str:
    base = re.sub(r"[^A-Za-z0-9]+", "_", store or "store").strip("_").upper() or "STORE"
    if base[0].isdigit():
        base = "STORE_" + base
    return f"{base}_{key.upper()}"


def _listed(values: tuple[str, ...] | list[str]) -> str:
    *first, last = values
    return f"{', '.join(first)} or {last}" if first else last


class _Checker:
    """Raises the :class:`StoresFileError` of one store's key."""

    def __init__(self, source: str, position: int | None, from_defaults: frozenset[str]) -> None:
        self.source = source
        self.name: str | None = None
        self.label = f"store {position}" if position is not None else "store"
        self.from_defaults = from_defaults

    def named(self, name: str) -> None:
        self.name = name
        self.label = f"store {name!r}"

    def fail(self, key: str, what: str, todo: str) -> NoReturn:
        top = key.split(".", 1)[0]
        shown = f"{key} (from [defaults])" if top in self.from_defaults else key
        raise StoresFileError(
            f"{self.source}: {self.label}: {shown}: {what}; {todo}",
            source=self.source,
            store=self.name or self.label,
            key=key,
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _name(table: Mapping[str, Any], check: _Checker) -> str:
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


def _unknown_keys(table: Mapping[str, Any], known: tuple[str, ...], check: _Checker) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean {close[0]}?" if close else f"the keys are {', '.join(known)}"
            check.fail(str(key), "unknown key", f"remove it ({hint})")


def _provider(table: Mapping[str, Any], check: _Checker) -> str:
    names = providers.names()
    provider = table.get("provider")
    known = _listed([f'"{n}"' for n in names])
    if provider is None:
        check.fail("provider", "missing", f"write provider = {known}")
    if provider not in names:
        check.fail("provider", f"{provider!r} is not a provider", f"write provider = {known}")
    return str(provider)


def _api_version(table: Mapping[str, Any], provider: str, check: _Checker) -> int | None:
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
        allowed = _listed([str(v) for v in versions])
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


def _base_url(table: Mapping[str, Any], spec: ProviderSpec, check: _Checker) -> str | None:
    url = table.get("base_url")
    if url is None:
        return None
    todo = f"write the API's URL, e.g. base_url = {spec.base_url!r}, or leave it out"
    if not isinstance(url, str):
        check.fail("base_url", f"must be a string, not {type(url).__name__}", todo)
    try:
        parsed = check_base_url(url, allow_insecure_http=True, what="the URL")
    except ValueError as exc:
        check.fail("base_url", str(exc), todo)
    if parsed.scheme == "http" and not is_loopback(parsed.host):
        check.fail(
            "base_url",
            f"{parsed.scheme}://{parsed.host} is plain http to another machine (credentials "
            "would travel unencrypted)",
            "use https",
        )
    found = _version_of_path(spec.name, url)
    if len(providers.versions(spec.name)) > 1 and found is not None and found != spec.api_version:
        check.fail(
            "base_url",
            f"{url} is a {spec.title} API v{found} URL, but the store uses API v{spec.api_version}",
            f"give an API v{spec.api_version} URL, or write api_version = {found}",
        )
    return url


def _credential_value(key: str, value: object, check: _Checker) -> str:
    secret = key in SECRET_KEYS
    hint = f'"${_variable_hint(check.name, key)}"'
    if not isinstance(value, str):
        check.fail(
            f"credentials.{key}", f"must be a string, not {type(value).__name__}", f"write {hint}"
        )
    if not value:
        check.fail(f"credentials.{key}", "empty", f"write {hint}")
    if value.startswith("$"):
        if reference_name(value) is None:
            shown = "" if secret else f" {value!r}"
            check.fail(
                f"credentials.{key}",
                f"the reference{shown} is not valid",
                f'write "$NAME" or "${{NAME}}", NAME of letters, digits and _, e.g. {hint}',
            )
        return value
    if secret:
        check.fail(
            f"credentials.{key}",
            "a secret written in the file is refused",
            f"put it in an environment variable and write {hint}",
        )
    if key == "token_url":
        try:
            check_base_url(value, allow_insecure_http=True, what="the URL")
        except ValueError as exc:
            check.fail("credentials.token_url", str(exc), "write an https URL or a reference")
    return value


def _credentials(table: Mapping[str, Any], spec: ProviderSpec, check: _Checker) -> dict[str, str]:
    kinds: tuple[CredentialKind, ...] = tuple(c.kind for c in spec.credentials)
    ways = ", or ".join(
        " + ".join(k for k in CREDENTIAL_KEYS[kind] if k != "token_url") for kind in kinds
    )
    creds = table.get("credentials")
    if creds is None:
        check.fail("credentials", "missing", f"add a credentials table with {ways}")
    if not isinstance(creds, Mapping):
        check.fail("credentials", "must be a table", f"write credentials = {{ ... }} with {ways}")
    known = tuple(k for kind in kinds for k in CREDENTIAL_KEYS[kind])
    for key in creds:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean {close[0]}?" if close else f"{spec.title} takes {ways}"
            check.fail(f"credentials.{key}", "unknown key", f"remove it ({hint})")
    present = [kind for kind in kinds if any(k in creds for k in CREDENTIAL_KEYS[kind])]
    if not present:
        check.fail("credentials", "empty", f"write {ways}")
    if len(present) > 1:
        check.fail(
            "credentials",
            f"mixes {_KIND_TITLE[present[0]]} and {_KIND_TITLE[present[1]]} keys",
            f"keep one pair: {ways}",
        )
    kind = present[0]
    identity, secret = CREDENTIAL_KEYS[kind][:2]
    for key in (identity, secret):
        if key not in creds:
            check.fail(
                f"credentials.{key}",
                "missing",
                f"{_KIND_TITLE[kind]} takes {identity} and {secret}: add {key}",
            )
    return {key: _credential_value(key, creds[key], check) for key in sorted(creds)}


def _rate_limit(table: Mapping[str, Any], spec: ProviderSpec, check: _Checker) -> float | None:
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


def _scope(table: Mapping[str, Any], spec: ProviderSpec, check: _Checker) -> str | None:
    scope = table.get("scope")
    if scope is None:
        return None
    if scope not in spec.harvest_scopes:
        allowed = _listed([f'"{s}"' for s in spec.harvest_scopes])
        check.fail(
            "scope",
            f"{scope!r} is not a {spec.title} harvest scope",
            f"write {allowed} (default {spec.harvest_scopes[0]!r}), or leave it out",
        )
    return str(scope)


def _integration_ids(
    table: Mapping[str, Any], scope: str | None, check: _Checker
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
    table: Mapping[str, Any], key: str, check: _Checker, *, maximum: int | None, default: str
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
    check = _Checker(source, position, from_defaults)
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
        "credentials": _credentials(table, spec, check),
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
