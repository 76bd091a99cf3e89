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
from typing import TextIO

from ._options import HarvestOptions
from ._output import encode_line
from ._progress import HarvestCounters, Progress
from ._reading import Client, HarvestResult, _iso, _stop_rule, build_stream
from ._run import _Run
from ._state import Watermark


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
                    counters.records - last_save_records >= options.records_per_save()
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
