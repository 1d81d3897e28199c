"""Issue 10 on the real broker: a busy manager's mailbox holding more than one chunk of ids (``streams/held.py``,
``CHUNK``) on RocksDB tables, with withdrawals in the middle of the queue, a restart on the same RocksDB folder and
one on a fresh folder (restored from the changelogs), ends with every message as ``simulate`` decides it: the
same status and, for what is still held, the same ``scheduled_for``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.real.kafka_world import KafkaWorld, kafka_world, simulate_messages
from tests.real.test_kafka import eventually
from tests.support import at
from wayfinder.streams.held import CHUNK

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(420)]
UNTIL = "2026-04-20T00:00:00Z"
MANAGER = "M1"
HIRES = CHUNK + 220  # the manager's queue passes one chunk of held ids
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
    # for one write-ahead entry (``Stage.smaller``); so is the pause's placing the held queue again (in parts).
    yield from kafka_world(kafka_broker, tmp_path, partitions=1, store="rocksdb",
                           extra_env={"WAYFINDER_MAX_RECORD_BYTES": "60000"})


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
    # A pause places the whole queue again in one unit, whose write-ahead entry is too large for one record here.
    third.append(_event("pause", "wayfinder.preferences.changed", day + timedelta(days=3), MANAGER,
                        paused_until="2026-04-06T07:00:00Z"))
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
    assert "parts" in world.workers[-1].text()  # the pause's entry was stored in parts
