"""The wall clock, defined once for the shells that read it (the workers, the delivery runner, the CLI).

The core never reads it: it is handed its time, so waits, quiet hours and caps are tested with a fake clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["utc_now"]


def utc_now() -> datetime:
    """Now, as an aware time in UTC."""
    return datetime.now(UTC)
