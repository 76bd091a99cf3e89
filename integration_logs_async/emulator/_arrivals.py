"""Logs arriving on a schedule: the rate parser, the pure due-count rule and the ticking task.

At ``rate`` logs per second (per chosen provider) a background task in the emulator's
event loop adds, at each tick, ``due(rate, elapsed, added)`` = ``floor(rate * elapsed) -
added`` synthetic logs created "now", at the head of every listing like
:meth:`Emulator.add_logs`.  Counting from the moment the rate was set (not summing
per-tick increments) means no drift: after ``t`` seconds exactly ``floor(rate * t)`` logs
arrived per provider, however late the ticks ran.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from ._config import PROVIDERS, EmulatorConfig, Provider
from ._store import Store

__all__ = [
    "MAX_TICK",
    "MIN_TICK",
    "Arrivals",
    "due",
    "format_rate",
    "parse_providers",
    "parse_rate",
    "tick_seconds",
]

MAX_TICK = 0.1
"""Longest pause between two ticks, in seconds."""
MIN_TICK = 0.01
"""Shortest pause between two ticks (high rates add several logs per tick instead)."""

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_RATE = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?:/\s*([smh]))?\s*", re.IGNORECASE)


def parse_rate(text: str) -> float:
    """Logs per second from ``5/s``, ``30/m``, ``2/h`` or a bare number (per second).

    Raises ValueError with a one-line message saying what is allowed.
    """
    match = _RATE.fullmatch(text)
    if match is None:
        raise ValueError(
            f"invalid arrival rate {text!r}: use a number of logs per second or per unit, "
            "e.g. 5/s, 30/m, 2/h or 0.5"
        )
    number, unit = match.groups()
    return float(number) / _UNITS[(unit or "s").lower()]


def format_rate(rate: float) -> str:
    """A rate in logs per second as text, e.g. ``5/s`` or ``0.5/s``."""
    return f"{rate:g}/s"


def check_rate(rate: float) -> float:
    """``rate`` as a float when it is a finite number >= 0; ValueError otherwise."""
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        raise ValueError(f"arrival rate {rate!r} is not a number")
    if not math.isfinite(rate) or rate < 0:
        raise ValueError(f"arrival rate {rate!r} must be a finite number >= 0")
    return float(rate)


def parse_providers(providers: Iterable[str] | str | None) -> tuple[Provider, ...]:
    """The providers logs arrive for (None: both); ValueError naming an unknown one."""
    if providers is None:
        return PROVIDERS
    names = [providers] if isinstance(providers, str) else list(providers)
    chosen: list[Provider] = []
    for name in names:
        provider = next((p for p in PROVIDERS if p == name), None)
        if provider is None:
            raise ValueError(f"unknown provider {name!r}: use sendcloud and/or elasticpath")
        if provider not in chosen:
            chosen.append(provider)
    return tuple(chosen)


def due(rate: float, elapsed: float, added: int) -> int:
    """How many logs to add now: ``floor(rate * elapsed) - added``, never negative."""
    if rate <= 0 or elapsed <= 0:
        return 0
    return max(0, math.floor(rate * elapsed) - added)


def tick_seconds(rate: float) -> float:
    """Pause between ticks at ``rate``: about one log per tick, within [MIN_TICK, MAX_TICK]."""
    if rate <= 0:
        return MAX_TICK
    return min(MAX_TICK, max(MIN_TICK, 1.0 / rate))


class Arrivals:
    """The arrival schedule of one emulator: rate, providers, counters and the ticking task.

    Not thread-safe: use it from the emulator's event loop (the :class:`Emulator` methods
    marshal calls from other threads there).
    """

    def __init__(
        self,
        config: EmulatorConfig,
        store: Store,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._clock = clock
        self._now = now
        self._rng = random.Random(f"arrivals:{config.seed}")
        self.success_ratio = config.arrival_success_ratio
        self.rate = 0.0
        self.providers: tuple[Provider, ...] = PROVIDERS
        self.added: dict[Provider, int] = dict.fromkeys(PROVIDERS, 0)
        """Logs added by arrivals so far, per provider (since the emulator was built)."""
        self._since = clock()
        self._batch = 0
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.set(config.arrival_rate, config.arrival_providers)

    def set(self, rate: float, providers: Iterable[str] | str | None = None) -> None:
        """New rate (0 stops) and providers; the count starts again from now."""
        self.rate = check_rate(rate)
        self.providers = parse_providers(providers)
        self._since = self._clock()
        self._batch = 0
        self._changed.set()

    def step(self) -> int:
        """Add the logs due by now (per provider); returns how many per provider."""
        count = due(self.rate, self._clock() - self._since, self._batch)
        if count:
            created = self._now()
            for provider in self.providers:
                self._add(provider, count, created)
            self._batch += count
        return count

    def _add(self, provider: Provider, count: int, created: datetime) -> None:
        store = self._store
        if provider == "sendcloud" or self.success_ratio <= 0:
            store.add_arrivals(provider, count, created, None if provider == "sendcloud" else False)
        else:
            for _ in range(count):
                succeeded = self._rng.random() < self.success_ratio
                store.add_arrivals(provider, 1, created, succeeded)
        self.added[provider] += count

    def to_dict(self) -> dict[str, Any]:
        """``{"rate", "rate_text", "providers", "success_ratio", "added"}`` as JSON-ready data."""
        return {
            "rate": self.rate,
            "rate_text": format_rate(self.rate),
            "providers": list(self.providers),
            "success_ratio": self.success_ratio,
            "added": dict(self.added),
        }

    # -- the task ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start ticking in the running loop (the server's), once."""
        if self._task is None:
            self._changed = asyncio.Event()  # bound to this loop on first wait
            self._since, self._batch = self._clock(), 0
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="emulator-arrivals"
            )

    async def stop(self) -> None:
        """Cancel the ticking task and wait until it has ended."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})  # the caller's own cancellation still propagates
            if not task.cancelled():
                task.exception()  # retrieved: no "exception was never retrieved" warning

    async def _run(self) -> None:
        while True:
            if self.rate <= 0:
                self._changed.clear()
                await self._changed.wait()
                continue
            await asyncio.sleep(tick_seconds(self.rate))
            self.step()
