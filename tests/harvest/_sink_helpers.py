"""An in-memory sink for the sink harvest's tests: a real :class:`Sink`, with failure injection.

:class:`FakeDatabase` holds what is committed (rows by key, states, integrations, writer
locks); each :class:`FakeSink` is one connection to it, committing a batch and its state
together, or neither, like the database sinks. ``fail_after=N`` makes the (N+1)-th write
raise (nothing of it committed); ``unique=False`` behaves like Parquet (no primary key:
the harvest must not hand it an id twice, which the fake asserts).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest

from integration_logs_async.harvest import _sink_job
from integration_logs_async.sinks import (
    IntegrationRow,
    LogRow,
    SinkError,
    SinkFullError,
    SinkLockedError,
    SinkURL,
    StoreKey,
    parse_sink_url,
)

__all__ = ["FakeDatabase", "FakeSink", "install_fake"]


@dataclass
class FakeDatabase:
    """What the fake sinks of one URL have committed."""

    unique: bool = True
    batch_records: int = 5000
    """The rows per write the sink asks for (``Sink.batch_records``)."""
    rows: dict[tuple[str, str, str], LogRow] = field(default_factory=dict)
    states: dict[StoreKey, bytes] = field(default_factory=dict)
    integrations: dict[tuple[str, str, str], IntegrationRow] = field(default_factory=dict)
    locks: set[tuple[str, str]] = field(default_factory=set)
    writes: int = 0
    """Batches committed."""
    batch_sizes: list[int] = field(default_factory=list)
    """The rows of each committed write."""
    fail_after: int | None = None
    """Commit this many more writes, then fail the next (and every later) one."""
    failure: type[SinkError] = SinkFullError
    block_after: int | None = None
    """Commit this many more writes, then wait in the next one until :attr:`release` is set
    (to cancel a harvest inside a write)."""
    blocked: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    opened: int = 0
    closed: int = 0

    def store_rows(self, provider: str, store: str) -> dict[str, LogRow]:
        """The rows of one store, by id."""
        return {k[2]: row for k, row in self.rows.items() if k[:2] == (provider, store)}


class FakeSink:
    """One connection to a :class:`FakeDatabase` (the :class:`Sink` protocol)."""

    def __init__(self, url: SinkURL, db: FakeDatabase) -> None:
        self._url, self._db = url, db
        self._key: StoreKey | None = None
        self._closed = False

    @property
    def target(self) -> SinkURL:
        return self._url

    @property
    def unique(self) -> bool:
        return self._db.unique

    @property
    def batch_records(self) -> int:
        return self._db.batch_records

    async def ids(self) -> AsyncIterator[list[str]]:
        assert self._key is not None
        ids = list(self._db.store_rows(self._key.provider, self._key.store))
        for at in range(0, len(ids), 7):
            yield ids[at : at + 7]

    async def open(self, key: StoreKey) -> bytes | None:
        self._db.opened += 1
        lock = (key.provider, key.store)
        if lock in self._db.locks:
            raise SinkLockedError(
                f"another harvest of store {key.store!r} is writing to {self._url.shown} right "
                "now; wait for it to finish (or stop it), then rerun"
            )
        self._db.locks.add(lock)
        self._key = key
        return self._db.states.get(key)

    async def write(self, rows: Sequence[LogRow], state: bytes) -> int:
        db, key = self._db, self._key
        assert key is not None and not self._closed
        if db.block_after is not None and db.writes >= db.block_after:
            db.blocked.set()
            await db.release.wait()  # cancelled here: nothing of this batch is committed
        if db.fail_after is not None and db.writes >= db.fail_after:
            raise db.failure(f"fake: {self._url.shown} is full; nothing of this batch committed")
        inserted = 0
        staged: dict[tuple[str, str, str], LogRow] = {}
        for row in rows:
            assert (row[0], row[1]) == (key.provider, key.store), row[:3]
            k = (row[0], row[1], row[2])
            if k in db.rows or k in staged:
                assert db.unique, f"id {row[2]} handed twice to a sink without a primary key"
                continue
            staged[k] = row
            inserted += 1
        await asyncio.sleep(0)  # a real driver awaits: let a cancellation in
        db.rows.update(staged)  # the commit: rows and state together
        db.states[key] = bytes(state)
        db.writes += 1
        db.batch_sizes.append(len(rows))
        return inserted

    async def write_integrations(self, rows: Sequence[IntegrationRow]) -> None:
        for row in rows:
            self._db.integrations[(row[0], row[1], row[2])] = row

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._db.closed += 1
        if self._key is not None:
            self._db.locks.discard((self._key.provider, self._key.store))


def install_fake(monkeypatch: pytest.MonkeyPatch, db: FakeDatabase) -> None:
    """Make every harvest's ``open_sink`` connect to ``db`` (any database URL)."""

    def open_fake(target: SinkURL | str) -> FakeSink:
        url = parse_sink_url(target) if isinstance(target, str) else target
        return FakeSink(url, db)

    monkeypatch.setattr(_sink_job, "open_sink", open_fake)
