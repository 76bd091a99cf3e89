"""``integration-logs integrations``: list a provider's integrations (id, name, type, status).

So that the ids in harvested logs can be joined to names. ``--format table`` (default) prints
aligned columns for people; ``--format json`` prints JSON Lines, one object per integration
with the keys ``id``, ``name``, ``type`` and ``status`` (the id as the provider types it:
a number for Sendcloud, a UUID string for Elastic Path), like the harvest's output.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from typing import TextIO

import msgspec

from .. import providers
from ..providers import IntegrationSummary
from ._clients import add_client_arguments, client_from_args

COLUMNS = ("id", "name", "type", "status")


def _cell(value: object) -> str:
    text = "-" if value is None or value == "" else str(value)
    # one line per row, whatever the provider put in a name
    return "".join(ch if ch.isprintable() else " " for ch in text)


def _width(text: str) -> int:
    """Columns ``text`` takes on a terminal (wide East Asian characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def format_table(rows: Sequence[IntegrationSummary]) -> str:
    """Aligned columns with a header; the last column is not padded."""
    table = [list(COLUMNS)] + [[_cell(getattr(row, c)) for c in COLUMNS] for row in rows]
    widths = [max(_width(line[i]) for line in table) for i in range(len(COLUMNS) - 1)]
    out = []
    for line in table:
        cells = [cell + " " * (w - _width(cell)) for cell, w in zip(line, widths, strict=False)]
        out.append("  ".join([*cells, line[-1]]).rstrip())
    return "\n".join(out) + "\n"


def format_json_lines(rows: Sequence[IntegrationSummary]) -> str:
    """One JSON object per line."""
    return "".join(msgspec.json.encode(row).decode() + "\n" for row in rows)


def add_integrations_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``integration-logs integrations``."""
    parser.add_argument("provider", choices=providers.names())
    parser.add_argument(
        "--format",
        choices=["table", "json"],
        default="table",
        help="table: aligned columns; json: one JSON object per line (id, name, type, status)",
    )
    add_client_arguments(parser)


async def integrations_command(
    args: argparse.Namespace, env: Mapping[str, str], *, out: TextIO | None = None
) -> int:
    """List the integrations to ``out`` (default stdout); returns how many there are."""
    client = client_from_args(args, env)
    summarize = client.spec.summarize_integration
    async with client:
        rows: list[IntegrationSummary] = []
        async with client.integrations() as listing:
            async for item in listing:
                rows.append(summarize(item))
    text = format_table(rows) if args.format == "table" else format_json_lines(rows)
    stream = out if out is not None else sys.stdout
    stream.write(text)
    stream.flush()
    return len(rows)
