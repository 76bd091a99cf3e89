"""``python -m integration_logs_async.cli``: the same as the ``integration-logs`` command."""

from ._main import main

raise SystemExit(main())
