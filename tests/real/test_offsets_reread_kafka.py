"""Nothing lost when the consumer skips a record it fetched (README "Offsets skipped"): on the real broker, the
worker's agent is made to let one input go unprocessed and unacknowledged the first time it comes, as Faust does to
a record fetched during a rebalance. The agent sees the next offset jump, reads the partition again from the
missing one, and every message ends as ``simulate`` says (status, time, recipient, reason). Without the
re-reading the dropped record, a birth, is lost and so are its messages."""

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
