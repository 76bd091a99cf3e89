"""Local emulator of the Sendcloud and Elastic Path integration-log APIs.

One aiohttp server on one port serves both providers from deterministic
synthetic data (same seed, byte-identical answers), with fault injection,
a per-credential rate limit, token expiry and a request log, in the spirit
of moto or stripe-mock::

    async with Emulator(seed=1, integrations=5, logs=2000) as emu:
        env = emu.env()  # SENDCLOUD_*/EPCC_* variables pointing at the emulator
        ...

Served routes (``{p}`` is ``EmulatorConfig.sendcloud_prefix``, ``/api/v2``):

- Sendcloud: ``GET {p}/integrations``, ``GET {p}/integrations/{id}``,
  ``GET {p}/integrations/logs``, ``GET|POST {p}/integrations/{id}/logs``
  (HTTP Basic or Bearer; keyset ``cursor`` pagination) and ``POST /oauth2/token``.
- Sendcloud v3 (``{p3}`` is ``EmulatorConfig.sendcloud_v3_prefix``, ``/api/v3``), the
  same data: ``GET {p3}/integrations``, ``GET {p3}/integrations/{id}``,
  ``GET {p3}/integrations/logs``, ``GET {p3}/integrations/{id}/logs`` (``{"data": ...}``
  bodies, ``page_size`` and a ``Link`` header for paging, JSON:API errors).
- Elastic Path: ``GET /v2/integrations[/{id}]``, ``/v2/integrations/logs``,
  ``/v2/integrations/{id}/logs``, ``/v2/integrations/{id}/jobs``,
  ``/v2/integrations/{id}/jobs/{job_id}/logs`` (Bearer; ``page[limit]``/``page[offset]``)
  and ``POST /oauth/access_token``.
- Admin, no auth: ``/_emulator/`` ``info``, ``faults`` (GET/PUT), ``requests``, ``stats``,
  ``logs`` (POST), ``logs/delete`` (POST), ``arrivals`` (GET/PUT), ``reset-stats`` (POST),
  ``expire-tokens`` (POST).

Changing the data while it serves (safe from another thread than the server's; the calls
run on its event loop): :meth:`Emulator.add_logs` puts new logs at the head of every
listing (any ``created_at``: late arrivals), :meth:`Emulator.delete_logs` removes logs
from every listing of a provider (Sendcloud v2/v3 keyset cursors stay correct, Elastic
Path offsets shift up, totals shrink), and :meth:`Emulator.set_arrival_rate` (or
``EmulatorConfig.arrival_rate``, ``emulate --arrival-rate 5/s``) lets synthetic logs
created "now" arrive on a schedule, ``floor(rate * t)`` per provider after ``t`` seconds;
:attr:`Emulator.arrivals` counts them.

:class:`EmulatorFleet` runs N independent emulators, one per store (own port, data,
credentials and rate limit), with their credentials as environment variables and a
stores file for ``integration-logs fleet`` (``emulate --stores N``).

Faults (:class:`FaultKind`) are configured with :class:`FaultConfig`, at start or
with :meth:`Emulator.set_faults`.  Run the emulator as a process with
``python -m integration_logs_async.emulator`` or ``integration-logs emulate``
(see :mod:`.cli`); pytest fixtures live in :mod:`integration_logs_async.testing`.
"""

from ._auth import CredentialKind
from ._config import EmulatorConfig, EmulatorOptions, MetaStyle, Provider
from ._errors import EmulatorBindError, EmulatorLoopError
from ._faults import FaultConfig, FaultKind
from ._fleet import EmulatorFleet, FleetAuth, FleetStore
from ._log_fields import LogFieldError, LogFields
from ._records import RequestRecord
from ._server import Emulator, create_app
from ._store import LogId, LogView, Store

__all__ = [
    "CredentialKind",
    "Emulator",
    "EmulatorBindError",
    "EmulatorConfig",
    "EmulatorFleet",
    "EmulatorLoopError",
    "EmulatorOptions",
    "FaultConfig",
    "FaultKind",
    "FleetAuth",
    "FleetStore",
    "LogFieldError",
    "LogFields",
    "LogId",
    "LogView",
    "MetaStyle",
    "Provider",
    "RequestRecord",
    "Store",
    "create_app",
]
