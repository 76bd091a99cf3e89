"""``retryable_statuses``: any set or sequence of codes in, a ``frozenset[int]`` stored.

The calls below carry no ``type: ignore``: under ``mypy --strict`` this file also checks that
the annotations accept what the run time accepts.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Iterator
from typing import Any

import pytest

from integration_logs_async import BearerToken, ClientConfig, ClientSettings, ElasticPathClient
from integration_logs_async.config import StatusCodes


@pytest.mark.parametrize(
    "codes",
    [[503, 429], (503, 429), {503, 429}, frozenset({503, 429}), [429, 503, 429]],
    ids=["list", "tuple", "set", "frozenset", "list-with-repeats"],
)
def test_any_set_or_sequence_is_stored_as_a_frozenset(codes: StatusCodes) -> None:
    cfg = ClientConfig(retryable_statuses=codes)
    stored: frozenset[int] = cfg.retryable_statuses
    assert type(stored) is frozenset
    assert stored == frozenset({429, 503})
    assert cfg == ClientConfig(retryable_statuses=frozenset({429, 503}))
    assert hash(cfg) == hash(ClientConfig(retryable_statuses={429, 503}))
    assert "retryable_statuses=frozenset({" in repr(cfg)


def test_the_default_is_the_documented_set() -> None:
    assert ClientConfig().retryable_statuses == frozenset({408, 429, 500, 502, 503, 504})
    field = {f.name: f for f in dataclasses.fields(ClientConfig)}["retryable_statuses"]
    assert field.default == frozenset({408, 429, 500, 502, 503, 504})


def test_replace_settings_and_client_keywords_take_a_list() -> None:
    base = ClientConfig()
    assert dataclasses.replace(base, retryable_statuses=[500]).retryable_statuses == {500}
    settings: ClientSettings = {"retryable_statuses": (502, 504)}
    assert base.with_settings(settings).retryable_statuses == frozenset({502, 504})
    client = ElasticPathClient(BearerToken("t"), retryable_statuses=[429])
    assert client.config.retryable_statuses == frozenset({429})
    assert base.retryable_statuses == frozenset({408, 429, 500, 502, 503, 504})  # unchanged


def test_the_config_stays_frozen_and_pickles() -> None:
    cfg = ClientConfig(retryable_statuses=[429])
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.retryable_statuses = frozenset({500})  # type: ignore[misc]  # frozen: the point
    assert cfg.retryable_statuses == frozenset({429})
    again = pickle.loads(pickle.dumps(cfg))
    assert again == cfg and again.retryable_statuses == frozenset({429})


def _codes() -> Iterator[int]:
    yield 429


@pytest.mark.parametrize(
    "value",
    [
        b"\x01\xf4",  # bytes are a sequence of ints, not of status codes
        "429",
        {429: "retry"},
        _codes(),  # a one-shot iterator would be consumed by the check
        [429, True],
        [99],
        [600],
        None,
    ],
    ids=["bytes", "str", "dict", "iterator", "bool", "below-100", "above-599", "none"],
)
def test_anything_else_is_refused_with_the_setting_named(value: Any) -> None:
    with pytest.raises(ValueError, match=r"^retryable_statuses must be a set of HTTP status"):
        ClientConfig(retryable_statuses=value)
