"""``emulate --stores N``: run an :class:`EmulatorFleet` until interrupted.

Every other ``emulate`` option applies to each store (``--seed`` is the first store's
seed, ``--port`` the first store's port unless 0).  Once every store listens it prints
one JSON line (``--json``: ``stores`` with each store's name, base URL, credentials
variables and their fake values, ``env`` with all of them, ``stores_file``, ``pid``) or
``export`` lines; ``--stores-file PATH`` first writes a stores file referring to those
variables (never over an existing file).  SIGTERM or SIGINT stops every store.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import signal
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from ._config import EmulatorConfig
from ._errors import EmulatorBindError
from ._fleet import EmulatorFleet
from ._fleet_toml import RESERVED_KEYS, check_env_prefix, render_stores_toml
from ._heap import settle_heap

__all__ = [
    "add_fleet_arguments",
    "parse_store_key",
    "run_fleet",
    "serve_fleet",
    "wants_fleet",
    "write_new_file",
]


def _store_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"--stores {text}: give a number of stores, 1 or more")
    return count


def parse_store_key(text: str) -> tuple[str, Any]:
    """``--stores-key KEY=VALUE``: a TOML value (``0``, ``true``, ``["a"]``), else a string."""
    key, equals, value = text.partition("=")
    key = key.strip()
    if not equals or not key or key in RESERVED_KEYS:
        raise argparse.ArgumentTypeError(
            f"--stores-key {text}: expected KEY=VALUE with a key other than "
            f"{', '.join(sorted(RESERVED_KEYS))}, e.g. rate_limit=0 or scope=all"
        )
    try:
        return key, tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return key, value


def add_fleet_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``--stores`` options to the ``emulate`` parser."""
    group = parser.add_argument_group(
        "emulated fleet", "run N independent stores (own port, data, credentials, rate limit)"
    )
    group.add_argument(
        "--stores",
        type=_store_count,
        metavar="N",
        help="run N stores, each an emulator with the options above; store i has seed "
        "--seed+i and port --port+i (all free ports with --port 0; default: one emulator)",
    )
    group.add_argument(
        "--stores-file",
        metavar="PATH",
        help="write a stores file (TOML, credentials as $VARIABLE references) for the "
        "fleet commands; refuses to replace an existing file (default: none written)",
    )
    group.add_argument(
        "--stores-provider",
        choices=("sendcloud", "elasticpath"),
        default="sendcloud",
        help="the API the stores file and variables point at (default: %(default)s)",
    )
    group.add_argument(
        "--stores-api-version",
        type=int,
        choices=(2, 3),
        default=2,
        help="Sendcloud API version of the stores (default: %(default)s)",
    )
    group.add_argument(
        "--stores-auth",
        choices=("basic", "oauth2"),
        help="Sendcloud credentials: API keys (the default) or OAuth2 clients (Elastic "
        "Path: always OAuth2)",
    )
    group.add_argument(
        "--stores-env-prefix",
        default="EMU",
        metavar="PREFIX",
        help="prefix of the credentials variables, PREFIX_STORE_000_PK... (default: %(default)s)",
    )
    group.add_argument(
        "--stores-key",
        type=parse_store_key,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra key of every [[store]] table, e.g. rate_limit=0 or scope=all",
    )


def write_new_file(path: Path, text: str) -> None:
    """Write ``text`` to a file that must not exist yet: all of it or nothing
    (FileExistsError if ``path`` exists, even if it appeared meanwhile)."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.link(temp, path)  # atomic, and never replaces an existing file
    finally:
        os.unlink(temp)


def _announce(fleet: EmulatorFleet, prefix: str, stores_file: Path | None, as_json: bool) -> None:
    stores = fleet.stores(prefix)
    env = fleet.env(prefix)
    if as_json:
        line = {
            "stores": [store.to_json() for store in stores],
            "env": env,
            "stores_file": str(stores_file) if stores_file else None,
            "pid": os.getpid(),
        }
        print(json.dumps(line), flush=True)
        return
    width = max(len(store.name) for store in stores)
    lines = [
        f"Emulator fleet of {len(stores)} {fleet.provider} stores listening",
        *(f"  {store.name:<{width}}  {store.base_url}" for store in stores),
        *([f"  Stores file: {stores_file}"] if stores_file else []),
        "",
        *(f"export {name}={shlex.quote(value)}" for name, value in env.items()),
        "",
        "Press Ctrl+C to stop.",
    ]
    print("\n".join(lines), flush=True)


async def serve_fleet(
    fleet: EmulatorFleet,
    *,
    prefix: str = "EMU",
    stores_file: Path | None = None,
    extra: dict[str, Any] | None = None,
    as_json: bool = False,
) -> None:
    """Run ``fleet`` until SIGTERM or SIGINT; once all stores listen, write ``stores_file``
    (if given) and print where to connect."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with fleet:
            settle_heap()
            if stores_file is not None:
                write_new_file(stores_file, fleet.stores_toml(prefix, **(extra or {})))
            _announce(fleet, prefix, stores_file, as_json)
            await stop.wait()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def _fail(message: str) -> int:
    print(f"emulate: {message}", file=sys.stderr)
    return 2


def wants_fleet(args: argparse.Namespace) -> bool:
    """Whether the parsed ``emulate`` options ask for a fleet (``--stores`` and its options)."""
    return any(getattr(args, name, None) for name in ("stores", "stores_file", "stores_key"))


def run_fleet(args: argparse.Namespace, config: EmulatorConfig) -> int:
    """Run ``emulate --stores N`` from parsed arguments and the per-store ``config``;
    returns the exit status (2 with one line on stderr when it cannot run)."""
    if args.stores is None:
        return _fail("--stores-file and --stores-key need --stores N (the number of stores)")
    stores_file = Path(args.stores_file).absolute() if args.stores_file else None
    if stores_file is not None:
        if stores_file.exists():
            return _fail(
                f"--stores-file {stores_file} exists already; remove it or choose another path"
            )
        if not stores_file.parent.is_dir():
            return _fail(f"--stores-file {stores_file}: directory {stores_file.parent} not found")
    try:
        fleet = EmulatorFleet(
            args.stores,
            provider=args.stores_provider,
            api_version=args.stores_api_version,
            auth=args.stores_auth,
            config=config,
        )
        extra = dict(args.stores_key)
        check_env_prefix(args.stores_env_prefix)  # both checked before anything listens
        render_stores_toml([], extra)
    except ValueError as exc:
        return _fail(str(exc))
    try:
        asyncio.run(
            serve_fleet(
                fleet,
                prefix=args.stores_env_prefix,
                stores_file=stores_file,
                extra=extra,
                as_json=args.json,
            )
        )
    except EmulatorBindError as exc:
        advice = "check --host"
        if exc.port_problem:
            advice = "pick another --port (store i listens on --port + i), or --port 0"
        return _fail(f"cannot listen on {exc.host}:{exc.port}: {exc.reason}; {advice}")
    except FileExistsError:
        return _fail(f"--stores-file {stores_file} appeared meanwhile; nothing was replaced")
    except (OSError, ValueError) as exc:
        return _fail(f"cannot run the fleet: {exc}")
    return 0
