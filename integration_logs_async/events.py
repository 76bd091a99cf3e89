"""Observability: what the transport reports about each request, retry and wait.

Every event is also logged on the ``integration_logs_async`` logger (URLs redacted).
Pass ``on_event=`` to a client to receive them, e.g. to drive a progress display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["EventKind", "TransportEvent", "TransportStats"]

EventKind = Literal["request", "retry", "rate_limited", "token"]
"""What a :class:`TransportEvent` reports: a request, a retry, a 429 wait or a token fetch."""


@dataclass(frozen=True, slots=True)
class TransportEvent:
    """One thing the transport did. ``url`` never carries credentials."""

    kind: EventKind
    method: str
    url: str
    status: int | None = None
    attempt: int = 1
    elapsed: float = 0.0
    wait: float = 0.0
    bytes: int = 0
    error: str | None = None


@dataclass(slots=True)
class TransportStats:
    """Running counters of one client's transport."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    paced: int = 0  # requests that waited for a slot of the client's rate limit
    paused: int = 0  # requests held by a pause after a 429
    pause_ends: float = 0.0  # time.monotonic() when the latest 429 pause ends
    token_requests: int = 0
    bytes_received: int = 0
    waited_seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
