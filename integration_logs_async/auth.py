"""Credentials. Their ``repr`` never shows a secret.

* :class:`BasicAuth` — Sendcloud API public key and secret key.
* :class:`BearerToken` — a token you obtained yourself.
* :class:`ClientCredentials` — OAuth2 client-credentials grant; the client fetches, caches and
  refreshes tokens. ``token_url=None`` lets the client fill in its provider's endpoint.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from dataclasses import dataclass, field

__all__ = ["Auth", "BasicAuth", "BearerToken", "ClientCredentials"]


def _mask(secret: str) -> str:
    return "'***'" if secret else "''"


def _forms(secret: str) -> tuple[str, ...]:
    """``secret`` and the encodings in which a server may echo it back: form or URL
    encoded (a token request body, a query) and JSON-escaped."""
    forms = (
        secret,
        urllib.parse.quote_plus(secret),
        urllib.parse.quote(secret, safe=""),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    )
    return tuple(dict.fromkeys(forms))  # distinct, in order


@dataclass(frozen=True, slots=True)
class BasicAuth:
    """HTTP Basic credentials (Sendcloud: public key as username, secret key as password)."""

    username: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.username or not self.password:
            raise ValueError("BasicAuth needs a non-empty username and password")

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password={_mask(self.password)})"

    @property
    def header(self) -> str:
        """The ``Authorization`` header value."""
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def secrets(self) -> tuple[str, ...]:
        """Values that must never be shown (for redaction)."""
        return (*_forms(self.password), self.header.split(" ", 1)[1])


@dataclass(frozen=True, slots=True)
class BearerToken:
    """A ready-made bearer token. It cannot be refreshed: a 401 raises immediately."""

    token: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.token:
            raise ValueError("BearerToken needs a non-empty token")

    def __repr__(self) -> str:
        return "BearerToken(token='***')"

    def secrets(self) -> tuple[str, ...]:
        """Values that must never be shown (for redaction)."""
        return _forms(self.token)


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """OAuth2 client-credentials grant.

    ``token_url=None``: the provider's token endpoint, as its spec says (``spec.token``: e.g.
    Sendcloud's fixed URL, or a path under Elastic Path's ``base_url``, and whether the client
    id and secret go in a Basic header or in the form). ``scope`` overrides the provider's
    default OAuth2 scope.
    """

    client_id: str
    client_secret: str = field(repr=False)
    token_url: str | None = None
    scope: str | None = None

    def __post_init__(self) -> None:
        if not self.client_id or not self.client_secret:
            raise ValueError("ClientCredentials needs a non-empty client_id and client_secret")

    def __repr__(self) -> str:
        return (
            f"ClientCredentials(client_id={self.client_id!r}, "
            f"client_secret={_mask(self.client_secret)}, token_url={self.token_url!r}, "
            f"scope={self.scope!r})"
        )

    def secrets(self) -> tuple[str, ...]:
        """Values that must never be shown (for redaction)."""
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        return (*_forms(self.client_secret), basic)


Auth = BasicAuth | BearerToken | ClientCredentials
"""Any of the credentials a client accepts."""
