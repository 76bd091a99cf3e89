"""``python -m benchmarks [--quick] [--out PATH] [--only NAME,...] [--profile TOOL]``.

Runs the benchmarks, prints one table per benchmark and a table of targets (PASS/MISS), and
writes every raw figure to a JSON file (default ``benchmarks/results/latest.json``).

Exit status: 0 when every benchmark ran, whatever the figures (a missed target is reported,
never fatal); 1 when a benchmark is broken (a worker failed, a harvest lost or duplicated
records, decoders disagreed); 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from . import decode, e2e, fleet, memory, ratelimit, scaling, sinks, tail
from ._common import ROOT, Section, Target, fmt, machine_info, missing_baselines
from ._context import Context

BENCHMARKS: dict[str, ModuleType] = {
    m.NAME: m for m in (decode, e2e, ratelimit, memory, scaling, tail, sinks, fleet)
}
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "latest.json"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 or i == len(cells) - 1 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def render_section(section: Section) -> str:
    lines = [f"== {section.name}: {section.title}  ({section.seconds:.1f} s)"]
    if section.error:
        lines.append(f"   ERROR: {section.error.strip().splitlines()[-1]}")
        return "\n".join(lines)
    keys: list[str] = []
    for row in section.rows:
        keys += [k for k in row.metrics if k not in keys]
    headers = ["case", *keys, "note"]
    rows = [[row.case, *(fmt(row.metrics.get(k)) for k in keys), row.note] for row in section.rows]
    lines.append(_table(headers, rows))
    return "\n".join(lines)


def render_targets(targets: list[Target]) -> str:
    rows = [
        [
            t.bench,
            t.name,
            fmt(t.value, 3),
            f"{t.op} {fmt(t.limit)}{'' if t.unit == 'x' else ' ' + t.unit}",
            t.status,
        ]
        for t in targets
    ]
    return "== targets\n" + _table(["bench", "target", "value", "limit", "status"], rows)


def render_machine(info: dict[str, Any]) -> str:
    pin = info.get("pinning")
    placement = (
        f"emulator pinned to CPU {pin['server']}, clients to CPU {pin['clients']}"
        if pin
        else "no CPU pinning (fewer than 2 usable cores)"
    )
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    return (
        f"machine: {info['cpu_model']} ({info['cores']} cores, {info['usable_cores']} usable"
        f"{', ' + format(info['cpu_mhz'], '.0f') + ' MHz' if info.get('cpu_mhz') else ''}), "
        f"{info['memory_mb']:,} MB RAM; Python {info['python']} ({info['implementation']}), "
        f"{info['platform']}\n{placement}\n{versions}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="smoke run with tiny sizes (< 30 s)")
    parser.add_argument(
        "--out", default=str(DEFAULT_OUT), help="JSON results (default: %(default)s)"
    )
    parser.add_argument(
        "--only", default="", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument(
        "--profile",
        choices=("py-spy", "pyinstrument", "cprofile"),
        help="profile every client worker (slows them: figures are then not comparable)",
    )
    parser.add_argument(
        "--profile-dir",
        default=str(ROOT / "benchmarks" / "results" / "profiles"),
        help="where --profile writes (default: %(default)s)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()] or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")

    def say(message: str) -> None:
        if not args.quiet:
            print(f"[bench] {message}", file=sys.stderr, flush=True)

    info = machine_info()
    started = time.perf_counter()
    sections: list[Section] = []
    with tempfile.TemporaryDirectory(prefix="ila-bench-") as scratch:
        ctx = Context(
            quick=args.quick,
            scratch=Path(scratch),
            profile=args.profile,
            profile_dir=Path(args.profile_dir) if args.profile else None,
            log=say,
        )
        for name in chosen:
            say(f"running {name}{' (quick)' if args.quick else ''}")
            t0 = time.perf_counter()
            try:
                section = BENCHMARKS[name].run(ctx)
            except Exception:
                section = Section(name, BENCHMARKS[name].TITLE, error=traceback.format_exc())
                print(section.error, file=sys.stderr)
            section.seconds = time.perf_counter() - t0
            sections.append(section)
    elapsed = time.perf_counter() - started
    targets = [t for s in sections for t in s.targets]

    print(render_machine(info))
    missing = missing_baselines()
    if missing:
        print(
            f"baselines not installed: {', '.join(missing)} (pip install -e '.[bench]'); "
            "their rows are left out and their targets are SKIP"
        )
    print(
        f"mode: {'quick (smoke: tiny sizes, figures are not meaningful)' if args.quick else 'full'}"
        f"; total {elapsed:.1f} s\n"
    )
    for section in sections:
        print(render_section(section) + "\n")
    if targets:
        print(render_targets(targets))
    broken = [s.name for s in sections if s.error]
    passed = sum(t.status == "PASS" for t in targets)
    print(
        f"\n{passed}/{len(targets)} targets PASS"
        + (f"; BROKEN: {', '.join(broken)}" if broken else "")
    )

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "schema": 1,
        "mode": "quick" if args.quick else "full",
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "elapsed_s": elapsed,
        "machine": info,
        "command": " ".join(
            ["python -m benchmarks", *(argv if argv is not None else sys.argv[1:])]
        ),
        "targets": [{k: v for k, v in t.__dict__.items()} for t in targets],
        "sections": [s.to_json() for s in sections],
    }
    out.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    print(f"raw figures: {out}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
