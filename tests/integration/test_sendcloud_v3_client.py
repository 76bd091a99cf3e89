"""SendcloudV3Client against the emulator's v3 routes (same store as v2) over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from integration_logs_async import (
    BadRequestError,
    BasicAuth,
    ClientCredentials,
    NotFoundError,
    SendcloudV3Client,
    SendcloudV3IntegrationLog,
)
from integration_logs_async.emulator import Emulator
from integration_logs_async.harvest import HarvestOptions, run_harvest

from .._support.clients import FAST, RESILIENT, sendcloud
from ._helpers import assert_exactly

pytestmark = pytest.mark.emulator(seed=13, integrations=4, logs=450)


def v3(emu: Emulator, *, oauth: bool = False, **settings: Any) -> SendcloudV3Client:
    auth: BasicAuth | ClientCredentials
    if oauth:
        auth = ClientCredentials(
            emu.sendcloud_client_id, emu.sendcloud_client_secret, token_url=emu.sendcloud_token_url
        )
    else:
        auth = BasicAuth(emu.sendcloud_public_key, emu.sendcloud_secret_key)
    return SendcloudV3Client(auth, base_url=emu.sendcloud_v3_url, **{**FAST, **settings})


@pytest.mark.parametrize("oauth", [False, True], ids=["basic", "oauth2"])
async def test_v3_reads_the_same_logs_as_v2(emulator: Emulator, oauth: bool) -> None:
    async with sendcloud(emulator) as v2:
        expected = [str(x.id) for x in await v2.logs().collect()]
    async with v3(emulator, oauth=oauth) as client:
        logs = await client.logs(page_size=40).collect()
        pages = [len(page) async for page in client.logs(page_size=100).pages()]
    assert_exactly([str(x.id) for x in logs], expected)
    assert all(isinstance(x, SendcloudV3IntegrationLog) for x in logs)
    assert sum(pages) == len(expected) and len(pages) == -(-len(expected) // 100)


async def test_per_integration_raw_and_fan_out(emulator: Emulator) -> None:
    store = emulator.store.sendcloud
    async with v3(emulator) as client:
        integrations = await client.integrations().collect()
        assert sorted(i.id for i in integrations) == sorted(i.id for i in store.integrations)
        first = integrations[0].id
        one = [str(x.id) async for x in client.integration_logs(first, page_size=25)]
        raw = await client.integration_logs(first).raw().collect()
        fanned = [str(x.id) async for x in client.logs_for_integrations(concurrency=3)]
    assert [r.id for r in raw] == one and all(r.raw.startswith(b"{") for r in raw)
    async with sendcloud(emulator) as v2:
        assert one == [str(x.id) async for x in v2.integration_logs(first)]
        every = [str(x.id) for x in await v2.logs().collect()]
    assert_exactly(sorted(fanned), sorted(every))  # a fan-out interleaves its integrations


async def test_an_unknown_integration_is_not_found(emulator: Emulator) -> None:
    async with v3(emulator) as client:
        with pytest.raises(NotFoundError, match="could not be found"):
            await client.integration_logs(99_999_999).collect()


async def test_resume_from_a_checkpoint_mid_page(emulator: Emulator) -> None:
    async with v3(emulator) as client:
        every = [str(x.id) for x in await client.logs(page_size=30).collect()]
        stream = client.logs(page_size=30)
        taken: list[str] = []
        async for record in stream:
            taken.append(str(record.id))
            if len(taken) == 47:
                break
        rest = [
            str(x.id)
            for x in await client.logs(page_size=30, resume_from=stream.checkpoint).collect()
        ]
    assert taken + rest == every


async def test_a_harvest_with_the_v3_client_writes_every_record_once(
    emulator: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "v3.jsonl"
    async with v3(emulator, **RESILIENT) as client:
        result = await run_harvest(
            client,
            HarvestOptions(provider="sendcloud", out=str(out), api_version=3),
            progress=False,
        )
    lines = out.read_bytes().splitlines()
    assert result.complete and len(lines) == result.records == len(emulator.store.sendcloud_logs)


async def test_create_integration_log_answers_the_v3_record(emulator: Emulator) -> None:
    integration = emulator.store.sendcloud.integrations[0].id
    payload = {"base_url": "https://shop.test", "method": "POST", "response_code": 502}
    async with v3(emulator) as client:
        created = await client.create_integration_log(integration, payload)
        [head] = await client.integration_logs(integration, max_items=1).collect()
        with pytest.raises(BadRequestError, match="Extra inputs are not permitted"):
            await client.create_integration_log(integration, {**payload, "user_id": 3})
    assert isinstance(created, SendcloudV3IntegrationLog)
    assert (created.base_url, created.response_code) == ("https://shop.test", 502)
    assert head.id == created.id


async def test_an_incremental_v3_harvest_reads_only_the_new_logs(
    emulator: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "v3.jsonl"
    options = HarvestOptions(provider="sendcloud", out=str(out), api_version=3)
    async with v3(emulator, **RESILIENT) as client:
        first = await run_harvest(client, options, progress=False)
        added = emulator.add_logs("sendcloud", 6)
        second = await run_harvest(client, options, progress=False)
    assert first.complete and second.complete
    assert second.mode == "incremental" and second.records == len(added) == 6
    ids = [json.loads(line)["id"] for line in out.read_bytes().splitlines()]
    assert len(ids) == len(set(ids)) == len(emulator.store.sendcloud_logs)
    assert set(ids[-6:]) == set(added)


async def test_the_emulator_builds_a_v3_client(emulator: Emulator) -> None:
    async with emulator.sendcloud_v3_client(oauth=True, **FAST) as client:
        assert type(client) is SendcloudV3Client
        assert client.base_url == emulator.sendcloud_v3_url
        assert len(await client.logs().collect()) == len(emulator.store.sendcloud_logs)

