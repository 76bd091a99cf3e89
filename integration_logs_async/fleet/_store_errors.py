"""The error of a stores file, and the checker that words it: file, store, key, what, what to do."""

from __future__ import annotations

from typing import NoReturn

__all__ = ["StoreChecker", "StoresFileError", "listed"]


class StoresFileError(ValueError):
    """A stores file (or a store's JSON) that cannot be used; the message says where and why.

    ``source``: the file (or ``"job"``); ``store``: the store's name, or ``"store N"`` when it
    has no valid name; ``key``: the key path (``credentials.secret_key``); each None when the
    error is not about one.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        store: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.source = source
        self.store = store
        self.key = key


def listed(values: tuple[str, ...] | list[str]) -> str:
    """``a, b or c``."""
    *first, last = values
    return f"{', '.join(first)} or {last}" if first else last


class StoreChecker:
    """Raises the :class:`StoresFileError` of one store's key, naming source, store and key
    (and saying when the key came from ``[defaults]``)."""

    def __init__(self, source: str, position: int | None, from_defaults: frozenset[str]) -> None:
        self.source = source
        self.name: str | None = None
        self.label = f"store {position}" if position is not None else "store"
        self.from_defaults = from_defaults

    def named(self, name: str) -> None:
        """Name the store in the messages from now on (it has a valid name)."""
        self.name = name
        self.label = f"store {name!r}"

    def fail(self, key: str, what: str, todo: str) -> NoReturn:
        """Raise: ``<source>: <store>: <key>: <what>; <todo>``."""
        top = key.split(".", 1)[0]
        shown = f"{key} (from [defaults])" if top in self.from_defaults else key
        raise StoresFileError(
            f"{self.source}: {self.label}: {shown}: {what}; {todo}",
            source=self.source,
            store=self.name or self.label,
            key=key,
        )
