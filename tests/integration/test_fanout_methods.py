"""The fan-out methods over the emulator: the record sets are exactly the store's.

(Deep fan-out behaviour, failures and the harvest job have their own suites; here each method
is checked end to end for correctness of what it yields.)
"""

from __future__ import annotations

from collections import Counter

import pytest

from integration_logs_async.emulator import Emulator

from .._support.clients import elasticpath, sendcloud

pytestmark = pytest.mark.emulator(seed=31, integrations=6, jobs_per_integration=3, logs=1500)


def by_source(emu: Emulator) -> dict[str, list[str]]:
    """Sendcloud log ids per integration, newest first."""
    return {
        str(i): [str(x) for x in emu.store.sendcloud_logs_for(i).ids()]
        for i in emu.store.sendcloud_integration_ids
    }


@pytest.mark.parametrize("oauth", [False, True], ids=["basic", "oauth2"])
async def test_sendcloud_logs_for_integrations(emulator: Emulator, oauth: bool) -> None:
    expected = by_source(emulator)
    async with sendcloud(emulator, oauth=oauth) as client:
        fanout = client.logs_for_integrations(concurrency=3, page_size=50)
        logs = [log async for log in fanout]
    ids = [str(log.id) for log in logs]
    assert Counter(ids) == Counter(str(i) for i in emulator.store.sendcloud_logs.ids())
    for integration_id, own in expected.items():  # each child's order is kept
        assert [str(log.id) for log in logs if str(log.integration_id) == integration_id] == own


async def test_sendcloud_logs_for_chosen_integrations(emulator: Emulator) -> None:
    chosen = emulator.store.sendcloud_integration_ids[1:4]
    expected = by_source(emulator)
    async with sendcloud(emulator) as client:
        raw = await client.logs_for_integrations(chosen, concurrency=2).raw().collect()
    assert Counter(r.id for r in raw) == Counter(i for c in chosen for i in expected[str(c)])
    by_id = {r.id: r.raw for r in raw}
    for log_id, data in by_id.items():
        assert data == emulator.store.sendcloud_log(int(log_id))
    # listing integrations was not needed: only the chosen ones were read
    assert not any(r.path.endswith("/integrations") for r in emulator.requests)


async def test_elasticpath_logs_for_integrations(emulator: Emulator) -> None:
    store = emulator.store
    async with elasticpath(emulator) as client:
        pages = [page async for page in client.logs_for_integrations(concurrency=4).pages()]
    got: dict[str, list[str]] = {}
    for sourced in pages:
        assert sourced.source.integration_id is not None
        got.setdefault(sourced.source.integration_id, []).extend(
            log.id for log in sourced.page.items
        )
    assert got == {
        i: store.elasticpath_logs_for(i).ids() for i in store.elasticpath_integration_ids
    }
    flat = [log_id for ids in got.values() for log_id in ids]
    assert sorted(flat) == sorted(str(i) for i in store.elasticpath_logs.ids())


async def test_elasticpath_logs_by_job(emulator: Emulator) -> None:
    store = emulator.store
    expected = {
        (i, j): [str(x) for x in store.elasticpath_logs_for(i, j).ids()]
        for i in store.elasticpath_integration_ids
        for j in store.jobs(i)
    }
    async with elasticpath(emulator, prefetch_pages=2) as client:
        fanout = client.logs_by_job(concurrency=5, page_size=20)
        got: dict[tuple[str, str], list[str]] = {}
        async for sourced in fanout.pages():
            key = (sourced.source.integration_id or "", sourced.source.job_id or "")
            got.setdefault(key, []).extend(log.id for log in sourced.page.items)
            assert all((log.integration_id, log.job_id) == key for log in sourced.page.items)
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in expected.items() if v}
    total = sum(len(v) for v in got.values())
    assert total == len(store.elasticpath_logs)


async def test_elasticpath_logs_by_job_of_one_integration(emulator: Emulator) -> None:
    store = emulator.store
    integration_id = store.elasticpath_integration_ids[2]
    async with elasticpath(emulator) as client:
        logs = await client.logs_by_job(integration_id, concurrency=3).collect()
    assert sorted(log.id for log in logs) == sorted(
        str(x) for x in store.elasticpath_logs_for(integration_id).ids()
    )
    assert {log.integration_id for log in logs} == {integration_id}
