"""``integration-logs harvest``: its options and the run.

SIGTERM (how schedulers and containers stop a job) is handled like Ctrl-C: the run stops at
once, its progress saved, and the command exits 143 (:class:`Terminated`), saying what a rerun
finds: saved progress, nothing written yet, or (``--out -``) nothing kept.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping

from .. import _constants as C
from .. import providers
from ..errors import FanOutError, IntegrationLogsError, OffsetCeilingError
from ..harvest import (
    FollowStatus,
    HarvestOptions,
    HarvestResult,
    HarvestState,
    follow_harvest,
    load_state,
    run_harvest,
)
from ._clients import add_client_arguments, client_from_args
from ._common import UsageError, non_negative_float, positive_float, positive_int, since_arg
from ._harvest_sinks import add_sink_arguments, check_sink_args, kept_in_sink
from ._signals import SigtermCancels, Terminated
from ._versions import api_versions, chosen_api_version


def add_harvest_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``integration-logs harvest``."""
    parser.add_argument("provider", choices=providers.names())
    add_client_arguments(parser)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--out",
        help="output JSON Lines file, or - for stdout (no default: give --out or --to)",
    )
    add_sink_arguments(where, parser)
    parser.add_argument("--state", help="state file (default: OUT.state.json)")
    parser.add_argument(
        "--scope",
        choices=sorted({s for spec in providers.specs() for s in spec.harvest_scopes}),
        help="one listing of all logs, one per integration, or one per job. Default: the scope "
        "the state file records, else the provider's first ("
        + ", ".join(f"{spec.name}: {'/'.join(spec.harvest_scopes)}" for spec in providers.specs())
        + "; a provider with an offset ceiling starts with the scope whose listings stay under "
        "it)",
    )
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument(
        "--append",
        action="store_true",
        help="OUT exists and its state file does not describe it (none, or another harvest's): "
        "keep it and add to it, skipping the records already in it",
    )
    existing.add_argument(
        "--force",
        action="store_true",
        help="OUT exists and its state file does not describe it: replace it (once the run has "
        "a first page to write; a run that fails before leaves it as it was)",
    )
    parser.add_argument(
        "--integration",
        action="append",
        default=[],
        metavar="ID",
        help="only these integration ids (repeat; default: all)",
    )
    parser.add_argument(
        "--concurrency",
        type=positive_int,
        default=C.FANOUT_CONCURRENCY,
        metavar="N",
        help="integrations or jobs read at once (requests in flight)",
    )
    parser.add_argument(
        "--max-items", type=positive_int, metavar="N", help="stop after N records (default: all)"
    )
    parser.add_argument(
        "--since",
        type=since_arg,
        help="only logs created at/after (ISO-8601). Default: as the state file records (all "
        "for a new harvest). Later than before: applied to what is fetched; earlier: every "
        "stream is read again down to it, skipping the records already in OUT",
    )
    parser.add_argument(
        "--page-size",
        type=positive_int,
        metavar="N",
        help="records per request (at most: "
        + ", ".join(
            f"{spec.name} {spec.max_page_size}"
            + "".join(
                f" (API v{v}: {providers.client_class(spec.name, v).spec.max_page_size})"
                for v in api_versions(spec.name)
                if v != spec.api_version
            )
            for spec in providers.specs()
        )
        + "; default: the provider's own choice, or the most it allows)",
    )
    parser.add_argument(
        "--format",
        choices=["raw", "normalized"],
        help="raw: the server's records, lossless; normalized: one schema for both (default: "
        "raw; a database sink writes both)",
    )
    parser.add_argument(
        "--save-every",
        type=positive_int,
        metavar="N",
        help="make the output durable and record progress in the state file every N records "
        "(default: 5000, 8192 into DuckDB, 25000 into Parquet; also every 2 s); a rerun after "
        "a crash re-fetches at most that much",
    )
    parser.add_argument(
        "--follow",
        action="store_true",
        help="once the harvest completes, keep appending new logs to OUT as they arrive (one "
        "tail of the account's listing), with the same crash safety, until Ctrl-C or SIGTERM; "
        "rerun the same command to continue",
    )
    parser.add_argument(
        "--interval",
        type=positive_float,
        metavar="S",
        help=f"with --follow: seconds between polls (default: {C.TAIL_POLL_INTERVAL:g})",
    )
    parser.add_argument(
        "--lookback",
        type=non_negative_float,
        metavar="S",
        help="with --follow: a log listed late, up to S seconds older than the newest one "
        f"seen, is still appended (default: {C.TAIL_LOOKBACK:g})",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.add_argument(
        "--progress-interval",
        type=positive_float,
        metavar="S",
        help="seconds between progress lines when stderr is not a terminal (default: 5)",
    )


def kept_after_stop(out: str, state: HarvestState | None) -> str:
    """What a harvest of ``out`` stopped early leaves for a rerun, given its state file now.

    ``state`` is None when there is no state file: the run stopped before its first page
    (a run creates its files only then), so nothing was written. A state not in progress is
    the last complete harvest's, untouched by this run: again nothing was written.
    """
    if out == "-":
        return "--out - keeps no state: a rerun starts over"
    if state is None or not state.in_progress:
        return "nothing was written yet, no file was changed; rerun the same command to start"
    return "progress is saved, rerun the same command to continue"


def _kept_now(options: HarvestOptions) -> str:
    """:func:`kept_after_stop` for the state file as it is on disk now."""
    if options.to is not None:
        return kept_in_sink(options)
    state = None
    if options.state_path is not None:
        try:
            state = load_state(options.state_path)
        except (OSError, ValueError):  # unreadable now: claim nothing about it
            return "rerun the same command to continue"
    return kept_after_stop(options.out, state)


def _ceiling_error(exc: BaseException) -> tuple[str, OffsetCeilingError] | None:
    """The offset-ceiling refusal in ``exc``, and the label of the listing it stopped."""
    if isinstance(exc, OffsetCeilingError):
        return "", exc
    if isinstance(exc, FanOutError):
        for label, failure in exc.failures.items():
            if isinstance(failure, OffsetCeilingError):
                return label, failure
    return None


class CeilingReached(IntegrationLogsError):
    """A listing reached its provider's offset ceiling; the message says how to continue."""


def _continue_by_scope(
    options: HarvestOptions, scope: str, label: str, exc: OffsetCeilingError
) -> CeilingReached:
    """The ceiling error of a listing longer than the ones of ``scope``, with the way on."""
    title = options.spec.title
    what = str(exc).replace(exc.hint, "").strip()
    by = scope[:-1] if scope.endswith("s") else scope  # "jobs": job by job
    if options.out == "-":  # nothing kept: stdout has no state and takes no --append
        way = f"continue {by} by {by} (shorter listings): rerun with --scope {scope}"
    else:
        way = (
            f"what was harvested is kept in {options.out}; continue {by} by {by} (shorter "
            f"listings), keeping it: rerun with --scope {scope} --append"
        )
    ceiling = f"offset {exc.ceiling:,}" if exc.ceiling is not None else "its offset ceiling"
    return CeilingReached(
        f"{label + ': ' if label else ''}{what} {title} does not list past {ceiling} of one "
        f"listing: {way}"
    )


def options_from_args(
    args: argparse.Namespace, env: Mapping[str, str] | None = None
) -> HarvestOptions:
    """The :class:`HarvestOptions` of ``integration-logs harvest ARGS`` (the API version from
    ``--api-version``, else the provider's version variable in ``env``)."""
    return HarvestOptions(
        provider=args.provider,
        api_version=chosen_api_version(args.provider, args.api_version, env or {}),
        out=args.out or "",
        to=args.to,
        store=args.store,
        state=args.state,
        scope=args.scope,
        integration_ids=tuple(args.integration),
        concurrency=args.concurrency,
        max_items=args.max_items,
        since=args.since,
        format=args.format or "raw",
        page_size=args.page_size,
        append=args.append,
        force=args.force,
        **({} if args.save_every is None else {"save_every_records": args.save_every}),
    )


def check_follow_args(args: argparse.Namespace) -> None:
    """:class:`UsageError` for follow options without ``--follow``, or with ``--max-items``."""
    if not args.follow:
        given = [
            flag
            for flag, value in (("--interval", args.interval), ("--lookback", args.lookback))
            if value is not None
        ]
        if given:
            raise UsageError(
                f"{' and '.join(given)} set how --follow polls: add --follow, or drop {given[0]}"
            )
    elif args.max_items is not None:
        raise UsageError(
            "--max-items stops the harvest before it completes and --follow follows a "
            "complete harvest: use one or the other"
        )


async def harvest_command(args: argparse.Namespace, env: Mapping[str, str]) -> HarvestResult:
    """Run ``integration-logs harvest`` and return its result.

    Raises :class:`Terminated` on SIGTERM (after the state is saved). With ``--follow`` it
    never returns: once stopped (Ctrl-C, SIGTERM, a failure) it prints the harvest's and the
    follow's summary, then raises.
    """
    check_follow_args(args)
    options = options_from_args(args, env)
    check_sink_args(args, options)
    client = client_from_args(args, env)  # the same API version: run_harvest checks it
    status = FollowStatus() if args.follow else None
    sigterm = SigtermCancels()
    try:
        with sigterm:
            async with client:
                if status is None:
                    return await run_harvest(
                        client,
                        options,
                        progress=not args.quiet,
                        progress_interval=args.progress_interval,
                    )
                await follow_harvest(  # returns never: stopped by a signal or a failure
                    client,
                    options,
                    interval=args.interval or C.TAIL_POLL_INTERVAL,
                    lookback=C.TAIL_LOOKBACK if args.lookback is None else args.lookback,
                    status=status,
                    progress=not args.quiet,
                    progress_interval=args.progress_interval,
                )
    except asyncio.CancelledError:
        if sigterm.received:
            raise Terminated(_kept_now(options)) from None
        raise
    except (IntegrationLogsError, ValueError) as exc:
        found = _ceiling_error(exc)
        narrower = options.spec.ceiling_scope
        if found is not None and narrower is not None and options.chosen_scope != narrower:
            raise _continue_by_scope(options, narrower, *found) from exc
        raise
    finally:
        if status is not None and status.harvest is not None:  # what it did, then why it ended
            print(status.summary(), file=sys.stderr)
