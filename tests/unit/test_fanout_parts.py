"""The fan-out's parts without HTTP: the checkpoint codec and the scheduler's queue protocol.

The whole fan-out is exercised against the emulator in ``tests/harvest/test_fanout.py``.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, cast

import pytest

import integration_logs_async.fanout as fanout_module
from integration_logs_async._fanout import Source, SourcedPage, StreamFactory
from integration_logs_async._fanout._checkpoint import (
    FanOutCheckpoint,
    decode_fanout_checkpoint,
    encode_fanout_checkpoint,
)
from integration_logs_async._fanout._scheduler import ChildEnd, FanOutRun, QueueItem, RunPlan
from integration_logs_async.stream import AsyncStream, Page

# --- checkpoint codec --------------------------------------------------------------------


def test_checkpoint_is_unpadded_urlsafe_base64_json_with_done_sorted() -> None:
    token = encode_fanout_checkpoint("sc:logs", {"b", "a"}, {"c": "cp-c"})
    assert "=" not in token
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert json.loads(raw) == {
        "v": 1,
        "key": "sc:logs",
        "done": ["a", "b"],
        "active": {"c": "cp-c"},
    }
    decoded = decode_fanout_checkpoint(token, "sc:logs")
    assert decoded == FanOutCheckpoint(key="sc:logs", done=["a", "b"], active={"c": "cp-c"})


def test_checkpoint_of_another_fanout_or_malformed_is_refused() -> None:
    token = encode_fanout_checkpoint("sc:logs", [], {})
    with pytest.raises(ValueError, match="belongs to fan-out 'sc:logs', not 'ep:logs'"):
        decode_fanout_checkpoint(token, "ep:logs")
    for bad in ("garbage!", "", base64.urlsafe_b64encode(b'{"key": 1}').decode()):
        with pytest.raises(ValueError, match="not a valid fan-out checkpoint"):
            decode_fanout_checkpoint(bad, "sc:logs")


def test_public_fanout_module_exports_no_machinery() -> None:
    assert sorted(fanout_module.__all__) == [
        "FanOutOptions",
        "FanOutStream",
        "OnError",
        "Source",
        "SourcedPage",
        "StopWhen",
    ]
    assert not hasattr(fanout_module, "StreamFactory")
    assert not hasattr(fanout_module, "SourceList")


# --- scheduler: the queue protocol ---------------------------------------------------------


class _NoSource:
    """Stands in for a page's PageSource (the scheduler never reads it)."""


class FakeChild:
    """Duck-types the part of AsyncStream the scheduler uses; ``fail_after`` pages, it fails."""

    def __init__(self, name: str, pages: int, *, fail_after: int | None = None) -> None:
        self.name = name
        self.count = pages
        self.fail_after = fail_after
        self.prefetch_pages = 0

    def raw(self) -> FakeChild:
        return self

    def _with_decode_gate(self, gate: object) -> FakeChild:
        return self

    def with_prefetch(self, pages: int) -> FakeChild:
        return self

    async def __aenter__(self) -> FakeChild:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def _pages(self) -> AsyncGenerator[Page[str], None]:
        for number in range(self.count):
            if number == self.fail_after:
                raise RuntimeError(f"{self.name} broke")
            await asyncio.sleep(0)
            items = [f"{self.name}-{number}"]
            yield Page(items=items, number=number, last=False, _positions=cast(Any, _NoSource()))

    def pages(self) -> AsyncIterator[Page[str]]:
        return self._pages()


def plan(children: list[FakeChild], *, fail_listing: bool = False, concurrency: int = 2) -> RunPlan:
    def factory(child: FakeChild) -> StreamFactory:
        return lambda cp: cast(AsyncStream[Any], child)

    async def sources() -> AsyncIterator[tuple[Source, StreamFactory]]:
        for child in children:
            yield Source(child.name), factory(child)
        if fail_listing:
            raise RuntimeError("listing broke")

    return RunPlan(
        sources=sources,
        listing="listing the fakes",
        concurrency=concurrency,
        buffer=4,
        raw=False,
        child_prefetch=False,
        stop_when=None,
    )


async def drain(run: FanOutRun[str]) -> list[QueueItem[str]]:
    items: list[QueueItem[str]] = []
    while True:
        item = await run.queue.get()
        run.gate.taken()
        items.append(item)
        if item is None:
            return items


def describe(items: list[QueueItem[str]]) -> list[str]:
    out = []
    for item in items:
        if isinstance(item, SourcedPage):
            out.append(f"page {item.page.items[0]}")
        elif isinstance(item, ChildEnd):
            out.append(f"end {item.source.label}" + (f": {item.error}" if item.error else ""))
        else:
            out.append("all ended")
    return out


async def test_each_child_pages_in_order_then_its_end_and_none_last() -> None:
    children = [FakeChild("a", 3), FakeChild("b", 2), FakeChild("c", 2, fail_after=1)]
    run: FanOutRun[str] = FanOutRun(plan(children), resume={}, skip={"skipped"})
    try:
        seen = describe(await drain(run))
    finally:
        await run.close()
    assert seen[-1] == "all ended"
    for name, expected in {
        "a": ["page a-0", "page a-1", "page a-2", "end a"],
        "b": ["page b-0", "page b-1", "end b"],
        "c": ["page c-0", "end c: c broke"],
    }.items():
        assert [s for s in seen if s.startswith((f"page {name}-", f"end {name}"))] == expected
    assert len(seen) == 4 + 3 + 2 + 1
    assert run.max_running == 2  # the concurrency, reached and never passed
    assert run.finished.is_set()


async def test_listed_child_already_done_is_skipped_and_listing_failure_is_labelled() -> None:
    children = [FakeChild("a", 1), FakeChild("done", 5)]
    run: FanOutRun[str] = FanOutRun(plan(children, fail_listing=True), resume={}, skip={"done"})
    try:
        seen = describe(await drain(run))
    finally:
        await run.close()
    assert sorted(seen[:-1]) == ["end a", "end listing the fakes: listing broke", "page a-0"]
    assert seen[-1] == "all ended"


async def test_close_cancels_children_waiting_on_a_full_queue() -> None:
    run: FanOutRun[str] = FanOutRun(
        plan([FakeChild("a", 50), FakeChild("b", 50)]), resume={}, skip=()
    )
    for _ in range(20):
        await asyncio.sleep(0)
    assert run.queue.full()  # nobody consumes: the children wait
    await run.close()
    assert run.finished.is_set()
    others = {t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()}
    assert others == set()
