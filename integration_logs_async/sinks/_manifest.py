"""The Parquet sink's manifest and file layout: what is committed, and where files go (pure).

``<dir>/_manifest.json`` lists every committed data file (path, provider, store, rows) and
every harvest state (per provider, store, harvest); it is replaced atomically after a
batch's data files are durable, so it is the commit. A data file it does not list is the
leftover of a crash. The layout, readable as Hive partitions by DuckDB and pyarrow::

    <dir>/logs/provider=<p>/day=YYYY-MM-DD/<store>-<run>-<seq>.parquet   (day=unknown: no date)
    <dir>/integrations/provider=<p>/<store>.parquet
    <dir>/_manifest.json, <dir>/.lock

Partition values and store names are percent-encoded (``sendcloud%2Fv3``), as Hive readers
decode them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

MANIFEST = "_manifest.json"
LOCK = ".lock"
LOGS = "logs"
INTEGRATIONS = "integrations"
FORMAT = "integration-logs-async parquet"
MANIFEST_VERSION = 1
"""The layout's version: bump it (with a migration) when files or manifest change shape."""

DATA_FILE = re.compile(
    r"(?P<store>[A-Za-z0-9._~%-]+)-(?P<run>[0-9a-f]{16})-(?P<seq>[0-9]{6,})\.parquet"
)
"""The name of a data file this sink writes."""
TEMP_FILE = re.compile(r"\.(?P<final>[A-Za-z0-9._~%-]+\.(parquet|json))\.tmp")
"""A file being written (renamed to ``final`` once durable)."""


class ManifestError(ValueError):
    """The manifest cannot be read: what is wrong with it."""


@dataclass(frozen=True, slots=True)
class DataFile:
    """One committed data file, relative to the sink's directory."""

    path: str
    provider: str
    store: str
    rows: int


@dataclass(slots=True)
class Manifest:
    """Committed files and states (``states`` maps (provider, store, harvest) to
    ``(state JSON text, updated_at ISO text)``)."""

    files: list[DataFile] = field(default_factory=list)
    states: dict[tuple[str, str, str], tuple[str, str]] = field(default_factory=dict)


def safe(name: str) -> str:
    """``name`` as one path segment: percent-encoded, as Hive partitioning decodes it."""
    return quote(name, safe="")


def partition_dir(provider: str, day: str) -> str:
    """Where a provider's records of ``day`` (``YYYY-MM-DD`` or ``unknown``) go."""
    return f"{LOGS}/provider={safe(provider)}/day={day}"


def data_file_name(store: str, run: str, seq: int) -> str:
    """A data file's name: the store, the run's id (16 hex digits), a sequence number."""
    return f"{safe(store)}-{run}-{seq:06d}.parquet"


def integrations_path(provider: str, store: str) -> str:
    """The file of a store's integrations."""
    return f"{INTEGRATIONS}/provider={safe(provider)}/{safe(store)}.parquet"


def dumps(manifest: Manifest) -> bytes:
    """The manifest as JSON (states kept as their exact text)."""
    document = {
        "format": FORMAT,
        "version": MANIFEST_VERSION,
        "files": [
            {"path": f.path, "provider": f.provider, "store": f.store, "rows": f.rows}
            for f in manifest.files
        ],
        "states": [
            {"provider": p, "store": s, "harvest": h, "state": state, "updated_at": at}
            for (p, s, h), (state, at) in manifest.states.items()
        ],
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def loads(data: bytes) -> Manifest:
    """A manifest read back; :class:`ManifestError` saying what is wrong (a newer version
    raises it too: check :func:`version` first to tell the two apart)."""
    document = _document(data)
    if document.get("version") != MANIFEST_VERSION:
        raise ManifestError(f"version {document.get('version')!r} is not {MANIFEST_VERSION}")
    try:
        files = [
            DataFile(_text(f["path"]), _text(f["provider"]), _text(f["store"]), int(f["rows"]))
            for f in document["files"]
        ]
        states = {
            (_text(s["provider"]), _text(s["store"]), _text(s["harvest"])): (
                _text(s["state"]),
                _text(s["updated_at"]),
            )
            for s in document["states"]
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise ManifestError(f"an entry is malformed ({type(exc).__name__}: {exc})") from None
    return Manifest(files, states)


def version(data: bytes) -> int | None:
    """The manifest's layout version, if it can be read at all."""
    try:
        found = _document(data).get("version")
    except ManifestError:
        return None
    return found if isinstance(found, int) else None


def _document(data: bytes) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise ManifestError(f"not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ManifestError(f"not a manifest of this sink (no format {FORMAT!r})")
    return document


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not a string")
    return value


__all__ = [
    "DATA_FILE",
    "INTEGRATIONS",
    "LOCK",
    "LOGS",
    "MANIFEST",
    "MANIFEST_VERSION",
    "TEMP_FILE",
    "DataFile",
    "Manifest",
    "ManifestError",
    "data_file_name",
    "dumps",
    "integrations_path",
    "loads",
    "partition_dir",
    "safe",
    "version",
]
