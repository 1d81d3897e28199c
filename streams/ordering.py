"""Mailbox inputs in event order on the event clock, whichever employee partition decided them.

A recipient's mailbox hears from every employee partition, and the mailbox topic interleaves them in
the order the partitions happened to be processed, not in the order of the decisions. ``simulate``
runs one clock for everyone. So with the event clock the mailbox stage does not act on an input when
it arrives: it keeps it under a key that sorts by the decision's time (``b:<partition>:<time>:<origin>``)
and acts on inputs in that order once every employee partition has passed their time.

How far a partition has got is its watermark: after a tick has moved an employee partition's clock
to T and every timer due by T has fired there, the employee stage sends a watermark record (source
partition, T) to every mailbox partition, behind the inputs it produced (one producer, so in order).
The mailbox partition keeps the latest watermark of each source (``W:<partition>``) and releases what
is at or before the lowest of them. Ties (the same time) go in ``simulate``'s order where the worker can know it
(their *rank*, below), then in the order of the origin: source partition, topic, offset of the input that decided
them, place within its unit.

The rank of a decision is where ``simulate`` takes it among those of its instant. ``simulate`` decides inputs in time
order, and before each every timer due by its time in due order, ties in the order they were set; every timer is set
for after the decision that sets it (a time already past continues at once). So it decides in the order of a key K:
an input at t read at origin o has K = (t, 1, o); a timer due at d set while deciding S has K = (d, 0, *K(S)) (the
timers of an instant before its inputs, and among them the order of what set them, recursively). Each timer keeps K of
what set it (the first ``RANK_PAIRS - 1`` pairs, with the input's origin when its pair is among them: deeper ties fall
back to the origin of the mailbox input) and each mailbox input carries K of what decided it. ``simulate`` takes inputs
of one instant in file order; the worker knows that order only within one topic of one partition (the offsets), so
across topics and partitions o orders them as the gate and the mailbox do (partition, topic, offset), and the timers
they set follow their setters, not the input that happens to wake them.

With the wall clock none of this applies: an input is acted on when it arrives, at the later of its
decision time and the wall clock.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from wayfinder.streams.wire import dumps, parse_time

BUFFER_PREFIX = "b:"
WATERMARK_PREFIX = "W:"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(at: datetime) -> int:
    return max(0, (at - _EPOCH) // timedelta(microseconds=1))


RANK_PAIRS = 4  # the pairs of a rank kept: a timer keeps its setter's first three (61 bytes more at most)
_PAIR = 18  # characters of one pair: the time in microseconds (17 digits) and 0 (a timer) or 1 (an input)


def input_origin(partition: int, topic: str, offset: int) -> str:
    """Where an input was read, as its rank ends with it: partition, topic (without the deployment's prefix) and
    offset. On one partition these sort as the gate decides inputs of one time (``streams.gate``: topic, then offset,
    the order the file was published in, within one topic). A topic name holds no ``:``, so no origin is another's
    start."""
    return f"{partition:04d}:{topic}:{offset:012d}"


def input_rank(at: datetime, origin: str = "") -> str:
    """The rank of deciding an input of time ``at`` read at ``origin`` (``input_origin``): K = (at, 1, origin), as text
    that sorts as K does. Inputs of one instant are told apart by their origins, and so are the timers they set."""
    return f"{micros(at):017d}1{origin}"


def _cut(rank: str, pairs: int) -> str:
    """The first ``pairs`` pairs of ``rank``; with the origin that follows the last pair when that is an input's (only
    the last pair of a whole rank is: it ends in 1)."""
    for n in range(pairs):
        flag = rank[n * _PAIR + _PAIR - 1:n * _PAIR + _PAIR]
        if flag != "0":  # an input's pair (the origin follows it), or the rank's end
            return rank
    return rank[:pairs * _PAIR]


def timer_rank(due: datetime, set_by: str) -> str:
    """The rank of firing a timer due at ``due``, set while deciding what has rank ``set_by``: (due, 0, *set_by), its
    first ``RANK_PAIRS`` pairs and, when an input's pair is among them, its origin. Fixed-width pairs sort as the
    tuples do: no rank is another's start but one whose input has no origin (read before origins were kept: it sorts
    first, as a shorter tuple does), as only the last pair of a whole one, an input's, ends in 1, and a cut one has
    ``RANK_PAIRS`` pairs, all of timers."""
    return _cut(f"{micros(due):017d}0{set_by}", RANK_PAIRS)


def kept_rank(rank: str) -> str:
    """What a timer keeps of the rank of what set it: the pairs its own rank has room for (and the origin, when the
    input's pair is one of them)."""
    return _cut(rank, RANK_PAIRS - 1)


def _keyed(rank: str) -> str:
    """``rank`` as a waiting input's key holds it: its input's origin, when it has one, after a ``;``. The key puts a
    ``:`` after the rank, and ``:`` sorts after an origin's first digit: without the ``;`` a rank with no origin (its
    timer stored before origins were kept, or its key) would go after those that tie with it up to the origin, not
    first as a shorter tuple does (``timer_rank``)."""
    for n in range(len(rank) // _PAIR):
        if rank[n * _PAIR + _PAIR - 1] == "1":  # the input's pair: its origin, if any, follows
            end = (n + 1) * _PAIR
            return f"{rank[:end]};{rank[end:]}" if len(rank) > end else rank
    return rank


def buffer_key(partition: int, at: datetime, origin: str, rank: str | None = None) -> str:
    """The key a waiting input is kept under; keys of one partition sort in the order they are acted on: by decision
    time, then by rank (``k<rank>``, as ``_keyed`` writes it), then by origin. An input with no rank (a digest box's,
    or one written before ranks) comes after those with one at its time, in the order of its origin."""
    return f"{BUFFER_PREFIX}{partition}:{micros(at):017d}:{f'k{_keyed(rank)}' if rank else 'z'}:{origin}"


def waiting_since(key: str) -> int:
    """The decision time (microseconds since 1970) of a waiting input's key."""
    return int(key.split(":", 3)[2])


def watermark_key(partition: int) -> str:
    return f"{WATERMARK_PREFIX}{partition}"


def encode_watermark(source: int, at: datetime) -> bytes:
    return dumps({"kind": "watermark", "source": source, "at": at})


def merge_watermark(raw: bytes | None, source: int, at: datetime) -> bytes | None:
    """The stored watermarks with ``source`` moved to ``at``; None when that changes nothing."""
    marks: dict[str, str] = json.loads(raw) if raw is not None else {}
    known = marks.get(str(source))
    if known is not None and parse_time(known) >= at:
        return None
    marks[str(source)] = dumps(at).decode("utf-8").strip('"')
    return dumps(dict(sorted(marks.items())))


def lowest_watermark(raw: bytes | None, sources: int) -> datetime | None:
    """How far every source has got, or None while a source has not said yet."""
    marks: dict[str, str] = json.loads(raw) if raw is not None else {}
    if any(str(s) not in marks for s in range(sources)):
        return None
    return min(parse_time(marks[str(s)]) for s in range(sources))


class Waiting:
    """The keys of the waiting inputs, per partition, earliest first (an in-memory index of the table).

    Like ``streams.timers.TimerIndex``, what one unit of work changes can be taken back (``begin``, ``rollback``):
    a unit that is not kept leaves the index as it found it, without a scan of the table."""

    def __init__(self, *, track_sending: bool = False) -> None:
        self._heaps: dict[int, list[str]] = {}
        self._tracks = track_sending  # whether ``held`` names the keys taken until ``sent``
        self._journal: list[tuple[bool, int, str]] | None = None  # (added?, partition, key) since ``begin``
        self._watched: list[str] | None = None  # the keys added since ``watch``
        self._sending: list[str] = []  # the keys taken since ``sent``: their records may not be sent yet

    def __len__(self) -> int:
        return sum(len(h) for h in self._heaps.values())

    def load(self, partition: int, keys: Iterable[str]) -> int:
        heap = list(keys)
        heapq.heapify(heap)
        self._heaps[partition] = heap
        return len(heap)

    def drop(self, partition: int) -> None:
        self._heaps.pop(partition, None)

    def add(self, partition: int, key: str) -> None:
        heapq.heappush(self._heaps.setdefault(partition, []), key)
        if self._journal is not None:
            self._journal.append((True, partition, key))
        if self._watched is not None:
            self._watched.append(key)

    def keys(self) -> list[str]:
        """Every waiting key, of every partition."""
        return [key for heap in self._heaps.values() for key in heap]

    def held(self) -> list[str]:
        """Every waiting key, and those taken by units whose records the worker has not handed to its producer yet
        (``sent``): an input is decided for others to see only once what it sends is on its way."""
        return self.keys() + self._sending

    def sent(self) -> None:
        """The records of every unit so far are with the producer."""
        self._sending = []

    def watch(self) -> None:
        """Start noting the keys added (``watched``), also those of a unit taken back later."""
        self._watched = []

    def watched(self) -> list[str]:
        """The keys added since ``watch``; stops noting them."""
        added, self._watched = self._watched or [], None
        return added

    def discard(self, partition: int, key: str) -> None:
        heap = self._heaps.get(partition, [])
        if key in heap:
            heap.remove(key)
            heapq.heapify(heap)

    def first(self, partition: int) -> str | None:
        heap = self._heaps.get(partition)
        return heap[0] if heap else None

    def pop(self, partition: int) -> str:
        key = heapq.heappop(self._heaps[partition])
        if self._tracks:
            self._sending.append(key)
        if self._journal is not None:
            self._journal.append((False, partition, key))
        return key

    def begin(self) -> None:
        """A unit of work starts: its adds and pops can be taken back until it ends."""
        self._journal = []

    def commit(self) -> None:
        self._journal = None

    def rollback(self) -> None:
        """Undo the unit's adds and pops, latest first (a partition dropped meanwhile stays dropped)."""
        journal, self._journal = self._journal or [], None
        for added, partition, key in reversed(journal):
            if partition not in self._heaps:
                continue
            if added:
                self.discard(partition, key)
            else:
                heapq.heappush(self._heaps[partition], key)
