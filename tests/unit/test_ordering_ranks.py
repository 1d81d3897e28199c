"""The rank of a decision (``streams.ordering``): where ``simulate`` takes it among the decisions of its instant, which
the worker's mailbox stage uses to order ties of decision time (README "Kafka order")."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.support import at, bundled_defs, world_defs
from wayfinder import examples_dir
from wayfinder.journeys.effects import EnrollmentTimer, MailboxInput, ReviewTimer, Timer
from wayfinder.journeys.events import CloudEvent
from wayfinder.journeys.loader import Definitions
from wayfinder.streams.embedded import EmbeddedRunner, read_event_file
from wayfinder.streams.ordering import RANK_PAIRS, buffer_key, input_origin, input_rank, kept_rank, timer_rank

T = at("2026-06-01T07:00:00Z")
CASES = Path(__file__).parent.parent / "data" / "world-cases"


def test_timers_of_an_instant_come_before_its_inputs_in_the_order_of_what_set_them() -> None:
    first, second = input_rank(T - timedelta(days=3)), input_rank(T - timedelta(days=2))
    timer_of_first, timer_of_second = timer_rank(T, first), timer_rank(T, second)
    assert timer_of_first < timer_of_second < input_rank(T) < timer_rank(T + timedelta(microseconds=1), first)
    # set by a timer: that timer's rank decides, recursively
    assert timer_rank(T, timer_rank(T - timedelta(days=1), second)) < timer_rank(T, input_rank(T - timedelta(hours=1)))
    assert timer_rank(T, timer_rank(T - timedelta(days=1), first)) < timer_rank(T, timer_rank(T - timedelta(days=1),
                                                                                                second))


def test_timers_set_by_inputs_of_one_instant_go_in_the_order_of_the_inputs_origins() -> None:
    """Two hires read at one instant on one partition, at offsets 7 and 12: the timers they set, and the timers those
    set, go in that order (README "Kafka order": before, they tied and went by the input that woke them)."""
    hired = T - timedelta(days=28)
    first, second = (input_rank(hired, input_origin(3, "hris.events", offset)) for offset in (7, 12))
    assert first < second < input_rank(hired + timedelta(microseconds=1))
    assert timer_rank(T, kept_rank(first)) < timer_rank(T, kept_rank(second)) < input_rank(T)
    later = [timer_rank(T + timedelta(days=40), kept_rank(timer_rank(T, kept_rank(rank)))) for rank in (first, second)]
    assert later == sorted(later) and all(rank.endswith(f"hris.events:{n:012d}") for rank, n in zip(later, (7, 12),
                                                                                                     strict=True))
    # on one partition the topics go as the gate decides inputs of one time (by name), and offsets 9 and 10 by value
    origins = [input_origin(0, topic, offset) for topic, offset in
               (("decisions", 10), ("engagement.events", 9), ("hris.events", 9), ("hris.events", 10))]
    assert origins == sorted(origins)
    # a rank whose input was read before origins were kept sorts first among its ties, as a shorter tuple does
    assert timer_rank(T, input_rank(hired)) < timer_rank(T, kept_rank(first))


def test_a_deep_rank_keeps_its_first_pairs_and_ties_beyond_them() -> None:
    deep = input_rank(T - timedelta(days=9), input_origin(0, "hris.events", 5))
    for days in range(8, 0, -1):
        deep = timer_rank(T - timedelta(days=days), deep)
    assert len(timer_rank(T, deep)) == RANK_PAIRS * 18 and len(kept_rank(deep)) == (RANK_PAIRS - 1) * 18
    other = timer_rank(T - timedelta(days=RANK_PAIRS), input_rank(T - timedelta(days=99), input_origin(1, "d", 2)))
    for days in range(RANK_PAIRS - 1, 0, -1):
        other = timer_rank(T - timedelta(days=days), other)
    assert timer_rank(T, kept_rank(other)) == timer_rank(T, kept_rank(deep))  # a tie: the origin decides
    # three pairs deep the input's origin is still kept; a fourth pair leaves no room for it
    shallow = input_rank(T - timedelta(days=3), input_origin(0, "hris.events", 5))
    for days in (2, 1):
        shallow = timer_rank(T - timedelta(days=days), kept_rank(shallow))
    assert kept_rank(shallow) == shallow and shallow.endswith(input_origin(0, "hris.events", 5))
    assert len(timer_rank(T, kept_rank(shallow))) == RANK_PAIRS * 18 + len(input_origin(0, "hris.events", 5))
    assert len(kept_rank(timer_rank(T, kept_rank(shallow)))) == (RANK_PAIRS - 1) * 18


def test_a_mailbox_input_without_a_rank_waits_behind_those_with_one_at_its_time() -> None:
    ranked = buffer_key(0, T, "0001:hris:000000000009:00000", timer_rank(T, input_rank(T - timedelta(days=1))))
    assert buffer_key(0, T, "0000:hris:000000000001:00000", input_rank(T)) > ranked
    assert ranked < buffer_key(0, T, "0000:hris:000000000001:00000") < buffer_key(0, T + timedelta(microseconds=1),
                                                                               "0000:a", input_rank(T))


def test_a_mailbox_input_whose_rank_has_no_origin_waits_before_its_ties_with_one() -> None:
    """README "Kafka order": a rank with no origin (its timer stored before origins were kept) sorts first among
    those that tie with it up to the origin, as a shorter tuple does, also where the mailbox stage keeps its inputs
    waiting: the key puts a ``:`` after the rank, which sorted after an origin's first digit, so such an input went
    after its ties instead. Its source partition and place (the key's last part) do not change that."""
    hired = T - timedelta(days=28)
    old = timer_rank(T, kept_rank(input_rank(hired)))
    new = [timer_rank(T, kept_rank(input_rank(hired, input_origin(p, "hris.events", 7)))) for p in (0, 1)]
    assert old < new[0] < new[1]
    keys = [buffer_key(0, T, f"{9 - n}:hris:000000000001:00000", rank) for n, rank in enumerate((old, *new))]
    assert keys == sorted(keys)
    # a key stored before ranks had origins: ``buffer_key`` wrote the same text for a rank without one
    stored = f"b:0:{keys[0].split(':')[2]}:k{old}:9:hris:000000000001:00000"
    assert stored == keys[0] and stored < keys[1]
    # the origin still orders ties of one instant, and ranks that differ before it go by the rank as before
    assert buffer_key(0, T, "0", new[0]) < buffer_key(0, T, "0", new[1]) < buffer_key(0, T, "0", input_rank(T))


class RankedRunner(EmbeddedRunner):
    """``simulate``, noting the rank of every decision of the employee side and the time and rank of each mailbox
    input it makes, in the order it makes them."""

    def __init__(self, defs: Definitions) -> None:
        super().__init__(defs)
        self.rank = ""
        self.set_by: dict[Timer, str] = {}
        self.inputs: list[tuple[datetime, str]] = []
        self.fed = 0

    def feed(self, event: CloudEvent, where: tuple[str, int] | None = None) -> None:
        """Each input's origin is its place in ``simulate``'s order: as if the file was published in that order to
        one topic of one partition."""
        self.advance_to(event.time)
        self.fed += 1
        self.rank = input_rank(event.time, input_origin(0, "events", self.fed))
        super().feed(event, where)

    def _fire_one(self, timer: Timer, due: datetime) -> None:
        if isinstance(timer, EnrollmentTimer | ReviewTimer):
            self.rank = timer_rank(due, kept_rank(self.set_by.pop(timer)))
        super()._fire_one(timer, due)

    def schedule(self, due: datetime, timer: Timer) -> None:
        assert due > self._now, "a timer set for its own decision's time or before breaks the ranks' order"
        self.set_by[timer] = self.rank
        super().schedule(due, timer)

    def to_mailbox(self, mailbox: str, item: MailboxInput) -> None:
        self.inputs.append((self._now, self.rank))
        super().to_mailbox(mailbox, item)


def _in_rank_order(defs: Definitions, events: Iterable[CloudEvent], until: datetime | None = None) -> int:
    runner = RankedRunner(defs)
    runner.run(list(events), until)
    assert runner.inputs == sorted(runner.inputs)
    return len(runner.inputs)


def test_simulate_makes_the_bundled_examples_mailbox_inputs_in_the_order_of_their_ranks() -> None:
    read = read_event_file(examples_dir() / "events.jsonl")
    assert _in_rank_order(bundled_defs(), read.events, at("2027-03-01T00:00:00Z")) > 100


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_simulate_makes_a_world_cases_mailbox_inputs_in_the_order_of_their_ranks(case: str) -> None:
    folder = CASES / case
    policy = folder / "policy.yaml"
    defs = world_defs(folder / "journeys", policy if policy.exists() else None)
    _in_rank_order(defs, read_event_file(folder / "events.jsonl").events, at("2027-06-01T00:00:00Z"))
