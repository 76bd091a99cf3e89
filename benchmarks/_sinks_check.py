"""Targets of the sink benchmark: fresh URLs, rows counted as a user would read them, cleanup.

Counted in the benchmark's own process (never the measured client's): PostgreSQL and DuckDB
``count(*)`` and ``count(DISTINCT id)`` of the log table; Parquet the same over the id
column of every file under ``<dir>/logs`` (pyarrow); JSON Lines its lines and distinct ids.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path
from typing import Any

from ._sinks_postgres import query

__all__ = ["SinkTargets"]

TABLE = "integration_logs"


class SinkTargets:
    """Hands out a fresh target per run (a new file, directory or database) in ``scratch``."""

    def __init__(self, scratch: Path, postgres: Any | None) -> None:
        self.scratch = scratch
        self.postgres = postgres
        self._n = itertools.count(1)

    def fresh(self, kind: str) -> str:
        """A URL of ``kind`` that holds nothing yet."""
        n = next(self._n)
        if kind == "postgresql":
            assert self.postgres is not None
            return str(self.postgres.dsn(self.postgres.create_database()))
        suffix = {"duckdb": ".duckdb", "parquet": "", "jsonl": ".jsonl"}[kind]
        return f"{kind}://{self.scratch / f'sink-{n}{suffix}'}"

    def count(self, url: str) -> tuple[int, int]:
        """(rows, distinct ids) in the log table (lines, for JSON Lines)."""
        kind = url.split(":", 1)[0]
        if kind == "postgresql":
            database = url.rsplit("/", 1)[1]
            rows = query(
                self.postgres, f"SELECT count(*), count(DISTINCT id) FROM {TABLE}", database
            )
            return int(rows[0][0]), int(rows[0][1])
        path = url.split("://", 1)[1]
        if kind == "jsonl":
            import msgspec

            ids: set[str] = set()
            lines = 0
            with open(path, "rb") as handle:
                for line in handle:
                    lines += 1
                    ids.add(str(msgspec.json.decode(line)["id"]))
            return lines, len(ids)
        if kind == "parquet":  # every file under logs/ (a clean run leaves no leftovers)
            import pyarrow.compute as pc  # type: ignore[import-untyped]
            import pyarrow.dataset as ds  # type: ignore[import-untyped]

            ids = ds.dataset(f"{path}/logs", format="parquet").to_table(columns=["id"])["id"]
            return len(ids), int(pc.count_distinct(ids).as_py())
        import duckdb

        con = duckdb.connect(path, read_only=True)
        try:
            got = con.execute(f"SELECT count(*), count(DISTINCT id) FROM {TABLE}").fetchone()
        finally:
            con.close()
        assert got is not None
        return int(got[0]), int(got[1])

    def remove(self, url: str) -> None:
        """Delete what the run wrote (disk space for the next run)."""
        kind = url.split(":", 1)[0]
        if kind == "postgresql":
            database = url.rsplit("/", 1)[1]
            assert self.postgres is not None
            self.postgres.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            return
        path = Path(url.split("://", 1)[1])
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        for leftover in path.parent.glob(glob_escape(path.name) + "*"):
            if leftover.is_file():
                leftover.unlink(missing_ok=True)


def glob_escape(name: str) -> str:
    """``name`` with glob metacharacters escaped."""
    import glob

    return glob.escape(name)
