"""What every harvest reads and reports, whatever it writes to: the client check, the record
stream (with the incremental stop rule) and :class:`HarvestResult`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .. import providers
from ..fanout import FanOutStream, Source, StopWhen
from ..providers import BaseClient
from ..records import RawRecord
from ._options import HarvestOptions, Provider
from ._plan import Mode
from ._state import Watermark

Client = BaseClient
"""Any provider's client (e.g. ``SendcloudClient``)."""


@dataclass
class HarvestResult:
    """What one harvest run did."""

    provider: Provider
    out: str
    state: str | None
    records: int
    duplicates: int
    pages: int
    requests: int
    retries: int
    rate_limited: int
    elapsed: float
    complete: bool
    mode: Mode
    records_in_file: int
    stopped_at_max_items: bool = False
    failures: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    """What the run did beyond the usual, e.g. how it applied ``since``."""
    api_version: int | None = None
    """The API version read when it is not the provider's default (None: the default)."""
    store: str | None = None
    """The store written (a harvest into a sink, ``--to``); then ``out`` is the sink's URL
    (without its password), ``state`` None (the state is in the sink) and
    ``records_in_file`` the rows this harvest (its store, scope, integrations and API
    version) has inserted into the sink across runs."""
    newest_created_at: datetime | None = None
    """A harvest into a sink: the newest ``created_at`` among its streams' watermarks (this
    run's newest records, else the previous complete run's), for the lag of a fleet's
    metrics; None for a file harvest, or when no record carried a time."""

    def summary(self) -> str:
        """Human-readable closing lines."""
        status = "complete" if self.complete else "incomplete"
        if self.stopped_at_max_items:
            status = (
                "stopped at --max-items (rerun with the same "
                + ("state file" if self.store is None else "--to and --store")
                + " to continue)"
            )
        what = {
            "fresh": "harvested",
            "resumed": "resumed and harvested",
            "incremental": "found new since the last complete run:",
            "appended": "appended",
        }[self.mode]
        rate = self.records / self.elapsed if self.elapsed > 0 else 0.0
        lines = [
            f"{self.provider}{'' if self.api_version is None else f' API v{self.api_version}'}"
            f": {what} {self.records:,} records in {self.elapsed:,.1f} s "
            f"({rate:,.0f} rec/s) -> {self.out} [{status}]",
            f"  pages {self.pages:,}, requests {self.requests:,}, retries {self.retries:,}, "
            f"429s {self.rate_limited:,}, duplicates dropped {self.duplicates:,}, "
            + (
                f"records in file {self.records_in_file:,}"
                if self.store is None
                else f"rows written by this harvest {self.records_in_file:,} (store {self.store})"
            ),
        ]
        lines += [f"  note: {note}" for note in self.notes]
        lines += [f"  failed: {label}: {error}" for label, error in self.failures.items()]
        return "\n".join(lines)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _stop_rule(watermarks: dict[str, Watermark], since: datetime | None) -> StopWhen | None:
    """Stop a stream at its previous newest record, or before records older than ``since``."""
    if not watermarks and since is None:
        return None
    marks = {
        label: (wm.id, datetime.fromisoformat(wm.created_at) if wm.created_at else None)
        for label, wm in watermarks.items()
    }

    def stop(source: Source, record: RawRecord) -> bool:
        created: datetime | None = record.created_at
        if since is not None and created is not None and created < since:
            return True
        mark = marks.get(source.label)
        if mark is None:
            return False
        newest_id, newest_at = mark
        return record.id == newest_id or (
            newest_at is not None and created is not None and created < newest_at
        )

    return stop


def build_stream(
    client: Client, options: HarvestOptions, resume_from: str | None, stop: StopWhen | None
) -> FanOutStream[RawRecord]:
    """The raw record stream a harvest with ``options`` reads."""
    check_client(client, options)
    return client.logs_in_scope(
        options.chosen_scope,
        list(options.integration_ids) or None,
        concurrency=options.concurrency,
        page_size=options.page_size,
        resume_from=resume_from,
        max_items=options.max_items,
        stop_when=stop,
    ).raw()


def check_client(client: Client, options: HarvestOptions) -> None:
    """``ValueError`` unless ``client`` is of the provider and API version of ``options``."""
    if client.provider != options.provider:
        wanted = providers.client_class(options.provider, options.api_version).__name__
        raise ValueError(
            f"the harvest options name provider {options.provider!r}, but the client is a "
            f"{type(client).__name__}: pass a {wanted}"
        )
    if client.spec.api_version != options.chosen_api_version:
        wanted = providers.client_class(options.provider, options.api_version).__name__
        raise ValueError(
            f"the harvest options ask for {options.spec.title} API "
            f"v{options.chosen_api_version}, but the client is a {type(client).__name__} "
            f"(API v{client.spec.api_version}): pass a {wanted}, or set the options' "
            f"api_version to {client.spec.api_version}"
        )


__all__ = ["Client", "HarvestResult", "build_stream", "check_client"]
