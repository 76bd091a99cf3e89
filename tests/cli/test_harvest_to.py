"""``integration-logs harvest --to URL [--store NAME]``: flags, usage errors, and one line with
its exit code for each sink failure (in this process, with an in-memory sink)."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integration_logs_async.emulator import Emulator
from integration_logs_async.sinks import (
    SinkAuthError,
    SinkError,
    SinkFullError,
    SinkReadOnlyError,
    SinkSchemaError,
    SinkUnavailableError,
)

from .._support.cli import cli_env, error_line, run_main
from .._support.emulators import ThreadedEmulator
from ..harvest._sink_helpers import FakeDatabase, install_fake

URL = "postgresql://harvester:hunter2@db.example:5432/logs"
SHOWN = "postgresql://harvester@db.example:5432/logs"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with ThreadedEmulator(integrations=2, jobs_per_integration=2, logs=40) as emulator:
        yield emulator


def harvest(emu: Emulator, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    return run_main(
        ["harvest", "elasticpath", "--rate-limit", "0", "--quiet", *args], cli_env(emu), capsys
    )


def test_harvest_to_a_database_prints_the_summary(
    emu: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = FakeDatabase()
    install_fake(monkeypatch, db)
    code, out, err = harvest(emu, capsys, "--to", URL, "--store", "eu-shop")
    assert code == 0, err
    assert out == "" and "hunter2" not in err
    assert "elasticpath: harvested 40 records in " in err
    assert f"-> {SHOWN} [complete]" in err
    assert "rows written by this harvest 40 (store eu-shop)" in err
    assert len(db.store_rows("elasticpath", "eu-shop")) == 40
    code, _, err = harvest(emu, capsys, "--to", URL, "--store", "eu-shop")
    assert code == 0 and "found new since the last complete run: 0 records" in err


def test_the_default_store_names_the_host_and_public_id(
    emu: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = FakeDatabase()
    install_fake(monkeypatch, db)
    code, _, err = harvest(emu, capsys, "--to", URL)
    assert code == 0, err
    (key,) = db.states
    env = cli_env(emu)
    assert key.store == f"elasticpath:127.0.0.1:{env['EPCC_CLIENT_ID']}"
    assert env["EPCC_CLIENT_SECRET"] not in err + key.store


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (SinkFullError, 2),
        (SinkReadOnlyError, 2),
        (SinkAuthError, 3),
        (SinkUnavailableError, 4),
        (SinkSchemaError, 5),
    ],
)
def test_each_sink_failure_is_one_line_with_its_exit_code(
    emu: Emulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    failure: type[SinkError],
    code: int,
) -> None:
    db = FakeDatabase(fail_after=0, failure=failure)
    install_fake(monkeypatch, db)
    rc, _, err = harvest(emu, capsys, "--to", URL, "--page-size", "10", "--save-every", "10")
    assert rc == code, err
    assert f"{SHOWN} is full; nothing of this batch committed" in error_line(err)
    assert db.locks == set()


def test_a_locked_store_exits_6_at_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = FakeDatabase()
    install_fake(monkeypatch, db)
    db.locks.add(("elasticpath", "eu-shop"))
    # An emulator of its own: the module's may still serve an earlier test's last requests.
    with ThreadedEmulator(integrations=2, jobs_per_integration=2, logs=40) as own:
        rc, _, err = harvest(own, capsys, "--to", URL, "--store", "eu-shop")
        assert rc == 6
        assert "another harvest of store 'eu-shop' is writing to " + SHOWN in error_line(err)
        assert own.requests == []  # refused before any request


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--to", "mysql://h/db"], "--to scheme 'mysql' is not supported"),
        (["--to", "duckdb://host/x.duckdb"], "has a host"),
        (["--to", URL, "--state", "s.json"], "--state is for a JSON Lines file, not --to " + SHOWN),
        (["--to", URL, "--append"], "--append is for a JSON Lines file"),
        (["--to", URL, "--force"], "--force is for a JSON Lines file"),
        (["--to", URL, "--format", "raw"], "--format is for a JSON Lines file"),
        (["--to", URL, "--follow"], "--follow writes to a JSON Lines file (--out); database"),
        (["--out", "x.jsonl", "--store", "s"], "--store names the account in a database"),
        (["--to", "jsonl:///tmp/x.jsonl", "--store", "s"], "not in a JSON Lines file"),
    ],
)
def test_usage_errors_say_why(
    capsys: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    rc, _, err = run_main(["harvest", "sendcloud", *args], {}, capsys)
    assert rc == 2
    assert said in error_line(err)
    assert "hunter2" not in err


def test_out_and_to_together_or_neither_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run_main(["harvest", "sendcloud", "--out", "x", "--to", URL], {}, capsys)
    assert rc == 2 and "not allowed with argument" in err
    rc, _, err = run_main(["harvest", "sendcloud"], {}, capsys)
    assert rc == 2 and "one of the arguments --out --to is required" in err


def test_a_missing_extra_says_what_to_install(
    emu: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def no_duckdb(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "duckdb" or name.startswith("duckdb."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    import sys

    for module in [m for m in sys.modules if m.startswith("duckdb") or m.endswith("._duckdb")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setattr(builtins, "__import__", no_duckdb)
    rc, _, err = harvest(emu, capsys, "--to", "duckdb:///tmp/never.duckdb")
    assert rc == 2, err
    assert "pip install 'integration-logs-async[duckdb]'" in error_line(err)
    assert not Path("/tmp/never.duckdb").exists()


def test_jsonl_url_is_the_file_harvest(
    emu: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "logs.jsonl"
    rc, _, err = harvest(emu, capsys, "--to", f"jsonl://{out}")
    assert rc == 0, err
    assert len(out.read_bytes().splitlines()) == 40
    assert Path(f"{out}.state.json").exists() and f"-> {out} [complete]" in err


def test_help_shows_each_sink_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run_main(["harvest", "--help"], {}, capsys)
    assert rc == 0
    for example in (
        "--to duckdb:///",
        "--to parquet:///",
        "--to postgresql://",
        "--store",
        "NAME_integrations",
    ):
        assert example in out


def test_refused_credentials_exit_3_and_write_nothing(
    emu: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = FakeDatabase()
    install_fake(monkeypatch, db)
    env = {**cli_env(emu), "EPCC_CLIENT_SECRET": "wrong-secret"}
    rc, _, err = run_main(
        ["harvest", "elasticpath", "--to", URL, "--rate-limit", "0", "--quiet"], env, capsys
    )
    assert rc == 3, err
    error_line(err)
    assert "wrong-secret" not in err
    assert not db.rows and not db.states and not db.integrations
    assert db.opened == db.closed == 1 and not db.locks
