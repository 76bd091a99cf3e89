"""The sink interface: rows and the state that covers them, committed together.

A harvest into a database never keeps a local state file: each batch of rows and the
harvest's state after them (an opaque JSON document the harvest owns) are committed in one
transaction, so a run killed at any moment leaves the last committed pair, and a rerun
continues from it with every record exactly once (the primary key drops what a resumed run
reads twice). :meth:`Sink.open` also takes the store's writer lock for the whole run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..auth import Auth, BasicAuth, ClientCredentials
from ._rows import IntegrationRow, LogRow
from ._url import SinkURL


@dataclass(frozen=True, slots=True)
class StoreKey:
    """Whose rows and state a run writes: a provider's store, and which harvest of it.

    ``provider``: the client's checkpoint name (``sendcloud``, ``sendcloud/v3``,
    ``elasticpath``); ``store``: the account's name (``--store``); ``harvest``: what is read
    (scope, integrations, API version), so two harvest definitions of one store keep
    separate states while sharing its rows.
    """

    provider: str
    store: str
    harvest: str


class Sink(Protocol):
    """Where a harvest writes (``--to``). Use ``open`` once, then ``write`` batches, then
    ``close`` (also after a failure: it rolls back what is uncommitted and frees the lock)."""

    @property
    def target(self) -> SinkURL:
        """The URL written to, shown without its password."""
        ...

    @property
    def unique(self) -> bool:
        """True when the sink itself drops a row whose key it already holds (a primary key);
        False (Parquet): the harvest must not hand it an id twice (see :meth:`ids`)."""
        ...

    @property
    def batch_records(self) -> int:
        """How many rows a harvest should give each :meth:`write` unless told otherwise
        (``--save-every``): 5,000, or more where the target prefers larger batches (DuckDB a
        row group, Parquet fewer files)."""
        ...

    def ids(self) -> AsyncIterator[list[str]]:
        """The ids already written for the opened key's provider and store, in batches (for
        a sink that is not :attr:`unique`, so the harvest can skip them)."""
        ...

    async def open(self, key: StoreKey) -> bytes | None:
        """Connect, create or migrate the tables, take ``key.store``'s writer lock (or raise
        :class:`~._errors.SinkLockedError` at once), and return the committed state of
        ``key`` (None: never harvested)."""
        ...

    async def write(self, rows: Sequence[LogRow], state: bytes) -> int:
        """Commit ``rows`` and ``state`` together (all or nothing); returns how many rows were
        new (the others were already there)."""
        ...

    async def write_integrations(self, rows: Sequence[IntegrationRow]) -> None:
        """Insert or update the store's integrations."""
        ...

    async def close(self) -> None:
        """Release the lock and the connection; idempotent."""
        ...


def default_store(provider: str, base_url: str, auth: Auth) -> str:
    """A store's default name: provider, API host and the credential's public id (the
    Sendcloud public key or OAuth2 client id; never a secret), e.g.
    ``sendcloud:panel.sendcloud.sc:pk_123``. A bearer token has no public id: ``bearer``."""
    from yarl import URL

    host = URL(base_url).host or "unknown-host"
    if isinstance(auth, BasicAuth):
        ident = auth.username
    elif isinstance(auth, ClientCredentials):
        ident = auth.client_id
    else:
        ident = "bearer"
    return f"{provider}:{host}:{ident}"


__all__ = ["Sink", "StoreKey", "default_store"]
