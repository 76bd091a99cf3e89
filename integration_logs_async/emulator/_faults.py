"""Fault injection policy: which request fails, and how.

Every decision comes from a :class:`random.Random` seeded by
:attr:`FaultConfig.seed`, and each decision always draws the same number of
random values, so the N-th faultable request of a run always gets the same
fault whatever the configuration of earlier requests was.  The policy is pure:
it only *decides*; the middleware in :mod:`._pipeline` carries decisions out.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class FaultKind(StrEnum):
    """Names of the faults the emulator can inject (also accepted as plain strings)."""

    RATE_LIMITED = "rate_limited"
    """429 with a ``Retry-After`` header (:attr:`FaultConfig.retry_after_seconds`)."""
    RATE_LIMITED_NO_RETRY_AFTER = "rate_limited_no_retry_after"
    """429 without ``Retry-After``."""
    SERVER_ERROR = "server_error"
    """500 with the provider's JSON error body."""
    BAD_GATEWAY = "bad_gateway"
    """502 with the provider's JSON error body."""
    SERVICE_UNAVAILABLE = "service_unavailable"
    """503 with the provider's JSON error body."""
    GATEWAY_TIMEOUT = "gateway_timeout"
    """504 with the provider's JSON error body."""
    SERVER_ERROR_HTML = "server_error_html"
    """500 with an HTML page, as a proxy in front of the API would answer."""
    BAD_GATEWAY_HTML = "bad_gateway_html"
    """502 with an HTML page."""
    SERVICE_UNAVAILABLE_HTML = "service_unavailable_html"
    """503 with an HTML page."""
    GATEWAY_TIMEOUT_HTML = "gateway_timeout_html"
    """504 with an HTML page."""
    RESET = "reset"
    """Headers with the full Content-Length, half the body, then the connection is aborted."""
    TRUNCATED = "truncated"
    """A complete HTTP response whose JSON body is cut in half (Content-Length matches)."""
    SLOW = "slow"
    """Sleep :attr:`FaultConfig.slow_seconds` before answering normally."""
    LATENCY = "latency"
    """Extra delay of ``latency_seconds + uniform(0, latency_jitter_seconds)``; combines
    with any other fault."""
    FOREIGN_NEXT = "foreign_next"
    """The ``next`` link of a listing points at :attr:`FaultConfig.foreign_origin`."""
    FOREIGN_REDIRECT = "foreign_redirect"
    """``302 Found`` to the same path and query on :attr:`FaultConfig.foreign_origin`
    (data endpoints only)."""


STATUS_FAULTS: Mapping[FaultKind, tuple[int, bool]] = MappingProxyType(
    {
        FaultKind.RATE_LIMITED: (429, False),
        FaultKind.RATE_LIMITED_NO_RETRY_AFTER: (429, False),
        FaultKind.SERVER_ERROR: (500, False),
        FaultKind.BAD_GATEWAY: (502, False),
        FaultKind.SERVICE_UNAVAILABLE: (503, False),
        FaultKind.GATEWAY_TIMEOUT: (504, False),
        FaultKind.SERVER_ERROR_HTML: (500, True),
        FaultKind.BAD_GATEWAY_HTML: (502, True),
        FaultKind.SERVICE_UNAVAILABLE_HTML: (503, True),
        FaultKind.GATEWAY_TIMEOUT_HTML: (504, True),
    }
)
"""Faults answered with an error status instead of the real response: kind -> (status, html)."""

_EXCLUSIVE_KINDS = tuple(kind for kind in FaultKind if kind is not FaultKind.LATENCY)
_KIND_NAMES = frozenset(kind.value for kind in FaultKind)
FAULT_KIND_NAMES: tuple[str, ...] = tuple(sorted(_KIND_NAMES))
"""Every fault kind name, sorted (for messages and ``--help``)."""


def fault_kind(name: object) -> FaultKind:
    """The :class:`FaultKind` called ``name``; ValueError listing the valid kinds otherwise."""
    if isinstance(name, str) and name in _KIND_NAMES:
        return FaultKind(name)
    raise ValueError(f"unknown fault kind {name!r}; valid kinds: {', '.join(FAULT_KIND_NAMES)}")


def _schedule_position(key: object) -> int | None:
    """A schedule position given as an int or a string of digits (JSON keys), else None."""
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    if isinstance(key, str) and key.isascii() and key.isdigit():
        return int(key)
    return None


@dataclass(frozen=True, kw_only=True)
class FaultConfig:
    """What to inject, and how often.

    ``rates`` maps a :class:`FaultKind` (or its string value) to a probability per
    faultable request.  Apart from ``latency`` the kinds are mutually exclusive, so
    their probabilities must add up to at most 1.  ``schedule`` forces a kind on the
    N-th faultable request (1-based, counted since the faults were last set), e.g.
    ``{3: "server_error", 7: "reset"}``; it wins over the random draw.

    Faultable requests are the data endpoints of both providers, plus the token
    endpoints when ``include_token_endpoints`` is true.
    """

    rates: Mapping[str, float] = field(default_factory=dict)
    """Probability per kind; keys are normalised to :class:`FaultKind`."""
    schedule: Mapping[int, str] = field(default_factory=dict)
    """Kind forced on the N-th faultable request; values normalised to :class:`FaultKind`."""
    seed: int = 0
    retry_after_seconds: int = 1
    latency_seconds: float = 0.0
    latency_jitter_seconds: float = 0.0
    slow_seconds: float = 5.0
    foreign_origin: str = "https://evil.example"
    """Origin used by ``foreign_next`` and ``foreign_redirect``; ``{port}`` is replaced by
    the emulator's port."""
    include_token_endpoints: bool = False

    def __post_init__(self) -> None:
        rates = {fault_kind(kind): float(p) for kind, p in self.rates.items()}
        schedule = {int(n): fault_kind(kind) for n, kind in self.schedule.items()}
        if any(not 0.0 <= p <= 1.0 for p in rates.values()):
            raise ValueError("fault rates must be probabilities between 0 and 1")
        exclusive = sum(p for kind, p in rates.items() if kind is not FaultKind.LATENCY)
        if exclusive > 1.0 + 1e-9:
            raise ValueError(f"exclusive fault rates add up to {exclusive:.3f} > 1")
        if any(n < 1 for n in schedule):
            raise ValueError("schedule positions are 1-based request numbers")
        for name in ("retry_after_seconds", "latency_seconds", "latency_jitter_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.slow_seconds < 0:
            raise ValueError("slow_seconds must not be negative")
        object.__setattr__(self, "rates", MappingProxyType(rates))
        object.__setattr__(self, "schedule", MappingProxyType(schedule))

    @property
    def active(self) -> bool:
        """Whether this configuration can inject anything at all."""
        return bool(self.schedule) or any(p > 0 for p in self.rates.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, accepted back by :meth:`from_dict`."""
        data: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        data["rates"] = {str(kind): p for kind, p in self.rates.items()}
        data["schedule"] = {str(n): str(kind) for n, kind in self.schedule.items()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultConfig:
        """Build from JSON-like data; unknown keys raise :class:`ValueError`.

        Besides the field names, a kind name may be used as a key for its rate
        (``{"server_error": 0.1}`` is ``{"rates": {"server_error": 0.1}}``).
        """
        names = {f.name for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        rates: dict[FaultKind, float] = {}
        for key, value in data.items():
            if key in names:
                kwargs[key] = value
            elif key in _KIND_NAMES:
                rates[FaultKind(key)] = float(value)
            else:
                raise ValueError(
                    f"unknown fault setting or kind {key!r}; valid kinds: "
                    f"{', '.join(FAULT_KIND_NAMES)}; settings: {', '.join(sorted(names))}"
                )
        if rates:
            kwargs["rates"] = {**dict(kwargs.get("rates", {})), **rates}
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ValueError(str(exc)) from exc

    @classmethod
    def coerce(cls, value: FaultConfig | Mapping[Any, Any] | None) -> FaultConfig:
        """A :class:`FaultConfig` from any of the documented shapes.

        - a :class:`FaultConfig` (returned as is), or None (no faults);
        - a dict of rates by kind, ``{"server_error": 0.2, "rate_limited": 0.05}``;
        - a schedule, ``{3: "server_error", 7: "reset"}`` (int keys, or digit strings as in JSON);
        - a dict of :class:`FaultConfig` fields, ``{"rates": {...}, "retry_after_seconds": 2}``;
        - any mix of the three dict forms.

        Raises ValueError naming the valid kinds and settings for anything else.
        """
        if value is None:
            return cls()
        if isinstance(value, FaultConfig):
            return value
        if not isinstance(value, Mapping):
            raise ValueError(
                "faults must be a FaultConfig or a dict of rates ({'server_error': 0.2}), "
                f"a schedule ({{3: 'server_error'}}) or FaultConfig fields, not {value!r}"
            )
        data: dict[str, Any] = {}
        schedule: dict[int, str] = {}
        for key, item in value.items():
            position = _schedule_position(key)
            if position is None:
                data[str(key)] = item
            else:
                schedule[position] = item
        if schedule:
            data["schedule"] = {**dict(data.get("schedule", {})), **schedule}
        return cls.from_dict(data)


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """The fault chosen for one request: ``kind`` (or None) plus an extra delay."""

    number: int
    kind: FaultKind | None
    delay: float = 0.0


NO_FAULT = FaultDecision(number=0, kind=None)
"""Decision used for requests that are not faultable."""


class FaultPolicy:
    """Deterministic sequence of :class:`FaultDecision` for one :class:`FaultConfig`."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed)
        self._count = 0
        self._thresholds: list[tuple[float, FaultKind]] = []
        total = 0.0
        for kind in _EXCLUSIVE_KINDS:
            total += config.rates.get(kind, 0.0)
            self._thresholds.append((total, kind))

    @property
    def count(self) -> int:
        """Number of decisions taken so far."""
        return self._count

    def decide(self) -> FaultDecision:
        """Take the decision for the next faultable request."""
        self._count += 1
        roll_kind = self._rng.random()
        roll_latency = self._rng.random()
        roll_jitter = self._rng.random()
        config = self.config
        scheduled = config.schedule.get(self._count)
        if scheduled is not None:
            kind: FaultKind | None = FaultKind(scheduled)
        else:
            kind = next((k for limit, k in self._thresholds if roll_kind < limit), None)
        delay = 0.0
        if kind is FaultKind.LATENCY or roll_latency < config.rates.get(FaultKind.LATENCY, 0.0):
            delay = config.latency_seconds + roll_jitter * config.latency_jitter_seconds
        if kind is FaultKind.LATENCY:
            kind = None
        return FaultDecision(number=self._count, kind=kind, delay=delay)
