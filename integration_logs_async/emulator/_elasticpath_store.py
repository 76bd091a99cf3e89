"""Elastic Path log store: integrations, jobs, and logs encoded once.

Each log is served in the documented key order as its own encoded *head* (UUID,
attempt, processing time), the *tail* of its outcome (body, status code, error
detail) shared by every log with that outcome, and its own *after*
(relationships, timestamp); see :mod:`._template`.  Records are kept oldest
first, listings read them backwards.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from . import _elasticpath_data as data
from ._log_fields import LogSpec, reason
from ._template import RecordParts
from ._timefmt import NANOS, elasticpath_timestamp, minute_prefix, utc_seconds_timestamp
from ._tombstones import Tombstones

_ID_START = len(b'{"id":"')
_ID_END = _ID_START + 36
_ATTEMPTS = (1, 1, 1, 1, 2, 2, 3, 4, 5)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_GIVEN = len(data.OUTCOMES)
"""Outcome index of logs added with given fields: encoded whole, no shared tail."""


@dataclass(frozen=True)
class ElasticPathIntegration:
    """One integration, its JSON object (without ``links``) and its jobs' positions."""

    id: str
    obj: dict[str, Any]
    jobs: range


class ElasticPathStore:
    """All Elastic Path integrations, jobs and logs of one emulator."""

    def __init__(
        self,
        *,
        seed: int,
        integrations: int,
        jobs_per_integration: int,
        logs: int,
        end: int,
        span: int,
    ) -> None:
        rng = random.Random(f"elasticpath:{seed}")
        start = end - span
        self._formats = [data.build_template(outcome) for outcome in data.OUTCOMES]
        self._tails = [template.tail for template in self._formats] + [b""]
        self._outcome_weights = [outcome.weight for outcome in data.OUTCOMES]
        self.integrations: list[ElasticPathIntegration] = []
        self.job_ids: list[str] = []
        self._job_integration: list[int] = []
        for k in range(integrations):
            created = start - rng.randrange(86400, 400 * 86400)
            updated = created + rng.randrange(0, 86400 * 30)
            obj = data.integration_object(
                k, rng, utc_seconds_timestamp(created), utc_seconds_timestamp(updated)
            )
            first = len(self.job_ids)
            for _ in range(jobs_per_integration):
                self.job_ids.append(data.make_uuid(rng))
                self._job_integration.append(k)
            jobs = range(first, len(self.job_ids))
            self.integrations.append(ElasticPathIntegration(obj["id"], obj, jobs))
        self._integration_bytes = [i.id.encode() for i in self.integrations]
        self._job_bytes = [job_id.encode() for job_id in self.job_ids]
        self._by_id = {integration.id: k for k, integration in enumerate(self.integrations)}
        self._job_by_id = {job_id: j for j, job_id in enumerate(self.job_ids)}
        self._weights = [rng.paretovariate(1.3) for _ in self.integrations]
        self._records = RecordParts()
        self._outcome = array("B")
        self.created = array("q")
        self.integration_scopes: list[array[int]] = [array("I") for _ in self.integrations]
        self.job_scopes: list[array[int]] = [array("I") for _ in self.job_ids]
        self.tombstones = Tombstones()
        self._growth = random.Random(f"elasticpath:{seed}:growth")
        self._growth_start = end * NANOS
        self._generate(rng, logs, start * NANOS, span * NANOS, jobs_per_integration)

    def _generate(
        self, rng: random.Random, count: int, start: int, span: int, per_integration: int
    ) -> None:
        """Draw ``count`` logs over ``[start, start + span)`` ns and encode their heads."""
        owners = rng.choices(range(len(self.integrations)), self._weights, k=count)
        offsets = rng.choices(range(per_integration), k=count)
        jobs = [k * per_integration + j for k, j in zip(owners, offsets, strict=True)]
        outcomes = rng.choices(range(len(data.OUTCOMES)), self._outcome_weights, k=count)
        attempts = rng.choices(_ATTEMPTS, k=count)
        random_ = rng.random
        self.created.extend(start + int(span * (i + random_()) / count) for i in range(count))
        self._outcome.extend(outcomes)
        for index in range(count):
            self._add(rng, index, jobs[index], attempts[index])
            self.integration_scopes[owners[index]].append(index)
            self.job_scopes[jobs[index]].append(index)

    def _add(self, rng: random.Random, index: int, job: int, attempt: int) -> None:
        """Encode the log's own parts (head and after) from its outcome's template."""
        outcome = self._outcome[index]
        low, high = (100_000, 300_000) if data.OUTCOMES[outcome].slow else (50, 30_000)
        ptime = low + int(rng.random() * (high - low))  # units of 0.1 ms
        created = self.created[index]
        seconds = created // NANOS
        values = (
            data.make_uuid(rng).encode(),
            attempt,
            ptime // 10_000,
            ptime % 10_000,
            self._integration_bytes[self._job_integration[job]],
            self._job_bytes[job],
            minute_prefix(seconds // 60),
            seconds % 60,
            created % NANOS,
        )
        template = self._formats[outcome]
        self._records.append(template.head_of(values), template.after_of(values))

    def __len__(self) -> int:
        """Number of live (not deleted) records."""
        return len(self._records) - len(self.tombstones)

    def integration_index(self, integration_id: str) -> int | None:
        """Position of an integration, or None when it does not exist."""
        return self._by_id.get(integration_id)

    def job_owner(self, job_id: str) -> int | None:
        """Position of the integration a job belongs to, or None for an unknown job."""
        job = self._job_by_id.get(job_id)
        return None if job is None else self._job_integration[job]

    def job_index(self, integration: int, job_id: str) -> int | None:
        """Position of a job of ``integration``, or None when it has no such job."""
        job = self._job_by_id.get(job_id)
        return job if job is not None and self._job_integration[job] == integration else None

    def log_id(self, index: int) -> str:
        """UUID of the record at ``index``."""
        return self._records.head(index)[_ID_START:_ID_END].decode()

    def render(self, index: int) -> bytes:
        """Exact JSON bytes of the record at ``index`` (0 = oldest)."""
        return self._records.render(index, self._tails[self._outcome[index]])

    def join(self, positions: Iterable[int]) -> bytes:
        """The records at ``positions``, comma-separated (the inside of a JSON array)."""
        tails, outcome = self._tails, self._outcome
        return self._records.join(positions, lambda index: tails[outcome[index]])

    def index_of(self, log_id: str) -> int | None:
        """Position of the live record with UUID ``log_id``, or None (a linear scan, for tests)."""
        return self.positions_of([log_id]).get(log_id)

    def positions_of(self, log_ids: Iterable[str]) -> dict[str, int]:
        """Positions of the live records among ``log_ids`` (one scan, newest first, that
        stops once all are found); ids not found are left out."""
        wanted = set(log_ids)
        found: dict[str, int] = {}
        deleted = self.tombstones.deleted
        for index in range(len(self._records) - 1, -1, -1):
            if len(found) == len(wanted):
                break
            log_id = self.log_id(index)
            if log_id in wanted and index not in deleted:
                found[log_id] = index
        return found

    def delete(self, positions: Iterable[int]) -> None:
        """Delete the records at ``positions`` from every listing (and from :meth:`index_of`)."""
        scopes = [*self.integration_scopes, *self.job_scopes]
        self.tombstones.delete(positions, len(self._records), scopes)

    def scope(self, integration: int | None = None, job: int | None = None) -> Sequence[int]:
        """Ascending live record positions of a job, of an integration, or of all records."""
        if job is not None:
            return self.job_scopes[job]
        if integration is not None:
            return self.integration_scopes[integration]
        live = self.tombstones.live
        return range(len(self._records)) if live is None else live

    def add_logs(
        self,
        count: int,
        integration: int | None = None,
        created: int | None = None,
        succeeded: bool | None = None,
    ) -> list[str]:
        """Append ``count`` newer logs (to one integration, or spread) and return their ids.

        ``created`` (epoch nanoseconds) is their creation time (default: the synthetic clock
        moves on by 1 to 90 s per log); ``succeeded`` restricts their outcomes to successes
        or failures (default: the usual mix).
        """
        rng = self._growth
        first = len(self._records)
        outcomes = [
            k
            for k, outcome in enumerate(data.OUTCOMES)
            if succeeded is None or outcome.succeeded == succeeded
        ]
        weights = [self._outcome_weights[k] for k in outcomes]
        for _ in range(count):
            owner = integration
            if owner is None:
                owner = rng.choices(range(len(self.integrations)), self._weights)[0]
            job = rng.choice(self.integrations[owner].jobs)
            index = len(self._records)
            last = self.created[-1] if self.created else self._growth_start
            clock = last + rng.randrange(NANOS, 90 * NANOS)
            self.created.append(clock if created is None else created)
            self._outcome.append(rng.choices(outcomes, weights)[0])
            self._add(rng, index, job, rng.choice(_ATTEMPTS))
            self.integration_scopes[owner].append(index)
            self.job_scopes[job].append(index)
            self.tombstones.appended(index)
        return [self.log_id(i) for i in range(first, len(self._records))]

    def add_given_logs(
        self, count: int, integration: int | None, job: int | None, spec: LogSpec
    ) -> list[str]:
        """Append ``count`` newer logs with the fields of ``spec`` (to one job of
        ``integration``, or spread) and return their ids."""
        rng = self._growth
        first = len(self._records)
        given = None
        if spec.created_at is not None:
            given = (spec.created_at - _EPOCH) // timedelta(microseconds=1) * 1000
        for _ in range(count):
            owner = integration
            if owner is None:
                owner = rng.choices(range(len(self.integrations)), self._weights)[0]
            chosen = rng.choice(self.integrations[owner].jobs) if job is None else job
            index = len(self._records)
            last = self.created[-1] if self.created else self._growth_start
            clock = last + rng.randrange(NANOS, 90 * NANOS)
            self.created.append(clock if given is None else max(clock, given))
            self._outcome.append(_GIVEN)
            record = self._given_record(rng, owner, chosen, spec, clock if given is None else given)
            self._records.append(msgspec.json.encode(record))
            self.integration_scopes[owner].append(index)
            self.job_scopes[chosen].append(index)
            self.tombstones.appended(index)
        return [self.log_id(i) for i in range(first, len(self._records))]

    def _given_record(
        self, rng: random.Random, owner: int, job: int, spec: LogSpec, created: int
    ) -> dict[str, Any]:
        """The record of a log added with given fields, in the documented key order."""
        code = spec.status_code
        if spec.error is not None:
            error = spec.error
        elif not spec.failed:
            error = ""
        elif code is None:
            error = "dial tcp 203.0.113.10:443: connect: connection refused"
        else:
            error = data.OUTSIDE_2XX if not 200 <= code < 300 else "webhook delivery failed"
        body = spec.body if spec.body is not None else ("" if code is None else reason(code))
        ptime = spec.processing_time
        return {
            "id": data.make_uuid(rng),  # first: log_id() reads it from the head
            "type": "integration-log",
            "succeeded": not spec.failed,
            "attempt": spec.attempt or 1,
            "processing_time": round(0.005 + rng.random(), 4) if ptime is None else ptime,
            "body": body,
            "status_code": code or 0,
            "error_detail": error,
            "relationships": {
                "integration": {"data": {"type": "integration", "id": self.integrations[owner].id}},
                "job": {"data": {"type": "integration-job", "id": self.job_ids[job]}},
            },
            "meta": {"timestamps": {"created_at": elasticpath_timestamp(created).decode()}},
        }
