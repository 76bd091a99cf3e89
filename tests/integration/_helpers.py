"""Helpers of the integration suite: exactly-once checks and partial reads of a stream.

Every test here talks HTTP to the built-in emulator on 127.0.0.1 (no aioresponses). Clients
come from ``tests._support.clients`` (pacing off, tiny backoffs, so the suite stays fast);
tests about pacing set ``rate_limit`` themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from integration_logs_async import AsyncStream

__all__ = ["assert_exactly", "take"]

T = TypeVar("T")


def assert_exactly(got: Sequence[str], expected: Sequence[str]) -> None:
    """``got`` holds every id of ``expected`` once and nothing else (order checked too)."""
    dupes = len(got) - len(set(got))
    assert dupes == 0, f"{dupes} duplicate record(s)"
    missing = set(expected) - set(got)
    extra = set(got) - set(expected)
    assert not missing and not extra, f"{len(missing)} missing, {len(extra)} unexpected"
    assert list(got) == list(expected)


async def take(stream: AsyncStream[T], count: int) -> tuple[list[T], str]:
    """Consume exactly ``count`` records of ``stream``; the records and the checkpoint after."""
    taken: list[T] = []
    if count:
        async for record in stream:
            taken.append(record)
            if len(taken) == count:
                break
    checkpoint = stream.checkpoint
    await stream.aclose()
    return taken, checkpoint
