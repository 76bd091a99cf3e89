"""Alert on new failed integration logs: a small service built on ``client.tail()``.

It follows the account's log listing and sends one alert per poll that found new failed
logs: one line per log, so a burst becomes one message (a burst over ``--max-lines`` logs
lists the first ones, then counts the rest per integration). Alerts are printed, or posted
as ``{"text": ...}`` (a Slack-style incoming webhook) to ``--webhook URL``.

``--state FILE`` keeps the tail's checkpoint. It is saved after the first poll and after
each alert is delivered, so a restart continues right after the last alerted log: nothing
repeated, nothing missed. (A crash between delivering an alert and saving it resends that
one alert.) Ctrl-C and SIGTERM stop it cleanly: an alert being delivered is finished and
saved first. Without ``--state``, the tail starts "now" and skips the logs already there.

Against your account, with the variables the ``integration-logs`` command reads::

    export SENDCLOUD_PUBLIC_KEY=... SENDCLOUD_SECRET_KEY=...
    python examples/alert_on_failures.py sendcloud --state alerts.state
    export EPCC_CLIENT_ID=... EPCC_CLIENT_SECRET=... EPCC_API_BASE_URL=https://useast.api.elasticpath.com
    python examples/alert_on_failures.py elasticpath --webhook https://hooks.example.com/T0/B0/x

Against the built-in emulator (it starts one; ``--arrival-rate`` new logs arrive per second)::

    python examples/alert_on_failures.py sendcloud --emulator --interval 1 --max-alerts 10

Each ``--emulator`` run starts a new emulator whose log ids start over, so ``--state`` is
refused with it. To try restarts, run an emulator that outlives the script, export the
variables it prints, and use the commands above::

    integration-logs emulate --port 0 --arrival-rate 2/s
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC
from pathlib import Path

import aiohttp

from integration_logs_async import BasicAuth, ClientCredentials, ElasticPathClient, SendcloudClient
from integration_logs_async.emulator import Emulator
from integration_logs_async.records import NormalizedLog


def make_client(provider: str, env: Mapping[str, str]) -> SendcloudClient | ElasticPathClient:
    """A client from the environment variables ``integration-logs`` documents."""
    if provider == "sendcloud":
        auth = BasicAuth(env["SENDCLOUD_PUBLIC_KEY"], env["SENDCLOUD_SECRET_KEY"])
        return SendcloudClient(auth, base_url=env.get("SENDCLOUD_API_BASE_URL"))
    auth2 = ClientCredentials(env["EPCC_CLIENT_ID"], env["EPCC_CLIENT_SECRET"])
    return ElasticPathClient(auth2, base_url=env["EPCC_API_BASE_URL"])


def alert_lines(logs: Sequence[NormalizedLog], max_lines: int) -> list[str]:
    """One line per failed log (oldest first); past ``max_lines``, a count per integration."""
    lines = []
    for log in logs[:max_lines]:
        when = log.created_at.astimezone(UTC).isoformat() if log.created_at else "?"
        url = (log.url or "").split("?")[0]  # query values may hold secrets
        lines.append(
            f"FAILED {when} integration={log.integration_id} status={log.status_code or 'none'}"
            f" log={log.id} {log.method or '-'} {url} {(log.error or '')[:120]}"
        )
    rest = Counter(str(log.integration_id) for log in logs[max_lines:])
    if rest:
        counts = ", ".join(f"integration={i}: {n}" for i, n in rest.most_common())
        lines.append(f"... and {rest.total()} more failed logs ({counts})")
    return lines


async def deliver(lines: list[str], webhook: str | None, session: aiohttp.ClientSession) -> None:
    """Print the alert, or post it to the webhook. A failed post ends the run before the
    state is saved, so a restart (e.g. by systemd) sends this alert again."""
    if webhook is None:
        print("\n".join(lines), flush=True)
        return
    try:
        async with session.post(webhook, json={"text": "\n".join(lines)}) as response:
            response.raise_for_status()
    except aiohttp.ClientError as exc:
        raise SystemExit(f"webhook failed ({exc}); rerun to send this alert again") from None


def save_state(path: Path, checkpoint: str) -> None:
    """Write, then rename: the state file always holds a whole checkpoint."""
    path.with_name(path.name + ".tmp").write_text(checkpoint)
    os.replace(path.with_name(path.name + ".tmp"), path)


async def watch(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Tail failed logs and alert until a stop condition; returns the number alerted."""
    state = Path(args.state) if args.state else None
    resume = state.read_text() if state is not None and state.exists() else None
    alerted, stopping, delivering = 0, False, False
    closing: list[asyncio.Task[None]] = []
    async with make_client(args.provider, env) as client, aiohttp.ClientSession() as session:
        tail = client.tail(failed_only=True, poll_interval=args.interval, resume_from=resume)
        raw = tail.raw()  # RawRecords: read provider-neutrally with client.spec.normalize

        def stop() -> None:  # Ctrl-C, SIGTERM: let an alert in delivery finish first
            nonlocal stopping
            stopping = True
            if not delivering:
                closing.append(asyncio.create_task(raw.aclose()))

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        try:
            async with raw:
                async for batch in raw.pages(idle=True, max_items=args.max_alerts):
                    delivering = True
                    if batch.items:
                        logs = [client.spec.normalize(record) for record in batch.items]
                        await deliver(alert_lines(logs, args.max_lines), args.webhook, session)
                        alerted += len(logs)
                    if state is not None and batch.checkpoint != resume:
                        save_state(state, batch.checkpoint)
                        resume = batch.checkpoint
                    delivering = False
                    if stopping or args.once:
                        break
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            await asyncio.gather(*closing)
    return alerted


async def main(args: argparse.Namespace) -> None:
    """Run against the environment's account, or against an emulator started here."""
    if not args.emulator:
        alerted = await watch(args, os.environ)
    else:
        async with Emulator(integrations=3, logs=200) as emu:
            emu.set_arrival_rate(args.arrival_rate, providers=[args.provider])
            alerted = await watch(args, emu.env())
    where = f"; position saved in {args.state}" if args.state else ""
    print(f"stopped after alerting {alerted} failed logs{where}", flush=True)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("provider", choices=["sendcloud", "elasticpath"])
    parser.add_argument("--webhook", metavar="URL", help="post alerts here (default: print)")
    parser.add_argument("--state", metavar="FILE", help="checkpoint file, to resume exactly")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between polls")
    parser.add_argument("--max-lines", type=int, default=20, help="log lines per alert")
    parser.add_argument("--max-alerts", type=int, metavar="N", help="stop after N failed logs")
    parser.add_argument("--once", action="store_true", help="poll once, alert, save, exit")
    parser.add_argument("--emulator", action="store_true", help="run against a local emulator")
    parser.add_argument("--arrival-rate", type=float, default=2.0, help="emulator: logs/s")
    args = parser.parse_args(argv)
    if args.emulator and args.state:
        parser.error("--state needs a server that outlives this script; see --help")
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
