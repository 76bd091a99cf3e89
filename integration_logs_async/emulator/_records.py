"""Request log and concurrency statistics."""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Literal

AuthScheme = Literal["basic", "bearer", "form"]
"""How a request authenticated: HTTP Basic, a Bearer token, or form fields (token requests)."""

Category = Literal["data", "token", "other"]
"""Data endpoints, token endpoints, or anything else (unknown paths)."""


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request the emulator answered (admin requests are not recorded).

    ``credential`` is the identity (public key or client id), never the secret;
    ``started``/``finished`` are :func:`time.monotonic` readings; ``fault`` is the
    injected fault kind, if any, and ``delay`` the injected latency in seconds.
    ``status`` is the status sent (for a ``reset`` fault: the one announced).
    """

    method: str
    path: str
    query_string: str
    provider: str | None
    category: Category
    auth_scheme: AuthScheme | None
    credential: str | None
    status: int
    started: float
    finished: float
    fault: str | None = None
    delay: float = 0.0

    @property
    def duration(self) -> float:
        """Seconds between arrival and the end of handling."""
        return self.finished - self.started

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


class RequestStats:
    """The request log (bounded) plus in-flight counters for data endpoints."""

    def __init__(self, limit: int) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=limit)
        self.in_flight = 0
        self.max_in_flight = 0

    def enter(self) -> None:
        """A data request started."""
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        """A data request finished."""
        self.in_flight -= 1

    def add(self, record: RequestRecord) -> None:
        """Append a finished request to the log."""
        self._records.append(record)

    @property
    def records(self) -> list[RequestRecord]:
        """Snapshot of the log, oldest first."""
        return list(self._records)

    def reset(self) -> None:
        """Forget the log and the peak concurrency (requests in flight stay counted)."""
        self._records.clear()
        self.max_in_flight = self.in_flight
