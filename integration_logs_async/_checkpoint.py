"""Opaque, item-exact resume tokens (pure encode/decode).

A checkpoint is URL-safe base64 of a small JSON object naming the provider, the stream it
belongs to and a position: for cursor pagination the page URL plus the id of the last record
consumed; for offset pagination the offset of the next record, the last id and the total at
that moment. Anchoring on the last id is what keeps resume exact when new records arrive.
"""

from __future__ import annotations

import base64
import binascii

import msgspec

VERSION = 1


class Position(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Where a stream stands. ``done`` means nothing is left."""

    url: str | None = None  # cursor: the page to (re)fetch
    offset: int = 0  # offset: records consumed from the start of the listing
    anchor: str | None = None  # id of the last record consumed
    in_page: int = 0  # cursor: records consumed from ``url``'s page
    total: int | None = None  # offset: collection total when ``anchor`` was consumed
    done: bool = False


class Checkpoint(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The decoded content of a checkpoint string."""

    v: int
    provider: str
    stream: str
    pos: Position


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Checkpoint)


def encode_checkpoint(provider: str, stream: str, pos: Position) -> str:
    """The opaque string for ``pos`` of ``stream``."""
    raw = _encoder.encode(Checkpoint(v=VERSION, provider=provider, stream=stream, pos=pos))
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


class PendingCheckpoint:
    """A position of one stream, encoded into its checkpoint string only when asked."""

    __slots__ = ("_pos", "_provider", "_stream")

    def __init__(self, provider: str, stream: str, pos: Position) -> None:
        self._provider = provider
        self._stream = stream
        self._pos = pos

    def encode(self) -> str:
        """The checkpoint string."""
        return encode_checkpoint(self._provider, self._stream, self._pos)


def decode_checkpoint(token: str, *, provider: str, stream: str) -> Position:
    """The position in ``token``; ``ValueError`` when malformed or from another stream."""
    if not isinstance(token, str) or not token:
        raise ValueError("resume_from must be a checkpoint string taken from stream.checkpoint")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        cp = _decoder.decode(raw)
    except (binascii.Error, ValueError, msgspec.MsgspecError):
        raise ValueError(
            "resume_from is not a valid checkpoint; pass the exact string of stream.checkpoint"
        ) from None
    if cp.v != VERSION:
        raise ValueError(f"checkpoint version {cp.v} is not supported (expected {VERSION})")
    if cp.provider != provider or cp.stream != stream:
        raise ValueError(
            f"checkpoint belongs to {cp.provider} stream {cp.stream!r}, not to {provider} "
            f"stream {stream!r}; resume it with the same method and arguments that produced it"
        )
    if cp.pos.offset < 0 or cp.pos.in_page < 0:
        raise ValueError(
            "checkpoint holds a negative position; it was not produced by this library"
        )
    return cp.pos
