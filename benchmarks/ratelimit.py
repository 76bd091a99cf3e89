"""Benchmark 3 — rate-limit saturation.

The emulator enforces ``R`` requests/s per credential (``--rate-limit R``: at most R requests in
any sliding one-second window, else 429 with ``Retry-After: 1``) and adds 100 ms of latency
to every request. The library harvests the logs of 20 integrations with fan-out
(``logs_for_integrations(concurrency=8)``, prefetch 4) and ``rate_limit=R``.

Measured from the emulator's request log (arrival times of data requests): accepted
requests/s over the run (first to last arrival) as a fraction of R, and the 429s.
Targets: accepted rate >= 0.9 R; 429s <= 5% of requests.
"""

from __future__ import annotations

from typing import Any

from ._common import BenchmarkError, EmulatorProcess, Row, Section, Target, run_worker
from ._context import Context

NAME = "ratelimit"
TITLE = "Rate-limit saturation: server limit R req/s per credential, 100 ms latency"


def _analyse(requests: list[dict[str, Any]]) -> dict[str, Any]:
    data = sorted(
        (r for r in requests if r["category"] == "data" and r["provider"] == "elasticpath"),
        key=lambda r: r["started"],
    )
    if len(data) < 2:
        raise BenchmarkError("the emulator logged fewer than two data requests")
    span = data[-1]["started"] - data[0]["started"]
    accepted = [r for r in data if r["status"] != 429]
    limited = len(data) - len(accepted)
    # The busiest one-second window of accepted arrivals (what the server's limit bounds).
    times = [r["started"] for r in accepted]
    peak, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - 1.0:
            j += 1
        peak = max(peak, i - j + 1)
    per_second = [0] * (int(span) + 1)
    for r in accepted:
        per_second[int(r["started"] - data[0]["started"])] += 1
    in_flight = []
    for second in range(len(per_second)):
        t = data[0]["started"] + second + 0.5
        in_flight.append(sum(1 for r in data if r["started"] <= t < r["finished"]))
    return {
        "accepted_per_second": per_second,
        "in_flight_mid_second": in_flight,
        "data_requests": len(data),
        "accepted": len(accepted),
        "rate_limited_429": limited,
        "span_s": span,
        "requests_per_s": (len(data) - 1) / span if span > 0 else None,
        "accepted_per_s": (len(accepted) - 1) / span if span > 0 else None,
        "peak_accepted_in_1s": peak,
        "statuses": {
            str(s): sum(1 for r in data if r["status"] == s) for s in {r["status"] for r in data}
        },
    }


def run(ctx: Context) -> Section:
    section = Section(NAME, TITLE)
    rate = 20 if ctx.quick else 25
    logs = 1_500 if ctx.quick else 30_000
    extra = ["--fault", "latency=1.0", "--fault", "latency_seconds=0.1"]
    with EmulatorProcess(logs=logs, integrations=20, rate_limit=rate, extra=extra) as emu:
        ctx.say(f"ratelimit: R={rate}/s, {logs:,} logs over 20 integrations")
        spec = {
            "variant": "lib_fanout",
            "provider": "elasticpath",
            "conn": emu.connection(),
            "rate_limit": rate,
            "concurrency": 8,
            "prefetch": 4,
            "profile": ctx.profile_spec(f"ratelimit-R{rate}"),
        }
        result = run_worker(spec)
        if result["records"] != logs:
            raise BenchmarkError(f"rate-limited harvest read {result['records']} of {logs} records")
        figures = _analyse(emu.requests())
    achieved = figures["accepted_per_s"]
    share_429 = figures["rate_limited_429"] / figures["data_requests"]
    section.raw = {"R": rate, "logs": logs, "client": result, "server": figures}
    section.rows.append(
        Row(
            NAME,
            f"R={rate}/s, fan-out 8, client rate_limit=R",
            {
                "requests": figures["data_requests"],
                "accepted/s": achieved,
                "x R": None if achieved is None else achieved / rate,
                "429s": figures["rate_limited_429"],
                "429 share": share_429,
                "peak 1s": figures["peak_accepted_in_1s"],
                "client retries": result.get("retries"),
                "wall s": result["wall"],
            },
            note=f"{logs:,} logs, 100 ms latency",
        )
    )
    section.targets += [
        Target(
            NAME, "accepted req/s / R", None if achieved is None else achieved / rate, ">=", 0.9
        ),
        Target(NAME, "429s / requests", share_429, "<=", 0.05),
    ]
    return section
