"""``--api-version`` and ``SENDCLOUD_API_VERSION``: which client, which base URL, bad values."""

from __future__ import annotations

import json

import pytest

from integration_logs_async import SendcloudClient
from integration_logs_async.cli import EXIT_USAGE, UsageError, make_client
from integration_logs_async.cli._versions import (
    api_versions,
    base_url_var,
    chosen_api_version,
    version_var,
)
from integration_logs_async.providers.sendcloud.v3 import SendcloudV3Client

from .._support.cli import error_line, run_main
from .._support.emulators import ThreadedEmulator
from ._helpers import basic_only

_KEYS = {"SENDCLOUD_PUBLIC_KEY": "pk", "SENDCLOUD_SECRET_KEY": "sk"}


def test_versions_and_variables_come_from_the_registry() -> None:
    assert api_versions("sendcloud") == (2, 3)
    assert api_versions("elasticpath") == (2,)
    assert version_var("sendcloud") == "SENDCLOUD_API_VERSION"
    assert version_var("elasticpath") is None  # one version: no variable
    assert base_url_var("sendcloud", 2) == "SENDCLOUD_API_BASE_URL"
    assert base_url_var("sendcloud", 3) == "SENDCLOUD_API_V3_BASE_URL"


def test_the_flag_wins_over_the_variable_and_the_default_stays_2() -> None:
    env = {**_KEYS, "SENDCLOUD_API_VERSION": "3"}
    assert chosen_api_version("sendcloud", None, {}) is None
    assert chosen_api_version("sendcloud", None, {"SENDCLOUD_API_VERSION": ""}) is None
    assert chosen_api_version("sendcloud", None, env) == 3
    assert chosen_api_version("sendcloud", "2", env) == 2
    assert type(make_client("sendcloud", _KEYS)) is SendcloudClient
    assert type(make_client("sendcloud", env)) is SendcloudV3Client
    assert type(make_client("sendcloud", env, api_version=2)) is SendcloudClient
    # Elastic Path has one version: Sendcloud's variable is not its business
    assert chosen_api_version("elasticpath", None, env) is None


def test_the_default_base_url_follows_the_version() -> None:
    assert make_client("sendcloud", _KEYS).base_url == "https://panel.sendcloud.sc/api/v2"
    v3 = make_client("sendcloud", _KEYS, api_version=3)
    assert v3.base_url == "https://panel.sendcloud.sc/api/v3"
    env = {**_KEYS, "SENDCLOUD_API_V3_BASE_URL": "https://proxy.example/v3"}
    assert make_client("sendcloud", env, api_version=3).base_url == "https://proxy.example/v3"
    assert make_client("sendcloud", env).base_url == "https://panel.sendcloud.sc/api/v2"
    flag = make_client("sendcloud", env, api_version=3, base_url="https://other.example/x")
    assert flag.base_url == "https://other.example/x"


@pytest.mark.parametrize(
    ("env", "flag", "version", "words"),
    [
        (  # the v2 variable does not stand in for v3's: the run would go elsewhere unnoticed
            {"SENDCLOUD_API_BASE_URL": "https://staging.example/api/v2"},
            None,
            3,
            "SENDCLOUD_API_BASE_URL is the base URL of Sendcloud API v2; API v3 takes its own: "
            "set SENDCLOUD_API_V3_BASE_URL (or --base-url), or unset SENDCLOUD_API_BASE_URL "
            "to use https://panel.sendcloud.sc/api/v3",
        ),
        (
            {},
            "https://panel.sendcloud.sc/api/v2/",
            3,
            "--base-url https://panel.sendcloud.sc/api/v2/ is a Sendcloud API v2 URL, but API "
            "v3 was asked for: give an API v3 base URL, or --api-version 2",
        ),
        (
            {"SENDCLOUD_API_BASE_URL": "http://127.0.0.1:8080/api/v3"},
            None,
            2,
            "SENDCLOUD_API_BASE_URL http://127.0.0.1:8080/api/v3 is a Sendcloud API v3 URL, but "
            "API v2 was asked for: give an API v2 base URL, or --api-version 3",
        ),
        (  # a URL with its own credentials or a query is shown without them
            {"SENDCLOUD_API_BASE_URL": "http://user:hunter2@127.0.0.1:8080/api/v3?key=s3cret"},
            None,
            2,
            "SENDCLOUD_API_BASE_URL http://127.0.0.1:8080/api/v3 is a Sendcloud API v3 URL, but "
            "API v2 was asked for: give an API v2 base URL, or --api-version 3",
        ),
    ],
)
def test_a_base_url_of_the_other_version_is_refused(
    env: dict[str, str], flag: str | None, version: int, words: str
) -> None:
    with pytest.raises(UsageError) as caught:
        make_client("sendcloud", {**_KEYS, **env}, base_url=flag, api_version=version)
    assert str(caught.value) == words


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (
            ["--api-version", "4"],
            {},
            "--api-version 4: Sendcloud API version must be 2 or 3 (default 2)",
        ),
        (
            ["--api-version", "v3"],
            {},
            "--api-version v3: Sendcloud API version must be 2 or 3 (default 2)",
        ),
        (
            [],
            {"SENDCLOUD_API_VERSION": "three"},
            "SENDCLOUD_API_VERSION=three: Sendcloud API version must be 2 or 3 (default 2)",
        ),
    ],
)
@pytest.mark.parametrize("command", ["integrations", "harvest"])
def test_bad_versions_are_one_line_usage_errors(
    command: str,
    argv: list[str],
    env: dict[str, str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: object,
) -> None:
    out = ["--out", f"{tmp_path}/out.jsonl"] if command == "harvest" else []
    code, stdout, err = run_main([command, "sendcloud", *out, *argv], {**_KEYS, **env}, capsys)
    assert code == EXIT_USAGE
    assert stdout == ""
    assert error_line(err) == f"integration-logs: error: {message}"


def test_elasticpath_takes_no_other_version(capsys: pytest.CaptureFixture[str]) -> None:
    env = {"EPCC_CLIENT_ID": "id", "EPCC_CLIENT_SECRET": "secret"}
    code, _, err = run_main(["integrations", "elasticpath", "--api-version", "3"], env, capsys)
    assert code == EXIT_USAGE
    assert error_line(err) == (
        "integration-logs: error: --api-version 3: Elastic Path has one API version (2); "
        "--api-version is for Sendcloud"
    )


def test_integrations_lists_the_same_with_v3(capsys: pytest.CaptureFixture[str]) -> None:
    with ThreadedEmulator(integrations=5, logs=10) as emu:
        env = basic_only(emu)
        args = ["integrations", "sendcloud", "--format", "json", "--rate-limit", "0"]
        code, v2, err = run_main(args, env, capsys)
        assert code == 0, err
        # nothing listens at v2's URL now: v3 reads its own (SENDCLOUD_API_V3_BASE_URL)
        env["SENDCLOUD_API_BASE_URL"] = "http://127.0.0.1:9/api/v2"
        code, v3, err = run_main([*args, "--api-version", "3", "--max-attempts", "1"], env, capsys)
        assert code == 0, err
        code, by_env, err = run_main(args, {**env, "SENDCLOUD_API_VERSION": "3"}, capsys)
        assert code == 0, err
    rows_v2 = [json.loads(line) for line in v2.splitlines()]
    rows_v3 = [json.loads(line) for line in v3.splitlines()]
    assert len(rows_v2) == 5

    def by_id(row: dict[str, object]) -> str:
        return str(row["id"])

    # the same integrations, each shown the same (v3 lists them in its documented order)
    assert sorted(rows_v3, key=by_id) == sorted(rows_v2, key=by_id)
    assert by_env == v3
