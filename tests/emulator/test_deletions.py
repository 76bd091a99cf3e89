"""``Emulator.delete_logs`` and ``POST /_emulator/logs/delete``: deleted logs vanish from every
listing of their provider (Sendcloud v2 and v3 keyset listings, Elastic Path offset listings),
also while a client walks a listing page by page."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from integration_logs_async import PaginationError
from integration_logs_async.emulator import Emulator, EmulatorConfig, LogFieldError, Store

from .._support.clients import FAST
from ._helpers import ep_headers, get

pytestmark = pytest.mark.emulator(integrations=3, jobs_per_integration=2, logs=120)


def _pick(ids: list[Any]) -> list[Any]:
    """Newest, oldest, a page boundary (10th, 11th) and a middle id of a newest-first list."""
    return [ids[0], ids[9], ids[10], ids[len(ids) // 2], ids[-1]]


async def _sendcloud_ids(emu: Emulator, v3: bool, integration: int | None = None) -> list[int]:
    client = emu.sendcloud_v3_client(**FAST) if v3 else emu.sendcloud_client(**FAST)
    async with client:
        stream = (
            client.logs(page_size=10)
            if integration is None
            else client.integration_logs(integration, page_size=10)
        )
        return [int(record.id) async for record in stream]


async def _ep_ids(
    emu: Emulator, integration: str | None = None, job: str | None = None
) -> list[str]:
    async with emu.elasticpath_client(**FAST) as client:
        if integration is None:
            stream = client.logs(page_size=10)
        elif job is None:
            stream = client.integration_logs(integration, page_size=10)
        else:
            stream = client.job_logs(integration, job, page_size=10)
        return [record.id async for record in stream]


async def test_sendcloud_deletion_reaches_every_v2_and_v3_listing(emulator: Emulator) -> None:
    store = emulator.store
    before = [int(i) for i in store.sendcloud_logs.ids()]
    owners = store.sendcloud_integration_ids
    per_owner = {o: [int(i) for i in store.sendcloud_logs_for(o).ids()] for o in owners}
    doomed = _pick(before) + _pick(per_owner[owners[1]])
    doomed = list(dict.fromkeys(doomed))

    assert emulator.delete_logs("sendcloud", doomed) == len(doomed)

    expected = [i for i in before if i not in doomed]
    assert store.log_count("sendcloud") == len(expected)
    for v3 in (False, True):
        assert await _sendcloud_ids(emulator, v3) == expected
        for owner in owners:
            listed = await _sendcloud_ids(emulator, v3, owner)
            assert listed == [i for i in per_owner[owner] if i not in doomed]
    for log_id in doomed:
        with pytest.raises(KeyError, match=str(log_id)):
            store.sendcloud_log(log_id)


async def test_elasticpath_deletion_reaches_every_listing(emulator: Emulator) -> None:
    store = emulator.store
    before = [str(i) for i in store.elasticpath_logs.ids()]
    owner = store.elasticpath_integration_ids[0]
    job = store.jobs(owner)[0]
    in_job = [str(i) for i in store.elasticpath_logs_for(owner, job).ids()]
    doomed = list(dict.fromkeys(_pick(before) + in_job[:2] + in_job[-1:]))

    assert emulator.delete_logs("elasticpath", doomed) == len(doomed)

    assert await _ep_ids(emulator) == [i for i in before if i not in doomed]
    assert store.log_count("elasticpath") == len(before) - len(doomed)
    for integration in store.elasticpath_integration_ids:
        listed = await _ep_ids(emulator, integration)
        owned = [str(i) for i in store.elasticpath_logs_for(integration).ids()]
        assert listed == owned and not set(listed) & set(doomed)
        for each in store.jobs(integration):
            job_listed = await _ep_ids(emulator, integration, each)
            assert not set(job_listed) & set(doomed)
            assert set(job_listed) <= set(listed)
    assert await _ep_ids(emulator, owner, job) == [i for i in in_job if i not in doomed]
    for log_id in doomed:
        with pytest.raises(KeyError):
            store.elasticpath_log(log_id)


async def test_elasticpath_totals_shrink_and_offsets_shift(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    headers = await ep_headers(http, emulator)
    url = emulator.elasticpath_url + "/v2/integrations/logs?page[limit]=5&page[offset]=5"
    _, page = await get(http, url, headers)
    second = [item["id"] for item in page["data"]]
    total = page["results"]["total"]
    first_id = str(emulator.store.elasticpath_logs.ids()[0])

    emulator.delete_logs("elasticpath", [first_id])

    _, shifted = await get(http, url, headers)
    assert shifted["results"]["total"] == total - 1
    assert [item["id"] for item in shifted["data"]][:4] == second[1:]


@pytest.mark.parametrize("v3", [False, True], ids=["v2", "v3"])
async def test_sendcloud_cursor_survives_deletion_of_its_anchor(
    emulator: Emulator, v3: bool
) -> None:
    """The next-page cursor points just below the oldest record shown; deleting that record,
    and the first record of the next page, must neither skip nor repeat anything."""
    before = [int(i) for i in emulator.store.sendcloud_logs.ids()]
    client = emulator.sendcloud_v3_client(**FAST) if v3 else emulator.sendcloud_client(**FAST)
    got: list[int] = []
    deleted: list[int] = []
    async with client:
        async for page in client.logs(page_size=10).pages():
            ids = [int(record.id) for record in page.items]
            got += ids
            if page.number in (1, 3):  # the anchor (seen) and the next page's first (unseen)
                position = before.index(ids[-1])
                doomed = [ids[-1], before[position + 1]]
                emulator.delete_logs("sendcloud", doomed)
                deleted += doomed
    unseen_deleted = {d for d in deleted if d not in got}
    assert len(unseen_deleted) == 2
    assert got == [i for i in before if i not in unseen_deleted]


@pytest.mark.parametrize("prefetch", [0, 4], ids=["no-prefetch", "prefetch"])
async def test_elasticpath_deletion_ahead_of_the_walk(emulator: Emulator, prefetch: int) -> None:
    """Deleting records the walk has not reached (nor prefetched): the offset listing shifts
    only after them, and the client yields exactly the remaining records."""
    before = [str(i) for i in emulator.store.elasticpath_logs.ids()]
    doomed = [before[-5], before[-15], before[-16]]  # the last pages; 4 pages are prefetched
    got: list[str] = []
    async with emulator.elasticpath_client(**FAST, prefetch_pages=prefetch) as client:
        async for page in client.logs(page_size=10).pages():
            got += [record.id for record in page.items]
            if page.number == 2:
                assert emulator.delete_logs("elasticpath", doomed) == 3
    assert got == [i for i in before if i not in doomed]


@pytest.mark.parametrize("prefetch", [0, 4], ids=["no-prefetch", "prefetch"])
async def test_elasticpath_deletion_behind_the_walk(emulator: Emulator, prefetch: int) -> None:
    """Deleting records already read moves every later record up (as a real offset API
    does): the client either reconciles that or says so with PaginationError; it never
    yields a record twice, out of order, or skips one silently."""
    before = [str(i) for i in emulator.store.elasticpath_logs.ids()]
    got: list[str] = []
    error: PaginationError | None = None
    try:
        async with emulator.elasticpath_client(**FAST, prefetch_pages=prefetch) as client:
            async for page in client.logs(page_size=10).pages():
                got += [record.id for record in page.items]
                if page.number == 2:
                    emulator.delete_logs("elasticpath", [got[0], got[15]])  # both already read
    except PaginationError as exc:
        error = exc
    assert len(got) == len(set(got))
    if error is None:
        assert got == before
    else:
        assert "gone" in str(error) or "removed" in str(error)
        assert got == before[: len(got)] and len(got) >= 10


def test_delete_is_all_or_nothing_and_names_unknown_ids(emulator: Emulator) -> None:
    store = emulator.store
    known = int(store.sendcloud_logs.ids()[3])
    count = store.log_count("sendcloud")
    with pytest.raises(KeyError, match="no Sendcloud log 1, 2"):
        emulator.delete_logs("sendcloud", [known, 1, 2])
    assert store.log_count("sendcloud") == count
    assert emulator.delete_logs("sendcloud", [known, known, str(known)]) == 1
    with pytest.raises(KeyError, match="deleted already"):
        emulator.delete_logs("sendcloud", [known])
    with pytest.raises(LogFieldError, match="ids"):
        emulator.delete_logs("sendcloud", [1.5])  # type: ignore[list-item]
    with pytest.raises(KeyError, match="no Elastic Path log 'nope'"):
        emulator.delete_logs("elasticpath", ["nope"])
    assert emulator.delete_logs("elasticpath", []) == 0


async def test_logs_added_after_a_delete_are_listed(emulator: Emulator) -> None:
    store = emulator.store
    first = [int(i) for i in store.sendcloud_logs.ids()]
    emulator.delete_logs("sendcloud", first[5:8])
    added = [int(i) for i in emulator.add_logs("sendcloud", 3)]
    expected = added[::-1] + first[:5] + first[8:]
    assert await _sendcloud_ids(emulator, v3=False) == expected
    ep_first = [str(i) for i in store.elasticpath_logs.ids()]
    emulator.delete_logs("elasticpath", ep_first[:2])
    ep_added = [str(i) for i in emulator.add_logs("elasticpath", 2)]
    assert await _ep_ids(emulator) == ep_added[::-1] + ep_first[2:]


def test_store_without_deletions_lists_all_positions() -> None:
    """Nothing deleted: the all-records scope stays a plain range (the fast path)."""
    store = Store(EmulatorConfig(integrations=2, logs=30))
    assert isinstance(store.sendcloud.scope(None), range)
    assert isinstance(store.elasticpath.scope(), range)
    store.delete_logs("sendcloud", [store.sendcloud_logs.ids()[0]])
    assert len(store.sendcloud.scope(None)) == 29
    assert isinstance(store.elasticpath.scope(), range)


async def test_admin_delete_endpoint(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    url = emulator.admin_url + "/logs/delete"
    ids = [str(i) for i in emulator.store.elasticpath_logs.ids()[:3]]
    count = emulator.store.log_count("elasticpath")
    async with http.post(url, json={"provider": "elasticpath", "ids": ids}) as response:
        assert response.status == 200
        assert await response.json() == {
            "provider": "elasticpath",
            "deleted": 3,
            "total": count - 3,
        }
    async with http.post(url, json={"provider": "elasticpath", "ids": ids[:1]}) as response:
        assert response.status == 404
        body = await response.json()
        assert body["field"] == "ids" and ids[0] in body["error"]
    cases: list[tuple[Any, str | None]] = [
        ({"provider": "nope", "ids": []}, "provider"),
        ({"provider": "sendcloud"}, "ids"),
        ({"provider": "sendcloud", "ids": ["x"]}, "ids"),
        ({"provider": "sendcloud", "ids": [], "extra": 1}, "extra"),
        ([1], None),
    ]
    for body_sent, field in cases:
        async with http.post(url, json=body_sent) as response:
            assert response.status == 400, body_sent
            assert (await response.json())["field"] == field
    assert emulator.store.log_count("elasticpath") == count - 3
