"""Pure helpers that keep secrets out of URLs, headers and log lines."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from yarl import URL

REDACTED = "[REDACTED]"

# Query parameters that may carry credentials. Compared case-insensitively.
SENSITIVE_QUERY_KEYS = frozenset(
    {
        "access_token",
        "token",
        "client_secret",
        "secret",
        "api_key",
        "apikey",
        "key",
        "password",
        "refresh_token",
        "signature",
    }
)
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


def _query_may_hold_secret(query: str) -> bool:
    """Cheap, conservative pre-check on the decoded query string: False only when no
    sensitive key can be in it (a match anywhere, even inside a value, takes the exact path)."""
    lowered = query.lower()
    return any(key in lowered for key in SENSITIVE_QUERY_KEYS)


def redact_url(url: URL | str) -> str:
    """Return ``url`` as text without user info and with credential-like query values hidden."""
    parsed = url if isinstance(url, URL) else URL(url)
    # Fast path (every request's URL is redacted for logs and errors): nothing to hide.
    if (
        parsed.raw_user is None
        and parsed.raw_password is None
        and not _query_may_hold_secret(parsed.query_string)
    ):
        return str(parsed)
    if parsed.user is not None or parsed.password is not None:
        parsed = parsed.with_user(None)
    if parsed.query and any(k.lower() in SENSITIVE_QUERY_KEYS for k in parsed.query):
        parsed = parsed.with_query(
            [
                (k, REDACTED if k.lower() in SENSITIVE_QUERY_KEYS else v)
                for k, v in parsed.query.items()
            ]
        )
    return str(parsed)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Copy ``headers`` with authentication values replaced by a marker."""
    return {k: (REDACTED if k.lower() in SENSITIVE_HEADERS else v) for k, v in headers.items()}


def redact_text(text: str, secrets: tuple[str, ...]) -> str:
    """Replace every occurrence of each non-empty secret in ``text``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


class Secrets:
    """The secrets one client keeps out of messages and logs: its configured credentials and
    the last ``remember`` tokens it obtained (the current one and the one before)."""

    __slots__ = ("_all", "_remember", "_static")

    def __init__(self, static: Iterable[str], *, remember: int = 2) -> None:
        self._static = tuple(s for s in static if s)
        self._all = self._static
        self._remember = remember

    def add_token(self, token: str) -> None:
        """An obtained token is a secret too, from now on."""
        tokens = [s for s in self._all if s not in self._static and s != token]
        kept = tokens[max(0, len(tokens) - self._remember + 1) :]
        self._all = (*self._static, *kept, token)

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced by a marker."""
        return redact_text(text, self._all)


__all__ = [
    "REDACTED",
    "SENSITIVE_HEADERS",
    "SENSITIVE_QUERY_KEYS",
    "Secrets",
    "redact_headers",
    "redact_text",
    "redact_url",
]
