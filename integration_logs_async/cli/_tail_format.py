"""How ``integration-logs tail`` reads ``--since`` and prints logs (pure functions).

- ``--since``: an ISO-8601 time with a timezone (as ``harvest --since``) or a duration back
  from now: ``30s``, ``10m``, ``2h``, ``1d``, ``1w`` (like ``aws logs tail --since``).
- Text lines (for people): ``TIME INTEGRATION STATUS METHOD URL ERROR`` on one line of at
  most :data:`LINE_WIDTH` characters; the time in UTC to the second, ``-`` for a missing
  field, ``---`` for a log without a response (no status, or Elastic Path's ``0``). URLs,
  also those quoted in the error, lose their user info and the values of their query string
  (a shop's token may travel there). Colour (``--color``): red for 5xx
  and no response, yellow for 4xx.
- JSON lines (for programs): the log as normalized, the fields of
  :class:`~integration_logs_async.records.NormalizedLog` (as ``harvest --format normalized``
  writes them).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import msgspec

from ..records import NormalizedLog
from ._common import since_arg

__all__ = [
    "LINE_WIDTH",
    "json_line",
    "parse_duration",
    "shown_url",
    "tail_since_arg",
    "text_line",
    "use_color",
]

LINE_WIDTH = 200
"""Most characters of a text line (colour codes aside)."""

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_RED, _YELLOW, _RESET = "\x1b[31m", "\x1b[33m", "\x1b[0m"
_ELLIPSIS = "…"


def parse_duration(text: str) -> timedelta | None:
    """``30s``, ``10m``, ``2h``, ``1d``, ``1w`` (also ``1.5h``) as a timedelta; None when
    ``text`` is not a duration."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        return None
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()])


def tail_since_arg(text: str, *, now: datetime | None = None) -> datetime:
    """``--since`` of ``tail``: a duration back from ``now`` (default: the clock) or an
    ISO-8601 time with a timezone; ``ArgumentTypeError`` (one line) otherwise."""
    duration = parse_duration(text)
    if duration is not None:
        return (now or datetime.now(UTC)) - duration
    try:
        return since_arg(text)
    except argparse.ArgumentTypeError as exc:
        if "timezone" in str(exc):
            raise
        raise argparse.ArgumentTypeError(
            f"--since {text!r} is neither a duration back from now (30s, 10m, 2h, 1d) nor an "
            "ISO-8601 time with a timezone (2024-05-01T00:00:00Z)"
        ) from None


def use_color(choice: str, *, isatty: bool, env: Mapping[str, str]) -> bool:
    """Whether text lines are coloured: ``always``, ``never``, or ``auto`` (a terminal, and
    neither ``NO_COLOR`` set non-empty nor ``TERM=dumb``)."""
    if choice != "auto":
        return choice == "always"
    return isatty and not env.get("NO_COLOR") and env.get("TERM") != "dumb"


def shown_url(url: str | None) -> str:
    """``url`` without user info and with every query value hidden (keys kept)."""
    if not url:
        return "-"
    try:
        parts = urlsplit(url)
        host = parts.netloc.rsplit("@", 1)[-1]
        query = "&".join(
            pair.split("=", 1)[0] + ("=…" if "=" in pair else "")
            for pair in parts.query.split("&")
            if pair
        )
        return urlunsplit((parts.scheme, host, parts.path, query, ""))
    except ValueError:  # not a URL (e.g. a bad port): show no part that may be a secret
        return url.split("?", 1)[0].rsplit("@", 1)[-1]


_URL_IN_TEXT = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)


def _shown_urls(text: str) -> str:
    """``text`` with each URL in it as :func:`shown_url` shows it (errors quote URLs)."""
    return _URL_IN_TEXT.sub(lambda m: shown_url(m.group(0)), text)


def _flat(text: str) -> str:
    """``text`` on one line: control characters as spaces, runs of spaces as one."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def _cut(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + _ELLIPSIS if width > 0 else ""


def _time(value: datetime | None) -> str:
    if value is None:
        return "-" * 20
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status_colour(code: int | None) -> str:
    if not code or code >= 500:
        return _RED
    if code >= 400:
        return _YELLOW
    return ""


def text_line(log: NormalizedLog, *, color: bool = False, width: int = LINE_WIDTH) -> str:
    """One line for people: time, integration, status, method, URL, error (ends in \\n)."""
    status = "---" if not log.status_code else str(log.status_code)  # 0: no response
    when, owner = _time(log.created_at), _flat(log.integration_id or "-")
    method = f"{_flat(log.method or '-'):<6}"
    head_width = len(when) + len(owner) + len(status) + len(method) + 3
    url = _flat(shown_url(log.url))
    error = _flat(_shown_urls(log.error or ""))
    room = width - head_width - 1
    url = _cut(url, max(room - (min(len(error), 40) + 1 if error else 0), 20))
    error = _cut(error, width - head_width - len(url) - 2)
    if color and (paint := _status_colour(log.status_code)):
        status = f"{paint}{status}{_RESET}"
        error = f"{paint}{error}{_RESET}" if error else error
    return f"{when} {owner} {status} {method} {url} {error}".rstrip() + "\n"


_encode = msgspec.json.encode


def json_line(log: NormalizedLog) -> str:
    """One JSON object: the log as normalized (ends in \\n)."""
    return _encode(log).decode() + "\n"
