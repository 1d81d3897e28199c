"""``streams.health.OffsetWatch``: an agent processes each input partition's offsets one after the other. Offsets the
consumer never delivered are read again (the records behind them passed by until they come), and counted as lost
only when they cannot come; a replay (a seek back) and a partition that changed owner are not gaps."""

from __future__ import annotations

from wayfinder.streams.health import PASS_BY, PROCESS, OffsetWatch, Seen


def _run(w: OffsetWatch, offsets: list[int], now: float = 0.0) -> list[Seen]:
    return [w.see("t", 0, o, now) for o in offsets]


def test_offsets_one_after_the_other_are_processed() -> None:
    w = OffsetWatch()
    assert _run(w, [5, 6, 7]) == [PROCESS] * 3  # the first one seen starts the count
    assert w.see("t", 1, 40, 0.0) == PROCESS  # partitions are watched apart
    assert not w.rereading("t", 0)


def test_a_jump_forward_reads_the_partition_again_from_the_first_missing_offset() -> None:
    w = OffsetWatch()
    _run(w, [5, 6, 7])
    assert w.see("t", 0, 10, 0.0) == Seen(False, reread_from=8)  # 8 and 9 never came: read again from 8
    assert w.rereading("t", 0)
    assert _run(w, [11, 12]) == [PASS_BY, PASS_BY]  # queued behind the gap: they come again after it
    assert w.see("t", 1, 3, 0.0) == PROCESS  # another partition goes on meanwhile
    assert _run(w, [8, 9, 10, 11, 12, 13]) == [PROCESS] * 6  # read again, in order
    assert not w.rereading("t", 0)


def test_a_gap_that_never_fills_is_given_up_when_the_partition_comes_round_again_without_it() -> None:
    w = OffsetWatch()
    _run(w, [5, 6, 7])
    assert w.see("t", 0, 10, 0.0) == Seen(False, reread_from=8)
    assert w.see("t", 0, 11, 0.0) == PASS_BY
    # read again from 8, the first record that comes is 10 (8 and 9 are gone from the log): lost, and no loop
    assert w.see("t", 0, 10, 1.0) == Seen(True, lost=2)
    assert _run(w, [11, 12]) == [PROCESS, PROCESS]
    assert not w.rereading("t", 0)


def test_a_wait_for_the_missing_offsets_ends_after_the_limit() -> None:
    w = OffsetWatch(limit=60.0)
    _run(w, [0, 1])
    assert w.see("t", 0, 3, 0.0) == Seen(False, reread_from=2)
    assert w.see("t", 0, 4, 59.0) == PASS_BY
    assert w.see("t", 0, 5, 60.0) == Seen(True, lost=3)  # 2, and 3 and 4 passed by: given up


def test_a_seek_back_while_reading_again_is_a_replay() -> None:
    w = OffsetWatch()
    _run(w, [10, 11])
    assert w.see("t", 0, 14, 0.0) == Seen(False, reread_from=12)
    assert w.see("t", 0, 9, 0.0) == PROCESS  # the group's committed offset, after a rebalance
    assert _run(w, [10, 11, 12]) == [PROCESS] * 3
    assert not w.rereading("t", 0)


def test_a_seek_back_is_a_replay_and_starts_the_count_again() -> None:
    w = OffsetWatch()
    _run(w, list(range(10, 20)))
    assert _run(w, [12, 13]) == [PROCESS, PROCESS]  # back to the committed offset after a rebalance
    assert w.see("t", 0, 15, 0.0) == Seen(False, reread_from=14)


def test_a_revoked_partition_is_forgotten_so_its_next_owners_progress_is_no_gap() -> None:
    w = OffsetWatch()
    w.see("t", 0, 100, 0.0)
    w.see("t", 1, 7, 0.0)
    w.see("t", 1, 9, 0.0)  # a gap on partition 1, being read again
    w.forget({("t", 0), ("t", 1)})
    assert w.see("t", 0, 200, 0.0) == PROCESS  # another worker processed 101-199 meanwhile
    assert not w.rereading("t", 1)
    assert w.see("t", 1, 30, 0.0) == PROCESS


def test_a_partition_that_cannot_be_read_again_gives_its_gap_up_and_goes_on_from_the_record_that_came() -> None:
    w = OffsetWatch()
    _run(w, [5, 6, 7])
    assert w.see("t", 0, 10, 0.0) == Seen(False, reread_from=8)
    assert w.give_up("t", 0, 10) == 2  # the seek back failed: 8 and 9 are lost, 10 is processed after all
    assert not w.rereading("t", 0)
    assert _run(w, [11, 12]) == [PROCESS, PROCESS]
    assert w.give_up("t", 1, 4) == 0  # no gap there: nothing lost
    assert w.see("t", 1, 5, 0.0) == PROCESS


def test_a_first_record_past_the_committed_offset_reads_the_partition_again_from_it() -> None:
    w = OffsetWatch()
    assert not w.knows("t", 0)
    w.expect("t", 0, 52)  # the group's committed offset, learned on assignment
    assert w.knows("t", 0)
    assert w.see("t", 0, 53, 0.0) == Seen(False, reread_from=52)  # 52 was fetched and dropped: read again
    assert _run(w, [52, 53]) == [PROCESS, PROCESS]


def test_a_first_record_at_or_before_the_committed_offset_is_processed() -> None:
    w = OffsetWatch()
    w.expect("t", 0, 52)
    assert w.see("t", 0, 52, 0.0) == PROCESS
    w.forget({("t", 0)})
    w.expect("t", 0, 60)
    assert w.see("t", 0, 58, 0.0) == PROCESS  # a replay from before it
    w.expect("t", 0, 99)  # only a partition's start is expected: what was seen stays
    assert w.see("t", 0, 59, 0.0) == PROCESS


def test_a_partition_whose_missing_offset_does_not_come_after_the_seek_is_sought_again() -> None:
    """Seen in CI (2026-12-06): a restarted worker's mailbox agent was handed offset 4 before 3, sought back to 3,
    and 3 never came; with no record after it nothing showed the wait, and the partition stood still for good."""
    w = OffsetWatch()
    _run(w, [1, 2])
    assert w.see("t", 0, 4, 10.0) == Seen(False, reread_from=3)
    assert w.stalled(14.0, after=5.0) == []  # the seek's records may still be on their way
    assert w.see("t", 0, 5, 14.5) == PASS_BY  # a record queued before the seek: not the missing one
    assert w.stalled(15.0, after=5.0) == [("t", 0, 3)]  # sought again by the caller, once
    assert w.stalled(16.0, after=5.0) == []
    assert w.stalled(20.0, after=5.0) == [("t", 0, 3)]  # and again while it does not come
    assert _run(w, [3, 4, 5], now=21.0) == [PROCESS] * 3
    assert w.stalled(40.0, after=5.0) == []  # the gap is filled: nothing to seek


def test_a_partition_that_is_not_read_again_is_never_stalled() -> None:
    w = OffsetWatch()
    _run(w, [1, 2, 3])
    assert w.stalled(1_000.0, after=5.0) == []


def test_a_partition_whose_agent_has_records_queued_is_not_stalled_until_it_has_taken_them() -> None:
    """One agent takes every partition of its stage: while it works through a backlog the missing record may be
    queued behind other partitions' records, and seeking again would only queue the partition's records twice."""
    w = OffsetWatch()
    _run(w, [1, 2])
    assert w.see("t", 0, 4, 10.0) == Seen(False, reread_from=3)
    assert w.stalled(30.0, after=5.0, idle=lambda topic: False) == []  # its agent still has records queued
    assert w.stalled(31.0, after=5.0, idle=lambda topic: topic != "t") == []
    assert w.stalled(32.0, after=5.0, idle=lambda topic: True) == [("t", 0, 3)]  # it took them all: 3 was not there
    assert w.stalled(33.0, after=5.0) == []  # counted as sought at 32
