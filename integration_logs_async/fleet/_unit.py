"""The harvest unit of a fleet: one store of a stores file harvested into a sink, once.

:func:`harvest_store` is the public building block: ``fleet run``, the procrastinate workers
and a user's own Airflow, Dagster or Celery task all call it. It builds the store's own
client (credentials resolved from the environment only here, in the process that calls the
API), runs :func:`~integration_logs_async.harvest.run_harvest` into the sink under the
store's name, and closes the client. Exactly once comes from the sink: rows and checkpoint
in one transaction, one writer per store (advisory lock); a rerun continues from the
committed checkpoint, or adds the new logs once a run has completed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime

from .. import _constants as C
from ..config import ClientSettings
from ..harvest import HarvestOptions, HarvestResult, run_harvest
from ._credentials import client_for_store
from ._stores import StoreConfig


def harvest_options(
    store: StoreConfig, to: str, *, since: datetime | None = None
) -> HarvestOptions:
    """The :class:`~integration_logs_async.harvest.HarvestOptions` that harvest ``store``
    into the sink ``to`` (pure; ``ValueError`` for options the harvest refuses)."""
    return HarvestOptions(
        provider=store.provider,
        api_version=store.api_version,
        to=to,
        store=store.name,
        scope=store.scope,  # type: ignore[arg-type]  # checked by the stores file and here
        integration_ids=tuple(store.integration_ids),
        since=since,
        page_size=store.page_size,
        concurrency=C.FANOUT_CONCURRENCY if store.concurrency is None else store.concurrency,
    )


async def harvest_store(
    store: StoreConfig,
    to: str,
    *,
    env: Mapping[str, str] | None = None,
    since: datetime | None = None,
    settings: ClientSettings | None = None,
) -> HarvestResult:
    """Harvest one store of a fleet into the sink ``to`` (e.g. ``postgresql://…``), once.

    ``env`` resolves the store's credential references (default ``os.environ``);
    ``settings`` are further client settings (timeouts, attempts). Resumes from the
    committed checkpoint by itself, and after a complete run adds only the new logs.

    Raises the typed errors of a harvest: e.g.
    :class:`~integration_logs_async.fleet.StoreCredentialsError` (a variable not set),
    :class:`~integration_logs_async.errors.AuthenticationError` (credentials refused),
    :class:`~integration_logs_async.errors.TransportError` (server unreachable),
    :class:`~integration_logs_async.sinks.SinkLockedError` (another run holds the store) and
    the other :class:`~integration_logs_async.sinks.SinkError` subclasses. Cancellation
    leaves every committed batch in the sink.
    """
    options = harvest_options(store, to, since=since)  # checked before any connection
    client = client_for_store(store, os.environ if env is None else env, settings=settings)
    async with client:
        return await run_harvest(client, options, progress=False)


__all__ = ["harvest_options", "harvest_store"]
