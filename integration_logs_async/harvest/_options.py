"""What a harvest reads and where it writes: :class:`HarvestOptions`."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from .. import providers
from .._client_checks import check_count
from .._constants import (
    HARVEST_SAVE_EVERY_RECORDS,
    HARVEST_SAVE_EVERY_SECONDS,
    HARVEST_SAVE_JITTER,
)
from ..providers import ProviderSpec, Scope
from ..sinks import SinkURL, parse_sink_url
from ._output import OutputFormat

Provider = str
"""A provider's name, as :func:`integration_logs_async.providers.names` lists them."""

SCOPES: tuple[Scope, ...] = ("all", "integrations", "jobs")


def default_scope(provider: Provider) -> Scope:
    """The scope of a new harvest when none is given: the provider's first harvest scope
    (its spec says why)."""
    return providers.spec(provider).harvest_scopes[0]


@dataclass(frozen=True, kw_only=True)
class HarvestOptions:
    """What to harvest and where to. ``state=None`` means ``<out>.state.json``.

    Where to: ``out``, a JSON Lines file (``-``: stdout), or ``to``, a sink URL
    (``postgresql://...``, ``duckdb:///path.duckdb``, ``parquet:///dir``; ``jsonl:///path`` is
    the same as ``out=path``): exactly one. ``out`` is ``""`` when ``to`` names a sink.
    ``store``: the account's name in the sink's tables (None: provider, API host and the
    credential's public id, see :func:`~integration_logs_async.sinks.default_store`). A sink
    keeps the harvest's state in its own database, next to the rows, so ``state``,
    ``append``, ``force`` and ``format`` are for files only.

    ``save_every_records`` / ``save_every_seconds``: how often the output and the state are
    committed (a crash re-reads at most that much). None: 5,000 records, or the sink's own
    batch size (:attr:`~integration_logs_async.sinks.Sink.batch_records`: 8,192 for DuckDB,
    one of the row groups it writes; 25,000 for Parquet, so that its files are fewer and
    larger). Into a sink, each time-based save comes after ``save_every_seconds`` ± 25%
    (:func:`save_interval`), so that the stores of a fleet, started together, do not all
    commit at the same moment.

    ``scope=None``: the scope the state file records, else :func:`default_scope`.
    ``append``: an existing output that the state does not describe is kept and added to,
    skipping the records already in it. ``force``: such an output is replaced (once the run
    has a first record to write). Without either, such an output is refused: it is never
    truncated or overwritten.

    ``api_version``: the provider's API version (None: its default version); the harvest's
    client must be of that version. A version other than the default is part of the state's
    fingerprint, so a state of one version is not continued by another.
    """

    provider: Provider
    out: str = ""
    to: str | None = None
    store: str | None = None
    state: str | None = None
    scope: Scope | None = None
    integration_ids: tuple[str, ...] = ()
    concurrency: int = 8
    max_items: int | None = None
    since: datetime | None = None
    format: OutputFormat = "raw"
    page_size: int | None = None
    save_every_records: int | None = None
    save_every_seconds: float = HARVEST_SAVE_EVERY_SECONDS
    append: bool = False
    force: bool = False
    api_version: int | None = None

    def records_per_save(self, preferred: int = HARVEST_SAVE_EVERY_RECORDS) -> int:
        """``save_every_records``, else ``preferred`` (the output's own batch size)."""
        return self.save_every_records or preferred

    def __post_init__(self) -> None:
        providers.spec(self.provider)  # ValueError naming the providers
        self._check_target()
        if self.api_version is not None and (
            isinstance(self.api_version, bool) or not isinstance(self.api_version, int)
        ):
            raise ValueError(f"api_version must be an integer, not {self.api_version!r}")
        spec = self.spec  # ValueError naming the provider's versions
        if self.scope is not None and self.scope not in SCOPES:
            raise ValueError(f"scope must be all, integrations or jobs, not {self.scope!r}")
        if self.scope is not None:
            spec.check_scope(self.scope)
        if self.scope == "all" and self.integration_ids:
            raise ValueError(
                "--integration selects integrations; use it with --scope integrations or jobs"
            )
        if self.format not in ("raw", "normalized"):
            raise ValueError(f"format must be raw or normalized, not {self.format!r}")
        check_count("concurrency", self.concurrency, minimum=1)
        if self.max_items is not None:
            check_count("max_items", self.max_items, minimum=0)
        if self.page_size is not None:
            check_count("page_size", self.page_size, minimum=1, maximum=spec.max_page_size)
        if self.save_every_records is not None:
            check_count("save_every_records", self.save_every_records, minimum=1)
        if self.since is not None and self.since.tzinfo is None:
            raise ValueError("since must carry a timezone, e.g. 2024-01-31T00:00:00Z")
        if self.out == "-" and self.state is not None:
            raise ValueError("--state needs a file output: stdout cannot be truncated on resume")
        if self.append and self.force:
            raise ValueError(
                "--append keeps the existing output and --force replaces it: choose one"
            )
        if self.out == "-" and (self.append or self.force):
            raise ValueError("--append and --force are about an output file, not stdout (-)")

    def _check_target(self) -> None:
        """Exactly one of ``out`` and ``to``; ``to=jsonl:///path`` becomes ``out=path``; no
        file-only option with a sink."""
        if self.out and self.to is not None:
            raise ValueError(
                f"--out {self.out} and --to {self.to} both say where to write: give one (--out "
                "FILE is short for --to jsonl:///FILE)"
            )
        if not self.out and self.to is None:
            raise ValueError(
                "say where to write: --out FILE (JSON Lines, - for stdout) or --to URL "
                "(postgresql://..., duckdb:///path.duckdb, parquet:///dir)"
            )
        if self.to is None:
            if self.store is not None:
                raise ValueError(
                    "--store names the account in a database's tables: use it with --to"
                )
            return
        target = parse_sink_url(self.to)  # ValueError saying which forms are accepted
        if target.kind == "jsonl":
            assert target.path is not None
            if self.store is not None:
                raise ValueError(
                    "--store names the account in a database's tables, not in a JSON Lines "
                    "file: drop it, or give --to a database"
                )
            object.__setattr__(self, "out", target.path)
            object.__setattr__(self, "to", None)
            return
        if self.store is not None and (not isinstance(self.store, str) or not self.store.strip()):
            raise ValueError(f"--store must be a non-empty name, not {self.store!r}")
        given = [
            flag
            for flag, value in (
                ("--state", self.state is not None),
                ("--append", self.append),
                ("--force", self.force),
                ("--format normalized", self.format != "raw"),
            )
            if value
        ]
        if given:
            raise ValueError(
                f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} for a JSON Lines "
                f"file, not --to {target.shown}: a database sink keeps the harvest's state in "
                "the database, next to its rows, drops the records it already holds, and "
                "always writes both the normalized columns and the raw JSON; drop "
                f"{given[0].split()[0]}"
            )

    @property
    def sink(self) -> SinkURL | None:
        """The sink written to (None: a JSON Lines file, ``out``)."""
        return None if self.to is None else parse_sink_url(self.to)

    @property
    def state_path(self) -> Path | None:
        """Where the state lives (None when writing to stdout or a sink)."""
        if self.out == "-" or self.to is not None:
            return None
        return Path(self.state or self.out + ".state.json")

    @property
    def spec(self) -> ProviderSpec:
        """The spec of the provider's API version these options harvest."""
        return providers.client_class(self.provider, self.api_version).spec

    @property
    def chosen_api_version(self) -> int:
        """``api_version``, or the provider's default version when it is None."""
        return self.spec.api_version

    @property
    def default_api_version(self) -> bool:
        """Whether the harvest reads the provider's default API version."""
        return self.chosen_api_version == providers.spec(self.provider).api_version

    @property
    def chosen_scope(self) -> Scope:
        """``scope``, or the provider's default when it is None."""
        return self.scope or self.spec.harvest_scopes[0]

    def with_scope(self, scope: Scope) -> HarvestOptions:
        """These options with ``scope`` set."""
        return replace(self, scope=scope)

    def fingerprint(self) -> str:
        """Identifies the options a state file is bound to (not ``since``: see the state).

        The API version counts only when it is not the provider's default, so states written
        before there were versions stay valid."""
        parts = [
            self.provider,
            self.chosen_scope,
            self.format,
            ",".join(sorted(self.integration_ids)),
        ]
        if not self.default_api_version:
            parts.append(f"api_version={self.chosen_api_version}")
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def save_interval(seconds: float) -> float:
    """Seconds until the next time-based save into a sink: ``seconds`` ± ``HARVEST_SAVE_JITTER``
    (drawn anew after each save). A fleet's stores start within a second and page at the
    same rate; saving on the same beat, they had the database commit ~100 batches at once
    every two seconds, and the server sharing its core stalled meanwhile."""
    return seconds * random.uniform(1.0 - HARVEST_SAVE_JITTER, 1.0 + HARVEST_SAVE_JITTER)
