"""Failures through the command line: one line, in the user's words, naming the flags."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from integration_logs_async.emulator import FaultConfig

from .._support.cli import error_line, run_main
from .._support.emulators import ThreadedEmulator
from ._helpers import basic_only

INTERNAL_NAMES = ("logs_for_integrations", "logs_by_job", "children", "stream(s)", "sendcloud:")


def _free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_refused_connection_names_host_port_and_what_to_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _free_port()
    env = {
        "SENDCLOUD_PUBLIC_KEY": "key",
        "SENDCLOUD_SECRET_KEY": "s3cret-value",
        "SENDCLOUD_API_BASE_URL": f"http://127.0.0.1:{port}",
    }
    flags = ["--max-attempts", "2", "--quiet"]
    out = tmp_path / "x.jsonl"
    for argv in (
        ["integrations", "sendcloud", "--max-attempts", "2"],
        ["harvest", "sendcloud", "--out", str(out), *flags],
    ):
        code, _, err = run_main(argv, env, capsys)
        line = error_line(err)
        assert code == 4, err
        assert f"cannot connect to 127.0.0.1:{port}: connection refused" in line
        assert "The server is unreachable" in line and "--base-url" in line
        assert "Gave up after 2 attempts (--max-attempts=2)" in line
        assert "raise --max-attempts" in line
        assert "s3cret-value" not in err
        assert not any(name in line for name in INTERNAL_NAMES), line
        assert "base_url" not in line and "max_attempts" not in line


def test_a_plain_404_page_is_not_repeated(capsys: pytest.CaptureFixture[str]) -> None:
    with ThreadedEmulator(integrations=2, logs=10) as emu:
        env = basic_only(emu)
        env["SENDCLOUD_API_BASE_URL"] = emu.sendcloud_url + "/nowhere"
        code, _, err = run_main(["integrations", "sendcloud"], env, capsys)
        line = error_line(err)
        assert code == 4
        assert "/nowhere/integrations -> HTTP 404: Not Found. " in line
        # the status once: count it past the URL (its random port may hold "404" too)
        after_url = line.split("/nowhere/integrations", 1)[1]
        assert "404: 404" not in line and after_url.count("404") == 1
        assert "--base-url points at the right API" in line

        env["EPCC_API_BASE_URL"] = emu.elasticpath_url + "/nowhere"  # the token URL with it
        code, _, err = run_main(["integrations", "elasticpath"], env, capsys)
        line = error_line(err)
        assert code == 4
        assert "/nowhere/oauth/access_token -> HTTP 404: Not Found. " in line
        assert "The token endpoint was not found: check --base-url" in line


@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
def test_a_failed_listing_says_what_it_was_listing(
    provider: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ThreadedEmulator(integrations=2, logs=10) as emu:
        env = basic_only(emu)
        secret = "SENDCLOUD_SECRET_KEY" if provider == "sendcloud" else "EPCC_CLIENT_SECRET"
        env[secret] = "wrong-secret"
        argv = ["harvest", provider, "--out", str(tmp_path / "x.jsonl"), "--quiet"]
        code, _, err = run_main(argv, env, capsys)
    line = error_line(err)
    assert code == 3
    if provider == "sendcloud":  # the integrations are listed first, to read each one's logs
        assert line.startswith("integration-logs: error: listing the integrations: GET ")
    assert "HTTP 401" in line and "wrong-secret" not in err
    assert not any(name in line for name in INTERNAL_NAMES), line


def test_a_failed_child_names_the_integration_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ThreadedEmulator(integrations=2, logs=10) as emu:
        argv = ["harvest", "sendcloud", "--out", str(tmp_path / "x.jsonl"), "--quiet"]
        code, _, err = run_main([*argv, "--integration", "987654321"], basic_only(emu), capsys)
    line = error_line(err)
    assert code == 4
    assert line.startswith("integration-logs: error: integration 987654321: GET ")
    assert "/integrations/987654321/logs -> HTTP 404: " in line
    assert not any(name in line for name in INTERNAL_NAMES), line


SLOW = FaultConfig(rates={"slow": 1.0}, slow_seconds=3.0)


def test_timeouts_name_their_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with ThreadedEmulator(integrations=2, logs=10, faults=SLOW) as emu:
        env = basic_only(emu)
        base = ["integrations", "sendcloud", "--max-attempts", "1"]
        code, _, err = run_main([*base, "--read-timeout", "0.2"], env, capsys)
        line = error_line(err)
        assert code == 4
        assert "the server sent nothing for --read-timeout=0.2 s" in line
        assert "raise --read-timeout" in line and "read_timeout" not in line

        code, _, err = run_main(
            [*base, "--request-deadline", "0.3", "--read-timeout", "10"], env, capsys
        )
        line = error_line(err)
        assert code == 4
        assert "no success within --request-deadline=0.3 s" in line
        assert "raise --request-deadline" in line and "request_deadline" not in line


@pytest.mark.parametrize(
    ("flag", "value", "reason"),
    [
        ("--max-attempts", "0", "must be >= 1"),
        ("--connect-timeout", "0", "must be a number > 0"),
        ("--read-timeout", "nan", "must be a number > 0"),
        ("--request-deadline", "-1", "must be a number > 0"),
        ("--rate-limit", "-1", "must be a number >= 0"),
        ("--rate-limit", "inf", "must be a number >= 0"),
    ],
)
def test_bad_client_flag_values_are_usage_errors(
    flag: str, value: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_main(["integrations", "sendcloud", flag, value], {}, capsys)
    assert code == 2
    assert f"argument {flag}: {reason}" in err


def test_which_credentials_are_used_when_both_kinds_are_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with ThreadedEmulator(integrations=2, logs=10) as emu:
        both = emu.env()
        code, out, err = run_main(["integrations", "sendcloud", "--format", "json"], both, capsys)
        assert code == 0 and len(out.splitlines()) == 2
        [note] = err.splitlines()
        assert note == (
            "sendcloud: using HTTP Basic credentials (SENDCLOUD_PUBLIC_KEY, "
            "SENDCLOUD_SECRET_KEY); SENDCLOUD_CLIENT_ID and SENDCLOUD_CLIENT_SECRET are set "
            "too and not used (unset the Basic pair to use OAuth2)"
        )
        for name in ("SENDCLOUD_PUBLIC_KEY", "SENDCLOUD_SECRET_KEY", "SENDCLOUD_CLIENT_SECRET"):
            assert both[name] not in err  # names, never values
        requests = len(emu.requests)
        assert not any("oauth2/token" in r.path for r in emu.requests)  # Basic indeed

        oauth_only = dict(both)
        del oauth_only["SENDCLOUD_PUBLIC_KEY"], oauth_only["SENDCLOUD_SECRET_KEY"]
        code, out, err = run_main(["integrations", "sendcloud"], oauth_only, capsys)
        assert code == 0 and err == "" and len(out.splitlines()) == 3
        assert any("oauth2/token" in r.path for r in emu.requests[requests:])

        code, _, err = run_main(["integrations", "elasticpath"], both, capsys)
        assert code == 0 and err == ""  # one kind of Elastic Path credentials: no note


def test_404_advice_depends_on_whether_the_request_named_an_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ThreadedEmulator(integrations=2, logs=10) as emu:
        env = basic_only(emu)
        argv = ["harvest", "sendcloud", "--out", str(tmp_path / "x.jsonl"), "--quiet"]
        code, _, err = run_main([*argv, "--integration", "987654321"], env, capsys)
        named = error_line(err)  # an id that does not exist: check it
        assert code == 4 and "Check the integration/job id" in named, named

        env["SENDCLOUD_API_BASE_URL"] = emu.sendcloud_url + "/wrong"  # listing, no id
        for command in (["integrations", "sendcloud"], argv):
            code, _, err = run_main(command, env, capsys)
            line = error_line(err)
            assert code == 4 and "/wrong/integrations -> HTTP 404" in line, line
            assert "integration/job id" not in line and "Check the" not in line, line
            assert "named no integration or job id" in line, line
            assert "check that --base-url points at the right API" in line, line
