"""The hold-round benchmark (``benchmarks/hold_retry.py``) measures what it says: a real held input going round."""

from __future__ import annotations

from benchmarks.hold_retry import build, held_round
from wayfinder.streams.publish import route
from wayfinder.streams.stage import Incoming
from wayfinder.vocabulary import Topic


def test_the_benchmark_holds_an_input_and_each_round_undoes_its_unit_without_a_decision() -> None:
    stage, lines = build(60)
    for offset in range(len(lines) // 2):
        topic, key = route(lines[offset])
        stage.process(Incoming(topic, 0, offset, key, lines[offset], None), stage.handle)
    retry, offset = held_round(stage, lines, len(lines) // 2)
    assert stage.holds.blocked  # an employee's line waits
    timers, keys = len(stage.timers), len(list(stage.table.keys()))
    assert timers > 0
    for n in range(3):
        records = stage.process(Incoming("ticks", 0, offset + n, None, retry.value, None), stage.handle)
        assert [r.topic for r in records] == [Topic.EMPLOYEE_TICKS]  # round again, nothing decided
        retry = records[0]
    assert (len(stage.timers), len(list(stage.table.keys()))) == (timers, keys)  # each round's unit undone
