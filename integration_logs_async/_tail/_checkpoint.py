"""A tail's resume token: its :class:`TailState`, bound to one listing (pure encode/decode).

URL-safe base64 of a small JSON object, like a stream's checkpoint but of its own kind, so
neither is accepted for the other. Known ids carry their ``created_at`` as integer
microseconds since the epoch (UTC), which keeps the token short and exact.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta

import msgspec

from ._window import TailState

VERSION = 1
_KIND = "tail"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _WireTail(msgspec.Struct, kw_only=True, omit_defaults=True):
    v: int
    kind: str
    provider: str
    listing: str
    since: int | None = None
    newest: int | None = None
    known: dict[str, int] = msgspec.field(default_factory=dict)
    started: bool = False


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(_WireTail)


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(microseconds=1)


def _moment(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def encode_tail_checkpoint(provider: str, listing: str, state: TailState) -> str:
    """The opaque token for ``state`` of the tail of ``listing``."""
    wire = _WireTail(
        v=VERSION,
        kind=_KIND,
        provider=provider,
        listing=listing,
        since=None if state.since is None else _micros(state.since),
        newest=None if state.newest is None else _micros(state.newest),
        known={ident: _micros(at) for ident, at in state.known.items()},
        started=state.started,
    )
    return base64.urlsafe_b64encode(_encoder.encode(wire)).decode("ascii").rstrip("=")


def decode_tail_checkpoint(token: str, *, provider: str, listing: str) -> TailState:
    """The state in ``token``; ``ValueError`` when malformed or from another tail."""
    if not isinstance(token, str) or not token:
        raise ValueError("resume_from must be a checkpoint string taken from tail.checkpoint")
    try:
        wire = _decoder.decode(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, msgspec.MsgspecError):
        raise ValueError(
            "resume_from is not a tail checkpoint; pass the exact string of tail.checkpoint "
            "(a stream's checkpoint resumes logs(), not tail())"
        ) from None
    if wire.kind != _KIND:
        raise ValueError(f"resume_from is a {wire.kind!r} checkpoint, not a tail's")
    if wire.v != VERSION:
        raise ValueError(f"tail checkpoint version {wire.v} is not supported (expected {VERSION})")
    if wire.provider != provider or wire.listing != listing:
        raise ValueError(
            f"this checkpoint belongs to the tail of {wire.provider} {wire.listing!r}, not of "
            f"{provider} {listing!r}; resume it with the same client and integration_id"
        )
    try:
        return TailState(
            since=None if wire.since is None else _moment(wire.since),
            newest=None if wire.newest is None else _moment(wire.newest),
            known={ident: _moment(at) for ident, at in wire.known.items()},
            started=wire.started,
        )
    except OverflowError:
        raise ValueError("tail checkpoint holds an impossible time; it was not made here") from None


__all__ = ["decode_tail_checkpoint", "encode_tail_checkpoint"]
