"""``harvest --follow``: complete the harvest, then append new logs as they arrive, forever.

:func:`follow_harvest` runs the harvest as :func:`run_harvest` does, then tails the
account's listing (``client.tail()``: one request per idle poll, whatever the harvest's
scope), keeps the logs of the harvest's integrations, drops the ids the output already holds,
and appends the rest in the harvest's format. It never returns: cancellation (Ctrl-C,
SIGTERM) or a definite error ends it; :class:`FollowStatus` tells what it did meanwhile.

Exactly once, by construction: each poll's batch is written, fsynced, and only then is the
state file replaced, holding the output's size and the tail's checkpoint after that batch
(and each stream's watermark moved to the followed logs, so a later incremental run starts
after them). While following, the state says "in progress": after a kill at any moment a
rerun truncates the output to the saved size, catches up like a resumed harvest, then tails
from the saved checkpoint; ids written twice are dropped by the harvest's id set.

Start point: before the harvest reads anything, the newest ``created_at`` at the head of the
account's listing is read (one request) and recorded in the state; the first poll reads down
to it minus the look-back window. No clock is compared with the server's.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn, TextIO

import msgspec

from .. import _constants as C
from ..fanout import Source
from ..records import RawRecord
from ..tail import TailStats, TailStream
from ._follow_plan import (
    EPOCH,
    FollowError,
    advance_watermarks,
    check_follow_interval,
    owned_records,
    start_since,
)
from ._job import harvest_keeping_files
from ._options import HarvestOptions
from ._output import encode_line
from ._reading import Client, HarvestResult
from ._run import _naming, _Run
from ._state import FollowMark, save_state

_ACCOUNT = Source("all")
"""Followed logs come from the account's listing: a line says no more than the record."""


@dataclass
class FollowStatus:
    """What a :func:`follow_harvest` has done so far (read it after cancelling it)."""

    harvest: HarvestResult | None = None
    """The harvest that ran first, once complete (None until then)."""
    records: int = 0
    """Followed records appended to the output (new ids)."""
    duplicates: int = 0
    """Followed records dropped: their ids were already in the output."""
    batches: int = 0
    """Polls that found logs, each written and saved."""
    tail: TailStats | None = None
    """The tail's counters (polls, idle polls, failures), once following."""

    def summary(self) -> str:
        """Human-readable closing lines: the harvest's, then the follow's."""
        if self.harvest is None:
            return "follow: stopped before the harvest completed"
        lines = [self.harvest.summary()]
        polls = failures = 0
        if self.tail is not None:
            polls, failures = self.tail.polls, self.tail.failures
        lines.append(
            f"  followed: {self.records:,} new records in {self.batches:,} batches, "
            f"{polls:,} polls ({failures:,} failed and retried), duplicates dropped "
            f"{self.duplicates:,} -> {self.harvest.out}"
        )
        return "\n".join(lines)


async def _head_created_at(client: Client) -> datetime | None:
    """The newest ``created_at`` on the first page of the account's listing (one request)."""
    walk = client.logs(page_size=1).with_prefetch(0).raw()
    async with walk:
        async for page in walk.pages():
            times = [r.created_at for r in page.items if r.created_at is not None]
            return max(times) if times else None
    return None


def _open_tail(
    client: Client, mark: FollowMark, interval: float, lookback: float, page_size: int | None
) -> TailStream[RawRecord]:
    """The raw tail of the account's listing, from ``mark``'s checkpoint or start point."""
    if mark.checkpoint is not None:
        tail = client.tail(
            resume_from=mark.checkpoint,
            poll_interval=interval,
            lookback=lookback,
            page_size=page_size,
        )
    else:
        since = EPOCH if mark.since is None else datetime.fromisoformat(mark.since)
        tail = client.tail(
            since=since, poll_interval=interval, lookback=lookback, page_size=page_size
        )
    return tail.raw()


def _save(run: _Run, mark: FollowMark) -> None:
    """Make the output durable, then record it and ``mark`` in the state (blocking)."""
    assert run.writer is not None
    with _naming(run.options.out, "--out"):
        run.writer.sync()
    if run.state_path is None:
        return
    state = run.state
    state.out_bytes = run.writer.size
    state.records = len(run.seen)
    state.in_progress = True  # bytes past out_bytes are this harvest's: a rerun truncates them
    state.checkpoint = None  # the rerun reads every stream down to its watermark
    state.pending_watermarks = {}
    state.follow = mark
    with _naming(run.state_path, "state file"):
        save_state(run.state_path, state)


async def follow_harvest(
    client: Client,
    options: HarvestOptions,
    *,
    interval: float = C.TAIL_POLL_INTERVAL,
    lookback: float = C.TAIL_LOOKBACK,
    status: FollowStatus | None = None,
    progress: bool = True,
    progress_stream: TextIO | None = None,
    progress_interval: float | None = None,
) -> NoReturn:
    """Run the harvest of ``options`` to completion, then append new logs until cancelled.

    ``interval``: seconds between polls (jittered); ``lookback``: how much older than the
    newest log seen a late log may be and still be appended (see ``client.tail()``).
    ``status`` is updated as it goes. Never returns: cancelling it is the way to stop
    (everything written is saved); a definite failure (refused credentials, a log it cannot
    place exactly: :class:`FollowError`, ``TailGapError``) raises, its last saved state exact.
    Progress (``progress_stream``, default stderr): the harvest's, then one line per batch.
    """
    if options.max_items is not None:
        raise ValueError(
            "--max-items stops the harvest before it completes and --follow follows a complete "
            "harvest: use one or the other"
        )
    check_follow_interval(interval, lookback)
    status = status if status is not None else FollowStatus()
    out_stream = progress_stream if progress_stream is not None else sys.stderr

    async def prepare(run: _Run) -> None:
        if run.state.follow is not None:
            return  # this harvest's follow already has its start point (or checkpoint)
        head = await _head_created_at(client)
        pending = run.state.pending_watermarks.values() if run.mode == "resumed" else ()
        start = start_since(head, lookback, since=run.plan.since, pending=pending)
        run.state.follow = FollowMark(since=start.isoformat())

    result, run = await harvest_keeping_files(
        client,
        options,
        progress=progress,
        progress_stream=progress_stream,
        progress_interval=progress_interval,
        prepare=prepare,
    )
    status.harvest = result
    file_work: asyncio.Future[None] | None = None

    async def in_thread(work: Callable[[], None]) -> None:
        nonlocal file_work
        file_work = asyncio.get_running_loop().run_in_executor(None, work)
        await asyncio.shield(file_work)  # cancelled meanwhile: the work still completes

    try:
        options = run.options
        mark = run.state.follow or FollowMark()
        tail = _open_tail(client, mark, interval, lookback, options.page_size)
        status.tail = tail.stats
        await in_thread(functools.partial(_save, run, mark))  # in progress before a byte more
        if progress:
            out_stream.write(
                f"follow: harvest complete; following {client.spec.title} {tail.listing} "
                f"every {interval:g} s (Ctrl-C to stop)\n"
            )
            out_stream.flush()
        fmt, normalizer, seen = options.format, client.spec.normalize, run.seen
        ids, scope, where = options.integration_ids, options.chosen_scope, tail.listing
        assert run.writer is not None
        write = run.writer.write
        async with tail:
            async for batch in tail.pages():
                kept = owned_records(batch.items, ids, f"{client.spec.title} {where}")
                fresh: list[RawRecord] = []
                for record in kept:
                    if seen.add(record.id):
                        write(encode_line(record, _ACCOUNT, fmt, normalizer))
                        fresh.append(record)
                    else:
                        status.duplicates += 1
                state = run.state
                state.watermarks = advance_watermarks(state.watermarks, scope, fresh)
                mark = msgspec.structs.replace(
                    mark, checkpoint=batch.checkpoint, records=mark.records + len(fresh)
                )
                del batch, kept
                status.records += len(fresh)
                status.batches += 1
                await in_thread(functools.partial(_save, run, mark))
                if progress and fresh:
                    _show(out_stream, status, len(fresh), len(seen))
        raise AssertionError("a tail never ends by itself")  # pragma: no cover
    finally:
        # Everything written before the last save is recorded; anything after it (a failure
        # mid-batch) is past the saved size, which a rerun truncates.
        try:
            if file_work is not None:
                await asyncio.wait({file_work})  # never a close under a save
                if not file_work.cancelled():
                    file_work.exception()  # seen (raised above unless we were cancelled)
        finally:
            run.close()


def _show(stream: TextIO, status: FollowStatus, new: int, in_file: int) -> None:
    polls = status.tail.polls if status.tail is not None else 0
    stream.write(
        f"follow: +{new:,} records ({status.records:,} followed, {in_file:,} in file, "
        f"{polls:,} polls)\n"
    )
    stream.flush()


__all__ = ["FollowError", "FollowStatus", "follow_harvest"]
