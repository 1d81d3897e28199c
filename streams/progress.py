"""How far the whole group has got: the latest wall time by which everything then on the input topics has been
processed by the employee stages and read back from the directory (issue 9, ``no_recipient`` in the worker).

An input whose message goes to a person this worker's directory does not know waits (``streams.recipients``).
Waiting a fixed time by the clock cannot tell a recipient who is late from one who does not exist: a worker with
a backlog (after a restart, say) processes the recipient's own first event on another partition minutes after
the input that needs it. So the wait ends by progress, not by the clock alone. Every few seconds, while an input
waits, the worker reads from the broker:

1. the log end offsets of every partition of the input topics (a *mark*, taken at wall time ``at``);
2. the group's committed offsets of those partitions: once they reach a mark's ends, every input that was on the
   topics at ``at`` has been processed, and the directory records it produced were sent; then the end offsets
   of the ``directory`` topic are taken for that mark;
3. how far this worker's directory reader has read: once that reaches the mark's directory ends, the directory
   here knows every person whose event was on the topics at ``at``.

An input kept to wait for its turn (``streams.gate``: inputs in time order across their topics) is committed
but not decided yet: a manager's first upsert kept so, after a restart with a backlog, sends its directory record
only when its turn comes. So "processed" in 2. is the committed offset, or, on a partition this worker holds, the
first offset of an input kept there if that is lower (``decided``; a kill -9 test once saw eight messages to such
managers ``no_recipient``). Another worker's kept inputs are named by its commits (``streams.gate.kept_mark``: the
commit's metadata), which the reading of the committed offsets takes into account (``LagProbe.progress``). An input
waiting in a line for its recipient (``streams.recipients``) is not counted so: its wait ends by this progress, so
counting it would stall every wait until the longest one.

The latest such ``at`` is *caught up*. An input that has waited its ``recipient_wait_seconds`` is decided once
caught up is past the time it started waiting plus that wait: a recipient published up to the wait after the
input would be known by then. A person still unknown then does not exist, and the message is ``no_recipient``, as
``simulate`` decides. The employee-ticks topic is not an input here: the waiting inputs go round on it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field

from wayfinder.streams.gate import first_waiting
from wayfinder.streams.ordering import Waiting

__all__ = ["CatchUp", "Mark", "decided", "read_decided"]

MAX_MARKS = 64  # marks not yet reached; older ones are dropped first (a newer mark implies them)

Partition = tuple[str, int]


def decided(done: Mapping[Partition, int], kept: Mapping[Partition, int]) -> dict[Partition, int]:
    """How far each input partition is decided: its processed offset (``done``), or the first offset of an input
    still kept there (``kept``) if that is lower."""
    return {tp: min(n, kept.get(tp, n)) for tp, n in done.items()}


Reading = tuple[dict[Partition, int], dict[Partition, int], dict[int, int]]


async def read_decided(read: Callable[[], Awaitable[Reading]], kept: Waiting,
                       unloaded: Callable[[], Collection[int]] = frozenset) -> Reading:
    """One reading from the broker (``read``: input ends, committed offsets, directory ends) with the committed
    offsets held back to the first input kept for its turn (``kept``) when the reading starts or while it runs:
    one kept meanwhile may be committed in the reading, and one decided meanwhile may have sent its directory
    record after the directory ends were read. A partition this worker holds but has not loaded yet (``unloaded``,
    before or after the reading: its kept inputs are not known here until its first input or wake-up) counts as
    processed to nothing."""
    waiting, hidden = kept.held(), set(unloaded())
    kept.watch()
    try:
        ends, done, directory = await read()
    finally:
        waiting += kept.watched()
    hidden |= set(unloaded())
    first = first_waiting(waiting)
    first.update({tp: 0 for tp in done if tp[1] in hidden})
    return ends, decided(done, first), directory


@dataclass
class Mark:
    """The input ends at ``at`` (wall seconds), and the directory's ends once the inputs were processed to them."""

    at: float
    ends: dict[Partition, int]
    directory: dict[int, int] | None = None


@dataclass
class CatchUp:
    """The marks on their way and the latest mark reached (``caught_up``, wall seconds; 0: none yet)."""

    marks: list[Mark] = field(default_factory=list)
    caught_up: float = 0.0
    _last: tuple[dict[Partition, int], dict[int, int]] = field(default_factory=lambda: ({}, {}), repr=False)

    def observe(self, at: float, ends: Mapping[Partition, int], done: Mapping[Partition, int],
                directory_ends: Mapping[int, int], directory_read: Mapping[int, int]) -> float:
        """One reading at ``at``: the input ends, how far the group has processed each input partition (its
        committed offset, or the partition's first offset if it never committed), the directory's ends and how
        far this worker has read it. Returns ``caught_up``."""
        for mark in self.marks:
            if mark.directory is None and all(done.get(tp, 0) >= end for tp, end in mark.ends.items()):
                mark.directory = dict(directory_ends)
        reached = [m.at for m in self.marks if m.directory is not None
                   and all(directory_read.get(p, 0) >= end for p, end in m.directory.items())]
        if reached:
            self.caught_up = max(self.caught_up, *reached)
        self.marks = [m for m in self.marks if m.at > self.caught_up][-(MAX_MARKS - 1):]
        self.marks.append(Mark(at, dict(ends)))
        self._last = (dict(done), dict(directory_read))
        return self.caught_up

    def waiting_for(self) -> list[str]:
        """What the oldest mark not reached waits for, as of the last reading: the input partitions not yet
        processed to its ends, else the directory partitions this worker has not read to its directory ends (topic
        names and offsets only). Said in the log while a wait runs long, so a wait that does not end shows why."""
        if not self.marks:
            return []
        mark, (done, read) = self.marks[0], self._last
        if mark.directory is None:
            return [f"{t}[{p}] processed to {done.get((t, p), 0)} of {end}" for (t, p), end in sorted(mark.ends.items())
                    if done.get((t, p), 0) < end]
        return [f"directory[{p}] read to {read.get(p, 0)} of {end}" for p, end in sorted(mark.directory.items())
                if read.get(p, 0) < end]
