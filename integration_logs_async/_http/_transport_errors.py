"""What a failed connection or exchange means, in words a user can act on (pure functions).

The transport raises :class:`~integration_logs_async.TransportError` with ``reason. advice``:
the reason names what failed and where (host and port for a connection), the advice the
setting or check that helps. Settings are named as :class:`ClientConfig` spells them
(``connect_timeout``); the command line shows them as its flags (``--connect-timeout``).
"""

from __future__ import annotations

import socket

import aiohttp
from yarl import URL

from ..config import ClientConfig
from ..errors import IntegrationLogsError
from ._read_timeout import ReadTimeout

_CONNECTION_TIMEOUT: tuple[type[BaseException], ...] = tuple(
    cls for cls in (getattr(aiohttp, "ConnectionTimeoutError", None),) if cls is not None
)
_SOCKET_TIMEOUT: tuple[type[BaseException], ...] = tuple(
    cls for cls in (getattr(aiohttp, "SocketTimeoutError", None),) if cls is not None
)
_UNREACHABLE = (
    "The server is unreachable: check that base_url names the right host and port, that the "
    "server is running, and the network (proxy, firewall, VPN)."
)


def _where(exc: aiohttp.ClientConnectorError | None, url: URL) -> str:
    host = exc.host if exc is not None else url.host
    port = exc.port if exc is not None else url.port
    if host and ":" in host and not host.startswith("["):  # an IPv6 address
        host = f"[{host}]"
    return f"{host}:{port}" if port is not None else str(host)


def describe_transport_error(exc: BaseException, url: URL, config: ClientConfig) -> tuple[str, str]:
    """``(reason, advice)`` for an exception raised while sending to ``url``."""
    if isinstance(exc, ReadTimeout):
        return str(exc), "The server is slow or stuck; raise read_timeout, or retry later."
    if _CONNECTION_TIMEOUT and isinstance(exc, _CONNECTION_TIMEOUT):
        return (
            f"no connection to {_where(None, url)} within connect_timeout="
            f"{config.connect_timeout:g} s",
            _UNREACHABLE + " If it is only slow to accept connections, raise connect_timeout.",
        )
    if _SOCKET_TIMEOUT and isinstance(exc, _SOCKET_TIMEOUT):  # a session you passed
        return (
            f"timed out waiting for the server at {_where(None, url)} (nothing received for "
            f"read_timeout={config.read_timeout:g} s)",
            "The server is slow or stuck; raise read_timeout, or retry later.",
        )
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return (
            f"timed out waiting for the server at {_where(None, url)}",
            "The server is slow or unreachable; raise connect_timeout or read_timeout, or "
            "retry later.",
        )
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return (
            f"the TLS certificate of {_where(exc, url)} was not accepted "
            f"({exc.certificate_error})",
            "Check that base_url names the right host; a certificate from a private CA needs "
            "that CA trusted by the system (verify_ssl=False only for a test server).",
        )
    if isinstance(exc, aiohttp.ClientSSLError):
        return (
            f"TLS (SSL) with {_where(exc, url)} failed ({exc.os_error})",
            "Check that base_url names the right host, and uses https only where the server "
            "speaks TLS.",
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        where = _where(exc, url)
        os_error = exc.os_error
        if isinstance(os_error, ConnectionRefusedError):
            return f"cannot connect to {where}: connection refused", _UNREACHABLE
        if isinstance(os_error, socket.gaierror):
            return (
                f"cannot resolve the host name {exc.host!r}",
                "Check the host name in base_url, and the network (DNS, VPN).",
            )
        detail = os_error.strerror or str(os_error) or os_error.__class__.__name__
        return f"cannot connect to {where}: {detail}", _UNREACHABLE
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return (
            "the server closed the connection before answering",
            "Retry later; if it keeps happening, check for a proxy that cuts connections.",
        )
    if isinstance(exc, aiohttp.ClientPayloadError):
        return (
            f"the response body was cut short ({exc.__class__.__name__})",
            "Retry later; if it keeps happening, check for a proxy that cuts connections.",
        )
    return (
        f"{exc.__class__.__name__}: {exc}",
        "Check the network and that base_url names the right host and port.",
    )


def note_gave_up(exc: IntegrationLogsError, attempts: int) -> None:
    """Add to ``exc``'s message that retries were exhausted after ``attempts`` tries."""
    if exc.args and isinstance(exc.args[0], str):
        exc.args = (
            f"{exc.args[0].rstrip()} Gave up after {attempts} attempts (max_attempts="
            f"{attempts}); raise max_attempts to keep trying longer.",
            *exc.args[1:],
        )
