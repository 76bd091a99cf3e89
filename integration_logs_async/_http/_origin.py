"""The origin policy: which URLs a client may send its credentials to (pure, no I/O).

Built once per client from the configured ``base_url``. Every URL a request goes to comes from
here: :meth:`OriginPolicy.resolve` for a path or URL the library builds, :meth:`OriginPolicy.follow`
for a link the server sent (a ``next`` link, a redirect's ``Location``), resolved against the
URL of the response that carried it (RFC 3986 section 5, as RFC 8288 asks for links). A URL
either policy method returns is on the configured origin and carries no ``user:password@``;
anything else raises :class:`~integration_logs_async.UnsafeURLError`, so nothing is checked
twice.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

from yarl import URL

from ..errors import UnsafeURLError
from ._redact import redact_url

_HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?", re.IGNORECASE)
_USERINFO = re.compile(r"(?<=//)[^/@]*@")
_ABSOLUTE = ("http://", "https://")


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` names this machine (localhost, 127.0.0.0/8, ::1)."""
    if host is None:
        return False
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def origin_of(url: URL) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the default port filled in."""
    return (url.scheme.lower(), (url.host or "").lower(), url.port)


def _valid_host(host: str) -> bool:
    """An IP address, or a DNS name of non-empty labels of letters, digits, '-' and '_'."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        pass
    name = host[:-1] if host.endswith(".") else host  # a fully qualified "api.test."
    return 0 < len(name) <= 253 and all(_HOST_LABEL.fullmatch(x) for x in name.split("."))


def check_base_url(raw: str, *, allow_insecure_http: bool, what: str = "base_url") -> URL:
    """Validate a configured URL: absolute http(s), and https unless loopback or opted in."""
    example = "like 'https://api.example.com'"
    if not isinstance(raw, str):
        raise ValueError(f"{what} must be a string {example}, got {type(raw).__name__}")
    shown = _USERINFO.sub("", raw)  # never echo a password, even from a URL that does not parse
    if raw != raw.strip() or any(ch.isspace() or not ch.isprintable() for ch in raw):
        raise ValueError(
            f"{what} {shown!r} contains whitespace or control characters (e.g. a trailing "
            f"newline from a file or environment variable); pass the bare URL, {example}"
        )
    try:
        url = URL(raw)
        port = url.explicit_port  # yarl parses host and port lazily
        host = url.raw_host
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} {shown!r} is not a valid URL: {exc}") from None
    if host and not _valid_host(host):
        raise ValueError(
            f"{what} {shown!r} has an invalid host name {host!r}: use a DNS name (letters, "
            f"digits, '-', dots between non-empty labels) or an IP address, {example}"
        )
    if port == 0:
        raise ValueError(f"{what} {shown!r} has port 0; ports go from 1 to 65535")
    if url.user is not None or url.password is not None:
        raise ValueError(
            f"{what} {redact_url(url)!r} must not carry credentials (user:password@); "
            "pass them as auth= instead"
        )
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(
            f"{what} must be an absolute http(s) URL like 'https://api.example.com', "
            f"got {redact_url(url)!r}"
        )
    if url.query_string or url.fragment:
        raise ValueError(f"{what} must not carry a query or fragment, got {redact_url(url)!r}")
    if url.scheme == "http" and not is_loopback(url.host) and not allow_insecure_http:
        raise ValueError(
            f"{what} {raw!r} uses plain http to a non-loopback host; credentials would travel "
            "unencrypted. Use https, or pass allow_insecure_http=True if you really mean it."
        )
    return url


def _unchanged(text: str) -> str:
    return text


class OriginPolicy:
    """The configured origin, and the URLs on it that requests may go to.

    ``redact`` masks secrets in the text of an unparseable URL shown in an error.
    """

    __slots__ = ("_base", "_expected", "_origin", "_prefix", "_redact", "base_url")

    def __init__(self, base_url: URL, *, redact: Callable[[str], str] = _unchanged) -> None:
        self.base_url = base_url
        self._origin = origin_of(base_url)
        self._expected = str(base_url.origin())
        # An absolute URL starting with this is on the origin, with no userinfo: the authority
        # ends at the first "/". Most links the server sends take this path, with one parse.
        self._prefix = self._expected + "/"
        self._base = str(base_url).rstrip("/")
        self._redact = redact

    def resolve(self, path_or_url: str) -> URL:
        """An absolute URL for a path under ``base_url``, or a checked absolute URL."""
        if path_or_url.startswith(self._prefix):
            return URL(path_or_url, encoded=True)
        if path_or_url.startswith(_ABSOLUTE):
            return self._checked(self._parse(path_or_url, "URL"), "URL")
        return URL(self._base + "/" + path_or_url.lstrip("/"), encoded=False)

    def follow(
        self, current: URL, link: str, *, context: str = "next link", requote: bool = False
    ) -> URL:
        """A server-sent ``link`` (relative or absolute), resolved against ``current`` (the URL
        of the response that carried it), parsed and checked in one go.

        ``requote``: percent-encode what the link leaves unencoded, as aiohttp does for a
        redirect's ``Location``; a ``next`` link is taken as sent. Raises
        :class:`UnsafeURLError` when the link is not a valid URL, leaves the configured
        origin, or carries ``user:password@``.
        """
        if not requote and link.startswith(self._prefix):
            return URL(link, encoded=True)
        try:
            url = current.join(URL(link, encoded=not requote))
            origin_of(url)  # yarl parses host and port lazily: make it fail here
        except (TypeError, ValueError) as exc:
            raise self._invalid(link, context, exc) from None
        return self._checked(url, context)

    def check(self, url: URL, *, context: str) -> None:
        """Raise :class:`UnsafeURLError` unless ``url`` is on the configured origin.

        A URL carrying its own ``user:password@`` is refused too: only the configured
        credentials are ever sent (aiohttp would otherwise send those, or refuse to combine
        them with ours).
        """
        try:
            origin = origin_of(url) if url.is_absolute() else None
        except ValueError as exc:  # e.g. a port out of range, noticed only when read
            raise self._invalid(f"{url.scheme}://(invalid host or port)", context, exc) from None
        if origin != self._origin:
            raise UnsafeURLError(redact_url(url), expected_origin=self._expected, context=context)
        if url.raw_user is not None or url.raw_password is not None:
            raise UnsafeURLError(
                redact_url(url),
                expected_origin=self._expected,
                context=context,
                reason="it carries credentials of its own (user:password@); only the "
                "configured credentials are sent, to the configured origin.",
            )

    def _checked(self, url: URL, context: str) -> URL:
        self.check(url, context=context)
        return url

    def _parse(self, raw: str, context: str) -> URL:
        try:
            url = URL(raw, encoded=True)
            origin_of(url)  # yarl parses host and port lazily: make it fail here
        except (TypeError, ValueError) as exc:
            raise self._invalid(raw, context, exc) from None
        return url

    def _invalid(self, raw: str, context: str, exc: Exception) -> UnsafeURLError:
        # Without the query (it may hold a credential) and shortened: it is not parseable,
        # so redact_url() cannot be used.
        shown = self._redact(raw.split("?", 1)[0])[:120]
        return UnsafeURLError(
            shown,
            expected_origin=self._expected,
            context=context,
            reason=f"it is not a valid URL ({exc}). Report this to the provider.",
        )


__all__ = ["OriginPolicy", "check_base_url", "is_loopback", "origin_of"]
