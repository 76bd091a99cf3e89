"""Benchmark 6 — live tail: 1,000 tailed listings in one process, idle cost and detection latency.

One client (``rate_limit=0``, ``max_connections=32``) tails the listings of 1,000 integrations
(``client.tail(integration_id=...)``, poll interval 2 s) in a worker process of its own
(``benchmarks._tail_worker``, so ``time.process_time`` is the client's CPU alone), against the
emulator in another process (1,000 integrations, 20 logs each). Per provider (Elastic Path,
Sendcloud API v2, Sendcloud API v3):

- baseline: the same 1,000 listings polled by a minimal hand-written loop (read the head
  page of ``integration_logs(id).raw()`` without prefetch, touch each record's id and
  created_at, sleep the same jittered interval), over a 10 s window: client CPU per poll;
- idle: the 1,000 tails, nothing arriving, over a 10 s window (after every tail's first,
  baseline poll): requests per poll, counted poll by poll (a watcher samples each tail's
  ``stats.pages`` whenever its ``stats.polls`` moves; retries added), client CPU per poll
  (``time.process_time`` of the worker / polls completed, in each interval-long part of the
  window; the best part, here and for the baseline: other load only ever adds; the whole
  window's figures are in the JSON file), the emulator's CPU per poll
  (``GET /_emulator/stats``); ``client.stats.requests`` / polls over the window is reported as
  a cross-check (approximate: polls in flight at the window's ends);
- detection: the driver adds logs at 20/s for 10 s (``POST /_emulator/logs``, one log to a
  random tailed integration each time, its ``time.monotonic()`` taken just before the call:
  the emulator's own arrivals stamp Sendcloud logs to the second only), the worker records
  when each is yielded (``time.monotonic()`` is system-wide on Linux) and times a plain
  head-page request every 50 ms under the same load.

Every added log must be yielded exactly once, by its integration's tail, and nothing else
(the listings' old logs are the tails' baseline): else the benchmark is broken.
Targets: requests per idle poll <= 1.0; idle CPU per poll <= 1.5x the hand-written loop's
(the same request at the same rate: the tail's window bookkeeping must cost less than half
a request); detection latency max <= 1.1 x poll interval (the longest jittered sleep) + 2 x
the p99 head-page request time of the same run (the tail sleeps after a poll completes: a
log created while a poll's response is on its way waits for that poll to finish, the sleep,
and the request of the next poll).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from ._common import (
    CLIENT_CORES,
    ROOT,
    BenchmarkError,
    EmulatorProcess,
    Row,
    Section,
    Target,
    _pin,
    ratio,
)
from ._context import Context

__all__ = ["NAME", "TITLE", "run"]

NAME = "tail"
TITLE = "Live tail: 1,000 listings in one process, idle polls and detection latency"

PROVIDERS = {"elasticpath": "EP", "sendcloud": "SC v2", "sendcloud_v3": "SC v3"}
STORE = {"elasticpath": "elasticpath", "sendcloud": "sendcloud", "sendcloud_v3": "sendcloud"}
LOGS_PER_INTEGRATION = 20
MAX_CONNECTIONS = 32
REQUESTS_PER_POLL_LIMIT = 1.0
CPU_RATIO_LIMIT = 1.5
JITTER = 1.1


def _sizes(quick: bool) -> dict[str, Any]:
    if quick:
        return {"tails": 100, "interval": 0.5, "window": 1.5, "rate": 20.0, "arrivals_s": 1.5}
    return {"tails": 1_000, "interval": 2.0, "window": 10.0, "rate": 20.0, "arrivals_s": 10.0}


def _add_log(url: str, provider: str, integration_id: Any) -> list[Any]:
    body = json.dumps({"provider": provider, "count": 1, "integration_id": integration_id})
    req = urllib.request.Request(
        f"{url}/_emulator/logs",
        data=body.encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return list(json.loads(resp.read())["ids"])


def _arrivals(
    emu: EmulatorProcess, provider: str, ids: list[Any], rate: float, seconds: float
) -> list[tuple[str, str, float, float]]:
    """Add ``rate`` logs per second for ``seconds``: (integration, log id, monotonic before
    the call, monotonic when it answered)."""
    rng = random.Random(f"tail:{provider}")
    added: list[tuple[str, str, float, float]] = []
    started = time.monotonic()
    for k in range(round(rate * seconds)):
        pause = started + k / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        integration = rng.choice(ids)
        before = time.monotonic()
        new = _add_log(emu.url, STORE[provider], integration)
        after = time.monotonic()
        added += [(str(integration), str(log_id), before, after) for log_id in new]
    return added


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _worker(
    ctx: Context, emu: EmulatorProcess, provider: str, sizes: dict[str, Any]
) -> dict[str, Any]:
    """Run one provider's worker, driving its arrivals; returns its result plus the driver's."""
    spec: dict[str, Any] = {
        "provider": provider,
        "conn": emu.connection(),
        "tails": sizes["tails"],
        "interval": sizes["interval"],
        "window": sizes["window"],
        "max_connections": MAX_CONNECTIONS,
        "profile": ctx.profile_spec(f"tail-{provider}"),
    }
    command = [sys.executable, "-m", "benchmarks._tail_worker"]
    raw_profile = profile_out = None
    if spec["profile"] and spec["profile"]["tool"] == "py-spy":  # sampling, outside the process
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        profile_out = Path(spec["profile"]["out"])
        raw_profile = profile_out.with_suffix(".raw")
        raw_profile.parent.mkdir(parents=True, exist_ok=True)
        command = [spy, "record", "-r", "1000", "-f", "raw", "-o", str(raw_profile), "--", *command]
        spec["profile"] = None
    stderr = ctx.scratch / f"tail-{provider}.stderr"
    timeout = 120 + 4 * sizes["window"] + 3 * sizes["arrivals_s"] + sizes["tails"] * 0.1
    with stderr.open("w") as err:
        proc = subprocess.Popen(
            [*command, json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            cwd=ROOT,
            preexec_fn=lambda: _pin(CLIENT_CORES),
        )
        watchdog = threading.Timer(timeout, proc.kill)
        watchdog.start()
        driver: dict[str, Any] = {}
        result: dict[str, Any] | None = None
        try:
            assert proc.stdout is not None and proc.stdin is not None
            for line in proc.stdout:
                if not line.startswith("{"):
                    continue
                message = json.loads(line)
                event = message.pop("event")
                if event == "hand":
                    ctx.say(f"tail {provider}: baseline loop over {sizes['tails']:,} listings")
                elif event == "idle_start":
                    ctx.say(f"tail {provider}: {sizes['tails']:,} tails idle")
                    driver["server_cpu0"] = emu.cpu_seconds()
                elif event == "idle_end":
                    driver["server_cpu1"] = emu.cpu_seconds()
                elif event == "arrivals":
                    ctx.say(f"tail {provider}: adding {sizes['rate']:g} logs/s")
                    added = _arrivals(
                        emu,
                        provider,
                        message["integration_ids"],
                        sizes["rate"],
                        sizes["arrivals_s"],
                    )
                    driver["added"] = added
                    try:
                        proc.stdin.write(f"done {len(added)}\n")
                        proc.stdin.flush()
                    except BrokenPipeError:  # the worker died: its stderr says why, below
                        pass
                elif event == "result":
                    result = message
            proc.wait()
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    if proc.returncode != 0 or result is None:
        raise BenchmarkError(
            f"tail worker ({provider}) failed (exit {proc.returncode}):\n"
            f"{stderr.read_text()[-3000:]}"
        )
    if profile_out is not None and raw_profile is not None and raw_profile.exists():
        from ._flame import summarize

        profile_out.write_text(summarize(raw_profile.read_text()))
    return {**result, **driver}


def _analyse(provider: str, run: dict[str, Any], interval: float) -> dict[str, Any]:
    """Latencies, and BenchmarkError when a log was lost, duplicated or not added."""
    added = {(i, log): (before, after) for i, log, before, after in run["added"]}
    keys = [(str(i), str(log)) for i, log, _ in run["yielded"]]
    unique = set(keys)
    lost, extra = set(added) - unique, unique - set(added)
    duplicates = len(keys) - len(unique)
    if lost or extra or duplicates:
        raise BenchmarkError(
            f"tail ({provider}): of {len(added)} logs added, {len(lost)} never yielded, "
            f"{duplicates} yielded twice, {len(extra)} yielded but not added "
            f"(e.g. {sorted(lost or extra)[:3]})"
        )
    latencies = [t - added[(str(i), str(log))][0] for i, log, t in run["yielded"]]
    from_answer = [t - added[(str(i), str(log))][1] for i, log, t in run["yielded"]]
    adds = [after - before for before, after in added.values()]
    probe = run["probe_s"]
    p99_request = _pct(probe, 0.99)
    idle = run["idle"]
    server_cpu = run["server_cpu1"] - run["server_cpu0"]
    return {
        "added": len(added),
        "latency_p50_s": _pct(latencies, 0.5),
        "latency_p95_s": _pct(latencies, 0.95),
        "latency_max_s": max(latencies) if latencies else None,
        "latency_max_from_answer_s": max(from_answer) if from_answer else None,
        "add_call_p99_s": _pct(adds, 0.99),
        "add_call_max_s": max(adds) if adds else None,
        "request_p50_s": _pct(probe, 0.5),
        "request_p99_s": p99_request,
        "requests_timed": len(probe),
        # The poll that just missed a log finishes (one request), the tail sleeps (at most
        # 1.1 intervals), the next poll reads it (one request).
        "latency_bound_s": None if p99_request is None else JITTER * interval + 2 * p99_request,
        "poll_period_s": idle["seconds"] * run["tails"] / idle["polls"] if idle["polls"] else None,
        # Exact: the pages each idle poll read, counted poll by poll, plus any retries.
        "requests_per_idle_poll": idle["pages_per_poll_mean"] + idle["retries"] / idle["polls"],
        "pages_per_idle_poll_max": idle["pages_per_poll_max"],
        # Approximate: client.stats.requests over the window (polls in flight at its ends).
        "window_requests_per_poll": ratio(idle["requests"], idle["polls"]),
        # Best of the window's interval-long parts (other load only ever adds), as e2e does;
        # the whole window's figures too.
        "idle_cpu_us_per_poll": idle["cpu_us_per_poll_best"],
        "hand_cpu_us_per_poll": run["hand"]["cpu_us_per_poll_best"],
        "cpu_vs_hand": ratio(idle["cpu_us_per_poll_best"], run["hand"]["cpu_us_per_poll_best"]),
        "idle_cpu_us_per_poll_window": idle["cpu_us_per_poll"],
        "hand_cpu_us_per_poll_window": run["hand"]["cpu_us_per_poll"],
        "cpu_vs_hand_window": ratio(idle["cpu_us_per_poll"], run["hand"]["cpu_us_per_poll"]),
        "server_cpu_us_per_idle_poll": server_cpu * 1e6 / idle["polls"] if idle["polls"] else None,
        "tails_rss_mb": run["rss_tails_mb"] - run["rss_before_tails_mb"],
        "latencies_s": sorted(latencies),
    }


def run(ctx: Context) -> Section:
    section = Section(NAME, TITLE)
    sizes = _sizes(ctx.quick)
    n, interval = sizes["tails"], sizes["interval"]
    section.raw["sizes"] = sizes
    with EmulatorProcess(
        logs=n * LOGS_PER_INTEGRATION, integrations=n, jobs_per_integration=1
    ) as emu:
        section.raw["emulator"] = {
            "logs": n * LOGS_PER_INTEGRATION,
            "integrations": n,
            "startup_s": emu.startup_seconds,
        }
        for provider, label in PROVIDERS.items():
            result = _worker(ctx, emu, provider, sizes)
            fig = _analyse(provider, result, interval)
            latencies = fig.pop("latencies_s")
            idle = result["idle"]
            if (
                idle["polls_found_nothing"] != idle["polls"]
                or idle["min_polls_per_listing"] < 1
                or not idle["polls_counted"]
            ):
                raise BenchmarkError(
                    f"tail ({provider}): of {idle['polls']} idle polls "
                    f"{idle['polls_found_nothing']} found nothing; some listing polled "
                    f"{idle['min_polls_per_listing']} times in the window; "
                    f"{idle['polls_counted']} polls had their pages counted"
                )
            section.raw[provider] = {
                **fig,
                "idle": idle,
                "hand": result["hand"],
                "head_records": result["head_records"],
                "failures": result["failures"],
                "peak_rss_mb": result["peak_rss_mb"],
                "latencies_s": latencies,
            }
            case = f"{label}, {n:,} tails, poll {interval:g} s"
            section.rows.append(
                Row(
                    NAME,
                    f"{case}: idle",
                    {
                        "req/poll": fig["requests_per_idle_poll"],
                        "max pages/poll": fig["pages_per_idle_poll_max"],
                        "CPU us/poll": fig["idle_cpu_us_per_poll"],
                        "hand loop us/poll": fig["hand_cpu_us_per_poll"],
                        "x hand": fig["cpu_vs_hand"],
                        "server us/poll": fig["server_cpu_us_per_idle_poll"],
                        "polls": idle["polls"],
                        "period s": fig["poll_period_s"],
                        "tails RSS MB": fig["tails_rss_mb"],
                    },
                    note=f"{result['head_records']} logs on a head page",
                )
            )
            section.rows.append(
                Row(
                    NAME,
                    f"{case}: detection",
                    {
                        "latency p50 s": fig["latency_p50_s"],
                        "p95 s": fig["latency_p95_s"],
                        "max s": fig["latency_max_s"],
                        "bound s": fig["latency_bound_s"],
                        "request p99 ms": None
                        if fig["request_p99_s"] is None
                        else fig["request_p99_s"] * 1e3,
                        "logs": fig["added"],
                    },
                    note=f"{sizes['rate']:g} logs/s for {sizes['arrivals_s']:g} s; none lost",
                )
            )
            section.targets += [
                Target(
                    NAME,
                    f"{label} requests per idle poll",
                    fig["requests_per_idle_poll"],
                    "<=",
                    REQUESTS_PER_POLL_LIMIT,
                ),
                Target(
                    NAME,
                    f"{label} idle CPU/poll tail / hand loop",
                    fig["cpu_vs_hand"],
                    "<=",
                    CPU_RATIO_LIMIT,
                ),
                Target(
                    NAME,
                    f"{label} detection max / (1.1 interval + 2 p99 request)",
                    ratio(fig["latency_max_s"], fig["latency_bound_s"]),
                    "<=",
                    1.0,
                ),
            ]
    return section
