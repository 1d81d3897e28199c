"""The worker's unit of work and its write-ahead log, independent of Faust and of the journey core.

A unit of work is what one input does: the table writes and the records to produce. When a unit
produces records or more than one write, it is first written to the table as a write-ahead entry
(``w:<topic>:<partition>:<offset>``) in the same changelog partition as the state it changes, so a
restart that replays the input finds it and produces the same records again instead of losing them
(the state says the input was seen, so the core alone would not repeat them). Entries are deleted
once the input's offset is committed.

An entry keeps, for each key it writes, a digest of the value the key held before the unit. A unit's
writes are applied again (by the partition's next owner, when it loads the partition) all or none, never when
its input is read again (``replay``): only when every key it writes still
holds what it held before the unit or what the unit wrote (a crash cut the unit short), and then only
those not there yet. A key that holds anything else was changed since by another unit (an input of
another topic, committed after this one; or a later unit that set a key back to its old value, a timer
fired, a line that ended): the unit is complete and nothing of it is applied again. Applying only the
keys that still match would half-apply it: a timer consumed while the state that consumed it is not
written (the employee waits for good for a timer that is gone).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from wayfinder.streams.wire import Record, dumps

log = logging.getLogger(__name__)

ENTRY_PREFIX = "w:"
ENTRY_FORMAT = b"W2"  # the first bytes of an entry with framed values; zlib output (earlier entries) starts 0x78
_FRAMED_FORMATS = (b"W1", ENTRY_FORMAT)  # W1: no record refers to a write (written before 2026-12-02)
_SAME_AS_WRITE = 64  # a record value at least this long that is some write's value is stored once, as a reference
# An entry larger than one record (a unit that cannot be made smaller: a busy mailbox placed again) is stored in
# parts: every part but the last under ``v:<topic>:<partition>:<offset>:<n>``, written first, and the last under the
# entry's key, as ``SPLIT_FORMAT``, the number of parts (2 bytes) and its bytes. The entry's key is written last, so
# where it is, every part is (a partition's changelog keeps the order of writes); it is deleted first.
PART_PREFIX = "v:"
SPLIT_FORMAT = b"WS"
MAX_ENTRY_PARTS = 32
# ``wd:<partition>``: ``<owner>:<seq>``, the latest unit of that process whose input that process committed itself
# (``WriteAheadLog.prune``: the writer deleting its own entry of an input committed while it owned the partition).
# Its commit came after its producer's flush, and a stage's units are sent in turn: every unit the same process kept
# before it had its records delivered (``finish_interrupted``). Written only by the process it names.
# ``wd:s:<partition>``: ``<owner>:<seq>,...``, for each process whose entries a load of the partition found, the latest
# of its units that load settled (applied, or judged complete): a later load applies none of them again.
DONE_PREFIX = "wd:"
SETTLED_PREFIX = DONE_PREFIX + "s:"


class Table(Protocol):
    """What a stage needs of a table (a Faust table in the worker)."""

    def get(self, key: str) -> bytes | None: ...
    def set(self, key: str, value: bytes | None) -> None: ...
    def keys(self) -> Iterator[str]: ...


def digest(value: bytes | None) -> str:
    """A short fingerprint of a table value; ``-`` for a missing key."""
    return "-" if value is None else hashlib.blake2b(value, digest_size=8).hexdigest()


def entry_key(topic: str, partition: int, offset: int) -> str:
    """The table key of the write-ahead entry of one input."""
    return f"{ENTRY_PREFIX}{topic}:{partition}:{offset}"


def part_key(key: str, n: int) -> str:
    """The table key of part ``n`` (from 0) of the entry ``key`` stored in parts (all but its last part)."""
    return f"{PART_PREFIX}{key[len(ENTRY_PREFIX):]}:{n}"


def parts_of(raw: bytes) -> int:
    """How many parts the entry whose value under its key is ``raw`` was stored in (1: not in parts)."""
    return int.from_bytes(raw[2:4], "big") if raw.startswith(SPLIT_FORMAT) else 1


def read_entry(table: Table, key: str, raw: bytes) -> bytes:
    """The whole entry whose value under its key is ``raw``: its parts joined when it was stored in parts."""
    count = parts_of(raw)
    if count == 1:
        return raw
    pieces = [table.get(part_key(key, n)) for n in range(count - 1)]
    missing = [n for n, piece in enumerate(pieces) if piece is None]
    if missing:
        msg = f"write-ahead entry {key}: part(s) {missing} of {count} missing"
        raise ValueError(msg)
    return b"".join([*(p for p in pieces if p is not None), raw[4:]])


def delete_entry(table: Table, key: str, count: int | None = None) -> None:
    """Delete an entry of ``count`` parts (None: read from the entry): its key first (where it is, every part
    is), then its other parts."""
    if count is None:
        raw = table.get(key)
        count = parts_of(raw) if raw is not None else 1
    table.set(key, None)
    for n in range(count - 1):
        table.set(part_key(key, n), None)


class DictTable(dict[str, bytes]):
    """A table on a dict: the three calls a stage makes (``get``, ``set`` with None deleting, ``keys``). For the
    pipeline tests and the benchmarks, which run the stages without Kafka."""

    def get(self, key: str) -> bytes | None:  # type: ignore[override]
        return dict.get(self, key)

    def set(self, key: str, value: bytes | None) -> None:
        if value is None:
            self.pop(key, None)
        else:
            self[key] = value

    def keys(self) -> Iterator[str]:  # type: ignore[override]
        return iter(list(dict.keys(self)))


@dataclass
class Work:
    """One input's unit of work: table writes (``None`` deletes) and the records to produce, in order."""

    writes: dict[str, bytes | None] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    before: dict[str, str] = field(default_factory=dict)  # digest of each written key's value before the unit
    seq: int = 0  # when the unit was kept, in its stage's order (``WriteAheadLog``): 0 in older entries
    owner: str = ""  # the process that kept it (``WriteAheadLog.owner``): "" in older entries

    def encode(self, level: int = 1) -> bytes:
        """Compressed (an entry repeats the unit's state and records, which compress well) at zlib ``level``. The
        values are framed as they are, after a small JSON header with each one's length: no JSON string escaping of
        the JSON states and records (``ENTRY_FORMAT``). A record whose value is byte for byte a write's (a held
        message: its table key and its ``deferred`` record) names that write's key instead of a length, so the
        value is in the entry once. ``decode`` also reads the entries of earlier releases (``W1``, and
        zlib-compressed JSON)."""
        blobs: list[bytes] = []
        written: dict[bytes, str] = {}
        heads_w: list[list[object]] = []
        for k, v in self.writes.items():
            heads_w.append([k, _framed(v, blobs)])
            if v is not None and len(v) >= _SAME_AS_WRITE:
                written.setdefault(v, k)
        heads_r: list[list[object]] = []
        for r in self.records:
            same = written.get(r.value) if r.value is not None and len(r.value) >= _SAME_AS_WRITE else None
            heads_r.append([r.topic, r.key, same if same is not None else _framed(r.value, blobs), r.partition])
        header = {"w": heads_w, "b": self.before, "r": heads_r, "s": self.seq, "o": self.owner}
        head = dumps(header)
        return ENTRY_FORMAT + zlib.compress(b"".join([len(head).to_bytes(4, "big"), head, *blobs]), level)

    @classmethod
    def decode(cls, raw: bytes) -> Work:
        if not raw.startswith(_FRAMED_FORMATS):
            return cls._decode_json(raw)
        body = zlib.decompress(raw[len(ENTRY_FORMAT):])
        end = 4 + int.from_bytes(body[:4], "big")
        header = json.loads(body[4:end])
        cut = _Cutter(body, end)
        writes = {k: cut.next(n) for k, n in header["w"]}
        records = [Record(t, k, writes[n] if isinstance(n, str) else cut.next(n), p) for t, k, n, p in header["r"]]
        return cls(writes, records, header["b"], header.get("s", 0), header.get("o", ""))

    @classmethod
    def _decode_json(cls, raw: bytes) -> Work:
        """An entry as releases before ``ENTRY_FORMAT`` wrote it (still in a changelog after an upgrade)."""
        d = json.loads(zlib.decompress(raw))
        return cls({k: None if v is None else v.encode("utf-8") for k, v in d["writes"].items()},
                   [Record.from_json(r) for r in d["records"]], d.get("before", {}))

    def needs_entry(self) -> bool:
        """Several writes (a state and its timer) or any records: one entry makes them all-or-nothing."""
        return bool(self.records) or len(self.writes) > 1

    def still_applicable(self, table: Table) -> dict[str, bytes | None]:
        """The writes to apply again, all or none: the writes not in the table yet, when every key the unit writes
        holds either what it held before the unit or what the unit wrote (the unit was cut short); none when a key
        holds anything else (another unit changed it since: the unit is complete, and applying the rest would undo
        or half-apply what came after it)."""
        pending: dict[str, bytes | None] = {}
        for k, v in self.writes.items():
            current = table.get(k)
            if current == v:
                continue
            if digest(current) != self.before.get(k):
                return {}
            pending[k] = v
        return pending


def _framed(value: bytes | None, blobs: list[bytes]) -> int:
    """Add ``value`` to the entry's body; its length in the header (-1: ``None``)."""
    if value is None:
        return -1
    blobs.append(value)
    return len(value)


class _Cutter:
    """Reads the framed values of an entry's body, in order."""

    def __init__(self, body: bytes, at: int) -> None:
        self.body = body
        self.at = at

    def next(self, length: int) -> bytes | None:
        if length < 0:
            return None
        start, self.at = self.at, self.at + length
        return self.body[start:self.at]


@dataclass(frozen=True)
class Replayed:
    """A unit found again in the table when its input is read again: its records."""

    key: str
    records: list[Record]


def replay(table: Table, key: str) -> Replayed | None:
    """Find the entry under ``key``; if there is one, its records. Its writes are not applied: the partition's load
    finished every interrupted unit (``finish_interrupted``), and a unit of this process applied its own at once, so
    by the time an input is read again the only way its writes can look unapplied is a later unit having set a key
    back (a line that ended, a timer that fired): applied then, they would undo it (2026-12-05, a line that had
    ended came back with no retry left to come round, and held its employee until it went stale)."""
    raw = table.get(key)
    if raw is None:
        return None
    return Replayed(key, Work.decode(read_entry(table, key, raw)).records)


def entry_input(key: str) -> tuple[str, int, int]:
    """The input (topic, partition, offset) of a write-ahead entry's key."""
    topic, partition, offset = key[len(ENTRY_PREFIX):].rsplit(":", 2)
    return topic, int(partition), int(offset)


@dataclass(frozen=True)
class Finished:
    """What ``finish_interrupted`` did: the writes it applied (entry key, key written) and the entries it deleted."""

    writes: list[tuple[str, str]]
    pruned: int
    records: list[tuple[str, list[Record]]] = field(default_factory=list)  # each interrupted unit's, in its order
    delivered: list[str] = field(default_factory=list)  # interrupted units known to have gone whole (writes, records)

    def units(self) -> dict[str, list[str]]:
        """The keys written, by entry."""
        by_entry: dict[str, list[str]] = {}
        for entry, key in self.writes:
            by_entry.setdefault(entry, []).append(key)
        return by_entry


def finish_interrupted(table: Table, partition: int,
                       committed: Callable[[str, int], int | None] = lambda topic, partition: None,
                       answered: Callable[[str, int], bool] | None = None) -> Finished:
    """Apply the writes of the partition's entries that did not all reach the table, and delete the entries of
    committed inputs.

    Offsets are committed per topic, so after a crash an input of one topic may be processed before an
    earlier input of another topic is replayed; the earlier unit's writes must be in place first. A unit is
    applied all or none (``Work.still_applicable``): its missing writes, when every key it writes holds what it
    held before the unit or what the unit wrote. Applying one unit can make the next one's apply (a unit
    written ahead against an earlier one's state), so this repeats until nothing changes. Each unit is applied
    at most once, so the loop always ends.

    Entries of inputs whose offset is committed (below ``committed(topic, partition)``) are complete (an
    offset is committed after what its unit wrote was flushed): they are deleted, not applied, as a key a later
    unit set back to its old value looks unapplied (a timer fired since would come back, a line that ended would
    hold its employee again). Only the process that wrote an entry prunes it as it goes (``WriteAheadLog``); the
    entries of a process that died are pruned here, by the partition's next owner. So ``committed`` must know the
    group's offsets when this runs: with ``None`` every entry counts as interrupted. So are the units of a process
    that marked a later unit of its own committed (``DONE_PREFIX``): neither applied nor produced again. A unit
    kept before a committed one of the same process, or settled by an earlier load (``SETTLED_PREFIX``), is not
    applied again (its records are judged as any): its writes went, and a later unit may have set a key back.

    The interrupted units' records (of topics whose committed offset is known, or ``answered`` by the broker as
    never committed: all their inputs are read again) come back in the order the units were kept (``Work.seq``),
    for the worker to produce again before anything else of the partition: each input's own replay, when it is read
    again, came in its topic's order, so a unit's records could follow those of a later unit of another topic (seen
    after a kill -9 of one of two workers: a message's ``deferred`` record, produced again after its ``sent`` one,
    was its last).
    """
    # The writer's own evidence only: its mark says it committed a unit it kept (and so had flushed every unit it kept
    # before). An entry found below the committed offset here says nothing of its writer's records: a later owner
    # that read its input again may have committed it, and the writer's earlier units' records may never have gone
    # (tried on 2026-12-05: five lines of waiting inputs stuck in a kill -9 test, their retries never produced).
    done = _marks(table.get(done_key(partition)))  # owner -> the latest of its units it committed itself
    settled = _marks(table.get(settled_key(partition)))  # owner -> the latest of its units a load settled
    entries, pruned, committed_by = _read_entries(table, partition, committed)
    # Units whose process committed a later unit of its own: flushed before that commit, writes (the changelog goes
    # through the same producer) and records alike, so complete: applied again, a unit would undo what a later one,
    # committed, set back (a line that ended came back, with no retry left to come round).
    gone = {n for n, (_, work) in enumerate(entries) if work.owner and work.seq < done.get(work.owner, -1)}
    delivered = [entries[n][0] for n in sorted(gone)]
    # Units whose writes are settled though their records may not have gone: those an earlier load settled (applied,
    # or judged complete: the process that wrote them was gone then, and units since may have set a key back), and
    # those kept before a unit of the same process found committed here. That unit was committed either by its
    # process, after flushing every unit it kept before it, or by a later owner, whose load settled them first.
    # Applied again, their writes would undo what came after them (2026-12-05, fifth session: a timer that had
    # fired set again, a line that had ended back).
    complete = {n for n, (_, work) in enumerate(entries)
                if work.owner and (work.seq <= settled.get(work.owner, -1)
                                   or work.seq < committed_by.get(work.owner, -1))}
    applied_writes = _apply(table, entries, gone | complete)
    now_settled: dict[str, int] = {}
    for _, work in entries:
        if work.owner:
            now_settled[work.owner] = max(now_settled.get(work.owner, -1), work.seq)
    if now_settled != settled:
        table.set(settled_key(partition), _encode_marks(now_settled))
    return Finished(applied_writes, pruned, _judged_records(entries, committed, answered, set(delivered)), delivered)


def done_key(partition: int) -> str:
    """The key of the partition's mark of the latest unit whose input was committed (``DONE_PREFIX``)."""
    return f"{DONE_PREFIX}{partition}"


def _read_entries(table: Table, partition: int, committed: Callable[[str, int], int | None]
                  ) -> tuple[list[tuple[str, Work]], int, dict[str, int]]:
    """The partition's entries of inputs not committed, in the order their units were kept; how many entries of
    committed inputs were deleted, and for each process the latest of its units among those; parts whose entry is
    not there are deleted."""
    entries: list[tuple[str, Work]] = []
    pruned = 0
    parts: list[str] = []
    committed_by: dict[str, int] = {}  # owner -> its latest unit found committed (by it, or by a later owner)
    for key in list(table.keys()):
        if key.startswith(PART_PREFIX):
            parts.append(key)
        if not key.startswith(ENTRY_PREFIX):
            continue
        topic, p, offset = entry_input(key)
        if p != partition:
            continue
        done_below = committed(topic, p)
        if done_below is not None and offset < done_below:
            if (work := _readable(table, key)) is not None and work.owner:
                committed_by[work.owner] = max(committed_by.get(work.owner, -1), work.seq)
            delete_entry(table, key)
            pruned += 1
        elif (raw := table.get(key)) is not None:
            entries.append((key, Work.decode(read_entry(table, key, raw))))
    entries.sort(key=lambda entry: (entry[1].seq, entry[0]))  # the order the units were kept in
    for key in parts:  # parts whose entry is not there: written by a unit that a crash cut short, or being deleted
        entry = ENTRY_PREFIX + key[len(PART_PREFIX):].rsplit(":", 1)[0]
        if entry_input(entry)[1] == partition and table.get(entry) is None:
            table.set(key, None)
    return entries, pruned, committed_by


def _apply(table: Table, entries: list[tuple[str, Work]], applied: set[int]) -> list[tuple[str, str]]:
    """Apply the entries not in ``applied`` that are still applicable, each all or none, again and again while one
    is (applying one can make the next one's apply); the writes applied (entry key, key written)."""
    applied_writes: list[tuple[str, str]] = []
    progress = True
    while progress:
        progress = False
        for n, (entry, work) in enumerate(entries):
            if n in applied:
                continue
            pending = work.still_applicable(table)
            if not pending:
                continue
            for key, value in pending.items():
                table.set(key, value)
                applied_writes.append((entry, key))
            applied.add(n)
            progress = True
    return applied_writes


def settled_key(partition: int) -> str:
    """The key of the partition's marks of the units its loads settled (``SETTLED_PREFIX``)."""
    return f"{SETTLED_PREFIX}{partition}"


def _marks(raw: bytes | None) -> dict[str, int]:
    """The marks ``<owner>:<seq>,...`` as owner -> seq (the done mark is one of them); anything unreadable is none."""
    return {owner: seq for part in (raw or b"").decode("ascii", "replace").split(",")
            for owner, seq in [_owner_seq(part)] if owner}


def _owner_seq(text: str) -> tuple[str, int]:
    owner, _, seq = text.rpartition(":")
    return (owner, int(seq)) if owner and seq.isdigit() else ("", -1)


def _encode_marks(marks: dict[str, int]) -> bytes | None:
    return ",".join(f"{owner}:{seq}" for owner, seq in sorted(marks.items())).encode("ascii") or None


def _readable(table: Table, key: str) -> Work | None:
    """The entry under ``key``, or None when it cannot be read (a part missing: an entry being deleted)."""
    raw = table.get(key)
    try:
        return Work.decode(read_entry(table, key, raw)) if raw is not None else None
    except (ValueError, zlib.error, KeyError, json.JSONDecodeError):
        return None


def _judged_records(entries: list[tuple[str, Work]], committed: Callable[[str, int], int | None],
                    answered: Callable[[str, int], bool] | None,
                    delivered: set[str]) -> list[tuple[str, list[Record]]]:
    """The records of the entries judged by a known offset: one of a topic whose offset is not known may be of a
    committed input, never read again, whose records are older than a later unit's (they are produced when its
    input is read again, if it is). Not those ``delivered``: a later unit of the same process was committed after
    them, so they went before it, and produced again they would come after its records (a message's ``deferred``
    after its ``sent``, seen once in 3,560 after three kill -9)."""
    def judged(topic: str, partition: int) -> bool:
        return committed(topic, partition) is not None or (answered is not None and answered(topic, partition))

    return [(entry, work.records) for entry, work in entries
            if work.records and entry not in delivered and judged(*entry_input(entry)[:2])]


class EntryTooLarge(ValueError):
    """A unit's write-ahead entry would be larger than Kafka accepts for one record."""


class WriteAheadLog:
    """The entries one stage wrote in this process, per input topic and partition, oldest first.

    ``committed(topic, partition)`` is the consumer group's committed offset (the next input to read),
    or ``None`` when not known; entries of inputs below it are deleted.
    """

    def __init__(self, table: Table, committed: Callable[[str, int], int | None], *,
                 stamp: Callable[[], int] = time.time_ns, owner: str | None = None) -> None:
        self.table = table
        self.committed = committed
        self.stamp = stamp
        self.owner = owner or uuid.uuid4().hex[:16]  # this process's (its stamps rise in the order it kept units)
        self._entries: dict[tuple[str, int], deque[tuple[int, str, int, int]]] = {}  # offset, key, parts, seq
        self._seq = 0
        self._done: dict[int, int] = {}  # partition -> the latest unit of this process whose input was committed

    def write(self, topic: str, partition: int, offset: int, work: Work, *, limit: int | None = None,
              parts: int = 1) -> bool:
        """Write the unit's entry if it needs one (before its writes reach the table); True if written. An entry
        larger than ``limit`` bytes is stored in up to ``parts`` parts (``PART_PREFIX``); raises ``EntryTooLarge``
        (writing nothing) when it needs more."""
        if not work.needs_entry():
            return False
        key = entry_key(topic, partition, offset)
        work.before = {k: digest(self.table.get(k)) for k in work.writes}
        # Wall nanoseconds, rising in this process: orders the units of different topics (whose offsets do not)
        # for the partition's next owner, after a crash (``finish_interrupted``).
        self._seq = work.seq = max(self.stamp(), self._seq + 1)
        work.owner = self.owner
        entry = work.encode()
        if limit is not None and len(entry) + len(key) > limit:
            # Only a unit this large pays for the best compression (a busy mailbox placed again: about 0.6x the
            # size, 3x the time); any zlib level reads back the same.
            entry = work.encode(level=9)
        count = 1
        if limit is None or len(entry) + len(key) <= limit:
            self.table.set(key, entry)
        else:
            count = self._write_parts(key, entry, limit, parts)
        self._entries.setdefault((topic, partition), deque()).append((offset, key, count, work.seq))
        return True

    def _write_parts(self, key: str, entry: bytes, limit: int, parts: int) -> int:
        size = limit - len(part_key(key, parts)) - len(SPLIT_FORMAT) - 2  # every part's key and value fit
        count = -(-len(entry) // size) if size > 0 else parts + 1
        if count > parts:
            msg = f"the write-ahead entry {key} would be {len(entry)} bytes, above {limit}"
            if parts > 1:
                msg += f" in each of {parts} parts"
            raise EntryTooLarge(msg)
        for n in range(count - 1):
            self.table.set(part_key(key, n), entry[n * size:(n + 1) * size])
        self.table.set(key, SPLIT_FORMAT + count.to_bytes(2, "big") + entry[(count - 1) * size:])
        log.info("write-ahead entry %s (%d bytes) stored in %d parts", key, len(entry), count)
        return count

    def prune(self, topic: str, partition: int) -> int:
        """Delete the entries of the inputs of ``topic``/``partition`` whose offset is committed."""
        entries = self._entries.get((topic, partition))
        committed = self.committed(topic, partition)
        if not entries or committed is None:
            return 0
        gone = []
        while entries and entries[0][0] < committed:
            gone.append(entries.popleft())
        latest = max((seq for *_, seq in gone), default=-1)
        if latest > self._done.get(partition, -1):  # marked first: the partition's changelog keeps the order
            self._done[partition] = latest
            self.table.set(done_key(partition), f"{self.owner}:{latest}".encode("ascii"))
        for _, key, count, _ in gone:
            delete_entry(self.table, key, count)
        return len(gone)

    def prune_all(self) -> int:
        return sum(self.prune(topic, partition) for topic, partition in list(self._entries))

    def prune_partition(self, partition: int) -> int:
        """Delete the entries of every input of ``partition`` (any topic) whose offset is committed."""
        return sum(self.prune(topic, p) for topic, p in list(self._entries) if p == partition)

    def prunable(self, partition: int, besides: str) -> bool:
        """Whether an input of ``partition`` on a topic other than ``besides`` (the ticks topic) has an entry
        still kept though its offset is committed: a quiet partition kept its last inputs' entries, which hold
        their states (a person's name after their erasure), until its next input (found by an audit of SPEC §9);
        the worker then ticks the partition, whose unit deletes them."""
        for (topic, p), entries in self._entries.items():
            if p != partition or topic == besides or not entries:
                continue
            committed = self.committed(topic, p)
            if committed is not None and entries[0][0] < committed:
                return True
        return False

    def forget(self, partition: int) -> None:
        """A revoked partition: its entries are no longer this process's to delete."""
        for key in [k for k in self._entries if k[1] == partition]:
            del self._entries[key]
        self._done.pop(partition, None)

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._entries.values())
