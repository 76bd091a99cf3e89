"""The harvest into a sink (``--to``): rows and the state that covers them, committed together.

Exactly once by construction: every batch of rows is written with the state after them (the
streams' checkpoint at that page boundary) in one transaction of the sink
(:meth:`~integration_logs_async.sinks.Sink.write`). Killed at any moment, the store holds
the last committed batch and its state; a rerun continues from that checkpoint, and the
primary key (or, for a sink without one, the harvest's exact id set seeded from the ids it
holds) drops what the rerun reads twice. No local state file.

Incremental like the file harvest: a complete run records each stream's newest record, and
the next run stops every stream there (:func:`~._reading._stop_rule`).

The store's integrations are listed once per run and upserted (so failures join to shop
names). A failure to list them does not lose the log harvest: the logs are harvested all
the same, and the result carries a note saying the integrations were not updated.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TextIO, TypeVar

from .._tail import typed_decoder
from ..errors import AuthenticationError, IntegrationLogsError
from ..providers import BaseClient
from ..sinks import (
    IntegrationRow,
    LogRow,
    Sink,
    SinkError,
    SinkSchemaError,
    StoreKey,
    default_store,
    integration_row,
    log_row,
    open_sink,
)
from ._idset import IdSet
from ._options import HarvestOptions, save_interval
from ._progress import HarvestCounters, Progress
from ._reading import HarvestResult, _stop_rule, build_stream, check_client
from ._sink_state import SinkPlan, decode_state, encode_state, harvest_key, plan_sink_run
from ._state import Watermark

T = TypeVar("T")


def store_name(client: BaseClient, options: HarvestOptions) -> str:
    """``options.store``, else the default: provider, API host and the credential's public
    id (never a secret)."""
    if options.store is not None:
        return options.store
    return default_store(options.provider, client.base_url, client._auth)


async def _finish(work: Awaitable[T]) -> T:
    """Await ``work`` to its end even if this task is cancelled meanwhile (then re-raise the
    cancellation): a sink's close must run whole."""
    future = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait({future})
        if not future.cancelled():
            future.exception()  # seen: the cancellation is what propagates
        raise


async def write_integrations(
    client: BaseClient, sink: Sink, provider: str, store: str
) -> str | None:
    """List the store's integrations and upsert them; a note when the API failed to list
    them (None when written). A sink failure or refused credentials are raised: the logs
    could not be harvested either."""
    listing = client.integrations()
    decode = typed_decoder(listing._item_type)
    summarize = client.spec.summarize_integration
    rows: list[IntegrationRow] = []
    try:
        async with listing.raw() as raw_listing:
            async for record in raw_listing:
                rows.append(integration_row(summarize(decode(record)), record.raw, provider, store))
    except (IntegrationLogsError, ValueError) as exc:
        if isinstance(exc, SinkError | AuthenticationError):  # the logs would fail alike
            raise
        return (
            f"the integrations could not be listed ({' '.join(str(exc).split())}): the "
            "integrations table was not updated this run; the logs were harvested all the same"
        )
    await sink.write_integrations(rows)
    return None


async def run_sink_harvest(
    client: BaseClient,
    options: HarvestOptions,
    *,
    progress: bool = True,
    progress_stream: TextIO | None = None,
    progress_interval: float | None = None,
    counters: HarvestCounters | None = None,
) -> HarvestResult:
    """Harvest into ``options.to`` (a database or Parquet sink): see the module's docstring.

    ``counters``: counted into as the run goes, so that a caller knows how many records
    were committed before a failure (a fleet's status row).

    Raises :class:`~integration_logs_async.sinks.SinkError` subclasses for the sink (e.g.
    :class:`~integration_logs_async.sinks.SinkLockedError` at once when another harvest of
    the store is running); the client's errors as :func:`run_harvest` does.
    """
    target = options.sink
    assert target is not None, "run_sink_harvest() needs options.to"
    check_client(client, options)
    store = store_name(client, options)
    provider = client.spec.checkpoint_name
    key = StoreKey(provider=provider, store=store, harvest=harvest_key(options))
    where = f"store {store!r} in {target.shown} (table {target.table}_state)"
    sink = open_sink(target)  # SinkDependencyError when its extra is missing
    seen: IdSet | None = None
    try:
        blob = await sink.open(key)
        try:
            previous = None if blob is None else decode_state(blob, where)
        except ValueError as exc:
            raise SinkSchemaError(str(exc)) from None
        plan = plan_sink_run(options, previous, now=datetime.now(UTC).isoformat(), where=where)
        seen = IdSet()  # this run's ids; a sink without a primary key: every id it holds
        if not sink.unique:
            async for ids in sink.ids():
                for ident in ids:
                    seen.add(ident)
        notes = list(plan.notes)
        note = await write_integrations(client, sink, provider, store)
        if note is not None:
            notes.append(note)
        return await _harvest(
            client,
            options,
            sink,
            plan,
            seen,
            notes,
            store,
            progress=progress,
            progress_stream=progress_stream,
            progress_interval=progress_interval,
            counters=HarvestCounters() if counters is None else counters,
        )
    finally:
        try:
            await _finish(sink.close())
        finally:
            if seen is not None:
                seen.close()


async def _harvest(
    client: BaseClient,
    options: HarvestOptions,
    sink: Sink,
    plan: SinkPlan,
    seen: IdSet,
    notes: list[str],
    store: str,
    *,
    progress: bool,
    progress_stream: TextIO | None,
    progress_interval: float | None,
    counters: HarvestCounters,
) -> HarvestResult:
    """Read the streams and write them to the opened ``sink`` in batches at page boundaries."""
    state = plan.state
    stream = build_stream(
        client, options, state.checkpoint, _stop_rule(plan.watermarks, plan.since)
    )
    provider = client.spec.checkpoint_name
    normalize = client.spec.normalize
    stats = client.stats
    base = (stats.requests, stats.retries, stats.rate_limited)
    pending: dict[str, Watermark] = dict(state.pending_watermarks)
    batch: list[LogRow] = []
    save_every = options.records_per_save(sink.batch_records)
    run_inserted = 0
    last_write = time.monotonic()
    save_after = save_interval(options.save_every_seconds)

    async def commit(*, done: bool) -> None:
        """Write the batch with the state after it; the state counts rows optimistically
        (the sink says afterwards how many were new), so a batch that held rows already in
        the sink is followed by a write of the corrected state alone."""
        nonlocal batch, run_inserted, last_write, save_after
        state.pending_watermarks = dict(pending)
        state.checkpoint = None if done else stream.checkpoint
        if done:
            state.in_progress = False
            state.watermarks = {**state.watermarks, **pending}
            state.pending_watermarks = {}
            state.last_complete_at = datetime.now(UTC).isoformat()
        rows, batch = batch, []
        base_records = state.records
        state.records = base_records + len(rows)
        if done:
            state.last_run_records = run_inserted + len(rows)
        inserted = await sink.write(rows, encode_state(state))
        if inserted != len(rows):
            state.records = base_records + inserted
            if done:
                state.last_run_records = run_inserted + inserted
            await sink.write([], encode_state(state))
        run_inserted += inserted
        counters.records += inserted
        counters.duplicates += len(rows) - inserted
        last_write = time.monotonic()
        save_after = save_interval(options.save_every_seconds)

    async with (
        stream,
        Progress(
            counters,
            stats,
            stream=progress_stream,
            interval=progress_interval,
            enabled=progress,
            base_requests=base[0],
            base_retries=base[1],
            base_rate_limited=base[2],
        ),
    ):
        async for sourced in stream.pages():
            counters.pages += 1
            source = sourced.source
            label = source.label
            for record in sourced.page.items:
                if label not in pending:  # its newest record, written or not
                    created = record.created_at
                    pending[label] = Watermark(
                        id=record.id, created_at=None if created is None else created.isoformat()
                    )
                if not seen.add(record.id):
                    counters.duplicates += 1
                    continue
                batch.append(log_row(record, source, normalize, provider, store))
            del sourced
            if len(batch) >= save_every or time.monotonic() - last_write >= save_after:
                await commit(done=False)
        at_limit = options.max_items is not None and stream.consumed >= options.max_items
        complete = not at_limit
        await commit(done=complete)
    target = sink.target
    return HarvestResult(
        provider=options.provider,
        out=target.shown,
        state=None,
        records=counters.records,
        duplicates=counters.duplicates,
        pages=counters.pages,
        requests=stats.requests - base[0],
        retries=stats.retries - base[1],
        rate_limited=stats.rate_limited - base[2],
        elapsed=counters.elapsed,
        complete=complete,
        mode=plan.mode,
        records_in_file=state.records,
        stopped_at_max_items=not complete,
        failures={label: str(exc) for label, exc in stream.failures.items()},
        notes=notes,
        api_version=None if options.default_api_version else options.chosen_api_version,
        store=store,
        newest_created_at=_newest({**state.watermarks, **pending}),
    )


def _newest(watermarks: dict[str, Watermark]) -> datetime | None:
    """The latest ``created_at`` among ``watermarks`` (None: none carries one)."""
    times = [datetime.fromisoformat(w.created_at) for w in watermarks.values() if w.created_at]
    return max((t if t.tzinfo else t.replace(tzinfo=UTC) for t in times), default=None)


__all__ = ["run_sink_harvest", "store_name", "write_integrations"]
