"""Shared machinery: the emulator process, client worker processes, results and targets.

Every client measurement runs in its own ``python -m benchmarks._worker`` subprocess (so CPU
time and peak RSS belong to that client alone), against an emulator running in another
subprocess (``python -m integration_logs_async.emulator``) on loopback. When the machine has
at least two cores, the emulator is pinned to the last one and the clients to the others,
so the server never steals the client's core.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

ROOT = Path(__file__).resolve().parent.parent
Status = Literal["PASS", "MISS", "SKIP"]
BASELINE_PACKAGES = ("orjson", "pydantic", "httpx")  # the ``bench`` extra


def missing_baselines() -> list[str]:
    """Baseline packages of the ``bench`` extra that are not installed."""
    import importlib.util

    return [name for name in BASELINE_PACKAGES if importlib.util.find_spec(name) is None]


class BenchmarkError(RuntimeError):
    """Something is broken (not merely slow): the run must exit non-zero."""


# --- CPU placement ---------------------------------------------------------------------------


def _cores() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return list(range(os.cpu_count() or 1))


CORES = _cores()
PINNED = len(CORES) >= 2
SERVER_CORES = CORES[-1:] if PINNED else CORES
CLIENT_CORES = CORES[:-1] if PINNED else CORES


def _pin(cores: list[int]) -> None:
    if PINNED and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores)


@contextmanager
def pinned(cores: list[int]) -> Iterator[None]:
    """Run this process on ``cores`` for the duration (no-op without pinning)."""
    if not PINNED or not hasattr(os, "sched_getaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def machine_info() -> dict[str, Any]:
    """CPU model, cores, memory, Python and library versions."""
    model = platform.processor() or "unknown"
    mhz = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "cpu MHz" and mhz is None:
                mhz = float(value)
    except OSError:
        pass
    mem_total = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total = int(line.split()[1]) // 1024
    except OSError:
        pass
    versions: dict[str, str] = {}
    for name in ("aiohttp", "msgspec", "orjson", "pydantic", "httpx", "integration-logs-async"):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:
            versions[name] = "missing"
    return {
        "cpu_model": model,
        "cpu_mhz": mhz,
        "cores": os.cpu_count(),
        "usable_cores": len(CORES),
        "memory_mb": mem_total,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "pinning": {"server": SERVER_CORES, "clients": CLIENT_CORES} if PINNED else None,
        "versions": versions,
    }


# --- results -----------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the results table."""

    bench: str
    case: str
    metrics: dict[str, float | int | str | None]
    note: str = ""


@dataclass
class Target:
    """A target: ``value`` compared against ``limit`` (``op`` is '<=' or '>=' or '<')."""

    bench: str
    name: str
    value: float | None
    op: str
    limit: float
    unit: str = "x"
    note: str = ""
    skipped: bool = False  # a baseline it needs is not installed: neither PASS nor MISS
    status: Status = field(init=False)

    def __post_init__(self) -> None:
        if self.skipped:
            self.status = "SKIP"
        elif self.value is None:
            self.status = "MISS"
        elif self.op == "<=":
            self.status = "PASS" if self.value <= self.limit else "MISS"
        elif self.op == "<":
            self.status = "PASS" if self.value < self.limit else "MISS"
        elif self.op == ">=":
            self.status = "PASS" if self.value >= self.limit else "MISS"
        else:  # pragma: no cover - programming error
            raise ValueError(self.op)


@dataclass
class Section:
    """What one benchmark produced: table rows, targets and raw figures for the JSON file."""

    name: str
    title: str
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, or None when either is missing or ``b`` is zero."""
    if a is None or b is None or b == 0:
        return None
    return a / b


# --- the emulator process ----------------------------------------------------------------------


class EmulatorProcess:
    """``python -m integration_logs_async.emulator`` in a subprocess; admin calls over HTTP."""

    def __init__(
        self,
        *,
        logs: int,
        integrations: int = 20,
        jobs_per_integration: int = 3,
        seed: int = 7,
        rate_limit: int | None = None,
        extra: list[str] | None = None,
        startup_timeout: float = 180.0,
    ) -> None:
        self.args = [
            sys.executable,
            "-m",
            "integration_logs_async.emulator",
            "--port",
            "0",
            "--seed",
            str(seed),
            "--logs",
            str(logs),
            "--integrations",
            str(integrations),
            "--jobs-per-integration",
            str(jobs_per_integration),
            "--json",
        ]
        if rate_limit is not None:
            self.args += ["--rate-limit", str(rate_limit)]
        self.args += extra or []
        self.logs = logs
        self.integrations = integrations
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.info: dict[str, Any] = {}
        self.startup_seconds = 0.0

    def start(self) -> Self:
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            self.args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            preexec_fn=lambda: _pin(SERVER_CORES),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # printed once the store is built and listening
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.proc.wait(5)
            raise BenchmarkError(f"emulator did not start: {' '.join(self.args)}\n{err[-2000:]}")
        self.info = json.loads(line)
        self.startup_seconds = time.perf_counter() - started
        return self

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- where and admin ----------------------------------------------------------------

    @property
    def url(self) -> str:
        return str(self.info["url"])

    @property
    def pid(self) -> int:
        return int(self.info["pid"])

    def connection(self) -> dict[str, Any]:
        """What a worker needs to connect (URLs and credentials)."""
        return {
            k: self.info[k] for k in ("url", "sendcloud_url", "sendcloud_v3_url", "credentials")
        }

    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.url}/_emulator/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        with urllib.request.urlopen(req, timeout=60) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def set_faults(self, **faults: Any) -> None:
        """Replace the fault configuration, e.g. ``latency=1.0, latency_seconds=0.05``."""
        self._admin("PUT", "faults", faults)

    def stats(self) -> dict[str, Any]:
        return dict(self._admin("GET", "stats"))

    def reset_stats(self) -> None:
        self._admin("POST", "reset-stats")

    def requests(self) -> list[dict[str, Any]]:
        return list(self._admin("GET", "requests"))

    def cpu_seconds(self) -> float:
        return float(self.stats()["cpu_seconds"])

    def rss_mb(self) -> float | None:
        return rss_of(self.pid)


def rss_of(pid: int) -> float | None:
    """Current RSS of a process in MB (Linux ``/proc``), or None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# --- client workers ----------------------------------------------------------------------------


def run_worker(spec: dict[str, Any], *, timeout: float = 600.0) -> dict[str, Any]:
    """Run one client variant in a fresh process; returns its JSON result.

    Raises :class:`BenchmarkError` when the worker fails (a broken benchmark path).
    """
    profile = spec.get("profile") or {}
    command = [sys.executable, "-m", "benchmarks._worker"]
    raw_profile = None
    if profile.get("tool") == "py-spy":  # sampling profiler outside the process
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        raw_profile = Path(profile["out"]).with_suffix(".raw")
        raw_profile.parent.mkdir(parents=True, exist_ok=True)
        command = [spy, "record", "-r", "1000", "-f", "raw", "-o", str(raw_profile), "--", *command]
        spec = {**spec, "profile": None}
    proc = subprocess.run(
        [*command, json.dumps(spec)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        preexec_fn=lambda: _pin(CLIENT_CORES),
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise BenchmarkError(
            f"worker {spec.get('variant')} failed (exit {proc.returncode}):\n"
            f"{proc.stderr[-3000:]}\n{proc.stdout[-1000:]}"
        )
    result: dict[str, Any] = json.loads(lines[-1])
    if raw_profile is not None and raw_profile.exists():
        from ._flame import summarize

        Path(profile["out"]).write_text(summarize(raw_profile.read_text()))
    return result


def fmt(value: float | int | str | None, digits: int = 2) -> str:
    """A compact number for the table."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, int) or (abs(value) >= 1000 and float(value).is_integer()):
        return f"{int(value):,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.{digits}f}"
