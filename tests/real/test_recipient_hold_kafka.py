"""Issue 9 on the real broker: a manager's message whose manager the worker's directory does not know yet
waits for them (here: their profile is published seconds later) and ends as ``simulate`` says; one whose
manager never comes is ``no_recipient`` after WAYFINDER_RECIPIENT_WAIT_SECONDS, as in ``simulate``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer

from tests.real.kafka_world import KafkaWorld, kafka_world, simulate_messages
from tests.real.test_kafka import eventually, statuses
from tests.support import at
from wayfinder.journeys.profile import Profile
from wayfinder.streams.app import follow_directory
from wayfinder.vocabulary import Topic

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(240)]
UNTIL = "2026-05-10T00:00:00Z"


def _event(eid: str, etype: str, time_: str, subject: str, **data: object) -> str:
    return json.dumps({"specversion": "1.0", "id": eid, "source": "test/hold", "type": etype, "time": time_,
                       "subject": subject, "data": data})


def _person(pid: str, time_: str, **fields: object) -> str:
    profile = {"id": pid, "given_name": pid.title(), "email": f"{pid.lower()}@example.com", "country": "DE",
               "timezone": "Europe/Berlin", "locale": "de-DE", "employment_type": "employee", **fields}
    return _event(f"p-{pid}", "hris.employee.upserted", time_, pid, **profile)


@pytest.fixture
def world(kafka_broker: str, tmp_path: Path) -> Iterator[KafkaWorld]:
    yield from kafka_world(kafka_broker, tmp_path, partitions=2,
                           extra_env={"WAYFINDER_RECIPIENT_WAIT_SECONDS": "5"})


def test_a_message_waits_for_its_manager_to_be_known_and_ends_as_simulate_says(world: KafkaWorld,
                                                                                tmp_path: Path) -> None:
    first = [_person("X1", "2026-05-01T08:00:00Z", manager_id="M8"),
             _person("Y1", "2026-05-01T08:00:00Z", manager_id="M8"),
             _event("mc-x", "hris.manager.changed", "2026-05-04T10:00:00Z", "X1", old_manager_id="M8",
                    new_manager_id="M9"),
             _event("mc-y", "hris.manager.changed", "2026-05-04T10:00:00Z", "Y1", old_manager_id="M8",
                    new_manager_id="M7")]  # M7 never has a profile
    later = [_person("M9", "2026-05-02T08:00:00Z")]  # before the change in event time, published after it
    (tmp_path / "first.jsonl").write_text("\n".join(first) + "\n", encoding="utf-8")
    (tmp_path / "later.jsonl").write_text("\n".join(later) + "\n", encoding="utf-8")
    (tmp_path / "all.jsonl").write_text("\n".join(first + later) + "\n", encoding="utf-8")
    expected, _ = simulate_messages(tmp_path / "all.jsonl", UNTIL, tmp_path / "sim")
    sim = {json.loads(line)["message_id"]: json.loads(line)
           for line in (tmp_path / "sim" / "messages.jsonl").read_text(encoding="utf-8").splitlines()}
    for_manager = {m["recipient_id"]: m for m in sim.values() if m["step_id"] == "for-manager"}
    assert for_manager["M7"]["reason"] == "no_recipient"
    assert for_manager["M9"]["status"] != "suppressed"

    worker = world.start_worker()
    world.publish_file(tmp_path / "first.jsonl")
    deadline = time.monotonic() + 60
    while "waits for a recipient" not in worker.text() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "waits for a recipient" in worker.text()
    world.publish_file(tmp_path / "later.jsonl")
    time.sleep(6)  # past the wait: M7's message is decided (no_recipient) before the clock moves on
    world.tick(at(UNTIL))
    got = eventually(lambda: statuses(world), lambda s: s == expected)
    assert got == expected


def test_the_directory_reader_says_when_it_has_read_the_topic_to_its_end(world: KafkaWorld) -> None:
    """The directory reader says when it has read the topic to the end offsets it had at start (a worker logs
    it): by then it holds every person, as the topic ended, tombstones applied."""
    people = 30_000
    producer = KafkaProducer(bootstrap_servers=world.broker, linger_ms=50)
    try:
        for n in range(people):
            contact = {"id": f"P{n}", "email": f"p{n}@example.com", "timezone": "Europe/Berlin"}
            producer.send(world.settings.topic(Topic.DIRECTORY), key=f"P{n}".encode(),
                          value=json.dumps(contact).encode())
        producer.send(world.settings.topic(Topic.DIRECTORY), key=b"P0", value=None)  # a tombstone, read last
        producer.flush()
    finally:
        producer.close()

    async def read() -> tuple[int, bool]:
        directory: dict[str, Profile] = {}
        done = asyncio.Event()
        follower = asyncio.create_task(follow_directory(world.settings, directory, done))
        try:
            await asyncio.wait_for(done.wait(), timeout=120)
            return len(directory), "P0" in directory
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower

    assert asyncio.run(read()) == (people - 1, False)  # everything, as it ended, when the wait ends
