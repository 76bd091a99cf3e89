"""Bounded fan-out: merge many streams with at most N running at once.

* **Bounded**: at most ``concurrency`` child streams run, and listing the children (e.g. an
  integration's jobs) takes one of those slots too; children do not prefetch pages (unless
  ``child_prefetch=True``), so at most ``concurrency`` requests are in flight. At most
  ``buffer_pages`` pages wait in the merge buffer, so memory does not grow with the number or
  size of the children.
* **Decoded just in time**: children fetch ahead, but decode a page only while fewer than
  ``FANOUT_DECODE_AHEAD`` items wait for the consumer, so its records are still in the CPU
  cache when consumed. A child waiting to decode has released its connection, and the wait
  does not count against ``request_deadline`` or ``read_timeout`` (``_decode_gate.py``).
* **Ordered per child**: records of one child come out in that child's order; children
  interleave as their pages arrive.
* **Exactly resumable**: :attr:`FanOutStream.checkpoint` is a composite of the children's
  positions *as consumed by you*, not as fetched; pass it back as ``resume_from=``.
* **Clean teardown**: stopping early, raising or being cancelled cancels every child task and
  releases every connection before control returns.
* **Failures**: by default the first child failure cancels the rest and raises
  :class:`~integration_logs_async.FanOutError` naming the child; with ``on_error="collect"``
  the others go on, and failures are in :attr:`FanOutStream.failures` at the end (those
  children are not marked done, so resuming retries them).

The children share their client, hence its rate limiter and retry policy.
"""

from ._fanout import FanOutOptions, FanOutStream, OnError, Source, SourcedPage, StopWhen

__all__ = ["FanOutOptions", "FanOutStream", "OnError", "Source", "SourcedPage", "StopWhen"]
