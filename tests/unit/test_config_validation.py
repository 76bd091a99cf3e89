"""ClientConfig and client construction: settings, base URLs, credentials types."""

from __future__ import annotations

import argparse
import dataclasses
import tomllib
import typing
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from integration_logs_async import (
    BasicAuth,
    BearerToken,
    ClientConfig,
    ClientCredentials,
    ClientSettings,
    ElasticPathClient,
    SendcloudClient,
    __version__,
)
from integration_logs_async import _constants as C
from integration_logs_async._http import check_base_url, is_loopback

VERSION = version("integration-logs-async")  # pyproject.toml's, as installed


def test_defaults_come_from_constants() -> None:
    cfg = ClientConfig()
    assert (cfg.connect_timeout, cfg.read_timeout, cfg.request_deadline) == (10.0, 30.0, 300.0)
    assert (cfg.max_attempts, cfg.backoff_initial, cfg.backoff_max) == (6, 0.5, 30.0)
    assert cfg.retryable_statuses == frozenset({408, 429, 500, 502, 503, 504})
    assert (cfg.retry_after_cap, cfg.token_refresh_margin, cfg.prefetch_pages) == (120.0, 60.0, 4)
    assert cfg.rate_limit is None and cfg.rate_limit_burst == 1
    assert cfg.user_agent == C.USER_AGENT == f"integration-logs-async/{VERSION}"
    assert cfg.allow_insecure_http is False and cfg.verify_ssl is True


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("connect_timeout", 0),
        ("read_timeout", -1),
        ("request_deadline", 0.0),
        ("backoff_initial", 0),
        ("backoff_max", -0.5),
        ("max_connections", 0),
        ("max_response_bytes", 0),
        ("max_attempts", 0),
        ("max_attempts", 1.5),
        ("rate_limit_burst", 0),
        ("retry_after_cap", -1),
        ("token_refresh_margin", -1),
        ("rate_limit", -0.1),
        ("prefetch_pages", -1),
        ("prefetch_pages", 2.0),
        ("connect_timeout", float("nan")),
    ],
)
def test_invalid_settings(name: str, value: Any) -> None:
    with pytest.raises(ValueError, match=name):
        ClientConfig(**{name: value})
    with pytest.raises(ValueError, match=name):
        SendcloudClient(BasicAuth("a", "b"), **{name: value})


def test_config_is_frozen_and_settings_override_it() -> None:
    cfg = ClientConfig(max_attempts=2, rate_limit=5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.max_attempts = 3  # type: ignore[misc]
    client = SendcloudClient(BasicAuth("a", "b"), config=cfg, max_attempts=4)
    assert client.config.max_attempts == 4
    assert client.config.rate_limit == 5
    assert cfg.max_attempts == 2


def test_unknown_setting_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['max_retries'\]"):
        SendcloudClient(BasicAuth("a", "b"), max_retries=3)  # type: ignore[call-overload]


def test_auth_type_is_checked() -> None:
    with pytest.raises(TypeError, match="auth must be BasicAuth, BearerToken or ClientCredentials"):
        SendcloudClient(("user", "pass"))  # type: ignore[call-overload]


@pytest.mark.parametrize(
    "base_url",
    [
        "not a url",
        "panel.sendcloud.sc/api/v2",
        "ftp://api.test",
        "https://",
        "/api/v2",
        "https://api.test/v2?x=1",
        "https://api.test/v2#frag",
        "http://api.test",
        "http://10.0.0.5:8080",
        "http://localhost.evil.test",
    ],
)
def test_invalid_base_urls(base_url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        SendcloudClient(BasicAuth("a", "b"), base_url=base_url)
    with pytest.raises(ValueError, match="base_url"):
        ElasticPathClient(BearerToken("t"), base_url=base_url)


@pytest.mark.parametrize(
    "base_url",
    [
        "http://localhost:8080",
        "http://127.0.0.1:9000/api",
        "http://[::1]:8080",
        "http://127.8.9.10",
    ],
)
def test_plain_http_to_loopback_is_allowed(base_url: str) -> None:
    client = ElasticPathClient(ClientCredentials("c", "s"), base_url=base_url)
    assert client.base_url == base_url
    assert client._transport._auth.token_url == base_url + "/oauth/access_token"  # type: ignore[attr-defined]


def test_plain_http_needs_opt_in() -> None:
    client = SendcloudClient(
        BasicAuth("a", "b"), base_url="http://api.test/api/v2", allow_insecure_http=True
    )
    assert client.base_url == "http://api.test/api/v2"


def test_insecure_token_url_is_rejected() -> None:
    creds = ClientCredentials("c", "s", token_url="http://auth.test/token")
    with pytest.raises(ValueError, match="token_url"):
        SendcloudClient(creds)
    SendcloudClient(creds, allow_insecure_http=True)


def test_default_base_urls() -> None:
    assert SendcloudClient(BasicAuth("a", "b")).base_url == "https://panel.sendcloud.sc/api/v2"
    assert ElasticPathClient(BearerToken("t")).base_url == "https://useast.api.elasticpath.com"


def test_check_base_url_and_loopback() -> None:
    assert str(check_base_url("https://api.test/v2", allow_insecure_http=False)) == (
        "https://api.test/v2"
    )
    assert is_loopback("localhost") and is_loopback("LOCALHOST") and is_loopback("::1")
    assert is_loopback("127.0.0.1") and not is_loopback("128.0.0.1")
    assert not is_loopback(None) and not is_loopback("example.com")


@pytest.mark.parametrize(
    "base_url",
    ["https://user:hunter2@api.test/v2", "http://user:hunter2@api.test", "https://user@api.test"],
)
def test_credentials_in_base_url_are_rejected_without_echoing_them(base_url: str) -> None:
    with pytest.raises(ValueError, match="must not carry credentials") as info:
        SendcloudClient(BasicAuth("a", "b"), base_url=base_url)
    assert "hunter2" not in str(info.value)
    creds = ClientCredentials("c", "s", token_url="https://id:hunter2@auth.test/token")
    with pytest.raises(ValueError, match="token_url") as info:
        SendcloudClient(creds)
    assert "hunter2" not in str(info.value)


def test_one_version_source() -> None:
    """pyproject.toml's version, as installed, is the version everywhere else."""
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]
    assert declared == VERSION, (
        f"installed metadata says {VERSION}, pyproject.toml says {declared}: reinstall "
        "the package (pip install -e .)"
    )
    assert __version__ == VERSION


def _accepted_type(hint: Any) -> Any:
    """The type a ClientConfig field's constructor accepts.

    A descriptor-typed field (``retryable_statuses``) accepts what its ``__set__`` accepts.
    """
    if isinstance(hint, type) and hasattr(hint, "__set__"):
        return typing.get_type_hints(hint.__set__)["value"]
    return hint


def test_client_settings_mirror_client_config() -> None:
    """``ClientSettings`` (the clients' ``**settings``) has one key per ``ClientConfig`` field,
    of the type the field accepts; it is written by hand because type checkers need a literal
    TypedDict, so this test keeps the two in step."""
    config_hints = typing.get_type_hints(ClientConfig)
    fields = {
        field.name: _accepted_type(config_hints[field.name])
        for field in dataclasses.fields(ClientConfig)
        if field.init
    }
    settings = typing.get_type_hints(ClientSettings)
    problems = [f"missing from ClientSettings: {name}" for name in sorted(fields - settings.keys())]
    problems += [f"not a ClientConfig field: {name}" for name in sorted(settings.keys() - fields)]
    problems += [
        f"{name}: ClientSettings says {settings[name]}, ClientConfig accepts {fields[name]}"
        for name in sorted(fields.keys() & settings.keys())
        if settings[name] != fields[name]
    ]
    assert not problems, "ClientSettings is out of step with ClientConfig:\n" + "\n".join(problems)
    assert not ClientSettings.__required_keys__, "every setting is optional (total=False)"


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("the parser has no subcommands")


@pytest.mark.parametrize("command", ["harvest", "integrations"])
def test_cli_client_options_default_to_client_config(command: str) -> None:
    """Each CLI option named after a ClientConfig field defaults to that field's default."""
    from integration_logs_async.cli import build_parser

    defaults = dataclasses.asdict(ClientConfig())
    sub = _subcommands(build_parser())[command]
    mirrored = {action.dest for action in sub._actions} & defaults.keys()
    assert {"max_attempts", "connect_timeout", "read_timeout", "request_deadline"} <= mirrored
    wrong = {
        dest: (sub.get_default(dest), defaults[dest])
        for dest in sorted(mirrored)
        if sub.get_default(dest) != defaults[dest]
    }
    assert not wrong, f"CLI default != ClientConfig default (option: (cli, config)): {wrong}"
