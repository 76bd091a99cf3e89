"""The sink benchmark's worker variants (run by ``benchmarks._worker``): rows and writes.

- ``sink_rows``: read ``max_records`` logs from the emulator exactly as the sink harvest
  reads them (:func:`~integration_logs_async.harvest._reading.build_stream`, fan-out), build
  each one's row (:func:`integration_logs_async.sinks.log_row`) and its JSON Lines line
  (the file harvest's ``encode_line``, raw format), and pickle them with a realistic state
  document to ``spec["rows_file"]``. Not a measurement: it prepares the write path's input.
- ``sink_write``: load that file, open the sink (``spec["to"]``; tables created before the
  clock starts), then, measured, write the rows in batches of ``spec["batch"]`` (None: the
  sink's :attr:`~integration_logs_async.sinks.Sink.batch_records`, what a harvest gives it)
  with ``sink.write(rows, state)``: one transaction per batch. ``close_s``: the sink's close
  after the clock stopped (DuckDB's checkpoint compresses the whole table then).
  ``to`` of kind ``jsonl`` is the baseline: the same batches as lines through the file
  harvest's ``JsonlWriter``, then ``sync()`` (flush + fsync) and the state file replaced
  atomically (``save_state``: temp, fsync, rename, fsync directory), as the file harvest
  commits each batch.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

__all__ = ["sink_rows", "sink_write"]

Spec = dict[str, Any]
Run = Callable[[Awaitable[Any]], Awaitable[Any]]
STORE = "bench:emulator"


def _save(path: str, data: dict[str, Any]) -> None:
    with open(path, "wb") as handle:
        pickle.dump(data, handle, protocol=pickle.HIGHEST_PROTOCOL)


def _load(path: str) -> dict[str, Any]:
    with open(path, "rb") as handle:
        data: dict[str, Any] = pickle.load(handle)
    return data


async def sink_rows(spec: Spec, run: Run, client: Any) -> dict[str, Any]:
    """Read the logs, build rows and lines, pickle them (see the module)."""
    from integration_logs_async.harvest import HarvestOptions
    from integration_logs_async.harvest._output import encode_line
    from integration_logs_async.harvest._reading import build_stream
    from integration_logs_async.harvest._sink_state import SinkState, encode_state
    from integration_logs_async.harvest._state import Watermark
    from integration_logs_async.sinks import log_row

    options = HarvestOptions(
        provider=spec["provider"],
        to="duckdb:///unused.duckdb",
        concurrency=spec.get("concurrency", 8),
        max_items=spec["max_records"],
    )
    provider = client.spec.checkpoint_name
    normalize = client.spec.normalize
    rows: list[Any] = []
    lines: list[bytes] = []
    marks: dict[str, Watermark] = {}
    checkpoint: str | None = None

    async def read() -> None:
        nonlocal checkpoint
        async with client:
            stream = build_stream(client, options, None, None)
            async with stream:
                async for sourced in stream.pages():
                    source = sourced.source
                    for record in sourced.page.items:
                        if source.label not in marks:
                            created = record.created_at
                            marks[source.label] = Watermark(
                                id=record.id,
                                created_at=None if created is None else created.isoformat(),
                            )
                        rows.append(log_row(record, source, normalize, provider, STORE))
                        lines.append(encode_line(record, source, "raw", normalize))
                    if len(rows) <= spec["max_records"] // 2:
                        checkpoint = stream.checkpoint  # a mid-harvest checkpoint

    await run(read())
    state = SinkState(
        harvest="bench",
        provider=provider,
        scope=options.chosen_scope,
        api_version=options.chosen_api_version,
        checkpoint=checkpoint,
        pending_watermarks=marks,
        records=len(rows),
    )
    _save(spec["rows_file"], {"rows": rows, "lines": lines, "state": encode_state(state)})
    return {
        "records": len(rows),
        "raw_bytes": sum(len(row[-1]) for row in rows),
        "line_bytes": sum(map(len, lines)),
    }


async def sink_write(spec: Spec, run: Run) -> dict[str, Any]:
    """Write the pickled rows into ``spec["to"]`` in batches (see the module)."""
    data = _load(spec["rows_file"])
    rows, lines, state = data["rows"], data["lines"], data["state"]
    from integration_logs_async._constants import HARVEST_SAVE_EVERY_RECORDS
    from integration_logs_async.sinks import StoreKey, open_sink, parse_sink_url

    target = parse_sink_url(spec["to"])
    if target.kind == "jsonl":
        assert target.path is not None
        batch = int(spec.get("batch") or HARVEST_SAVE_EVERY_RECORDS)
        return await _jsonl_write(target.path, lines, batch, run)

    sink = open_sink(spec["to"])
    batch = int(spec.get("batch") or sink.batch_records)
    key = StoreKey(provider=rows[0][0], store=STORE, harvest="bench")
    inserted = 0

    async def write_all() -> None:
        nonlocal inserted
        for start in range(0, len(rows), batch):
            inserted += await sink.write(rows[start : start + batch], state)

    try:
        await sink.open(key)  # tables created, lock taken: not measured
        await run(write_all())
    finally:
        closing = time.perf_counter()
        await sink.close()  # DuckDB's checkpoint: reported beside the write path, not in it
        close_s = time.perf_counter() - closing
    return {
        "records": inserted,
        "batches": -(-len(rows) // batch),
        "batch": batch,
        "close_s": close_s,
    }


async def _jsonl_write(path_text: str, lines: list[bytes], batch: int, run: Run) -> dict[str, Any]:
    """The baseline: lines, ``sync()`` and the state file per batch, as the file harvest."""
    from integration_logs_async.harvest._output import JsonlWriter
    from integration_logs_async.harvest._state import HarvestState, save_state

    path = Path(path_text)
    state_path = path.with_name(path.name + ".state.json")
    state = HarvestState(fingerprint="bench", out=str(path), provider="sendcloud")
    writer = JsonlWriter(str(path), keep_bytes=None)
    written = 0

    async def write_all() -> None:
        nonlocal written
        for start in range(0, len(lines), batch):
            for line in lines[start : start + batch]:
                writer.write(line)
            written += len(lines[start : start + batch])
            writer.sync()
            state.out_bytes, state.records = writer.size, written
            save_state(state_path, state)

    try:
        await run(write_all())
    finally:
        writer.close()
    return {"records": written, "batches": -(-len(lines) // batch), "output_bytes": writer.size}
