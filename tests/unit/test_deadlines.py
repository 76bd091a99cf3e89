"""DeadlineClock: asyncio.timeout() semantics on one shared timer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from integration_logs_async._http._deadlines import DeadlineClock, DeadlineScope


async def test_an_expired_scope_raises_timeout_error_and_uncancels_the_task() -> None:
    clock = DeadlineClock()
    task = asyncio.current_task()
    assert task is not None
    with pytest.raises(TimeoutError), clock.scope(0.01) as scope:
        await asyncio.sleep(10)
    assert scope.expired
    assert task.cancelling() == 0  # the cancellation was ours, and is taken back
    assert len(clock) == 0 and clock.armed_at is None
    await asyncio.sleep(0)  # the task goes on normally


async def test_a_scope_left_in_time_is_never_cancelled() -> None:
    clock = DeadlineClock()
    with clock.scope(0.02) as scope:
        await asyncio.sleep(0)
    assert len(clock) == 0
    await asyncio.sleep(0.05)  # the timer fires with nothing left to cancel
    assert not scope.expired
    assert clock.armed_at is None


async def test_sequential_scopes_share_one_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    armed: list[float] = []
    call_at = loop.call_at

    def counting_call_at(when: float, callback: Any, *args: Any) -> asyncio.TimerHandle:
        armed.append(when)
        return call_at(when, callback, *args)

    monkeypatch.setattr(loop, "call_at", counting_call_at)
    clock = DeadlineClock()
    for _ in range(500):
        with clock.scope(60):
            await asyncio.sleep(0)
    assert len(armed) == 1  # asyncio.timeout() would have armed 500
    assert clock.armed_at == armed[0]
    clock.close()
    assert clock.armed_at is None


async def test_an_earlier_deadline_rearms_and_each_scope_expires_on_its_own() -> None:
    clock = DeadlineClock()
    loop = asyncio.get_running_loop()
    outcome: dict[str, str] = {}

    async def run(name: str, seconds: float, work: float) -> None:
        started = loop.time()
        try:
            with clock.scope(seconds):
                await asyncio.sleep(work)
            outcome[name] = "done"
        except TimeoutError:
            outcome[name] = f"timeout after {loop.time() - started:.2f}"

    slow = asyncio.create_task(run("slow", 5, 0.15))  # deadline far off, finishes
    late = asyncio.create_task(run("late", 0.2, 10))  # expires second
    await asyncio.sleep(0)
    soon = asyncio.create_task(run("soon", 0.05, 10))  # entered later, expires first
    await asyncio.gather(slow, late, soon)
    assert outcome["slow"] == "done"
    assert outcome["soon"].startswith("timeout after 0.0")
    assert outcome["late"].startswith(("timeout after 0.2", "timeout after 0.3"))
    assert len(clock) == 0


async def test_a_cancellation_from_elsewhere_passes_through() -> None:
    clock = DeadlineClock()
    entered = asyncio.Event()

    async def request() -> None:
        with clock.scope(60):
            entered.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(request())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(clock) == 0


async def test_expiry_and_an_outside_cancellation_together_stay_a_cancellation() -> None:
    clock = DeadlineClock()
    entered = asyncio.Event()
    scopes: list[DeadlineScope] = []

    async def request() -> None:
        with clock.scope(60) as scope:
            scopes.append(scope)
            entered.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(request())
    await entered.wait()
    scopes[0]._expire()  # the deadline passes...
    task.cancel()  # ...and someone else cancels in the same loop iteration
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(clock) == 0


async def test_nested_scopes_the_outer_expiry_belongs_to_the_outer_scope() -> None:
    clock = DeadlineClock()
    inner_saw: list[type[BaseException]] = []
    with pytest.raises(TimeoutError), clock.scope(0.02) as outer:
        try:
            with clock.scope(60) as inner:
                await asyncio.sleep(10)
        except BaseException as exc:
            inner_saw.append(type(exc))
            raise
    assert inner_saw == [asyncio.CancelledError]
    assert outer.expired and not inner.expired
    assert len(clock) == 0


async def test_a_scope_outside_a_task_is_refused() -> None:
    clock = DeadlineClock()
    scope = clock.scope(1)
    loop = asyncio.get_running_loop()
    refused: list[BaseException] = []

    done = asyncio.Event()

    def enter() -> None:  # a plain callback: no task is running
        try:
            scope.__enter__()
        except RuntimeError as exc:
            refused.append(exc)
        done.set()

    loop.call_soon(enter)
    await done.wait()
    assert "inside an asyncio task" in str(refused[0])


async def test_a_paused_scope_ends_as_much_later_as_the_pause_lasted() -> None:
    clock = DeadlineClock()
    loop = asyncio.get_running_loop()
    with clock.scope(0.1) as scope:
        ends = scope.when
        with clock.paused():
            assert len(clock) == 0  # not counting: the shared timer cannot expire it
            await asyncio.sleep(0.2)
        assert scope.when >= ends + 0.2
        await asyncio.sleep(0.05)  # 0.25 s after the start, within the moved deadline
    assert not scope.expired
    with pytest.raises(TimeoutError), clock.scope(0.05) as scope:
        with clock.paused():
            await asyncio.sleep(0.01)
        started = loop.time()
        await asyncio.sleep(10)  # still expires once the pause is over
    assert scope.expired and loop.time() - started < 5


async def test_a_pause_holds_only_the_current_tasks_scopes() -> None:
    clock = DeadlineClock()
    other_started = asyncio.Event()

    async def other() -> None:
        with clock.scope(0.05):
            other_started.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(other())
    await other_started.wait()
    with clock.scope(60), clock.paused():
        assert len(clock) == 1  # the other task's scope still counts
        with pytest.raises(TimeoutError):
            await task
