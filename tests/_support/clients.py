"""Client settings for tests, and clients pointed at an emulator with them."""

from __future__ import annotations

from typing import Any, Literal, overload

from integration_logs_async import ElasticPathClient, SendcloudClient
from integration_logs_async.emulator import Emulator

__all__ = ["FAST", "RESILIENT", "Client", "client_for", "elasticpath", "sendcloud"]

FAST: dict[str, Any] = {
    "rate_limit": 0,
    "backoff_initial": 0.001,
    "backoff_max": 0.005,
    "default_429_pause": 0.001,
    "request_deadline": 60.0,
    "read_timeout": 10.0,
}
"""No pacing and millisecond backoffs (retries are nearly free); a hung request fails the test
within a minute. Tests about pacing, deadlines or timeouts set those themselves."""

RESILIENT: dict[str, Any] = {**FAST, "max_attempts": 15}
"""FAST plus enough attempts to ride out injected faults."""

Client = SendcloudClient | ElasticPathClient
"""Either provider's client."""


def sendcloud(emu: Emulator, *, oauth: bool = False, **settings: Any) -> SendcloudClient:
    """A Sendcloud client for ``emu`` (HTTP Basic, or OAuth2 with ``oauth=True``) with FAST
    settings (``settings`` override them)."""
    return emu.sendcloud_client(oauth=oauth, **{**FAST, **settings})


def elasticpath(emu: Emulator, **settings: Any) -> ElasticPathClient:
    """An Elastic Path client for ``emu`` with FAST settings (``settings`` override them)."""
    return emu.elasticpath_client(**{**FAST, **settings})


@overload
def client_for(
    emu: Emulator, provider: Literal["sendcloud"], **settings: Any
) -> SendcloudClient: ...
@overload
def client_for(
    emu: Emulator, provider: Literal["elasticpath"], **settings: Any
) -> ElasticPathClient: ...
@overload
def client_for(emu: Emulator, provider: str, **settings: Any) -> Client: ...
def client_for(emu: Emulator, provider: str, **settings: Any) -> Client:
    """The client of ``provider`` (``"sendcloud"`` or ``"elasticpath"``) for ``emu``."""
    if provider == "sendcloud":
        return sendcloud(emu, **settings)
    return elasticpath(emu, **settings)
