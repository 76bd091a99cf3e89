"""The checkpoint codec (pure)."""

from __future__ import annotations

import base64
import json

import pytest

from integration_logs_async._paging import (
    CursorPosition,
    OffsetPosition,
    Position,
    decode_checkpoint,
    encode_checkpoint,
)


def raw_json(token: str) -> object:
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


@pytest.mark.parametrize(
    "pos",
    [
        CursorPosition(),
        OffsetPosition(),
        CursorPosition(done=True, anchor="9"),
        OffsetPosition(done=True, anchor="9"),
        CursorPosition(url="https://api.test/logs?cursor=abc&x=%2F", anchor="12", in_page=3),
        OffsetPosition(offset=250, anchor="log-1", total=1000),
    ],
)
def test_round_trip(pos: Position) -> None:
    token = encode_checkpoint("elasticpath", "/v2/integrations/logs", pos)
    stream = "/v2/integrations/logs"
    decoded = decode_checkpoint(
        token, provider="elasticpath", stream=stream, position_type=type(pos)
    )
    assert decoded == pos and type(decoded) is type(pos)


def test_the_json_of_each_style_keeps_the_flat_format_of_earlier_releases() -> None:
    # A checkpoint (and a harvest state file holding one) written by an earlier release is
    # one flat ``pos`` object; each pagination style reads its own fields from it.
    offset = encode_checkpoint("elasticpath", "s", OffsetPosition(offset=3, anchor="a", total=9))
    assert raw_json(offset) == {
        "v": 1,
        "provider": "elasticpath",
        "stream": "s",
        "pos": {"offset": 3, "anchor": "a", "total": 9},
    }
    earlier = base64.urlsafe_b64encode(
        b'{"v":1,"provider":"sendcloud","stream":"s","pos":{"url":"https://x/?c=1","anchor":"7"}}'
    ).decode()
    assert decode_checkpoint(
        earlier, provider="sendcloud", stream="s", position_type=CursorPosition
    ) == CursorPosition(url="https://x/?c=1", anchor="7")


def test_token_is_url_safe_unpadded_json() -> None:
    pos = CursorPosition(url="https://api.test/?a=>>>???", anchor="x", in_page=1)
    token = encode_checkpoint("sendcloud", "/integrations/logs", pos)
    assert "=" not in token and "+" not in token and "/" not in token
    assert raw_json(token) == {
        "v": 1,
        "provider": "sendcloud",
        "stream": "/integrations/logs",
        "pos": {"url": "https://api.test/?a=>>>???", "anchor": "x", "in_page": 1},
    }


def test_defaults_are_omitted() -> None:
    token = encode_checkpoint("sendcloud", "/integrations/logs", CursorPosition())
    assert raw_json(token) == {
        "v": 1,
        "provider": "sendcloud",
        "stream": "/integrations/logs",
        "pos": {},
    }


def test_mismatch_messages() -> None:
    token = encode_checkpoint("sendcloud", "/integrations/logs", CursorPosition())
    with pytest.raises(ValueError) as info:
        decode_checkpoint(
            token, provider="elasticpath", stream="/integrations/logs", position_type=CursorPosition
        )
    assert str(info.value) == (
        "checkpoint belongs to sendcloud stream '/integrations/logs', not to elasticpath stream "
        "'/integrations/logs'; resume it with the same method and arguments that produced it"
    )
    with pytest.raises(ValueError, match="not a valid checkpoint"):
        decode_checkpoint(
            token[:-3],
            provider="sendcloud",
            stream="/integrations/logs",
            position_type=CursorPosition,
        )
    with pytest.raises(ValueError, match=r"taken from stream\.checkpoint"):
        decode_checkpoint(
            "", provider="sendcloud", stream="/integrations/logs", position_type=CursorPosition
        )


def test_unsupported_version() -> None:
    raw = b'{"v":9,"provider":"p","stream":"s","pos":{}}'
    token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    with pytest.raises(ValueError, match="version 9 is not supported"):
        decode_checkpoint(token, provider="p", stream="s", position_type=OffsetPosition)
