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
from wayfinder.streams.routing import partition_of
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


def test_a_timer_whose_manager_never_comes_is_no_recipient_after_the_wait_without_flooding_the_ticks(
        world: KafkaWorld, tmp_path: Path) -> None:
    """The onboarding nudge to a manager nobody knows fires from a timer (a tick, not an input of the employee):
    it waits for the manager in the employee's line and, once the group has caught up past the wait's end (5 s
    here), is ``no_recipient`` as in ``simulate``. Its retry had no key: the wait lasted the longest (600 s) and
    every wake-up meanwhile sent another retry round the ticks topic (141,624 records in 145 s)."""
    lines = [_person("N1", "2026-03-01T08:00:00Z", manager_id="M7"),  # M7 never has a profile
             _event("h-n1", "hris.employee.hired", "2026-03-02T10:00:00Z", "N1", start_date="2026-03-09",
                    role="Analyst", department="Sales", location="Berlin", manager_id="M7")]
    (tmp_path / "all.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected, _ = simulate_messages(tmp_path / "all.jsonl", UNTIL, tmp_path / "sim")
    sim = [json.loads(line) for line in (tmp_path / "sim" / "messages.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {(m["step_id"], m["reason"]) for m in sim if m["recipient_id"] != "N1"} == {
        ("manager-heads-up", "no_recipient"), ("review-nudge", "no_recipient")}

    world.start_worker()
    world.publish_file(tmp_path / "all.jsonl")
    started = time.monotonic()
    world.tick(at(UNTIL))  # the nudge's timer fires: its manager is not known
    got = eventually(lambda: statuses(world), lambda s: s == expected, timeout=120)
    assert got == expected
    assert time.monotonic() - started < 120  # well before the longest wait (600 s)
    assert len(world.read(Topic.EMPLOYEE_TICKS)) < 5000  # one retry went round, not one more per wake-up


def _other_partition(of: str, partitions: int) -> str:
    return next(f"X{n}" for n in range(100) if partition_of(f"X{n}".encode(), partitions)
                != partition_of(of.encode(), partitions))


@pytest.fixture
def short_wait_world(kafka_broker: str, tmp_path: Path) -> Iterator[KafkaWorld]:
    yield from kafka_world(kafka_broker, tmp_path, partitions=2,
                           extra_env={"WAYFINDER_RECIPIENT_WAIT_SECONDS": "2"})


def test_a_wait_ends_by_the_groups_progress_so_a_manager_behind_a_backlog_is_still_known(
        short_wait_world: KafkaWorld, tmp_path: Path) -> None:
    """The manager's first event sits behind thousands of others on their partition, so the worker knows them
    long after the wait (2 s) has passed; by the clock alone the message would be ``no_recipient`` while
    ``simulate`` sends it. The wait ends once the group has processed what was published by the wait's end."""
    employee, fillers = _other_partition("M9", 2), 6000
    lines = [_person(employee, "2026-05-01T08:00:00Z", manager_id="M8", family_name="Ray", role="Analyst"),
             _event("mc", "hris.manager.changed", "2026-05-04T10:00:00Z", employee, old_manager_id="M8",
                    new_manager_id="M9")]
    on_m9 = (f"F{n}" for n in range(10 * fillers) if partition_of(f"F{n}".encode(), 2) == partition_of(b"M9", 2))
    lines += [_person(f, "2026-05-01T07:00:00Z") for f, _ in zip(on_m9, range(fillers), strict=False)]
    lines.append(_person("M9", "2026-05-02T08:00:00Z"))  # last on its partition, behind the fillers
    (tmp_path / "all.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected, _ = simulate_messages(tmp_path / "all.jsonl", UNTIL, tmp_path / "sim")
    sim = [json.loads(line) for line in (tmp_path / "sim" / "messages.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(m["recipient_id"], m["status"]) for m in sim if m["step_id"] == "for-manager"] == [("M9", "sent")]

    world = short_wait_world
    world.publish_file(tmp_path / "all.jsonl")  # all of it before the worker starts: a backlog
    worker = world.start_worker()
    world.tick(at(UNTIL))
    got = eventually(lambda: statuses(world), lambda s: s == expected)
    assert "waits for a recipient" in worker.text()  # the input did wait (the backlog was real)
    assert got == expected
    [to_manager] = [m for m in world.messages()[0].values() if m["step_id"] == "for-manager"]
    assert to_manager["recipient_email"] == "m9@example.com"  # rendered and addressed with what simulate knew


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


def test_the_directory_reader_skips_a_record_that_is_no_person_and_goes_on(world: KafkaWorld,
                                                                            caplog: pytest.LogCaptureFixture) -> None:
    """A directory record that is not a JSON object with an id (the workers write none; anyone who can write to the
    topic can) ended the worker's directory reader with an exception, so no person became known after it. It is
    skipped and said by partition and offset; the people after it are read."""
    topic = world.settings.topic(Topic.DIRECTORY)
    producer = KafkaProducer(bootstrap_servers=world.broker)
    try:
        for key, value in ((b"B1", b'["B1"]'), (b"B2", b"{}"), (b"B3", b"not json"), (b"B4", b'{"id": 4}')):
            producer.send(topic, key=key, value=value, partition=0)
        producer.send(topic, key=b"P1", value=json.dumps({"id": "P1", "timezone": "Europe/Berlin"}).encode(),
                      partition=0)
        producer.flush()
    finally:
        producer.close()

    async def read() -> set[str]:
        directory: dict[str, Profile] = {}
        done = asyncio.Event()
        follower = asyncio.create_task(follow_directory(world.settings, directory, done))
        try:
            await asyncio.wait_for(done.wait(), timeout=120)
            return set(directory)
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower

    with caplog.at_level("WARNING", logger="wayfinder"):
        assert asyncio.run(read()) == {"P1"}
    assert caplog.text.count("directory: skipped the record at partition 0") == 4
