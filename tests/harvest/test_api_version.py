"""Harvests of Sendcloud API v3 (``--api-version 3``) against the emulator's v3 routes."""

# ruff: noqa: ASYNC240 - small local files in tests

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integration_logs_async import BasicAuth, SendcloudClient
from integration_logs_async.cli import EXIT_USAGE
from integration_logs_async.emulator import Emulator
from integration_logs_async.emulator._sendcloud_v3_bodies import logs_v3
from integration_logs_async.harvest import HarvestOptions, load_state, run_harvest

from .._support.cli import error_line, run_main
from .._support.emulators import ThreadedEmulator
from .._support.store import store_records
from ._helpers import assert_exactly_once, line_ids, read_lines

Capsys = pytest.CaptureFixture[str]


def v3_records(emu: Emulator) -> dict[str, bytes]:
    """Id -> the exact bytes the emulator's v3 routes serve for each Sendcloud log."""
    return {ident: logs_v3(raw)[1:-1] for ident, raw in store_records(emu, "sendcloud").items()}


def harvest(out: Path, *extra: str) -> list[str]:
    return ["harvest", "sendcloud", "--out", str(out), "--rate-limit", "0", "--quiet", *extra]


def test_v3_writes_every_v3_record_once_with_the_ids_of_v2(tmp_path: Path, capsys: Capsys) -> None:
    with ThreadedEmulator(integrations=3, logs=250) as emu:
        env = emu.env()
        # nothing listens at v2's URL: the v3 harvest reads SENDCLOUD_API_V3_BASE_URL only
        v3_env = {**env, "SENDCLOUD_API_BASE_URL": "http://127.0.0.1:9/api/v2"}
        code, _, err = run_main(
            harvest(tmp_path / "v3.jsonl", "--api-version", "3", "--max-attempts", "1"),
            v3_env,
            capsys,
        )
        assert code == 0, err
        assert "sendcloud API v3: harvested 250 records" in err and "[complete]" in err
        code, _, err = run_main(harvest(tmp_path / "v2.jsonl"), env, capsys)
        assert code == 0, err
        assert "sendcloud: harvested 250 records" in err
        expected = v3_records(emu)
        v2_expected = store_records(emu, "sendcloud")
    lines = assert_exactly_once(tmp_path / "v3.jsonl", expected)
    assert all(b'"additional_data"' in line and b'"user_id"' not in line for line in lines)
    v2_lines = assert_exactly_once(tmp_path / "v2.jsonl", v2_expected)
    assert sorted(line_ids(lines)) == sorted(line_ids(v2_lines))
    state = load_state(tmp_path / "v3.jsonl.state.json")
    assert state is not None and state.api_version == 3 and not state.in_progress
    v2_state = load_state(tmp_path / "v2.jsonl.state.json")
    assert v2_state is not None and v2_state.api_version == 2


def test_normalized_v3_is_the_normalized_v2(tmp_path: Path, capsys: Capsys) -> None:
    with ThreadedEmulator(integrations=3, logs=120) as emu:
        env = emu.env()
        for version in ("2", "3"):
            out = tmp_path / f"v{version}.jsonl"
            args = harvest(out, "--format", "normalized", "--scope", "all")
            code, _, err = run_main(args, {**env, "SENDCLOUD_API_VERSION": version}, capsys)
            assert code == 0, err
    v2 = {row["id"]: row for row in map(json.loads, read_lines(tmp_path / "v2.jsonl"))}
    v3 = {row["id"]: row for row in map(json.loads, read_lines(tmp_path / "v3.jsonl"))}
    assert len(v3) == 120 and v3.keys() == v2.keys()
    for ident, row in v3.items():
        assert row["integration_id"] is not None
        assert row == v2[ident], ident


def test_v3_stopped_at_max_items_resumes_exactly_once(tmp_path: Path, capsys: Capsys) -> None:
    out = tmp_path / "v3.jsonl"
    with ThreadedEmulator(integrations=2, logs=260) as emu:
        env = {**emu.env(), "SENDCLOUD_API_VERSION": "3"}
        code, _, err = run_main(harvest(out, "--max-items", "130"), env, capsys)
        assert code == 0, err
        assert "stopped at --max-items" in err
        state = load_state(Path(str(out) + ".state.json"))
        assert state is not None and state.in_progress and state.checkpoint is not None
        assert len(read_lines(out)) == 130
        code, _, err = run_main(harvest(out), env, capsys)
        assert code == 0, err
        assert "sendcloud API v3: resumed and harvested 130 records" in err
        expected = v3_records(emu)
    assert_exactly_once(out, expected)


def test_a_state_of_another_version_is_refused_and_nothing_changes(
    tmp_path: Path, capsys: Capsys
) -> None:
    out = tmp_path / "logs.jsonl"
    state_file = Path(str(out) + ".state.json")
    with ThreadedEmulator(integrations=2, logs=40) as emu:
        env = emu.env()
        code, _, err = run_main(harvest(out), env, capsys)  # v2, the default
        assert code == 0, err
        before = out.read_bytes(), state_file.read_bytes()
        for extra in ([], ["--append"]):  # raw records of two versions never share a file
            code, _, err = run_main(harvest(out, "--api-version", "3", *extra), env, capsys)
            assert code == EXIT_USAGE
            assert error_line(err) == (
                f"integration-logs: error: --out {out} was harvested with Sendcloud API v2 "
                f"(state file {state_file}) and this harvest reads API v3; nothing was "
                "changed. Rerun with --api-version 2 to continue it, --force to replace it "
                "with API v3 records, or give this harvest another --out"
            )
            assert (out.read_bytes(), state_file.read_bytes()) == before
        code, _, err = run_main(harvest(out, "--api-version", "2"), env, capsys)
        assert code == 0 and "found new since the last complete run: 0 records" in err, err
        assert out.read_bytes() == before[0]

        code, _, err = run_main(harvest(out, "--api-version", "3", "--force"), env, capsys)
        assert code == 0, err
        expected = v3_records(emu)
        assert_exactly_once(out, expected)
        # and back: the v3 state is not continued by v2 (the default) either
        code, _, err = run_main(harvest(out), env, capsys)
        assert code == EXIT_USAGE
        assert "was harvested with Sendcloud API v3" in error_line(err)
        assert "Rerun with --api-version 3 to continue it" in err


def test_normalized_output_of_another_version_may_be_appended_to(
    tmp_path: Path, capsys: Capsys
) -> None:
    out = tmp_path / "logs.jsonl"
    with ThreadedEmulator(integrations=2, logs=40) as emu:
        env = emu.env()
        args = harvest(out, "--format", "normalized", "--max-items", "15")
        code, _, err = run_main(args, env, capsys)
        assert code == 0, err
        code, _, err = run_main([*args[:-2], "--api-version", "3"], env, capsys)
        assert code == EXIT_USAGE
        line = error_line(err)
        assert "Rerun with --api-version 2 to continue it, --append to add API v3 records " in line
        assert "(records already in it are skipped), --force to replace it" in line
        code, _, err = run_main([*args[:-2], "--api-version", "3", "--append"], env, capsys)
        assert code == 0, err
        ids = store_records(emu, "sendcloud").keys()
    assert sorted(line_ids(read_lines(out))) == sorted(ids)


async def test_run_harvest_wants_a_client_of_the_options_version(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must be 2 or 3, not 4"):
        HarvestOptions(provider="sendcloud", out="x", api_version=4)
    with pytest.raises(ValueError, match="page_size"):
        HarvestOptions(provider="sendcloud", out="x", api_version=3, page_size=200)
    default = HarvestOptions(provider="sendcloud", out="x")
    # the default version leaves the fingerprint as it was: existing states stay valid
    assert HarvestOptions(provider="sendcloud", out="x", api_version=2).fingerprint() == (
        default.fingerprint()
    )
    assert HarvestOptions(provider="sendcloud", out="x", api_version=3).fingerprint() != (
        default.fingerprint()
    )
    options = HarvestOptions(provider="sendcloud", out=str(tmp_path / "o.jsonl"), api_version=3)
    async with SendcloudClient(BasicAuth("pk", "sk")) as client:
        with pytest.raises(ValueError) as caught:
            await run_harvest(client, options, progress=False)
    assert str(caught.value) == (
        "the harvest options ask for Sendcloud API v3, but the client is a SendcloudClient "
        "(API v2): pass a SendcloudV3Client, or set the options' api_version to 2"
    )
    assert not list(tmp_path.iterdir())  # nothing created
