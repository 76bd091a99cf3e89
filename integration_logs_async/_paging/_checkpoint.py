"""Opaque, item-exact resume tokens of one stream (pure encode/decode).

A checkpoint is URL-safe base64 of a small JSON object naming the provider, the stream it
belongs to and a position (:mod:`._positions`). The JSON keeps one flat ``pos`` object for
both pagination styles (the fields of the two never overlap), so checkpoints written by
earlier releases stay valid; the stream's own pagination style says which position type it
holds.
"""

from __future__ import annotations

import base64
import binascii

import msgspec

from ._positions import CursorPosition, OffsetPosition, Position

VERSION = 1


class _WirePosition(msgspec.Struct, kw_only=True, omit_defaults=True):
    url: str | None = None
    offset: int = 0
    anchor: str | None = None
    in_page: int = 0
    total: int | None = None
    done: bool = False


class _Checkpoint(msgspec.Struct, kw_only=True, omit_defaults=True):
    v: int
    provider: str
    stream: str
    pos: _WirePosition


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(_Checkpoint)


def _wire(pos: Position) -> _WirePosition:
    if isinstance(pos, CursorPosition):
        return _WirePosition(url=pos.url, anchor=pos.anchor, in_page=pos.in_page, done=pos.done)
    return _WirePosition(offset=pos.offset, anchor=pos.anchor, total=pos.total, done=pos.done)


def encode_checkpoint(provider: str, stream: str, pos: Position) -> str:
    """The opaque string for ``pos`` of ``stream``."""
    raw = _encoder.encode(_Checkpoint(v=VERSION, provider=provider, stream=stream, pos=_wire(pos)))
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


def decode_checkpoint(
    token: str, *, provider: str, stream: str, position_type: type[Position]
) -> Position:
    """The position in ``token``, of type ``position_type``; ``ValueError`` when malformed or from
    another stream."""
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
    pos = cp.pos
    if pos.offset < 0 or pos.in_page < 0:
        raise ValueError(
            "checkpoint holds a negative position; it was not produced by this library"
        )
    if position_type is CursorPosition:
        return CursorPosition(url=pos.url, anchor=pos.anchor, in_page=pos.in_page, done=pos.done)
    return OffsetPosition(offset=pos.offset, anchor=pos.anchor, total=pos.total, done=pos.done)


__all__ = ["PendingCheckpoint", "decode_checkpoint", "encode_checkpoint"]
