"""Raw records from a page's ``msgspec.Raw`` items: the bytes, checked, plus decoded keys.

Each provider declares the keys of its log records (``_records.py``); this is what they
share.
"""

from __future__ import annotations

import msgspec

from ..records import RawRecord


class _PlainKeys(msgspec.Struct, gc=False):
    id: int | str


_plain_keys = msgspec.json.Decoder(_PlainKeys)


def utf8_bytes(raw: msgspec.Raw) -> bytes:
    """A copy of one record's bytes, checked to be UTF-8.

    JSON is UTF-8 (RFC 8259). msgspec validates every string it decodes, but it hands out a
    ``Raw`` value's bytes unchecked, and these are what a harvest writes out. (ASCII, the
    usual case, is valid UTF-8 and far cheaper to confirm than a full decode.)
    """
    data = bytes(raw)
    if not data.isascii():
        data.decode("utf-8")  # UnicodeDecodeError: the page fails to decode
    return data


def plain_raw(raw: msgspec.Raw) -> RawRecord:
    """A :class:`RawRecord` of any object with an ``id`` (integrations, jobs)."""
    data = utf8_bytes(raw)
    return RawRecord(raw=data, id=str(_plain_keys.decode(data).id))


__all__ = ["plain_raw", "utf8_bytes"]
