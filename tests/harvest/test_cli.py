"""``integration-logs harvest`` and ``demo`` in subprocesses against the emulator."""

# ruff: noqa: ASYNC240 - small local files in tests

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import msgspec
import pytest

from integration_logs_async.cli import main
from integration_logs_async.emulator import Emulator
from integration_logs_async.providers.sendcloud._records import raw_log as sendcloud_raw

from .._support.cli import cli_env, error_line, run_cli
from .._support.store import store_records
from ._helpers import LATENCY, assert_exactly_once, read_lines


def summary_numbers(stderr: str) -> dict[str, int]:
    """pages/requests/retries/429s/duplicates dropped/records in file of the summary."""
    line = next(x for x in stderr.splitlines() if x.startswith("  pages "))
    pattern = r"(pages|requests|retries|429s|duplicates dropped|records in file) ([\d,]+)"
    return {key: int(value.replace(",", "")) for key, value in re.findall(pattern, line)}


def created(raw: bytes) -> datetime:
    value = sendcloud_raw(msgspec.Raw(raw)).created_at
    assert value is not None
    return value


@pytest.mark.emulator(integrations=3, jobs_per_integration=2, logs=300, faults=LATENCY)
async def test_harvest_then_incremental_rerun(emulator: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "ep.jsonl"
    env = cli_env(emulator)
    args = [
        "harvest",
        "elasticpath",
        "--out",
        str(out),
        "--scope",
        "jobs",
        "--concurrency",
        "3",
        "--rate-limit",
        "1000",
    ]
    rc, stdout, stderr = await run_cli(
        [*args, "--page-size", "10", "--progress-interval", "0.02"], env
    )
    assert rc == 0, stderr
    assert stdout == b""
    assert_exactly_once(out, store_records(emulator, "elasticpath"))
    lines = stderr.splitlines()
    progress = [x for x in lines if x.startswith("progress: ")]
    assert progress, stderr  # plain progress lines: stderr is a pipe, not a terminal
    assert all(
        re.match(r"progress: [\d,]+ records, [\d,]+ pages, [\d,]+ requests, ", x) for x in progress
    )
    assert "\r" not in stderr and "\x1b" not in stderr
    assert (
        lines[-2].startswith("elasticpath: harvested 300 records in ") and "[complete]" in lines[-2]
    )
    assert summary_numbers(stderr)["records in file"] == 300
    assert Path(str(out) + ".state.json").exists()

    added = emulator.add_logs("elasticpath", 9)
    emulator.reset_stats()
    rc, _, stderr = await run_cli([*args, "--quiet"], env)
    assert rc == 0, stderr
    assert "found new since the last complete run: 9 records" in stderr
    assert not any(x.startswith("progress: ") for x in stderr.splitlines())
    numbers = summary_numbers(stderr)
    assert numbers["records in file"] == 309
    # one token, one jobs listing per integration, the integrations, one page per job
    assert numbers["requests"] == len(emulator.requests) <= 1 + 1 + 3 + 6
    lines_after = assert_exactly_once(out, store_records(emulator, "elasticpath"))
    assert {json.loads(x)["id"] for x in lines_after[300:]} == set(added)


@pytest.mark.emulator(integrations=3, logs=150)
async def test_stdout_output_and_base_url_flag(emulator: Emulator, tmp_path: Path) -> None:
    env = cli_env(emulator)
    del env["SENDCLOUD_API_BASE_URL"]  # given as --base-url instead
    rc, stdout, stderr = await run_cli(
        [
            "harvest",
            "sendcloud",
            "--out",
            "-",
            "--scope",
            "all",
            "--rate-limit",
            "1000",
            "--base-url",
            emulator.sendcloud_url,
        ],
        env,
        cwd=tmp_path,
    )
    assert rc == 0, stderr
    (tmp_path / "stdout.jsonl").write_bytes(stdout)
    assert_exactly_once(tmp_path / "stdout.jsonl", store_records(emulator, "sendcloud"))
    assert "harvested 150 records" in stderr and "-> -" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stdout.jsonl"]  # no state file
    rc, _, stderr = await run_cli(["harvest", "sendcloud", "--out", "-", "--state", "s.json"], env)
    assert rc == 2 and "stdout cannot be truncated" in error_line(stderr)


@pytest.mark.emulator(integrations=3, jobs_per_integration=2, logs=200)
async def test_since_and_max_items_then_rerun(emulator: Emulator, tmp_path: Path) -> None:
    env = cli_env(emulator)
    store = store_records(emulator, "sendcloud")
    since = "2024-05-21T00:00:00Z"
    limit = datetime.fromisoformat(since)
    wanted = {i: b for i, b in store.items() if created(b) >= limit}
    assert 20 < len(wanted) < 180
    out = tmp_path / "sc.jsonl"
    rc, _, stderr = await run_cli(
        ["harvest", "sendcloud", "--out", str(out), "--since", since, "--rate-limit", "1000"], env
    )
    assert rc == 0, stderr
    assert_exactly_once(out, wanted)

    ep_out = tmp_path / "ep.jsonl"
    args = [
        "harvest",
        "elasticpath",
        "--out",
        str(ep_out),
        "--scope",
        "jobs",
        "--rate-limit",
        "1000",
        "--max-items",
        "70",
    ]
    rc, _, stderr = await run_cli(args, env)
    assert rc == 0, stderr
    assert "harvested 70 records" in stderr and "stopped at --max-items" in stderr
    assert len(read_lines(ep_out)) == 70
    rc, _, stderr = await run_cli(args, env)
    assert rc == 0 and "resumed and harvested 70 records" in stderr, stderr
    rc, _, stderr = await run_cli(args[:-2], env)
    assert rc == 0 and "resumed and harvested 60 records" in stderr and "[complete]" in stderr
    assert_exactly_once(ep_out, store_records(emulator, "elasticpath"))


@pytest.mark.emulator(integrations=2, logs=40)
async def test_exit_codes_and_one_line_reasons(emulator: Emulator, tmp_path: Path) -> None:
    out = str(tmp_path / "x.jsonl")
    env = cli_env(emulator)

    # 3: credentials refused (Elastic Path token request, Sendcloud Basic)
    for provider, bad in (
        ("elasticpath", "EPCC_CLIENT_SECRET"),
        ("sendcloud", "SENDCLOUD_SECRET_KEY"),
    ):
        rc, _, stderr = await run_cli(["harvest", provider, "--out", out], {**env, bad: "wrong"})
        assert rc == 3, stderr
        line = error_line(stderr)
        assert "401" in line and "wrong" not in line  # no secret in the message
        assert not Path(out + ".state.json").exists()  # nothing harvested, nothing to resume

    # 4: unknown integration (404 after listing nothing; by default Elastic Path lists its jobs)
    ep_bogus = "00000000-0000-4000-8000-000000000000"
    for provider, bogus, scope in (
        ("elasticpath", ep_bogus, "integrations"),
        ("elasticpath", ep_bogus, None),
        ("sendcloud", "987654321", None),
    ):
        extra = [] if scope is None else ["--scope", scope]
        rc, _, stderr = await run_cli(
            ["harvest", provider, "--out", out, "--integration", bogus, *extra], env
        )
        assert rc == 4, stderr
        line = error_line(stderr)
        assert bogus in line and "404" in line
        assert not Path(out).exists() and not Path(out + ".state.json").exists()

    # a state file of another harvest
    rc, _, stderr = await run_cli(["harvest", "elasticpath", "--out", out, "--scope", "jobs"], env)
    assert rc == 0, stderr
    rc, _, stderr = await run_cli(["harvest", "elasticpath", "--out", out, "--scope", "all"], env)
    line = error_line(stderr)
    assert rc == 2 and "holds another harvest's records" in line, stderr
    assert "--append" in line and "--force" in line


BAD_USAGE = [
    (["--concurrency", "0"], "argument --concurrency: must be >= 1"),
    (["--since", "yesterday"], "--since 'yesterday' is not ISO-8601"),
    (["--since", "2024-05-01T00:00:00"], "needs a timezone"),
    (["--page-size", "x"], "'x' is not an integer"),
    (["--format", "csv"], "invalid choice"),
    (["--scope", "jobs"], "Sendcloud has no jobs"),
    (["--scope", "all", "--integration", "1"], "--integration selects integrations"),
    (["--out", "-", "--state", "s.json"], "stdout cannot be truncated"),
    (["--out", "-", "--append"], "--append and --force are about an output file, not stdout"),
]


@pytest.mark.parametrize(("extra", "reason"), BAD_USAGE, ids=[" ".join(r) for r, _ in BAD_USAGE])
def test_bad_usage_exits_2_with_the_reason(
    extra: list[str], reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rejected before any request (in-process: ``main(argv, env)``)."""
    env = {
        "SENDCLOUD_PUBLIC_KEY": "k",
        "SENDCLOUD_SECRET_KEY": "s",
        "SENDCLOUD_API_BASE_URL": "http://127.0.0.1:9",
    }
    argv = ["harvest", "sendcloud", "--out", str(tmp_path / "x.jsonl"), *extra]
    try:
        rc = main(argv, env)
    except SystemExit as exc:  # argparse
        rc = exc.code  # type: ignore[assignment]
    assert rc == 2
    err = capsys.readouterr().err
    assert reason in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(("integration-logs", "usage:"))
    assert not list(tmp_path.iterdir())  # nothing created


def test_bad_settings_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "x.jsonl")
    assert main(["harvest", "elasticpath", "--out", out], {"PATH": "/bin"}) == 2
    assert "missing Elastic Path credentials" in error_line(capsys.readouterr().err)
    assert main(["harvest", "sendcloud", "--out", out], {}) == 2
    assert "missing Sendcloud credentials" in error_line(capsys.readouterr().err)
    env = {
        "EPCC_CLIENT_ID": "i",
        "EPCC_CLIENT_SECRET": "s",
        "EPCC_API_BASE_URL": "http://127.0.0.1:9",
    }
    assert main(["harvest", "elasticpath", "--out", str(tmp_path)], env) == 2  # a directory
    assert f"--out {tmp_path} is a directory" in error_line(capsys.readouterr().err)
    Path(out + ".state.json").write_text("[]")
    assert main(["harvest", "elasticpath", "--out", out], env) == 2
    assert "is not a harvest state" in error_line(capsys.readouterr().err)


async def test_demo_reports_exactness(tmp_path: Path) -> None:
    out = tmp_path / "demo.jsonl"
    rc, _, stderr = await run_cli(
        [
            "demo",
            "--logs",
            "1500",
            "--integrations",
            "5",
            "--jobs-per-integration",
            "3",
            "--out",
            str(out),
            "--rate-limit",
            "500",
        ],
        cli_env(),
        timeout=60,
    )
    assert rc == 0, stderr
    assert "harvested 1,500 records" in stderr
    assert (
        "check: 1,500 lines, 1,500 distinct ids of the store's 1,500 logs, 1,500 lines equal to "
        "the server's bytes -> every record exactly once, byte for byte" in stderr
    )
    assert len(read_lines(out)) == 1500
