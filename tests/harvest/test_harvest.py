"""The harvest job from Python (run_harvest) against the emulator."""

# ruff: noqa: ASYNC240 - small local files in tests

from __future__ import annotations

import asyncio
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from integration_logs_async.emulator import Emulator, FaultConfig
from integration_logs_async.fanout import Source
from integration_logs_async.harvest import (
    HarvestFileError,
    HarvestOptions,
    HarvestResult,
    load_state,
    lossless_line,
    run_harvest,
)
from integration_logs_async.providers.elasticpath._records import raw_log as elasticpath_raw
from integration_logs_async.providers.sendcloud._records import raw_log as sendcloud_raw
from integration_logs_async.records import RawRecord

from .._support.clients import client_for
from .._support.store import store_records
from ._helpers import LATENCY, assert_exactly_once, line_ids, read_lines, split_source

SCOPES = [
    ("sendcloud", "all"),
    ("sendcloud", "integrations"),
    ("elasticpath", "all"),
    ("elasticpath", "integrations"),
    ("elasticpath", "jobs"),
]
SCOPE_IDS = [f"{p[:2]}-{s}" for p, s in SCOPES]


async def harvest(
    emu: Emulator, provider: str, out: Path, *, client: Any = None, **options: Any
) -> HarvestResult:
    opts = HarvestOptions(provider=provider, out=str(out), **options)
    if client is not None:
        return await run_harvest(client, opts, progress=False)
    async with client_for(emu, provider) as fresh:
        return await run_harvest(fresh, opts, progress=False)


def created_at(provider: str, raw: bytes) -> datetime:
    record = (
        sendcloud_raw(msgspec.Raw(raw))
        if provider == "sendcloud"
        else elasticpath_raw(msgspec.Raw(raw))
    )
    assert record.created_at is not None
    return record.created_at


# --- output ------------------------------------------------------------------------------


@pytest.mark.emulator(integrations=3, jobs_per_integration=2, logs=250, faults=LATENCY)
@pytest.mark.parametrize(("provider", "scope"), SCOPES, ids=SCOPE_IDS)
async def test_raw_output_is_the_servers_bytes_exactly_once(
    emulator: Emulator, tmp_path: Path, provider: str, scope: str
) -> None:
    out = tmp_path / "logs.jsonl"
    result = await harvest(emulator, provider, out, scope=scope, concurrency=3, page_size=20)
    expected = store_records(emulator, provider)
    assert_exactly_once(out, expected)
    assert result.complete and result.mode == "fresh" and not result.stopped_at_max_items
    assert result.records == result.records_in_file == len(expected) == 250
    assert result.duplicates == 0 and result.failures == {}
    state = load_state(Path(str(out) + ".state.json"))
    assert state is not None and not state.in_progress and state.checkpoint is None
    assert state.out_bytes == out.stat().st_size and state.records == 250
    assert "complete" in result.summary() and "250 records" in result.summary()


def test_lossless_line_appends_source_only_when_the_record_lacks_its_owners() -> None:
    source = Source("job j", integration_id="i-1", job_id="j-1")
    bare = b'{"id":"a","x":[1,{"y":"}"}],"z":"\\u00e9"}'
    line = lossless_line(RawRecord(raw=bare, id="a"), source)
    body, extra = split_source(line)
    assert body == bare and extra == {"integration_id": "i-1", "job_id": "j-1"}
    owned = RawRecord(raw=bare, id="a", integration_id="i-1", job_id="j-1")
    assert lossless_line(owned, source) == bare + b"\n"
    half = RawRecord(raw=b"{}", id="a", integration_id="i-1")
    assert lossless_line(half, source) == b'{"_source":{"job_id":"j-1"}}\n'
    # a pretty-printed record is put on one line (the only case where bytes are re-encoded)
    pretty = RawRecord(raw=b'{\n  "id": "a",\n  "n": 1\n}', id="a", integration_id="i", job_id="j")
    assert lossless_line(pretty, source) == b'{"id":"a","n":1}\n'


@pytest.mark.emulator(integrations=3, jobs_per_integration=2, logs=200)
@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_normalized_format(emulator: Emulator, tmp_path: Path, provider: str) -> None:
    out = tmp_path / "norm.jsonl"
    scope = "jobs" if provider == "elasticpath" else "integrations"
    result = await harvest(emulator, provider, out, scope=scope, format="normalized")
    assert result.complete and result.records == 200
    expected = store_records(emulator, provider)
    assert_exactly_once(out, expected, lossless=False)
    fields = [
        "provider",
        "id",
        "integration_id",
        "job_id",
        "created_at",
        "succeeded",
        "status_code",
        "method",
        "url",
        "error",
        "attempt",
    ]
    for line in read_lines(out):
        row = json.loads(line)
        assert list(row) == fields and row["provider"] == provider
        assert isinstance(row["id"], str)
        original = json.loads(expected[row["id"]])
        assert datetime.fromisoformat(row["created_at"]) == created_at(
            provider, expected[row["id"]]
        )
        if provider == "sendcloud":
            assert row["integration_id"] == str(original["integration_id"])
            assert row["status_code"] == original["response_code"] and row["succeeded"] is False
            assert row["method"] == original["method"] and row["job_id"] is None
        else:
            rel = original["relationships"]
            assert row["integration_id"] == rel["integration"]["data"]["id"]
            assert row["job_id"] == rel["job"]["data"]["id"]
            assert row["status_code"] == original.get("status_code")
            assert row["succeeded"] == original.get("succeeded")
            assert row["attempt"] == original.get("attempt")


# --- incremental runs --------------------------------------------------------------------


@pytest.mark.emulator(integrations=4, jobs_per_integration=3, logs=400)
@pytest.mark.parametrize(("provider", "scope"), SCOPES, ids=SCOPE_IDS)
async def test_incremental_run_fetches_only_what_is_new(
    emulator: Emulator, tmp_path: Path, provider: str, scope: str
) -> None:
    out = tmp_path / "logs.jsonl"
    first = await harvest(emulator, provider, out, scope=scope, concurrency=4, page_size=25)
    assert first.records == 400 and first.mode == "fresh"
    before = out.read_bytes()

    owners = (
        emulator.store.sendcloud_integration_ids
        if provider == "sendcloud"
        else emulator.store.elasticpath_integration_ids
    )
    added = emulator.add_logs(provider, 7) + emulator.add_logs(provider, 5, owners[1])  # type: ignore[arg-type]
    emulator.reset_stats()
    second = await harvest(emulator, provider, out, scope=scope, concurrency=4, page_size=25)
    assert second.mode == "incremental" and second.complete
    assert second.records == len(added) == 12
    assert "found new since the last complete run: 12 records" in second.summary()
    lines = assert_exactly_once(out, store_records(emulator, provider))
    assert out.read_bytes()[: len(before)] == before  # the first run's lines are untouched
    assert set(line_ids(lines[400:])) == {str(i) for i in added}  # appended after the old ones
    # one page per stream (it meets the previous newest record) plus listing the streams
    data = [r for r in emulator.requests if r.category == "data"]
    children = {"all": 1, "integrations": 4, "jobs": 12}[scope]
    listings = {"all": 0, "integrations": 1, "jobs": 5}[scope]
    assert len(data) <= children + listings + 1
    assert second.requests == len(emulator.requests)  # data and token requests of this run

    emulator.reset_stats()
    third = await harvest(emulator, provider, out, scope=scope, concurrency=4, page_size=25)
    assert third.mode == "incremental" and third.records == 0 and third.complete
    assert len([r for r in emulator.requests if r.category == "data"]) <= children + listings + 1
    assert_exactly_once(out, store_records(emulator, provider))
    state = load_state(Path(str(out) + ".state.json"))
    assert state is not None and state.run == 3 and state.last_run_records == 0


@pytest.mark.emulator(integrations=3, jobs_per_integration=2, logs=300)
@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_since_keeps_only_newer_logs(
    emulator: Emulator, tmp_path: Path, provider: str
) -> None:
    everything = store_records(emulator, provider)
    times = sorted(created_at(provider, raw) for raw in everything.values())
    k = 2 * len(times) // 3
    since = times[k] + (times[k + 1] - times[k]) / 2
    wanted = {i: raw for i, raw in everything.items() if created_at(provider, raw) >= since}
    assert 80 < len(wanted) < 120
    out = tmp_path / "since.jsonl"
    scope = "jobs" if provider == "elasticpath" else "integrations"
    emulator.reset_stats()
    result = await harvest(emulator, provider, out, scope=scope, since=since, page_size=10)
    assert result.records == len(wanted) and result.complete
    assert_exactly_once(out, wanted)
    fetched = sum(1 for r in emulator.requests if r.path.endswith("/logs"))
    assert fetched < 28  # stopped at the boundary: the older two thirds were not paged through
    with pytest.raises(ValueError, match="timezone"):
        HarvestOptions(provider="sendcloud", out="x", since=datetime(2024, 1, 1))


@pytest.mark.emulator(integrations=3, jobs_per_integration=2, logs=200)
@pytest.mark.parametrize(("provider", "scope"), [("sendcloud", "all"), ("elasticpath", "jobs")])
async def test_max_items_then_rerun_continues(
    emulator: Emulator, tmp_path: Path, provider: str, scope: str
) -> None:
    out = tmp_path / "logs.jsonl"
    runs = []
    for _ in range(3):
        runs.append(await harvest(emulator, provider, out, scope=scope, max_items=37, page_size=15))
    assert [r.records for r in runs] == [37, 37, 37]
    assert all(r.stopped_at_max_items and not r.complete for r in runs)
    assert [r.mode for r in runs] == ["fresh", "resumed", "resumed"]
    assert "stopped at --max-items" in runs[0].summary()
    assert len(read_lines(out)) == 111
    last = await harvest(emulator, provider, out, scope=scope, page_size=15)
    assert last.complete and last.mode == "resumed" and last.records == 200 - 111
    assert_exactly_once(out, store_records(emulator, provider))


@pytest.mark.emulator(
    integrations=4,
    jobs_per_integration=2,
    logs=500,
    faults=FaultConfig(
        seed=3, rates={"latency": 1.0}, latency_seconds=0.01, latency_jitter_seconds=0.01
    ),
)
@pytest.mark.parametrize(
    ("provider", "scope"),
    [("sendcloud", "all"), ("elasticpath", "integrations"), ("elasticpath", "jobs")],
)
async def test_store_growing_during_the_harvest(
    emulator: Emulator, tmp_path: Path, provider: str, scope: str
) -> None:
    before = store_records(emulator, provider)
    owners = (
        emulator.store.sendcloud_integration_ids
        if provider == "sendcloud"
        else emulator.store.elasticpath_integration_ids
    )
    stop = asyncio.Event()
    added: list[Any] = []

    async def grow() -> None:
        k = 0
        while not stop.is_set():
            added.extend(emulator.add_logs(provider, 3, owners[k % len(owners)]))  # type: ignore[arg-type]
            k += 1
            await asyncio.sleep(0.02)

    grower = asyncio.create_task(grow())
    out = tmp_path / "logs.jsonl"
    try:
        result = await harvest(emulator, provider, out, scope=scope, concurrency=3, page_size=10)
    finally:
        stop.set()
        await grower
    assert len(added) > 30 and result.complete
    lines = read_lines(out)
    ids = line_ids(lines)
    assert len(ids) == len(set(ids)), "duplicates in the output"
    assert before.keys() <= set(ids), "a record that existed at the start is missing"
    final = store_records(emulator, provider)
    for ident, line in zip(ids, lines, strict=True):
        assert split_source(line)[0] == final[ident]
    # what arrived during the run and was not seen comes with the next incremental run
    again = await harvest(emulator, provider, out, scope=scope, concurrency=3, page_size=10)
    assert again.mode == "incremental" and again.records == len(final) - len(ids)
    assert_exactly_once(out, final)


# --- state file, results, progress -------------------------------------------------------


@pytest.mark.emulator(integrations=2, logs=60)
async def test_state_file_is_bound_to_its_harvest(emulator: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "logs.jsonl"
    state = Path(str(out) + ".state.json")
    await harvest(emulator, "elasticpath", out, scope="jobs")
    data, saved = out.read_bytes(), state.read_bytes()
    refused = r"holds another harvest's records .*: made with {}\); nothing was changed"
    with pytest.raises(HarvestFileError, match=refused.format("--scope jobs")):
        await harvest(emulator, "elasticpath", out, scope="integrations")
    with pytest.raises(HarvestFileError, match=refused.format("--format raw")):
        await harvest(emulator, "elasticpath", out, scope="jobs", format="normalized")
    other = tmp_path / "other.jsonl"
    with pytest.raises(HarvestFileError, match=r"belongs to the harvest into .*logs\.jsonl, which"):
        await harvest(emulator, "elasticpath", other, scope="jobs", state=str(state))
    out.write_bytes(data[: len(data) // 2])
    with pytest.raises(HarvestFileError, match="modified, moved or replaced; nothing was changed"):
        await harvest(emulator, "elasticpath", out, scope="jobs")
    out.write_bytes(data)
    assert state.read_bytes() == saved
    state.write_text("{not json")
    with pytest.raises(ValueError, match="not a harvest state"):
        await harvest(emulator, "elasticpath", out, scope="jobs")
    assert out.read_bytes() == data  # nothing was touched
    assert not other.exists()


@pytest.mark.emulator(integrations=2, jobs_per_integration=2, logs=120)
async def test_an_empty_harvest_and_a_deleted_empty_output(
    emulator: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "none.jsonl"
    future = datetime.fromisoformat("2100-01-01T00:00:00+00:00")
    result = await harvest(emulator, "elasticpath", out, scope="jobs", since=future)
    assert result.records == 0 and result.complete and out.read_bytes() == b""
    out.unlink()  # nothing was in it: a rerun recreates it
    again = await harvest(emulator, "elasticpath", out, scope="jobs", since=future)
    assert again.records == 0 and out.exists()


@pytest.mark.emulator(integrations=3, jobs_per_integration=2, logs=300, faults=LATENCY)
async def test_results_count_this_run_only_and_progress_lines(
    emulator: Emulator, tmp_path: Path
) -> None:
    async with client_for(emulator, "elasticpath") as client:
        await client.integrations().collect()  # requests before the harvest
        emulator.reset_stats()
        stream = io.StringIO()
        opts = HarvestOptions(
            provider="elasticpath", out=str(tmp_path / "a.jsonl"), scope="jobs", page_size=10
        )
        result = await run_harvest(client, opts, progress_stream=stream, progress_interval=0.05)
        assert result.requests == len(emulator.requests)
        again = await run_harvest(client, opts, progress=False)
        assert again.requests < result.requests  # incremental, counted on its own
    text = stream.getvalue()
    lines = text.splitlines()
    assert lines and all(line.startswith("progress: ") for line in lines)
    assert "\r" not in text and "\x1b" not in text  # not a terminal: plain lines
    assert " records, " in lines[-1] and " requests, " in lines[-1] and "rec/s" in lines[-1]
