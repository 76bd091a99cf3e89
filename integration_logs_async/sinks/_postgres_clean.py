"""Rows made storable in PostgreSQL: NUL characters and unpaired surrogates replaced (pure).

JSON allows ``\\u0000`` and unpaired UTF-16 surrogate escapes (``\\ud83d`` alone), and a
decoded text field may hold a NUL or a lone surrogate; PostgreSQL's ``jsonb`` and ``text``
store neither. A log whose response body holds one would stop every run of the harvest at
the same batch, so the sink writes such a batch again with each of these characters
replaced by U+FFFD (the Unicode replacement character). Only a batch the server refused is
scanned, and only the characters it cannot store change: the fast path pays nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

_Row = TypeVar("_Row", bound=tuple[object, ...])

# An escape is real when an odd number of backslashes precedes its "u" (``\\u0000`` is an
# escaped backslash followed by the text "u0000"): a run of pairs, then the escape.
_ESCAPE = re.compile(
    rb"(?<!\\)((?:\\\\)*)\\u(d[89ab][0-9a-f]{2}\\ud[c-f][0-9a-f]{2}|d[89a-f][0-9a-f]{2}|0000)",
    re.IGNORECASE,
)
_TEXT = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def _escape(match: re.Match[bytes]) -> bytes:
    if len(match[2]) > 4:  # a surrogate pair: one valid character
        return match[0]
    return match[1] + rb"\ufffd"


def storable_json(raw: bytes) -> bytes:
    """``raw`` JSON with its ``\\u0000`` and unpaired surrogate escapes as ``\\ufffd``."""
    if b"\\u" not in raw:
        return raw
    return _ESCAPE.sub(_escape, raw)


def storable_text(text: str) -> str:
    """``text`` with its NUL characters and lone surrogates as U+FFFD."""
    return _TEXT.sub(REPLACEMENT, text)


def _row(row: _Row) -> _Row:
    fixed: list[object] = list(row)
    changed = False
    for i, value in enumerate(row):
        if isinstance(value, str):
            new: object = storable_text(value)
        elif isinstance(value, bytes):
            new = storable_json(value)
        else:
            continue
        if new != value:
            fixed[i], changed = new, True
    return type(row)(fixed) if changed else row


def storable_rows(rows: Sequence[_Row]) -> list[_Row] | None:
    """``rows`` with the characters PostgreSQL cannot store replaced; None when no row has
    one (the batch failed for another reason)."""
    fixed = [_row(row) for row in rows]
    if all(new is old for new, old in zip(fixed, rows, strict=True)):
        return None
    return fixed


__all__ = [
    "REPLACEMENT",
    "storable_json",
    "storable_rows",
    "storable_text",
]
