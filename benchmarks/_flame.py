"""Summarise a py-spy raw (collapsed stacks) profile: ``python -m benchmarks._flame FILE``.

Only samples of the event loop running callbacks and tasks count (below ``Handle._run``), minus
imports and TLS context creation (client set-up, which the workers do not measure either);
samples of a thread waiting in the event loop's ``select`` are dropped (idle). Percentages are
shares of the client's busy time while it harvests.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

_SETUP = ("(<frozen importlib._bootstrap>)", "_make_ssl_context (connector.py)")
_FRAME = re.compile(r"(.*) \((.*?):(\d+)\)$")


def _short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    func, path, _ = match.groups()
    return f"{func} ({path.rsplit('/', 1)[-1]})"


def summarize(
    raw: str, *, top_self: int = 30, top_inclusive: int = 45, anchor: str = "Handle._run"
) -> str:
    """Self and inclusive shares of busy samples under the frame named ``anchor``."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_short(f) for f in stack.split(";")]
        if anchor and not any(anchor in f for f in frames):
            continue
        if any(f.endswith(_SETUP) for f in frames):
            continue
        if frames[-1].startswith(("select (selectors.py)", "poll ")):
            continue
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return "no busy samples\n"
    out = [f"busy samples while harvesting: {total}", "", "self (top):"]
    out += [f"  {c * 100 / total:5.1f}%  {f}" for f, c in own.most_common(top_self)]
    out += ["", "inclusive (top):"]
    out += [f"  {c * 100 / total:5.1f}%  {f}" for f, c in inclusive.most_common(top_inclusive)]
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    for name in argv:
        print(summarize(Path(name).read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
