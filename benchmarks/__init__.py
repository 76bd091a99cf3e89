"""Benchmarks of integration_logs_async: ``python -m benchmarks [--quick]``.

See ``benchmarks/README.md``. One module per benchmark (:mod:`.decode`, :mod:`.e2e`,
:mod:`.ratelimit`, :mod:`.memory`, :mod:`.scaling`); each exposes ``NAME``, ``TITLE`` and
``run(ctx) -> Section``. Client measurements run in their own processes
(:mod:`._worker`) against the emulator in another process.
"""
