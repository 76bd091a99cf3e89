"""Sendcloud API v3 bodies: logs and integrations seen through v3 names, JSON:API errors.

v3 serves the very records of the v2 store, reshaped on the way out:

- a log loses ``user_id`` and gains ``additional_data`` (default ``""``); it keeps
  ``integration_id``.  The docs contradict each other on that one: the list examples
  of ``GET /integrations/logs`` leave it out, while the ``integration-log`` schema
  defines it (integer or null) and the ``POST`` 201 example shows it.  We follow the
  schema: a client walking the account-wide listing needs it.
- an integration renames ``system`` -> ``type``, ``failing_since`` ->
  ``started_failing_at``, ``last_fetch`` -> ``last_fetched_at``, ``last_updated_at``
  -> ``updated_at`` and gains ``created_at`` and ``feedback_type``, in the key order
  of the documented example.
- ``GET /integrations`` takes ``sort`` with the documented (v2-era) keys, and by
  default orders by ``last_fetch`` then ``created_at``, as documented.
- errors are JSON:API, ``{"errors": [{"status", "code", "title", "detail"}]}``.
  ``status`` is a string as the ``ErrorObject`` schema (and JSON:API) says, and as
  in the spec's 401 examples, except in the 404 bodies, which copy the spec's
  documented example verbatim (an integer).  Clients must accept both.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any

import msgspec

__all__ = [
    "FEEDBACK_TYPES",
    "INTEGRATION_NOT_FOUND",
    "SORT_KEYS",
    "InvalidSort",
    "error_body",
    "integration_v3",
    "invalid_sort_body",
    "logs_v3",
    "not_found_body",
    "sort_integrations",
    "unauthorized_body",
]

FEEDBACK_TYPES = ("eager", "delayed", "none")
"""The values of the v3 integration's ``feedback_type`` enum."""

INTEGRATION_NOT_FOUND = "The Integration could not be found with the search criteria given"
"""``detail`` of the documented 404 of ``/integrations/{id}`` and ``/integrations/{id}/logs``."""

_RENAMED = {
    "system": "type",
    "failing_since": "started_failing_at",
    "last_fetch": "last_fetched_at",
    "last_updated_at": "updated_at",
}
_INTEGRATION_ORDER = (
    "id",
    "shop_name",
    "shop_url",
    "type",
    "started_failing_at",
    "last_fetched_at",
    "created_at",
    "updated_at",
    "service_point_enabled",
    "service_point_carriers",
    "webhook_active",
    "webhook_url",
    "feedback_type",
)
SORT_KEYS = {
    "integration_type": "type",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "last_fetch": "last_fetched_at",
    "failing_since": "started_failing_at",
}
"""``sort`` keys of ``GET /integrations`` (v2-era names, as documented) -> v3 fields."""
_DEFAULT_SORT = "last_fetch,created_at"
"""Documented default: "ordered by ``last_fetch`` and then ``created_at``"."""

_CODES = {  # codes outside the spec's (non-exhaustive) enum follow Django REST framework
    401: "authentication_failed",
    404: "not_found",
    405: "method_not_allowed",
    429: "throttled",
}
_DETAILS = {
    404: "Not found.",
    429: "Request was throttled. Expected available in 1 second.",
}


def logs_v3(records: bytes) -> bytes:
    """The v3 form of comma-separated v2 log records: a JSON array."""
    logs = msgspec.json.decode(b"[" + records + b"]")
    for log in logs:
        log.pop("user_id", None)
        log.setdefault("additional_data", "")
    return msgspec.json.encode(logs)


def integration_v3(v2_json: bytes) -> dict[str, Any]:
    """The v3 object of an integration, from its encoded v2 object.

    ``created_at`` (absent in v2) is a deterministic time before ``updated_at``, and
    ``feedback_type`` a deterministic pick of the enum: both follow from the id.
    """
    v2: dict[str, Any] = msgspec.json.decode(v2_json)
    fields = {_RENAMED.get(key, key): value for key, value in v2.items()}
    integration_id = int(fields["id"])
    updated = datetime.fromisoformat(fields["updated_at"])
    created = updated - timedelta(days=30 + integration_id % 300, seconds=integration_id % 86400)
    fields["created_at"] = created.isoformat()
    fields["feedback_type"] = FEEDBACK_TYPES[integration_id % len(FEEDBACK_TYPES)]
    ordered = {key: fields[key] for key in _INTEGRATION_ORDER if key in fields}
    ordered.update((key, value) for key, value in fields.items() if key not in ordered)
    return ordered


class InvalidSort(ValueError):
    """A ``sort`` key outside :data:`SORT_KEYS`."""


def _sort_value(value: Any) -> tuple[int, Any]:
    """Timestamps compare as instants (offsets differ), nulls last, strings as is."""
    if value is None:
        return (1, "")
    try:
        return (0, datetime.fromisoformat(value).timestamp())
    except (TypeError, ValueError):
        return (0, str(value))


def sort_integrations(items: list[dict[str, Any]], sort: str | None) -> list[dict[str, Any]]:
    """``items`` in ``sort`` order: comma-separated keys, ``-`` for descending, ties by id.

    Raises :class:`InvalidSort` naming an unknown key.
    """
    result = sorted(items, key=lambda item: int(item["id"]))
    keys = [key.strip() for key in (sort or _DEFAULT_SORT).split(",") if key.strip()]
    for key in reversed(keys):  # stable sorts: the first key decides last
        name = key.removeprefix("-")
        if name not in SORT_KEYS:
            raise InvalidSort(key)
        field = SORT_KEYS[name]
        result.sort(key=lambda item: _sort_value(item.get(field)), reverse=key.startswith("-"))
    return result


def invalid_sort_body(key: str) -> bytes:
    """400 for an unknown ``sort`` key (undocumented; in the spec's error format)."""
    item = {
        "status": "400",
        "code": "invalid_choice",
        "title": "Invalid Choice",
        "detail": f"{key!r} is not a valid sort key; use one of {', '.join(SORT_KEYS)}",
        "source": {"parameter": "sort"},
    }
    return msgspec.json.encode({"errors": [item]})


def _error(status: int | str, code: str, title: str, detail: str) -> bytes:
    item = {"status": status, "code": code, "title": title, "detail": detail}
    return msgspec.json.encode({"errors": [item]})


def not_found_body(detail: str = INTEGRATION_NOT_FOUND) -> bytes:
    """The documented 404 (integer ``status``, as in the spec's example)."""
    return _error(404, "not_found", "Not Found", detail)


def unauthorized_body(credentials_given: bool) -> bytes:
    """The spec's two 401 examples: wrong credentials, or none at all."""
    if credentials_given:
        title = "Invalid username/password."
        detail = (
            "The username or password provided is incorrect. "
            "Please make a request with the valid credentials."
        )
    else:
        title, detail = "No credentials", "Authentication credentials were not provided."
    return _error("401", "authentication_failed", title, detail)


def error_body(status: int) -> bytes:
    """A JSON:API error for any other status (429, 5xx, unknown route or method)."""
    if status == 404:
        return not_found_body(_DETAILS[404])
    phrase = HTTPStatus(status).phrase
    code = _CODES.get(status) or phrase.lower().replace(" ", "_").replace("-", "_")
    return _error(str(status), code, phrase, _DETAILS.get(status, phrase + "."))
