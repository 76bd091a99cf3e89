"""The stores file of a fleet: :class:`StoreConfig` per ``[[store]]`` table, parsed and checked.

A stores file is TOML::

    [defaults]                      # optional: keys every store gets unless it sets them
    rate_limit = 5

    [[store]]
    name = "shop-eu"
    provider = "sendcloud"
    api_version = 3
    credentials = { public_key = "$SHOP_EU_PK", secret_key = "$SHOP_EU_SK" }

Secrets are references to environment variables (``"$NAME"`` or ``"${NAME}"``), resolved only
by the process that calls the API (:mod:`integration_logs_async.fleet._credentials`). Parsing
is pure: :func:`parse_stores` takes text, :func:`load_stores` only adds reading the file.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._credential_rules import CredentialKind, credential_kind, reference_name
from ._store_errors import StoresFileError
from ._store_rules import STORE_KEYS, check_store

__all__ = [
    "StoreConfig",
    "StoresFileError",
    "load_stores",
    "parse_stores",
    "reference_name",
]

_TOML_POSITION = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)$")


@dataclass(frozen=True, kw_only=True, slots=True)
class StoreConfig:
    """One store (account) of a fleet: its provider, API, credentials references and harvest
    settings. Checked on construction like a stores file is (:class:`StoresFileError`).

    ``name`` is unique in a file and is the sinks' ``store`` column; ``credentials`` maps
    ``public_key``/``secret_key`` (Sendcloud Basic) or ``client_id``/``client_secret``
    (+ ``token_url``; Sendcloud OAuth2, Elastic Path) to ``"$VAR"`` references (public ids may
    be literal). ``None`` means the provider's default for every optional setting;
    ``rate_limit=0`` means no pacing. It never holds a resolved secret.
    """

    name: str
    provider: str
    api_version: int | None = None
    base_url: str | None = None
    credentials: Mapping[str, str] = field(hash=False)
    rate_limit: float | None = None
    scope: str | None = None
    integration_ids: tuple[str, ...] = ()
    page_size: int | None = None
    concurrency: int | None = None

    def __post_init__(self) -> None:
        table = {key: getattr(self, key) for key in STORE_KEYS}
        for key, value in check_store(table, source="StoreConfig").items():
            object.__setattr__(self, key, value)

    def __repr__(self) -> str:
        shown = [f"name={self.name!r}", f"provider={self.provider!r}"]
        for key in STORE_KEYS[2:]:
            value = getattr(self, key)
            if key == "credentials":
                value = dict(value)  # references and public ids only: see check_store
            if value is not None and value != ():
                shown.append(f"{key}={value!r}")
        return f"StoreConfig({', '.join(shown)})"

    @property
    def credential_kind(self) -> CredentialKind:
        """``"basic"`` (public key + secret key) or ``"client_credentials"`` (OAuth2)."""
        return credential_kind(self.credentials)

    def to_json(self) -> dict[str, Any]:
        """The store as JSON-safe data (references only, never secrets): every key, None
        for defaults. :meth:`from_json` reads it back."""
        data = {key: getattr(self, key) for key in STORE_KEYS}
        data["credentials"] = dict(self.credentials)
        data["integration_ids"] = list(self.integration_ids)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], source: str = "job") -> StoreConfig:
        """The store that :meth:`to_json` gave; checked again like a stores file, its
        errors (:class:`StoresFileError`) naming ``source``."""
        if not isinstance(data, Mapping):
            raise StoresFileError(
                f"{source}: a store must be a JSON object, not {type(data).__name__}; "
                "pass StoreConfig.to_json()",
                source=source,
            )
        kept = {key: value for key, value in data.items() if value is not None}
        return cls(**check_store(kept, source=source))


def _syntax_error(exc: tomllib.TOMLDecodeError, source: str) -> StoresFileError:
    """``exc`` as a message naming the file, line and column (tomllib never quotes content)."""
    text = str(exc)
    match = _TOML_POSITION.search(text)
    what = text[: match.start()] if match else text
    if match and match.group(1):
        where = f"line {match.group(1)}, column {match.group(2)}"
    else:
        where = "end of file"
    return StoresFileError(
        f"{source}: {where}: not valid TOML: {what}; fix the syntax there (strings in double "
        "quotes, one key = value per line, [[store]] before each store's keys)",
        source=source,
    )


def _tables(doc: Mapping[str, Any], source: str) -> tuple[dict[str, Any], list[Any]]:
    """The ``[defaults]`` table and the ``[[store]]`` tables of a parsed file."""
    for key in doc:
        if key not in ("store", "defaults"):
            raise StoresFileError(
                f"{source}: {key}: unknown top-level key; a stores file holds [[store]] tables "
                "and an optional [defaults] table (put store keys below [[store]])",
                source=source,
                key=key,
            )
    defaults = doc.get("defaults", {})
    if not isinstance(defaults, dict):
        raise StoresFileError(
            f"{source}: defaults: must be a table; write [defaults] and its keys below it",
            source=source,
            key="defaults",
        )
    for key in defaults:
        if key == "name":
            raise StoresFileError(
                f"{source}: [defaults]: name: each store names itself; remove name from [defaults]",
                source=source,
                key="name",
            )
        if key not in STORE_KEYS:
            raise StoresFileError(
                f"{source}: [defaults]: {key}: unknown key; remove it (the keys are "
                f"{', '.join(STORE_KEYS[1:])})",
                source=source,
                key=key,
            )
    stores = doc.get("store")
    if stores is None or stores == []:
        raise StoresFileError(
            f"{source}: no stores; add a [[store]] table with name, provider and credentials "
            "for each store",
            source=source,
        )
    if not isinstance(stores, list):
        raise StoresFileError(
            f"{source}: store: must be an array of tables; write [[store]] (two brackets) "
            "before each store",
            source=source,
            key="store",
        )
    return defaults, stores


def parse_stores(text: str, source: str = "stores file") -> list[StoreConfig]:
    """The stores of a stores file's ``text``, in file order; :class:`StoresFileError`
    (naming ``source``, the store and the key) for the first problem found."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(exc, source) from None
    defaults, tables = _tables(doc, source)
    stores: list[StoreConfig] = []
    seen: dict[str, int] = {}
    for position, table in enumerate(tables, 1):
        merged = {**defaults, **table} if isinstance(table, dict) else table
        inherited = frozenset(defaults) - frozenset(table) if isinstance(table, dict) else None
        store = StoreConfig(
            **check_store(
                merged, source=source, position=position, from_defaults=inherited or frozenset()
            )
        )
        if store.name in seen:
            raise StoresFileError(
                f"{source}: store {store.name!r}: name: already the name of store "
                f"{seen[store.name]}; give each store its own name",
                source=source,
                store=store.name,
                key="name",
            )
        seen[store.name] = position
        stores.append(store)
    return stores


def load_stores(path: str | os.PathLike[str]) -> list[StoreConfig]:
    """The stores of the stores file at ``path`` (:func:`parse_stores`); a file that cannot
    be read is a :class:`StoresFileError` too."""
    source = os.fspath(path)
    try:
        with open(path, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        raise StoresFileError(
            f"{source}: no such file; give the path of your stores file (TOML, one [[store]] "
            "table per store)",
            source=source,
        ) from None
    except OSError as exc:
        raise StoresFileError(
            f"{source}: cannot read it ({exc.strerror or exc}); check the path and its permissions",
            source=source,
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StoresFileError(
            f"{source}: not UTF-8 text (byte {exc.start}); save the file as UTF-8",
            source=source,
        ) from None
    return parse_stores(text, source)
