"""Chaos: harvest a 20,000-record store through the emulator with every fault class on at a
high rate, one class at a time and then all at once.

The outcome must always be the store exactly once, byte for byte: either in one run, or,
when a request ran out of attempts, after typed errors each followed by a rerun that resumes
from the state file. Never a silently short result, never an untyped exception.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from integration_logs_async.emulator import FaultConfig, Provider
from integration_logs_async.harvest import HarvestOptions, Scope
from integration_logs_async.testing import EmulatorFactory

from .._support.clients import client_for, sendcloud
from ._helpers import assert_exactly_the_store, default_scope, harvest_until_complete

RECORDS = 20_000
TOKEN_TTL = 0.5
STORE: dict[str, Any] = {
    "seed": 11,
    "integrations": 8,
    "jobs_per_integration": 4,
    "logs": RECORDS,
    "ep_page_limit": 100,
}


def burst(first: int, length: int, kinds: list[str]) -> dict[int, str]:
    """``length`` consecutive faulted requests from request number ``first`` on."""
    return {first + i: kinds[i % len(kinds)] for i in range(length)}


_5XX_JSON = ["server_error", "bad_gateway", "service_unavailable", "gateway_timeout"]
_5XX_HTML = [k + "_html" for k in _5XX_JSON]

# Fault class -> (fault settings, emulator settings, client settings). Rates are per request.
CLASSES: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {
    "5xx-json": (
        {
            "rates": dict.fromkeys(_5XX_JSON, 0.08),
            "schedule": burst(60, 40, _5XX_JSON),  # 40 failures in a row
        },
        {},
        {},
    ),
    "5xx-html": (
        {"rates": dict.fromkeys(_5XX_HTML, 0.08), "schedule": burst(60, 40, _5XX_HTML)},
        {},
        {},
    ),
    "429-retry-after": ({"rates": {"rate_limited": 0.35}, "retry_after_seconds": 0}, {}, {}),
    "429-no-retry-after": ({"rates": {"rate_limited_no_retry_after": 0.35}}, {}, {}),
    # Tokens live TOKEN_TTL on the server but are announced as 1 s (expires_in is whole
    # seconds), so they expire while the client still trusts them: every expiry goes through
    # 401, refresh and replay, under fan-out. Latency stretches the run over several tokens.
    "token-expiry": (
        {"rates": {"latency": 1.0}, "latency_seconds": 0.01, "latency_jitter_seconds": 0.02},
        {"token_ttl": TOKEN_TTL},
        {"oauth": True, "page_size": 50},
    ),
    # A third of the requests stall 0.3 s, six times the client's read timeout.
    "slow-beyond-read-timeout": (
        {"rates": {"slow": 0.3}, "slow_seconds": 0.3},
        {},
        {"read_timeout": 0.05},
    ),
    "reset-mid-body": ({"rates": {"reset": 0.35}}, {}, {}),
    "truncated-body": ({"rates": {"truncated": 0.35}}, {}, {}),
}


async def _chaos(
    emulator_factory: EmulatorFactory,
    tmp_path: Path,
    provider: Provider,
    scope: Scope,
    label: str,
    faults: dict[str, Any],
    emulator: dict[str, Any],
    settings: dict[str, Any],
) -> None:
    other = "sendcloud_logs" if provider == "elasticpath" else "elasticpath_logs"
    emu = await emulator_factory(
        **{**STORE, other: 10, **emulator},
        faults=FaultConfig(seed=5, **faults),
    )
    settings = dict(settings)
    page_size = settings.pop("page_size", None)
    oauth = settings.pop("oauth", False)
    if provider == "sendcloud":
        client: Any = sendcloud(emu, oauth=oauth, **settings)
    else:
        client = client_for(emu, provider, **settings)
    out = tmp_path / "logs.jsonl"
    options = HarvestOptions(
        provider=provider, out=str(out), scope=scope, concurrency=8, page_size=page_size
    )
    async with client:
        outcome = await harvest_until_complete(client, options, max_runs=40)
        records = assert_exactly_the_store(out, emu, provider)
        replayed = sum(r.status == 401 for r in emu.requests)
        print(outcome.line(f"{label} {provider}/{scope}", client, records), f"401s {replayed}")
    assert records >= RECORDS
    assert outcome.result.records_in_file == records
    data = [r for r in emu.requests if r.category == "data"]
    assert sum(r.fault is not None for r in data) >= 0.2 * len(data) or label == "token-expiry"
    if label.startswith("429"):
        assert client.stats.rate_limited >= 50
    tokens = [r for r in emu.requests if r.category == "token"]
    if tokens and emulator.get("token_ttl"):
        elapsed = data[-1].finished - tokens[0].started
        # One token request per expiry, never two for the same one.
        assert len(tokens) <= elapsed / TOKEN_TTL + 2, (len(tokens), elapsed)
        gaps = [b.started - a.started for a, b in itertools.pairwise(tokens)]
        assert all(gap > TOKEN_TTL * 0.6 for gap in gaps), gaps
        if label == "token-expiry":
            assert len(tokens) >= 3, "the run should outlive several tokens"


@pytest.mark.parametrize("provider", ["elasticpath", "sendcloud"])
@pytest.mark.parametrize("label", list(CLASSES))
async def test_each_fault_class_at_a_high_rate(
    emulator_factory: EmulatorFactory, tmp_path: Path, provider: Provider, label: str
) -> None:
    faults, emulator, settings = CLASSES[label]
    await _chaos(
        emulator_factory,
        tmp_path,
        provider,
        default_scope(provider),
        label,
        faults,
        emulator,
        settings,
    )


ALL_AT_ONCE: dict[str, Any] = {
    "rates": {
        "server_error": 0.05,
        "bad_gateway_html": 0.05,
        "service_unavailable": 0.04,
        "gateway_timeout_html": 0.04,
        "rate_limited": 0.05,
        "rate_limited_no_retry_after": 0.05,
        "reset": 0.05,
        "truncated": 0.05,
        "slow": 0.04,
        "latency": 0.3,
    },
    "schedule": burst(40, 24, [*_5XX_JSON, *_5XX_HTML]),
    "retry_after_seconds": 0,
    "slow_seconds": 0.3,
    "latency_seconds": 0.002,
    "latency_jitter_seconds": 0.008,
}


@pytest.mark.parametrize(
    ("provider", "scope", "oauth"),
    [
        ("elasticpath", "jobs", True),
        ("elasticpath", "all", True),
        ("sendcloud", "integrations", True),
        ("sendcloud", "all", False),
    ],
)
async def test_every_fault_class_at_once(
    emulator_factory: EmulatorFactory, tmp_path: Path, provider: Provider, scope: Scope, oauth: bool
) -> None:
    await _chaos(
        emulator_factory,
        tmp_path,
        provider,
        scope,
        "all-at-once",
        ALL_AT_ONCE,
        {"token_ttl": TOKEN_TTL},
        {"read_timeout": 0.05, "oauth": oauth},
    )
