"""Issue 10 on the real broker: a busy manager's mailbox holding more than one chunk of ids (``streams/held.py``,
``CHUNK``) on RocksDB tables, with withdrawals in the middle of the queue, a restart on the same RocksDB folder and
one on a fresh folder (restored from the changelogs), ends with every message as ``simulate`` decides it: the
same status and, for what is still held, the same ``scheduled_for``."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kafka import KafkaProducer

from tests.real.kafka_world import KafkaWorld, kafka_world, simulate_messages
from tests.real.test_kafka import eventually
from tests.support import at
from wayfinder.streams.held import CHUNK
from wayfinder.streams.publish import send_ticks

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(420)]
UNTIL = "2026-04-20T00:00:00Z"
MANAGER = "M1"
HIRES = 720  # the manager's queue passes several chunks of held ids (asserted below); a burst too large for one entry
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _event(eid: str, etype: str, when: datetime, subject: str, **data: object) -> str:
    return json.dumps({"specversion": "1.0", "id": eid, "source": "test/busy", "type": etype,
                       "time": when.isoformat().replace("+00:00", "Z"), "subject": subject, "data": data})


def _profile(pid: str, when: datetime, **fields: object) -> str:
    return _event(f"p-{pid}", "hris.employee.upserted", when, pid, id=pid, given_name=f"G{pid}",
                  email=f"{pid.lower()}@example.com", country="DE", timezone="Europe/Berlin", locale="de-DE",
                  employment_type="employee", work_mode="remote", **fields)


def _hire(n: int, when: datetime) -> list[str]:
    pid = f"H{n:04d}"
    return [_profile(pid, when, manager_id=MANAGER),
            _event(f"h-{pid}", "hris.employee.hired", when + timedelta(seconds=1), pid, start_date="2026-03-16",
                   role="Engineer", department="Engineering", location="Berlin", manager_id=MANAGER)]


def _leave(n: int, when: datetime) -> str:
    pid = f"H{n:04d}"
    return _event(f"t-{pid}", "hris.employee.terminated", when, pid, date=when.date().isoformat(),
                  reason="resignation")


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _decided(world: KafkaWorld) -> dict[str, tuple[str, str]]:
    latest, _ = world.messages()
    return {mid: (m["status"], m["scheduled_for"]) for mid, m in latest.items()}


@pytest.fixture
def world(kafka_broker: str, tmp_path: Path) -> Iterator[KafkaWorld]:
    # One partition: the burst's 720 first-day roadmaps come due in one wake-up, which at this limit is too large
    # for one write-ahead entry (``Stage.smaller``).
    yield from kafka_world(kafka_broker, tmp_path, partitions=1, store="rocksdb",
                           extra_env={"WAYFINDER_MAX_RECORD_BYTES": "300000"})


def test_a_queue_of_more_than_a_chunk_ends_as_simulate_says_across_restarts(world: KafkaWorld,
                                                                             tmp_path: Path) -> None:
    day = START + timedelta(days=1)
    # In time order, and each phase after the tick that ends the one before (a tick says the events up to its time
    # are in: the worker's clocks then stand there, where simulate's clock is only moved by events).
    first = [_profile(MANAGER, START - timedelta(days=1))]
    first += [line for n in range(HIRES - 40) for line in _hire(n, START + timedelta(minutes=n))]
    # Withdrawals at the front, the middle and the back of the queue (the first chunk, the second, its end).
    second = [_leave(n, day + timedelta(minutes=n)) for n in (5, 6, 7, 250, 251, 499, 500, 501, 640)]
    late = day + timedelta(hours=11)
    second += [line for i, n in enumerate(range(HIRES - 40, HIRES)) for line in _hire(n, late + timedelta(minutes=i))]
    third = [_leave(n, day + timedelta(days=2, minutes=n)) for n in (3, 4, 300, 520, 700)]
    phases = [_write(tmp_path / f"phase-{i}.jsonl", lines) for i, lines in enumerate((first, second, third))]
    every = _write(tmp_path / "all.jsonl", first + second + third)

    simulate_messages(every, UNTIL, tmp_path / "sim")
    expected = {m["message_id"]: (m["status"], m["scheduled_for"]) for m in (
        json.loads(line) for line in (tmp_path / "sim" / "messages.jsonl").read_text(encoding="utf-8").splitlines())}
    held_for_manager = [mid for mid, m in ((m["message_id"], m) for m in (
        json.loads(line) for line in (tmp_path / "sim" / "messages.jsonl").read_text(encoding="utf-8").splitlines()))
        if m["recipient_id"] == MANAGER and expected[mid][0] == "deferred"]
    assert len(held_for_manager) > CHUNK  # what the test is about: more than one chunk still held at the end
    assert {status for status, _ in expected.values()} >= {"sent", "deferred", "suppressed"}

    # Each phase ends with a tick at its last event's time (as `wayfinder publish --tick` does): on the event clock
    # the mailbox stage acts on its inputs once every partition's clock has passed them, so each worker reads and
    # writes the manager's chunks, and the next one reads what it left.
    first_worker = world.start_worker()
    world.publish_file(phases[0])
    world.tick(START + timedelta(minutes=HIRES))
    first_worker.stop()  # a clean stop; the next worker opens the same RocksDB folder
    world.start_worker(WAYFINDER_DATA_DIR=str(tmp_path / "data-0"))
    world.publish_file(phases[1])
    world.tick(day + timedelta(hours=13))
    world.workers[-1].stop()
    world.start_worker()  # a fresh folder: the tables come back from their changelogs
    world.publish_file(phases[2])
    world.tick(at(UNTIL))
    got = eventually(lambda: _decided(world), lambda d: d == expected, timeout=120)
    assert {mid: (d, expected.get(mid)) for mid, d in got.items() if d != expected.get(mid)} == {}
    assert got == expected
    assert any("firing at most" in w.text() for w in world.workers)  # the burst was fired over several wake-ups


@pytest.fixture
def rocksdb_world(kafka_broker: str, tmp_path: Path) -> Iterator[KafkaWorld]:
    yield from kafka_world(kafka_broker, tmp_path, partitions=1, store="rocksdb")


def test_a_pause_whose_entry_is_stored_in_parts_survives_kill_9_as_simulate_says(rocksdb_world: KafkaWorld,
                                                                                tmp_path: Path) -> None:
    """A preference change of a busy mailbox is one unit whose write-ahead entry is stored in parts
    (``streams/unit.py``) when it is larger than the worker's limit. The worker is killed as soon as it says so,
    and the next one, on a fresh folder, restores the tables from their changelogs, where the parts come before the
    entry's key: whether the input was committed or its unit is replayed from the entry, every message ends as
    ``simulate`` decides it."""
    world = rocksdb_world
    until = "2026-03-12T00:00:00Z"  # before the first days: no roadmap burst
    first = [_profile(MANAGER, START - timedelta(days=1))]
    first += [line for n in range(150) for line in _hire(n, START + timedelta(minutes=n))]
    pause_at = START + timedelta(days=1)
    second = [_event("pause", "wayfinder.preferences.changed", pause_at, MANAGER,
                     paused_until="2026-04-06T07:00:00Z")]
    second += [line for n in range(150, 155) for line in _hire(n, pause_at + timedelta(hours=1, minutes=n))]
    phases = [_write(tmp_path / f"phase-{i}.jsonl", lines) for i, lines in enumerate((first, second))]
    simulate_messages(_write(tmp_path / "all.jsonl", first + second), until, tmp_path / "sim")
    expected = {m["message_id"]: (m["status"], m["scheduled_for"]) for m in (
        json.loads(line) for line in (tmp_path / "sim" / "messages.jsonl").read_text(encoding="utf-8").splitlines())}
    paused = [mid for mid, (status, when) in expected.items() if status == "deferred" and when >= "2026-04-06"]
    assert len(paused) > 140

    world.start_worker()
    world.publish_file(phases[0])
    world.tick(START + timedelta(minutes=150))
    world.workers[-1].stop()
    # At this limit the pause's unit (150 held heads-ups placed again) needs an entry of more than one record.
    # Offsets committed only every 60 s: the kill below comes after the pause's unit reached the changelogs and
    # before its input is committed, so the next worker replays it from its entry, parts and all.
    worker = world.start_worker(WAYFINDER_MAX_RECORD_BYTES="12000", WAYFINDER_DATA_DIR=str(tmp_path / "data-0"),
                                WAYFINDER_BROKER_COMMIT_INTERVAL="60")
    world.publish_file(phases[1])
    producer = KafkaProducer(bootstrap_servers=world.broker)
    try:  # the mailboxes act on the pause once the clocks pass it; not waiting for the worker to catch up
        send_ticks(producer, world.settings, pause_at + timedelta(hours=4))
        producer.flush()
    finally:
        producer.close()
    stored = eventually(worker.text, lambda text: "stored in" in text, timeout=60)
    entry = re.findall(r"write-ahead entry (\S+) \(\d+ bytes\) stored in \d+ parts", stored)
    assert len(entry) == 1
    time.sleep(3)  # the changelogs flushed (the worker sends them at once)
    worker.kill()
    restarted = world.start_worker()  # a fresh folder: the tables and the entry's parts come from the changelogs
    world.tick(at(until))
    got = eventually(lambda: _decided(world), lambda d: d == expected, timeout=90)
    assert {mid: (d, expected.get(mid)) for mid, d in got.items() if d != expected.get(mid)} == {}
    replayed = rf"mailboxes: replayed \d+ records of {re.escape(entry[0])}"
    assert re.search(replayed, restarted.text())  # the unit came back from its parts
