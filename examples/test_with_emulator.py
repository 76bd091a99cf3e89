"""Test your own code against the built-in emulator, with the library's pytest plugin.

``failures_per_integration`` stands for your code: it takes a client and counts failed
Elastic Path logs per integration. In production you pass it a client for your account
(``ElasticPathClient(ClientCredentials(id, secret), base_url=...)``); its tests below pass
one connected to the emulator instead, so they need no account, no network and no mocks:

- the ``emulator`` fixture: a started emulator (3 integrations, 120 logs per provider),
  stopped after the test; ``emulator.elasticpath_client()`` is a client connected to it;
- the ``@pytest.mark.emulator(...)`` marker: that test's emulator configuration (any
  ``EmulatorConfig`` field, e.g. ``logs=0``), and ``emulator.add_logs(...)`` for known data;
- fault injection (``faults=``): a 429 and a 500 the code must survive, and a server that
  keeps failing, which it must report.

Run it (installing the package registers the plugin; pytest-asyncio 1.0 or newer runs the
async fixtures)::

    pip install integration-logs-async pytest 'pytest-asyncio>=1.0'
    pytest examples/test_with_emulator.py

pytest-asyncio settings: ``pytestmark = pytest.mark.asyncio`` below marks every test, which
its default *strict* mode needs. With ``asyncio_mode = "auto"`` in your pytest configuration
the mark is unnecessary (and harmless).
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from integration_logs_async import ElasticPathClient, ServerError
from integration_logs_async.emulator import Emulator

pytestmark = pytest.mark.asyncio


async def failures_per_integration(client: ElasticPathClient) -> Counter[str]:
    """Your code: the number of failed logs per integration id, over the whole account."""
    counts: Counter[str] = Counter()
    async for log in client.logs():
        if not log.succeeded:
            counts[log.integration_id or "unknown"] += 1
    return counts


@pytest.mark.emulator(logs=0, integrations=2)  # a store with no logs: the test adds them
async def test_counts_the_failures_it_is_given(emulator: Emulator) -> None:
    shop, crm = emulator.store.elasticpath_integration_ids
    emulator.add_logs("elasticpath", 3, shop, status_code=502, error="bad gateway")
    emulator.add_logs("elasticpath", 1, crm, status_code=None)  # no response at all
    emulator.add_logs("elasticpath", 4, crm, status_code=200)  # succeeded: not counted
    async with emulator.elasticpath_client() as client:
        assert await failures_per_integration(client) == {shop: 3, crm: 1}


async def test_matches_the_emulators_store(emulator: Emulator) -> None:
    expected: Counter[str] = Counter()
    for raw in emulator.store.elasticpath_logs:  # the exact bytes the emulator serves
        record = json.loads(raw)
        if not record["succeeded"]:
            expected[record["relationships"]["integration"]["data"]["id"]] += 1
    async with emulator.elasticpath_client() as client:
        assert await failures_per_integration(client) == expected
    assert sum(expected.values()) > 0


# The first data request answers 429, its retry 500: the client retries both.
@pytest.mark.emulator(logs=50, faults={1: "rate_limited", 2: "server_error"})
async def test_survives_a_429_and_a_500(emulator: Emulator) -> None:
    async with emulator.elasticpath_client() as client:
        counts = await failures_per_integration(client)
    assert [(r.fault, r.status) for r in emulator.requests if r.fault] == [
        ("rate_limited", 429),
        ("server_error", 500),
    ]
    failed = sum(not json.loads(raw)["succeeded"] for raw in emulator.store.elasticpath_logs)
    assert sum(counts.values()) == failed


@pytest.mark.emulator(faults={"server_error": 1.0})  # every data request fails
async def test_reports_a_server_that_keeps_failing(emulator: Emulator) -> None:
    async with emulator.elasticpath_client(max_attempts=2, backoff_initial=0.01) as client:
        with pytest.raises(ServerError):
            await failures_per_integration(client)
