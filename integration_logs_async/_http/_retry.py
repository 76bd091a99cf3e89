"""Retry policy as small pure functions, plus the tenacity wiring that uses them."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from datetime import UTC

import tenacity

from ..errors import APIError, DecodeError, TransportError


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait as the server asked, from ``retry-after-ms`` or ``Retry-After``.

    ``Retry-After`` may be delta-seconds or an HTTP-date. Returns ``None`` when absent or
    unparseable, and never a negative number.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def full_jitter_backoff(
    attempt: int, *, initial: float, cap: float, rng: random.Random | None = None
) -> float:
    """AWS-style "full jitter": uniform in [0, min(cap, initial * 2**(attempt-1))]."""
    ceiling = min(cap, initial * (2 ** max(0, attempt - 1)))
    return (rng or random).uniform(0.0, ceiling)


def is_retryable_status(status: int, retryable: frozenset[int]) -> bool:
    """Whether an HTTP status is worth another attempt."""
    return status in retryable


def is_retryable_error(exc: BaseException, retryable: frozenset[int], retry_decode: bool) -> bool:
    """Whether a failed attempt should be retried: transient transport errors, retryable
    statuses, and (optionally) bodies that failed to decode, e.g. truncated in transit."""
    if isinstance(exc, TransportError):
        return True
    if isinstance(exc, APIError):
        return is_retryable_status(exc.status, retryable)
    return retry_decode and isinstance(exc, DecodeError)


class RetryWait(tenacity.wait.wait_base):
    """Wait as the server asked (Retry-After) or else full-jitter exponential backoff."""

    def __init__(self, initial: float, cap: float) -> None:
        self.initial = initial
        self.cap = cap

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, APIError) and exc.retry_after is not None:
            return exc.retry_after  # 429 or 503 with Retry-After: wait as asked
        return full_jitter_backoff(retry_state.attempt_number, initial=self.initial, cap=self.cap)
