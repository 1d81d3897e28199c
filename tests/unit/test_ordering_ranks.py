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
from wayfinder.streams.ordering import RANK_PAIRS, buffer_key, input_rank, kept_rank, timer_rank

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


def test_a_deep_rank_keeps_its_first_pairs_and_ties_beyond_them() -> None:
    deep = input_rank(T - timedelta(days=9))
    for days in range(8, 0, -1):
        deep = timer_rank(T - timedelta(days=days), deep)
    assert len(timer_rank(T, deep)) == RANK_PAIRS * 18 and len(kept_rank(deep)) == (RANK_PAIRS - 1) * 18
    other = timer_rank(T - timedelta(days=RANK_PAIRS), input_rank(T - timedelta(days=99)))
    for days in range(RANK_PAIRS - 1, 0, -1):
        other = timer_rank(T - timedelta(days=days), other)
    assert timer_rank(T, kept_rank(other)) == timer_rank(T, kept_rank(deep))  # a tie: the origin decides


def test_a_mailbox_input_without_a_rank_waits_behind_those_with_one_at_its_time() -> None:
    ranked = buffer_key(0, T, "0001:hris:000000000009:00000", timer_rank(T, input_rank(T - timedelta(days=1))))
    assert buffer_key(0, T, "0000:hris:000000000001:00000", input_rank(T)) > ranked
    assert ranked < buffer_key(0, T, "0000:hris:000000000001:00000") < buffer_key(0, T + timedelta(microseconds=1),
                                                                               "0000:a", input_rank(T))


class RankedRunner(EmbeddedRunner):
    """``simulate``, noting the rank of every decision of the employee side and the time and rank of each mailbox
    input it makes, in the order it makes them."""

    def __init__(self, defs: Definitions) -> None:
        super().__init__(defs)
        self.rank = ""
        self.set_by: dict[Timer, str] = {}
        self.inputs: list[tuple[datetime, str]] = []

    def feed(self, event: CloudEvent, where: tuple[str, int] | None = None) -> None:
        self.advance_to(event.time)
        self.rank = input_rank(event.time)
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
