"""The tail benchmark's client, in its own process: ``python -m benchmarks._tail_worker SPEC``.

``SPEC`` is a JSON object: ``provider`` (``elasticpath``, ``sendcloud``, ``sendcloud_v3``),
``conn`` (the emulator's URLs and credentials), ``tails`` (how many integration listings),
``interval`` (poll interval, s), ``window`` (seconds of each measured window),
``max_connections``. One client (``rate_limit=0``: unpaced) serves every listing.

Phases, announced on stdout as JSON lines ``{"event": ...}`` (the driver reacts to them):

1. warm-up: one head page of every listing (token, connections; not measured);
2. ``hand``: the baseline, a minimal hand-written poll loop per listing (read the head page
   of ``integration_logs(id).raw()``, touch each record's id and created_at, sleep the same
   jittered interval): CPU seconds and requests over ``window`` seconds;
3. ``idle``: one ``client.tail(integration_id=...)`` per listing, nothing arriving: CPU
   seconds, requests and polls over ``window`` seconds (after every tail's first poll);
4. ``arrivals``: the driver adds logs; this process records when each is yielded
   (``time.monotonic()``, system-wide on Linux) and times plain head-page requests every
   50 ms (the request time under the same load). The driver writes ``done N`` on stdin
   when it has added N logs; the tails stop once N distinct logs were yielded (or after a
   timeout) and one more interval has passed (to catch duplicates).

The last stdout line is the result (``"event": "result"``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._worker import _start_profiler, _stop_profiler

__all__ = ["main"]

Spec = dict[str, Any]
PROBE_EVERY = 0.05  # seconds between two timed head-page requests during arrivals


def _emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _client(spec: Spec) -> Any:
    from integration_logs_async import (
        BasicAuth,
        ClientCredentials,
        ElasticPathClient,
        SendcloudClient,
        SendcloudV3Client,
    )

    logging.getLogger("integration_logs_async").setLevel(logging.ERROR)
    conn, creds = spec["conn"], spec["conn"]["credentials"]
    settings: dict[str, Any] = {"rate_limit": 0, "max_connections": spec["max_connections"]}
    if spec["provider"] == "elasticpath":
        auth_ep = ClientCredentials(creds["epcc_client_id"], creds["epcc_client_secret"])
        return ElasticPathClient(auth_ep, base_url=conn["url"], **settings)
    auth = BasicAuth(creds["sendcloud_public_key"], creds["sendcloud_secret_key"])
    if spec["provider"] == "sendcloud_v3":
        return SendcloudV3Client(auth, base_url=conn["sendcloud_v3_url"], **settings)
    return SendcloudClient(auth, base_url=conn["sendcloud_url"], **settings)


def _jittered(interval: float) -> float:
    return interval * (1.0 + 0.1 * (2.0 * random.random() - 1.0))  # as the tail jitters


async def _head_page(client: Any, ident: Any) -> int:
    """One head page of a listing, as a poll reads it: raw records, no prefetch."""
    walk = client.integration_logs(ident).with_prefetch(0).raw()
    touched = 0
    async with walk:
        async for page in walk.pages():
            for record in page.items:
                _ = (record.id, record.created_at)
                touched += 1
            break
    return touched


async def _settle(started: list[int], total: int, seconds: float) -> None:
    """Wait until every listing has been polled once (RuntimeError after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while sum(1 for n in started if n) < total:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {sum(1 for n in started if n)} of {total} listings polled")
        await asyncio.sleep(0.02)


async def _hand(client: Any, ids: list[Any], spec: Spec) -> dict[str, Any]:
    """The baseline: a minimal poll loop per listing, measured over ``window`` seconds."""
    interval, window = spec["interval"], spec["window"]
    done = [0] * len(ids)

    async def loop(k: int, ident: Any) -> None:
        while True:
            await _head_page(client, ident)
            done[k] += 1
            await asyncio.sleep(_jittered(interval))

    tasks = [asyncio.create_task(loop(k, i)) for k, i in enumerate(ids)]
    try:
        await _settle(done, len(ids), 60 + len(ids) * 0.05)
        await asyncio.sleep(interval)  # past the first (synchronised) burst, as for the tails
        req0, polls0, cpu0 = client.stats.requests, sum(done), time.process_time()
        parts = await _cpu_parts(lambda: sum(done), window, interval)
        req1, polls1, cpu1 = client.stats.requests, sum(done), time.process_time()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    polls = polls1 - polls0
    return {
        "polls": polls,
        "requests": req1 - req0,
        "cpu_s": cpu1 - cpu0,
        "cpu_us_per_poll": (cpu1 - cpu0) * 1e6 / polls if polls else None,
        "cpu_us_per_poll_best": _best(parts),
        "parts": parts,
    }


async def _cpu_parts(
    count: Callable[[], int], window: float, step: float
) -> list[tuple[float, int]]:
    """CPU seconds and polls completed in each ``step``-long part of ``window`` seconds."""
    parts: list[tuple[float, int]] = []
    n = max(1, round(window / step))
    cpu, polls = time.process_time(), count()
    for _ in range(n):
        await asyncio.sleep(window / n)
        cpu1, polls1 = time.process_time(), count()
        parts.append((cpu1 - cpu, polls1 - polls))
        cpu, polls = cpu1, polls1
    return parts


def _best(parts: list[tuple[float, int]]) -> float | None:
    """The least CPU µs per poll over the parts (other load on the machine only ever adds)."""
    return min((cpu * 1e6 / polls for cpu, polls in parts if polls), default=None)


def _snapshot(client: Any, tails: list[Any]) -> dict[str, Any]:
    return {
        "cpu": time.process_time(),
        "t": time.monotonic(),
        "requests": client.stats.requests,
        "retries": client.stats.retries,
        "polls": [t.stats.polls for t in tails],
        "idle_polls": sum(t.stats.idle_polls for t in tails),
        "pages": sum(t.stats.pages for t in tails),
        "failures": sum(t.stats.failures for t in tails),
    }


async def _count_pages(
    tails: list[Any], every: float, counts: list[int], lumped: list[int]
) -> None:
    """Pages read by each poll: sampled every ``every`` s (less than the gap between two polls
    of a tail), a tail's pages when a poll completes minus its pages when the previous one did.

    A tail's first completion seen only sets its starting point; ``lumped`` counts samples that
    saw two completions of one tail at once (not attributed).
    """
    polls = [t.stats.polls for t in tails]
    since: list[int | None] = [None] * len(tails)
    while True:
        await asyncio.sleep(every)
        for k, tail in enumerate(tails):
            stats = tail.stats
            done = stats.polls - polls[k]
            if not done:
                continue
            start = since[k]
            if start is not None:
                if done == 1:
                    counts.append(stats.pages - start)
                else:
                    lumped.append(done)
            since[k], polls[k] = stats.pages, stats.polls


async def _probe(client: Any, ids: list[Any], times: list[float]) -> None:
    """Time one plain head-page request every PROBE_EVERY seconds (round robin)."""
    k = 0
    while True:
        started = time.monotonic()
        await _head_page(client, ids[k % len(ids)])
        times.append(time.monotonic() - started)
        k += 1
        await asyncio.sleep(PROBE_EVERY)


async def _run(spec: Spec) -> dict[str, Any]:
    interval, window = spec["interval"], spec["window"]
    client = _client(spec)
    async with client:
        ids = [i.id async for i in client.integrations(max_items=spec["tails"])]
        if len(ids) < spec["tails"]:
            raise RuntimeError(f"the emulator has {len(ids)} integrations, need {spec['tails']}")
        await asyncio.gather(*(_head_page(client, i) for i in ids))  # warm-up
        head_records = await _head_page(client, ids[0])
        _emit("hand")
        hand = await _hand(client, ids, spec)

        rss0 = _rss_mb()
        tails = [client.tail(integration_id=i, poll_interval=interval) for i in ids]
        yielded: list[tuple[int, str, float]] = []  # (listing, log id, monotonic when yielded)

        async def consume(k: int, tail: Any) -> None:
            async with tail:
                async for log in tail:
                    yielded.append((k, str(log.id), time.monotonic()))

        tasks = [asyncio.create_task(consume(k, t)) for k, t in enumerate(tails)]
        probe_times: list[float] = []
        probe: asyncio.Task[None] | None = None
        try:
            polls = [0] * len(tails)

            async def watch() -> None:
                while True:
                    for k, t in enumerate(tails):
                        polls[k] = t.stats.polls
                    await asyncio.sleep(0.02)

            watcher = asyncio.create_task(watch())
            try:
                await _settle(polls, len(tails), 60 + len(tails) * 0.05)
            finally:
                watcher.cancel()
            await asyncio.sleep(interval)
            rss_tails = _rss_mb()
            _emit("idle_start")
            page_counts: list[int] = []
            lumped: list[int] = []
            counter = asyncio.create_task(_count_pages(tails, interval / 4, page_counts, lumped))
            profiler = _start_profiler(spec.get("profile"))  # --profile: the idle window only
            before = _snapshot(client, tails)
            parts = await _cpu_parts(lambda: sum(t.stats.polls for t in tails), window, interval)
            after = _snapshot(client, tails)
            _stop_profiler(profiler, spec.get("profile"))
            counter.cancel()
            await asyncio.gather(counter, return_exceptions=True)
            _emit("idle_end")
            if yielded:
                raise RuntimeError(f"{len(yielded)} logs yielded while nothing arrived")

            probe = asyncio.create_task(_probe(client, ids, probe_times))
            _emit("arrivals", integration_ids=ids)
            line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            expected = int(line.split()[1])
            deadline = time.monotonic() + 3 * interval + 5
            while len({(k, i) for k, i, _ in yielded}) < expected:
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(interval * 1.1 + 0.2)  # a duplicate would show up by now
            final_failures = sum(t.stats.failures for t in tails)
        finally:
            if probe is not None:
                probe.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, *([probe] if probe else []), return_exceptions=True)
        idle_polls = sum(after["polls"]) - sum(before["polls"])
        per_listing = [b - a for a, b in zip(before["polls"], after["polls"], strict=True)]
        cpu = after["cpu"] - before["cpu"]
        return {
            "tails": len(tails),
            "head_records": head_records,
            "hand": hand,
            "idle": {
                "seconds": after["t"] - before["t"],
                "polls": idle_polls,
                "polls_found_nothing": after["idle_polls"] - before["idle_polls"],
                "min_polls_per_listing": min(per_listing),
                "requests": after["requests"] - before["requests"],
                "retries": after["retries"] - before["retries"],
                "pages": after["pages"] - before["pages"],
                "failures": after["failures"] - before["failures"],
                "polls_counted": len(page_counts),
                "pages_per_poll_max": max(page_counts, default=None),
                "pages_per_poll_mean": sum(page_counts) / len(page_counts) if page_counts else None,
                "polls_lumped": sum(lumped),
                "cpu_s": cpu,
                "cpu_us_per_poll": cpu * 1e6 / idle_polls if idle_polls else None,
                "cpu_us_per_poll_best": _best(parts),
                "parts": parts,
            },
            "failures": final_failures,
            "rss_before_tails_mb": rss0,
            "rss_tails_mb": rss_tails,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "yielded": [[ids[k], i, t] for k, i, t in yielded],
            "probe_s": probe_times,
        }


def main(argv: list[str]) -> int:
    """Run the phases for the JSON spec ``argv[0]``; the last stdout line is the result."""
    spec: Spec = json.loads(argv[0])
    result = asyncio.run(_run(spec))
    _emit("result", **result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
