"""Fields a user gives new logs (``Emulator.add_logs``, ``POST /_emulator/logs``), checked.

One vocabulary for both providers, mapped onto each provider's record:

============================  ===============================  ================================
field                         Sendcloud record                 Elastic Path record
============================  ===============================  ================================
``status_code`` (int | None)  ``response_code`` (None: no      ``status_code`` (None: ``0``)
                              response, ``response`` null)
``failed`` (bool)             ``exception_type``/``exception``  ``succeeded`` = not failed
                              set (failed) or null
``error`` (str)               ``exception``                    ``error_detail``
``body`` (str)                ``response.body``                ``body``
``created_at``                ``created_at`` (shop's offset)   ``meta.timestamps.created_at``
``method``, ``full_url``,     the same keys                    (Sendcloud only)
``exception_type``,
``protected``
``job_id``, ``attempt``,      (Elastic Path only)              the job relationship, the same
``processing_time``                                            keys
============================  ===============================  ================================

``failed`` defaults to "``status_code`` is None or not 2xx"; ``status_code`` defaults to
500 for a failed log and 200 otherwise.  Parsing is pure: :func:`parse_log_fields` returns
a :class:`LogSpec` or raises :class:`LogFieldError`, which names the field and what is allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any, TypedDict

from ._config import Provider

_PROVIDER_NAMES = {"sendcloud": "Sendcloud", "elasticpath": "Elastic Path"}
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class LogFields(TypedDict, total=False):
    """Keyword fields of :meth:`Emulator.add_logs` (see the module's table for the mapping)."""

    status_code: int | None
    failed: bool
    error: str
    body: str
    created_at: datetime | str
    method: str
    full_url: str
    exception_type: str
    protected: bool
    job_id: str
    attempt: int
    processing_time: float


class LogFieldError(ValueError):
    """A field of new logs is not allowed: ``field`` names it, ``allowed`` says what is."""

    def __init__(self, field: str, problem: str, allowed: str) -> None:
        self.field = field
        self.problem = problem
        self.allowed = allowed
        super().__init__(f"{field}: {problem}; allowed: {allowed}")


@dataclass(frozen=True, kw_only=True)
class LogSpec:
    """Checked fields of new logs; ``status_code`` and ``failed`` already resolved."""

    status_code: int | None
    failed: bool
    error: str | None = None
    body: str | None = None
    created_at: datetime | None = None
    method: str | None = None
    full_url: str | None = None
    exception_type: str | None = None
    protected: bool | None = None
    job_id: str | None = None
    attempt: int | None = None
    processing_time: float | None = None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _status(value: object) -> bool:
    number = _int(value)
    return value is None or (number is not None and 100 <= number <= 599)


def _text(value: object) -> bool:
    return isinstance(value, str)


def _flag(value: object) -> bool:
    return isinstance(value, bool)


def _attempt(value: object) -> bool:
    number = _int(value)
    return number is not None and number >= 1


def _seconds(value: object) -> bool:
    number = value if isinstance(value, float) else _int(value)
    return number is not None and 0 <= number < 1e9


def _method(value: object) -> bool:
    return value in _METHODS


def _url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def _time(value: object) -> bool:
    return parse_time(value) is not None


_BOTH: tuple[Provider, ...] = ("sendcloud", "elasticpath")
_FIELDS: Mapping[str, tuple[tuple[Provider, ...], Callable[[object], bool], str]] = {
    "status_code": (_BOTH, _status, "an HTTP status from 100 to 599, or null for no response"),
    "failed": (_BOTH, _flag, "true or false"),
    "error": (_BOTH, _text, "a string"),
    "body": (_BOTH, _text, "a string"),
    "created_at": (
        _BOTH,
        _time,
        "an ISO 8601 time with an offset, e.g. 2024-06-01T12:00:00Z (or an aware datetime)",
    ),
    "method": (("sendcloud",), _method, ", ".join(_METHODS)),
    "full_url": (("sendcloud",), _url, "an http:// or https:// URL"),
    "exception_type": (("sendcloud",), _text, "a string, e.g. requests.exceptions.HTTPError"),
    "protected": (("sendcloud",), _flag, "true or false"),
    "job_id": (("elasticpath",), _text, "the id of a job of the integration"),
    "attempt": (("elasticpath",), _attempt, "an integer >= 1"),
    "processing_time": (("elasticpath",), _seconds, "seconds, a number >= 0"),
}


def field_names(provider: Provider) -> list[str]:
    """The fields new logs of ``provider`` take, in documentation order."""
    return [name for name, (providers, _, _) in _FIELDS.items() if provider in providers]


def parse_time(value: object) -> datetime | None:
    """An aware datetime from a datetime or an ISO 8601 string with an offset, else None."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value
    return None


def parse_log_fields(provider: Provider, fields: Mapping[str, Any]) -> LogSpec | None:
    """Check ``fields`` for new logs of ``provider``; None when there are none."""
    if not fields:
        return None
    allowed_names = ", ".join(field_names(provider))
    own = _PROVIDER_NAMES[provider]
    for name, value in fields.items():
        rule = _FIELDS.get(name)
        if rule is None:
            raise LogFieldError(name, "unknown field", f"{own} logs take {allowed_names}")
        providers, check, allowed = rule
        if provider not in providers:
            other = _PROVIDER_NAMES[providers[0]]
            problem = f"only {other} logs have it"
            raise LogFieldError(name, problem, f"{own} logs take {allowed_names}")
        if not check(value):
            raise LogFieldError(name, f"{value!r} is not allowed", allowed)
    given = dict(fields)
    if "status_code" in given:
        status: int | None = given.pop("status_code")
        failed = given.pop("failed", status is None or not 200 <= status < 300)
    else:
        failed = given.pop("failed", True)
        status = 500 if failed else 200
    if not failed:
        for name in ("error", "exception_type"):
            if given.get(name) is not None:
                raise LogFieldError(
                    name, "a log that did not fail has none", "leave it out, or set failed true"
                )
    if status is None and given.get("body") is not None:
        raise LogFieldError("body", "there is no response (status_code null)", "a status_code")
    given["created_at"] = parse_time(given["created_at"]) if "created_at" in given else None
    return LogSpec(status_code=status, failed=failed, **given)


def integration_key(provider: Provider, value: object) -> int | str:
    """An integration id of ``provider`` from an API value (Sendcloud: int, Elastic Path: str)."""
    if provider == "sendcloud":
        number = _int(value)
        if number is not None:
            return number
        if isinstance(value, str) and value.isascii() and value.isdigit():
            return int(value)
        raise LogFieldError("integration_id", f"{value!r} is not allowed", "a Sendcloud id (int)")
    if isinstance(value, str) and value:
        return value
    raise LogFieldError("integration_id", f"{value!r} is not allowed", "an Elastic Path id")


def reason(status: int) -> str:
    """The reason phrase of an HTTP status ("Error" for codes without one)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
