"""Erasure on a real broker (README "Erasure"): after a person's erasure, a worker restart and a replay of their old
events, every compacted topic the worker writes, read to its end with the latest value per key, has no value left
under any of the person's keys but the erased-id record, and the replayed events are dead letters with no personal
data."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from tests.real.kafka_world import KafkaWorld, kafka_world, read_topic
from tests.support import at
from wayfinder.journeys.records import ERASED_INPUT
from wayfinder.journeys.state import EmployeeState

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]
PERSON, NAME, EMAIL = "E9", "Ottoline", "ottoline.q@example.com"


def _event(eid: str, kind: str, time: str, subject: str = PERSON, **data: object) -> bytes:
    return json.dumps({"specversion": "1.0", "id": eid, "source": "hris/test", "type": kind, "time": time,
                       "subject": subject, "data": data}).encode()


MANAGER = _event("m1", "hris.employee.upserted", "2026-01-01T09:00:00Z", "E1", id="E1", given_name="Mara",
                 email="mara@example.com", timezone="Europe/Berlin", country="DE", employment_type="employee")
UPSERT = _event("p1", "hris.employee.upserted", "2026-01-02T09:00:00Z", id=PERSON, given_name=NAME, email=EMAIL,
                timezone="Europe/Berlin", country="DE", manager_id="E1", employment_type="employee")
HIRED = _event("h1", "hris.employee.hired", "2026-01-03T09:00:00Z", start_date="2026-02-02", role="Engineer",
               department="Engineering", location="Berlin", manager_id="E1")
LEAVE = _event("l1", "hris.leave.started", "2026-01-05T09:00:00Z", leave_type="medical",
               start_date="2026-01-05", expected_return_date="2026-03-01")
ERASURE = _event("x1", "privacy.erasure.requested", "2026-01-08T09:00:00Z")
REPLAYS = [UPSERT, HIRED, LEAVE, _event("p2", "hris.employee.upserted", "2026-01-20T09:00:00Z", email=EMAIL)]


@pytest.fixture
def world(kafka_broker: str, tmp_path: Path) -> Iterator[KafkaWorld]:
    yield from kafka_world(kafka_broker, tmp_path, partitions=2)


def _compacted_topics(world: KafkaWorld) -> list[str]:
    """Every compacted topic of this world: the directory and the tables' changelogs (by the broker's config)."""
    admin = KafkaAdminClient(bootstrap_servers=world.broker)
    try:
        ours = [t for t in admin.list_topics() if t.startswith((world.prefix, world.app_id))]
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in ours])
        configs = described["topic"]  # kafka-python 3: {"topic": {name: {config: {"value": ...}}}}
        return sorted(t for t, c in configs.items() if "compact" in str(c.get("cleanup.policy", {}).get("value")))
    finally:
        admin.close()


def _theirs(key: bytes | None) -> bool:
    return key is not None and PERSON.encode() in key.split(b"\x1f")[0].split(b":")


def test_after_an_erasure_no_compacted_topic_keeps_a_value_for_the_person(world: KafkaWorld) -> None:
    first = world.start_worker()
    world.publish_lines([MANAGER, UPSERT, HIRED, LEAVE])
    world.tick(at("2026-01-06T00:00:00Z"))
    world.publish_lines([ERASURE])
    world.tick(at("2026-01-09T00:00:00Z"))
    first.stop()
    world.start_worker()  # a new worker: the erased-id record comes back with the table, from its changelog
    world.publish_lines(REPLAYS)  # the old events again, and a newer one
    world.tick(at("2026-01-21T00:00:00Z"))  # before the hire's timer (2 Feb) is due: only a tombstone removes it
    time.sleep(2.0)  # the last changelog records of the tick's units

    topics = _compacted_topics(world)
    assert world.settings.topic("directory") in topics
    assert f"{world.app_id}-employees-changelog" in topics and f"{world.app_id}-mailboxes-changelog" in topics
    written: dict[str, list[bytes]] = {}  # the person's keys that ever had a value: the test can fail
    left: dict[str, dict[bytes, bytes]] = {}
    leaks: list[tuple[str, bytes | None]] = []
    for topic in topics:
        latest: dict[bytes, bytes | None] = {}
        every: dict[bytes | None, bytes | None] = {}
        for key, value in read_topic(world.broker, topic):
            every[key] = value
            if _theirs(key):
                assert key is not None
                latest[key] = value
                if value is not None:
                    written.setdefault(topic, []).append(key)
        left[topic] = {k: v for k, v in latest.items() if v is not None}
        leaks.extend((topic, k) for k, v in every.items() if v is not None and any(
            word.encode() in v for word in (NAME, EMAIL)))
    assert world.settings.topic("directory") in written and f"{world.app_id}-employees-changelog" in written
    assert any(k.startswith(b"t:") for k in written[f"{world.app_id}-employees-changelog"])  # timers were set
    record = left[f"{world.app_id}-employees-changelog"].pop(f"s:{PERSON}".encode())
    kept = EmployeeState.model_validate_json(record)
    assert kept.model_copy(update={"seen": {}}) == EmployeeState.erased_record(PERSON, at("2026-01-08T09:00:00Z"))
    assert len(kept.seen) == 1  # the erasure request's own key (an opaque source and id): a copy is a duplicate
    assert {t: sorted(keys) for t, keys in left.items() if keys} == {}
    assert leaks == []  # nor under any other key (a write-ahead entry is deleted once its input is committed)

    letters = [json.loads(v or b"{}") for _, v in world.read("dead-letters")]
    refused = [d for d in letters if d["reason"] == "erased_subject"]
    assert len(refused) == len(REPLAYS) and {d["raw"] for d in refused} == {ERASED_INPUT}
    about = [json.loads(v or b"{}") for _, v in world.read("outbound.messages")]
    assert not [m for m in about if m["employee_id"] == PERSON and m["created_at"] > "2026-01-08T09:00:00Z"]
