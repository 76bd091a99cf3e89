"""Helpers of the tail tests: the three clients, a background consumer, request counts.

A :class:`Follower` consumes a tail in a task of the test's loop; the test adds logs to the
emulator and waits (under an overall ``asyncio.timeout``, a safety net, not a speed check)
until the expected ids arrived. Exactly once is always asserted by id (``str(log.id)``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import pytest

from integration_logs_async import ElasticPathClient, SendcloudClient, TailBatch, TailStream
from integration_logs_async.emulator import Emulator, Provider

from .._support.clients import FAST

__all__ = [
    "CLIENTS",
    "SAFETY",
    "Follower",
    "TailClient",
    "assert_once",
    "created",
    "integration_ids",
    "listing_requests",
    "make_client",
    "provider_of",
    "wait_until",
]

SAFETY = 30.0
"""Seconds a test may wait for logs it expects: a hung tail fails instead of blocking."""

TailClient = SendcloudClient | ElasticPathClient
"""A client with ``tail()`` (a SendcloudV3Client is a SendcloudClient)."""

CLIENTS = [
    pytest.param("v2", id="sendcloud-v2"),
    pytest.param("v3", id="sendcloud-v3"),
    pytest.param("ep", id="elasticpath"),
]
"""Parametrize a test's ``which`` over Sendcloud v2, Sendcloud v3 and Elastic Path."""


def provider_of(which: str) -> Provider:
    """The emulator's store a client reads: v2 and v3 share the Sendcloud store."""
    return "elasticpath" if which == "ep" else "sendcloud"


def make_client(emu: Emulator, which: str, **settings: Any) -> TailClient:
    """The client ``which`` (``v2``, ``v3``, ``ep``) for ``emu`` with FAST settings."""
    merged = {**FAST, **settings}
    if which == "v2":
        return emu.sendcloud_client(**merged)
    if which == "v3":
        return emu.sendcloud_v3_client(**merged)
    return emu.elasticpath_client(**merged)


def integration_ids(emu: Emulator, which: str) -> list[str]:
    """The ids of the store's integrations for the client ``which``, as strings."""
    if which == "ep":
        return [i.id for i in emu.store.elasticpath.integrations]
    return [str(i.id) for i in emu.store.sendcloud.integrations]


def listing_requests(emu: Emulator, tail: TailStream[Any]) -> int:
    """Requests the emulator answered on the tail's listing so far."""
    return sum(1 for r in emu.requests if r.path.endswith(tail.listing))


def created(log: Any) -> datetime:
    """A yielded log's ``created_at`` (a RawRecord's, or the typed log's of any provider)."""
    value = getattr(log, "created_at", None)
    if value is None:  # Elastic Path keeps it under meta.timestamps
        value = log.meta.timestamps.created_at
    assert isinstance(value, datetime), log
    return value


def assert_once(got: Sequence[str], expected: Sequence[str]) -> None:
    """``got`` holds every id of ``expected`` exactly once and nothing else (any order)."""
    dupes = sorted({i for i in got if list(got).count(i) > 1})
    assert not dupes, f"yielded twice: {dupes}"
    missing, extra = set(expected) - set(got), set(got) - set(expected)
    assert not missing, f"never yielded: {sorted(missing)}"
    assert not extra, f"yielded but not expected: {sorted(extra)}"


async def wait_until(
    done: Callable[[], bool],
    what: str,
    *,
    task: asyncio.Task[Any] | None = None,
    status: Callable[[], str] = str,
) -> None:
    """Wait until ``done()`` (at most :data:`SAFETY` s); re-raise what ended ``task`` first."""
    try:
        async with asyncio.timeout(SAFETY):
            while not done():
                if task is not None and task.done():
                    task.result()  # raises what ended it
                    raise AssertionError(f"the tail ended before {what}")
                await asyncio.sleep(0.002)
    except TimeoutError:
        raise AssertionError(f"no {what} within {SAFETY:g} s; {status()}") from None


class Follower:
    """Consumes a tail in a background task, keeping every log it yields.

    ``async with Follower(tail) as f:`` starts it; leaving cancels the task and closes the
    tail. :meth:`polled` and :meth:`received` wait (at most :data:`SAFETY` seconds) and
    re-raise what ended the tail, if anything did.
    """

    def __init__(
        self,
        tail: TailStream[Any],
        *,
        pages: bool = False,
        probe: Callable[[], Any] | None = None,
    ) -> None:
        self.tail = tail
        self.logs: list[Any] = []
        self.batches: list[TailBatch[Any]] = []
        self.probes: list[Any] = []
        """``probe()`` after each log (each batch with ``pages=True``), taken while the tail
        is suspended at its yield: no request of the tail is in flight then."""
        self._pages = pages
        self._probe = probe
        self._task: asyncio.Task[None] | None = None
        self._reported = False  # what ended the tail was raised to the test already

    @property
    def ids(self) -> list[str]:
        """Ids yielded so far, in order, as strings."""
        return [str(log.id) for log in self.logs]

    @property
    def task(self) -> asyncio.Task[None]:
        """The consuming task."""
        assert self._task is not None, "the follower was not started"
        return self._task

    async def _run(self) -> None:
        if self._pages:
            async for batch in self.tail.pages():
                self.batches.append(batch)
                self.logs += batch.items
                self._probed()
        else:
            async for log in self.tail:
                self.logs.append(log)
                self._probed()

    def _probed(self) -> None:
        if self._probe is not None:
            self.probes.append(self._probe())

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Cancel the consumer and close the tail (idempotent)."""
        task = self.task
        if not task.done():
            task.cancel()
        if not self._reported:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.tail.aclose()

    async def until(self, done: Callable[[], bool], what: str) -> None:
        """Wait until ``done()``; the tail's own error if it ended meanwhile."""
        try:
            await wait_until(done, what, task=self.task, status=lambda: f"{self.tail.stats}")
        except BaseException:
            self._reported = self.task.done()
            raise

    async def polled(self, count: int = 1) -> None:
        """Wait until the tail completed ``count`` polls in all (the first: its baseline)."""
        await self.until(lambda: self.tail.stats.polls >= count, f"{count} poll(s)")

    async def received(self, count: int) -> list[str]:
        """Wait until ``count`` logs in all were yielded; their ids."""
        await self.until(lambda: len(self.logs) >= count, f"{count} log(s)")
        return self.ids
