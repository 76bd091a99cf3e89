"""The credentials of a store in a stores file: which kind, and secrets only as references (pure).

A store holds ``"$NAME"``/``"${NAME}"`` references to environment variables; public ids
(``public_key``, ``client_id``, ``token_url``) may be literal. A secret written in the file
is refused, and no message ever shows a secret's value.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from .._http import check_base_url, is_loopback
from ..providers import ProviderSpec
from ._store_errors import StoreChecker

__all__ = [
    "CREDENTIAL_KEYS",
    "SECRET_KEYS",
    "CredentialKind",
    "check_credentials",
    "check_url",
    "credential_kind",
    "reference_name",
]

CredentialKind = Literal["basic", "client_credentials"]
"""HTTP Basic (public key + secret key) or OAuth2 client credentials."""

CREDENTIAL_KEYS: dict[CredentialKind, tuple[str, ...]] = {
    "basic": ("public_key", "secret_key"),
    "client_credentials": ("client_id", "client_secret", "token_url"),
}
"""The keys of a store's ``credentials`` table, per kind."""

SECRET_KEYS = frozenset({"secret_key", "client_secret"})
"""Credentials keys whose value must be an environment-variable reference."""

_REFERENCE = re.compile(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})")
_KIND_TITLE = {"basic": "HTTP Basic", "client_credentials": "OAuth2 client credentials"}


def reference_name(value: str) -> str | None:
    """The variable a ``"$NAME"`` or ``"${NAME}"`` reference names; None for anything else."""
    match = _REFERENCE.fullmatch(value)
    return (match.group(1) or match.group(2)) if match else None


def credential_kind(keys: Mapping[str, object]) -> CredentialKind:
    """The kind of credentials a (checked) ``credentials`` table holds."""
    return "basic" if "public_key" in keys else "client_credentials"


def check_url(url: str, key: str, check: StoreChecker, todo: str) -> None:
    """Refuse (naming ``key``) a URL that is not absolute http(s), holds a user or password,
    or is plain http to another machine; ``todo`` says what to write instead."""
    if "@" in urlsplit(url).netloc:
        check.fail(
            key,
            "the URL holds a user or password",
            "remove it: credentials go in the credentials table, as references",
        )
    try:
        parsed = check_base_url(url, allow_insecure_http=True, what="the URL")
    except ValueError as exc:
        check.fail(key, str(exc), todo)
    if parsed.scheme == "http" and not is_loopback(parsed.host):
        check.fail(
            key,
            f"http://{parsed.host} is plain http to another machine (credentials would "
            "travel unencrypted)",
            "use https",
        )


def _variable_hint(store: str | None, key: str) -> str:
    base = re.sub(r"[^A-Za-z0-9]+", "_", store or "store").strip("_").upper() or "STORE"
    if base[0].isdigit():
        base = "STORE_" + base
    return f"{base}_{key.upper()}"


def _credential_value(key: str, value: object, check: StoreChecker) -> str:
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
        check_url(value, "credentials.token_url", check, "write an https URL or a reference")
    return value


def check_credentials(
    table: Mapping[str, Any], spec: ProviderSpec, check: StoreChecker
) -> dict[str, str]:
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
