"""Every tunable default of the library, in one place.

Clients copy these into a frozen :class:`~integration_logs_async.ClientConfig`; override any of
them per client with ``dataclasses.replace`` or keyword arguments.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Final

LIBRARY_NAME: Final = "integration-logs-async"


def _installed_version() -> str:
    # One source of truth: the version in pyproject.toml, as installed.
    try:
        return version(LIBRARY_NAME)
    except PackageNotFoundError:  # imported from a source tree that was never installed
        return "0+unknown"


LIBRARY_VERSION: Final = _installed_version()
USER_AGENT: Final = f"{LIBRARY_NAME}/{LIBRARY_VERSION}"
LOGGER_NAME: Final = "integration_logs_async"

# --- pacing (each provider's documented limit is in its spec: providers/*/_spec.py) ---------
# Clients pace below the provider's documented limit, which other apps of the account may
# share (figures: benchmarks/README.md, "Pacing").
RATE_LIMIT_HEADROOM: Final = 0.9
# An explicit ``rate_limit`` is the server's limit as the user knows it; it is paced this much
# below it. ``AsyncRateLimiter.rate`` stays the configured number. Jitter is the window
# guard's job (below): this margin only keeps spacing from sitting on the limit.
EXPLICIT_RATE_LIMIT_MARGIN: Final = 0.02
# The sliding window a paced client guards (seconds): request j waits until this long has
# passed since the answer to request j - n began (less the shortest trip seen), plus the
# guard (``_http/_ratelimit.py``).
RATE_WINDOW: Final = 1.0
RATE_WINDOW_GUARD: Final = 0.01
# How long after sending an unanswered request the guard waits for its answer at most.
RATE_WINDOW_ANSWER_WAIT: Final = 2.0

# --- transport ---------------------------------------------------------------------------------
CONNECT_TIMEOUT: Final = 10.0
READ_TIMEOUT: Final = 30.0
REQUEST_DEADLINE: Final = 300.0  # one logical request, all retries and waits included
MAX_CONNECTIONS: Final = 16
MAX_RESPONSE_BYTES: Final = 64 * 1024 * 1024
# Largest single socket read on connections of the client's own session: below glibc's
# 128 KiB mmap threshold, where asyncio's 256 KiB default is not (why: ``_http/_socket_reads.py``).
SOCKET_READ_BYTES: Final = 127 * 1024
# Receive buffers larger than this are not kept for reuse (why reuse: ``_http/_body_buffers.py``).
BODY_BUFFER_MAX_BYTES: Final = 1024 * 1024

# --- retries -----------------------------------------------------------------------------------
MAX_ATTEMPTS: Final = 6
BACKOFF_INITIAL: Final = 0.5
BACKOFF_MAX: Final = 30.0
RETRY_AFTER_CAP: Final = 120.0
RETRYABLE_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})
DEFAULT_429_PAUSE: Final = 1.0  # pause when a 429 carries no Retry-After

# --- auth --------------------------------------------------------------------------------------
TOKEN_REFRESH_MARGIN: Final = 60.0  # refresh this many seconds before expiry
TOKEN_DEFAULT_LIFETIME: Final = 3600.0  # when the token response states no expiry

# --- fan-out -----------------------------------------------------------------------------------
PREFETCH_PAGES: Final = 4
FANOUT_CONCURRENCY: Final = 8
FANOUT_BUFFER: Final = 256
# A fan-out child decodes a page only while fewer than this many items wait for the consumer
# (why: ``_http/_decode_gate.py``; figures: benchmarks/README.md).
FANOUT_DECODE_AHEAD: Final = 2

# --- diagnostics ---------------------------------------------------------------------------------
ERROR_EXCERPT_CHARS: Final = 200

# --- harvest id set (harvest/_idset.py) ---------------------------------------------------------
# Newest ids kept in memory per kind (integer, UUID, other) before one flush moves them to the
# on-disk tier (a temporary SQLite database); a flush blocks the harvest's event loop, so it
# stays small (figures: benchmarks/README.md, "Harvest id set").
IDSET_HOT_CAPACITY: Final = 4096
# Bloom filter in front of the on-disk ids: bits per id when it is outgrown and rebuilt at
# twice the size (each false positive costs one SQLite lookup), and the ids it is first
# sized for (no rebuild below a million ids).
IDSET_BLOOM_BITS_PER_KEY: Final = 16
IDSET_BLOOM_CAPACITY: Final = 1 << 20
# SQLite page cache of the on-disk tier, and the ids per generation: new ids are inserted
# into the newest generation only, whose pages stay in the cache.
IDSET_SQLITE_CACHE_KIB: Final = 4096
IDSET_GENERATION_SIZE: Final = 1 << 17

# --- tail (_tail/) ------------------------------------------------------------------------------
# a harvest commits its output and state every N records (or every few seconds): a crash
# re-reads at most that much. Parquet prefers fewer, larger files (a batch spanning a month
# of logs makes a file per day: ~1 ms of fixed cost each); DuckDB a batch that fills one of
# the row groups it writes (sinks/_duckdb.py: moved into the table whole, not copied again)
HARVEST_SAVE_EVERY_RECORDS: Final = 5000
HARVEST_SAVE_EVERY_SECONDS: Final = 2.0
HARVEST_SAVE_JITTER: Final = 0.25  # a sink harvest's saves: every 2 s ± 25% (harvest/_options.py)
PARQUET_SAVE_EVERY_RECORDS: Final = 25_000
DUCKDB_SAVE_EVERY_RECORDS: Final = 8192  # a multiple of 2,048, DuckDB's vector size
# a Parquet batch's files (one per day) are flushed to disk this many at a time: the waits
# overlap (sinks/_durable.py)
SINK_FSYNC_THREADS: Final = 8

# A fleet's first stores start this many seconds apart in all (evenly): started together,
# paced clients stay in step, and their servers (or a proxy in front) see bursts, answered
# late and unevenly enough to look like too many requests in a second (429s)
FLEET_START_SPREAD: Final = 1.0
# A worker's job that finds its store locked is tried again this often, this many times: the
# lock may be a dead machine's session, which the server frees within about a minute (the
# sink's TCP keepalives), and the store must not be left unharvested (fleet/_queue.py).
FLEET_LOCKED_RETRY_SECONDS: Final = 15.0
FLEET_LOCKED_RETRIES: Final = 8
# A running job whose worker has missed this many heartbeats and whose job lock no session
# holds (the process is gone: fleet/_liveness.py) is queued again at once, not after the
# whole stall: a killed worker's stores run again within seconds
FLEET_DEAD_AFTER_BEATS: Final = 2.0

TAIL_POLL_INTERVAL: Final = 5.0  # seconds between polls of one listing
TAIL_JITTER: Final = 0.1  # polls land within +-10% of the interval, so many tails spread out
# A log may appear this many seconds "late" (created_at older than the newest log seen) and
# still be yielded; the window also bounds what a tail remembers.
TAIL_LOOKBACK: Final = 60.0
TAIL_FAILURE_BACKOFF_MIN: Final = 1.0  # a failed poll is tried again after at least this
TAIL_FAILURE_BACKOFF_MAX: Final = 60.0  # and at most this, doubling while it keeps failing
