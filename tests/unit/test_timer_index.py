"""The timer index takes back what an undone unit of work did to it (``TimerIndex.begin``/``rollback``)."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta

from wayfinder.streams.timers import TimerIndex

T0 = datetime(2026, 5, 1, tzinfo=UTC)
FAR = T0 + timedelta(days=10_000)


def _index(n: int = 40) -> TimerIndex:
    """Timers on two partitions and a few owners, many of them due at the same time (ties keep their order)."""
    index = TimerIndex()
    for i in range(n):
        index.add(i % 2, f"t:{i % 2}:k{i}", f"E{i % 5}", T0 + timedelta(hours=i % 4))
    return index


def _order(index: TimerIndex) -> list[list[tuple[str, datetime]]]:
    """Everything the index holds, in the order it would fire, per partition (the index is used up)."""
    return [index.pop_due(p, FAR) for p in (0, 1)]


def test_a_rolled_back_unit_leaves_the_index_firing_as_before_ties_included() -> None:
    index = _index()
    before = copy.deepcopy(index)
    index.begin()
    assert index.pop_next(0, T0 + timedelta(hours=1), "E0") is not None  # fired: an owner's own timer
    assert len(index.pop_due(1, T0 + timedelta(hours=2))) > 1  # fired: the partition's
    index.add(0, "t:0:new", "E3", T0)  # set by the unit
    index.add(1, "t:1:k3", "E3", T0 + timedelta(days=3))  # moved by the unit
    index.discard("t:0:k4")  # forgotten by the unit
    index.add(0, "t:0:k4", "E9", T0 - timedelta(days=1))  # and set again for another owner
    changed = _order(copy.deepcopy(index))
    index.rollback()
    expected = _order(copy.deepcopy(before))
    assert changed != expected  # the unit did change what fires
    assert _order(index) == expected
    assert index.owned("E9") == []


def test_what_a_committed_unit_did_stays_and_nothing_outside_a_unit_is_taken_back() -> None:
    index = _index()
    index.begin()
    fired = index.pop_due(0, T0)
    index.add(0, "t:0:new", "E1", T0)
    index.commit()
    index.discard("t:1:k1")  # outside any unit: not journalled
    after = copy.deepcopy(index)
    index.rollback()
    assert fired
    assert "t:0:new" in index.owned("E1")
    assert _order(index) == _order(after)


def test_an_owners_timers_are_listed_once_after_a_rollback() -> None:
    index = _index()
    index.begin()
    taken = index.pop_due(0, FAR, "E2")
    index.rollback()
    assert taken
    owned = index.owned("E2")
    assert sorted(owned) == sorted(key for key, _ in taken)
    assert len(owned) == len(set(owned))


def test_random_units_rolled_back_change_nothing() -> None:
    rng = random.Random(5)  # noqa: S311 - test data only
    for _ in range(200):
        index = _index(rng.randint(1, 30))
        before = copy.deepcopy(index)
        index.begin()
        for _ in range(rng.randint(1, 12)):
            op = rng.choice(("pop", "due", "add", "discard"))
            p, owner = rng.randint(0, 1), f"E{rng.randint(0, 5)}"
            at = T0 + timedelta(hours=rng.randint(-1, 5))
            if op == "pop":
                index.pop_next(p, at, rng.choice((None, owner)))
            elif op == "due":
                index.pop_due(p, at, rng.choice((None, owner)))
            elif op == "add":
                index.add(p, f"t:{p}:k{rng.randint(0, 40)}", owner, at)
            else:
                index.discard(f"t:{p}:k{rng.randint(0, 40)}")
        index.rollback()
        for o in range(6):
            assert sorted(index.owned(f"E{o}")) == sorted(before.owned(f"E{o}"))
        assert len(index) == len(before)
        assert _order(index) == _order(before)
