"""Which logs a tail hands out: failed only, status classes or codes, integrations (pure).

Filters are applied to the logs a poll found, on the client: they never cost a request.
A status is an HTTP code (``503``) or a class (``"5xx"``); ``"none"`` matches a log with
no response at all (a timeout or a refused connection).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..records import NormalizedLog, RawRecord

_CLASS = re.compile(r"[1-5]xx", re.IGNORECASE)

Status = int | str
"""An HTTP status code (``404``), a class (``"4xx"``) or ``"none"`` (no response)."""


@dataclass(frozen=True, slots=True)
class LogFilter:
    """The logs to keep; an empty filter keeps every log.

    ``failed_only``: drop logs the provider marks as succeeded. ``statuses``: keep logs whose
    status matches one of them. ``integration_ids``: keep logs of these integrations; a log
    whose record names no integration (Sendcloud v3's account listing may leave it out)
    matches none: tail that integration's own listing instead.
    """

    failed_only: bool = False
    statuses: frozenset[Status] = frozenset()
    integration_ids: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        *,
        failed_only: bool = False,
        status: Iterable[Status] = (),
        integration_ids: Iterable[int | str] = (),
    ) -> LogFilter:
        """A filter from user input; ``ValueError`` naming a status that is not one."""
        if not isinstance(failed_only, bool):
            raise ValueError(f"failed_only must be True or False, got {failed_only!r}")
        if isinstance(status, str | int):
            status = [status]
        if isinstance(integration_ids, str | int):
            integration_ids = [integration_ids]
        return cls(
            failed_only=failed_only,
            statuses=frozenset(parse_status(s) for s in status),
            integration_ids=frozenset(str(i) for i in integration_ids),
        )

    @property
    def empty(self) -> bool:
        """True when the filter keeps every log."""
        return not (self.failed_only or self.statuses or self.integration_ids)

    @property
    def needs_fields(self) -> bool:
        """True when matching reads the log's fields, not only its owners."""
        return self.failed_only or bool(self.statuses)

    def keeps(self, record: RawRecord, normalize: Callable[[RawRecord], NormalizedLog]) -> bool:
        """Whether ``record`` passes (``normalize`` is called only when fields are needed)."""
        if self.integration_ids and record.integration_id not in self.integration_ids:
            return False
        if not self.needs_fields:
            return True
        log = normalize(record)
        if self.failed_only and log.succeeded is True:
            return False
        return not self.statuses or status_matches(log.status_code, self.statuses)


def parse_status(value: Status) -> Status:
    """``value`` as a filter status: a code 100-599, ``"4xx"``-style class, or ``"none"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        if 100 <= value <= 599:
            return value
    elif isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit() and 100 <= int(text) <= 599:
            return int(text)
        if _CLASS.fullmatch(text) or text == "none":
            return text
    raise ValueError(
        f"status {value!r} is not an HTTP status: give a code (503), a class (5xx) or none"
    )


def status_matches(code: int | None, statuses: frozenset[Status]) -> bool:
    """Whether ``code`` (None, or Elastic Path's 0: no response) matches one of ``statuses``."""
    if not code:
        return "none" in statuses
    return code in statuses or f"{code // 100}xx" in statuses


__all__ = ["LogFilter", "Status", "parse_status", "status_matches"]
