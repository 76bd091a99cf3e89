"""The ``integration-logs demo`` command: a real harvest against the built-in emulator.

Starts the emulator on 127.0.0.1 with a realistic store (tens of thousands of logs over
dozens of integrations and jobs) and a few faults switched on (5xx bursts, 429s with
Retry-After, latency), harvests it with fan-out into ``demo-logs.jsonl`` and checks the file
against the store: every record exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import msgspec

from .. import providers
from ..harvest import HarvestOptions, HarvestResult, default_scope, run_harvest
from ._clients import make_client

__all__ = ["add_demo_arguments", "demo", "lossless_body", "run_demo"]


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``integration-logs demo``."""
    parser.add_argument("--provider", choices=providers.names(), default="elasticpath")
    parser.add_argument("--out", default="demo-logs.jsonl")
    parser.add_argument("--logs", type=int, default=30_000, help="logs in the emulated store")
    parser.add_argument("--integrations", type=int, default=24)
    parser.add_argument("--jobs-per-integration", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate-limit", type=float, default=200.0, help="client requests/s")
    parser.add_argument("--no-faults", action="store_true", help="switch fault injection off")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--force", action="store_true", help="replace OUT if it already holds data")


class _Id(msgspec.Struct):
    id: int | str


def _check(path: str, store: dict[str, bytes]) -> tuple[int, int, int]:
    """(lines, distinct ids, lines equal to the store's record byte for byte) of ``path``."""
    decoder = msgspec.json.Decoder(_Id)
    ids: set[str] = set()
    lines = exact = 0
    with open(path, "rb") as handle:
        for line in handle:
            lines += 1
            ident = str(decoder.decode(line).id)
            ids.add(ident)
            exact += lossless_body(line) == store.get(ident)
    return lines, len(ids & store.keys()), exact


def lossless_body(line: bytes) -> bytes:
    """An output line without its newline and appended ``"_source"`` member."""
    body = line.rstrip(b"\n")
    at = body.rfind(b',"_source":')
    return body if at < 0 else body[:at] + b"}"


async def demo(args: argparse.Namespace) -> tuple[HarvestResult, int, tuple[int, int, int]]:
    """Run the demo; returns the harvest result, the store size and what :func:`_check` found."""
    from ..emulator import Emulator, EmulatorConfig, FaultConfig

    faults = (
        FaultConfig()
        if args.no_faults
        else FaultConfig(
            seed=7,
            rates={
                "server_error": 0.02,
                "bad_gateway_html": 0.01,
                "service_unavailable": 0.01,
                "rate_limited": 0.005,
                "latency": 1.0,  # every request: latency_seconds + up to the jitter
            },
            retry_after_seconds=1,
            latency_seconds=0.002,
            latency_jitter_seconds=0.008,
        )
    )
    config = EmulatorConfig(
        seed=7,
        integrations=args.integrations,
        jobs_per_integration=args.jobs_per_integration,
        logs=args.logs,
        faults=faults,
    )
    async with Emulator(config) as emu:
        env = emu.env()
        scope = default_scope(args.provider)
        options = HarvestOptions(  # force: run_demo refused a non-empty OUT without --force
            provider=args.provider,
            out=args.out,
            scope=scope,
            concurrency=args.concurrency,
            force=True,
        )
        if not args.quiet:
            print(
                f"emulator on {emu.url}: {args.logs:,} logs per provider, "
                f"{args.integrations} integrations, faults {'off' if args.no_faults else 'on'}; "
                f"harvesting {args.provider} by {scope[:-1]} with concurrency {args.concurrency}",
                file=sys.stderr,
            )
        async with make_client(args.provider, env, rate_limit=args.rate_limit) as client:
            result = await run_harvest(client, options, progress=not args.quiet)
        view = emu.store.logs(args.provider)
        store = {str(ident): raw for ident, raw in zip(view.ids(), view, strict=True)}
    counted = await asyncio.to_thread(_check, args.out, store)
    return result, len(store), counted


def run_demo(args: argparse.Namespace) -> int:
    """Entry point of ``integration-logs demo``."""
    out = Path(args.out)
    if not args.force and out.is_file() and out.stat().st_size > 0:
        raise ValueError(
            f"--out {args.out} already holds data; nothing was changed. Rerun the demo with "
            "--force to replace it, or give another --out"
        )
    result, store_size, (lines, distinct, same) = asyncio.run(demo(args))
    print(result.summary(), file=sys.stderr)
    exact = lines == distinct == same == store_size
    verdict = "every record exactly once, byte for byte" if exact else "MISMATCH"
    print(
        f"check: {lines:,} lines, {distinct:,} distinct ids of the store's {store_size:,} logs, "
        f"{same:,} lines equal to the server's bytes -> {verdict}. Output: {args.out}",
        file=sys.stderr,
    )
    return 0 if exact and result.complete else 1
