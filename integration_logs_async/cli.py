"""The ``integration-logs`` command: ``harvest``, ``demo`` and ``emulate``.

Exit codes: 0 done; 2 bad usage or settings; 3 authentication or permission refused;
4 the provider or the network failed after retries; 5 unexpected data (decode, pagination,
unsafe URL); 130 interrupted. Failures print one line saying what happened and what to do.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime

import msgspec

from . import _constants as C
from .auth import Auth, BasicAuth, ClientCredentials
from .elasticpath import ElasticPathClient
from .errors import (
    APIError,
    AuthenticationError,
    DecodeError,
    FanOutError,
    IntegrationLogsError,
    PaginationError,
    PermissionDeniedError,
    ResponseTooLargeError,
    TransportError,
    UnsafeURLError,
)
from .harvest import HarvestOptions, HarvestResult, run_harvest
from .sendcloud import SendcloudClient

EXIT_OK, EXIT_USAGE, EXIT_AUTH, EXIT_REMOTE, EXIT_DATA, EXIT_INTERRUPTED = 0, 2, 3, 4, 5, 130

CREDENTIALS_HELP = f"""credentials come from the environment:
  sendcloud:   SENDCLOUD_PUBLIC_KEY + SENDCLOUD_SECRET_KEY (HTTP Basic), or
               SENDCLOUD_CLIENT_ID + SENDCLOUD_CLIENT_SECRET (OAuth2; SENDCLOUD_TOKEN_URL optional)
               SENDCLOUD_API_BASE_URL optional (default {C.SENDCLOUD_BASE_URL})
  elasticpath: EPCC_CLIENT_ID + EPCC_CLIENT_SECRET, EPCC_API_BASE_URL
               (default {C.ELASTICPATH_BASE_URL}); EPCC_TOKEN_URL optional
"""


class UsageError(Exception):
    """Bad command-line input or environment."""


def credentials_from_env(provider: str, env: Mapping[str, str]) -> Auth:
    """The auth object for ``provider`` from environment variables."""
    if provider == "sendcloud":
        key, secret = env.get("SENDCLOUD_PUBLIC_KEY"), env.get("SENDCLOUD_SECRET_KEY")
        if key and secret:
            return BasicAuth(key, secret)
        cid, csecret = env.get("SENDCLOUD_CLIENT_ID"), env.get("SENDCLOUD_CLIENT_SECRET")
        if cid and csecret:
            return ClientCredentials(cid, csecret, token_url=env.get("SENDCLOUD_TOKEN_URL"))
        raise UsageError(
            "missing Sendcloud credentials: set SENDCLOUD_PUBLIC_KEY and SENDCLOUD_SECRET_KEY "
            "(or SENDCLOUD_CLIENT_ID and SENDCLOUD_CLIENT_SECRET)"
        )
    cid, csecret = env.get("EPCC_CLIENT_ID"), env.get("EPCC_CLIENT_SECRET")
    if cid and csecret:
        return ClientCredentials(cid, csecret, token_url=env.get("EPCC_TOKEN_URL"))
    raise UsageError("missing Elastic Path credentials: set EPCC_CLIENT_ID and EPCC_CLIENT_SECRET")


def _since(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--since {text!r} is not ISO-8601, e.g. 2024-05-01T00:00:00Z"
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"--since {text!r} needs a timezone, e.g. a trailing Z")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def add_harvest_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``integration-logs harvest``."""
    parser.add_argument("provider", choices=["sendcloud", "elasticpath"])
    parser.add_argument("--out", required=True, help="output JSON Lines file, or - for stdout")
    parser.add_argument("--state", help="state file (default: OUT.state.json)")
    parser.add_argument(
        "--scope",
        choices=["all", "integrations", "jobs"],
        default="integrations",
        help="one listing of all logs, per integration (default), or per job (Elastic Path)",
    )
    parser.add_argument(
        "--integration", action="append", default=[], metavar="ID", help="only these (repeat)"
    )
    parser.add_argument("--concurrency", type=_positive_int, default=C.FANOUT_CONCURRENCY)
    parser.add_argument("--rate-limit", type=_positive_float, help="requests per second")
    parser.add_argument("--max-items", type=_positive_int)
    parser.add_argument("--since", type=_since, help="only logs created at/after (ISO-8601)")
    parser.add_argument("--base-url", help="API base URL (default from the environment)")
    parser.add_argument("--page-size", type=_positive_int)
    parser.add_argument(
        "--format",
        choices=["raw", "normalized"],
        default="raw",
        help="raw: the server's records, lossless (default); normalized: one schema for both",
    )
    parser.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="allow plain http to a non-loopback host (credentials travel unencrypted)",
    )
    parser.add_argument(
        "--save-every",
        type=_positive_int,
        metavar="N",
        help="make the output durable and record progress in the state file every N records "
        "(default 5000; also every 2 s); a rerun after a crash re-fetches at most that much",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.add_argument(
        "--progress-interval",
        type=_positive_float,
        metavar="S",
        help="seconds between progress lines when stderr is not a terminal (default 5)",
    )


def make_client(
    provider: str,
    env: Mapping[str, str],
    *,
    base_url: str | None = None,
    rate_limit: float | None = None,
    allow_insecure_http: bool = False,
) -> SendcloudClient | ElasticPathClient:
    """A client for ``provider`` configured from the environment and flags."""
    auth = credentials_from_env(provider, env)
    if provider == "sendcloud":
        return SendcloudClient(
            auth,
            base_url=base_url or env.get("SENDCLOUD_API_BASE_URL") or None,
            rate_limit=rate_limit,
            allow_insecure_http=allow_insecure_http,
        )
    return ElasticPathClient(
        auth,
        base_url=base_url or env.get("EPCC_API_BASE_URL") or None,
        rate_limit=rate_limit,
        allow_insecure_http=allow_insecure_http,
    )


async def harvest_command(args: argparse.Namespace, env: Mapping[str, str]) -> HarvestResult:
    """Run ``integration-logs harvest`` and return its result."""
    options = HarvestOptions(
        provider=args.provider,
        out=args.out,
        state=args.state,
        scope=args.scope,
        integration_ids=tuple(args.integration),
        concurrency=args.concurrency,
        max_items=args.max_items,
        since=args.since,
        format=args.format,
        page_size=args.page_size,
        **({} if args.save_every is None else {"save_every_records": args.save_every}),
    )
    client = make_client(
        args.provider,
        env,
        base_url=args.base_url,
        rate_limit=args.rate_limit,
        allow_insecure_http=args.allow_insecure_http,
    )
    async with client:
        return await run_harvest(
            client, options, progress=not args.quiet, progress_interval=args.progress_interval
        )


def exit_code_for(exc: BaseException) -> int:
    """The process exit code for a failure."""
    if isinstance(exc, FanOutError) and exc.failures:
        return exit_code_for(next(iter(exc.failures.values())))
    if isinstance(exc, msgspec.DecodeError):  # a ValueError, but about the data
        return EXIT_DATA
    if isinstance(exc, UsageError | ValueError | OSError):  # OSError: the output or state file
        return EXIT_USAGE
    if isinstance(exc, AuthenticationError | PermissionDeniedError):
        return EXIT_AUTH
    if isinstance(exc, DecodeError | PaginationError | UnsafeURLError | ResponseTooLargeError):
        return EXIT_DATA
    if isinstance(exc, APIError | TransportError | IntegrationLogsError):
        return EXIT_REMOTE
    return 1


def build_parser() -> argparse.ArgumentParser:
    """The ``integration-logs`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="integration-logs",
        description="Harvest integration logs from Sendcloud and Elastic Path.",
        epilog=CREDENTIALS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--log-level", default="WARNING", help="e.g. INFO or DEBUG (to stderr)")
    sub = parser.add_subparsers(dest="command", required=True)
    harvest = sub.add_parser(
        "harvest",
        help="pull logs into a JSON Lines file (crash-safe, incremental)",
        epilog=CREDENTIALS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_harvest_arguments(harvest)
    demo = sub.add_parser("demo", help="harvest from the built-in emulator (no account needed)")
    from .demo import add_demo_arguments

    add_demo_arguments(demo)
    emulate = sub.add_parser("emulate", help="serve the built-in emulator of both APIs")
    from .emulator.cli import add_emulate_arguments

    add_emulate_arguments(emulate)
    return parser


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Entry point of the ``integration-logs`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    environment = os.environ if env is None else env
    try:
        if args.command == "emulate":
            from .emulator.cli import run_emulate

            code: int = run_emulate(args)
            return code
        if args.command == "demo":
            from .demo import run_demo

            return run_demo(args)
        result = asyncio.run(harvest_command(args, environment))
    except KeyboardInterrupt:
        print("integration-logs: interrupted; rerun the same command to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (UsageError, IntegrationLogsError, ValueError, OSError) as exc:
        print(f"integration-logs: error: {exc}", file=sys.stderr)
        return exit_code_for(exc)
    print(result.summary(), file=sys.stderr)
    if result.failures:
        return EXIT_REMOTE
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
