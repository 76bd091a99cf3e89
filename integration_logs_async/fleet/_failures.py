"""A store run's failure as an outcome and one line saying what happened and what to do (pure).

The line names the store's settings as the stores file spells them (``base_url``,
``rate_limit``, the credential references such as ``$SHOP_EU_SK``), never a secret: the
resolved secret values and the sink's password are replaced by ``***`` should any message
carry them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from ..errors import (
    APIError,
    AuthenticationError,
    FanOutError,
    IntegrationLogsError,
    PermissionDeniedError,
    RateLimitError,
    TransportError,
)
from ..sinks import SinkError, SinkLockedError
from ._stores import StoreConfig, StoresFileError, reference_name

Outcome = Literal["completed", "incomplete", "failed", "locked"]
"""How a store's run ended: every stream read (``completed``); the run ended but some
integrations' streams failed (``incomplete``: rerun to continue them); nothing or part
harvested (``failed``); another run holds the store (``locked``: nothing done)."""

CONTINUES = "the next run continues from the last committed batch"
SECRET_KEYS = ("secret_key", "client_secret")


def references(store: StoreConfig) -> list[str]:
    """The store's credential references as written (``$SHOP_EU_PK``), in key order."""
    return [value for value in store.credentials.values() if reference_name(value)]


def secret_values(store: StoreConfig, env: Mapping[str, str]) -> list[str]:
    """The values the store's secret references resolve to in ``env`` (to scrub)."""
    values = []
    for key in SECRET_KEYS:
        var = reference_name(store.credentials.get(key, ""))
        value = env.get(var, "") if var else ""
        if len(value) >= 4:  # a shorter one would blank out ordinary words
            values.append(value)
    return values


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` on one line, every value of ``secrets`` replaced by ``***``."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return " ".join(text.split())


def describe_failure(exc: Exception, store: StoreConfig) -> tuple[Outcome, str]:
    """The outcome of a store run that raised ``exc``, and one line: what happened, where,
    and what to do (not yet scrubbed: see :func:`scrub`)."""
    label = ""
    if isinstance(exc, FanOutError) and exc.failures:
        first_label, first = next(iter(exc.failures.items()))
        if _one_stream(first_label, first):  # the store's other streams were readable
            return "incomplete", incomplete_message({k: str(v) for k, v in exc.failures.items()})
        if isinstance(first, Exception):
            label, exc = f"{first_label}: ", first
    if isinstance(exc, SinkLockedError):
        return "locked", (
            "another run is harvesting this store right now (it holds the store's lock in the "
            "sink): nothing was done here; that run harvests it"
        )
    if isinstance(exc, StoresFileError):  # a credential variable not set, a bad definition
        return "failed", str(exc)
    if isinstance(exc, AuthenticationError):
        refs = " and ".join(references(store)) or "the store's credentials"
        return "failed", (
            f"{label}the API refused the credentials (HTTP {exc.status} at {exc.url}): check "
            f"the values of {refs} and the store's base_url, then rerun"
        )
    if isinstance(exc, PermissionDeniedError):
        return "failed", (
            f"{label}the credentials may not read the logs (HTTP {exc.status} at {exc.url}): "
            "use keys with access to the integration logs, then rerun"
        )
    if isinstance(exc, TransportError):
        return "failed", (
            f"{label}the API cannot be reached ({exc}): check the store's base_url and that the "
            f"server is up; {CONTINUES}"
        )
    if isinstance(exc, RateLimitError):
        return "failed", f"{label}{exc} (lower the store's rate_limit); {CONTINUES}"
    if isinstance(exc, APIError):
        return "failed", f"{label}{exc}; {CONTINUES}"
    if isinstance(exc, SinkError | ValueError):  # their messages say what to do
        return "failed", f"{label}{exc}"
    if isinstance(exc, IntegrationLogsError):  # the library's own (a next link to another
        return "failed", f"{label}{exc}; {CONTINUES}"  # host, a page it cannot decode...)
    return "failed", (
        f"{label}unexpected {type(exc).__name__}: {exc} (please report it); {CONTINUES}"
    )


def _one_stream(label: str, exc: BaseException) -> bool:
    """Whether a fan-out failure is one integration's or job's stream refused by the API (a
    bad page, a vanished integration, a server error there), not the whole store's."""
    whole_store = AuthenticationError | PermissionDeniedError | RateLimitError
    return (
        label.startswith(("integration ", "job "))
        and isinstance(exc, APIError)
        and not isinstance(exc, whole_store)
    )


def incomplete_message(failures: Mapping[str, str]) -> str:
    """The line of a run whose streams failed for some integrations."""
    shown = "; ".join(f"{label}: {error}" for label, error in list(failures.items())[:2])
    more = f" (and {len(failures) - 2} more)" if len(failures) > 2 else ""
    return (
        f"{len(failures)} stream(s) failed: {shown}{more}; the others were harvested; "
        f"rerun to read the failed ones ({CONTINUES})"
    )


__all__ = [
    "CONTINUES",
    "Outcome",
    "describe_failure",
    "incomplete_message",
    "references",
    "scrub",
    "secret_values",
]
