"""The ``emulate`` command: run the emulator until interrupted.

``integration-logs emulate`` and ``python -m integration_logs_async.emulator``
share :func:`add_emulate_arguments` and :func:`run_emulate`.  Once listening
it prints where to connect: ``export`` lines for a shell, or with ``--json``
a single JSON line (URLs, credentials, environment, pid) that a benchmark or
test harness can read from stdout.  SIGTERM or SIGINT stops it cleanly.

Data options (``--seed``, ``--integrations``, ``--jobs-per-integration``, ``--logs``,
``--sendcloud-logs``, ``--elasticpath-logs``, ``--end-time``, ``--time-span-days``,
``--protected-ratio``) shape the synthetic store as the :class:`EmulatorConfig` fields
of the same names.  A port that cannot be bound ends the command with one line on
stderr naming ``host:port`` and exit status 2.

``--arrival-rate RATE`` (``5/s``, ``30/m``, ``2/h`` or a bare number per second) lets
synthetic logs arrive while it runs, for each provider of ``--arrival-providers``, so a
live tail has something to show; the banner names the rate.

Faults are given as ``--fault KIND=PROBABILITY`` (e.g. ``--fault server_error=0.1``)
or ``--fault SETTING=VALUE`` for a :class:`FaultConfig` setting (e.g.
``--fault retry_after_seconds=2``), and ``--schedule N=KIND`` faults the N-th
data request.

``--stores N`` runs N independent stores instead of one (see :mod:`._fleet_cli`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import signal
import sys
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from ._arrivals import format_rate, parse_providers, parse_rate
from ._config import EmulatorConfig, Provider
from ._errors import EmulatorBindError
from ._faults import FAULT_KIND_NAMES, FaultConfig
from ._fleet_cli import add_fleet_arguments, run_fleet, wants_fleet
from ._heap import settle_heap
from ._server import Emulator

_KINDS = FAULT_KIND_NAMES
_SETTINGS = tuple(f.name for f in fields(FaultConfig) if f.name not in ("rates", "schedule"))


def parse_end_time(text: str) -> datetime:
    """``--end-time``: an ISO 8601 date or time; without an offset it is UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid time {text!r}: use ISO 8601, e.g. 2024-06-01 or 2024-06-01T12:00:00+02:00"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def parse_arrival_rate(text: str) -> float:
    """``--arrival-rate``: logs per second from ``5/s``, ``30/m``, ``2/h`` or a bare number."""
    try:
        return parse_rate(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_arrival_providers(text: str) -> tuple[Provider, ...]:
    """``--arrival-providers``: comma-separated provider names."""
    try:
        return parse_providers([name.strip() for name in text.split(",") if name.strip()])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_emulate_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``emulate`` options to ``parser``."""
    defaults = EmulatorConfig()
    parser.add_argument(
        "--host", default=defaults.host, help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="port, 0 for a free one (default: %(default)s)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=defaults.seed,
        metavar="N",
        help="data seed (default: %(default)s)",
    )
    parser.add_argument(
        "--integrations",
        type=int,
        metavar="N",
        default=defaults.integrations,
        help="integrations per provider (default: %(default)s)",
    )
    parser.add_argument(
        "--jobs-per-integration",
        type=int,
        metavar="N",
        default=defaults.jobs_per_integration,
        help="Elastic Path jobs per integration (default: %(default)s)",
    )
    parser.add_argument(
        "--logs",
        type=int,
        default=defaults.logs,
        metavar="N",
        help="logs per provider (default: %(default)s)",
    )
    parser.add_argument(
        "--sendcloud-logs", type=int, metavar="N", help="Sendcloud logs (default: --logs)"
    )
    parser.add_argument(
        "--elasticpath-logs", type=int, metavar="N", help="Elastic Path logs (default: --logs)"
    )
    parser.add_argument(
        "--end-time",
        type=parse_end_time,
        default=defaults.end_time,
        metavar="TIME",
        help="creation time of the newest synthetic log, ISO 8601, UTC unless an offset is "
        f"given; logs added later are newer (default: {defaults.end_time.isoformat()})",
    )
    parser.add_argument(
        "--time-span-days",
        type=float,
        default=defaults.time_span_days,
        metavar="DAYS",
        help="the synthetic logs spread over this many days before --end-time "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--protected-ratio",
        type=float,
        default=defaults.protected_ratio,
        metavar="RATIO",
        help="share of Sendcloud logs marked protected, 0 to 1 (default: %(default)s)",
    )
    parser.add_argument(
        "--sendcloud-page-size",
        type=int,
        default=defaults.sendcloud_page_size,
        metavar="N",
        help="Sendcloud page size when the client sends none (default: %(default)s)",
    )
    parser.add_argument(
        "--sendcloud-v3-page-size",
        type=int,
        default=defaults.sendcloud_v3_page_size,
        metavar="N",
        help="Sendcloud v3 page_size when the client sends none (default: %(default)s)",
    )
    parser.add_argument(
        "--ep-page-limit",
        type=int,
        default=defaults.ep_page_limit,
        metavar="N",
        help="Elastic Path page[limit] when the client sends none (default: %(default)s)",
    )
    parser.add_argument(
        "--arrival-rate",
        type=parse_arrival_rate,
        default=defaults.arrival_rate,
        metavar="RATE",
        help="new synthetic logs arriving per provider while it runs: 5/s, 30/m, 2/h or a "
        "number per second (default: none)",
    )
    parser.add_argument(
        "--arrival-providers",
        type=parse_arrival_providers,
        default=defaults.arrival_providers,
        metavar="NAMES",
        help="comma-separated providers logs arrive for (default: sendcloud,elasticpath)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND=VALUE",
        help=f"fault probability or setting; kinds: {', '.join(_KINDS)}; "
        f"settings: {', '.join(_SETTINGS)}",
    )
    parser.add_argument(
        "--schedule",
        action="append",
        default=[],
        metavar="N=KIND",
        help="fault the N-th data request with KIND",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        metavar="RPS",
        help="requests per second per credential (default: unlimited)",
    )
    parser.add_argument(
        "--token-ttl",
        type=float,
        default=defaults.token_ttl,
        metavar="S",
        help="access token lifetime in seconds (default: %(default)s)",
    )
    parser.add_argument(
        "--ep-meta-style",
        choices=("flat", "nested"),
        default="flat",
        help="Elastic Path meta layout (default: %(default)s)",
    )
    parser.add_argument(
        "--ep-token-under-data",
        action="store_true",
        help='wrap the Elastic Path token response in {"data": ...}',
    )
    parser.add_argument(
        "--ep-offset-ceiling",
        type=int,
        metavar="N",
        help="answer 400 for page[offset] above N (the real API documents 10000; default: no "
        "ceiling)",
    )
    parser.add_argument(
        "--json",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="print one JSON line instead of export lines (default: export lines)",
    )
    add_fleet_arguments(parser)


def _fault_value(name: str, value: str) -> Any:
    """The value of one ``--fault NAME=VALUE`` (ValueError naming the option)."""
    try:
        if name in _KINDS:
            return float(value)
        if name == "include_token_endpoints":
            return value.lower() in ("1", "true", "yes", "on")
        if name == "foreign_origin":
            return value
        return float(value) if "." in value else int(value)
    except ValueError:
        raise ValueError(f"--fault {name}={value}: {value!r} is not a number") from None


def _fault_config(args: argparse.Namespace) -> FaultConfig:
    data: dict[str, Any] = {}
    rates: dict[str, float] = {}
    for item in args.fault:
        name, _, value = item.partition("=")
        if name not in _KINDS and name not in _SETTINGS:
            raise ValueError(
                f"unknown fault {name!r} in --fault {item}; kinds: {', '.join(_KINDS)}; "
                f"settings: {', '.join(_SETTINGS)}"
            )
        (rates if name in _KINDS else data)[name] = _fault_value(name, value)
    schedule = {}
    for item in args.schedule:
        number, _, kind = item.partition("=")
        if not number.isascii() or not number.isdigit():
            raise ValueError(f"--schedule {item}: expected N=KIND, e.g. 3=server_error")
        schedule[int(number)] = kind
    return FaultConfig.from_dict({**data, "rates": rates, "schedule": schedule})


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """The :class:`EmulatorConfig` the parsed options describe."""
    return EmulatorConfig(
        host=args.host,
        port=args.port,
        seed=args.seed,
        integrations=args.integrations,
        jobs_per_integration=args.jobs_per_integration,
        logs=args.logs,
        sendcloud_logs=args.sendcloud_logs,
        elasticpath_logs=args.elasticpath_logs,
        end_time=args.end_time,
        time_span_days=args.time_span_days,
        protected_ratio=args.protected_ratio,
        sendcloud_page_size=args.sendcloud_page_size,
        sendcloud_v3_page_size=args.sendcloud_v3_page_size,
        ep_page_limit=args.ep_page_limit,
        faults=_fault_config(args),
        rate_limit_rps=args.rate_limit,
        token_ttl=args.token_ttl,
        ep_meta_style=args.ep_meta_style,
        ep_token_under_data=args.ep_token_under_data,
        ep_offset_ceiling=args.ep_offset_ceiling,
        arrival_rate=args.arrival_rate,
        arrival_providers=args.arrival_providers,
    )


def _announce(emu: Emulator, as_json: bool) -> None:
    if as_json:
        print(json.dumps({**emu.info(), "port": emu.port, "pid": os.getpid()}), flush=True)
        return
    lines = [
        f"Emulator listening on {emu.url}",
        f"  Sendcloud:    {emu.sendcloud_url}  (OAuth2 token: {emu.sendcloud_token_url})",
        f"  Sendcloud v3: {emu.sendcloud_v3_url}",
        f"  Elastic Path: {emu.elasticpath_url}  (token: {emu.elasticpath_token_url})",
        f"  Admin:        {emu.admin_url}",
        *_arrival_lines(emu),
        "",
        *(f"export {name}={shlex.quote(value)}" for name, value in emu.env().items()),
        "",
        "Press Ctrl+C to stop.",
    ]
    print("\n".join(lines), flush=True)


def _arrival_lines(emu: Emulator) -> list[str]:
    arrivals = emu.arrivals
    if not arrivals["rate"]:
        return []
    providers = ", ".join(arrivals["providers"])
    return [f"  Arrivals:     {format_rate(arrivals['rate'])} per provider ({providers})"]


async def serve(config: EmulatorConfig, *, as_json: bool = False) -> None:
    """Run an emulator until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with Emulator(config) as emu:
            settle_heap()
            _announce(emu, as_json)
            await stop.wait()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def run_emulate(args: argparse.Namespace) -> int:
    """Run the ``emulate`` command from parsed arguments; returns the exit status."""
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"emulate: {exc}", file=sys.stderr)
        return 2
    if wants_fleet(args):
        return run_fleet(args, config)
    try:
        asyncio.run(serve(config, as_json=args.json))
    except EmulatorBindError as exc:
        advice = "pick another --port, or --port 0 for a free one"
        if not exc.port_problem:
            advice = "check --host"
        print(
            f"emulate: cannot listen on {exc.host}:{exc.port}: {exc.reason}; {advice}",
            file=sys.stderr,
        )
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m integration_logs_async.emulator`` (JSON output by default)."""
    parser = argparse.ArgumentParser(
        prog="python -m integration_logs_async.emulator",
        description="Emulate the Sendcloud and Elastic Path integration-log APIs.",
    )
    add_emulate_arguments(parser)
    parser.set_defaults(json=True)
    return run_emulate(parser.parse_args(argv))


__all__ = [
    "add_emulate_arguments",
    "config_from_args",
    "main",
    "parse_arrival_providers",
    "parse_arrival_rate",
    "parse_end_time",
    "run_emulate",
]
