"""Helpers of the integration suite: clients pointed at a running emulator, and store views.

Every test here talks HTTP to the built-in emulator on 127.0.0.1 (no aioresponses). Clients
are built with pacing off (``rate_limit=0``) and tiny backoffs so that the suite stays fast;
tests about pacing set ``rate_limit`` themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from integration_logs_async import (
    AsyncStream,
    ElasticPathClient,
    RawRecord,
    SendcloudClient,
)
from integration_logs_async.emulator import Emulator, Provider

FAST: dict[str, Any] = {
    "rate_limit": 0,
    "backoff_initial": 0.01,
    "backoff_max": 0.05,
    "default_429_pause": 0.01,
    "request_deadline": 60.0,
    "read_timeout": 10.0,
}
"""Client settings for speed: no pacing, millisecond backoffs."""

RESILIENT: dict[str, Any] = {**FAST, "max_attempts": 15}
"""FAST plus enough attempts to ride out injected faults."""


def sendcloud(emu: Emulator, *, oauth: bool = False, **settings: Any) -> SendcloudClient:
    """A Sendcloud client for ``emu`` with FAST settings (``settings`` override them)."""
    return emu.sendcloud_client(oauth=oauth, **{**FAST, **settings})


def elasticpath(emu: Emulator, **settings: Any) -> ElasticPathClient:
    """An Elastic Path client for ``emu`` with FAST settings (``settings`` override them)."""
    return emu.elasticpath_client(**{**FAST, **settings})


def client_for(emu: Emulator, provider: Provider, **settings: Any) -> Any:
    """A client of ``provider`` for ``emu``."""
    return sendcloud(emu, **settings) if provider == "sendcloud" else elasticpath(emu, **settings)


def store_ids(emu: Emulator, provider: Provider) -> list[str]:
    """Ids of every log of ``provider``, newest first, as strings."""
    return [str(i) for i in emu.store.logs(provider).ids()]


def store_raw(emu: Emulator, provider: Provider) -> list[bytes]:
    """The exact JSON bytes of every log of ``provider``, newest first."""
    return list(emu.store.logs(provider))


def assert_exactly(got: Sequence[str], expected: Sequence[str]) -> None:
    """``got`` holds every id of ``expected`` once and nothing else (order checked too)."""
    dupes = len(got) - len(set(got))
    assert dupes == 0, f"{dupes} duplicate record(s)"
    missing = set(expected) - set(got)
    extra = set(got) - set(expected)
    assert not missing and not extra, f"{len(missing)} missing, {len(extra)} unexpected"
    assert list(got) == list(expected)


async def take_raw(stream: AsyncStream[RawRecord], count: int) -> tuple[list[RawRecord], str]:
    """Consume exactly ``count`` records of ``stream``; the records and the checkpoint after."""
    taken: list[RawRecord] = []
    if count:
        async for record in stream:
            taken.append(record)
            if len(taken) == count:
                break
    checkpoint = stream.checkpoint
    await stream.aclose()
    return taken, checkpoint
