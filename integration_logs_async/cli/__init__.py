"""The ``integration-logs`` command: ``harvest``, ``integrations``, ``tail``, ``demo`` and
``emulate``.

Exit codes: 0 done; 2 bad usage or settings; 3 authentication or permission refused;
4 the provider or the network failed after retries; 5 unexpected data (decode, pagination,
unsafe URL); 130 interrupted; 141 stdout's reader went away (``--out - | head``), stopped
quietly; 143 terminated (SIGTERM). Failures print one line saying what happened and what to do.
"""

from ._clients import credentials_from_env, make_client
from ._common import (
    EXIT_AUTH,
    EXIT_DATA,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REMOTE,
    EXIT_USAGE,
    UsageError,
    exit_code_for,
)
from ._main import build_parser, main

__all__ = [
    "EXIT_AUTH",
    "EXIT_DATA",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REMOTE",
    "EXIT_USAGE",
    "UsageError",
    "build_parser",
    "credentials_from_env",
    "exit_code_for",
    "main",
    "make_client",
]
