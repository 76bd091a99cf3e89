"""Never destroy a user's data: outputs no state describes, failed runs, paths, --since, SIGTERM.

Through the command line (``main`` in process, or a subprocess against the emulator) and the
public API (``run_harvest``).
"""

# ruff: noqa: ASYNC240 - small local files in tests

from __future__ import annotations

import ast
import errno
import os
import signal
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

import integration_logs_async
from integration_logs_async import (
    BasicAuth,
    ClientCredentials,
    ElasticPathClient,
    IntegrationLogsError,
    SendcloudClient,
)
from integration_logs_async.cli import main
from integration_logs_async.emulator import Emulator
from integration_logs_async.harvest import (
    HarvestFileError,
    HarvestOptions,
    HarvestResult,
    _run,
    default_scope,
    load_state,
    run_harvest,
)
from integration_logs_async.providers.elasticpath._records import raw_log as elasticpath_raw
from integration_logs_async.providers.sendcloud._records import raw_log as sendcloud_raw

from .._support.cli import cli_command, cli_env, error_line, run_cli
from .._support.clients import FAST, client_for
from .._support.store import store_records
from ._helpers import assert_exactly_once, line_ids, read_lines, signal_at_progress

PACKAGE = Path(integration_logs_async.__file__).parent


async def harvest(
    emu: Emulator, provider: str, out: Path, *, client_settings: Any = None, **options: Any
) -> HarvestResult:
    opts = HarvestOptions(provider=provider, out=str(out), **options)
    async with client_for(emu, provider, **(client_settings or {})) as client:
        return await run_harvest(client, opts, progress=False)


def state_of(out: Path) -> Path:
    return Path(str(out) + ".state.json")


def created_at(provider: str, raw: bytes) -> datetime:
    decode = sendcloud_raw if provider == "sendcloud" else elasticpath_raw
    value = decode(msgspec.Raw(raw)).created_at
    assert value is not None
    return value


def data_requests(emu: Emulator) -> int:
    return sum(1 for r in emu.requests if r.category == "data")


# --- an output no state describes -----------------------------------------------------------


@pytest.mark.emulator(integrations=3, logs=300)
async def test_an_output_without_its_state_is_refused_then_appended_or_replaced(
    emulator: Emulator, tmp_path: Path
) -> None:
    """The issue's first case: harvest, state removed, rerun with --max-items 10."""
    out = tmp_path / "a.jsonl"
    env = cli_env(emulator)
    base = ["harvest", "sendcloud", "--out", str(out), "--quiet"]
    rc, _, stderr = await run_cli(base, env)
    assert rc == 0, stderr
    before = out.read_bytes()
    state_of(out).unlink()
    emulator.reset_stats()

    rc, _, stderr = await run_cli([*base, "--max-items", "10"], env)
    line = error_line(stderr)
    assert rc == 2, stderr
    assert f"--out {out} already holds {len(before):,} bytes that no state file describes" in line
    assert "nothing was changed" in line and "--append" in line and "--force" in line
    assert out.read_bytes() == before and not state_of(out).exists()
    assert data_requests(emulator) == 0  # refused before the first request

    added = emulator.add_logs("sendcloud", 4)
    rc, _, stderr = await run_cli([*base, "--append"], env)
    assert rc == 0 and "appended 4 records" in stderr, stderr
    assert "duplicates dropped 300" in stderr
    assert out.read_bytes()[: len(before)] == before  # kept as it was, added to
    lines = assert_exactly_once(out, store_records(emulator, "sendcloud"))
    assert set(line_ids(lines[300:])) == {str(i) for i in added}
    rc, _, stderr = await run_cli(base, env)  # the state describes it now: incremental
    assert rc == 0 and "found new since the last complete run: 0 records" in stderr, stderr

    state_of(out).unlink()
    rc, _, stderr = await run_cli([*base, "--force", "--max-items", "10"], env)
    assert rc == 0, stderr
    assert len(read_lines(out)) == 10  # replaced, as asked


@pytest.mark.emulator(integrations=2, logs=100)
async def test_lines_added_after_a_complete_harvest_are_never_truncated(
    emulator: Emulator, tmp_path: Path
) -> None:
    """Bytes past the state's size after a complete run are the user's, not a crash's."""
    out = tmp_path / "a.jsonl"
    env = cli_env(emulator)
    base = ["harvest", "sendcloud", "--out", str(out), "--quiet"]
    rc, _, stderr = await run_cli(base, env)
    assert rc == 0, stderr
    harvested = out.read_bytes()
    added = b'{"id":990001,"note":"mine"}\n{"id":990002,"note":"mine too"}\n'
    with out.open("ab") as handle:
        handle.write(added)

    rc, _, stderr = await run_cli(base, env)
    line = error_line(stderr)
    assert rc == 2, stderr
    assert f"--out {out} holds {len(harvested) + len(added):,} bytes, more than" in line
    assert "nothing was changed" in line and "--append" in line and "--force" in line
    assert out.read_bytes() == harvested + added

    new = emulator.add_logs("sendcloud", 3)
    rc, _, stderr = await run_cli([*base, "--append"], env)
    assert rc == 0 and "appended 3 records" in stderr, stderr
    assert out.read_bytes()[: len(harvested) + len(added)] == harvested + added
    assert set(line_ids(read_lines(out)[-3:])) == {str(i) for i in new}
    rc, _, stderr = await run_cli(base, env)  # described again: an incremental run
    assert rc == 0 and "found new since the last complete run: 0 records" in stderr, stderr
    assert out.read_bytes()[: len(harvested) + len(added)] == harvested + added


@pytest.mark.emulator(integrations=2, jobs_per_integration=2, logs=200)
async def test_a_changed_scope_or_filter_over_an_existing_output_is_refused(
    emulator: Emulator, tmp_path: Path
) -> None:
    """The issue's second case: the state-mismatch advice no longer loses the output."""
    out = tmp_path / "ep.jsonl"
    env = cli_env(emulator)
    rc, _, stderr = await run_cli(["harvest", "elasticpath", "--out", str(out), "--quiet"], env)
    assert rc == 0, stderr
    before, state_before = out.read_bytes(), state_of(out).read_bytes()
    owners = [str(i) for i in emulator.store.elasticpath_integration_ids]
    changes = [
        (["--scope", "all"], "made with --scope jobs"),
        (["--integration", owners[0]], "made with --integration (all)"),
        (["--format", "normalized"], "made with --format raw"),
    ]
    for extra, reason in changes:
        rc, _, stderr = await run_cli(
            ["harvest", "elasticpath", "--out", str(out), "--max-items", "5", *extra], env
        )
        line = error_line(stderr)
        assert rc == 2 and "holds another harvest's records" in line and reason in line, line
        assert "--append" in line and "--force" in line
        assert "delete" not in line.lower() and "start over" not in line
    # another --state over the output: that state does not describe it
    other_state = tmp_path / "other.state.json"
    rc, _, stderr = await run_cli(
        ["harvest", "elasticpath", "--out", str(out), "--state", str(other_state)], env
    )
    assert rc == 2 and "no state file describes" in error_line(stderr)
    assert out.read_bytes() == before and state_of(out).read_bytes() == state_before
    assert not other_state.exists()

    # --append with a changed filter keeps every record and adds none twice
    rc, _, stderr = await run_cli(
        ["harvest", "elasticpath", "--out", str(out), "--scope", "all", "--append"], env
    )
    assert rc == 0 and "duplicates dropped 200" in stderr, stderr
    assert out.read_bytes() == before
    # --append never mixes formats or providers
    rc, _, stderr = await run_cli(
        ["harvest", "elasticpath", "--out", str(out), "--format", "normalized", "--append"], env
    )
    assert rc == 2 and "--append would mix records" in error_line(stderr)
    assert out.read_bytes() == before


def test_no_message_advises_a_step_that_loses_data() -> None:
    """No string in the harvest package or its command says to delete or start over."""
    sources = [*sorted((PACKAGE / "harvest").glob("*.py")), PACKAGE / "cli" / "_harvest.py"]
    offending = []
    for path in sources:
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
            ):
                text = node.value.lower()
                if "delete" in text or "start over" in text or "remove it" in text:
                    offending.append(f"{path.name}:{node.lineno}: {node.value!r}")
    assert len(sources) > 8 and not offending, offending


# --- a run that fails before writing --------------------------------------------------------


@pytest.mark.emulator(integrations=2, logs=120)
@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_a_run_that_fails_before_writing_leaves_every_file_as_it_was(
    emulator: Emulator, tmp_path: Path, provider: str
) -> None:
    out = tmp_path / "logs.jsonl"
    # credentials refused, through the command line: no output, no state
    env = cli_env(emulator)
    bad = {"sendcloud": "SENDCLOUD_SECRET_KEY", "elasticpath": "EPCC_CLIENT_SECRET"}[provider]
    rc, _, stderr = await run_cli(
        ["harvest", provider, "--out", str(out), "--quiet"], {**env, bad: "wrong"}
    )
    assert rc == 3, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []

    # the same over an existing harvest, even with --force: its files are untouched
    first = await harvest(emulator, provider, out)
    assert first.complete
    before, state_before = out.read_bytes(), state_of(out).read_bytes()
    for extra in ([], ["--force"]):
        rc, _, stderr = await run_cli(
            ["harvest", provider, "--out", str(out), "--quiet", *extra], {**env, bad: "wrong"}
        )
        assert rc == 3, stderr
        assert out.read_bytes() == before and state_of(out).read_bytes() == state_before
    state_of(out).unlink()
    rc, _, stderr = await run_cli(
        ["harvest", provider, "--out", str(out), "--quiet", "--force"], {**env, bad: "wrong"}
    )
    assert rc == 3 and out.read_bytes() == before and not state_of(out).exists(), stderr

    # credentials refused, through the API, with force=True: the old output stays
    wrong = (
        BasicAuth(emulator.sendcloud_public_key, "wrong")
        if provider == "sendcloud"
        else ClientCredentials(emulator.epcc_client_id, "wrong")
    )
    cls = SendcloudClient if provider == "sendcloud" else ElasticPathClient
    url = emulator.sendcloud_url if provider == "sendcloud" else emulator.elasticpath_url
    async with cls(wrong, base_url=url, **FAST) as client:
        with pytest.raises(IntegrationLogsError, match="401"):
            opts = HarvestOptions(provider=provider, out=str(out), force=True)
            await run_harvest(client, opts, progress=False)
    assert out.read_bytes() == before and not state_of(out).exists()
    # an unreachable host, through the API, with force=True: the old output stays
    right = (
        BasicAuth(emulator.sendcloud_public_key, emulator.sendcloud_secret_key)
        if provider == "sendcloud"
        else ClientCredentials(emulator.epcc_client_id, emulator.epcc_client_secret)
    )
    async with cls(right, base_url="http://127.0.0.1:9", **{**FAST, "max_attempts": 2}) as client:
        with pytest.raises(IntegrationLogsError):
            opts = HarvestOptions(provider=provider, out=str(out), force=True)
            await run_harvest(client, opts, progress=False)
    assert out.read_bytes() == before and not state_of(out).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs.jsonl"]


# --- paths, checked before the first request ------------------------------------------------


@pytest.mark.emulator(integrations=2, logs=40)
async def test_paths_are_checked_before_the_first_request(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # relative paths, as a user types them
    Path("adir").mkdir()
    Path("out.jsonl.state.json").mkdir()
    Path("file").write_text("not a directory")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"out": "adir"}, "--out adir is a directory; give a file path, e.g. adir/logs.jsonl"),
        (
            {"out": "missing/x.jsonl"},
            "--out missing/x.jsonl: directory missing does not exist; create it "
            "(mkdir -p missing) or choose another --out",
        ),
        ({"out": "file/x.jsonl"}, "--out file/x.jsonl: file is not a directory"),
        ({"out": "x.jsonl", "state": "adir"}, "--state adir is a directory"),
        ({"out": "x.jsonl", "state": "nowhere/s.json"}, "--state nowhere/s.json: directory"),
        ({"out": "out.jsonl"}, "state file out.jsonl.state.json is a directory"),
        (
            {"out": "x.jsonl", "state": "./x.jsonl"},
            "--state ./x.jsonl and --out x.jsonl are the same file",
        ),
        (
            {"out": "x.jsonl", "state": str(tmp_path / "x.jsonl")},
            "are the same file: saving the state would overwrite the records; give the state "
            "its own file, e.g. x.jsonl.state.json",
        ),
    ]
    emulator.reset_stats()
    for options, message in cases:
        with pytest.raises(HarvestFileError) as info:
            await harvest(emulator, "sendcloud", **options)
        assert message in str(info.value), (options, str(info.value))
        assert ".tmp" not in str(info.value) and str(tmp_path) not in message
    assert emulator.requests == []  # not one request
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "file", "out.jsonl.state.json"]
    assert not list(Path("adir").iterdir())

    # through the command line: exit 2, one line naming the path as given
    env = cli_env(emulator)
    rc, _, stderr = await run_cli(
        ["harvest", "sendcloud", "--out", "missing/x.jsonl"], env, cwd=tmp_path
    )
    assert rc == 2 and "--out missing/x.jsonl: directory missing does not exist" in (
        error_line(stderr)
    )
    os.symlink(tmp_path / "x.jsonl", tmp_path / "link.jsonl")  # the same file by another name
    rc, _, stderr = await run_cli(
        ["harvest", "sendcloud", "--out", "x.jsonl", "--state", "link.jsonl"], env, cwd=tmp_path
    )
    assert rc == 2 and "are the same file" in error_line(stderr)
    assert emulator.requests == []


async def test_an_unwritable_directory_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    if os.geteuid() == 0:  # root may write anywhere: the check sees what a user would
        real = os.access
        monkeypatch.setattr(
            os, "access", lambda p, mode: False if Path(p) == locked else real(p, mode)
        )
    try:
        opts = HarvestOptions(provider="sendcloud", out=str(locked / "x.jsonl"))
        with pytest.raises(HarvestFileError) as info:
            await run_harvest(None, opts, progress=False)  # type: ignore[arg-type]  # no client used
        assert str(info.value) == (
            f"--out {locked}/x.jsonl: cannot create files in directory {locked} (permission "
            "denied); choose a --out in a directory you can write to"
        )
    finally:
        locked.chmod(0o700)


# --- the Elastic Path offset ceiling ---------------------------------------------------------


@pytest.mark.emulator(integrations=2, jobs_per_integration=4, logs=240, ep_offset_ceiling=40)
async def test_elasticpath_default_reads_by_job_under_the_offset_ceiling(
    emulator: Emulator, tmp_path: Path
) -> None:
    """Each integration holds ~120 logs, past the (lowered) ceiling; each job ~30, under it."""
    assert default_scope("elasticpath") == "jobs" and default_scope("sendcloud") == "integrations"
    assert HarvestOptions(provider="elasticpath", out="x").chosen_scope == "jobs"
    env = cli_env(emulator)
    common = ["--page-size", "10", "--quiet"]
    out = tmp_path / "default.jsonl"
    rc, _, stderr = await run_cli(["harvest", "elasticpath", "--out", str(out), *common], env)
    assert rc == 0 and "[complete]" in stderr, stderr
    assert_exactly_once(out, store_records(emulator, "elasticpath"))
    assert any("/jobs/" in r.path for r in emulator.requests)  # read job by job

    one = tmp_path / "by-integration.jsonl"
    rc, _, stderr = await run_cli(
        ["harvest", "elasticpath", "--out", str(one), "--scope", "integrations", *common], env
    )
    assert rc == 4 and "page[offset]" in error_line(stderr), stderr  # what the default avoids
    written = read_lines(one)
    assert 0 < len(written) < 240
    # continued job by job, keeping what it wrote
    rc, _, stderr = await run_cli(
        ["harvest", "elasticpath", "--out", str(one), "--scope", "jobs", *common], env
    )
    assert rc == 2 and "made with --scope integrations" in error_line(stderr)
    rc, _, stderr = await run_cli(
        ["harvest", "elasticpath", "--out", str(one), "--scope", "jobs", "--append", *common], env
    )
    assert rc == 0 and f"duplicates dropped {len(written)}" in stderr, stderr
    assert read_lines(one)[: len(written)] == written
    assert_exactly_once(one, store_records(emulator, "elasticpath"))


@pytest.mark.emulator(integrations=1, jobs_per_integration=3, logs=10_150, ep_offset_ceiling=10_000)
async def test_the_ceiling_error_says_how_to_continue_by_job(
    emulator: Emulator, tmp_path: Path
) -> None:
    """At Elastic Path's documented ceiling: the message leads to --scope jobs --append."""
    out = tmp_path / "big.jsonl"
    env = cli_env(emulator)
    args = ["harvest", "elasticpath", "--out", str(out), "--rate-limit", "0", "--quiet"]
    rc, _, stderr = await run_cli([*args, "--scope", "integrations"], env, timeout=60)
    line = error_line(stderr)
    assert rc == 4, stderr
    assert "page[offset]" in line and "offset 10,000" in line
    assert f"what was harvested is kept in {out}" in line
    assert line.endswith("rerun with --scope jobs --append")
    written = read_lines(out)
    # to stdout nothing is kept and --append is refused: the advice is a plain --scope jobs
    to_stdout = ["harvest", "elasticpath", "--out", "-", "--rate-limit", "0", "--quiet"]
    rc, _, stderr = await run_cli([*to_stdout, "--scope", "integrations"], env, timeout=60)
    line = error_line(stderr)
    assert rc == 4 and line.endswith("rerun with --scope jobs") and "--append" not in line
    # Exactly the newest 10,099 records of the listing, in its order: no gap, nothing dropped
    # as a duplicate. Pages of 100 overlap by one record (page[offset] = next - 1: how the
    # pager notices a shifted listing), so they start at offsets 0, 99, ..., 9,999 (the last
    # start <= 10,000) and end at record 10,098; the next, at offset 10,098, is refused.
    # The rest (record 10,099 on) comes with --scope jobs --append below.
    newest = [str(i) for i in emulator.store.logs("elasticpath").ids()]  # its only integration
    assert line_ids(written) == newest[:10_099]
    rc, _, stderr = await run_cli([*args, "--scope", "jobs", "--append"], env, timeout=60)
    assert rc == 0 and f"duplicates dropped {len(written):,}" in stderr, stderr
    assert read_lines(out)[: len(written)] == written
    assert_exactly_once(out, store_records(emulator, "elasticpath"))
    state = load_state(state_of(out))
    assert state is not None and state.scope == "jobs" and not state.in_progress
    rc, _, stderr = await run_cli(args, env, timeout=60)  # the state's scope is kept
    assert rc == 0 and "found new since the last complete run: 0 records" in stderr, stderr


@pytest.mark.emulator(integrations=2, jobs_per_integration=2, logs=100)
async def test_a_state_keeps_its_scope_when_none_is_given(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A harvest made with the old default (integrations) continues as it was."""
    out = tmp_path / "logs.jsonl"
    first = await harvest(emulator, "elasticpath", out, scope="integrations")
    again = await harvest(emulator, "elasticpath", out)
    assert first.complete and again.mode == "incremental" and again.records == 0
    state = load_state(state_of(out))
    assert state is not None and state.scope == "integrations"


# --- --since on a rerun ---------------------------------------------------------------------


@pytest.mark.emulator(integrations=3, jobs_per_integration=2, logs=300)
@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_since_on_a_rerun_is_applied(
    emulator: Emulator, tmp_path: Path, provider: str
) -> None:
    everything = store_records(emulator, provider)
    times = sorted(created_at(provider, raw) for raw in everything.values())
    late, early = times[2 * len(times) // 3], times[len(times) // 3]

    def since(bound: datetime) -> dict[str, bytes]:
        return {i: b for i, b in everything.items() if created_at(provider, b) >= bound}

    out = tmp_path / "logs.jsonl"
    first = await harvest(emulator, provider, out, since=late)
    assert first.complete
    assert_exactly_once(out, since(late))
    kept = out.read_bytes()
    # an earlier --since: read again down to it, keeping what is there, no duplicate
    wider = await harvest(emulator, provider, out, since=early)
    assert wider.complete and wider.records == len(since(early)) - len(since(late))
    assert any("reaches further back" in note for note in wider.notes)
    assert "note: --since" in wider.summary()
    assert out.read_bytes()[: len(kept)] == kept
    assert_exactly_once(out, since(early))
    # without --since: the state's bound is kept (an incremental run)
    same = await harvest(emulator, provider, out)
    assert same.mode == "incremental" and same.records == 0 and not same.notes
    state = load_state(state_of(out))
    assert state is not None and state.since == early.isoformat()

    # an interrupted harvest resumed with an earlier --since completes down to it
    part = tmp_path / "part.jsonl"
    stopped = await harvest(emulator, provider, part, since=late, max_items=20, page_size=10)
    assert stopped.stopped_at_max_items
    resumed = await harvest(emulator, provider, part, since=early, page_size=10)
    assert resumed.complete and resumed.notes
    assert_exactly_once(part, since(early))


# --- SIGTERM and the demo -------------------------------------------------------------------


@pytest.mark.emulator(integrations=4, jobs_per_integration=3, logs=1000, faults={
    "seed": 4, "rates": {"latency": 1.0}, "latency_seconds": 0.04, "latency_jitter_seconds": 0.04
})  # fmt: skip
async def test_sigterm_saves_progress_exits_143_and_the_rerun_continues(
    emulator: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "term.jsonl"
    command = cli_command(
        "harvest", "elasticpath", "--out", str(out), "--rate-limit", "1000", "--page-size", "20"
    )
    env = cli_env(emulator)
    # stop it once a few hundred records are in
    rc, err = await signal_at_progress(command, env, signal.SIGTERM, records=200)
    assert rc == 143, err
    text = err.decode()
    assert "Traceback" not in text
    assert text.strip().splitlines()[-1] == (
        "integration-logs: terminated (SIGTERM); progress is saved, rerun the same command to "
        "continue"
    )
    state = load_state(state_of(out))
    assert state is not None and state.in_progress and state.checkpoint
    assert 0 < state.out_bytes == out.stat().st_size  # saved at the last page boundary
    rc, _, stderr = await run_cli(
        ["harvest", "elasticpath", "--out", str(out), "--rate-limit", "1000", "--quiet"], env
    )
    assert rc == 0 and "resumed and harvested" in stderr, stderr
    assert_exactly_once(out, store_records(emulator, "elasticpath"))


def test_the_demo_does_not_replace_an_output_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mine.jsonl"
    out.write_text('{"id": 1}\n')
    assert main(["demo", "--out", str(out), "--quiet"]) == 2
    line = error_line(capsys.readouterr().err)
    assert f"--out {out} already holds data; nothing was changed" in line and "--force" in line
    assert out.read_text() == '{"id": 1}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.jsonl"]


@pytest.mark.emulator(integrations=2, logs=60)
async def test_a_failed_write_names_the_users_path_not_a_temporary_file(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "logs.jsonl"

    def full_disk(path: Path, state: object) -> None:
        temp = path.with_name(f".{path.name}.x1y2.tmp")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(temp))

    monkeypatch.setattr(_run, "save_state", full_disk)
    with pytest.raises(OSError) as info:
        await harvest(emulator, "sendcloud", out)
    message = str(info.value)
    assert message.startswith(f"cannot write state file {out}.state.json: ")
    assert ".tmp" not in message and "rerun the same command" in message
    assert info.value.errno == errno.ENOSPC
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no empty output left behind
