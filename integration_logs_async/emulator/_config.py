"""Emulator configuration: the synthetic data, the API behaviour and the credentials."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict

from ._faults import FaultConfig

Provider = Literal["sendcloud", "elasticpath"]
"""The two emulated providers."""

PROVIDERS: tuple[Provider, ...] = ("sendcloud", "elasticpath")

MetaStyle = Literal["flat", "nested"]
"""Elastic Path ``meta`` layout: ``flat`` (``meta.limit`` ... plus top-level ``results``)
or ``nested`` (``meta.page.limit`` ... and ``meta.results``); both are documented."""


@dataclass(frozen=True, kw_only=True)
class EmulatorConfig:
    """Everything that shapes one emulator instance.

    The store holds ``integrations`` integrations per provider and ``logs`` logs per
    provider (``sendcloud_logs`` / ``elasticpath_logs`` override it per provider),
    spread over ``time_span_days`` days ending at ``end_time``.  The same ``seed``
    gives byte-identical responses.
    """

    seed: int = 0
    integrations: int = 5
    jobs_per_integration: int = 3
    logs: int = 500
    sendcloud_logs: int | None = None
    elasticpath_logs: int | None = None
    protected_ratio: float = 0.05
    end_time: datetime = datetime(2024, 6, 1, tzinfo=UTC)
    time_span_days: float = 30.0

    host: str = "127.0.0.1"
    port: int = 0
    sendcloud_prefix: str = "/api/v2"
    sendcloud_page_size: int = 100
    sendcloud_max_page_size: int = 500
    sendcloud_v3_prefix: str = "/api/v3"
    """Where Sendcloud API v3 is served (the v2 store seen through v3 routes and bodies)."""
    sendcloud_v3_page_size: int = 25
    """v3 ``page_size`` when the client sends none (documented default 25)."""
    sendcloud_v3_max_page_size: int = 100
    """Largest v3 ``page_size``; bigger ones are clamped (documented maximum 100)."""
    ep_page_limit: int = 25
    ep_max_page_limit: int = 100
    ep_offset_ceiling: int | None = None
    ep_meta_style: MetaStyle = "flat"
    ep_token_under_data: bool = False
    token_ttl: float = 3600.0
    rate_limit_rps: int | None = None
    request_log_size: int = 100_000

    arrival_rate: float = 0.0
    """Synthetic logs arriving per second for each of ``arrival_providers`` while the server
    runs (0: none), created "now" and added at the head of every listing."""
    arrival_providers: tuple[Provider, ...] = PROVIDERS
    """The providers logs arrive for (a list is accepted too)."""
    arrival_success_ratio: float = 0.1
    """Share of arriving Elastic Path logs that succeeded (Sendcloud logs are failures)."""

    faults: FaultConfig = field(default_factory=FaultConfig)
    """Faults to inject; a dict in one of the shapes of :meth:`FaultConfig.coerce` is converted."""

    sendcloud_public_key: str = "emu-sendcloud-public-key"
    sendcloud_secret_key: str = "emu-sendcloud-secret-key"
    sendcloud_client_id: str = "emu-sendcloud-client-id"
    sendcloud_client_secret: str = "emu-sendcloud-client-secret"
    epcc_client_id: str = "emu-epcc-client-id"
    epcc_client_secret: str = "emu-epcc-client-secret"

    def __post_init__(self) -> None:
        if not isinstance(self.faults, FaultConfig):  # a dict of rates or a schedule
            object.__setattr__(self, "faults", FaultConfig.coerce(self.faults))
        counts = (self.logs, self.sendcloud_logs or 0, self.elasticpath_logs or 0)
        if self.integrations < 1 or self.jobs_per_integration < 1 or min(counts) < 0:
            raise ValueError("need at least one integration and job, and no negative counts")
        if not isinstance(self.arrival_providers, tuple):
            object.__setattr__(self, "arrival_providers", tuple(self.arrival_providers))
        rate = self.arrival_rate
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise ValueError(f"arrival_rate {rate!r} is not a number (logs per second)")
        if not rate >= 0 or rate == float("inf"):
            raise ValueError("arrival_rate must be a finite number >= 0 (logs per second)")
        if not set(self.arrival_providers) <= set(PROVIDERS):
            raise ValueError("arrival_providers must name sendcloud and/or elasticpath")
        if not 0.0 <= self.arrival_success_ratio <= 1.0:
            raise ValueError("arrival_success_ratio must be between 0 and 1")
        if not 0.0 <= self.protected_ratio <= 1.0:
            raise ValueError("protected_ratio must be between 0 and 1")
        if self.time_span_days <= 0 or self.end_time.tzinfo is None:
            raise ValueError("time_span_days must be positive and end_time timezone-aware")
        prefix = self.sendcloud_prefix
        if not prefix.startswith("/") or prefix.endswith("/") or _clashes(prefix):
            raise ValueError(f"bad sendcloud_prefix {prefix!r}")
        if not 1 <= self.sendcloud_page_size <= self.sendcloud_max_page_size:
            raise ValueError("need 1 <= sendcloud_page_size <= sendcloud_max_page_size")
        v3 = self.sendcloud_v3_prefix
        if not v3.startswith("/") or v3.endswith("/") or _clashes(v3) or _nested(v3, prefix):
            raise ValueError(f"bad sendcloud_v3_prefix {v3!r} (must not nest with {prefix!r})")
        if not 1 <= self.sendcloud_v3_page_size <= self.sendcloud_v3_max_page_size:
            raise ValueError("need 1 <= sendcloud_v3_page_size <= sendcloud_v3_max_page_size")
        if not 1 <= self.ep_page_limit <= self.ep_max_page_limit:
            raise ValueError("need 1 <= ep_page_limit <= ep_max_page_limit")
        if self.ep_meta_style not in ("flat", "nested"):
            raise ValueError("ep_meta_style must be 'flat' or 'nested'")
        if self.token_ttl <= 0 or (self.rate_limit_rps is not None and self.rate_limit_rps < 1):
            raise ValueError("token_ttl must be positive and rate_limit_rps at least 1")

    def is_sendcloud_v3(self, path: str) -> bool:
        """Whether ``path`` is under :attr:`sendcloud_v3_prefix`."""
        return _under(path, self.sendcloud_v3_prefix)

    @property
    def sendcloud_log_count(self) -> int:
        """Initial number of Sendcloud logs."""
        return self.logs if self.sendcloud_logs is None else self.sendcloud_logs

    @property
    def elasticpath_log_count(self) -> int:
        """Initial number of Elastic Path logs."""
        return self.logs if self.elasticpath_logs is None else self.elasticpath_logs


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def _nested(one: str, other: str) -> bool:
    """Whether either prefix contains the other (paths would be ambiguous)."""
    return _under(one, other) or _under(other, one)


def _clashes(prefix: str) -> bool:
    reserved = ("/v2", "/oauth", "/oauth2", "/_emulator")
    return prefix == "" or any(prefix == r or prefix.startswith(r + "/") for r in reserved)


class EmulatorOptions(TypedDict, total=False):
    """Keyword shortcuts accepted by ``Emulator(**options)``: any :class:`EmulatorConfig` field.

    Kept in step with :class:`EmulatorConfig` (a test checks the two name the same fields).
    """

    seed: int
    integrations: int
    jobs_per_integration: int
    logs: int
    sendcloud_logs: int | None
    elasticpath_logs: int | None
    protected_ratio: float
    end_time: datetime
    time_span_days: float
    host: str
    port: int
    sendcloud_prefix: str
    sendcloud_page_size: int
    sendcloud_max_page_size: int
    sendcloud_v3_prefix: str
    sendcloud_v3_page_size: int
    sendcloud_v3_max_page_size: int
    ep_page_limit: int
    ep_max_page_limit: int
    ep_offset_ceiling: int | None
    ep_meta_style: MetaStyle
    ep_token_under_data: bool
    token_ttl: float
    rate_limit_rps: int | None
    request_log_size: int
    arrival_rate: float
    arrival_providers: tuple[Provider, ...]
    arrival_success_ratio: float
    faults: FaultConfig | Mapping[Any, Any]
    sendcloud_public_key: str
    sendcloud_secret_key: str
    sendcloud_client_id: str
    sendcloud_client_secret: str
    epcc_client_id: str
    epcc_client_secret: str
