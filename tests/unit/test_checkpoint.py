"""The checkpoint codec (pure)."""

from __future__ import annotations

import base64
import json

import pytest

from integration_logs_async._checkpoint import Position, decode_checkpoint, encode_checkpoint


def raw_json(token: str) -> object:
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


@pytest.mark.parametrize(
    "pos",
    [
        Position(),
        Position(done=True, anchor="9"),
        Position(url="https://api.test/logs?cursor=abc&x=%2F", anchor="12", in_page=3),
        Position(offset=250, anchor="log-1", total=1000),
    ],
)
def test_round_trip(pos: Position) -> None:
    token = encode_checkpoint("elasticpath", "/v2/integrations/logs", pos)
    assert decode_checkpoint(token, provider="elasticpath", stream="/v2/integrations/logs") == pos


def test_token_is_url_safe_unpadded_json() -> None:
    pos = Position(url="https://api.test/?a=>>>???", anchor="x", in_page=1)
    token = encode_checkpoint("sendcloud", "/integrations/logs", pos)
    assert "=" not in token and "+" not in token and "/" not in token
    assert raw_json(token) == {
        "v": 1,
        "provider": "sendcloud",
        "stream": "/integrations/logs",
        "pos": {"url": "https://api.test/?a=>>>???", "anchor": "x", "in_page": 1},
    }


def test_defaults_are_omitted() -> None:
    token = encode_checkpoint("sendcloud", "/integrations/logs", Position())
    assert raw_json(token) == {
        "v": 1,
        "provider": "sendcloud",
        "stream": "/integrations/logs",
        "pos": {},
    }


def test_mismatch_messages() -> None:
    token = encode_checkpoint("sendcloud", "/integrations/logs", Position())
    with pytest.raises(ValueError) as info:
        decode_checkpoint(token, provider="elasticpath", stream="/integrations/logs")
    assert str(info.value) == (
        "checkpoint belongs to sendcloud stream '/integrations/logs', not to elasticpath stream "
        "'/integrations/logs'; resume it with the same method and arguments that produced it"
    )
    with pytest.raises(ValueError, match="not a valid checkpoint"):
        decode_checkpoint(token[:-3], provider="sendcloud", stream="/integrations/logs")
    with pytest.raises(ValueError, match=r"taken from stream\.checkpoint"):
        decode_checkpoint("", provider="sendcloud", stream="/integrations/logs")


def test_unsupported_version() -> None:
    raw = b'{"v":9,"provider":"p","stream":"s","pos":{}}'
    token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    with pytest.raises(ValueError, match="version 9 is not supported"):
        decode_checkpoint(token, provider="p", stream="s")
