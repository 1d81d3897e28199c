"""``wayfinder publish`` to a broker without the topics (issue: an audit on 2026-12-04 read "the Kafka broker ... did
not answer" after a minute, from a broker that answered and had no such topic)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from kafka import KafkaProducer

from wayfinder import examples_dir
from wayfinder.streams.publish import PublishError, publish
from wayfinder.streams.settings import WorkerSettings


def test_publishing_to_topics_the_broker_does_not_have_names_them(kafka_broker: str, tmp_path: Path) -> None:
    prefix = f"none{uuid.uuid4().hex[:10]}."
    settings = WorkerSettings(broker=f"kafka://{kafka_broker}", topic_prefix=prefix)
    events = tmp_path / "events.jsonl"
    lines = (examples_dir() / "events.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    made: list[KafkaProducer] = []

    def connect(s: WorkerSettings) -> KafkaProducer:  # the metadata wait of a missing topic, made short
        made.append(KafkaProducer(bootstrap_servers=s.bootstrap_servers, max_block_ms=2000))
        return made[-1]

    with pytest.raises(PublishError) as refused:
        publish(settings, events, progress=None, connect=connect)
    assert str(refused.value) == (f"no topic {prefix}hris.events on the broker: create the topics with "
                                  "`wayfinder topics create` (with the partitions the workers run with)")
    assert made and made[0]._closed  # closed on the way out
