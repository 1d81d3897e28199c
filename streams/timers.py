"""Pending timers indexed by due time, per partition.

The durable copy of every timer lives in the stage's table (key ``t:<id>``); this index is
the in-memory view that answers "what is due?" without scanning anything. It is rebuilt from
the table when a partition is assigned, and entries are dropped lazily: firing a timer that
has since been replaced is harmless, because the core checks each timer's token.

A unit of work that is not kept (its input raised, or waits for a recipient) takes back what it did to the
index: ``begin`` starts a journal of the changes, ``rollback`` undoes them in reverse, so an undone unit costs
what it changed rather than a new scan of the table (``Stage._undo``).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import NamedTuple


class Pending(NamedTuple):
    """A pending timer's place in the index: its due time (epoch seconds), the order it was set in, its
    partition and its owner."""

    due: float
    seq: int
    partition: int
    owner: str


def _epoch(due: datetime) -> float:
    return due.astimezone(UTC).timestamp()


class TimerIndex:
    def __init__(self) -> None:
        # (due, sequence, key): ties fire in the order the timers were set, as in ``simulate``. A heap entry is
        # live while ``_pending`` holds the same due and sequence for its key; others are skipped when reached.
        self._heaps: dict[int, list[tuple[float, int, str]]] = {}
        self._owners: dict[str, list[tuple[float, int, str]]] = {}
        self._pending: dict[str, Pending] = {}
        self._seq = itertools.count()
        # the changes since ``begin``: each key as it was before (None: not pending)
        self._journal: list[tuple[str, Pending | None]] | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, key: str) -> bool:
        return key in self._pending

    def _live(self, t: float, n: int, key: str) -> bool:
        found = self._pending.get(key)
        return found is not None and found.due == t and found.seq == n

    def loaded(self, partition: int) -> bool:
        return partition in self._heaps

    def load(self, partition: int, items: Iterable[tuple[str, str, datetime]]) -> int:
        """Index ``(key, owner, due)`` items of a newly assigned partition."""
        heap = self._heaps.setdefault(partition, [])
        count = 0
        for key, owner, due in items:
            t, n = _epoch(due), next(self._seq)
            self._pending[key] = Pending(t, n, partition, owner)
            heap.append((t, n, key))
            heapq.heappush(self._owners.setdefault(owner, []), (t, n, key))
            count += 1
        heapq.heapify(heap)
        return count

    def drop(self, partition: int) -> None:
        for _, _, key in self._heaps.pop(partition, []):
            found = self._pending.get(key)
            if found is not None and found.partition == partition:
                del self._pending[key]
        self._owners = {o: h for o, h in self._owners.items() if any(self._live(*entry) for entry in h)}

    def add(self, partition: int, key: str, owner: str, due: datetime) -> None:
        self._note(key)
        self._push(key, Pending(_epoch(due), next(self._seq), partition, owner))

    def _push(self, key: str, p: Pending) -> None:
        self._pending[key] = p
        heapq.heappush(self._heaps.setdefault(p.partition, []), (p.due, p.seq, key))
        heapq.heappush(self._owners.setdefault(p.owner, []), (p.due, p.seq, key))

    def discard(self, key: str) -> None:
        self._note(key)
        self._pending.pop(key, None)

    def _note(self, key: str) -> None:
        if self._journal is not None:
            self._journal.append((key, self._pending.get(key)))

    def begin(self) -> None:
        """A unit of work starts: what it changes can be taken back (``rollback``) until it ends (``commit``)."""
        self._journal = []

    def commit(self) -> None:
        """The unit is kept: its changes stay."""
        self._journal = None

    def rollback(self) -> None:
        """Undo every change since ``begin``, latest first: fired and discarded keys are pending again with their
        due time and their place among timers due at the same time; keys the unit set or moved are as they were."""
        for key, before in reversed(self._journal or []):
            if before is None:
                self._pending.pop(key, None)
            elif self._pending.get(key) != before:
                self._push(key, before)
        self._journal = None

    def owned(self, owner: str) -> list[str]:
        """The keys of ``owner``'s pending timers (those not fired, replaced or discarded)."""
        return list(dict.fromkeys(key for t, n, key in self._owners.get(owner, []) if self._live(t, n, key)))

    def next_due(self, partition: int) -> float | None:
        heap = self._heaps.get(partition)
        while heap and not self._live(*heap[0]):
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, partition: int, now: datetime, owner: str | None = None) -> list[tuple[str, datetime]]:
        """Keys due at or before ``now`` (of one owner, or the whole partition), in due order, removed."""
        out: list[tuple[str, datetime]] = []
        while (found := self.pop_next(partition, now, owner)) is not None:
            out.append(found)
        return out

    def pop_next(self, partition: int, now: datetime, owner: str | None = None) -> tuple[str, datetime] | None:
        """The earliest key due at or before ``now`` (of one owner, or the whole partition), removed; None when
        nothing is due. Called again after each timer fires, it also finds the timers that firing set."""
        limit = _epoch(now)
        heap = self._heaps.get(partition) if owner is None else self._owners.get(owner)
        while heap and heap[0][0] <= limit:
            t, n, key = heapq.heappop(heap)
            if self._live(t, n, key):
                self._note(key)
                del self._pending[key]
                return key, datetime.fromtimestamp(t, UTC)
        return None

    def partitions(self) -> list[int]:
        return sorted(self._heaps)
