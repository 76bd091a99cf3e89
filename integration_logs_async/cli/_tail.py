"""``integration-logs tail``: follow new logs as they arrive and print each once.

Built on ``client.tail()`` (:mod:`integration_logs_async.tail`). One line per log: text
for people (on a terminal, the default there), JSON Lines otherwise (the log as normalized,
as ``harvest --format normalized`` writes it); see :mod:`._tail_format`.

``--state FILE`` makes the tail resumable: after each poll's logs are printed and flushed,
the tail's checkpoint is saved to FILE atomically (temporary file, fsync, rename). FILE is
first written right after the first poll, even when it found nothing, so that a tail
stopped before any log arrived resumes from where it started, losing nothing that
arrived while it was down. A FILE that is not a tail state of the same provider, API
version and listing is refused and left untouched.

SIGTERM is handled like Ctrl-C (the state is saved after every batch anyway): exit 143.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from .. import _constants as C
from .. import providers
from .._tail import parse_status
from ..fanout import Source
from ..harvest._normalize import normalize
from ..providers import BaseClient, Normalizer
from ..records import RawRecord
from ..tail import TailOptions, TailStream
from ._clients import add_client_arguments, client_from_args
from ._common import UsageError, non_negative_float, positive_float, positive_int
from ._messages import in_cli_words, one_line
from ._signals import SigtermCancels, Terminated
from ._tail_format import json_line, tail_since_arg, text_line, use_color
from ._tail_state import (
    STATE_KIND,
    TailFileState,
    check_tail_state,
    load_tail_state,
    save_tail_state,
)

__all__ = ["TAIL_EPILOG", "add_tail_arguments", "tail_command"]

TAIL_EPILOG = """\
examples:
  integration-logs tail sendcloud --failed-only --status 5xx
  integration-logs tail elasticpath --since 10m --format json | jq .error
  integration-logs tail sendcloud --integration 4242 --state tail.state --once   # from cron
  integration-logs tail sendcloud --status none 429 --max-logs 1   # wait for the first one

--since and --state: without either, the tail starts now (the logs present at its first
poll are not printed). With --state FILE, FILE is written right after the first poll and
after every poll that printed logs (once they are flushed), so a rerun continues exactly
after the last log printed, including the logs that arrived while it was stopped; --since
is then ignored. --once polls once: the first --once run with a new FILE only records the
start point, each next run prints what arrived since.

"""


def _status_arg(text: str) -> int | str:
    try:
        return parse_status(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("status ")) from None


def add_tail_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``integration-logs tail``."""
    parser.add_argument("provider", choices=providers.names())
    parser.add_argument(
        "--since",
        type=tail_since_arg,
        metavar="WHEN",
        help="also print the logs created since then: a duration back from now (30s, 10m, "
        "2h, 1d) or ISO-8601 with a timezone. Default: from now (ignored when --state FILE "
        "exists)",
    )
    parser.add_argument(
        "--interval",
        type=positive_float,
        default=C.TAIL_POLL_INTERVAL,
        metavar="S",
        help="seconds between polls (jittered by 10%%)",
    )
    parser.add_argument(
        "--lookback",
        type=non_negative_float,
        default=C.TAIL_LOOKBACK,
        metavar="S",
        help="a log that shows up late, with a created_at up to S seconds older than the "
        "newest seen, is still printed",
    )
    parser.add_argument(
        "--page-size",
        type=positive_int,
        metavar="N",
        help="records per request (default: the most the provider allows)",
    )
    filters = parser.add_argument_group("filters (on the client, no extra requests)")
    filters.add_argument(
        "--failed-only", action="store_true", help="only logs the provider marks as failed"
    )
    filters.add_argument(
        "--status",
        type=_status_arg,
        nargs="+",
        action="extend",
        default=[],
        metavar="STATUS",
        help="only these statuses: a code (503), a class (5xx) or none (no response); "
        "several values or repeated. With --failed-only: logs that match both",
    )
    filters.add_argument(
        "--integration",
        action="append",
        default=[],
        metavar="ID",
        help="only this integration (repeat for several). One id tails that integration's own "
        "listing (exact); several tail the account's listing and keep the logs that name "
        "one of them (a log whose record names no integration, as Sendcloud API v3 may "
        "list them, is then dropped)",
    )
    output = parser.add_argument_group("output")
    output.add_argument(
        "--format",
        choices=["text", "json"],
        help="text: one line per log (time UTC, integration, status or ---, method, URL "
        "without query values, error); json: one object per line, the log as normalized "
        "(as harvest --format normalized). Default: text on a terminal, else json",
    )
    output.add_argument(
        "--color",
        choices=["auto", "always", "never"],
        default="auto",
        help="colour text lines (red: 5xx or no response, yellow: 4xx); auto: on a "
        "terminal unless NO_COLOR is set",
    )
    output.add_argument(
        "--state",
        metavar="FILE",
        help="resume from FILE and save the position in it (see below; default: none)",
    )
    output.add_argument(
        "--max-logs",
        type=positive_int,
        metavar="N",
        help="exit 0 after printing N logs (default: no limit)",
    )
    output.add_argument(
        "--once",
        action="store_true",
        help="poll once, print what is new, save --state, exit 0 (for cron)",
    )
    add_client_arguments(parser)


# --- the run ----------------------------------------------------------------------------------


# The library's advice in a failed request's message, for a stream's caller; a tail that
# logs it tries again by itself.
_STREAM_ADVICE = "; retry later or resume the stream from its checkpoint"


class _OneLine(logging.Filter):
    """The library's warnings (a failed poll, retried) as one line in the CLI's words."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = one_line(record.getMessage()).replace(_STREAM_ADVICE, "")
        record.msg = in_cli_words(message)
        record.args = ()
        return True


@dataclass
class _Printer:
    """Writes a batch of logs as lines (text or JSON), then flushes."""

    stream: TextIO
    text: bool
    color: bool
    normalizer: Normalizer
    source: Source  # the integration of a one-integration listing, for records that omit it

    def write(self, records: list[RawRecord]) -> None:
        """All the lines of ``records`` in one write, flushed (a broken pipe raises here)."""
        lines = []
        for record in records:
            log = normalize(self.normalizer, record, self.source)
            lines.append(text_line(log, color=self.color) if self.text else json_line(log))
        self.stream.write("".join(lines))
        self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _options(args: argparse.Namespace, ids: list[str]) -> TailOptions:
    options: TailOptions = {
        "poll_interval": args.interval,
        "lookback": args.lookback,
        "page_size": args.page_size,
        "failed_only": args.failed_only,
        "status": list(args.status),
    }
    if len(ids) > 1:
        options["integration_ids"] = list(ids)
    if args.since is not None:
        options["since"] = args.since
    return options


def _open_tail(
    client: BaseClient,
    args: argparse.Namespace,
    state_path: Path | None,
    saved: TailFileState | None,
) -> tuple[TailStream[RawRecord], TailFileState]:
    """The raw tail ``args`` ask for (resumed from ``saved``) and the state file it saves."""
    ids: list[str] = list(dict.fromkeys(args.integration))
    one = ids[0] if len(ids) == 1 else None
    options = _options(args, ids)
    try:
        tail: TailStream[RawRecord] = client.tail(integration_id=one, **options).raw()
    except ValueError as exc:  # the settings the client takes, named as the flags
        raise UsageError(str(exc).replace("page_size", "--page-size")) from None
    here = TailFileState(
        kind=STATE_KIND,
        provider=args.provider,
        api_version=client.spec.api_version,
        listing=tail.listing,
        checkpoint="",
    )
    if saved is None or state_path is None:
        return tail, here
    check_tail_state(state_path, saved, here)
    if args.since is not None:
        print(
            f"integration-logs: --since ignored: resuming from --state {state_path}",
            file=sys.stderr,
        )
    options["resume_from"] = saved.checkpoint
    try:
        return client.tail(integration_id=one, **options).raw(), here
    except ValueError as exc:
        raise UsageError(
            f"--state {state_path} holds no usable tail position ({exc}); nothing was "
            "changed. Give this tail another --state FILE"
        ) from None


async def tail_command(
    args: argparse.Namespace, env: Mapping[str, str], *, out: TextIO | None = None
) -> int:
    """Run ``integration-logs tail`` until ``--max-logs``/``--once`` (or a signal); returns
    how many logs were printed. Raises :class:`Terminated` on SIGTERM."""
    stream = out if out is not None else sys.stdout
    fmt = args.format or ("text" if _isatty(stream) else "json")
    color = fmt == "text" and use_color(args.color, isatty=_isatty(stream), env=env)
    state_path = Path(args.state) if args.state else None
    saved = load_tail_state(state_path) if state_path is not None else None
    last = saved.checkpoint if saved is not None else None
    printed = 0

    sigterm = SigtermCancels()
    library_logger = logging.getLogger(C.LOGGER_NAME)
    one_line_filter = _OneLine()
    library_logger.addFilter(one_line_filter)
    try:
        with sigterm:
            async with client_from_args(args, env) as client:
                tail, here = _open_tail(client, args, state_path, saved)
                one = args.integration[0] if len(set(args.integration)) == 1 else None
                source = Source("", one)
                printer = _Printer(stream, fmt == "text", color, client.spec.normalize, source)
                async with tail:
                    async for batch in tail.pages(idle=True, max_items=args.max_logs):
                        if batch.items:
                            printer.write(batch.items)  # flushed before the state says so
                            printed += len(batch.items)
                        if state_path is not None and batch.checkpoint != last:
                            here.checkpoint = batch.checkpoint
                            save_tail_state(state_path, here)
                            last = batch.checkpoint
                        if args.once:
                            break
    except asyncio.CancelledError:
        if sigterm.received:
            raise Terminated(_kept(state_path, last)) from None
        raise
    finally:
        library_logger.removeFilter(one_line_filter)
    return printed


def _kept(state_path: Path | None, saved: str | None) -> str:
    if state_path is None:
        return "without --state nothing is kept: a rerun starts from now (or --since)"
    if saved is None:
        return f"the first poll had not ended, {state_path} was not written; rerun to start"
    return f"{state_path} holds the position after the last log printed; rerun to continue"
