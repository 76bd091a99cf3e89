"""Progress on stderr: a live line on a terminal, periodic plain lines otherwise."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

from ..events import TransportStats


@dataclass
class HarvestCounters:
    """What a harvest has done so far."""

    records: int = 0
    pages: int = 0
    duplicates: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        """Seconds since the harvest started."""
        return time.monotonic() - self.started


PACED_NOTE = "paced by the client's rate limit (--rate-limit)"
PAUSED_NOTE = "paused after 429: the server asked to slow down"


def paused_note(seconds_left: float) -> str:
    """The note while every request waits out a 429 pause."""
    return f"paused {seconds_left:.1f} s more after 429: the server asked to slow down"


@dataclass(frozen=True, slots=True)
class Waits:
    """Counters of the client that say what held requests back (see :func:`limiting_note`)."""

    requests: int = 0
    paced: int = 0
    paused: int = 0
    rate_limited: int = 0

    @classmethod
    def of(cls, stats: TransportStats) -> Waits:
        """The counters of ``stats`` now."""
        return cls(stats.requests, stats.paced, stats.paused, stats.rate_limited)


def limiting_note(before: Waits, now: Waits) -> str | None:
    """What limited the request rate between two snapshots: a 429 pause, the client's own
    pacing (at least half the requests waited for a slot), or nothing (None)."""
    if now.rate_limited > before.rate_limited or now.paused > before.paused:
        return PAUSED_NOTE
    requests = now.requests - before.requests
    if requests > 0 and 2 * (now.paced - before.paced) >= requests:
        return PACED_NOTE
    return None


def format_status(
    counters: HarvestCounters,
    stats: TransportStats,
    base: tuple[int, int, int] = (0, 0, 0),
    note: str | None = None,
) -> str:
    """One line: records, pages, requests, retries, 429s, rate, elapsed, and ``note``
    (e.g. what limits the rate: :func:`limiting_note`).

    ``base`` holds the client's (requests, retries, 429s) when the harvest started.
    """
    elapsed = counters.elapsed
    rate = counters.records / elapsed if elapsed > 0 else 0.0
    requests, retries, limited = (
        stats.requests - base[0],
        stats.retries - base[1],
        stats.rate_limited - base[2],
    )
    return (
        f"{counters.records:,} records, {counters.pages:,} pages, {requests:,} requests, "
        f"{retries:,} retries, {limited:,} 429s, {rate:,.0f} rec/s, {elapsed:,.1f} s"
        + (f"; {note}" if note else "")
    )


class Progress:
    """Reports harvest progress every ``interval`` seconds until stopped."""

    def __init__(
        self,
        counters: HarvestCounters,
        stats: TransportStats,
        *,
        stream: TextIO | None = None,
        interval: float | None = None,
        enabled: bool = True,
        base_requests: int = 0,
        base_retries: int = 0,
        base_rate_limited: int = 0,
    ) -> None:
        self.counters = counters
        self.stats = stats
        self.base = (base_requests, base_retries, base_rate_limited)
        self.stream = stream if stream is not None else sys.stderr
        self.live = enabled and self.stream.isatty()
        self.interval = interval if interval is not None else (0.2 if self.live else 5.0)
        self.enabled = enabled
        self._task: asyncio.Task[None] | None = None
        self._waits = Waits(base_requests, stats.paced, stats.paused, base_rate_limited)

    async def __aenter__(self) -> Progress:
        if self.enabled:
            self._task = asyncio.create_task(self._tick())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.live:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.show()

    def show(self) -> None:
        """Print the current status once, saying what limited the rate since the last time."""
        waits = Waits.of(self.stats)
        left = self.stats.pause_ends - time.monotonic()
        note = paused_note(left) if left > 0 else limiting_note(self._waits, waits)
        self._waits = waits
        line = format_status(self.counters, self.stats, self.base, note)
        if self.live:
            self.stream.write("\r\x1b[2K" + line)
        else:
            self.stream.write("progress: " + line + "\n")
        self.stream.flush()
