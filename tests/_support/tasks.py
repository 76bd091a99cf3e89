"""The asyncio tasks a test's event loop still runs: what a leak check looks at."""

from __future__ import annotations

import asyncio
import time
from typing import Any

__all__ = ["other_tasks", "settle"]


def other_tasks() -> set[asyncio.Task[Any]]:
    """Tasks of this event loop still running besides the current one."""
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() if t is not current and not t.done()}


async def settle(within: float = 2.0) -> set[asyncio.Task[Any]]:
    """Let the loop run until no other task is left (at most ``within`` s); what is left."""
    deadline = time.monotonic() + within
    left = other_tasks()
    while left and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
        left = other_tasks()
    return left
