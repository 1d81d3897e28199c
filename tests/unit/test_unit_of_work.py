"""The worker's unit of work and write-ahead log (streams/unit.py), on a dict standing in for a table."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import DictTable
from wayfinder.streams.unit import (
    DONE_PREFIX,
    ENTRY_FORMAT,
    PART_PREFIX,
    EntryTooLarge,
    Finished,
    Work,
    WriteAheadLog,
    digest,
    done_key,
    entry_input,
    entry_key,
    finish_interrupted,
    part_key,
    replay,
)
from wayfinder.streams.wire import Record, dumps


class Table(DictTable):
    """A dict table whose ``log`` lists the writes in order."""

    def __init__(self, items: dict[str, bytes] | None = None) -> None:
        super().__init__(items or {})
        self.log: list[tuple[str, bytes | None]] = []

    def set(self, key: str, value: bytes | None) -> None:
        self.log.append((key, value))
        super().set(key, value)


def state_log(table: Table) -> list[tuple[str, bytes | None]]:
    """The table's writes but the write-ahead log's marks (``DONE_PREFIX``: a load notes what it settled)."""
    return [w for w in table.log if not w[0].startswith(DONE_PREFIX)]


def unit(writes: dict[str, bytes | None], records: list[Record] | None = None) -> Work:
    return Work(dict(writes), list(records or []))


def written(table: Table, work: Work, topic: str = "hris", partition: int = 0, offset: int = 0) -> str:
    """Write ``work``'s entry as the stage does (entry first, then the writes); returns the entry key."""
    WriteAheadLog(table, lambda t, p: None).write(topic, partition, offset, work)
    return entry_key(topic, partition, offset)


values = st.one_of(st.none(), st.text(max_size=40).map(lambda s: s.encode("utf-8")), st.binary(max_size=40))
records = st.builds(Record, st.sampled_from(["outbound.messages", "mailbox", "audit"]),
                    st.one_of(st.none(), st.text(max_size=12)), values,
                    st.one_of(st.none(), st.integers(0, 11)))


@given(st.dictionaries(st.text(min_size=1, max_size=20), values, max_size=6), st.lists(records, max_size=5),
       st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=16), max_size=6))
def test_an_entry_decodes_to_the_unit_it_encodes(writes: dict[str, bytes | None], recs: list[Record],
                                                 before: dict[str, str]) -> None:
    work = Work(writes, recs, before)
    assert Work.decode(work.encode()) == work


def test_an_entry_too_large_at_the_fast_level_is_written_at_the_best_one_if_that_fits() -> None:
    # Messages that repeat one another at a distance zlib's fastest level does not look back over.
    text = ("".join(f"line {n} of a long message, the same in every copy; " for n in range(400))).encode()
    work = unit({f"h:M1\x1fm{n}": b'{"n": %d, "text": "%s"}' % (n, text) for n in range(40)},
                [Record("outbound.messages", f"m{n}", b'{"n": %d, "text": "%s"}' % (n, text)) for n in range(40)])
    work.before = dict.fromkeys(work.writes, "-")  # as the write finds them: missing
    work.seq, work.owner = 1, "p1"  # as the write stamps it
    fast, best = len(work.encode()), len(work.encode(level=9))
    assert best < fast
    limit = (fast + best) // 2 + len(entry_key("mailbox", 0, 7))
    table = Table()
    assert WriteAheadLog(table, lambda t, p: None, stamp=lambda: 1, owner="p1").write("mailbox", 0, 7, work,
                                                                                      limit=limit)
    stored = table.get(entry_key("mailbox", 0, 7))
    assert stored is not None and len(stored) == best
    assert Work.decode(stored) == work
    with pytest.raises(EntryTooLarge):
        WriteAheadLog(Table(), lambda t, p: None, stamp=lambda: 1).write("mailbox", 0, 7, work, limit=best - 1)


long_values = st.binary(min_size=60, max_size=200)


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.one_of(st.none(), long_values), min_size=1, max_size=5),
       st.lists(st.tuples(st.integers(0, 4), st.one_of(st.none(), long_values), st.booleans()), max_size=6))
def test_an_entry_whose_records_repeat_its_writes_decodes_to_the_same_unit(
        writes: dict[str, bytes | None], picks: list[tuple[int, bytes | None, bool]]) -> None:
    values = list(writes.values())
    recs = [Record("outbound.messages", f"m{n}", values[i % len(values)] if same else other, None)
            for n, (i, other, same) in enumerate(picks)]
    work = Work(writes, recs, {})
    assert Work.decode(work.encode()) == work


def test_a_held_message_written_and_recorded_is_in_the_entry_once() -> None:
    message = ("a held message, its text and HTML; " * 200).encode()
    twice = unit({"h:M1\x1fm1": message, "s:M1": b"{}"}, [Record("outbound.messages", "m1", message)])
    apart = unit({"h:M1\x1fm1": message, "s:M1": b"{}"}, [Record("outbound.messages", "m1", message + b" ")])
    body = zlib.decompress(twice.encode(level=0)[len(ENTRY_FORMAT):])
    assert body.count(message) == 1
    assert zlib.decompress(apart.encode(level=0)[len(ENTRY_FORMAT):]).count(message) == 2  # not the same: kept
    assert Work.decode(twice.encode()) == twice


def test_an_entry_of_the_first_framed_format_still_decodes() -> None:
    """``W1`` (before 2026-12-02): every value framed by its length, none named by a write's key."""
    head = dumps({"w": [["s:E1", 3], ["t:0:x", -1]], "b": {"s:E1": "-"},
                  "r": [["outbound.messages", "m1", 3, None], ["audit", None, -1, 2]]})
    raw = b"W1" + zlib.compress(len(head).to_bytes(4, "big") + head + b"abc" + b"{1}")
    assert Work.decode(raw) == Work({"s:E1": b"abc", "t:0:x": None},
                                    [Record("outbound.messages", "m1", b"{1}"), Record("audit", None, None, 2)],
                                    {"s:E1": "-"})


def test_an_entry_of_an_earlier_release_still_decodes() -> None:
    """Entries were zlib-compressed JSON before ``ENTRY_FORMAT``: a worker upgraded with some in its changelog
    replays and finishes them."""
    work = Work({"s:e1": '{"a":"é"}'.encode(), "t:0:x": None}, [Record("mailbox", "e2", b'{"m":1}', 3),
                                                                  Record("directory", "e1", None)], {"s:e1": "-"})
    old = zlib.compress(dumps({"writes": {"s:e1": '{"a":"é"}', "t:0:x": None}, "before": {"s:e1": "-"},
                               "records": [r.to_json() for r in work.records]}), 1)
    assert Work.decode(old) == work
    assert work.encode().startswith(ENTRY_FORMAT)
    assert Work.decode(work.encode()) == work


def test_a_digest_tells_a_missing_key_from_an_empty_value() -> None:
    assert digest(None) == "-"
    assert digest(b"") != digest(None)
    assert digest(b"a") != digest(b"b")
    assert digest(b"a") == digest(b"a")


def test_only_a_unit_with_records_or_several_writes_is_written_ahead() -> None:
    table = Table({"s:e1": b"old"})
    wal = WriteAheadLog(table, lambda t, p: None)
    assert not wal.write("hris", 0, 1, unit({"s:e1": b"new"}))
    assert wal.write("hris", 0, 2, unit({"s:e1": b"new", "t:0:x": b"timer"}))
    assert wal.write("hris", 0, 3, unit({}, [Record("audit", "e1", b"{}")]))
    assert sorted(k for k in table if k.startswith("w:")) == ["w:hris:0:2", "w:hris:0:3"]
    entry = Work.decode(table["w:hris:0:2"])
    assert entry.before == {"s:e1": digest(b"old"), "t:0:x": "-"}
    assert len(wal) == 2


def test_a_replay_returns_the_same_records_and_leaves_the_writes_to_the_partitions_load() -> None:
    table = Table({"s:e1": b"v1", "s:e2": b"w1"})
    recs = [Record("outbound.messages", "e1", b'{"id":"m1"}'), Record("mailbox", "r1", b"{}", 3)]
    key = written(table, unit({"s:e1": b"v2", "s:e2": b"w2", "t:0:a": b"timer"}, recs), offset=7)
    # The crash: the entry and one write reached the table, the others did not.
    table["s:e2"] = b"w2"
    table.log.clear()
    replayed = replay(table, key)
    assert replayed is not None
    assert replayed.records == recs
    assert state_log(table) == []  # the input read again writes nothing
    done = finish_interrupted(table, 0)  # the next owner's load finishes the unit
    assert sorted(k for _, k in done.writes) == ["s:e1", "t:0:a"]
    assert table["s:e1"] == b"v2"
    assert table["t:0:a"] == b"timer"
    assert ("s:e2", b"w2") not in table.log  # there already


def test_finishing_applies_nothing_of_a_unit_another_unit_changed_since() -> None:
    """A key of the unit holds neither what it held before the unit nor what the unit wrote: another unit (an input
    of another topic, committed after this one) changed it since, so the unit is complete. None of its writes is
    applied (the others would undo or half-apply what came after it); its records come again when its input is."""
    table = Table({"s:e1": b"v1", "s:e2": b"w1"})
    recs = [Record("outbound.messages", "e1", b'{"id":"m1"}')]
    key = written(table, unit({"s:e1": b"v2", "s:e2": b"w2", "t:0:a": b"timer"}, recs), offset=7)
    table["s:e2"] = b"w9"
    table.log.clear()
    assert finish_interrupted(table, 0).writes == []
    replayed = replay(table, key)
    assert replayed is not None
    assert replayed.records == recs
    assert state_log(table) == []
    assert table["s:e2"] == b"w9"  # not taken back to what the unit wrote


def test_a_replay_never_writes_back_what_a_later_unit_set_back() -> None:
    """The next owner finished the partition at load; a unit of its own then set a key back to what it held before
    an interrupted unit (the line that unit started ended). When the interrupted unit's input is read again, its
    entry looks unapplied: written again, the line came back with no retry left to come round (a line stale in a
    kill -9 CI run, 2026-12-05)."""
    table = Table({"s:e1": b"v1"})
    key = written(table, unit({"h:0:e1": b"line", "s:e1": b"v1 held"}, [Record("employee-ticks", None, b"retry")]))
    table["h:0:e1"], table["s:e1"] = b"line", b"v1 held"
    assert finish_interrupted(table, 0).writes == []  # complete
    del table["h:0:e1"]  # the new owner decided the retry: the line ended
    table["s:e1"] = b"v1"
    table.log.clear()
    replayed = replay(table, key)
    assert replayed is not None and replayed.records == [Record("employee-ticks", None, b"retry")]
    assert state_log(table) == [] and "h:0:e1" not in table


def test_a_replay_of_an_input_without_an_entry_finds_nothing() -> None:
    table = Table({"s:e1": b"v1"})
    assert replay(table, entry_key("hris", 0, 1)) is None
    assert state_log(table) == []


def test_finishing_applies_a_deletion_where_the_key_still_holds_its_old_value() -> None:
    table = Table({"s:e1": b"v1", "t:0:a": b"timer"})
    written(table, unit({"s:e1": None, "t:0:a": None}, [Record("audit", "e1", b"{}")]))
    assert sorted(k for _, k in finish_interrupted(table, 0).writes) == ["s:e1", "t:0:a"]
    assert "s:e1" not in table
    assert "t:0:a" not in table


def test_a_replay_never_fires_a_timer_without_writing_the_state_that_fired_it() -> None:
    """Run e5 (kill -9, RocksDB): the unit that fired a timer (timer deleted, state moved to the next step, next
    timer set) found its timer back with the value it had before, its state holding another value, its next timer
    there. Deleting the timer alone left the state waiting for a timer that no longer existed."""
    table = Table({"s:e1": b"step 2, waiting for timer 1", "t:0:e1/1": b"timer 1"})
    fired = unit({"t:0:e1/1": None, "s:e1": b"step 3, waiting for timer 2", "t:0:e1/2": b"timer 2"},
                 [Record("mailbox", "e1", b"first-day")])
    key = written(table, fired, offset=318)
    table["t:0:e1/1"] = b"timer 1"  # restored from the changelog (its deletion never left)
    table["s:e1"] = b"step 2, waiting for timer 1 (an older copy)"
    table.log.clear()
    assert finish_interrupted(table, 0).writes == []
    replayed = replay(table, key)
    assert replayed is not None and state_log(table) == []
    assert table["t:0:e1/1"] == b"timer 1"  # the state waits for it: it is still there to fire


def test_interrupted_entries_are_finished_in_order_until_nothing_changes() -> None:
    table = Table({"s:e1": b"v0"})
    # Two units of the same key, from two topics: the second was written ahead against the first one's
    # state, so it applies only once the first is in place, whatever order the table lists them in.
    second = unit({"s:e1": b"v2", "t:0:b": b"timer-b"}, [Record("audit", "e1", b"2")])
    first = unit({"s:e1": b"v1", "t:0:a": b"timer-a"}, [Record("audit", "e1", b"1")])
    first.before = {"s:e1": digest(b"v0"), "t:0:a": "-"}
    second.before = {"s:e1": digest(b"v1"), "t:0:b": "-"}
    table[entry_key("engagement", 0, 5)] = second.encode()  # listed first
    table[entry_key("hris", 0, 4)] = first.encode()
    assert len(finish_interrupted(table, 0).writes) == 4
    assert table["s:e1"] == b"v2"
    assert table["t:0:a"] == b"timer-a"
    assert table["t:0:b"] == b"timer-b"
    table.log.clear()
    assert finish_interrupted(table, 0).writes == []  # finished entries change nothing
    assert state_log(table) == []


def test_finishing_leaves_other_partitions_and_overtaken_keys_alone() -> None:
    table = Table({"s:e1": b"v0", "s:e3": b"x0"})
    other = unit({"s:e3": b"x1", "t:1:c": b"timer"})
    other.before = {"s:e3": digest(b"x0"), "t:1:c": "-"}
    table[entry_key("hris", 1, 0)] = other.encode()
    stale = unit({"s:e1": b"v1", "t:0:a": b"timer"})
    stale.before = {"s:e1": digest(b"older"), "t:0:a": "-"}
    table[entry_key("hris", 0, 0)] = stale.encode()
    assert finish_interrupted(table, 0).writes == []
    assert table["s:e1"] == b"v0"  # the unit's state was overtaken: kept
    assert "t:0:a" not in table  # and so is the unit: nothing of it is applied, not its timer alone
    assert table["s:e3"] == b"x0"  # partition 1 is not this call's


def test_finishing_never_brings_back_what_a_later_unit_set_back() -> None:
    """A hire set a timer; a later unit (of another topic, its input committed, its entry pruned) fired it: the
    timer's key holds its old value (none) again, the state a later one. The hire's entry is not applied: its timer
    does not come back (its state write alone would not either)."""
    table = Table({"s:e1": b"v0"})
    hire = unit({"s:e1": b"v1", "t:0:a": b"timer"}, [Record("audit", "e1", b"1")])
    key = written(table, hire, offset=4)
    table["s:e1"], table["t:0:a"] = b"v1", b"timer"
    table["s:e1"] = b"v2"  # the tick that fired it
    del table["t:0:a"]
    table.log.clear()
    assert finish_interrupted(table, 0).writes == []
    assert "t:0:a" not in table
    replayed = replay(table, key)
    assert replayed is not None and state_log(table) == []


def test_pruning_deletes_only_the_entries_of_committed_inputs() -> None:
    table = Table()
    committed = {("hris", 0): 3, ("engagement", 0): None}
    wal = WriteAheadLog(table, lambda topic, partition: committed.get((topic, partition)))
    for offset in range(5):
        wal.write("hris", 0, offset, unit({}, [Record("audit", "e", b"{}")]))
        wal.write("engagement", 0, offset, unit({}, [Record("audit", "e", b"{}")]))
    wal.write("hris", 1, 0, unit({}, [Record("audit", "e", b"{}")]))
    assert wal.prune("hris", 0) == 3  # offsets 0, 1, 2: the group reads 3 next
    assert wal.prune("engagement", 0) == 0  # nothing known to be committed
    entries = sorted(k for k in table if k.startswith("w:"))
    assert entries == sorted([*(entry_key("engagement", 0, o) for o in range(5)),
                              entry_key("hris", 0, 3), entry_key("hris", 0, 4), entry_key("hris", 1, 0)])
    committed[("hris", 0)] = 5
    committed[("engagement", 0)] = 1
    assert wal.prune_all() == 3
    assert sorted(k for k in table if k.startswith("w:")) == sorted(
        [*(entry_key("engagement", 0, o) for o in range(1, 5)), entry_key("hris", 1, 0)])


def test_a_revoked_partition_entries_are_left_for_its_new_owner() -> None:
    table = Table()
    wal = WriteAheadLog(table, lambda topic, partition: 100)
    wal.write("hris", 0, 1, unit({}, [Record("audit", "e", b"{}")]))
    wal.write("hris", 1, 1, unit({}, [Record("audit", "e", b"{}")]))
    wal.forget(0)
    assert wal.prune_all() == 1
    assert sorted(k for k in table if k.startswith("w:")) == [entry_key("hris", 0, 1)]


def test_finishing_leaves_the_entries_of_committed_inputs_alone() -> None:
    """A hire's entry is not yet pruned though its offset is committed; a tick (pruned) fired its timer since.
    The timer's key holds its old value again (none), but the hire's unit is complete: nothing comes back."""
    table = Table({"s:e1": b"v1"})
    hire = unit({"s:e1": b"v1", "t:0:a": b"timer"}, [Record("audit", "e1", b"1")])
    hire.before = {"s:e1": digest(b"v0"), "t:0:a": "-"}
    table[entry_key("hris", 0, 4)] = hire.encode()
    assert finish_interrupted(table, 0, lambda topic, partition: 4).writes == [  # offset 4 not committed: finished
        (entry_key("hris", 0, 4), "t:0:a")]
    assert table["t:0:a"] == b"timer"
    del table["t:0:a"]  # the tick again
    done = finish_interrupted(table, 0, lambda topic, partition: 5 if topic == "hris" else None)
    assert done == Finished([], 1)  # the entry is complete, and deleted
    assert "t:0:a" not in table
    assert entry_key("hris", 0, 4) not in table


def test_a_line_that_ended_does_not_come_back_when_its_first_input_is_committed() -> None:
    """An employee's first waiting input (``hris`` 7) started a line, a retry (a tick, committed since) ended it. The
    next owner of the partition deletes the first input's entry: with the line back, the employee's inputs would
    wait behind a turn whose retry is long gone (seen after kill -9 when the committed offsets were not yet known)."""
    table = Table({"s:e1": b"v1"})
    wal = WriteAheadLog(table, lambda topic, partition: None)
    wal.write("hris", 3, 7, unit({"h:3:e1": b"line", "s:e1": b"v1"}, [Record("ticks", "e1", b"retry")]))
    table["h:3:e1"], table["s:e1"] = b"line", b"v1"
    wal.write("ticks", 3, 0, unit({"h:3:e1": None, "s:e1": b"v2"}, [Record("audit", "e1", b"decided")]))
    del table["h:3:e1"]
    table["s:e1"] = b"v2"
    committed = {("hris", 3): 8, ("ticks", 3): 1}
    done = finish_interrupted(table, 3, lambda topic, partition: committed.get((topic, partition)))
    assert done == Finished([], 2)
    assert "h:3:e1" not in table
    assert not any(k.startswith("w:") for k in table)
    assert table["s:e1"] == b"v2"


def test_the_input_of_an_entry_is_read_from_its_key() -> None:
    assert entry_input(entry_key("t1.hris.events", 3, 42)) == ("t1.hris.events", 3, 42)


def _incompressible(n: int, size: int = 3_000) -> Work:
    """A unit of ``n`` writes and records that compression cannot make small (random-looking bytes)."""
    import hashlib

    blobs = [b"".join(hashlib.sha256(b"%d:%d" % (i, j)).digest() for j in range(size // 32)) for i in range(n)]
    return unit({f"h:M1\x1fm{i}": blob for i, blob in enumerate(blobs)},
                [Record("outbound.messages", f"m{i}", blob + b"!") for i, blob in enumerate(blobs)])


def test_an_entry_larger_than_one_record_is_stored_in_parts_each_within_the_limit_and_read_back_whole() -> None:
    work = _incompressible(20)  # about 120 KB
    table = Table()
    wal = WriteAheadLog(table, lambda t, p: None)
    with pytest.raises(EntryTooLarge):
        wal.write("mailbox", 0, 7, work, limit=20_000)
    assert table == {}  # nothing written
    assert wal.write("mailbox", 0, 7, work, limit=20_000, parts=32)
    key = entry_key("mailbox", 0, 7)
    parts = sorted(k for k in table if k.startswith(PART_PREFIX))
    assert len(parts) >= 5 and all(len(k) + len(table[k]) <= 20_000 for k in [*parts, key])
    assert [k for k, _ in table.log][-1] == key  # the entry's key last: where it is, every part is
    replayed = replay(table, key)
    assert replayed is not None and replayed.records == work.records
    with pytest.raises(EntryTooLarge, match="in each of 3 parts"):
        WriteAheadLog(Table(), lambda t, p: None).write("mailbox", 0, 7, work, limit=20_000, parts=3)


def test_an_entry_in_parts_is_pruned_whole_its_key_first() -> None:
    table = Table()
    committed: dict[str, int | None] = {"mailbox": None}
    wal = WriteAheadLog(table, lambda t, p: committed[t])
    wal.write("mailbox", 0, 7, _incompressible(20), limit=20_000, parts=32)
    table.log.clear()
    committed["mailbox"] = 8
    assert wal.prune("mailbox", 0) == 1
    assert not any(k.startswith(("w:", PART_PREFIX)) for k in table)
    assert table.log[0][0] == done_key(0)  # the mark of the latest committed unit goes first
    assert next(w for w in table.log if not w[0].startswith(DONE_PREFIX)) == (entry_key("mailbox", 0, 7), None)


def test_finishing_applies_an_interrupted_entry_in_parts_and_deletes_parts_without_their_entry() -> None:
    work = _incompressible(20)
    table = Table()
    WriteAheadLog(table, lambda t, p: None).write("mailbox", 0, 7, work, limit=20_000, parts=32)
    # A unit cut short after writing some parts and not its entry's key (its input was not committed).
    WriteAheadLog(table, lambda t, p: None).write("mailbox", 0, 9, _incompressible(30), limit=20_000, parts=32)
    del table[entry_key("mailbox", 0, 9)]
    # Another partition's parts are not this call's.
    table[part_key(entry_key("mailbox", 1, 3), 0)] = b"x"
    done = finish_interrupted(table, 0)
    assert {key for _, key in done.writes} == set(work.writes)
    assert all(table[k] == v for k, v in work.writes.items())
    assert sorted(k for k in table if k.startswith(PART_PREFIX)) == sorted(
        [*(k for k in table if k.startswith(PART_PREFIX + "mailbox:0:7:")), part_key(entry_key("mailbox", 1, 3), 0)])
    assert not any(k.startswith(PART_PREFIX + "mailbox:0:9:") for k in table)
    assert finish_interrupted(table, 0, lambda t, p: 8).pruned == 1  # committed: the entry and its parts go
    assert sorted(k for k in table if k.startswith(("w:", PART_PREFIX))) == [part_key(entry_key("mailbox", 1, 3), 0)]


def test_an_entry_whose_part_is_missing_is_an_error_that_names_it() -> None:
    table = Table()
    WriteAheadLog(table, lambda t, p: None).write("mailbox", 0, 7, _incompressible(20), limit=20_000, parts=32)
    del table[part_key(entry_key("mailbox", 0, 7), 1)]
    with pytest.raises(ValueError, match=r"w:mailbox:0:7: part\(s\) \[1\] of"):
        replay(table, entry_key("mailbox", 0, 7))


def _kept_by(wal: WriteAheadLog, table: Table, topic: str, offset: int, status: str) -> str:
    """A mailbox unit of ``wal``'s process: the recipient's state and a status record of message m1."""
    wal.write(topic, 0, offset, unit({"s:R": status.encode()}, [Record("outbound.messages", "m1", status.encode())]))
    table.set("s:R", status.encode())
    return entry_key(topic, 0, offset)


def test_an_interrupted_unit_before_a_committed_one_of_its_process_is_not_produced_again() -> None:
    """A mailbox input deferred m1 and was not committed (its topic's commits lagged); a tick after it sent m1 and
    was committed. A commit waits for the producer's flush, so the deferral had gone before the tick's record:
    produced again at the next owner's load (or when its input is read again), it came after ``sent`` and was
    m1's last record (one message of 3,560 in a kill -9 test in CI). The evidence is the writer's own: when it
    deleted its entry of the committed tick, it marked the partition (``DONE_PREFIX``)."""
    table = Table()
    committed: dict[str, int | None] = {"mailbox": None, "ticks": None}
    wal = WriteAheadLog(table, lambda t, p: committed[t], stamp=iter(range(100, 200)).__next__, owner="p1")
    deferred = _kept_by(wal, table, "mailbox", 5, "deferred")
    _kept_by(wal, table, "ticks", 9, "sent")
    committed["ticks"] = 10  # the tick's input committed; the mailbox's (offset 5) not
    assert wal.prune("ticks", 0) == 1 and table.get(done_key(0)) == b"p1:101"
    done = finish_interrupted(table, 0, lambda t, p: {"mailbox": 5, "ticks": 10}[t])
    assert done.delivered == [deferred]
    assert done.records == []  # nothing produced again: m1's last record stays ``sent``
    assert done.writes == []  # and the state stays the tick's
    assert table.get("s:R") == b"sent"


def test_an_interrupted_unit_before_a_committed_one_of_its_process_is_not_applied_again() -> None:
    """A worker held an input (its unit started the employee's line) and did not commit it (its topic's commits
    lagged); a retry after it ended the line and was committed, with the mark. The held input's unit had gone
    before that commit, so it is complete: applied again at the next owner's load, the line (which the later unit
    set back to nothing) came back with no retry left to come round, and went stale."""
    table = Table()
    committed: dict[str, int | None] = {"hris": None, "ticks": None}
    wal = WriteAheadLog(table, lambda t, p: committed[t], stamp=iter(range(100, 200)).__next__, owner="p1")
    wal.write("hris", 0, 5, unit({"h:0:e1": b"line"}, [Record("employee-ticks", None, b"retry")]))
    table.set("h:0:e1", b"line")
    wal.write("ticks", 0, 9, unit({"h:0:e1": None, "s:e1": b"decided"}, [Record("outbound.messages", "m1", b"sent")]))
    table.set("h:0:e1", None)
    table.set("s:e1", b"decided")
    committed["ticks"] = 10
    assert wal.prune("ticks", 0) == 1
    done = finish_interrupted(table, 0, lambda t, p: {"hris": 5, "ticks": 10}[t])
    assert done.delivered == [entry_key("hris", 0, 5)]
    assert done.writes == [] and table.get("h:0:e1") is None  # the line stays ended


def test_a_committed_entry_found_by_the_next_owner_is_no_evidence_that_its_writer_flushed() -> None:
    """The same two units, the writer killed before it deleted the tick's entry: the entry found below the committed
    offset may have been committed by a later owner that read the tick again (and replayed its entry), not by its
    writer, whose earlier units may never have gone. So the deferral is produced again (tried on 2026-12-05 with
    such entries as evidence: in a kill -9 test five lines of waiting inputs were stuck, their retries never
    produced). The entry is deleted, as any of a committed input."""
    table = Table()
    wal = WriteAheadLog(table, lambda t, p: None, stamp=iter(range(100, 200)).__next__, owner="p1")
    deferred = _kept_by(wal, table, "mailbox", 5, "deferred")
    _kept_by(wal, table, "ticks", 9, "sent")
    done = finish_interrupted(table, 0, lambda t, p: {"mailbox": 5, "ticks": 10}[t])
    assert done.pruned == 1 and table.get(entry_key("ticks", 0, 9)) is None
    assert done.delivered == []
    assert [entry for entry, _ in done.records] == [deferred]


def test_an_interrupted_unit_after_the_committed_ones_or_of_another_process_is_produced_again() -> None:
    """What no commit covered may not have gone: a unit kept after the last committed one of its process, and one of
    another process (a previous owner: its stamps are of another clock) are produced again, as before."""
    table = Table()
    committed: dict[str, int | None] = {"mailbox": None, "ticks": None}
    first = WriteAheadLog(table, lambda t, p: committed[t], stamp=iter(range(500, 600)).__next__, owner="p0")
    older = _kept_by(first, table, "mailbox", 3, "deferred")  # a previous owner's, stamped later by its clock
    wal = WriteAheadLog(table, lambda t, p: committed[t], stamp=iter(range(100, 200)).__next__, owner="p1")
    _kept_by(wal, table, "ticks", 9, "sent")
    after = _kept_by(wal, table, "mailbox", 5, "suppressed")
    committed["ticks"] = 10
    assert wal.prune("ticks", 0) == 1
    done = finish_interrupted(table, 0, lambda t, p: {"mailbox": 3, "ticks": 10}[t])
    assert done.delivered == []
    assert [entry for entry, _ in done.records] == [after, older]  # in the order they were kept (their stamps)


def test_an_unreadable_committed_entry_is_deleted_and_says_nothing_of_the_others() -> None:
    table = Table()
    wal = WriteAheadLog(table, lambda t, p: None, stamp=iter(range(100, 200)).__next__, owner="p1")
    interrupted = _kept_by(wal, table, "mailbox", 5, "deferred")
    table.set(entry_key("ticks", 0, 9), ENTRY_FORMAT + b"not zlib")
    done = finish_interrupted(table, 0, lambda t, p: {"mailbox": 5, "ticks": 10}[t])
    assert done.pruned == 1 and table.get(entry_key("ticks", 0, 9)) is None
    assert done.delivered == [] and [entry for entry, _ in done.records] == [interrupted]


def test_the_residual_a_committed_unit_without_the_mark_keeps_an_earlier_unit_from_being_applied_again() -> None:
    """The writer held an input (its unit started the line) that was not committed, then a retry ended the line and
    was committed; the writer was killed before it marked the partition. The committed entry is no evidence of the
    writer's records (above), but it is of its writes: either its writer committed it (after flushing the unit
    before it) or a later owner did, whose load had settled that unit. Applied again, the line came back."""
    table = Table()
    wal = WriteAheadLog(table, lambda t, p: None, stamp=iter(range(100, 200)).__next__, owner="p1")
    held = entry_key("hris", 0, 5)
    wal.write("hris", 0, 5, unit({"h:0:e1": b"line"}, [Record("employee-ticks", None, b"retry")]))
    table.set("h:0:e1", b"line")
    wal.write("ticks", 0, 9, unit({"h:0:e1": None, "s:e1": b"decided"}, [Record("outbound.messages", "m1", b"sent")]))
    table.set("h:0:e1", None)
    table.set("s:e1", b"decided")
    done = finish_interrupted(table, 0, lambda t, p: {"hris": 5, "ticks": 10}[t])  # no mark: killed before it
    assert done.pruned == 1
    assert done.writes == [] and table.get("h:0:e1") is None  # the line stays ended
    assert [entry for entry, _ in done.records] == [held]  # its records come again, as before


def test_a_unit_a_load_settled_is_not_applied_again_by_the_next_load() -> None:
    """Killed twice: the next owner's load applied an interrupted unit (a timer set), a unit of its own then fired the
    timer (its key back to nothing), and it was killed before it committed the interrupted unit's input. The third
    owner's load found the unit looking unapplied again: the timer that had fired came back (and fired twice)."""
    table = Table()
    first = WriteAheadLog(table, lambda t, p: None, stamp=iter(range(100, 200)).__next__, owner="p1")
    first.write("hris", 0, 5, unit({"s:e1": b"waiting", "t:0:e1": b"timer"}, [Record("audit", "e1", b"1")]))
    assert sorted(k for _, k in finish_interrupted(table, 0, lambda t, p: 5).writes) == ["s:e1", "t:0:e1"]
    second = WriteAheadLog(table, lambda t, p: None, stamp=iter(range(300, 400)).__next__, owner="p2")
    second.write("employee-ticks", 0, 2, unit({"s:e1": b"waiting", "t:0:e1": None}, [Record("audit", "e1", b"2")]))
    table.set("t:0:e1", None)  # the timer fired (the state as it was: the key back to what it held before)
    done = finish_interrupted(table, 0, lambda t, p: {"hris": 5, "employee-ticks": 2}[t])
    assert done.writes == [] and table.get("t:0:e1") is None  # the timer stays fired
    assert [entry for entry, _ in done.records] == [entry_key("hris", 0, 5), entry_key("employee-ticks", 0, 2)]


def test_a_process_given_its_partition_back_has_its_new_units_applied() -> None:
    """The settled marks name units, not processes: a process that owned the partition before (its old units
    settled by a load) and owns it again has the units it keeps now finished by the next load when it dies."""
    table = Table()
    wal = WriteAheadLog(table, lambda t, p: None, stamp=iter(range(100, 200)).__next__, owner="p1")
    wal.write("hris", 0, 5, unit({"s:e1": b"a", "t:0:e1": b"timer a"}))
    finish_interrupted(table, 0, lambda t, p: 5)  # settles p1's unit 100 (applied)
    wal.write("hris", 0, 6, unit({"s:e2": b"b", "t:0:e2": b"timer b"}))  # the same process, later: not written yet
    done = finish_interrupted(table, 0, lambda t, p: 5)
    assert sorted(k for _, k in done.writes) == ["s:e2", "t:0:e2"]
