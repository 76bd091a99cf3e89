"""One client variant, measured in its own process: ``python -m benchmarks._worker SPEC``.

``SPEC`` is a JSON object (see :func:`main`); the last stdout line is a JSON result with
records, requests, wall seconds, the process's own CPU seconds (``time.process_time``:
user + system of every thread of this process) and its peak RSS (``ru_maxrss``).

Variants (every one touches each record's id and creation time, as a consumer would):

- ``lib_seq``: ``client.logs()`` with ``prefetch_pages=0``: one request at a time.
- ``lib_prefetch``: ``client.logs()`` with ``prefetch_pages=N`` (Elastic Path).
- ``lib_fanout``: ``client.logs_for_integrations(concurrency=N)`` (each child prefetching).
- ``aiohttp_naive``: aiohttp, ``await resp.json()``, a ``while`` loop over ``next`` links
  (Sendcloud v3: ``resp.links["next"]["url"]``, the ``Link`` header, with ``page_size=100``).
- ``httpx_pydantic``: httpx.AsyncClient, pydantic v2 ``model_validate_json``, same loop
  (Sendcloud v3: ``response.links``).
- ``harvest``: ``integration_logs_async.harvest.run_harvest`` to a file (the real job), or
  into a sink when the spec has ``to`` (a sink URL) and ``store``.
- ``sink_rows``, ``sink_write``: the sink write path (see ``benchmarks._sinks_work``).

Providers: ``elasticpath``, ``sendcloud`` (API v2) and ``sendcloud_v3`` (``SendcloudV3Client``
against the emulator's ``/api/v3``, the same store as v2).

Only the modules a variant needs are imported, so peak RSS is that variant's own.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

Spec = dict[str, Any]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- library variants --------------------------------------------------------------------------


def _library_client(spec: Spec) -> Any:
    from integration_logs_async import (
        BasicAuth,
        ClientCredentials,
        ElasticPathClient,
        SendcloudClient,
        SendcloudV3Client,
    )

    conn, creds = spec["conn"], spec["conn"]["credentials"]
    settings: dict[str, Any] = {
        "rate_limit": spec.get("rate_limit", 0),
        "prefetch_pages": spec.get("prefetch", 4),
        "max_connections": spec.get("max_connections", 16),
    }
    if spec.get("quiet_retries", True):
        import logging

        logging.getLogger("integration_logs_async").setLevel(logging.ERROR)
    if spec["provider"] == "sendcloud":
        auth = BasicAuth(creds["sendcloud_public_key"], creds["sendcloud_secret_key"])
        return SendcloudClient(auth, base_url=conn["sendcloud_url"], **settings)
    if spec["provider"] == "sendcloud_v3":
        auth = BasicAuth(creds["sendcloud_public_key"], creds["sendcloud_secret_key"])
        return SendcloudV3Client(auth, base_url=conn["sendcloud_v3_url"], **settings)
    auth_ep = ClientCredentials(creds["epcc_client_id"], creds["epcc_client_secret"])
    return ElasticPathClient(auth_ep, base_url=conn["url"], **settings)


async def _lib_stream(
    spec: Spec, run: Callable[[Awaitable[Any]], Awaitable[Any]]
) -> dict[str, Any]:
    client = _library_client(spec)
    variant, limit = spec["variant"], spec.get("max_records")
    count = 0
    async with client:
        if variant == "lib_fanout":
            stream: Any = client.logs_for_integrations(
                concurrency=spec.get("concurrency", 8), max_items=limit
            )
        else:
            stream = client.logs(max_items=limit)

        async def consume() -> None:
            nonlocal count
            async with stream:
                async for log in stream:
                    _ = (log.id, log.created_at)
                    count += 1

        await run(consume())
        stats = client.stats
        return {
            "records": count,
            "requests": stats.requests,
            "rate_limited": stats.rate_limited,
            "retries": stats.retries,
            "bytes": stats.bytes_received,
            "statuses": {str(k): v for k, v in stats.statuses.items()},
            "max_running": getattr(stream, "max_running", None),
        }


async def _harvest(spec: Spec, run: Callable[[Awaitable[Any]], Awaitable[Any]]) -> dict[str, Any]:
    from integration_logs_async.harvest import HarvestOptions, run_harvest

    client = _library_client(spec)
    out, to = spec.get("out", ""), spec.get("to")  # ``to``: a sink URL (benchmarks.sinks)
    if out:
        _remove_output(out)
    options = HarvestOptions(
        provider=spec["provider"],
        out=out,
        to=to,
        store=spec.get("store"),
        scope=spec.get("scope", "integrations"),
        concurrency=spec.get("concurrency", 8),
        max_items=spec.get("max_records"),
    )
    async with client:
        result = await run(run_harvest(client, options, progress=False))
    peak = _peak_mb()  # before reading the output back
    if to:  # the sink's rows are counted by the benchmark, in its own process
        return {
            "records": result.records,
            "requests": result.requests,
            "duplicates": result.duplicates,
            "complete": result.complete,
            "peak_rss_mb": peak,
        }
    size, lines = _output_lines(out)
    if not spec.get("keep_output"):
        _remove_output(out)
    return {
        "records": result.records,
        "requests": result.requests,
        "rate_limited": result.rate_limited,
        "retries": result.retries,
        "duplicates": result.duplicates,
        "complete": result.complete,
        "output_bytes": size,
        "output_lines": lines,
        "peak_rss_mb": peak,
    }


def _remove_output(out: str) -> None:
    for path in (Path(out), Path(out + ".state.json")):
        path.unlink(missing_ok=True)


def _output_lines(out: str) -> tuple[int, int]:
    """Size and line count of the harvest's output file."""
    lines = 0
    with open(out, "rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
    return Path(out).stat().st_size, lines


# --- baselines ----------------------------------------------------------------------------------


async def _aiohttp_naive(
    spec: Spec, run: Callable[[Awaitable[Any]], Awaitable[Any]]
) -> dict[str, Any]:
    import aiohttp

    conn, creds = spec["conn"], spec["conn"]["credentials"]
    limit = spec.get("max_records")
    count = requests = 0
    v3 = spec["provider"] == "sendcloud_v3"
    async with aiohttp.ClientSession() as session:
        url: Any
        if v3:
            pair = f"{creds['sendcloud_public_key']}:{creds['sendcloud_secret_key']}".encode()
            headers = {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
            # v3's default page_size is 25: ask for 100, as the library does.
            url = conn["sendcloud_v3_url"] + "/integrations/logs?page_size=100"
            items_key, next_of = "data", None
        elif spec["provider"] == "sendcloud":
            # aiohttp.BasicAuth is deprecated since aiohttp 3.14: build the header directly.
            pair = f"{creds['sendcloud_public_key']}:{creds['sendcloud_secret_key']}".encode()
            headers = {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
            url = conn["sendcloud_url"] + "/integrations/logs"
            items_key, next_of = "results", lambda body: body["next"]
        else:
            form = {
                "grant_type": "client_credentials",
                "client_id": creds["epcc_client_id"],
                "client_secret": creds["epcc_client_secret"],
            }
            async with session.post(conn["url"] + "/oauth/access_token", data=form) as resp:
                token = (await resp.json())["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            url = conn["url"] + "/v2/integrations/logs?page[limit]=100&page[offset]=0"
            items_key, next_of = "data", lambda body: body["links"]["next"]

        async def consume() -> None:
            nonlocal count, requests, url
            while url:
                async with session.get(url, headers=headers) as resp:
                    resp.raise_for_status()
                    body = await resp.json()
                    # v3: the next page is only in the Link header (aiohttp parses it).
                    following = resp.links.get("next") if v3 else None
                requests += 1
                for record in body[items_key]:
                    created = record.get("created_at") or record["meta"]["timestamps"]["created_at"]
                    _ = (record["id"], created)
                    count += 1
                if limit is not None and count >= limit:
                    break
                if next_of is None:
                    url = following["url"] if following else None
                else:
                    url = next_of(body)

        await run(consume())
    return {"records": count, "requests": requests}


async def _httpx_pydantic(
    spec: Spec, run: Callable[[Awaitable[Any]], Awaitable[Any]]
) -> dict[str, Any]:
    import httpx

    from . import _pydantic_models as models

    conn, creds = spec["conn"], spec["conn"]["credentials"]
    limit = spec.get("max_records")
    count = requests = 0
    async with httpx.AsyncClient(timeout=60) as client:
        url: str | None
        if spec["provider"] == "sendcloud_v3":
            auth: Any = (creds["sendcloud_public_key"], creds["sendcloud_secret_key"])
            headers: dict[str, str] = {}
            url = conn["sendcloud_v3_url"] + "/integrations/logs?page_size=100"
        elif spec["provider"] == "sendcloud":
            auth = (creds["sendcloud_public_key"], creds["sendcloud_secret_key"])
            headers = {}
            url = conn["sendcloud_url"] + "/integrations/logs"
        else:
            form = {
                "grant_type": "client_credentials",
                "client_id": creds["epcc_client_id"],
                "client_secret": creds["epcc_client_secret"],
            }
            resp = await client.post(conn["url"] + "/oauth/access_token", data=form)
            token = resp.json()["access_token"]
            auth, headers = None, {"Authorization": f"Bearer {token}"}
            url = conn["url"] + "/v2/integrations/logs?page[limit]=100&page[offset]=0"

        async def consume() -> None:
            nonlocal count, requests, url
            while url:
                resp = await client.get(url, headers=headers, auth=auth)
                resp.raise_for_status()
                requests += 1
                if spec["provider"] == "sendcloud_v3":
                    v3_page = models.SendcloudV3LogPage.model_validate_json(resp.content)
                    for v3_log in v3_page.data:
                        _ = (v3_log.id, v3_log.created_at)
                        count += 1
                    # The Link header, as httpx parses it (absolute on the emulator).
                    url = resp.links.get("next", {}).get("url")
                elif spec["provider"] == "sendcloud":
                    sc_page = models.SendcloudLogPage.model_validate_json(resp.content)
                    for sc_log in sc_page.results:
                        _ = (sc_log.id, sc_log.created_at)
                        count += 1
                    url = sc_page.next
                else:
                    ep_page = models.ElasticPathLogPage.model_validate_json(resp.content)
                    for ep_log in ep_page.data:
                        ts = ep_log.meta.timestamps if ep_log.meta else None
                        _ = (ep_log.id, ts.created_at if ts else None)
                        count += 1
                    url = (ep_page.links or {}).get("next")
                if limit is not None and count >= limit:
                    break

        await run(consume())
    return {"records": count, "requests": requests}


async def _sink_rows(spec: Spec, run: Callable[[Awaitable[Any]], Awaitable[Any]]) -> dict[str, Any]:
    from ._sinks_work import sink_rows

    return await sink_rows(spec, run, _library_client(spec))


async def _sink_write(
    spec: Spec, run: Callable[[Awaitable[Any]], Awaitable[Any]]
) -> dict[str, Any]:
    from ._sinks_work import sink_write

    return await sink_write(spec, run)


async def _fleet_run(spec: Spec, run: Callable[[Awaitable[Any]], Awaitable[Any]]) -> dict[str, Any]:
    from ._fleet_work import fleet_run

    return await fleet_run(spec, run)


async def _fleet_store(
    spec: Spec, run: Callable[[Awaitable[Any]], Awaitable[Any]]
) -> dict[str, Any]:
    from ._fleet_work import fleet_store

    return await fleet_store(spec, run)


VARIANTS: dict[
    str, Callable[[Spec, Callable[[Awaitable[Any]], Awaitable[Any]]], Awaitable[dict[str, Any]]]
] = {
    "lib_seq": _lib_stream,
    "lib_prefetch": _lib_stream,
    "lib_fanout": _lib_stream,
    "harvest": _harvest,
    "aiohttp_naive": _aiohttp_naive,
    "httpx_pydantic": _httpx_pydantic,
    "sink_rows": _sink_rows,  # benchmarks.sinks: see benchmarks._sinks_work
    "sink_write": _sink_write,
    "fleet_run": _fleet_run,  # benchmarks.fleet: see benchmarks._fleet_work
    "fleet_store": _fleet_store,
}


def _start_profiler(profile: dict[str, str] | None) -> Any:
    """Start pyinstrument or cProfile when the spec asks for a profile (``--profile``)."""
    if not profile:
        return None
    if profile["tool"] == "pyinstrument":
        from pyinstrument import Profiler  # type: ignore[import-not-found,unused-ignore]

        profiler: Any = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
        return profiler
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    return profiler


def _stop_profiler(profiler: Any, profile: dict[str, str] | None) -> None:
    if profiler is None or not profile:
        return
    out = Path(profile["out"])
    out.parent.mkdir(parents=True, exist_ok=True)
    if profile["tool"] == "pyinstrument":
        profiler.stop()
        out.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
        return
    import io
    import pstats

    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs().sort_stats("tottime")
    stats.print_stats(45)
    stats.sort_stats("cumulative").print_stats(45)
    out.write_text(text.getvalue())


async def _awaited(work: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """``work`` as a coroutine (``asyncio.run`` takes nothing else)."""
    return await work


def main(argv: list[str]) -> int:
    """Run the variant named in the JSON spec ``argv[0]``; print one JSON line."""
    spec: Spec = json.loads(argv[0])
    variant = spec["variant"]
    if variant == "lib_seq":
        spec["prefetch"] = 0
    impl = VARIANTS[variant]
    timing: dict[str, float] = {}

    async def measured(work: Awaitable[Any]) -> Any:
        # Only the consuming loop is measured: imports, session and client set-up are not.
        gc.collect()
        timing["rss_before_mb"] = _rss_mb()
        profiler = _start_profiler(spec.get("profile"))
        cpu0, wall0 = time.process_time(), time.perf_counter()
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        try:
            return await work
        finally:
            ru1 = resource.getrusage(resource.RUSAGE_SELF)
            _stop_profiler(profiler, spec.get("profile"))
            timing["wall"] = time.perf_counter() - wall0
            timing["cpu"] = time.process_time() - cpu0
            timing["cpu_user"] = ru1.ru_utime - ru0.ru_utime
            timing["cpu_sys"] = ru1.ru_stime - ru0.ru_stime

    result: dict[str, Any] = asyncio.run(_awaited(impl(spec, measured)))
    result.update(timing)
    result.setdefault("peak_rss_mb", _peak_mb())
    result["variant"] = variant
    records = result.get("records") or 0
    if records:
        result["records_per_s"] = records / timing["wall"]
        result["cpu_us_per_record"] = timing["cpu"] * 1e6 / records
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
