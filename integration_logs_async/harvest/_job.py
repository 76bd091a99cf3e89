"""The harvest job: pull every integration log into a JSON Lines file, crash-safely.

Exactly once: records are appended to the output, which is fsynced before the state file
(holding the consumer-side checkpoint and the output's size) is atomically replaced. A rerun
truncates the output to that size and resumes from that checkpoint, so a crash at any
moment loses nothing and repeats nothing. Ids are additionally deduplicated across the run.

Incremental: once a run completes, the state keeps each stream's newest record (logs are
listed newest first); the next run with the same state stops every stream at it.

Safe with the user's files (:mod:`._plan`, :mod:`._paths`, :mod:`._run`): paths are checked
before the first request; an output the state does not describe is refused unless
``append`` or ``force``; no file is created or changed before the first page arrives.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

from .. import providers
from ..fanout import FanOutStream, Source, StopWhen
from ..providers import BaseClient
from ..records import RawRecord
from ._options import HarvestOptions, Provider
from ._output import encode_line
from ._plan import Mode
from ._progress import HarvestCounters, Progress
from ._run import _Run
from ._state import Watermark

Client = BaseClient
"""Any provider's client (e.g. ``SendcloudClient``)."""


@dataclass
class HarvestResult:
    """What one harvest run did."""

    provider: Provider
    out: str
    state: str | None
    records: int
    duplicates: int
    pages: int
    requests: int
    retries: int
    rate_limited: int
    elapsed: float
    complete: bool
    mode: Mode
    records_in_file: int
    stopped_at_max_items: bool = False
    failures: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    """What the run did beyond the usual, e.g. how it applied ``since``."""
    api_version: int | None = None
    """The API version read when it is not the provider's default (None: the default)."""
    store: str | None = None
    """The store written (a harvest into a sink, ``--to``); then ``out`` is the sink's URL
    (without its password), ``state`` None (the state is in the sink) and
    ``records_in_file`` the rows this harvest (its store, scope, integrations and API
    version) has inserted into the sink across runs."""

    def summary(self) -> str:
        """Human-readable closing lines."""
        status = "complete" if self.complete else "incomplete"
        if self.stopped_at_max_items:
            status = (
                "stopped at --max-items (rerun with the same "
                + ("state file" if self.store is None else "--to and --store")
                + " to continue)"
            )
        what = {
            "fresh": "harvested",
            "resumed": "resumed and harvested",
            "incremental": "found new since the last complete run:",
            "appended": "appended",
        }[self.mode]
        rate = self.records / self.elapsed if self.elapsed > 0 else 0.0
        lines = [
            f"{self.provider}{'' if self.api_version is None else f' API v{self.api_version}'}"
            f": {what} {self.records:,} records in {self.elapsed:,.1f} s "
            f"({rate:,.0f} rec/s) -> {self.out} [{status}]",
            f"  pages {self.pages:,}, requests {self.requests:,}, retries {self.retries:,}, "
            f"429s {self.rate_limited:,}, duplicates dropped {self.duplicates:,}, "
            + (
                f"records in file {self.records_in_file:,}"
                if self.store is None
                else f"rows written by this harvest {self.records_in_file:,} (store {self.store})"
            ),
        ]
        lines += [f"  note: {note}" for note in self.notes]
        lines += [f"  failed: {label}: {error}" for label, error in self.failures.items()]
        return "\n".join(lines)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _stop_rule(watermarks: dict[str, Watermark], since: datetime | None) -> StopWhen | None:
    """Stop a stream at its previous newest record, or before records older than ``since``."""
    if not watermarks and since is None:
        return None
    marks = {
        label: (wm.id, datetime.fromisoformat(wm.created_at) if wm.created_at else None)
        for label, wm in watermarks.items()
    }

    def stop(source: Source, record: RawRecord) -> bool:
        created: datetime | None = record.created_at
        if since is not None and created is not None and created < since:
            return True
        mark = marks.get(source.label)
        if mark is None:
            return False
        newest_id, newest_at = mark
        return record.id == newest_id or (
            newest_at is not None and created is not None and created < newest_at
        )

    return stop


def build_stream(
    client: Client, options: HarvestOptions, resume_from: str | None, stop: StopWhen | None
) -> FanOutStream[RawRecord]:
    """The raw record stream a harvest with ``options`` reads."""
    check_client(client, options)
    return client.logs_in_scope(
        options.chosen_scope,
        list(options.integration_ids) or None,
        concurrency=options.concurrency,
        page_size=options.page_size,
        resume_from=resume_from,
        max_items=options.max_items,
        stop_when=stop,
    ).raw()


def check_client(client: Client, options: HarvestOptions) -> None:
    """``ValueError`` unless ``client`` is of the provider and API version of ``options``."""
    if client.provider != options.provider:
        wanted = providers.client_class(options.provider, options.api_version).__name__
        raise ValueError(
            f"the harvest options name provider {options.provider!r}, but the client is a "
            f"{type(client).__name__}: pass a {wanted}"
        )
    if client.spec.api_version != options.chosen_api_version:
        wanted = providers.client_class(options.provider, options.api_version).__name__
        raise ValueError(
            f"the harvest options ask for {options.spec.title} API "
            f"v{options.chosen_api_version}, but the client is a {type(client).__name__} "
            f"(API v{client.spec.api_version}): pass a {wanted}, or set the options' "
            f"api_version to {client.spec.api_version}"
        )


async def _setup(options: HarvestOptions) -> _Run:
    """Build the :class:`_Run` (blocking file work) in a thread.

    Cancelled meanwhile, the thread still finishes it, output file open: close that file (and
    the id set's) once it is done instead of leaving them to the garbage collector.
    """
    # A plain executor future, not a task: nothing is left in asyncio.all_tasks() meanwhile.
    building = asyncio.get_running_loop().run_in_executor(None, _Run, options)
    try:
        return await asyncio.shield(building)
    except asyncio.CancelledError:

        def close(done: asyncio.Future[_Run]) -> None:
            if not done.cancelled() and done.exception() is None:
                done.result().close()

        building.add_done_callback(close)
        raise


async def run_harvest(
    client: Client,
    options: HarvestOptions,
    *,
    progress: bool = True,
    progress_stream: TextIO | None = None,
    progress_interval: float | None = None,
) -> HarvestResult:
    """Run one harvest (fresh, resumed, incremental or appended, as the files say).

    Paths are checked and the state file read before the first request; an output the
    state does not describe is refused unless ``options.append`` or ``options.force``
    (:class:`HarvestFileError`, a ``ValueError``). Nothing is created or changed before the
    first page arrives.

    Progress goes to ``progress_stream`` (default stderr): a live line on a terminal, else a
    plain line every ``progress_interval`` seconds (default 5). The result's request counts
    are this run's, even when ``client`` made requests before.
    """
    if options.to is not None:  # a database or Parquet sink: its own job
        from ._sink_job import run_sink_harvest

        return await run_sink_harvest(
            client,
            options,
            progress=progress,
            progress_stream=progress_stream,
            progress_interval=progress_interval,
        )
    result, run = await harvest_keeping_files(
        client,
        options,
        progress=progress,
        progress_stream=progress_stream,
        progress_interval=progress_interval,
    )
    run.close()
    return result


Prepare = Callable[[_Run], Awaitable[None]]
"""Called once the files are checked and the state read, before the first request."""


async def harvest_keeping_files(
    client: Client,
    options: HarvestOptions,
    *,
    progress: bool = True,
    progress_stream: TextIO | None = None,
    progress_interval: float | None = None,
    prepare: Prepare | None = None,
) -> tuple[HarvestResult, _Run]:
    """:func:`run_harvest`, leaving its output, state and id set open for more (a follow).

    ``prepare(run)`` may amend ``run.state`` before the harvest reads anything. On success
    the caller owns the returned :class:`_Run` and must ``close()`` it; on failure it is closed.
    """
    if options.to is not None:
        raise ValueError(
            f"--follow writes to a JSON Lines file (out); --to {options.to}: database sinks "
            "are harvested without --follow for now (rerun the harvest to add new logs)"
        )
    run = await _setup(options)
    options = run.options  # the scope chosen
    try:
        if prepare is not None:
            await prepare(run)
        stream = build_stream(
            client,
            options,
            run.state.checkpoint,
            _stop_rule(run.plan.watermarks, run.plan.since),
        )
    except BaseException:
        run.close()
        raise
    counters = HarvestCounters()
    provider, fmt, seen, pending = options.provider, options.format, run.seen, run.pending
    normalizer = client.spec.normalize  # the client's API version's (checked above)
    stats = client.stats
    base_requests, base_retries, base_429 = stats.requests, stats.retries, stats.rate_limited
    last_save_records, last_save_time = 0, time.monotonic()
    complete = False
    mid_page = False
    file_work: asyncio.Future[None] | None = None

    async def in_thread(work: Callable[[], None]) -> None:
        nonlocal file_work
        file_work = asyncio.get_running_loop().run_in_executor(None, work)
        await asyncio.shield(file_work)  # cancelled meanwhile: the work still completes

    async def save(*, done: bool) -> None:
        await in_thread(
            functools.partial(run.save, stream.checkpoint, done=done, run_records=counters.records)
        )

    try:
        # ``async with stream``: however this ends (done, failed, cancelled), every child has
        # stopped and released its connection before run_harvest returns or raises.
        async with (
            stream,
            Progress(
                counters,
                stats,
                stream=progress_stream,
                interval=progress_interval,
                enabled=progress,
                base_requests=base_requests,
                base_retries=base_retries,
                base_rate_limited=base_429,
            ),
        ):
            pages = stream.pages()
            async for sourced in pages:
                counters.pages += 1
                source = sourced.source
                mid_page = True  # from here until its records are written
                if run.writer is None:
                    await in_thread(run.open)  # the first page: now the output is opened
                assert run.writer is not None
                write = run.writer.write
                for record in sourced.page.items:
                    if source.label not in pending:  # its newest record, written or not
                        pending[source.label] = Watermark(
                            id=record.id, created_at=_iso(record.created_at)
                        )
                    if not seen.add(record.id):
                        counters.duplicates += 1
                        continue
                    write(encode_line(record, source, fmt, normalizer))
                    counters.records += 1
                mid_page = False
                del sourced  # not held while the next page is awaited: its records are freed
                if (
                    counters.records - last_save_records >= options.save_every_records
                    or time.monotonic() - last_save_time >= options.save_every_seconds
                ):
                    await save(done=False)
                    last_save_records, last_save_time = counters.records, time.monotonic()
            at_limit = options.max_items is not None and stream.consumed >= options.max_items
            complete = not at_limit
            await in_thread(run.open)  # a run that ends well leaves its output, even empty
            await save(done=complete)
    except BaseException:
        # At a page boundary everything consumed is written: record it, so a rerun continues
        # from here. Mid-page, keep the last saved state (the rerun truncates the rest). A run
        # that never opened its output changed no file and leaves none behind.
        try:
            if file_work is not None:
                await asyncio.wait({file_work})  # never two at once, nor a close under one
                if not file_work.cancelled():
                    file_work.exception()  # seen (it was raised above unless we were cancelled)
            if not mid_page and run.writer is not None:
                run.save(stream.checkpoint, done=False, run_records=counters.records)
        finally:
            run.close()
        raise
    return HarvestResult(
        provider=provider,
        out=options.out,
        state=None if run.state_path is None else str(run.state_path),
        records=counters.records,
        duplicates=counters.duplicates,
        pages=counters.pages,
        requests=stats.requests - base_requests,
        retries=stats.retries - base_retries,
        rate_limited=stats.rate_limited - base_429,
        elapsed=counters.elapsed,
        complete=complete,
        mode=run.mode,
        records_in_file=len(seen),
        stopped_at_max_items=not complete,
        failures={label: str(exc) for label, exc in stream.failures.items()},
        notes=list(run.plan.notes),
        api_version=None if options.default_api_version else options.chosen_api_version,
    ), run


def default_state_file(out: str) -> str:
    """The state file used when ``--state`` is not given."""
    return os.fspath(out) + ".state.json"
