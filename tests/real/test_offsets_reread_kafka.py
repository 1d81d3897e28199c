"""Nothing lost when the consumer skips a record it fetched (README "Offsets skipped"): on the real broker, the
worker's agent is made to let one input go unprocessed and unacknowledged the first time it comes, as Faust does to
a record fetched during a rebalance (or, after a restart, to the first record it should get). The agent sees the
offsets jump, reads the partition again from the missing one, and every message ends as ``simulate`` says
(status, time, recipient, reason). Without the re-reading the dropped record, a birth, is lost and so are its
messages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.real.kafka_world import KafkaWorld, kafka_world
from tests.real.test_kafka import EVENTS, UNTIL, eventually
from tests.real.test_kafka_order import _decision, _simulated
from tests.support import at
from wayfinder.streams.app import TEST_DROP_SETTING
from wayfinder.streams.publish import route, wait_caught_up
from wayfinder.vocabulary import Topic

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]
DROPPED = 85  # an HRIS record of the example events (one partition: in file order): E1027's child is born


@pytest.fixture
def world(kafka_broker: str, tmp_path: Path) -> Iterator[KafkaWorld]:
    yield from kafka_world(kafka_broker, tmp_path, partitions=1)


def test_a_record_the_consumer_skipped_is_read_again_and_every_message_is_as_simulate_says(world: KafkaWorld,
                                                                                         tmp_path: Path) -> None:
    expected = _simulated(EVENTS, tmp_path / "sim")
    topic = world.settings.topic(Topic.HRIS_EVENTS)
    worker = world.start_worker(**{TEST_DROP_SETTING: f"{topic}:0:{DROPPED}"})
    world.publish_file(EVENTS)
    world.tick(at(UNTIL))
    got = eventually(lambda: {mid: _decision(m) for mid, m in world.messages()[0].items()}, lambda g: g == expected)
    assert got == expected
    log = worker.text()
    assert f"offset(s) of {topic}[0] before {DROPPED + 1} were never delivered to the agent: reading the partition " \
           f"again from {DROPPED}" in log
    metrics = worker.scrape()
    assert 'wayfinder_input_gaps_reread_total{stage="employees"} 1.0' in metrics
    assert re.search(r'wayfinder_input_offsets_skipped_total\{stage="employees"\} 0\.0', metrics)


def test_a_record_skipped_first_after_a_restart_is_read_again(world: KafkaWorld, tmp_path: Path) -> None:
    """A worker that starts where another stopped must get the group's committed offset first: a record Faust drops
    there (seen after a kill -9: the first waiting input's retry, whose employee's inputs were then lost) shows no
    jump between two records it delivers, so the first one delivered is checked against the committed offset."""
    expected = _simulated(EVENTS, tmp_path / "sim")
    lines = EVENTS.read_bytes().splitlines(keepends=True)
    hris = [n for n, line in enumerate(lines) if route(line)[0] == Topic.HRIS_EVENTS]
    before, after = tmp_path / "before.jsonl", tmp_path / "after.jsonl"
    before.write_bytes(b"".join(lines[:hris[DROPPED]]))  # HRIS offsets 0 to DROPPED - 1
    after.write_bytes(b"".join(lines[hris[DROPPED]:]))
    first = world.start_worker()
    world.publish_file(before)
    assert wait_caught_up(world.settings, timeout=120), "the first worker did not catch up"
    first.stop()
    topic = world.settings.topic(Topic.HRIS_EVENTS)
    second = world.start_worker(**{TEST_DROP_SETTING: f"{topic}:0:{DROPPED}"})  # its first HRIS record
    world.publish_file(after)
    world.tick(at(UNTIL))
    got = eventually(lambda: {mid: _decision(m) for mid, m in world.messages()[0].items()}, lambda g: g == expected)
    assert got == expected
    assert f"offset(s) of {topic}[0] before {DROPPED + 1} were never delivered to the agent: reading the partition " \
           f"again from {DROPPED}" in second.text()


def test_a_first_record_skipped_where_the_group_never_committed_is_read_again(world: KafkaWorld,
                                                                              tmp_path: Path) -> None:
    """A partition the group never committed is read from its first offset: a record dropped there is checked
    against that offset (asked of the broker on assignment)."""
    expected = _simulated(EVENTS, tmp_path / "sim")
    topic = world.settings.topic(Topic.HRIS_EVENTS)
    worker = world.start_worker(**{TEST_DROP_SETTING: f"{topic}:0:0"})  # the very first HRIS record: a hire
    world.publish_file(EVENTS)
    world.tick(at(UNTIL))
    got = eventually(lambda: {mid: _decision(m) for mid, m in world.messages()[0].items()}, lambda g: g == expected)
    assert got == expected
    said = f"offset(s) of {topic}[0] before 1 were never delivered to the agent: reading the partition again from 0"
    assert said in eventually(worker.text, lambda text: said in text, timeout=30)
