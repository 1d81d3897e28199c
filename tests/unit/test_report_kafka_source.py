"""The Kafka source builds the same report inputs as the files, given the same records (a reader over a dict)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import fairness_world as world
from wayfinder.journeys.loader import Sources, load_or_raise
from wayfinder.reports import fairness_report, feedback_rollup, impact_report
from wayfinder.reports.inputs import InputError, assemble
from wayfinder.reports.kafka import kafka_inputs
from wayfinder.reports.text import to_json


def _topics(prefix: str) -> dict[str, list[bytes]]:
    events = [json.dumps(e).encode() for e in world.events()]
    return {
        f"{prefix}outbound.messages": [json.dumps(m).encode() for m in world.messages()],
        f"{prefix}tasks": [],
        # the workers' topics hold events by kind, not in time order
        f"{prefix}hris.events": [e for e in reversed(events) if b'"engagement.' not in e],
        f"{prefix}engagement.events": [e for e in events if b'"engagement.' in e],
    }


def test_the_same_report_from_the_topics_as_from_the_files(tmp_path: Path) -> None:
    root = world.write(tmp_path)
    defs = load_or_raise(Sources(paths=[root / "defs"]))
    assert defs.fairness is not None
    from_files = assemble(root / "results", root / "events.jsonl", defs.current(), defs.fairness)
    topics = _topics("t1.")
    from_kafka = kafka_inputs(lambda name: topics.get(name, []), "t1.", defs.current(), defs.fairness)
    for inputs in (from_files, from_kafka):
        assert len(inputs.messages) == 79 and len(inputs.events) == len(world.events())
    assert to_json(f=fairness_report(from_kafka), b=feedback_rollup(from_kafka), i=impact_report(from_kafka)) == \
        to_json(f=fairness_report(from_files), b=feedback_rollup(from_files), i=impact_report(from_files))


def test_empty_topics_say_what_to_check(tmp_path: Path) -> None:
    root = world.write(tmp_path)
    defs = load_or_raise(Sources(paths=[root / "defs"]))
    assert defs.fairness is not None
    with pytest.raises(InputError, match=r"^x\.outbound\.messages: no records; check --kafka and --topic-prefix$"):
        kafka_inputs(lambda name: [], "x.", defs.current(), defs.fairness)
