"""``streams.health.OffsetWatch``: offsets of an agent's partition that the consumer never delivered are counted;
a replay (a seek back) and a partition that changed owner are not."""

from __future__ import annotations

from wayfinder.streams.health import OffsetWatch


def test_a_jump_forward_is_counted_as_skipped_offsets() -> None:
    w = OffsetWatch()
    assert [w.see("t", 0, o) for o in (5, 6, 7)] == [0, 0, 0]  # the first one seen starts the count
    assert w.see("t", 0, 10) == 2  # 8 and 9 never came
    assert w.see("t", 0, 11) == 0
    assert w.see("t", 1, 40) == 0  # partitions are counted apart


def test_a_seek_back_is_a_replay_and_starts_the_count_again() -> None:
    w = OffsetWatch()
    for o in range(10, 20):
        w.see("t", 0, o)
    assert w.see("t", 0, 12) == 0  # back to the committed offset after a rebalance
    assert w.see("t", 0, 13) == 0
    assert w.see("t", 0, 15) == 1


def test_a_revoked_partition_is_forgotten_so_its_next_owners_progress_is_no_skip() -> None:
    w = OffsetWatch()
    w.see("t", 0, 100)
    w.forget({("t", 0)})
    assert w.see("t", 0, 200) == 0  # another worker processed 101-199 meanwhile
