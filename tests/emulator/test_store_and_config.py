"""Synthetic store, determinism, keyset windows, templates and configuration."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import get_type_hints

import aiohttp
import pytest

from integration_logs_async.emulator import (
    Emulator,
    EmulatorConfig,
    EmulatorOptions,
    Store,
)
from integration_logs_async.emulator._cursor import Cursor, InvalidCursor, window
from integration_logs_async.emulator._sendcloud_store import IdScope
from integration_logs_async.emulator._template import Slot, compile_template, sentinel
from integration_logs_async.testing import EmulatorFactory

from ._helpers import basic, ep_headers, get


def test_same_seed_same_bytes() -> None:
    config = EmulatorConfig(seed=5, logs=300, integrations=4)
    first, second = Store(config), Store(config)
    assert list(first.sendcloud_logs) == list(second.sendcloud_logs)
    assert list(first.elasticpath_logs) == list(second.elasticpath_logs)
    assert first.add_logs("sendcloud", 5) == second.add_logs("sendcloud", 5)
    assert first.sendcloud_logs[:5] == second.sendcloud_logs[:5]
    other = Store(EmulatorConfig(seed=6, logs=300, integrations=4))
    assert list(other.sendcloud_logs) != list(first.sendcloud_logs)
    assert other.elasticpath_integration_ids != first.elasticpath_integration_ids


async def test_same_seed_same_responses(
    emulator_factory: EmulatorFactory, http: aiohttp.ClientSession
) -> None:
    pages = []
    for _ in range(2):
        emu = await emulator_factory(seed=11, logs=50)
        headers = await ep_headers(http, emu)
        async with http.get(emu.sendcloud_url + "/integrations/logs", headers=basic(emu)) as r:
            sendcloud = (await r.read()).replace(f":{emu.port}/".encode(), b":PORT/")
        async with http.get(emu.elasticpath_url + "/v2/integrations/logs", headers=headers) as r:
            elasticpath = (await r.read()).replace(f":{emu.port}/".encode(), b":PORT/")
        pages.append((sendcloud, elasticpath))
    assert pages[0] == pages[1]


def test_store_accessors() -> None:
    store = Store(EmulatorConfig(logs=200, integrations=3, jobs_per_integration=2))
    logs = store.sendcloud_logs
    assert len(logs) == 200 and len(logs.ids()) == 200
    assert logs[0] == next(iter(logs)) and logs[-1] == logs[199]
    assert logs[:3] == [logs[0], logs[1], logs[2]]
    newest = json.loads(logs[0])
    assert newest["id"] == max(logs.ids()) and store.sendcloud_log(newest["id"]) == logs[0]
    for integration_id in store.sendcloud_integration_ids:
        for raw in store.sendcloud_logs_for(integration_id):
            assert json.loads(raw)["integration_id"] == integration_id
    ep_logs = store.elasticpath_logs
    first = json.loads(ep_logs[0])
    assert store.elasticpath_log(first["id"]) == ep_logs[0]
    ep_integration_id = store.elasticpath_integration_ids[0]
    jobs = store.jobs(ep_integration_id)
    assert len(jobs) == 2
    by_job = sum(len(store.elasticpath_logs_for(ep_integration_id, job)) for job in jobs)
    assert by_job == len(store.elasticpath_logs_for(ep_integration_id))
    with pytest.raises(KeyError):
        store.sendcloud_log(1)
    with pytest.raises(KeyError):
        store.elasticpath_log("nope")
    with pytest.raises(KeyError):
        store.jobs("nope")
    with pytest.raises(KeyError):
        store.sendcloud_logs_for(1)
    with pytest.raises(KeyError):
        store.elasticpath_logs_for(ep_integration_id, "nope")
    with pytest.raises(KeyError):
        store.add_logs("elasticpath", 1, "nope")


def test_growth_goes_to_the_head() -> None:
    store = Store(EmulatorConfig(logs=20, integrations=2))
    view = store.elasticpath_logs
    before = view.ids()
    integration_id = store.elasticpath_integration_ids[1]
    added = store.add_logs("elasticpath", 3, integration_id)
    assert view.ids() == [*reversed(added), *before]
    stamps = [json.loads(raw)["meta"]["timestamps"]["created_at"] for raw in view]
    assert stamps == sorted(stamps, reverse=True)
    assert store.elasticpath_logs_for(integration_id).ids()[:3] == list(reversed(added))
    sendcloud_ids = store.add_logs("sendcloud", 2)
    assert store.sendcloud_logs.ids()[:2] == list(reversed(sendcloud_ids))
    assert all(isinstance(log_id, int) for log_id in sendcloud_ids)
    assert store.log_count("sendcloud") == 22 and store.log_count("elasticpath") == 23


def test_empty_store() -> None:
    store = Store(EmulatorConfig(logs=0, integrations=1))
    assert len(store.sendcloud_logs) == 0 and store.elasticpath_logs.ids() == []
    assert len(store.add_logs("sendcloud", 1)) == 1
    assert len(store.add_logs("elasticpath", 1)) == 1


def _scope(ids: list[int]) -> IdScope:
    return IdScope(ids, range(len(ids)))


@pytest.mark.parametrize("count", [0, 1, 9, 10, 11, 25])
def test_keyset_windows_cover_scope(count: int) -> None:
    ids = [10 + 3 * k for k in range(count)]
    scope = _scope(ids)
    seen: list[int] = []
    cursor = None
    while True:
        page = window(scope, cursor, 5)
        seen += [ids[k] for k in range(page.hi - 1, page.lo - 1, -1)]
        if page.next is None:
            break
        cursor = Cursor.decode(page.next.encode())
    assert seen == ids[::-1]


def test_keyset_windows_edges() -> None:
    scope = _scope([10, 20, 30, 40])
    below_all = window(scope, Cursor(5), 2)
    assert (below_all.lo, below_all.hi, below_all.next) == (0, 0, None)
    assert below_all.previous == Cursor(9, reverse=True)  # ids > 9: everything
    back = window(scope, below_all.previous, 2)
    assert (back.lo, back.hi) == (0, 2)
    above_all = window(scope, Cursor(99, reverse=True), 2)
    assert (above_all.lo, above_all.hi, above_all.previous) == (4, 4, None)
    assert above_all.next == Cursor(41)  # ids < 41: everything
    forward = window(scope, above_all.next, 2)
    assert (forward.lo, forward.hi) == (2, 4)
    middle = window(scope, Cursor(30), 2)
    assert (middle.lo, middle.hi) == (0, 2) and middle.next is None
    assert middle.previous == Cursor(20, reverse=True)


@pytest.mark.parametrize("value", ["", "###", "cD0=", "cj0xJnA9eA==", "eD0x"])
def test_invalid_cursors(value: str) -> None:
    with pytest.raises(InvalidCursor):
        Cursor.decode(value)


def test_cursor_round_trip() -> None:
    for cursor in (Cursor(5), Cursor(123456, reverse=True)):
        assert Cursor.decode(cursor.encode()) == cursor


def test_template_keeps_percent_signs_and_tail() -> None:
    record = {
        "id": sentinel("id"),
        "when": sentinel("when"),
        "css": "width: 100%",
        "body": "<p>50% off</p>",
    }
    template = compile_template(record, {"id": Slot(b"%d", number=True), "when": Slot(b"%s")})
    rendered = template.render((7, b"today"))
    assert json.loads(rendered) == {**record, "id": 7, "when": "today"}
    assert template.tail == b',"css":"width: 100%","body":"<p>50% off</p>"}'


def test_template_shares_a_static_run_in_the_middle() -> None:
    record = {
        "id": sentinel("id"),
        "response": {"body": "<p>50% off</p>"},
        "request": None,
        "created_at": sentinel("when"),
        "exception": f"failed for order {sentinel('id')}: 5% retried",
        "protected": False,
    }
    slots = {"id": Slot(b"%d", number=True), "when": Slot(b"%s")}
    template = compile_template(record, slots, shared_from="response")
    assert template.tail == b',"response":{"body":"<p>50% off</p>"},"request":null'
    assert template.head == b'{"id":%d'
    rendered = template.render((7, b"today"))
    expected = {
        **record,
        "id": 7,
        "created_at": "today",
        "exception": "failed for order 7: 5% retried",
    }
    assert json.loads(rendered) == expected
    assert list(json.loads(rendered)) == list(record)
    assert (
        template.head_of((7, b"today")) + template.tail + template.after_of((7, b"today"))
        == rendered
    )


def test_options_mirror_config_fields() -> None:
    assert set(get_type_hints(EmulatorOptions)) == {f.name for f in fields(EmulatorConfig)}


@pytest.mark.parametrize(
    "changes",
    [
        {"integrations": 0},
        {"logs": -1},
        {"protected_ratio": 2.0},
        {"sendcloud_prefix": "/v2"},
        {"sendcloud_prefix": "api/v2"},
        {"sendcloud_prefix": "/api/v2/"},
        {"ep_page_limit": 101},
        {"sendcloud_page_size": 0},
        {"token_ttl": 0},
        {"rate_limit_rps": 0},
        {"ep_meta_style": "deep"},
    ],
)
def test_config_validation(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        EmulatorConfig(**changes)  # type: ignore[arg-type]


async def test_emulator_lifecycle_and_properties() -> None:
    emu = Emulator(EmulatorConfig(logs=3), seed=2, integrations=1)
    assert emu.config.seed == 2 and emu.config.logs == 3
    with pytest.raises(RuntimeError):
        _ = emu.port
    assert len(emu.store.sendcloud_logs) == 3  # built before start
    async with emu:
        assert emu.sendcloud_url == f"http://127.0.0.1:{emu.port}/api/v2"
        assert emu.sendcloud_v3_url == f"http://127.0.0.1:{emu.port}/api/v3"
        assert emu.elasticpath_url == emu.url
        assert emu.sendcloud_token_url == emu.url + "/oauth2/token"
        assert emu.elasticpath_token_url == emu.url + "/oauth/access_token"
        assert emu.admin_url == emu.url + "/_emulator"
        with pytest.raises(RuntimeError):
            await emu.start()
        assert emu.env() == {
            "SENDCLOUD_PUBLIC_KEY": emu.sendcloud_public_key,
            "SENDCLOUD_SECRET_KEY": emu.sendcloud_secret_key,
            "SENDCLOUD_CLIENT_ID": emu.sendcloud_client_id,
            "SENDCLOUD_CLIENT_SECRET": emu.sendcloud_client_secret,
            "SENDCLOUD_API_BASE_URL": emu.sendcloud_url,
            "SENDCLOUD_API_V3_BASE_URL": emu.sendcloud_v3_url,
            "SENDCLOUD_TOKEN_URL": emu.sendcloud_token_url,
            "EPCC_CLIENT_ID": emu.epcc_client_id,
            "EPCC_CLIENT_SECRET": emu.epcc_client_secret,
            "EPCC_API_BASE_URL": emu.elasticpath_url,
        }
    await emu.stop()  # stopping twice is harmless


async def test_unknown_routes_answer_in_provider_format(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    status, body = await get(http, emulator.sendcloud_url + "/nothing", basic(emulator))
    assert status == 404 and body["error"]["code"] == 404
    headers = await ep_headers(http, emulator)
    status, body = await get(http, emulator.elasticpath_url + "/v2/nothing", headers)
    assert status == 404 and body["errors"][0]["status"] == 404
    async with http.delete(emulator.sendcloud_url + "/integrations", headers=basic(emulator)) as r:
        assert r.status == 405
