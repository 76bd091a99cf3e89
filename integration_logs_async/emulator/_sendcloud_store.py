"""Sendcloud log store: records encoded once, big static parts shared.

Each record is served in the provider's documented key order as its own encoded
*head* (id, shop URL...), the *tail* of its template (response and request, e.g. a
2 KB HTML page) shared by every record of that template, and its own *after*
(timestamp, exception...); see :mod:`._template`.  Ids ascend with
creation time, so the newest record is the last one and every listing reads
backwards.  A log created through the API is all head, with an empty tail.
"""

from __future__ import annotations

import random
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, islice
from typing import Any

import msgspec

from . import _sendcloud_data as data
from ._log_fields import LogSpec, reason
from ._template import RecordParts
from ._timefmt import minute_prefix, offset_suffix, sendcloud_timestamp
from ._tombstones import Tombstones

_ID_BASE = 1_000_000
_ID_GAPS = (1, 1, 1, 1, 2, 2, 3, 5, 8)
_TZ_OFFSETS = (0, 3600, 7200)
_CONNECTION_ERROR = (
    "requests.exceptions.ConnectionError",
    "('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))",
)


@dataclass(frozen=True)
class SendcloudIntegration:
    """One shop integration and its pre-encoded JSON object."""

    id: int
    system: int
    base_url: str
    tz_offset: int
    json: bytes
    base: bytes = field(init=False, repr=False)
    """``base_url`` as bytes, for template slots."""
    suffix: bytes = field(init=False, repr=False)
    """UTC offset suffix of the shop's timestamps, e.g. ``+01:00``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "base", self.base_url.encode())
        object.__setattr__(self, "suffix", offset_suffix(self.tz_offset))


@dataclass(frozen=True)
class IdScope:
    """Record positions (ascending) seen through their ids, for keyset pagination."""

    ids: Sequence[int]
    positions: Sequence[int]

    def __len__(self) -> int:
        return len(self.positions)

    def id_at(self, k: int) -> int:
        """The k-th smallest id of the scope."""
        return self.ids[self.positions[k]]

    def count_below(self, log_id: int) -> int:
        """How many of the scope's ids are ``< log_id``."""
        return bisect_left(self.positions, bisect_left(self.ids, log_id))

    def count_up_to(self, log_id: int) -> int:
        """How many of the scope's ids are ``<= log_id``."""
        return bisect_left(self.positions, bisect_right(self.ids, log_id))


class SendcloudStore:
    """All Sendcloud integrations and logs of one emulator."""

    def __init__(
        self, *, seed: int, integrations: int, logs: int, end: int, span: int, protected: float
    ) -> None:
        rng = random.Random(f"sendcloud:{seed}")
        self.user_id = rng.randrange(100_000, 999_999)
        self._formats = data.build_templates(self.user_id)
        self._tails = [template.tail for template in self._formats] + [b""]
        self._posted = len(self._formats)
        self._protected_ratio = protected
        self.integrations = self._make_integrations(rng, integrations, end - span)
        self._by_id = {integration.id: k for k, integration in enumerate(self.integrations)}
        self._weights = [rng.paretovariate(1.3) for _ in self.integrations]
        self._scenario_weights = [s.weight for s in data.SCENARIOS]
        self.ids = array("q")
        self.created = array("q")
        self._template = array("H")
        self._records = RecordParts()
        self.scopes: list[array[int]] = [array("I") for _ in self.integrations]
        self.tombstones = Tombstones()
        self._growth = random.Random(f"sendcloud:{seed}:growth")
        self._growth_start = end
        self._generate(rng, logs, end - span, span)
        self.integrations_json = b"[" + b",".join(i.json for i in self.integrations) + b"]"

    def _make_integrations(
        self, rng: random.Random, count: int, start: int
    ) -> list[SendcloudIntegration]:
        result = []
        integration_id = rng.randrange(10_000, 90_000)
        for k in range(count):
            integration_id += rng.randrange(1, 40)
            system = k if k < len(data.SYSTEMS) else rng.randrange(len(data.SYSTEMS))
            word = data.SHOP_WORDS[k % len(data.SHOP_WORDS)]
            slug = word if k < len(data.SHOP_WORDS) else f"{word}-{k}"
            base_url = data.SYSTEMS[system].url_pattern.format(slug=slug)
            tz = rng.choice(_TZ_OFFSETS)
            failing = start + rng.randrange(86400)
            updated, fetched = start - rng.randrange(86400, 90 * 86400), failing - 600
            failing_since, last_fetch, last_updated_at = (
                sendcloud_timestamp(epoch, tz).decode() for epoch in (failing, fetched, updated)
            )
            carriers = sorted(rng.sample(data.CARRIERS, rng.randrange(0, 4)))
            obj: dict[str, Any] = {
                "id": integration_id,
                "shop_name": slug.replace("-", " ").title(),
                "shop_url": base_url,
                "system": data.SYSTEMS[system].name,
                "failing_since": failing_since,
                "last_fetch": last_fetch,
                "last_updated_at": last_updated_at,
                "service_point_enabled": bool(carriers),
                "service_point_carriers": carriers,
                "webhook_active": rng.random() < 0.5,
                "webhook_url": f"{base_url}/sendcloud/webhook",
            }
            result.append(
                SendcloudIntegration(integration_id, system, base_url, tz, msgspec.json.encode(obj))
            )
        return result

    def _generate(self, rng: random.Random, count: int, start: int, span: int) -> None:
        """Draw ``count`` logs over ``[start, start + span)`` and encode their heads."""
        owners = rng.choices(range(len(self.integrations)), self._weights, k=count)
        scenarios = rng.choices(range(len(data.SCENARIOS)), self._scenario_weights, k=count)
        random_ = rng.random
        ratio = self._protected_ratio
        systems = [integration.system for integration in self.integrations]
        self._template.extend(
            data.template_index(systems[k], scenario, random_() < ratio)
            for k, scenario in zip(owners, scenarios, strict=True)
        )
        gaps = rng.choices(_ID_GAPS, k=count)
        self.ids.extend(islice(accumulate(gaps, initial=_ID_BASE), 1, None))
        self.created.extend(start + int(span * (i + random_()) / count) for i in range(count))
        orders = rng.choices(range(1001, 99_999), k=count)
        for index, (k, order) in enumerate(zip(owners, orders, strict=True)):
            self._add_own(index, k, order)
        for index, k in enumerate(owners):
            self.scopes[k].append(index)

    def _add_own(self, index: int, owner: int, order: int) -> None:
        """Encode the record's own parts (head and after) from its template."""
        integration = self.integrations[owner]
        local = self.created[index] + integration.tz_offset
        values = (
            self.ids[index],
            integration.id,
            integration.base,
            order,
            minute_prefix(local // 60),
            local % 60,
            integration.suffix,
        )
        template = self._formats[self._template[index]]
        self._records.append(template.head_of(values), template.after_of(values))

    def __len__(self) -> int:
        """Number of live (not deleted) records."""
        return len(self.ids) - len(self.tombstones)

    def integration_index(self, integration_id: int) -> int | None:
        """Position of an integration, or None when it does not exist."""
        return self._by_id.get(integration_id)

    def render(self, index: int) -> bytes:
        """Exact JSON bytes of the record at ``index`` (0 = oldest)."""
        return self._records.render(index, self._tails[self._template[index]])

    def join(self, positions: Iterable[int]) -> bytes:
        """The records at ``positions``, comma-separated (the inside of a JSON array)."""
        tails, template = self._tails, self._template
        return self._records.join(positions, lambda index: tails[template[index]])

    def index_of(self, log_id: int) -> int | None:
        """Position of the record with ``log_id``, or None."""
        index = bisect_left(self.ids, log_id)
        if index < len(self.ids) and self.ids[index] == log_id:
            return None if index in self.tombstones.deleted else index
        return None

    def scope(self, integration: int | None) -> Sequence[int]:
        """Ascending live record positions of one integration, or of all records."""
        if integration is not None:
            return self.scopes[integration]
        live = self.tombstones.live
        return range(len(self.ids)) if live is None else live

    def keyset(self, integration: int | None) -> IdScope:
        """The records of one integration (or all) as a keyset-pagination scope."""
        return IdScope(self.ids, self.scope(integration))

    def delete(self, positions: Iterable[int]) -> None:
        """Delete the records at ``positions`` from every listing (and from :meth:`index_of`)."""
        self.tombstones.delete(positions, len(self.ids), self.scopes)

    def add_logs(
        self, count: int, integration: int | None = None, created: int | None = None
    ) -> list[int]:
        """Append ``count`` newer logs (to one integration, or spread) and return their ids.

        ``created`` (epoch seconds) is their creation time; by default the synthetic clock
        moves on by a few seconds to a minute per log.
        """
        rng = self._growth
        first = len(self.ids)
        for _ in range(count):
            owner = integration
            if owner is None:
                owner = rng.choices(range(len(self.integrations)), self._weights)[0]
            scenario = rng.choices(range(len(data.SCENARIOS)), self._scenario_weights)[0]
            protected = rng.random() < self._protected_ratio
            template = data.template_index(self.integrations[owner].system, scenario, protected)
            index = self._append(owner, template)
            if created is not None:
                self.created[index] = created
            self._add_own(index, owner, rng.randrange(1001, 99_999))
        return list(self.ids[first:])

    def add_given_logs(self, count: int, integration: int | None, spec: LogSpec) -> list[int]:
        """Append ``count`` newer logs with the fields of ``spec`` and return their ids."""
        rng = self._growth
        first = len(self.ids)
        given = None if spec.created_at is None else int(spec.created_at.timestamp())
        for _ in range(count):
            owner = integration
            if owner is None:
                owner = rng.choices(range(len(self.integrations)), self._weights)[0]
            index = self._append(owner, self._posted)
            if given is not None:  # the clock of later synthetic logs never goes back
                self.created[index] = max(self.created[index], given)
            record = self._given_record(index, owner, spec, rng.randrange(1001, 99_999), given)
            self._records.append(msgspec.json.encode(record))
        return list(self.ids[first:])

    def _given_record(
        self, index: int, owner: int, spec: LogSpec, order: int, created: int | None
    ) -> dict[str, Any]:
        """The record of a log added with given fields, in the documented key order."""
        integration = self.integrations[owner]
        system = data.SYSTEMS[integration.system]
        full_url = spec.full_url or integration.base_url + system.order_path.format(order=order)
        code = spec.status_code
        response = None
        if code is not None:
            body = reason(code) if spec.body is None else spec.body
            response = {"headers": {"Content-Type": "text/plain; charset=utf-8"}, "body": body}
        exception_type, exception = spec.exception_type, spec.error
        if spec.failed:
            if code is None:
                default_type, default_error = _CONNECTION_ERROR
            else:
                kind = "Client" if code < 500 else "Server"
                default_type = "requests.exceptions.HTTPError"
                default_error = f"{code} {kind} Error: {reason(code)} for url: {full_url}"
            exception_type = default_type if exception_type is None else exception_type
            exception = default_error if exception is None else exception
        when = self.created[index] if created is None else created
        return {  # the documented key order
            "id": self.ids[index],
            "integration_id": integration.id,
            "user_id": self.user_id,
            "base_url": integration.base_url,
            "full_url": full_url,
            "method": spec.method or "GET",
            "response_code": code,
            "response": response,
            "request": {"headers": dict(system.request_headers), "payload": None},
            "created_at": sendcloud_timestamp(when, integration.tz_offset).decode(),
            "exception_type": exception_type,
            "exception": exception,
            "protected": bool(spec.protected),
        }

    def _append(self, owner: int, template: int) -> int:
        """Reserve the next (newest) position: id, timestamp, template and scope."""
        rng = self._growth
        last_id = self.ids[-1] if self.ids else _ID_BASE
        last_created = self.created[-1] if self.created else self._growth_start
        index = len(self.ids)
        self.ids.append(last_id + rng.choice(_ID_GAPS))
        self.created.append(last_created + rng.randrange(1, 90))
        self._template.append(template)
        self.scopes[owner].append(index)
        self.tombstones.appended(index)
        return index

    def create_log(self, integration: int, fields: dict[str, Any]) -> bytes:
        """Store a log posted through the API (``fields`` already validated)."""
        index = self._append(integration, self._posted)
        owner = self.integrations[integration]
        created = fields.get("created_at") or (
            sendcloud_timestamp(self.created[index], owner.tz_offset).decode()
        )
        record = {  # the documented key order
            "id": self.ids[index],
            "integration_id": owner.id,
            "user_id": self.user_id,
            "base_url": fields["base_url"],
            "full_url": fields.get("full_url"),
            "method": fields.get("method") or "GET",
            "response_code": fields.get("response_code"),
            "response": fields.get("response"),
            "request": fields.get("request"),
            "created_at": created,
            "exception_type": fields.get("exception_type"),
            "exception": fields.get("exception"),
            "protected": False,
        }
        encoded = msgspec.json.encode(record)
        self._records.append(encoded)
        return encoded
