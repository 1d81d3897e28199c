"""The worker's clock: the wall clock, or per-partition stream time for replays and tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from wayfinder.clock import utc_now

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class StreamClock:
    """``wall``: now is the real time. ``event`` (replays, tests): an input is processed at its own
    time, after its key's timers due by then, as ``simulate`` does; the partition's clock moves only
    with ticks (``wayfinder publish --tick``), which fire everything else due by then."""

    def __init__(self, mode: Literal["wall", "event"], wall: Callable[[], datetime] = utc_now) -> None:
        self.mode = mode
        self._wall = wall
        self._stream: dict[int, datetime] = {}

    def observe(self, partition: int, t: datetime) -> None:
        if self.mode == "event" and t > self._stream.get(partition, EPOCH):
            self._stream[partition] = t

    def now(self, partition: int) -> datetime:
        if self.mode == "wall":
            return self._wall()
        return self._stream.get(partition, EPOCH)

    def at_least(self, t: datetime, partition: int) -> datetime:
        """When something that happened at ``t`` is processed."""
        return t if self.mode == "event" else max(t, self._wall())

    def wall(self) -> datetime:
        return self._wall()
