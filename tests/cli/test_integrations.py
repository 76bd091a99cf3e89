"""``integration-logs integrations`` and one shape of ``integrations()`` across providers."""

from __future__ import annotations

import json
import warnings

import pytest

from integration_logs_async import (
    AsyncStream,
    ElasticPathClient,
    ElasticPathIntegration,
    SendcloudClient,
    SendcloudIntegration,
)
from integration_logs_async.emulator import Emulator

from .._support.cli import run_main
from .._support.emulators import ThreadedEmulator
from ._helpers import basic_only


def _expected(emu: Emulator, provider: str) -> list[dict[str, object]]:
    """What the command should list, built from the emulator's own integrations."""
    rows: list[dict[str, object]] = []
    if provider == "sendcloud":
        for integration in emu.store.sendcloud.integrations:
            item = json.loads(integration.json)
            since = item.get("failing_since")
            rows.append(
                {
                    "id": item["id"],
                    "name": item.get("shop_name") or item.get("shop_url"),
                    "type": item.get("system"),
                    "status": "ok" if since is None else f"failing since {since}",
                }
            )
    else:
        for ep in emu.store.elasticpath.integrations:
            item = ep.obj
            rows.append(
                {
                    "id": item["id"],
                    "name": item.get("name"),
                    "type": item.get("integration_type"),
                    "status": "enabled" if item.get("enabled") else "disabled",
                }
            )
    return rows


@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
def test_json_lists_every_integration(provider: str, capsys: pytest.CaptureFixture[str]) -> None:
    with ThreadedEmulator(integrations=4, logs=10) as emu:
        code, out, err = run_main(
            ["integrations", provider, "--format", "json", "--rate-limit", "0"],
            basic_only(emu),
            capsys,
        )
        expected = _expected(emu, provider)
    assert code == 0, err
    got = [json.loads(line) for line in out.splitlines()]
    assert len(got) == 4
    for row in got:
        assert set(row) == {"id", "name", "type", "status"}
    by_id = {row["id"]: row for row in got}
    for want in expected:
        row = by_id[want["id"]]
        assert (row["name"], row["type"]) == (want["name"], want["type"])
        if provider == "elasticpath":
            assert row["status"] == want["status"]
        else:  # the same instant, as the client decoded it
            assert row["status"].split(" ")[:2] == str(want["status"]).split(" ")[:2]
    assert err == ""  # one kind of credentials: nothing to say


@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
def test_table_is_aligned_for_people(provider: str, capsys: pytest.CaptureFixture[str]) -> None:
    with ThreadedEmulator(integrations=3, logs=10) as emu:
        code, out, err = run_main(["integrations", provider], basic_only(emu), capsys)
        expected = _expected(emu, provider)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["id", "name", "type", "status"]
    assert len(lines) == 1 + len(expected)
    starts = [lines[0].index(column) for column in ("name", "type", "status")]
    assert {line.split("  ")[0] for line in lines[1:]} == {str(w["id"]) for w in expected}
    for line in lines[1:]:
        for start in starts:  # every column starts where its header does
            assert line[start - 2 : start] == "  " and line[start] != " ", line
    names = {str(w["name"]) for w in expected}
    assert all(any(name in line for line in lines) for name in names)


def test_client_flags_apply_and_failures_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with ThreadedEmulator(integrations=2, logs=10) as emu:
        env = basic_only(emu)
        env["SENDCLOUD_API_BASE_URL"] = "http://127.0.0.1:9"  # nothing listens there
        code, out, err = run_main(
            ["integrations", "sendcloud", "--base-url", emu.sendcloud_url, "--max-attempts", "1"],
            env,
            capsys,
        )
        assert code == 0 and len(out.splitlines()) == 3, err
        code, out, err = run_main(["integrations", "sendcloud", "--format", "csv"], env, capsys)
        assert code == 2 and "--format" in err and "csv" in err  # argparse's words, loosely


async def test_both_clients_return_a_stream_of_integrations(emulator: Emulator) -> None:
    async with (
        emulator.sendcloud_client(rate_limit=0) as sc,
        emulator.elasticpath_client(rate_limit=0) as ep,
    ):
        listings: list[AsyncStream[SendcloudIntegration] | AsyncStream[ElasticPathIntegration]]
        listings = [sc.integrations(), ep.integrations()]
        for listing in listings:
            assert isinstance(listing, AsyncStream)
            ids = [item.id async for item in listing]  # code written once works on both
            assert len(ids) == len(set(ids)) == 3
        sc_all = await sc.integrations().collect()
        ep_all = await ep.integrations().collect()
        assert [type(x) for x in sc_all] == [SendcloudIntegration] * 3
        assert [type(x) for x in ep_all] == [ElasticPathIntegration] * 3
        # raw records and limits, as for every listing
        raw = await sc.integrations(max_items=2).raw().collect()
        assert [r.id for r in raw] == [str(x.id) for x in sc_all[:2]]
        assert json.loads(raw[0].raw)["id"] == sc_all[0].id


async def test_awaiting_sendcloud_integrations_still_works_with_a_deprecation_warning(
    emulator: Emulator,
) -> None:
    async with emulator.sendcloud_client(rate_limit=0) as client:
        with pytest.warns(DeprecationWarning) as caught:
            old_style = await client.integrations()
        assert old_style == await client.integrations().collect()
        message = str(caught[0].message)
        assert "await client.integrations().collect()" in message
        assert "async for integration in client.integrations()" in message
        assert caught[0].filename == __file__  # points at the caller's line
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert len(await client.integrations().collect()) == 3  # the new call: no warning


def test_the_clients_share_the_method_shape() -> None:
    sc = SendcloudClient.integrations.__annotations__["return"]
    ep = ElasticPathClient.integrations.__annotations__["return"]
    assert "Stream" in str(sc) and "Stream" in str(ep)
