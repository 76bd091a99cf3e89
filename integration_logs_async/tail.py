"""Live tail: new integration logs as they arrive, each once, resumable.

``client.tail()`` (every provider client has it) polls one newest-first listing and yields
every log created after the start point, oldest first within each poll, until you stop::

    async with SendcloudClient(auth) as client:
        async for log in client.tail(failed_only=True, status=["5xx"]):
            alert(log)

* **Start point.** ``since`` (an aware datetime): every log created at or after it. By
  default the tail starts "now": its first poll accounts for the logs present then and
  yields none of them, nor any log created more than ``lookback`` before the newest of them.
* **Exactly once.** A poll reads from the head until it reaches the logs already accounted
  for. The tail remembers the newest ``created_at`` it has seen and the ids within the
  look-back window, not one marker record, so a deleted or shifted record never makes it
  re-read the store, and several pages of new logs between polls are walked page by page.
* **Late logs.** A log that appears with a ``created_at`` up to ``lookback`` seconds (60 by
  default) older than the newest one seen is still yielded, once, when it appears. A log
  seen later than that, above newer logs, raises :class:`~integration_logs_async.TailGapError`
  instead of being skipped silently; one the listing places below the window (if the
  provider sorts by ``created_at``) is outside what a tail can see: size ``lookback`` to the
  provider's worst delay.
* **Stopping.** ``break``, cancelling the consuming task, or :meth:`TailStream.aclose`
  (also from another task: the poll or sleep in progress ends at once and ``async for``
  ends normally).
* **Resumable.** :attr:`TailStream.checkpoint` after any log resumes exactly after it, also
  in another process: ``client.tail(resume_from=token)``.
* **Cheap when idle.** A poll stops at the first page holding a log already seen: one
  request when nothing is new. While logs arrive, every ``lookback / 2`` seconds a poll
  sweeps the whole window, for late logs a listing sorted by ``created_at`` files below
  newer ones. Polls are jittered; the client's rate limiter, 429 pauses and retries apply.
  A poll that still fails with a transient error is logged and retried with backoff;
  refused credentials end the tail with :class:`~integration_logs_async.AuthenticationError`.
* **Filters** (``failed_only``, ``status``, ``integration_ids``) run on the client: no extra
  requests.
"""

from ._tail import LogFilter, Status, TailBatch, TailOptions, TailStats, TailStream

__all__ = ["LogFilter", "Status", "TailBatch", "TailOptions", "TailStats", "TailStream"]
