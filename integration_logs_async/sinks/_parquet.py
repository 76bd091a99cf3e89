"""The Parquet sink: a directory of Hive-partitioned Parquet files and a manifest.

``parquet:///data/logs``: each :meth:`ParquetSink.write` writes one file per provider and
UTC day present in the batch (``logs/provider=<p>/day=YYYY-MM-DD/…``, see
:mod:`._manifest`), each atomically, then replaces ``_manifest.json`` atomically: the
manifest is the commit, listing the files and the harvest states. Files that look like
ours but that the manifest does not list are a crash's leftovers: removed at the next open
(other files are never touched). Read it with
``duckdb.read_parquet('<dir>/logs/**/*.parquet', hive_partitioning=true)`` or
``pyarrow.dataset.dataset('<dir>/logs', partitioning='hive')``.

One writer per directory: an exclusive ``flock`` on ``<dir>/.lock`` for the whole run (a
second harvest into the directory, of any store, fails at once with
:class:`~._errors.SinkLockedError`).

Each write commits, so each batch makes at least one file: a harvest writing every few
thousand records makes many small files (about 100 bytes a record compressed). To compact,
copy with DuckDB (``COPY (SELECT * FROM read_parquet(...)) TO 'out' (FORMAT parquet,
PARTITION_BY (provider, day))``) while no harvest runs. Not :attr:`unique`: the harvest
skips ids already written (:meth:`ParquetSink.ids`).
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from .._constants import PARQUET_SAVE_EVERY_RECORDS
from . import _manifest as m
from ._arrow import integration_table, log_table
from ._durable import (
    fsync_all,
    fsync_dir,
    lock,
    make_dirs,
    os_error,
    temp_path,
    unlock,
    write_atomic,
    write_temp,
)
from ._errors import SinkReadOnlyError, SinkSchemaError, SinkUnavailableError
from ._postgres_clean import storable_rows
from ._rows import IntegrationRow, LogRow
from ._sink import StoreKey
from ._url import SinkURL
from ._worker import Worker

_IDS_BATCH = 50_000
_COMPRESSION = "zstd"


class _Cancelled(Exception):
    """The awaiting task was cancelled before the manifest was replaced."""


class ParquetSink:
    """Writes a harvest into a directory of Parquet files (``parquet:///dir``); see the
    module."""

    unique = False
    batch_records = PARQUET_SAVE_EVERY_RECORDS
    """A file per provider and day of each batch: larger batches, fewer and larger files."""

    def __init__(self, url: SinkURL) -> None:
        self._url = url
        self._dir = Path(url.path or "")
        self._worker: Worker | None = None
        self._lock: int | None = None
        self._key: StoreKey | None = None
        self._manifest = m.Manifest()
        self._run = secrets.token_hex(8)
        self._seq = 0
        self.removed: list[str] = []
        """Leftover files removed at open (relative paths)."""

    @property
    def target(self) -> SinkURL:
        """The directory written to."""
        return self._url

    def __repr__(self) -> str:
        return f"ParquetSink({self._url.shown!r})"

    async def open(self, key: StoreKey) -> bytes | None:
        """Create the directory if needed, take its lock, read the manifest, remove a crash's
        leftovers, and return ``key``'s committed state."""
        if self._worker is not None:
            raise RuntimeError(f"{self!r} was opened already (open a sink once)")
        self._worker = Worker("parquet-sink")
        self._key = key
        try:
            return await self._worker.run(self._open_sync, key)
        except BaseException:
            await self.close()
            raise

    async def write(self, rows: Sequence[LogRow], state: bytes) -> int:
        """Write ``rows`` (one file per provider and day) and commit them with ``state`` in
        the manifest; returns ``len(rows)``."""
        try:
            table = log_table(rows)
        except ValueError:  # a lone surrogate in a text field: U+FFFD in its place
            fixed = storable_rows(rows)
            if fixed is None:
                raise
            table = log_table(fixed)
        state_text = state.decode()
        cancel = threading.Event()
        return await self._running().run(self._write_sync, table, state_text, cancel, cancel=cancel)

    async def write_integrations(self, rows: Sequence[IntegrationRow]) -> None:
        """Insert or update integrations: each store's file is replaced atomically."""
        table = integration_table(rows)
        await self._running().run(self._integrations_sync, table)

    async def ids(self) -> AsyncIterator[list[str]]:
        """The ids committed for the opened key's provider and store, reading only the ``id``
        column of its files, a batch at a time."""
        batches = self._id_batches()
        while (batch := await self._running().run(next, batches, None)) is not None:
            yield batch

    async def close(self) -> None:
        """Release the directory's lock; idempotent (uncommitted files are removed at the
        next open)."""
        if self._worker is not None:
            await self._worker.close(self._close_sync)

    def _running(self) -> Worker:
        if self._worker is None or not self._worker.running:
            raise RuntimeError(f"{self!r} is not open")
        return self._worker

    # -- the worker thread -------------------------------------------------------------------

    def _open_sync(self, key: StoreKey) -> bytes | None:
        where = self._url.shown
        directory = self._dir
        try:
            if not directory.exists():
                if not directory.parent.is_dir():
                    raise SinkUnavailableError(
                        f"cannot open {where}: its parent directory {directory.parent} does "
                        "not exist; create it or choose another path"
                    )
                directory.mkdir()
            if not directory.is_dir():
                raise SinkUnavailableError(f"{where}: {directory} is not a directory")
            if not os.access(directory, os.W_OK):
                raise SinkReadOnlyError(
                    f"cannot write {where}: the directory is read-only; make it writable or "
                    "choose another one"
                )
            self._lock = lock(directory / m.LOCK, f"{where} (harvesting store {key.store!r})")
            self._manifest = self._read_manifest()
            self._remove_leftovers()
        except OSError as exc:
            raise os_error(exc, "opening", where) from None
        found = self._manifest.states.get((key.provider, key.store, key.harvest))
        return None if found is None else found[0].encode()

    def _read_manifest(self) -> m.Manifest:
        path = self._dir / m.MANIFEST
        where = self._url.shown
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            if any(self._our_files()):
                raise SinkSchemaError(
                    f"{where} holds data files but no {m.MANIFEST}: without it nothing says "
                    "which are committed; restore it from a backup, or move the directory "
                    "away and harvest again"
                ) from None
            manifest = m.Manifest()
            self._commit(manifest)  # from here on, a file not listed is a leftover
            return manifest
        found = m.version(data)
        if found is not None and found > m.MANIFEST_VERSION:
            raise SinkSchemaError(
                f"{where}/{m.MANIFEST} has layout version {found}, written by a newer "
                f"integration-logs-async (this one knows {m.MANIFEST_VERSION}): upgrade the "
                "package, or write to another directory"
            )
        try:
            return m.loads(data)
        except m.ManifestError as exc:
            raise SinkSchemaError(
                f"{where}/{m.MANIFEST} is damaged ({exc}); it lists the committed files and "
                "the harvest states, so the harvest will not start over (that would duplicate "
                "records): restore it from a backup, or move the directory away and harvest "
                "again"
            ) from None

    def _our_files(self) -> Iterator[tuple[Path, bool]]:
        """Files in our partition directories named as we name them: (path, is a
        temporary file)."""
        for pattern in (f"{m.LOGS}/provider=*/day=*/*", f"{m.INTEGRATIONS}/provider=*/*"):
            for path in self._dir.glob(pattern):
                if m.TEMP_FILE.fullmatch(path.name):
                    yield path, True
                elif pattern.startswith(m.LOGS) and m.DATA_FILE.fullmatch(path.name):
                    yield path, False
        manifest_temp = temp_path(self._dir / m.MANIFEST)
        if manifest_temp.exists():
            yield manifest_temp, True

    def _remove_leftovers(self) -> None:
        listed = {f.path for f in self._manifest.files}
        for path, temporary in list(self._our_files()):
            relative = path.relative_to(self._dir).as_posix()
            if temporary or relative not in listed:
                path.unlink()
                self.removed.append(relative)

    def _write_sync(self, table: Any, state: str, cancel: threading.Event) -> int:
        key = self._key
        assert key is not None
        written: list[m.DataFile] = []
        temps: list[tuple[Path, Path]] = []  # (temporary, final) of each file written
        committed = False
        try:
            changed: set[Path] = set()
            for provider, store, day, part in _partitions(table):
                self._seq += 1
                relative = f"{m.partition_dir(provider, day)}/"
                relative += m.data_file_name(store, self._run, self._seq)
                path = self._dir / relative
                changed.update(make_dirs(path.parent, self._dir))
                temps.append((write_temp(path, partial(_write_parquet, part)), path))
                written.append(m.DataFile(relative, provider, store, part.num_rows))
                changed.add(path.parent)
            # every file on disk before any is renamed, every rename before the manifest
            fsync_all([temp for temp, _ in temps])
            for temp, path in temps:
                os.replace(temp, path)
            fsync_all(changed, directories=True)
            if cancel.is_set():
                raise _Cancelled
            manifest = m.Manifest(
                [*self._manifest.files, *written],
                {
                    **self._manifest.states,
                    (key.provider, key.store, key.harvest): (
                        state,
                        datetime.now(UTC).isoformat(),
                    ),
                },
            )
            data = m.dumps(manifest)
            write_atomic(self._dir / m.MANIFEST, lambda temp: temp.write_bytes(data))
            committed = True  # renamed into place: the batch is committed
            self._manifest = manifest
            fsync_dir(self._dir)
        except BaseException as exc:
            if not committed:
                for leftover in (p for pair in temps for p in pair):
                    with suppress(OSError):  # else removed at the next open
                        leftover.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise os_error(exc, "writing to", self._url.shown) from None
            raise
        return int(table.num_rows)

    def _commit(self, manifest: m.Manifest) -> None:
        """Replace the manifest (durably) and keep it."""
        data = m.dumps(manifest)
        write_atomic(self._dir / m.MANIFEST, lambda temp: temp.write_bytes(data))
        self._manifest = manifest
        fsync_dir(self._dir)

    def _integrations_sync(self, table: Any) -> None:
        try:
            for provider, store, _, part in _partitions(table, by_day=False):
                path = self._dir / m.integrations_path(provider, store)
                changed = make_dirs(path.parent, self._dir)
                if path.exists():
                    old = pq.read_table(path, schema=part.schema, partitioning=None)
                    keep = pc.invert(pc.is_in(old.column("id"), value_set=part.column("id")))
                    part = pa.concat_tables([old.filter(keep), part])
                write_atomic(path, partial(_write_parquet, part))
                for directory in {*changed, path.parent}:
                    fsync_dir(directory)
        except OSError as exc:
            raise os_error(exc, "writing integrations to", self._url.shown) from None

    def _id_batches(self) -> Iterator[list[str]]:
        key = self._key
        assert key is not None
        for data_file in self._manifest.files:
            if (data_file.provider, data_file.store) != (key.provider, key.store):
                continue
            parquet = pq.ParquetFile(self._dir / data_file.path)
            try:
                for batch in parquet.iter_batches(batch_size=_IDS_BATCH, columns=["id"]):
                    yield batch.column(0).to_pylist()
            finally:
                parquet.close()

    def _close_sync(self) -> None:
        fd, self._lock = self._lock, None
        if fd is not None:
            unlock(fd)


def _partitions(table: Any, by_day: bool = True) -> Iterator[tuple[str, str, str, Any]]:
    """``table`` split by provider, store and UTC day (``unknown`` without a date): each
    part without its provider column (the partition directory holds it)."""
    if not table.num_rows:
        return
    columns = [table.column("provider"), table.column("store")]
    if by_day:
        day = pc.cast(pc.cast(table.column("created_at"), pa.date32()), pa.string())
        columns.append(pc.fill_null(day, "unknown"))
    else:
        columns.append(pa.array([""] * table.num_rows, pa.string()))
    group = pc.binary_join_element_wise(*columns, "\x00")
    rest = table.drop_columns(["provider"])
    counts = pc.value_counts(group)
    if len(counts) > 1:  # one stable sort, then slices (a filter per part scans them all)
        order = pc.sort_indices(group)
        rest, group = rest.take(order), group.take(order)
        counts = pc.value_counts(group)  # in order of first appearance: sorted
    start = 0
    for value, count in zip(
        counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
    ):
        provider, store, day_text = value.split("\x00")
        yield provider, store, day_text, rest.slice(start, count)
        start += count


_DISTINCT = frozenset({"id", "created_at", "url", "error", "raw"})
"""Columns whose values are mostly distinct: a dictionary would only be built and dropped."""
_NO_STATISTICS = frozenset({"raw"})
"""Columns no reader filters by range: their min and max (whole JSON documents, truncated)
were 13% of a file (benchmarks/README.md, "Sinks")."""


def _write_parquet(table: Any, path: Path) -> None:
    # no dictionary for an all-NULL column: DuckDB 1.1.1 calls such a file corrupt
    # ("cannot have dictionary offsets without seeing a non-empty dictionary first")
    dictionary = [
        name
        for name, column in zip(table.column_names, table.columns, strict=True)
        if column.null_count < table.num_rows and name not in _DISTINCT
    ]
    statistics = [name for name in table.column_names if name not in _NO_STATISTICS]
    pq.write_table(
        table,
        path,
        compression=_COMPRESSION,
        use_dictionary=dictionary,
        write_statistics=statistics,
    )


__all__ = ["ParquetSink"]
