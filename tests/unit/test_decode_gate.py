"""DecodeGate: fan-out children wait before decoding while enough pages wait for the consumer.

The gate is driven here with a plain counter as its backlog; the fan-out tests
(``tests/harvest/test_fanout.py``) drive it with the real merge queue.
"""

from __future__ import annotations

import asyncio

from integration_logs_async._http._decode_gate import DecodeGate


class Backlog:
    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self) -> int:
        return self.size


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def start(gate: DecodeGate, passed: list[str], name: str) -> asyncio.Task[None]:
    async def child() -> None:
        await gate.wait()
        passed.append(name)

    return asyncio.create_task(child())


async def closed_gate_with_waiters(
    *names: str,
) -> tuple[Backlog, DecodeGate, list[str], list[asyncio.Task[None]]]:
    """A gate of 2 with 2 items waiting, and a task per name waiting at it."""
    backlog = Backlog(2)
    gate = DecodeGate(backlog, 2)
    passed: list[str] = []
    tasks = [start(gate, passed, name) for name in names]
    await settle()
    return backlog, gate, passed, tasks


async def test_an_open_gate_does_not_wait_and_a_closed_one_does() -> None:
    backlog = Backlog(1)
    gate = DecodeGate(backlog, 2)
    assert gate.is_open()
    await gate.wait()
    backlog.size = 2
    assert not gate.is_open()
    passed: list[str] = []
    task = start(gate, passed, "a")
    await settle()
    assert passed == [] and gate.waiting == 1
    gate.taken()  # the backlog did not shrink: still closed, nobody passes
    await settle()
    assert passed == []
    backlog.size = 1
    gate.taken()
    await task
    assert passed == ["a"] and gate.waiting == 0


async def test_taking_one_item_lets_one_waiter_through_in_arrival_order() -> None:
    backlog = Backlog(2)
    gate = DecodeGate(backlog, 2)
    passed: list[str] = []

    async def child(name: str) -> None:
        await gate.wait()
        passed.append(name)
        backlog.size += 1  # decoded and queued, as a fan-out child does

    tasks = [asyncio.create_task(child(n)) for n in "abc"]
    await settle()
    assert gate.waiting == 3
    backlog.size -= 1
    gate.taken()
    await settle()
    assert passed == ["a"] and gate.waiting == 2  # the others found it closed again
    for _ in range(2):
        backlog.size -= 1
        gate.taken()
        await settle()
    assert passed == ["a", "b", "c"]
    await asyncio.gather(*tasks)


async def test_a_waiter_that_passes_without_queueing_wakes_the_next() -> None:
    # e.g. a prefetch task: it decodes, but its page reaches the queue only later
    backlog, gate, passed, tasks = await closed_gate_with_waiters("a", "b", "c")
    backlog.size = 0
    gate.taken()  # one wake-up only; the rest is handed on
    await asyncio.wait_for(asyncio.gather(*tasks), 1)
    assert passed == ["a", "b", "c"]


async def test_a_waiter_cancelled_after_its_wake_up_hands_it_on() -> None:
    backlog, gate, passed, (first, second) = await closed_gate_with_waiters("a", "b")
    backlog.size = 1
    gate.taken()  # wakes "a" ...
    first.cancel()  # ... which is cancelled before it runs
    await asyncio.wait_for(second, 1)
    assert passed == ["b"] and first.cancelled()


async def test_a_waiter_cancelled_while_waiting_leaves_nothing_behind() -> None:
    backlog, gate, passed, (gone, stays) = await closed_gate_with_waiters("gone", "stays")
    gone.cancel()
    await settle()
    assert gone.cancelled() and gate.waiting == 1
    backlog.size = 0
    gate.taken()
    await asyncio.wait_for(stays, 1)
    assert passed == ["stays"]
