"""Shared test setup: aioresponses made to work with this aiohttp (fixtures: each suite's conftest).

Helpers shared by several suites live in ``tests._support``.
"""

from __future__ import annotations

import signal

from ._support import aioresponses_compat

aioresponses_compat.install()

# Tests press Ctrl-C (SIGINT) on the command-line tool in subprocesses. A suite started in the
# background by a shell without job control (`bash .ci/test &`, `nohup ... &`) inherits SIGINT
# ignored, and so would every subprocess: Python keeps ignoring it, and the tool would never
# see the Ctrl-C those tests send. Handled here, children start with the default action again.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
