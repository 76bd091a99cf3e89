"""All settings of a client in one frozen object."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, TypeAlias, TypedDict

from . import _constants as C
from .events import TransportEvent  # at run time too: typing.get_type_hints resolves the fields

__all__ = ["ClientConfig", "ClientSettings", "StatusCodes"]

StatusCodes: TypeAlias = AbstractSet[int] | Sequence[int]
"""HTTP status codes as a set, list or tuple, e.g. ``{429, 503}``; stored as a ``frozenset``."""


class _StatusCodeSet:
    """Field descriptor: accepts :data:`StatusCodes`, validates, and stores a ``frozenset``.

    A descriptor-typed dataclass field, so the constructor (and ``dataclasses.replace``)
    accept any set or sequence of codes while reading the attribute gives a ``frozenset``.
    """

    def __init__(self, default: frozenset[int]) -> None:
        self._default = default
        self._name = "status codes"
        self._slot = "_status_codes_frozen"

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name
        self._slot = f"_{name}_frozen"

    def __get__(self, obj: object | None, owner: Any) -> frozenset[int]:
        if obj is None:  # the dataclass asks the class for the field's default
            return self._default
        codes: frozenset[int] = obj.__dict__[self._slot]
        return codes

    def __set__(self, obj: object, value: StatusCodes) -> None:
        is_collection = isinstance(value, AbstractSet | Sequence) and not isinstance(
            value, str | bytes | bytearray
        )
        if not is_collection or not all(
            isinstance(code, int) and not isinstance(code, bool) and 100 <= code <= 599
            for code in value
        ):
            raise ValueError(
                f"{self._name} must be a set of HTTP status codes (100-599), e.g. "
                f"{{429, 503}}, got {value!r}"
            )
        obj.__dict__[self._slot] = frozenset(value)


@dataclass(frozen=True, kw_only=True)
class ClientConfig:
    """Every tunable of a client. Defaults come from ``integration_logs_async._constants``.

    ``rate_limit`` is ``None`` to take the provider's documented default; pass a number of
    requests per second to override, or ``0`` to disable client-side pacing.
    ``retryable_statuses`` accepts any set, list or tuple of codes (:data:`StatusCodes`) and is
    stored as a ``frozenset[int]``.
    """

    connect_timeout: float = C.CONNECT_TIMEOUT
    read_timeout: float = C.READ_TIMEOUT
    request_deadline: float = C.REQUEST_DEADLINE
    max_connections: int = C.MAX_CONNECTIONS
    max_response_bytes: int = C.MAX_RESPONSE_BYTES
    max_attempts: int = C.MAX_ATTEMPTS
    backoff_initial: float = C.BACKOFF_INITIAL
    backoff_max: float = C.BACKOFF_MAX
    retry_after_cap: float = C.RETRY_AFTER_CAP
    retryable_statuses: _StatusCodeSet = _StatusCodeSet(C.RETRYABLE_STATUSES)
    retry_decode_errors: bool = True
    default_429_pause: float = C.DEFAULT_429_PAUSE
    rate_limit: float | None = None
    rate_limit_burst: int = 1
    token_refresh_margin: float = C.TOKEN_REFRESH_MARGIN
    prefetch_pages: int = C.PREFETCH_PAGES
    allow_insecure_http: bool = False
    verify_ssl: bool = True
    user_agent: str = C.USER_AGENT
    on_event: Callable[[TransportEvent], None] | None = None

    def __post_init__(self) -> None:
        positive = {
            "connect_timeout": self.connect_timeout,
            "read_timeout": self.read_timeout,
            "request_deadline": self.request_deadline,
            "backoff_initial": self.backoff_initial,
            "backoff_max": self.backoff_max,
        }
        for name, value in positive.items():
            if not _is_number(value) or not value > 0:  # NaN fails both comparisons
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        at_least_one = {
            "max_connections": self.max_connections,
            "max_response_bytes": self.max_response_bytes,
            "max_attempts": self.max_attempts,
            "rate_limit_burst": self.rate_limit_burst,
        }
        for name, count in at_least_one.items():
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {count!r}")
        non_negative = {
            "retry_after_cap": self.retry_after_cap,
            "token_refresh_margin": self.token_refresh_margin,
            "default_429_pause": self.default_429_pause,
        }
        for name, value in non_negative.items():
            if not _is_number(value) or not value >= 0:
                raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
        if self.rate_limit is not None and (
            not _is_number(self.rate_limit) or not self.rate_limit >= 0
        ):
            raise ValueError(
                f"rate_limit must be >= 0 requests/s (0 disables pacing), got {self.rate_limit!r}"
            )
        if (
            isinstance(self.prefetch_pages, bool)
            or not isinstance(self.prefetch_pages, int)
            or self.prefetch_pages < 0
        ):
            raise ValueError(f"prefetch_pages must be an integer >= 0, got {self.prefetch_pages!r}")
        for name in ("retry_decode_errors", "allow_insecure_http", "verify_ssl"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        agent = self.user_agent
        if not isinstance(agent, str) or not agent.strip() or not agent.isprintable():
            raise ValueError(
                "user_agent must be a non-empty string of printable characters (no line "
                f"breaks), got {agent!r}"
            )
        if self.on_event is not None and not callable(self.on_event):
            raise ValueError(f"on_event must be a callable or None, got {self.on_event!r}")

    def with_settings(self, settings: ClientSettings) -> ClientConfig:
        """A copy with ``settings`` applied; unknown names raise ``ValueError``."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown}; allowed: {sorted(known)}")
        return dataclasses.replace(self, **settings)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class ClientSettings(TypedDict, total=False):
    """Keyword overrides accepted by the clients; see :class:`ClientConfig`.

    One key per :class:`ClientConfig` field, of the type its constructor accepts. Written out
    by hand because type checkers need a literal ``TypedDict`` to check ``**settings``
    (``Unpack[ClientSettings]``); ``tests/unit/test_config_validation.py`` keeps the two in step.
    """

    connect_timeout: float
    read_timeout: float
    request_deadline: float
    max_connections: int
    max_response_bytes: int
    max_attempts: int
    backoff_initial: float
    backoff_max: float
    retry_after_cap: float
    retryable_statuses: StatusCodes
    retry_decode_errors: bool
    default_429_pause: float
    rate_limit: float | None
    rate_limit_burst: int
    token_refresh_margin: float
    prefetch_pages: int
    allow_insecure_http: bool
    verify_ssl: bool
    user_agent: str
    on_event: Callable[[TransportEvent], None] | None
