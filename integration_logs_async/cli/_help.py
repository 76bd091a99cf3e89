"""``--help`` that shows every default, and the options every command accepts.

:class:`DefaultsHelpFormatter` appends ``(default: X)`` to each option whose default is a
value a user would type (not ``None``, not a flag's ``False``, not an empty list), also to
options given without help text, unless the help already states its default. Options whose
default is ``None`` say in their own help what that means (e.g. "default: all").

Global options (``--log-level``, ``--version``) are accepted before or after the
subcommand: each subcommand parser carries them too, with ``SUPPRESS`` as default so a value
given before the subcommand is not overwritten by the subcommand's default.
"""

from __future__ import annotations

import argparse
import copy
import logging
import re

from .._constants import LIBRARY_VERSION

LOG_LEVEL_DEFAULT = "WARNING"
# Help that already names its default: "%(default)s", "(default: 8)", "(default 5)".
_STATES_DEFAULT = re.compile(r"%\(default\)|\(default[: ]|default: ", re.IGNORECASE)


def package_version() -> str:
    """The installed distribution's version (the one in ``pyproject.toml``)."""
    return LIBRARY_VERSION


def _meaningful_default(action: argparse.Action) -> bool:
    default = action.default
    if default is None or default is argparse.SUPPRESS or isinstance(default, bool):
        return False
    if isinstance(default, list | tuple | set | dict) and not default:
        return False
    return not isinstance(action, argparse._SubParsersAction | argparse._VersionAction)


class DefaultsHelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps descriptions and epilogs as written, and shows every option's default."""

    def _format_action(self, action: argparse.Action) -> str:
        if action.help is None and _meaningful_default(action):
            action = copy.copy(action)  # the parser's own action is left as it is
            action.help = "(default: %(default)s)"
        return super()._format_action(action)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help
        if text is None or not _meaningful_default(action) or _STATES_DEFAULT.search(text):
            return text
        return f"{text} (default: %(default)s)"


def add_global_options(parser: argparse.ArgumentParser, *, top_level: bool) -> None:
    """``--log-level`` and ``--version`` on ``parser``.

    ``top_level``: the main parser holds the real default; a subcommand's parser takes the
    options only when given after the subcommand.
    """
    parser.add_argument(
        "--log-level",
        type=_log_level,
        default=LOG_LEVEL_DEFAULT if top_level else argparse.SUPPRESS,
        metavar="LEVEL",
        help=f"DEBUG, INFO, WARNING or ERROR, to stderr (default: {LOG_LEVEL_DEFAULT})",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"integration-logs {package_version()}",
        help="print the installed version and exit",
    )


_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(text: str) -> str:
    level = text.strip().upper()
    if level not in logging.getLevelNamesMapping() or level == "NOTSET":  # also WARN, FATAL
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a log level; use one of {', '.join(_LEVELS)}"
        )
    return level
