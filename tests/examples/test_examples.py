"""The scripts of ``examples/`` run as a user runs them (subprocesses), against the emulator.

Each script runs with ``--emulator`` and bounded options. The alert and DuckDB examples also
run the "real account" way, with the environment variables pointing at an emulator this test
owns, so their answers are checked against that emulator's store. The pytest example runs
through pytest, as written and in broken variants that must fail.
"""

from __future__ import annotations

import asyncio
import json
import queue
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from integration_logs_async.emulator import Emulator, Provider

from .._support.cli import cli_env
from .._support.emulators import ThreadedEmulator
from .._support.postgres import pg_dsn, postgres  # noqa: F401

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TIMEOUT = 120.0  # seconds: a bound for a hung script, not a timing assertion
ALERT = re.compile(r"^FAILED (\S+) integration=(\S+) status=(\S+) log=(\S+) ", re.MULTILINE)
# What duckdb_failures.py --emulator starts: the tests build the same emulator to compare.
DUCKDB_INTEGRATIONS, DUCKDB_LOGS = 5, 2000


def run(
    script: str, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``python examples/SCRIPT ARGS`` with a clean environment (``env`` added)."""
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        env=cli_env(None, **(env or {})),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def alerted_ids(stdout: str) -> list[str]:
    return [match[3] for match in ALERT.findall(stdout)]


@pytest.mark.parametrize(
    "script", ["alert_on_failures.py", "duckdb_failures.py", "fleet_of_three.py"]
)
def test_help_shows_how_to_run_it(script: str) -> None:
    done = run(script, "--help")
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
    assert "--emulator" in done.stdout


# -- alert_on_failures.py -------------------------------------------------------------------


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """An emulator in its own thread (the scripts run in other processes)."""
    with ThreadedEmulator(integrations=2, logs=20) as emu:
        yield emu


class _Webhook(BaseHTTPRequestHandler):
    posts: list[dict[str, str]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.posts.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A local webhook receiver: its URL and the JSON bodies posted to it."""
    posts: list[dict[str, str]] = []
    handler = type("Webhook", (_Webhook,), {"posts": posts})
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", posts
        server.shutdown()
        thread.join()


def test_alert_emulator_run_ends_after_max_alerts() -> None:
    done = run(
        "alert_on_failures.py", "sendcloud", "--emulator", "--interval", "0.2",
        "--arrival-rate", "20", "--max-alerts", "3",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(alerted_ids(done.stdout)) == 3
    assert done.stdout.endswith("stopped after alerting 3 failed logs\n")


def test_alerts_name_the_new_failed_logs_once_across_restarts(
    emulator: Emulator, tmp_path: Path, webhook: tuple[str, list[dict[str, str]]]
) -> None:
    env, state = emulator.env(), str(tmp_path / "alerts.state")
    first = run("alert_on_failures.py", "elasticpath", "--state", state, "--once", env=env)
    assert first.returncode == 0, first.stderr  # the first poll: a baseline, saved
    assert alerted_ids(first.stdout) == []
    failed = emulator.add_logs("elasticpath", 3, status_code=503, error="shop down")
    emulator.add_logs("elasticpath", 2, status_code=200)  # succeeded: no alert
    failed += emulator.add_logs("elasticpath", 2, status_code=None)  # no response

    url, posts = webhook
    second = run(
        "alert_on_failures.py", "elasticpath", "--state", state, "--max-alerts", "4",
        "--webhook", url, "--max-lines", "3", env=env,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert len(posts) == 1  # one burst, one message: 3 lines, then the rest counted
    lines = posts[0]["text"].splitlines()
    assert alerted_ids(posts[0]["text"]) == [str(i) for i in failed[:3]]
    assert all("status=503" in line and "shop down" in line for line in lines[:3])
    assert lines[3].startswith("... and 1 more failed logs (integration=")

    third = run("alert_on_failures.py", "elasticpath", "--state", state, "--once", env=env)
    assert third.returncode == 0, third.stderr
    assert alerted_ids(third.stdout) == [str(failed[4])]  # after the 4 alerted: none repeated
    assert " status=none " in third.stdout
    again = run("alert_on_failures.py", "elasticpath", "--state", state, "--once", env=env)
    assert alerted_ids(again.stdout) == []


def test_an_alert_the_webhook_refused_is_sent_by_the_next_run(
    emulator: Emulator, tmp_path: Path
) -> None:
    env, state = emulator.env(), str(tmp_path / "alerts.state")
    run("alert_on_failures.py", "sendcloud", "--state", state, "--once", env=env)
    failed = emulator.add_logs("sendcloud", 1, status_code=502)
    down = run(
        "alert_on_failures.py", "sendcloud", "--state", state, "--once",
        "--webhook", "http://127.0.0.1:9/hook", env=env,  # port 9 (discard): refused
    )  # fmt: skip
    assert down.returncode == 1
    assert "webhook failed" in down.stderr
    assert "rerun to send this alert again" in down.stderr
    rerun = run("alert_on_failures.py", "sendcloud", "--state", state, "--once", env=env)
    assert alerted_ids(rerun.stdout) == [str(failed[0])]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_alert_stops_cleanly_on_a_signal(sig: signal.Signals) -> None:
    script = [str(EXAMPLES / "alert_on_failures.py"), "sendcloud", "--emulator"]
    args = ["--interval", "0.2", "--arrival-rate", "20"]
    with subprocess.Popen(
        [sys.executable, *script, *args], env=cli_env(), stdout=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        lines: queue.Queue[str] = queue.Queue()
        stdout = process.stdout

        def read() -> None:
            for line in stdout:
                lines.put(line)

        reader = threading.Thread(target=read)
        reader.start()
        assert ALERT.match(lines.get(timeout=TIMEOUT))  # it runs: an alert was printed
        process.send_signal(sig)
        assert process.wait(timeout=TIMEOUT) == 0
        reader.join(TIMEOUT)
    rest = list(lines.queue)
    assert rest[-1].startswith("stopped after alerting ")


# -- duckdb_failures.py ---------------------------------------------------------------------


def _utc_day(text: str) -> date:
    """The UTC day of an ISO-8601 time (nanoseconds cut to micro)."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00")
    return datetime.fromisoformat(text).astimezone(UTC).date()


def expected_failures(emu: Emulator, provider: Provider, day: date) -> list[tuple[str, int]]:
    """Failed logs per integration name on ``day``, from the emulator's store and its
    integrations listing (not through the harvest or DuckDB)."""
    counts: Counter[str] = Counter()
    for raw in emu.store.logs(provider):
        log = json.loads(raw)
        if provider == "sendcloud":  # Sendcloud logs only failures
            integration, created = str(log["integration_id"]), log["created_at"]
        elif log["succeeded"]:
            continue
        else:
            integration = log["relationships"]["integration"]["data"]["id"]
            created = log["meta"]["timestamps"]["created_at"]
        if _utc_day(created) == day:
            counts[integration] += 1
    names = {str(i): n for i, n in _integration_names(emu, provider).items()}
    by_name = Counter({names[i]: n for i, n in counts.items()})
    return sorted(by_name.items(), key=lambda item: (-item[1], item[0]))[:10]


def _integration_names(emu: Emulator, provider: Provider) -> dict[object, str]:
    async def listing() -> dict[object, str]:
        if provider == "sendcloud":
            async with emu.sendcloud_client() as sc:
                return {i.id: i.shop_name or "" async for i in sc.integrations()}
        async with emu.elasticpath_client() as ep:
            return {i.id: i.name or "" async for i in ep.integrations()}

    return asyncio.run(listing())  # the emulator serves from its own thread and loop


def printed_table(stdout: str) -> tuple[str, list[tuple[str, int]]]:
    """The day and the (name, failures) rows duckdb_failures.py printed."""
    day = re.search(r"failed logs per integration on (\S+) \(UTC\):", stdout)
    assert day is not None, stdout
    table = re.split(r"^integration +failures\n", stdout, flags=re.M)[1]
    rows = re.findall(r"^(.+?)\s+(\d+)$", table, re.M)
    return day[1], [(name, int(count)) for name, count in rows]


@pytest.fixture(scope="module")
def duckdb_emulator() -> Iterator[Emulator]:
    """The emulator duckdb_failures.py --emulator starts (same config, so the same data)."""
    with ThreadedEmulator(integrations=DUCKDB_INTEGRATIONS, logs=DUCKDB_LOGS) as emu:
        yield emu


@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
def test_duckdb_answer_matches_the_store(
    duckdb_emulator: Emulator, provider: Provider, tmp_path: Path
) -> None:
    db, env = str(tmp_path / "logs.duckdb"), duckdb_emulator.env()
    done = run("duckdb_failures.py", provider, "--db", db, "--today", "2024-05-20", env=env)
    assert done.returncode == 0, done.stderr
    assert f"harvested {duckdb_emulator.store.log_count(provider)} new {provider} logs" in (
        done.stdout
    )
    day, rows = printed_table(done.stdout)
    assert day == "2024-05-19"
    expected = expected_failures(duckdb_emulator, provider, date(2024, 5, 19))
    assert rows == expected
    assert sum(count for _, count in expected) > 0

    again = run("duckdb_failures.py", provider, "--db", db, "--today", "2024-05-20", env=env)
    assert f"harvested 0 new {provider} logs" in again.stdout  # incremental: nothing new
    assert printed_table(again.stdout) == (day, rows)


@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
def test_duckdb_emulator_run_asks_about_its_last_day(
    duckdb_emulator: Emulator, provider: Provider, tmp_path: Path
) -> None:
    done = run("duckdb_failures.py", provider, "--emulator", "--db", str(tmp_path / "x.duckdb"))
    assert done.returncode == 0, done.stderr
    day, rows = printed_table(done.stdout)
    newest = max(_utc_day(_created_at(raw)) for raw in duckdb_emulator.store.logs(provider))
    assert day == newest.isoformat()  # the emulator's data ends there
    assert rows == expected_failures(duckdb_emulator, provider, newest)
    assert rows


def _created_at(raw: bytes) -> str:
    log = json.loads(raw)
    created = log.get("created_at") or log["meta"]["timestamps"]["created_at"]
    return str(created)


# -- test_with_emulator.py ------------------------------------------------------------------


def pytest_run(test_file: Path, *options: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *options, str(test_file)],
        env=cli_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_pytest_example_passes_as_documented() -> None:
    example = EXAMPLES / "test_with_emulator.py"
    done = pytest_run(example, "-o", "asyncio_mode=strict", cwd=EXAMPLES.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b4 passed\b", done.stdout), done.stdout


def test_pytest_example_passes_in_a_project_without_configuration(tmp_path: Path) -> None:
    copy = tmp_path / "test_with_emulator.py"  # no pytest configuration: strict mode
    copy.write_text((EXAMPLES / "test_with_emulator.py").read_text())
    done = pytest_run(copy, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b4 passed\b", done.stdout), done.stdout


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        pytest.param(("if not log.succeeded:", "if log.succeeded:"), 3, id="wrong-count"),
        pytest.param(("pytestmark = pytest.mark.asyncio", ""), 4, id="no-asyncio-mark"),
    ],
)
def test_pytest_example_fails_when_broken(
    tmp_path: Path, change: tuple[str, str], failing: int
) -> None:
    source = (EXAMPLES / "test_with_emulator.py").read_text()
    assert change[0] in source
    copy = tmp_path / "test_broken_example.py"
    copy.write_text(source.replace(change[0], change[1]))
    done = pytest_run(copy, cwd=tmp_path)
    if change[1] == "" and re.search(rf"\b{failing} skipped\b", done.stdout):
        # an async test no plugin runs: pytest >= 8.4 fails it, older releases (CI's lowest
        # set) skip it, saying so; either way none of the broken example's tests passes
        assert "async def functions are not natively supported" in done.stdout, done.stdout
        assert not re.search(r"\bpassed\b", done.stdout), done.stdout
        return
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(rf"\b{failing} failed\b", done.stdout), done.stdout


# -- fleet_of_three.py ----------------------------------------------------------------------


def test_fleet_of_three_harvests_every_store(pg_dsn: str, tmp_path: Path) -> None:  # noqa: F811
    stores = tmp_path / "stores.toml"
    done = run("fleet_of_three.py", "--emulator", "--to", pg_dsn, "--stores", str(stores))
    assert done.returncode == 0, done.stderr
    names = ["store-000", "store-001", "store-002"]
    assert sorted(re.findall(r"^(store-\d+): completed, 500 records$", done.stdout, re.M)) == names
    status = re.findall(r"^(store-\d+)\s+sendcloud\s+completed\s+1\s+500\s", done.stdout, re.M)
    assert status == names  # the status table: one row per store, by name
    text = stores.read_text()
    assert text.count("[[store]]") == 3
    assert '"$EMU_STORE_000_SK"' in text  # a variable reference, never the secret
    assert "emu-sendcloud-secret-key" not in text

    again = run("fleet_of_three.py", "--emulator", "--to", pg_dsn, "--stores", str(stores))
    assert again.returncode == 2  # the stores file is never replaced
    assert "exists" in again.stderr


def test_fleet_refuses_a_sink_that_is_not_postgresql(tmp_path: Path) -> None:
    done = run("fleet_of_three.py", "--emulator", "--to", f"duckdb:///{tmp_path}/x.duckdb")
    assert done.returncode == 2
    assert "a fleet writes to PostgreSQL" in done.stderr
    assert not list(tmp_path.iterdir())
