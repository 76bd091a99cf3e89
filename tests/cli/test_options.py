"""``--version``, global options on either side of the command, and defaults in ``--help``."""

from __future__ import annotations

import argparse
import logging
import subprocess
from importlib.metadata import version

import pytest

from integration_logs_async import __version__
from integration_logs_async.cli import build_parser
from integration_logs_async.cli._help import DefaultsHelpFormatter

from .._support.cli import cli_command, run_main

COMMANDS = ("harvest", "integrations", "demo", "emulate")


def test_version_comes_from_the_installed_package(capsys: pytest.CaptureFixture[str]) -> None:
    installed = version("integration-logs-async")
    assert __version__ == installed
    for argv in (["--version"], ["harvest", "--version"], ["integrations", "--version"]):
        code, out, _ = run_main(argv, {}, capsys)
        assert (code, out) == (0, f"integration-logs {installed}\n"), argv
    # the console script's module, as a user runs it
    done = subprocess.run(
        cli_command("--version"),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (0, f"integration-logs {installed}\n")


@pytest.mark.parametrize("where", ["before", "after"])
def test_log_level_is_accepted_before_or_after_the_command(
    where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rest = ["harvest", "sendcloud", "--out", "x.jsonl"]
    argv = ["--log-level", "debug", *rest] if where == "before" else [*rest, "--log-level", "debug"]
    assert build_parser().parse_args(argv).log_level == "DEBUG"
    # not given at all: the documented default, whichever parser holds it
    assert build_parser().parse_args(rest).log_level == "WARNING"
    # given on both sides: the one after the command wins, as it was typed last
    both = build_parser().parse_args(["--log-level", "ERROR", *rest, "--log-level", "INFO"])
    assert both.log_level == "INFO"


def test_a_bad_log_level_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(["integrations", "sendcloud", "--log-level", "LOUD"], {}, capsys)
    assert code == 2
    assert "'LOUD' is not a log level; use one of DEBUG, INFO, WARNING" in err


def test_the_log_level_given_after_the_command_is_applied(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    root.handlers.clear()  # logging.basicConfig() configures only an unconfigured root
    try:
        code, _, err = run_main(["integrations", "elasticpath", "--log-level", "error"], {}, capsys)
        assert code == 2 and "missing Elastic Path credentials" in err
        assert root.level == logging.ERROR
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        root.handlers.extend(saved[0])
        root.setLevel(saved[1])


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code, out, _ = run_main([*argv, "--help"], {}, capsys)
    assert code == 0
    return " ".join(out.split())  # help text is wrapped: compare with single spaces


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


def _states_default(text: str | None) -> bool:
    return text is not None and "(default: " in text and "%(default)" not in text


def test_every_meaningful_default_is_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    """Whatever options the commands have (other modules add theirs), each one with a
    default shows it in its own entry of ``--help``."""
    commands = _subparsers(build_parser())
    assert set(COMMANDS) <= set(commands)
    checked = 0
    for name, sub in commands.items():
        assert sub.formatter_class is DefaultsHelpFormatter, name
        assert "(default: None)" not in _help([name], capsys), name
        for action in sub._actions:
            default = action.default
            if default in (None, argparse.SUPPRESS, []) or isinstance(default, bool):
                continue
            formatter = sub._get_formatter()
            formatter.add_argument(action)
            entry = " ".join(formatter.format_help().split())
            # shown by the formatter, or stated by the option's own help
            assert f"default: {default}" in entry or _states_default(action.help), (name, entry)
            checked += 1
    assert checked >= 20


def test_an_option_without_a_default_value_says_what_omitting_it_means() -> None:
    """An option whose default is None (e.g. "all", "no ceiling") states it in its help."""
    unstated = []
    for name, sub in _subparsers(build_parser()).items():
        for action in sub._actions:
            if not action.option_strings or action.required or action.nargs == 0:
                continue  # positionals, required options and flags
            if action.default is None and "default" not in (action.help or "").lower():
                unstated.append(f"{name} {action.option_strings[0]}")
    assert not unstated, unstated


def test_help_shows_the_client_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(["harvest"], capsys)
    for expected in (
        "--max-attempts N tries per request, the first included, on 429, 5xx and network "
        "errors (default: 6)",
        "--connect-timeout S seconds to wait for a connection to the server (default: 10.0)",
        "--read-timeout S seconds the server may stay silent while answering (default: 30.0)",
        "(default: 300.0)",
        "0 disables it (default: 90% of the provider's documented limit: sendcloud 15/s, "
        "elasticpath 22.5/s)",
        "--log-level LEVEL DEBUG, INFO, WARNING or ERROR, to stderr (default: WARNING)",
    ):
        assert expected in text, expected
    assert "(default: None)" not in text and "(default: False)" not in text
    assert "==SUPPRESS==" not in text
    assert "(default: 8080)" in _help(["emulate"], capsys)
    assert "--logs LOGS logs in the emulated store (default: 30000)" in _help(["demo"], capsys)
    top = _help([], capsys)
    assert "integrations list the integrations (id, name, type, status)" in top
    assert "(default: WARNING)" in top


def test_a_default_stated_in_the_help_is_not_repeated() -> None:
    parser = argparse.ArgumentParser(prog="x", formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--a", default=3, help="a (default: %(default)s)")
    parser.add_argument("--b", default=4, help="b (default 4, the usual)")
    parser.add_argument("--c", default=5)
    parser.add_argument("--d", default=[], action="append", help="repeat")
    parser.add_argument("--e", action="store_true", help="flag")
    text = " ".join(parser.format_help().split())
    assert "--a A a (default: 3) --b" in text
    assert "--b B b (default 4, the usual) --c" in text
    assert "--c C (default: 5) --d" in text
    assert "--d D repeat --e" in text and "--e flag" in text
    assert text.count("default") == 3
