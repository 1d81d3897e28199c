"""The index of inputs waiting for their turn (``streams.ordering.Waiting``): a unit's changes taken back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wayfinder.streams.ordering import Waiting

keys = st.lists(st.text("abc", min_size=1, max_size=3), max_size=8)


def _drained(w: Waiting, partition: int) -> list[str]:
    out = []
    while w.first(partition) is not None:
        out.append(w.pop(partition))
    return out


@given(keys, st.lists(st.one_of(st.tuples(st.just("add"), st.text("abcd", min_size=1, max_size=3)),
                                st.tuples(st.just("pop"), st.just(""))), max_size=12))
def test_a_rolled_back_unit_leaves_the_index_as_it_found_it(before: list[str], ops: list[tuple[str, str]]) -> None:
    w, untouched = Waiting(), Waiting()
    w.load(0, before)
    untouched.load(0, before)
    w.begin()
    for op, key in ops:
        if op == "add":
            w.add(0, key)
        elif w.first(0) is not None:
            w.pop(0)
    w.rollback()
    assert _drained(w, 0) == _drained(untouched, 0) == sorted(before)


def test_a_committed_unit_keeps_its_changes_and_a_later_rollback_does_not_reach_them() -> None:
    w = Waiting()
    w.load(0, ["b", "c"])
    w.begin()
    w.add(0, "a")
    assert w.pop(0) == "a"
    assert w.pop(0) == "b"
    w.commit()
    w.begin()
    w.add(0, "d")
    w.rollback()
    assert _drained(w, 0) == ["c"]


def test_a_partition_dropped_during_the_unit_stays_dropped() -> None:
    w = Waiting()
    w.load(0, ["a"])
    w.load(1, ["x"])
    w.begin()
    w.pop(0)
    w.add(1, "y")
    w.drop(0)
    w.rollback()
    assert w.first(0) is None
    assert _drained(w, 1) == ["x"]
