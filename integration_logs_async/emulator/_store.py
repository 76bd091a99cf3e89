"""The emulator's data: both providers' stores behind one read-friendly facade."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, overload

from ._config import EmulatorConfig, Provider
from ._elasticpath_store import ElasticPathStore
from ._log_fields import LogFieldError, integration_key, parse_log_fields
from ._sendcloud_store import SendcloudStore

LogId = int | str
"""A log id: an int for Sendcloud, a UUID string for Elastic Path."""


class LogView(Sequence[bytes]):
    """Live, newest-first view of a set of logs as their exact JSON bytes.

    Items are rendered on access, so a view over a million records costs nothing
    until read; records added later show up at the head of the view.
    """

    def __init__(
        self,
        scope: Callable[[], Sequence[int]],
        render: Callable[[int], bytes],
        log_id: Callable[[int], LogId],
    ) -> None:
        self._scope = scope
        self._render = render
        self._log_id = log_id

    def __len__(self) -> int:
        return len(self._scope())

    @overload
    def __getitem__(self, item: int) -> bytes: ...

    @overload
    def __getitem__(self, item: slice) -> list[bytes]: ...

    def __getitem__(self, item: int | slice) -> bytes | list[bytes]:
        scope = self._scope()
        newest_first = range(len(scope) - 1, -1, -1)
        if isinstance(item, slice):
            return [self._render(scope[k]) for k in newest_first[item]]
        return self._render(scope[newest_first[item]])

    def __iter__(self) -> Iterator[bytes]:
        scope = self._scope()
        return (self._render(scope[k]) for k in range(len(scope) - 1, -1, -1))

    def ids(self) -> list[LogId]:
        """The ids of the logs, newest first."""
        scope = self._scope()
        return [self._log_id(scope[k]) for k in range(len(scope) - 1, -1, -1)]


class Store:
    """Synthetic integrations and logs of both providers, built from the config's seed."""

    def __init__(self, config: EmulatorConfig) -> None:
        end = int(config.end_time.timestamp())
        span = int(config.time_span_days * 86400)
        self.sendcloud = SendcloudStore(
            seed=config.seed,
            integrations=config.integrations,
            logs=config.sendcloud_log_count,
            end=end,
            span=span,
            protected=config.protected_ratio,
        )
        self.elasticpath = ElasticPathStore(
            seed=config.seed,
            integrations=config.integrations,
            jobs_per_integration=config.jobs_per_integration,
            logs=config.elasticpath_log_count,
            end=end,
            span=span,
        )

    # -- Sendcloud -----------------------------------------------------------------------

    @property
    def sendcloud_integration_ids(self) -> list[int]:
        """Ids of the Sendcloud integrations, in listing order."""
        return [integration.id for integration in self.sendcloud.integrations]

    @property
    def sendcloud_logs(self) -> LogView:
        """All Sendcloud logs, newest first, as raw JSON bytes."""
        return self.sendcloud_logs_for(None)

    def sendcloud_logs_for(self, integration_id: int | None) -> LogView:
        """Logs of one Sendcloud integration (all logs for None), newest first."""
        store = self.sendcloud
        index = None if integration_id is None else store.integration_index(integration_id)
        if integration_id is not None and index is None:
            raise KeyError(f"no Sendcloud integration {integration_id}")
        return LogView(lambda: store.scope(index), store.render, lambda i: store.ids[i])

    def sendcloud_log(self, log_id: int) -> bytes:
        """Exact JSON bytes of a Sendcloud log, as served; KeyError when unknown."""
        index = self.sendcloud.index_of(log_id)
        if index is None:
            raise KeyError(f"no Sendcloud log {log_id}")
        return self.sendcloud.render(index)

    # -- Elastic Path --------------------------------------------------------------------

    @property
    def elasticpath_integration_ids(self) -> list[str]:
        """Ids of the Elastic Path integrations, oldest first (`GET /v2/integrations` lists them
        newest first)."""
        return [integration.id for integration in self.elasticpath.integrations]

    def jobs(self, integration_id: str) -> list[str]:
        """Job ids of an Elastic Path integration, newest first; KeyError when unknown."""
        index = self.elasticpath.integration_index(integration_id)
        if index is None:
            raise KeyError(f"no Elastic Path integration {integration_id}")
        jobs = self.elasticpath.integrations[index].jobs
        return [self.elasticpath.job_ids[j] for j in reversed(jobs)]

    @property
    def elasticpath_logs(self) -> LogView:
        """All Elastic Path logs, newest first, as raw JSON bytes."""
        return self.elasticpath_logs_for(None)

    def elasticpath_logs_for(
        self, integration_id: str | None, job_id: str | None = None
    ) -> LogView:
        """Logs of one integration, or of one of its jobs (all logs for None), newest first."""
        store = self.elasticpath
        index = job = None
        if integration_id is not None:
            index = store.integration_index(integration_id)
            if index is None:
                raise KeyError(f"no Elastic Path integration {integration_id}")
            if job_id is not None:
                job = store.job_index(index, job_id)
                if job is None:
                    raise KeyError(f"no job {job_id} in integration {integration_id}")
        return LogView(lambda: store.scope(index, job), store.render, store.log_id)

    def elasticpath_log(self, log_id: str) -> bytes:
        """Exact JSON bytes of an Elastic Path log, as served; KeyError when unknown."""
        index = self.elasticpath.index_of(log_id)
        if index is None:
            raise KeyError(f"no Elastic Path log {log_id}")
        return self.elasticpath.render(index)

    # -- both ----------------------------------------------------------------------------

    def logs(self, provider: Provider) -> LogView:
        """All logs of a provider, newest first."""
        return self.sendcloud_logs if provider == "sendcloud" else self.elasticpath_logs

    def integration_ids(self, provider: Provider) -> list[LogId]:
        """Ids of a provider's integrations (the owners logs can be added to)."""
        if provider == "sendcloud":
            return list(self.sendcloud_integration_ids)
        return list(self.elasticpath_integration_ids)

    def log_count(self, provider: Provider) -> int:
        """Number of logs a provider holds (deleted ones not counted)."""
        return len(self.sendcloud if provider == "sendcloud" else self.elasticpath)

    def add_logs(
        self,
        provider: Provider,
        count: int,
        integration_id: LogId | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> list[LogId]:
        """Append ``count`` newer logs for a provider (optionally to one integration).

        Without ``fields`` the logs are synthetic like the rest of the store; with them
        every new log has those fields (see :class:`~._log_fields.LogFields`).  Returns the
        new ids, oldest first.  Raises :class:`~._log_fields.LogFieldError` (a ValueError)
        for a field that is not allowed, KeyError for an unknown integration or job.
        """
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise LogFieldError("count", f"{count!r} is not allowed", "an integer >= 0")
        spec = parse_log_fields(provider, fields or {})
        key = None if integration_id is None else integration_key(provider, integration_id)
        if provider == "sendcloud":
            index = None if key is None else self.sendcloud.integration_index(int(key))
            if key is not None and index is None:
                raise KeyError(f"no Sendcloud integration {key}")
            if spec is None:
                return list(self.sendcloud.add_logs(count, index))
            return list(self.sendcloud.add_given_logs(count, index, spec))
        store = self.elasticpath
        index = None if key is None else store.integration_index(str(key))
        if key is not None and index is None:
            raise KeyError(f"no Elastic Path integration {key}")
        if spec is None:
            return list(store.add_logs(count, index))
        job = None
        if spec.job_id is not None:
            owner = store.job_owner(spec.job_id)
            if owner is None or (index is not None and owner != index):
                where = f" in integration {key}" if key is not None else ""
                raise KeyError(f"no job {spec.job_id}{where}")
            index = owner
            job = store.job_index(owner, spec.job_id)
        return list(store.add_given_logs(count, index, job, spec))

    def delete_logs(self, provider: Provider, ids: Iterable[LogId]) -> int:
        """Delete a provider's logs by id from every listing; returns how many were deleted.

        All or nothing: when any id is not a live log of the provider (unknown, or deleted
        already) nothing is deleted and KeyError names those ids.  An id given twice counts
        once.  Raises :class:`~._log_fields.LogFieldError` for an id of the wrong type
        (Sendcloud: int, Elastic Path: UUID string).
        """
        keys = list(dict.fromkeys(_log_key(provider, value) for value in ids))
        positions: dict[LogId, int]
        if provider == "sendcloud":
            sendcloud = self.sendcloud
            found = {key: sendcloud.index_of(int(key)) for key in keys}
            positions = {key: index for key, index in found.items() if index is not None}
        else:
            found_ep = self.elasticpath.positions_of(str(key) for key in keys)
            positions = {key: index for key, index in found_ep.items()}
        missing = [key for key in keys if key not in positions]
        if missing:
            shown = ", ".join(repr(key) for key in missing[:10])
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            name = "Sendcloud" if provider == "sendcloud" else "Elastic Path"
            raise KeyError(f"no {name} log {shown}{more} (unknown or deleted already)")
        store = self.sendcloud if provider == "sendcloud" else self.elasticpath
        store.delete(positions.values())
        return len(positions)

    def add_arrivals(
        self, provider: Provider, count: int, created: datetime, succeeded: bool | None = None
    ) -> list[LogId]:
        """Append ``count`` synthetic logs created at ``created`` (an aware datetime), spread
        over the integrations; ``succeeded`` picks Elastic Path outcomes (None: the usual mix;
        Sendcloud logs are failures anyway).  Returns their ids, oldest first."""
        if provider == "sendcloud":
            return list(self.sendcloud.add_logs(count, None, int(created.timestamp())))
        nanos = int(created.timestamp()) * 1_000_000_000 + created.microsecond * 1000
        return list(self.elasticpath.add_logs(count, None, nanos, succeeded))


def _log_key(provider: Provider, value: object) -> LogId:
    """A log id of ``provider`` (Sendcloud: int or digits, Elastic Path: a non-empty string)."""
    if provider == "sendcloud":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isascii() and value.isdigit():
            return int(value)
        raise LogFieldError("ids", f"{value!r} is not allowed", "Sendcloud log ids (int)")
    if isinstance(value, str) and value:
        return value
    raise LogFieldError("ids", f"{value!r} is not allowed", "Elastic Path log ids (UUID strings)")
