"""``wayfinder report fairness --kafka``: the same report from the real broker's topics as from the files."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from tests import fairness_world as world
from wayfinder.cli import main

pytestmark = pytest.mark.kafka


NAMES = ("outbound.messages", "tasks", "hris.events", "engagement.events")


def _publish(broker: str, prefix: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=broker)
    try:
        admin.create_topics([NewTopic(prefix + n, 3, 1) for n in NAMES])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=broker)
    try:
        for m in world.messages():
            producer.send(prefix + "outbound.messages", json.dumps(m).encode(), key=m["employee_id"].encode())
        for e in world.events():
            topic = "engagement.events" if e["type"].startswith("engagement.") else "hris.events"
            producer.send(prefix + topic, json.dumps(e).encode(), key=e["subject"].encode())
        producer.flush()
    finally:
        producer.close()


def test_the_report_from_the_topics_equals_the_report_from_the_files(kafka_broker: str, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    root = world.write(tmp_path)
    prefix = f"report-{uuid.uuid4().hex[:8]}."
    _publish(kafka_broker, prefix)
    definitions = ["--journeys", str(root / "defs" / "journeys"), "--catalog", str(root / "defs" / "catalog"),
                   "--fairness", str(root / "defs" / "fairness.yaml"), "--json"]
    try:
        for kind in ("fairness", "impact"):
            assert main(["report", kind, "--results", str(root / "results"), "--events",
                         str(root / "events.jsonl"), *definitions]) == 0
            from_files = json.loads(capsys.readouterr().out)
            assert main(["report", kind, "--kafka", kafka_broker, "--topic-prefix", prefix, *definitions]) == 0
            from_kafka = json.loads(capsys.readouterr().out)
            assert from_kafka == from_files
            assert from_kafka[kind]["journeys"], "the report is empty"
    finally:
        admin = KafkaAdminClient(bootstrap_servers=kafka_broker)
        try:
            admin.delete_topics([prefix + n for n in NAMES])
        finally:
            admin.close()
