"""``integration-logs demo`` from Python: a real harvest against the built-in emulator.

Starts the emulator on 127.0.0.1 with a realistic store, harvests it with fan-out into a
JSON Lines file and checks the file against the store: every record exactly once. The command
itself lives in :mod:`integration_logs_async.cli._demo`; this module is its public entry point::

    import argparse
    from integration_logs_async.demo import add_demo_arguments, run_demo

    parser = argparse.ArgumentParser()
    add_demo_arguments(parser)
    exit_code = run_demo(parser.parse_args(["--logs", "2000", "--out", "demo.jsonl"]))
"""

from __future__ import annotations

from .cli._demo import add_demo_arguments, demo, lossless_body, run_demo

__all__ = ["add_demo_arguments", "demo", "lossless_body", "run_demo"]
