"""What every benchmark receives: the mode, a scratch directory and shared measurements."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Context:
    """``quick``: tiny sizes (smoke test). ``profile``: 'pyinstrument', 'cprofile' or None.

    ``cache`` lets benchmarks share expensive runs (the memory and scaling benchmarks use
    the same harvests when both run).
    """

    quick: bool
    scratch: Path
    profile: str | None = None
    profile_dir: Path | None = None
    cache: dict[str, Any] = field(default_factory=dict)
    log: Any = None

    def say(self, message: str) -> None:
        """Progress on stderr (never in the table)."""
        if self.log is not None:
            self.log(message)

    def profile_spec(self, label: str) -> dict[str, str] | None:
        """The worker ``profile`` setting for a run labelled ``label`` (None: no profiling)."""
        if self.profile is None or self.profile_dir is None:
            return None
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label)
        return {"tool": self.profile, "out": str(self.profile_dir / f"{safe}.{self.profile}.txt")}
