"""The pure retry policy: Retry-After parsing, backoff, what is retryable, the wait."""

from __future__ import annotations

import email.utils
import random

import pytest
import tenacity
from multidict import CIMultiDict

from integration_logs_async import (
    APIError,
    AuthenticationError,
    DecodeError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
)
from integration_logs_async._constants import RETRYABLE_STATUSES
from integration_logs_async._http._retry import (
    RetryWait,
    full_jitter_backoff,
    is_retryable_error,
    is_retryable_status,
    parse_retry_after,
)

NOW = 1_700_000_000.0


def common(status: int) -> dict[str, object]:
    return {"status": status, "method": "GET", "url": "https://api.test/x"}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "120"}, 120.0),
        ({"Retry-After": "0"}, 0.0),
        ({"Retry-After": " 7 "}, 7.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"Retry-After": "-3"}, 0.0),
        ({"retry-after": "5"}, 5.0),
        ({"RETRY-AFTER": "5"}, 5.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"Retry-After-Ms": "250"}, 0.25),
        ({"retry-after-ms": "-10"}, 0.0),
        ({"retry-after-ms": "40", "Retry-After": "9"}, 0.04),  # ms is more precise: wins
        ({"retry-after-ms": "soon", "Retry-After": "9"}, 9.0),  # bad ms: fall back
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": ""}, None),
        ({}, None),
        ({"Content-Type": "application/json"}, None),
    ],
)
def test_parse_retry_after_seconds(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers, now=NOW) == expected


def test_parse_retry_after_http_date() -> None:
    date = email.utils.formatdate(NOW + 30, usegmt=True)
    assert date.endswith(" GMT")
    assert parse_retry_after({"Retry-After": date}, now=NOW) == 30.0
    assert parse_retry_after({"Retry-After": date}, now=NOW + 45) == 0.0  # in the past


def test_parse_retry_after_http_date_without_zone_is_utc() -> None:
    date = email.utils.formatdate(NOW + 90, usegmt=True).replace(" GMT", "")
    assert parse_retry_after({"Retry-After": date}, now=NOW) == 90.0


def test_parse_retry_after_accepts_multidict_headers() -> None:
    headers = CIMultiDict({"Retry-After": "3"})
    assert parse_retry_after(headers) == 3.0


class TopOfRange(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b


def test_full_jitter_ceiling_doubles_up_to_cap() -> None:
    rng = TopOfRange()
    got = [full_jitter_backoff(n, initial=0.5, cap=30.0, rng=rng) for n in range(1, 10)]
    assert got == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert full_jitter_backoff(0, initial=0.5, cap=30.0, rng=rng) == 0.5


def test_full_jitter_stays_in_range() -> None:
    rng = random.Random(1234)
    for attempt in range(1, 8):
        ceiling = min(4.0, 0.25 * 2 ** (attempt - 1))
        for _ in range(50):
            assert 0.0 <= full_jitter_backoff(attempt, initial=0.25, cap=4.0, rng=rng) <= ceiling


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_statuses(status: int) -> None:
    assert is_retryable_status(status, RETRYABLE_STATUSES)


@pytest.mark.parametrize("status", [200, 301, 400, 401, 403, 404, 409, 422, 501])
def test_non_retryable_statuses(status: int) -> None:
    assert not is_retryable_status(status, RETRYABLE_STATUSES)


def test_is_retryable_error() -> None:
    r = RETRYABLE_STATUSES
    assert is_retryable_error(TransportError("reset"), r, False)
    assert is_retryable_error(ServerError(**common(503)), r, False)  # type: ignore[arg-type]
    assert is_retryable_error(RateLimitError(**common(429)), r, False)  # type: ignore[arg-type]
    assert not is_retryable_error(NotFoundError(**common(404)), r, True)  # type: ignore[arg-type]
    assert not is_retryable_error(
        AuthenticationError(**common(401)),  # type: ignore[arg-type]
        r,
        True,
    )
    decode = DecodeError(method="GET", url="https://api.test/x", status=200, reason="x", body=b"")
    assert is_retryable_error(decode, r, True)
    assert not is_retryable_error(decode, r, False)
    assert not is_retryable_error(ValueError("boom"), r, True)
    # a custom set of statuses is honoured
    assert is_retryable_error(APIError(**common(409)), frozenset({409}), False)  # type: ignore[arg-type]


def failed_state(exc: BaseException, attempt: int) -> tenacity.RetryCallState:
    state = tenacity.RetryCallState(None, None, (), {})  # type: ignore[arg-type]
    state.attempt_number = attempt
    outcome: tenacity.Future = tenacity.Future(attempt)
    outcome.set_exception(exc)
    state.outcome = outcome
    return state


def test_retry_wait_uses_retry_after_of_rate_limit_errors() -> None:
    wait = RetryWait(0.5, 30.0)
    exc = RateLimitError(retry_after=2.5, **common(429))  # type: ignore[arg-type]
    assert wait(failed_state(exc, 5)) == 2.5
    zero = RateLimitError(retry_after=0.0, **common(429))  # type: ignore[arg-type]
    assert wait(failed_state(zero, 5)) == 0.0


def test_retry_wait_backs_off_otherwise() -> None:
    wait = RetryWait(0.5, 30.0)
    no_hint = RateLimitError(**common(429))  # type: ignore[arg-type]
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (10, 30.0)]:
        for exc in (no_hint, TransportError("x"), ServerError(**common(500))):  # type: ignore[arg-type]
            assert 0.0 <= wait(failed_state(exc, attempt)) <= ceiling
