"""Credentials, access tokens and the per-credential rate limit.

Sendcloud data endpoints take HTTP Basic (public key : secret key) or a Bearer
token from ``POST /oauth2/token``; Elastic Path data endpoints take a Bearer
token from ``POST /oauth/access_token``.  Tokens belong to one provider and
expire after ``token_ttl`` seconds.  Everything is keyed by the credential's
identity (public key or client id), which is what the request log shows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from ._config import EmulatorConfig, Provider
from ._records import AuthScheme


class CredentialKind(StrEnum):
    """The kinds of credentials the emulator accepts."""

    SENDCLOUD_KEY = "sendcloud_key"
    """Sendcloud API key pair, used with HTTP Basic on data endpoints."""
    SENDCLOUD_CLIENT = "sendcloud_client"
    """Sendcloud OAuth2 client, exchanged for a Bearer token."""
    EPCC_CLIENT = "epcc_client"
    """Elastic Path client-credentials pair, exchanged for a Bearer token."""


@dataclass(frozen=True, slots=True)
class Token:
    """An issued access token."""

    value: str
    provider: Provider
    client_id: str
    expires_at: float
    """:func:`time.monotonic` deadline."""
    expires_epoch: int
    """Unix time of expiry, as reported to the client."""


@dataclass(frozen=True, slots=True)
class AuthResult:
    """Outcome of checking a request's ``Authorization`` header."""

    scheme: AuthScheme | None
    credential: str | None
    ok: bool


class AuthRegistry:
    """Known credentials and issued tokens of one emulator."""

    def __init__(self, config: EmulatorConfig, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._seed = config.seed
        self.token_ttl = config.token_ttl
        self._secrets: dict[CredentialKind, dict[str, str]] = {kind: {} for kind in CredentialKind}
        self._tokens: dict[str, Token] = {}
        self._issued = 0
        self.issued: list[str] = []
        """Every token value issued so far, oldest first (for leak checks in tests)."""
        self.add(
            CredentialKind.SENDCLOUD_KEY, config.sendcloud_public_key, config.sendcloud_secret_key
        )
        self.add(
            CredentialKind.SENDCLOUD_CLIENT,
            config.sendcloud_client_id,
            config.sendcloud_client_secret,
        )
        self.add(CredentialKind.EPCC_CLIENT, config.epcc_client_id, config.epcc_client_secret)

    def add(self, kind: CredentialKind, identity: str, secret: str) -> None:
        """Accept another credential (e.g. a second client for per-credential limits)."""
        self._secrets[CredentialKind(kind)][identity] = secret

    def check(self, kind: CredentialKind, identity: str | None, secret: str | None) -> bool:
        """Whether ``identity``/``secret`` is a known credential of ``kind``."""
        if identity is None or secret is None:
            return False
        expected = self._secrets[kind].get(identity)
        return expected is not None and hmac.compare_digest(expected, secret)

    def issue(self, provider: Provider, client_id: str) -> Token:
        """Issue a new token (deterministic value: seed, provider and sequence number)."""
        self._issued += 1
        digest = hashlib.sha1(f"{self._seed}:{provider}:{self._issued}".encode()).hexdigest()
        token = Token(
            value=digest,
            provider=provider,
            client_id=client_id,
            expires_at=self._clock() + self.token_ttl,
            expires_epoch=int(time.time() + self.token_ttl),
        )
        self._tokens[token.value] = token
        self.issued.append(token.value)
        return token

    def expire_tokens(self) -> None:
        """Make every issued token invalid from now on."""
        self._tokens.clear()

    def authenticate(self, provider: Provider, header: str | None) -> AuthResult:
        """Check an ``Authorization`` header for a data endpoint of ``provider``."""
        if not header:
            return AuthResult(None, None, False)
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer":
            token = self._tokens.get(value.strip())
            if token is None or token.provider != provider:
                return AuthResult("bearer", None, False)
            ok = self._clock() < token.expires_at
            if not ok:
                del self._tokens[token.value]
            return AuthResult("bearer", token.client_id, ok)
        if scheme == "basic" and provider == "sendcloud":
            identity, secret = parse_basic(value)
            ok = self.check(CredentialKind.SENDCLOUD_KEY, identity, secret)
            return AuthResult("basic", identity, ok)
        return AuthResult(None, None, False)


def parse_basic(value: str) -> tuple[str | None, str | None]:
    """Decode the credentials of an HTTP Basic header value (None, None if garbled)."""
    try:
        decoded = base64.b64decode(value.strip().encode(), validate=True).decode()
    except (binascii.Error, UnicodeError):
        return None, None
    identity, colon, secret = decoded.partition(":")
    return (identity, secret) if colon else (None, None)


class RateLimiter:
    """At most ``rps`` requests per credential in any sliding one-second window."""

    def __init__(self, rps: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rps = rps
        self._clock = clock
        self._recent: dict[str, deque[float]] = {}

    def allow(self, credential: str) -> bool:
        """Count a request by ``credential`` unless it exceeds the limit."""
        now = self._clock()
        recent = self._recent.setdefault(credential, deque())
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        if len(recent) >= self.rps:
            return False
        recent.append(now)
        return True
