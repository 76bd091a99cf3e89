"""The harvest job: pull every integration log into a JSON Lines file, crash-safely.

Exactly once: records are appended to the output, which is fsynced before the state file
(holding the consumer-side checkpoint and the output's size) is atomically replaced. A rerun
truncates the output to that size and resumes from that checkpoint, so a crash at any
moment loses nothing and repeats nothing. Ids are additionally deduplicated across the run.

Incremental: once a run completes, the state keeps each stream's newest record (logs are
listed newest first); the next run with the same state stops every stream at it.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TextIO

import msgspec

from .. import _constants as C
from .._client_checks import check_count
from ..elasticpath import ElasticPathClient
from ..fanout import FanOutStream, Source, StopWhen, StreamFactory
from ..records import RawRecord
from ..sendcloud import SendcloudClient
from ._idset import IdSet
from ._output import JsonlWriter, OutputFormat, encode_line, existing_ids
from ._progress import HarvestCounters, Progress
from ._state import HarvestState, Watermark, load_state, remove_stale_temps, save_state

Provider = Literal["sendcloud", "elasticpath"]
Scope = Literal["all", "integrations", "jobs"]
Client = SendcloudClient | ElasticPathClient
PAGE_SIZE_MAX = {"sendcloud": C.SENDCLOUD_MAX_PAGE_SIZE, "elasticpath": C.ELASTICPATH_MAX_PAGE_SIZE}


@dataclass(frozen=True, kw_only=True)
class HarvestOptions:
    """What to harvest and where to. ``state=None`` means ``<out>.state.json``."""

    provider: Provider
    out: str
    state: str | None = None
    scope: Scope = "integrations"
    integration_ids: tuple[str, ...] = ()
    concurrency: int = 8
    max_items: int | None = None
    since: datetime | None = None
    format: OutputFormat = "raw"
    page_size: int | None = None
    save_every_records: int = 5000
    save_every_seconds: float = 2.0

    def __post_init__(self) -> None:
        if self.provider not in ("sendcloud", "elasticpath"):
            raise ValueError(
                f"provider must be 'sendcloud' or 'elasticpath', not {self.provider!r}"
            )
        if self.scope not in ("all", "integrations", "jobs"):
            raise ValueError(f"scope must be all, integrations or jobs, not {self.scope!r}")
        if self.scope == "jobs" and self.provider == "sendcloud":
            raise ValueError("Sendcloud has no jobs; use --scope all or --scope integrations")
        if self.scope == "all" and self.integration_ids:
            raise ValueError(
                "--integration selects integrations; use it with --scope integrations or jobs"
            )
        if self.format not in ("raw", "normalized"):
            raise ValueError(f"format must be raw or normalized, not {self.format!r}")
        check_count("concurrency", self.concurrency, minimum=1)
        if self.max_items is not None:
            check_count("max_items", self.max_items, minimum=0)
        if self.page_size is not None:
            check_count(
                "page_size", self.page_size, minimum=1, maximum=PAGE_SIZE_MAX[self.provider]
            )
        check_count("save_every_records", self.save_every_records, minimum=1)
        if self.since is not None and self.since.tzinfo is None:
            raise ValueError("since must carry a timezone, e.g. 2024-01-31T00:00:00Z")
        if self.out == "-" and self.state is not None:
            raise ValueError("--state needs a file output: stdout cannot be truncated on resume")

    @property
    def state_path(self) -> Path | None:
        """Where the state lives (None when writing to stdout)."""
        if self.out == "-":
            return None
        return Path(self.state or self.out + ".state.json")

    def fingerprint(self) -> str:
        """Identifies the options a state file is bound to."""
        parts = [self.provider, self.scope, self.format, ",".join(sorted(self.integration_ids))]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


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
    mode: Literal["fresh", "resumed", "incremental"]
    records_in_file: int
    stopped_at_max_items: bool = False
    failures: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """Human-readable closing lines."""
        status = "complete" if self.complete else "incomplete"
        if self.stopped_at_max_items:
            status = "stopped at --max-items (rerun with the same state file to continue)"
        what = {
            "fresh": "harvested",
            "resumed": "resumed and harvested",
            "incremental": "found new since the last complete run:",
        }[self.mode]
        rate = self.records / self.elapsed if self.elapsed > 0 else 0.0
        lines = [
            f"{self.provider}: {what} {self.records:,} records in {self.elapsed:,.1f} s "
            f"({rate:,.0f} rec/s) -> {self.out} [{status}]",
            f"  pages {self.pages:,}, requests {self.requests:,}, retries {self.retries:,}, "
            f"429s {self.rate_limited:,}, duplicates dropped {self.duplicates:,}, "
            f"records in file {self.records_in_file:,}",
        ]
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
    ids = list(options.integration_ids) or None
    if options.scope == "all":

        async def one_source() -> AsyncIterator[tuple[Source, StreamFactory]]:
            yield Source("all"), lambda cp: client.logs(page_size=options.page_size, resume_from=cp)

        return FanOutStream(
            f"{options.provider}:all",
            one_source,
            concurrency=1,
            resume_from=resume_from,
            max_items=options.max_items,
            stop_when=stop,
            child_prefetch=True,  # one listing: let it fetch pages ahead as a plain stream does
        ).raw()
    if options.scope == "jobs":
        if not isinstance(client, ElasticPathClient):
            raise ValueError("--scope jobs needs an Elastic Path client")
        return client.logs_by_job(
            ids,
            concurrency=options.concurrency,
            page_size=options.page_size,
            resume_from=resume_from,
            max_items=options.max_items,
            stop_when=stop,
        ).raw()
    fanout: FanOutStream[object] = client.logs_for_integrations(  # type: ignore[assignment]
        ids,
        concurrency=options.concurrency,
        page_size=options.page_size,
        resume_from=resume_from,
        max_items=options.max_items,
        stop_when=stop,
    )
    return fanout.raw()


class _Run:
    """The file side of one run: output writer, state, seen ids. All methods are blocking."""

    def __init__(self, options: HarvestOptions) -> None:
        self.options = options
        self.state_path = options.state_path
        previous = None
        if self.state_path is not None:
            previous = load_state(self.state_path)
            remove_stale_temps(self.state_path)
        out_abs = options.out if options.out == "-" else os.path.abspath(options.out)
        now = datetime.now(UTC).isoformat()
        self.mode: Literal["fresh", "resumed", "incremental"] = "fresh"
        if previous is None:
            self.state = HarvestState(
                fingerprint=options.fingerprint(), out=out_abs, run_started=now
            )
        else:
            if previous.fingerprint != options.fingerprint() or previous.out != out_abs:
                raise ValueError(
                    f"state file {self.state_path} belongs to a different harvest (output "
                    f"{previous.out}, or another provider/scope/integrations/format); use "
                    "another --state, or delete it to start over"
                )
            self.mode = "resumed" if previous.in_progress else "incremental"
            self.state = previous
            if self.mode == "incremental":
                self.state = msgspec.structs.replace(
                    previous,
                    in_progress=True,
                    checkpoint=None,
                    run=previous.run + 1,
                    run_started=now,
                    pending_watermarks={},
                )
        self.seen = IdSet()  # holds a temporary file until closed
        try:
            if self.mode != "fresh":
                for ident in existing_ids(options.out, self.state.out_bytes):
                    self.seen.add(ident)
            # Opened last: nothing above can leave it open, or truncated, when it fails.
            self.writer = JsonlWriter(
                options.out, keep_bytes=None if self.mode == "fresh" else self.state.out_bytes
            )
        except BaseException:
            self.seen.close()
            raise
        self.pending = dict(self.state.pending_watermarks)

    def close(self) -> None:
        """Close the output and release the id set's temporary file."""
        try:
            self.writer.close()
        finally:
            self.seen.close()

    def save(self, checkpoint: str | None, *, done: bool, run_records: int) -> None:
        """Make the output durable, then record it and ``checkpoint`` in the state file."""
        self.writer.sync()
        if self.state_path is None:
            return
        state = self.state
        state.out_bytes = self.writer.size
        state.records = len(self.seen)
        state.pending_watermarks = self.pending
        state.checkpoint = None if done else checkpoint
        if done:
            state.in_progress = False
            state.watermarks = {**state.watermarks, **self.pending}
            state.pending_watermarks = {}
            state.last_run_records = run_records
            state.last_complete_at = datetime.now(UTC).isoformat()
        save_state(self.state_path, state)


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
    """Run one harvest (fresh, resumed or incremental, as the state file says).

    Progress goes to ``progress_stream`` (default stderr): a live line on a terminal, else a
    plain line every ``progress_interval`` seconds (default 5). The result's request counts
    are this run's, even when ``client`` made requests before.
    """
    run = await _setup(options)
    try:
        stream = build_stream(
            client, options, run.state.checkpoint, _stop_rule(run.state.watermarks, options.since)
        )
    except BaseException:
        run.close()
        raise
    counters = HarvestCounters()
    provider, fmt, seen, pending, writer = (
        options.provider,
        options.format,
        run.seen,
        run.pending,
        run.writer,
    )
    stats = client.stats
    base_requests, base_retries, base_429 = stats.requests, stats.retries, stats.rate_limited
    last_save_records, last_save_time = 0, time.monotonic()
    complete = False
    mid_page = False
    saved = False
    saving: asyncio.Future[None] | None = None

    async def save(*, done: bool) -> None:
        nonlocal saved, saving
        saved = True
        saving = asyncio.get_running_loop().run_in_executor(
            None,
            functools.partial(run.save, stream.checkpoint, done=done, run_records=counters.records),
        )
        await asyncio.shield(saving)  # cancelled meanwhile: the save still completes

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
                mid_page = True
                for record in sourced.page.items:
                    if not seen.add(record.id):
                        counters.duplicates += 1
                        continue
                    if source.label not in pending:
                        pending[source.label] = Watermark(
                            id=record.id, created_at=_iso(record.created_at)
                        )
                    writer.write(encode_line(record, source, provider, fmt))
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
            await save(done=complete)
    except BaseException:
        # At a page boundary everything consumed is written: record it, so a rerun continues
        # from here. Mid-page, keep the last saved state (the rerun truncates the rest). A fresh
        # run that wrote nothing leaves no state file: the rerun starts fresh anyway.
        try:
            if saving is not None:
                await asyncio.wait({saving})  # never two saves at once, nor a close under one
                if not saving.cancelled():
                    saving.exception()  # seen (it was raised above unless we were cancelled)
            if not mid_page and (saved or counters.records or run.mode != "fresh"):
                run.save(stream.checkpoint, done=False, run_records=counters.records)
        finally:
            run.close()
        raise
    run.close()
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
    )


def default_state_file(out: str) -> str:
    """The state file used when ``--state`` is not given."""
    return os.fspath(out) + ".state.json"
