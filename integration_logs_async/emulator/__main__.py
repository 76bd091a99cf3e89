"""``python -m integration_logs_async.emulator``: run the emulator (prints one JSON line)."""

import sys

from .cli import main

sys.exit(main())
