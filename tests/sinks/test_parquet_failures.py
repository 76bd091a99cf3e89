"""The Parquet sink's failures: a crash between data files and manifest, lock, missing or
read-only directory, damaged or newer manifest, full disk, and OS error mapping."""

from __future__ import annotations

import asyncio
import errno
import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Collection, Iterator
from pathlib import Path

import pytest

from integration_logs_async.sinks import (
    SinkError,
    SinkFullError,
    SinkLockedError,
    SinkReadOnlyError,
    SinkSchemaError,
    SinkUnavailableError,
    StoreKey,
    _durable,
    _manifest,
    parse_sink_url,
)
from integration_logs_async.sinks import _parquet as parquet_module
from integration_logs_async.sinks._durable import os_error
from integration_logs_async.sinks._parquet import ParquetSink

from ._filesinks import (
    PROVIDER,
    STORE,
    error_in_unprivileged_child,
    held_in_another_process,
    log_rows,
)

KEY = StoreKey(PROVIDER, STORE, "logs:all")
ROOT = Path(__file__).parents[2]


def sink_at(path: Path) -> ParquetSink:
    return ParquetSink(parse_sink_url(f"parquet://{path}"))


def data_files(directory: Path) -> list[str]:
    return sorted(p.name for p in (directory / "logs").rglob("*") if p.is_file())


def run_child(body: str) -> str:
    """Run ``body`` (inside ``async def main()``) in a fresh interpreter; its output."""
    script = (
        textwrap.dedent(
            f"""
        import asyncio, os, resource, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        from integration_logs_async.sinks import StoreKey, parse_sink_url
        from integration_logs_async.sinks import _manifest
        from integration_logs_async.sinks._parquet import ParquetSink
        from tests.sinks._filesinks import log_rows
        KEY = StoreKey({PROVIDER!r}, {STORE!r}, "logs:all")

        async def main():
        """
        )
        + textwrap.indent(textwrap.dedent(body), "    ")
        + "\nasyncio.run(main())\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    return child.stdout + child.stderr


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory an unprivileged child can enter (pytest's tmp_path is root's alone)."""
    directory = Path(tempfile.mkdtemp(prefix="ila-parquet-"))
    directory.chmod(0o755)
    try:
        yield directory
    finally:
        for path in (directory, *directory.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(directory)


async def test_a_crash_before_the_manifest_leaves_files_removed_at_the_next_open(
    tmp_path: Path,
) -> None:
    out = run_child(
        f"""
        sink = ParquetSink(parse_sink_url("parquet://{tmp_path}"))
        await sink.open(KEY)
        await sink.write(log_rows(0, 10), b'{{"n": 1}}')
        _manifest.dumps = lambda manifest: os._exit(9)  # killed after the data files
        await sink.write(log_rows(10, 10), b'{{"n": 2}}')
        """
    )
    assert out == ""
    before = data_files(tmp_path)
    partition = tmp_path / "logs/provider=sendcloud%2Fv3/day=unknown"
    (partition / "notes.txt").write_text("mine")
    (partition / "other.parquet").write_bytes(b"not ours")
    sink = sink_at(tmp_path)
    assert await sink.open(KEY) == b'{"n": 1}'
    listed = [f.path for f in sink._manifest.files]
    await sink.close()
    assert len(sink.removed) == len(before) - len(listed) > 0
    assert all(path not in listed for path in sink.removed)
    assert sorted(data_files(tmp_path)) == sorted(
        [Path(p).name for p in listed] + ["notes.txt", "other.parquet"]
    )


async def test_a_failure_between_files_and_manifest_commits_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = sink_at(tmp_path)
    await sink.open(KEY)
    await sink.write(log_rows(0, 10), b'{"n": 1}')
    committed = data_files(tmp_path)

    def fail(manifest: _manifest.Manifest) -> bytes:
        raise RuntimeError("injected between the data files and the manifest")

    monkeypatch.setattr(_manifest, "dumps", fail)
    with pytest.raises(RuntimeError, match="injected"):
        await sink.write(log_rows(10, 10), b'{"n": 2}')
    monkeypatch.undo()
    assert data_files(tmp_path) == committed  # the batch's files are gone again
    await sink.close()
    again = sink_at(tmp_path)
    assert await again.open(KEY) == b'{"n": 1}'
    await again.close()
    assert again.removed == []


async def test_a_directory_in_use_by_another_process_is_locked_at_once(tmp_path: Path) -> None:
    script = f"""
        import asyncio
        from integration_logs_async.sinks import StoreKey, parse_sink_url
        from integration_logs_async.sinks._parquet import ParquetSink
        sink = ParquetSink(parse_sink_url("parquet://{tmp_path}"))
        asyncio.run(sink.open(StoreKey("elasticpath", "other store", "logs")))
    """
    with held_in_another_process(script):
        sink = sink_at(tmp_path)
        with pytest.raises(SinkLockedError, match=r"another harvest \(process \d+\)") as caught:
            await sink.open(KEY)
        assert repr(STORE) in str(caught.value)
        await sink.close()
    sink = sink_at(tmp_path)
    await sink.open(KEY)
    await sink.close()


async def test_a_second_sink_in_this_process_is_locked(tmp_path: Path) -> None:
    first = sink_at(tmp_path)
    await first.open(KEY)
    with pytest.raises(SinkLockedError, match="one harvest writes a Parquet directory"):
        await sink_at(tmp_path).open(KEY)
    await first.close()
    third = sink_at(tmp_path)
    await third.open(KEY)
    await third.close()


async def test_a_directory_whose_parent_is_missing(tmp_path: Path) -> None:
    with pytest.raises(SinkUnavailableError, match="nope does not exist"):
        await sink_at(tmp_path / "nope" / "out").open(KEY)


def test_a_read_only_directory(shared_dir: Path) -> None:
    shared_dir.chmod(0o555)
    # as root, chmod stops nobody: the child drops to uid 65534 first
    answer = error_in_unprivileged_child(lambda: sink_at(shared_dir).open(KEY))
    assert answer.startswith("SinkReadOnlyError: cannot write"), answer
    inside = error_in_unprivileged_child(lambda: sink_at(shared_dir / "new").open(KEY))
    assert inside.startswith("SinkReadOnlyError"), inside


async def test_a_damaged_manifest_is_refused_and_kept(tmp_path: Path) -> None:
    sink = sink_at(tmp_path)
    await sink.open(KEY)
    await sink.write(log_rows(0, 3), b"{}")
    await sink.close()
    manifest = tmp_path / "_manifest.json"
    damaged = manifest.read_bytes()[:-20]
    manifest.write_bytes(damaged)
    before = data_files(tmp_path)
    with pytest.raises(SinkSchemaError, match=r"damaged.*not start over.*restore it"):
        await sink_at(tmp_path).open(KEY)
    assert manifest.read_bytes() == damaged and data_files(tmp_path) == before


async def test_a_lost_manifest_with_data_files_is_refused(tmp_path: Path) -> None:
    sink = sink_at(tmp_path)
    await sink.open(KEY)
    await sink.write(log_rows(0, 3), b"{}")
    await sink.close()
    (tmp_path / "_manifest.json").unlink()
    before = data_files(tmp_path)
    with pytest.raises(SinkSchemaError, match=r"data files but no _manifest\.json"):
        await sink_at(tmp_path).open(KEY)
    assert data_files(tmp_path) == before


async def test_a_manifest_of_a_newer_version_is_refused(tmp_path: Path) -> None:
    sink = sink_at(tmp_path)
    await sink.open(KEY)
    await sink.close()
    manifest = tmp_path / "_manifest.json"
    document = json.loads(manifest.read_bytes())
    document["version"] = 2
    manifest.write_text(json.dumps(document))
    with pytest.raises(SinkSchemaError, match=r"layout version 2.*newer"):
        await sink_at(tmp_path).open(KEY)


@pytest.mark.parametrize("failing", ["files", "directories"])
async def test_a_failed_flush_commits_nothing_and_leaves_no_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    sink = sink_at(tmp_path)
    await sink.open(KEY)
    await sink.write(log_rows(0, 10), b'{"n": 1}')
    committed = data_files(tmp_path)
    real_fsync_all = _durable.fsync_all

    def fsync_all(paths: Collection[Path], *, directories: bool = False) -> None:
        if directories == (failing == "directories"):  # before or after the renames
            raise OSError(errno.EIO, "Input/output error")
        real_fsync_all(paths, directories=directories)

    monkeypatch.setattr(parquet_module, "fsync_all", fsync_all)
    with pytest.raises(SinkError, match="Input/output error"):
        await sink.write(log_rows(10, 30), b'{"n": 2}')  # 30 rows: files for several days
    monkeypatch.undo()
    assert data_files(tmp_path) == committed  # neither temporary nor renamed files are left
    await sink.close()
    again = sink_at(tmp_path)
    assert await again.open(KEY) == b'{"n": 1}'
    await again.close()
    assert again.removed == []


async def test_a_full_disk_commits_nothing_of_the_batch(tmp_path: Path) -> None:
    """RLIMIT_FSIZE stands in for a full disk: writes past it fail with EFBIG."""
    out = run_child(
        f"""
        sink = ParquetSink(parse_sink_url("parquet://{tmp_path}"))
        await sink.open(KEY)
        await sink.write(log_rows(0, 100), b'{{"n": 1}}')
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
        try:
            await sink.write(log_rows(100, 2_000), b'{{"n": 2}}')
        except Exception as exc:
            print(type(exc).__name__, exc)
        else:
            print("written")
        await sink.close()
        """
    )
    assert out.startswith("SinkFullError") and "the disk is full" in out, out
    sink = sink_at(tmp_path)
    assert await sink.open(KEY) == b'{"n": 1}'
    assert sum(f.rows for f in sink._manifest.files) == 100
    await sink.close()
    assert sink.removed == []  # the failed batch removed its own files


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), SinkFullError),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), SinkFullError),
        (OSError(errno.EROFS, "Read-only file system"), SinkReadOnlyError),
        (OSError(errno.EACCES, "Permission denied"), SinkReadOnlyError),
        (OSError("IOError: No space left on device. Detail: [errno 28]"), SinkFullError),
        (OSError(errno.EIO, "Input/output error"), SinkError),
    ],
)
def test_os_errors_are_mapped(error: OSError, kind: type[SinkError]) -> None:
    mapped = os_error(error, "writing to", "parquet:///data")
    assert type(mapped) is kind and "parquet:///data" in str(mapped)


async def test_a_cancelled_write_is_all_or_nothing_and_leaves_no_files(tmp_path: Path) -> None:
    sink = sink_at(tmp_path)
    await sink.open(KEY)
    task = asyncio.create_task(sink.write(log_rows(0, 5_000), b'{"n": 1}'))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await sink.close()
    again = sink_at(tmp_path)
    state = await again.open(KEY)
    rows = sum(f.rows for f in again._manifest.files)
    await again.close()
    assert (state, rows) in {(None, 0), (b'{"n": 1}', 5_000)}
    assert again.removed == []  # the cancelled batch removed its own files
    assert len(data_files(tmp_path)) == len(again._manifest.files)
