"""The retry loop: tenacity, entered only after a request's first attempt failed.

Most requests succeed at once, and building and driving tenacity for a request costs CPU on
every request, so the transport makes the first attempt itself and hands a failure worth
retrying to :meth:`Retries.after`. That drives tenacity's own state machine (``iter`` on a
``RetryCallState``, exactly as ``AsyncRetrying.__call__`` does) with the failure recorded as
attempt 1's outcome: tenacity decides every wait and when to give up; the decisions are the
pure functions of ``_retry.py``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import tenacity
from yarl import URL

from .._constants import LOGGER_NAME
from ..config import ClientConfig
from ..errors import APIError, IntegrationLogsError
from ..events import TransportEvent, TransportStats
from ._redact import redact_url
from ._retry import RetryWait, is_retryable_error
from ._transport_errors import note_gave_up

R = TypeVar("R")
logger = logging.getLogger(LOGGER_NAME)


class Retries:
    """The retry policy of one client (built once), with its counts, logging and events."""

    def __init__(
        self,
        config: ClientConfig,
        stats: TransportStats,
        emit: Callable[[TransportEvent], None],
        redact: Callable[[str], str],
    ) -> None:
        self._config = config
        self._stats = stats
        self._emit = emit
        self._redact = redact
        self._policy = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(config.max_attempts)
            | tenacity.stop_before_delay(config.request_deadline),
            wait=RetryWait(config.backoff_initial, config.backoff_max),
            retry=tenacity.retry_if_exception(self.worth_retrying),
            reraise=True,
        )

    def worth_retrying(self, exc: BaseException) -> bool:
        """Whether a failed attempt is retried (if attempts and time remain)."""
        cfg = self._config
        if isinstance(exc, APIError) and (exc.retry_after or 0) > cfg.retry_after_cap:
            return False  # the provider asks for a longer wait than we are willing to do
        # A failed token request is none of these: it was retried on its own.
        return is_retryable_error(exc, cfg.retryable_statuses, cfg.retry_decode_errors)

    @property
    def enabled(self) -> bool:
        """Whether a request gets more than one attempt."""
        return self._config.max_attempts > 1

    async def after(
        self, failure: Exception, method: str, url: URL, attempt: Callable[[], Awaitable[R]]
    ) -> R:
        """Attempts 2 and later of ``method url`` (``attempt()`` makes one), after ``failure``.

        Raises the last failure when tenacity gives up, its message noting the attempts.
        """
        retrying = self._policy.copy(before_sleep=self._before_sleep(method, url))
        retrying.begin()
        state = tenacity.RetryCallState(retrying, fn=None, args=(), kwargs={})
        state.set_exception((type(failure), failure, failure.__traceback__))
        try:
            while True:
                # A sleep before the next attempt, or the last failure raised (reraise=True).
                action = await retrying.iter(state)
                if isinstance(action, tenacity.DoSleep):
                    state.prepare_for_next_attempt()
                    await retrying.sleep(action)  # type: ignore[misc]
                    continue
                try:
                    return await attempt()
                except Exception:
                    state.set_exception(sys.exc_info())  # type: ignore[arg-type]
        except IntegrationLogsError as exc:
            attempts = state.attempt_number
            if attempts >= self._config.max_attempts and self.worth_retrying(exc):
                note_gave_up(exc, attempts)
            raise

    def _before_sleep(self, method: str, url: URL) -> Callable[[tenacity.RetryCallState], None]:
        def before_sleep(state: tenacity.RetryCallState) -> None:
            wait = state.next_action.sleep if state.next_action else 0.0
            exc = state.outcome.exception() if state.outcome else None
            self._stats.retries += 1
            self._stats.waited_seconds += wait
            reason = self._redact(str(exc)) if exc else "unknown"
            logger.info(
                "retrying %s %s in %.2f s (attempt %d/%d failed: %s)",
                method,
                redact_url(url),
                wait,
                state.attempt_number,
                self._config.max_attempts,
                reason,
            )
            self._emit(
                TransportEvent(
                    "retry",
                    method,
                    redact_url(url),
                    status=getattr(exc, "status", None),
                    attempt=state.attempt_number,
                    wait=wait,
                    error=reason,
                )
            )

        return before_sleep


__all__ = ["Retries"]
