"""Failure messages in the command line's words (pure functions).

The library's messages name its settings as :class:`~integration_logs_async.ClientConfig`
spells them (``max_attempts``, ``connect_timeout``, ``base_url``); on the command line the
same advice names the flags that set them (``--max-attempts``, ``--connect-timeout``,
``--base-url``).
"""

from __future__ import annotations

import re

from .. import providers

# Setting -> how a command-line user sets it. Only names that are not also query parameters
# of the APIs (``page_size`` is one): a URL in a message must stay as it is.
_FLAGS = {
    "allow_insecure_http=True": "--allow-insecure-http",
    "max_attempts": "--max-attempts",
    "connect_timeout": "--connect-timeout",
    "read_timeout": "--read-timeout",
    "request_deadline": "--request-deadline",
    "rate_limit": "--rate-limit",
    "base_url": "--base-url",
    "token_url": "the token URL ("
    + " or ".join(var for spec in providers.specs() for var in spec.token_url_vars)
    + ")",
}
# Not inside a URL, a path, a quoted name or another identifier: nothing word-like, '/',
# '?', '&', '=', '.', or a quote before it; no word character, '-', '/' or ".ext" after it.
_SETTING = re.compile(
    r"(?<![\w/?&=.'\"-])(" + "|".join(re.escape(name) for name in _FLAGS) + r")(?![\w/-]|\.\w)"
)
_PHRASES = {
    "retry later or resume the stream from its checkpoint": (
        "retry later (rerunning a harvest continues where it stopped)"
    ),
    "pass allow_insecure_http=True if you really mean it": (
        "pass --allow-insecure-http if you really mean it"
    ),
    "pass them as auth= instead": "pass them in the environment variables instead",
    "Lower page_size or raise max_response_bytes if": "Lower --page-size if",
    "Lower rate_limit or concurrency,": "Lower --rate-limit or --concurrency,",
    "trusted by the system (verify_ssl=False only for a test server)": (
        "trusted: set SSL_CERT_FILE to a CA bundle that includes it"
    ),
}


def in_cli_words(message: str) -> str:
    """``message`` with settings named as the flags that set them."""
    for phrase, replacement in _PHRASES.items():
        message = message.replace(phrase, replacement)
    return _SETTING.sub(lambda m: _FLAGS[m.group(1)], message)


def one_line(message: str) -> str:
    """``message`` on one line (a provider's multi-line error text joined with spaces)."""
    return " ".join(message.split())
