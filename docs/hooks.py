"""Build-time generators of the documentation site (an mkdocs hook, ``hooks:`` in mkdocs.yml).

A page asks for generated text with a marker on a line of its own::

    <!-- generated: cli -->            every command's --help, from the CLI's own parser
    <!-- generated: settings -->       the ClientConfig table, defaults read from the class
    <!-- generated: providers -->      each provider's base URL, rate limit and page sizes
    <!-- generated: top-level -->      the top-level names and the page documenting each
    <!-- include: CHANGELOG.md -->     a file of the repository, as it is (less its title)

The defaults, the help texts and the provider figures therefore have one source, the
code; a setting added to ``ClientConfig`` without a line here fails the build.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["on_page_markdown"]

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^<!-- (generated|include): (?P<what>[\w./-]+) -->$", re.MULTILINE)
HELP_COLUMNS = "100"
"""Width of the generated ``--help`` texts (argparse reads ``COLUMNS``)."""

SETTINGS: dict[str, tuple[str, str]] = {
    # field: (unit of a number, what it means). Defaults come from ClientConfig itself.
    "rate_limit": (
        "",
        "Requests per second for the whole client (Sendcloud documents 1000 GET/min, an "
        "Elastic Path development store 25/s; the 10% headroom keeps a server's sliding "
        "window from seeing one request too many). `0` disables pacing.",
    ),
    "rate_limit_burst": ("", "Requests allowed back to back."),
    "max_attempts": ("", "Attempts per request, the first included (GET and token requests)."),
    "backoff_initial": ("s", "First backoff between attempts (exponential, full jitter)."),
    "backoff_max": ("s", "Longest backoff between attempts."),
    "retry_after_cap": (
        "s",
        "Longest `Retry-After` honoured; above it `RateLimitError` is raised at once.",
    ),
    "default_429_pause": ("s", "Client-wide pause after a 429 without `Retry-After`."),
    "retryable_statuses": (
        "",
        "Statuses retried, besides connection errors and timeouts. Any set, list or tuple of "
        "codes (stored as a frozenset).",
    ),
    "retry_decode_errors": ("", "Retry a 2xx whose body fails to decode (e.g. truncated)."),
    "connect_timeout": (
        "s",
        "Opening a connection (TCP + TLS), not the wait for a free pooled one.",
    ),
    "read_timeout": (
        "s",
        "Silence from the server: from the moment the request has its connection until the "
        "headers, then between chunks of the body.",
    ),
    "request_deadline": ("s", "One logical request, all retries and waits included."),
    "max_connections": ("", "Connection pool size."),
    "max_response_bytes": ("bytes", "Larger bodies are refused, not read."),
    "prefetch_pages": ("", "Elastic Path pages fetched ahead when the listing's total is known."),
    "token_refresh_margin": (
        "s",
        "Refresh a token this long before it expires (at most 10% of its lifetime).",
    ),
    "allow_insecure_http": ("", "Send credentials over plain http to a non-loopback host."),
    "verify_ssl": ("", "Verify TLS certificates."),
    "user_agent": (
        "",
        "Sent by sessions the client creates (a session you pass keeps its own headers).",
    ),
    "on_event": (
        "",
        "Callback receiving a `TransportEvent` per request, retry, 429 and token request.",
    ),
}

API_PAGES: dict[str, str] = {
    # public module: the API page that renders it (top-level names link to their module)
    "integration_logs_async.sendcloud": "reference/api/clients.md",
    "integration_logs_async.elasticpath": "reference/api/clients.md",
    "integration_logs_async.providers.sendcloud.v3": "reference/api/clients.md",
    "integration_logs_async.auth": "reference/api/config.md",
    "integration_logs_async.config": "reference/api/config.md",
    "integration_logs_async.events": "reference/api/config.md",
    "integration_logs_async.errors": "reference/api/errors.md",
    "integration_logs_async.records": "reference/api/records.md",
    "integration_logs_async.models": "reference/api/records.md",
    "integration_logs_async.stream": "reference/api/streams.md",
    "integration_logs_async.fanout": "reference/api/streams.md",
    "integration_logs_async.tail": "reference/api/streams.md",
}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace every marker of a page by its generated text."""

    def replace(match: re.Match[str]) -> str:
        what = match["what"]
        if match[1] == "include":
            return _include(what)
        generator = GENERATORS.get(what)
        if generator is None:
            raise ValueError(f"{page.file.src_path}: unknown generated block {what!r}")
        return generator()

    return MARKER.sub(replace, markdown)


# -- the command line --------------------------------------------------------------------


def _subcommands(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for name, child in _subcommands(parser):
        yield from _commands(child, (*path, name))


def cli_reference() -> str:
    """Every command's and subcommand's ``--help``, as the installed command prints it."""
    from integration_logs_async.cli._main import build_parser

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_COLUMNS
    try:
        parser = build_parser()
        sections = []
        for path, command in _commands(parser, ("integration-logs",)):
            level = "#" * min(len(path) + 1, 4)
            title = " ".join(path)
            sections.append(
                f"{level} `{title}`\n\n```text\n{command.format_help().rstrip()}\n```\n"
            )
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    return "\n".join(sections)


# -- ClientConfig ------------------------------------------------------------------------


def _number(value: float) -> str:
    return f"{value:g}"


def _default(field: dataclasses.Field[Any], unit: str) -> str:
    from integration_logs_async import providers

    if field.name == "rate_limit":
        from integration_logs_async import _constants

        headroom = _constants.RATE_LIMIT_HEADROOM
        limits = ", ".join(
            f"{spec.title} {_number(round(spec.documented_rate_limit * headroom, 2))}/s"
            for spec in providers.specs()
        )
        return f"`None`: {headroom:.0%} of the provider's documented limit ({limits})"
    value = field.default
    if isinstance(value, frozenset):
        return ", ".join(str(code) for code in sorted(value))
    if isinstance(value, bool) or value is None:
        return f"`{value}`"
    if unit == "bytes" and isinstance(value, int):
        return f"{value // (1024 * 1024)} MiB" if value % (1024 * 1024) == 0 else f"{value:,} bytes"
    if unit == "s" and isinstance(value, int | float):
        return f"{_number(value)} s"
    if isinstance(value, int | float):
        return _number(value)
    return f"`{value}`"


def settings_table() -> str:
    """The ``ClientConfig`` fields: name, default (read from the class), meaning."""
    from integration_logs_async.config import ClientConfig

    fields = dataclasses.fields(ClientConfig)
    names = {field.name for field in fields}
    missing = sorted(names - set(SETTINGS))
    extra = sorted(set(SETTINGS) - names)
    if missing or extra:
        raise ValueError(
            f"docs/hooks.py SETTINGS out of step with ClientConfig: describe {missing}, "
            f"remove {extra}"
        )
    rows = ["| setting | default | meaning |", "| --- | --- | --- |"]
    for field in fields:
        unit, meaning = SETTINGS[field.name]
        rows.append(f"| `{field.name}` | {_default(field, unit)} | {meaning} |")
    return "\n".join(rows) + "\n"


# -- providers ---------------------------------------------------------------------------


def providers_table() -> str:
    """Each provider and API version: base URL, rate limits and page sizes, from its spec."""
    from integration_logs_async import _constants, providers

    rows = [
        "| provider | API | default base URL | documented rate limit | client's default pacing "
        "| `page_size` | page size sent when you give none | harvest scopes (default first) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    every_version = [
        providers.client_class(name, version).spec
        for name in providers.names()
        for version in providers.versions(name)
    ]
    for spec in every_version:
        rate = spec.documented_rate_limit
        sent = (
            f"{spec.default_page_size}"
            if spec.default_page_size is not None
            else "none: the server chooses"
        )
        scopes = ", ".join(f"`{scope}`" for scope in spec.harvest_scopes)
        rows.append(
            f"| {spec.title} | {spec.api_version} | `{spec.base_url}` | "
            f"{_number(round(rate, 2))}/s | "
            f"{_number(round(rate * _constants.RATE_LIMIT_HEADROOM, 2))}/s | "
            f"1–{spec.max_page_size} | {sent} | {scopes} |"
        )
    return "\n".join(rows) + "\n"


# -- the top-level names -----------------------------------------------------------------


def top_level_table() -> str:
    """Each name of ``integration_logs_async.__all__`` and the module page documenting it."""
    import integration_logs_async

    rows = ["| name | documented in |", "| --- | --- |"]
    for name in integration_logs_async.__all__:
        if name == "__version__":
            continue
        home = next(
            (
                module
                for module in API_PAGES
                if name in getattr(importlib.import_module(module), "__all__", ())
            ),
            None,
        )
        if home is None:
            raise ValueError(f"docs/hooks.py: no API page documents integration_logs_async.{name}")
        rows.append(f"| [`{name}`][{home}.{name}] | `{home}` |")
    return "\n".join(rows) + "\n"


# -- included files ----------------------------------------------------------------------


def _include(relative: str) -> str:
    """A repository file as it is, less its own ``# title`` (the page has its own)."""
    text = (ROOT / relative).read_text(encoding="utf-8")
    lines = text.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    return "\n".join(lines) + "\n"


GENERATORS = {
    "cli": cli_reference,
    "settings": settings_table,
    "providers": providers_table,
    "top-level": top_level_table,
}
