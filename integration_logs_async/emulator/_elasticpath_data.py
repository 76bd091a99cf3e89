"""Elastic Path synthetic data: delivery outcomes, integration shapes and log templates."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import _bodies as bodies
from ._template import Slot, Template, compile_template, sentinel

SLOTS: Mapping[str, Slot] = {  # value layout for Template.render
    "id": Slot(b"%s"),
    "attempt": Slot(b"%d", number=True),
    "ptime": Slot(b"%d.%04d", arity=2, number=True),  # seconds, 0.1 ms
    "integration": Slot(b"%s"),
    "job": Slot(b"%s"),
    "created": Slot(b"%s%02d.%09dZ", arity=3),  # minute prefix, seconds, nanoseconds
}
OUTSIDE_2XX = "Received a status code outside of 2xx range - treating webhook as a fail"


@dataclass(frozen=True)
class Outcome:
    """How one delivery attempt of an integration job ended."""

    name: str
    weight: int
    succeeded: bool
    status_code: int
    body: str
    error_detail: str
    slow: bool = False


OUTCOMES: tuple[Outcome, ...] = (
    Outcome("delivered", 30, True, 200, "OK", ""),
    Outcome("accepted", 8, True, 202, '{"received":true}', ""),
    Outcome("not_found", 15, False, 404, "Not found", OUTSIDE_2XX),
    Outcome("unauthorized", 8, False, 401, '{"message":"Unauthorized"}', OUTSIDE_2XX),
    Outcome("throttled", 5, False, 429, "Too Many Requests", OUTSIDE_2XX),
    Outcome("server_error", 10, False, 500, bodies.SERVER_ERROR_HTML, OUTSIDE_2XX),
    Outcome("bad_gateway", 8, False, 502, bodies.BAD_GATEWAY_HTML, OUTSIDE_2XX),
    Outcome("unavailable", 5, False, 503, bodies.MAINTENANCE_HTML, OUTSIDE_2XX),
    Outcome(
        "timeout",
        6,
        False,
        0,
        "",
        "context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
        slow=True,
    ),
    Outcome("dns", 3, False, 0, "", "dial tcp: lookup hooks.example.com: no such host"),
    Outcome("refused", 2, False, 0, "", "dial tcp 203.0.113.10:443: connect: connection refused"),
)


def build_template(outcome: Outcome) -> Template:
    """Compile the log template of one outcome, in the documented key order (the docs'
    example responses); ``body``, ``status_code`` and ``error_detail``, the big static part,
    are shared by every log of the outcome (see :mod:`._template`)."""
    record = {
        "id": sentinel("id"),
        "type": "integration-log",
        "succeeded": outcome.succeeded,
        "attempt": sentinel("attempt"),
        "processing_time": sentinel("ptime"),
        "body": outcome.body,
        "status_code": outcome.status_code,
        "error_detail": outcome.error_detail,
        "relationships": {
            "integration": {"data": {"type": "integration", "id": sentinel("integration")}},
            "job": {"data": {"type": "integration-job", "id": sentinel("job")}},
        },
        "meta": {"timestamps": {"created_at": sentinel("created")}},
    }
    return compile_template(record, SLOTS, shared_from="body")


def make_uuid(rng: random.Random) -> str:
    """A version 4 UUID string drawn from ``rng`` (deterministic, unlike :func:`uuid.uuid4`)."""
    value = rng.getrandbits(128)
    value = (value & ~(0xF000 << 64)) | (0x4000 << 64)
    value = (value & ~(0xC000 << 48)) | (0x8000 << 48)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_NAMES = (
    ("Order shipping notification", "Send a shipping notification via email with discount code"),
    ("ERP order sync", "Push paid orders to the ERP"),
    ("Stock level feed", "Forward stock transactions to the warehouse"),
    ("Customer CRM sync", "Create CRM contacts for new customers"),
    ("Cart abandonment", "Queue updated carts for abandonment emails"),
    ("Search index updates", "Reindex products when they change"),
)
_EVENTS = (
    "order.created",
    "order.paid",
    "order.fulfilled",
    "order.updated",
    "cart.updated",
    "customer.created",
    "product.updated",
    "stock-transaction.created",
)
_KINDS = ("webhook", "webhook", "aws_sqs", "stomp")


def _configuration(kind: str, slug: str, rng: random.Random) -> dict[str, Any]:
    tail = "".join(
        rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789") for _ in range(4)
    )
    if kind == "aws_sqs":
        return {
            "url": f"https://sqs.eu-west-1.amazonaws.com/123456789012/epcc-{slug}",
            "aws_access_key_id": "****************" + tail.upper(),
            "aws_secret_access_key": "************************************" + tail,
            "region": "eu-west-1",
        }
    if kind == "stomp":
        address = f"stomp+ssl://b-{slug}-1.mq.eu-west-1.amazonaws.example:61614"
        return {
            "url": address,
            "username": f"epcc-{slug}",
            "password": "****************************" + tail,
            "destination": f"/queue/epcc-integrations.{slug}",
            "addresses": [address],
        }
    return {"url": f"https://hooks.{slug}.example/epcc", "secret_key": "****************" + tail}


def integration_object(k: int, rng: random.Random, created: str, updated: str) -> dict[str, Any]:
    """The JSON object of integration number ``k`` (without ``links``, added per request)."""
    name, description = _NAMES[k % len(_NAMES)]
    if k >= len(_NAMES):
        name = f"{name} #{k // len(_NAMES) + 1}"
    kind = _KINDS[k % len(_KINDS)]
    slug = name.lower().replace(" ", "-").replace("#", "")
    return {
        "id": make_uuid(rng),
        "type": "integration",
        "name": name,
        "description": description,
        "enabled": rng.random() < 0.85,
        "integration_type": kind,
        "observes": sorted(rng.sample(_EVENTS, rng.randrange(1, 4))),
        "configuration": _configuration(kind, slug, rng),
        "meta": {"timestamps": {"created_at": created, "updated_at": updated}},
    }
