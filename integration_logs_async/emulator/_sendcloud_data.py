"""Sendcloud synthetic data: shop systems, failure scenarios and record templates.

A record template is fixed by (shop system, scenario, protected); the per-record
values (id, integration, shop URL, order number, timestamp) fill its slots.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import _bodies as bodies
from ._template import Slot, Template, compile_template, sentinel

SLOTS: Mapping[str, Slot] = {  # value layout for Template.render
    "id": Slot(b"%d", number=True),
    "integration": Slot(b"%d", number=True),
    "base": Slot(b"%s"),
    "order": Slot(b"%d"),
    "created": Slot(b"%s%02d%s", arity=3),  # minute prefix, seconds, UTC offset
}
OBFUSCATED = "***"
_MISSING: Any = object()

_HTML_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-cache, no-store",
    "Connection": "keep-alive",
    "Server": "nginx",
}
_JSON_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": "max-age=0, private, must-revalidate",
    "Connection": "keep-alive",
}


@dataclass(frozen=True)
class ShopSystem:
    """A shop platform: its Sendcloud ``system`` name, order path and request headers."""

    name: str
    url_pattern: str
    order_path: str
    request_headers: Mapping[str, str]


SYSTEMS: tuple[ShopSystem, ...] = (
    ShopSystem(
        "shopify",
        "https://{slug}.myshopify.com",
        "/admin/api/2023-01/orders/{order}/fulfillments.json",
        {
            "Content-Type": "application/json",
            "X-Shopify-Access-Token": "shpat_****************************1a2b",
            "User-Agent": "Sendcloud/2.0 (+https://www.sendcloud.com)",
        },
    ),
    ShopSystem(
        "woocommerce",
        "https://www.{slug}.example",
        "/wp-json/wc/v3/orders/{order}",
        {
            "Authorization": "Basic Y2tfKioqKioqKio6Y3NfKioqKioqKio=",
            "Content-Type": "application/json",
            "User-Agent": "Sendcloud/2.0 (+https://www.sendcloud.com)",
        },
    ),
    ShopSystem(
        "magento_2",
        "https://shop.{slug}.example",
        "/rest/V1/order/{order}/ship",
        {"Authorization": "Bearer ****************", "Accept": "application/json"},
    ),
    ShopSystem(
        "prestashop",
        "https://{slug}.example",
        "/api/orders/{order}?output_format=JSON",
        {"Authorization": "Basic KioqKioqKio6", "Io-Format": "JSON"},
    ),
    ShopSystem(
        "lightspeed",
        "https://{slug}.webshopapp.example",
        "/nl/orders/{order}.json",
        {"Authorization": "Basic ****************", "Content-Type": "application/json"},
    ),
    ShopSystem(
        "api",
        "https://api.{slug}.example",
        "/webhooks/sendcloud/orders/{order}",
        {"Content-Type": "application/json", "X-Api-Key": "****************"},
    ),
)


@dataclass(frozen=True)
class Scenario:
    """One way a call from Sendcloud to a shop goes wrong.

    ``{url}`` in ``exception`` is replaced by the record's ``full_url``.  ``request``
    is ``"headers"`` for the shop's header object, ``"header_string"`` for headers
    logged as one string, or None for no request at all.
    """

    name: str
    weight: int
    method: str
    response_code: int | None
    response: Any
    payload: Any
    exception_type: Any
    exception: str | None
    request: str | None = "headers"
    has_url: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict)


def _http_error(code: int, reason: str) -> str:
    kind = "Client" if code < 500 else "Server"
    return f"{code} {kind} Error: {reason} for url: {{url}}"


_FULFILLMENT = {"fulfillment": {"tracking_number": "3SYZXG123456789", "notify_customer": True}}
_NOTE = {"order_note": {"note": "Success"}}
_HTTP_ERROR = "requests.exceptions.HTTPError"

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "not_found_html",
        18,
        "GET",
        404,
        {"headers": _HTML_HEADERS, "body": bodies.NOT_FOUND_HTML},
        None,
        _HTTP_ERROR,
        _http_error(404, "Not Found"),
    ),
    Scenario(
        "not_found_empty",
        8,
        "POST",
        404,
        {},
        {},
        _MISSING,
        "PageNotFound",
    ),
    Scenario(
        "unauthorized",
        12,
        "GET",
        401,
        {"headers": _JSON_HEADERS, "body": bodies.SHOPIFY_UNAUTHORIZED},
        None,
        _HTTP_ERROR,
        _http_error(401, "Unauthorized"),
    ),
    Scenario(
        "forbidden_html",
        6,
        "GET",
        403,
        {"headers": _HTML_HEADERS, "body": bodies.FORBIDDEN_HTML},
        None,
        _HTTP_ERROR,
        _http_error(403, "Forbidden"),
    ),
    Scenario(
        "forbidden_json",
        3,
        "GET",
        403,
        {"headers": _JSON_HEADERS, "body": bodies.WOO_FORBIDDEN},
        None,
        _HTTP_ERROR,
        _http_error(403, "Forbidden"),
    ),
    Scenario(
        "throttled",
        8,
        "POST",
        429,
        {"headers": {**_JSON_HEADERS, "Retry-After": "2.0"}, "body": bodies.SHOPIFY_THROTTLED},
        _FULFILLMENT,
        _HTTP_ERROR,
        _http_error(429, "Too Many Requests"),
    ),
    Scenario(
        "ssl_error",
        5,
        "POST",
        495,
        {"headers": _HTML_HEADERS, "body": bodies.SSL_ERROR_HTML},
        _NOTE,
        "requests.exceptions.SSLError",
        "An SSL error occurred",
    ),
    Scenario(
        "unprocessable",
        5,
        "POST",
        422,
        {"headers": _JSON_HEADERS, "body": bodies.UNPROCESSABLE},
        '{"fulfillment": {"line_items": [{"id": 466157049, "quantity": 1}]}}',
        _HTTP_ERROR,
        _http_error(422, "Unprocessable Entity"),
    ),
    Scenario(
        "server_error_html",
        10,
        "PUT",
        500,
        {"headers": _HTML_HEADERS, "body": bodies.SERVER_ERROR_HTML},
        _FULFILLMENT,
        _HTTP_ERROR,
        _http_error(500, "Internal Server Error"),
    ),
    Scenario(
        "bad_gateway_html",
        8,
        "GET",
        502,
        {"headers": _HTML_HEADERS, "body": bodies.BAD_GATEWAY_HTML},
        None,
        _HTTP_ERROR,
        _http_error(502, "Bad Gateway"),
    ),
    Scenario(
        "maintenance_html",
        6,
        "GET",
        503,
        {"headers": {**_HTML_HEADERS, "Retry-After": "600"}, "body": bodies.MAINTENANCE_HTML},
        None,
        _HTTP_ERROR,
        _http_error(503, "Service Unavailable"),
    ),
    Scenario(
        "gateway_timeout_html",
        3,
        "GET",
        504,
        {"headers": _HTML_HEADERS, "body": bodies.GATEWAY_TIMEOUT_HTML},
        None,
        _HTTP_ERROR,
        _http_error(504, "Gateway Time-out"),
    ),
    Scenario(
        "empty_body",
        3,
        "GET",
        500,
        {"headers": _JSON_HEADERS, "body": None},
        None,
        _HTTP_ERROR,
        _http_error(500, "Internal Server Error"),
    ),
    Scenario(
        "connection_error",
        6,
        "POST",
        None,
        None,
        _NOTE,
        "requests.exceptions.ConnectionError",
        "('Connection aborted.', RemoteDisconnected('Remote end closed connection without "
        "response'))",
        request="header_string",
    ),
    Scenario(
        "read_timeout",
        5,
        "GET",
        None,
        None,
        None,
        "requests.exceptions.ReadTimeout",
        "Read timed out. (read timeout=30)",
    ),
    Scenario(
        "invalid_url",
        2,
        "GET",
        None,
        None,
        None,
        "requests.exceptions.InvalidURL",
        "Invalid URL: No host supplied",
        request=None,
        has_url=False,
    ),
)


def _request(system: ShopSystem, scenario: Scenario, protected: bool) -> Any:
    if scenario.request is None:
        return None
    payload = scenario.payload
    if protected and payload is not None:
        payload = OBFUSCATED
    if scenario.request == "header_string":
        headers: Any = "\r\n".join(f"{k}: {v}" for k, v in system.request_headers.items())
    else:
        headers = dict(system.request_headers)
    return {"headers": headers, "payload": payload}


def _response(scenario: Scenario, protected: bool) -> Any:
    response = scenario.response
    if protected and isinstance(response, dict) and response.get("body") is not None:
        return {**response, "body": OBFUSCATED}
    return response


def build_template(
    system: ShopSystem, scenario: Scenario, protected: bool, user_id: int
) -> Template:
    """Compile the record template for one (system, scenario, protected) combination."""
    base = sentinel("base")
    order_path = system.order_path.format(order=sentinel("order"))
    full_url = base + order_path if scenario.has_url else None
    # The documented key order (spec and examples). ``response`` and ``request``, the big
    # static part, are shared by every record of the template (see _template).
    record: dict[str, Any] = {
        "id": sentinel("id"),
        "integration_id": sentinel("integration"),
        "user_id": user_id,
        "base_url": base,
        "full_url": full_url,
        "method": scenario.method,
        "response_code": scenario.response_code,
        "response": _response(scenario, protected),
        "request": _request(system, scenario, protected),
        "created_at": sentinel("created"),
        "exception_type": scenario.exception_type,
        "exception": (scenario.exception or "").replace("{url}", full_url or "") or None,
        "protected": protected,
    }
    if scenario.exception_type is _MISSING:
        del record["exception_type"]
    return compile_template(record, SLOTS, shared_from="response")


def build_templates(user_id: int) -> list[Template]:
    """All templates, indexed by :func:`template_index`."""
    return [
        build_template(system, scenario, protected, user_id)
        for system in SYSTEMS
        for scenario in SCENARIOS
        for protected in (False, True)
    ]


def template_index(system: int, scenario: int, protected: bool) -> int:
    """Position of a combination in :func:`build_templates`."""
    return (system * len(SCENARIOS) + scenario) * 2 + int(protected)


SHOP_WORDS = (
    "green-leaf",
    "dutch-bikes",
    "noord-tea",
    "bolt-audio",
    "linnen-huis",
    "pixel-prints",
    "kaas-kamer",
    "urban-socks",
    "zee-zout",
    "tulip-tools",
    "sterk-koffie",
    "vinyl-vault",
)
CARRIERS = ("postnl", "dhl", "dpd", "ups", "bpost", "colissimo", "gls", "budbee")
