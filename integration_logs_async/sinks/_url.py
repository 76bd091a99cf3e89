"""Where ``--to`` points: a sink URL parsed and shown without its password (pure).

``postgresql://user:pass@host:5432/db`` (also ``postgres://``; query parameters such as
``sslmode`` pass through to the driver), ``duckdb:///path/to/file.duckdb`` (relative:
``duckdb:logs.duckdb``), ``parquet:///path/to/dir`` and ``jsonl:///path/to/file.jsonl``.
``?table=NAME`` sets the log table's name (default ``integration_logs``) for the databases;
DuckDB also takes ``?memory_limit=`` (default 256MB: its buffer pool would otherwise grow to
80% of the machine's memory with the table).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from yarl import URL

SinkKind = Literal["postgresql", "duckdb", "parquet", "jsonl"]

DEFAULT_TABLE = "integration_logs"
_SCHEMES: dict[str, SinkKind] = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "duckdb": "duckdb",
    "parquet": "parquet",
    "jsonl": "jsonl",
}
_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}")


@dataclass(frozen=True)
class SinkURL:
    """A parsed ``--to`` URL. ``dsn`` is for the driver (with its password); ``shown`` is
    for messages and files (never the password). ``path`` is the file or directory of the
    file-based sinks."""

    kind: SinkKind
    dsn: str
    shown: str
    path: str | None
    table: str
    options: tuple[tuple[str, str], ...] = ()
    """Query parameters of a file sink other than ``table`` (e.g. DuckDB's ``memory_limit``)."""

    def option(self, name: str, default: str) -> str:
        """The query parameter ``name`` of a file sink, else ``default``."""
        return dict(self.options).get(name, default)

    def __repr__(self) -> str:
        return f"SinkURL({self.shown!r})"


def parse_sink_url(text: str) -> SinkURL:
    """``text`` as a :class:`SinkURL`; ``ValueError`` saying which forms are accepted."""
    if not isinstance(text, str) or ":" not in text:
        raise ValueError(
            f"--to {text!r} is not a sink URL: use postgresql://user@host/db, "
            "duckdb:///path.duckdb, parquet:///dir or jsonl:///path.jsonl"
        )
    scheme = text.split(":", 1)[0].lower()
    kind = _SCHEMES.get(scheme)
    if kind is None:
        raise ValueError(
            f"--to scheme {scheme!r} is not supported: use postgresql://, duckdb://, "
            "parquet:// or jsonl://"
        )
    url = URL(text)
    table = url.query.get("table", DEFAULT_TABLE)
    if not _TABLE.fullmatch(table):
        raise ValueError(
            f"table name {table!r} must be letters, digits and underscores (at most 41), "
            "starting with a letter or underscore"
        )
    if kind == "postgresql":
        query = {k: v for k, v in url.query.items() if k != "table"}
        dsn_url = url.with_query(query)
        shown = str(dsn_url.with_password(None) if dsn_url.password else dsn_url)
        return SinkURL(kind, str(dsn_url), shown, None, table)
    path = _file_path(text, scheme)
    if not path:
        raise ValueError(f"--to {text!r} names no path, e.g. {scheme}:///var/data/logs")
    return SinkURL(
        kind,
        path,
        f"{scheme}://{path}" if path.startswith("/") else f"{scheme}:{path}",
        path,
        table,
        tuple((k, v) for k, v in url.query.items() if k != "table"),
    )


def _file_path(text: str, scheme: str) -> str:
    """The path of ``scheme:///abs``, ``scheme://./rel`` or ``scheme:rel`` (query removed)."""
    rest = text[len(scheme) + 1 :].split("?", 1)[0]
    if rest.startswith("//"):
        rest = rest[2:]
        if rest.startswith("./") or rest.startswith("../"):
            return rest
        if not rest.startswith("/"):
            raise ValueError(
                f"{scheme}://{rest} has a host; write {scheme}:///absolute/path or "
                f"{scheme}:relative/path"
            )
    return rest


__all__ = ["DEFAULT_TABLE", "SinkKind", "SinkURL", "parse_sink_url"]
