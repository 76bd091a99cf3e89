"""The composite fan-out checkpoint: finished children and each active child's position.

Pure encode/decode. The token is unpadded URL-safe base64 of JSON
``{"v": 1, "key": ..., "done": [...], "active": {label: child checkpoint}}``; ``key`` names
the fan-out (method and arguments), so a token is refused by any other fan-out.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable

import msgspec


class FanOutCheckpoint(msgspec.Struct, kw_only=True):
    """A decoded fan-out checkpoint."""

    v: int = 1
    key: str
    done: list[str] = msgspec.field(default_factory=list)
    active: dict[str, str] = msgspec.field(default_factory=dict)


_decoder = msgspec.json.Decoder(FanOutCheckpoint)


def encode_fanout_checkpoint(key: str, done: Iterable[str], active: dict[str, str]) -> str:
    """The token for fan-out ``key``: ``done`` children (sorted) and ``active`` positions."""
    state = FanOutCheckpoint(key=key, done=sorted(done), active=active)
    return base64.urlsafe_b64encode(msgspec.json.encode(state)).decode().rstrip("=")


def decode_fanout_checkpoint(token: str, key: str) -> FanOutCheckpoint:
    """The checkpoint in ``token``; ``ValueError`` when malformed or from another fan-out."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        state = _decoder.decode(raw)
    except (binascii.Error, ValueError, msgspec.MsgspecError):
        raise ValueError(
            "resume_from is not a valid fan-out checkpoint; pass the exact string of "
            "fanout.checkpoint"
        ) from None
    if state.key != key:
        raise ValueError(
            f"checkpoint belongs to fan-out {state.key!r}, not {key!r}; resume it with the same "
            "method and arguments that produced it"
        )
    return state


__all__ = ["FanOutCheckpoint", "decode_fanout_checkpoint", "encode_fanout_checkpoint"]
