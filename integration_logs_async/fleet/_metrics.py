"""Prometheus metrics of a fleet, per store: records, requests, retries, 429s, errors, lag.

:class:`FleetMetrics` holds its own ``CollectorRegistry`` (several in one process do not
collide) and is fed one :class:`~._run.StoreOutcome` per store run. Labels are the store's
name and provider only: never a credential or a URL. ``lag_seconds`` is computed when
scraped (now minus the newest harvested ``created_at``), so it grows while a store is not
harvested. :meth:`FleetMetrics.serve` serves ``/metrics`` from the running event loop.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ._run import StoreOutcome

PREFIX = "integration_logs_fleet"
_LABELS = ("store", "provider")


class _Lag(Collector):
    """Collector of ``lag_seconds``: computed at scrape time from each store's newest
    harvested ``created_at``."""

    def __init__(self) -> None:
        self.newest: dict[tuple[str, str], datetime] = {}

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(f"{PREFIX}_lag_seconds", "", labels=_LABELS)

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            f"{PREFIX}_lag_seconds",
            "Seconds from the newest harvested created_at of the store to now.",
            labels=_LABELS,
        )
        now = time.time()
        for labels, newest in sorted(self.newest.items()):
            family.add_metric(list(labels), now - newest.timestamp())
        yield family


class FleetMetrics:
    """Per-store counters and gauges of a fleet, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        """The registry these metrics are in (e.g. for ``generate_latest``)."""

        def counter(name: str, doc: str, *extra: str) -> Counter:
            return Counter(f"{PREFIX}_{name}", doc, (*_LABELS, *extra), registry=self.registry)

        self.records = counter("records", "Log records harvested (new rows written).")
        self.requests = counter("requests", "HTTP requests made to the store's API.")
        self.retries = counter("retries", "Requests retried (429, 5xx, network errors).")
        self.rate_limited = counter("rate_limited", "429 responses from the store's API.")
        self.errors = counter("errors", "Store runs that failed or ended incomplete.")
        self.runs = counter("runs", "Store runs by outcome.", "outcome")
        self.last_success = Gauge(
            f"{PREFIX}_last_success_timestamp_seconds",
            "Unix time of the store's last completed run.",
            _LABELS,
            registry=self.registry,
        )
        self._lag = _Lag()
        self.registry.register(self._lag)

    def observe(self, outcome: StoreOutcome, *, finished_at: float | None = None) -> None:
        """Count one store run (``finished_at``: Unix time, default now)."""
        labels = (outcome.store, outcome.provider)
        self.records.labels(*labels).inc(outcome.records)
        self.requests.labels(*labels).inc(outcome.requests)
        self.retries.labels(*labels).inc(outcome.retries)
        self.rate_limited.labels(*labels).inc(outcome.rate_limited)
        self.runs.labels(*labels, outcome.outcome).inc()
        if outcome.outcome in ("failed", "incomplete"):
            self.errors.labels(*labels).inc()
        else:  # an untouched error counter is still shown, at 0
            self.errors.labels(*labels)
        if outcome.outcome == "completed":
            self.last_success.labels(*labels).set(
                time.time() if finished_at is None else finished_at
            )
        self.set_newest(outcome.store, outcome.provider, outcome.newest_created_at)

    def set_newest(self, store: str, provider: str, newest: datetime | None) -> None:
        """Record the store's newest harvested ``created_at`` (an older one is ignored)."""
        if newest is None:
            return
        key = (store, provider)
        known = self._lag.newest.get(key)
        if known is None or newest > known:
            self._lag.newest[key] = newest

    def render(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return _generate_latest(self.registry)

    async def serve(self, port: int, host: str = "127.0.0.1") -> MetricsServer:
        """Serve ``/metrics`` on ``host:port`` (0: any free port) from this event loop until
        the returned server is closed. ``OSError`` when the port is taken."""
        server = MetricsServer(self)
        await server.start(host, port)
        return server


class MetricsServer:
    """The HTTP endpoint of a :class:`FleetMetrics` (``async with`` or ``close()``)."""

    def __init__(self, metrics: FleetMetrics) -> None:
        self._metrics = metrics
        self._runner: web.AppRunner | None = None
        self.port = 0
        """The port listened on."""

    async def _handle(self, request: web.Request) -> web.Response:
        body = self._metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host:port``."""
        app = web.Application()
        app.router.add_get("/metrics", self._handle)
        app.router.add_get("/", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    async def close(self) -> None:
        """Stop listening (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> MetricsServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


__all__ = ["PREFIX", "FleetMetrics", "MetricsServer"]
