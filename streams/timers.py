"""Pending timers indexed by due time, per partition.

The durable copy of every timer lives in the stage's table (key ``t:<id>``); this index is
the in-memory view that answers "what is due?" without scanning anything. It is rebuilt from
the table when a partition is assigned, and entries are dropped lazily: firing a timer that
has since been replaced is harmless, because the core checks each timer's token.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable
from datetime import UTC, datetime


def _epoch(due: datetime) -> float:
    return due.astimezone(UTC).timestamp()


class TimerIndex:
    def __init__(self) -> None:
        # (due, sequence, key): ties fire in the order the timers were set, as in ``simulate``
        self._heaps: dict[int, list[tuple[float, int, str]]] = {}
        self._owners: dict[str, list[tuple[float, int, str]]] = {}
        self._due: dict[str, float] = {}
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._due)

    def loaded(self, partition: int) -> bool:
        return partition in self._heaps

    def load(self, partition: int, items: Iterable[tuple[str, str, datetime]]) -> int:
        """Index ``(key, owner, due)`` items of a newly assigned partition."""
        heap = self._heaps.setdefault(partition, [])
        count = 0
        for key, owner, due in items:
            t = _epoch(due)
            self._due[key] = t
            n = next(self._seq)
            heap.append((t, n, key))
            heapq.heappush(self._owners.setdefault(owner, []), (t, n, key))
            count += 1
        heapq.heapify(heap)
        return count

    def drop(self, partition: int) -> None:
        for _, _, key in self._heaps.pop(partition, []):
            self._due.pop(key, None)
        self._owners = {o: h for o, h in self._owners.items() if any(self._due.get(k) == t for t, _, k in h)}

    def add(self, partition: int, key: str, owner: str, due: datetime) -> None:
        t = _epoch(due)
        self._due[key] = t
        n = next(self._seq)
        heapq.heappush(self._heaps.setdefault(partition, []), (t, n, key))
        heapq.heappush(self._owners.setdefault(owner, []), (t, n, key))

    def discard(self, key: str) -> None:
        self._due.pop(key, None)

    def owned(self, owner: str) -> list[str]:
        """The keys of ``owner``'s pending timers (those not fired, replaced or discarded)."""
        return [key for t, _, key in self._owners.get(owner, []) if self._due.get(key) == t]

    def next_due(self, partition: int) -> float | None:
        heap = self._heaps.get(partition)
        while heap and self._due.get(heap[0][2]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, partition: int, now: datetime, owner: str | None = None) -> list[tuple[str, datetime]]:
        """Keys due at or before ``now`` (of one owner, or the whole partition), in due order, removed."""
        limit = _epoch(now)
        heap = self._heaps.get(partition) if owner is None else self._owners.get(owner)
        out: list[tuple[str, datetime]] = []
        while heap and heap[0][0] <= limit:
            t, _, key = heapq.heappop(heap)
            if self._due.get(key) == t:
                del self._due[key]
                out.append((key, datetime.fromtimestamp(t, UTC)))
        return out

    def pop_next(self, partition: int, now: datetime, owner: str | None = None) -> tuple[str, datetime] | None:
        """The earliest key due at or before ``now`` (of one owner, or the whole partition), removed; None when
        nothing is due. Called again after each timer fires, it also finds the timers that firing set."""
        limit = _epoch(now)
        heap = self._heaps.get(partition) if owner is None else self._owners.get(owner)
        while heap and heap[0][0] <= limit:
            t, _, key = heapq.heappop(heap)
            if self._due.get(key) == t:
                del self._due[key]
                return key, datetime.fromtimestamp(t, UTC)
        return None

    def partitions(self) -> list[int]:
        return sorted(self._heaps)
