"""Inputs in time order across their topics on the real broker (``streams.gate``): a backlog of HRIS events and
review decisions, all published before the worker starts, so Faust reads each topic's records in batches of their
own and a decision comes after the same person's HRIS events of days later. The worker decides what ``simulate``
decides: approvals within the review window, no escalation task opened and closed."""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from tests.real.kafka_world import WAYFINDER, KafkaWorld, kafka_world
from tests.real.test_kafka import eventually
from tests.real.test_recipient_hold_kafka import _event, _person
from tests.support import at
from wayfinder.streams.gate import kept_mark, marked_kept

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]
UNTIL = "2026-06-01T00:00:00Z"
PEOPLE = 40
BUSY = 6000


@pytest.fixture
def world(kafka_broker: str, tmp_path: Path) -> Iterator[KafkaWorld]:
    yield from kafka_world(kafka_broker, tmp_path, partitions=2)


class _Marks:
    """The group's committed offsets' metadata of the input partitions, read every 0.2 s while the test runs."""

    def __init__(self, world: KafkaWorld) -> None:
        self._world, self._stop = world, threading.Event()
        self.seen: list[tuple[tuple[str, int], str]] = []
        self._admin = KafkaAdminClient(bootstrap_servers=world.broker)
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def now(self) -> dict[tuple[str, int], str]:
        offsets = self._admin.list_group_offsets({self._world.app_id: None})[self._world.app_id]
        return {(tp.topic, tp.partition): m.metadata for tp, m in offsets.items()}

    def _poll(self) -> None:
        while not self._stop.wait(0.2):
            with contextlib.suppress(KafkaError):  # the group not there yet
                self.seen.extend(self.now().items())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._admin.close()


def _again(line: str) -> str:
    """A person's later upsert: an event id of its own (the same id is a duplicate)."""
    event = json.loads(line)
    return json.dumps(event | {"id": f"{event['id']}-{event['time']}"})


def _simulate(lines: list[str], folder: Path) -> tuple[dict[str, Any], dict[str, str]]:
    folder.mkdir()
    (folder / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    subprocess.run([WAYFINDER, "simulate", "--events", str(folder / "events.jsonl"), "--until", UNTIL, "--out",
                    str(folder / "out")], check=True, capture_output=True)
    messages = [json.loads(line) for line in (folder / "out" / "messages.jsonl").read_text("utf-8").splitlines()]
    tasks = [json.loads(line) for line in (folder / "out" / "tasks.jsonl").read_text("utf-8").splitlines()]
    return {m["message_id"]: m for m in messages}, {t["task_id"]: t["status"] for t in tasks}


def _decided(m: dict[str, Any]) -> tuple[Any, ...]:
    return m["status"], at(m["scheduled_for"]), m["recipient_id"], m.get("reason")


def test_a_backlog_of_hris_events_and_decisions_is_decided_as_simulate_decides(world: KafkaWorld,
                                                                               tmp_path: Path) -> None:
    hris = [_person("M1", "2026-03-01T08:00:00Z"), _person("H1", "2026-03-01T08:00:00Z")]
    for n in range(PEOPLE):
        e = f"G{n}"
        hris += [_person(e, "2026-03-02T08:00:00Z", manager_id="M1", hr_partner_id="H1"),
                 _event(f"l-{e}", "hris.leave.started", "2026-04-01T09:00:00Z", e, leave_type="bereavement",
                        start_date="2026-04-01", expected_return_date="2026-04-20"),
                 _again(_person(e, "2026-04-10T09:00:00Z", manager_id="M1", hr_partner_id="H1", department="Sales"))]
    pending, _ = _simulate(hris, tmp_path / "first")
    to_review = [m for m in pending.values()  # the condolences, made when the leave starts
                 if m["status"] == "pending_approval" and at(m["created_at"]) < at("2026-04-02T00:00:00Z")]
    assert len(to_review) >= PEOPLE
    decisions = [_event(f"d-{m['message_id']}", "wayfinder.review.decided", "2026-04-02T10:00:00Z", m["employee_id"],
                        message_id=m["message_id"], decision="approve", reviewer_id="H1") for m in to_review]
    # A busy decisions topic: decisions on messages nobody has (refused as not pending) before these, so the worker
    # reads the people's HRIS events of 10 April long before their decisions of 2 April.
    busy = [_event(f"d-busy-{n}", "wayfinder.review.decided", "2026-03-15T10:00:00Z", f"G{n % PEOPLE}",
                   message_id=f"m-none-{n}", decision="approve", reviewer_id="H1") for n in range(BUSY)]
    lines = hris + busy + decisions
    expected, tasks = _simulate(lines, tmp_path / "all")
    assert {m["status"] for m in expected.values() if m["message_id"] in {r["message_id"] for r in to_review}} <= {
        "approved", "sent"}
    assert "cancelled" not in tasks.values()  # nothing escalated: every approval came within the review window

    (tmp_path / "all.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    world.publish_file(tmp_path / "all.jsonl")  # all of it before the worker starts: a backlog
    marks = _Marks(world)
    world.start_worker()
    world.tick(at(UNTIL))
    want = {mid: _decided(m) for mid, m in expected.items()}

    def got() -> dict[str, Any]:
        return {mid: _decided(m) for mid, m in world.messages()[0].items()}

    assert eventually(got, lambda g: g == want, timeout=120) == want
    # The worker's commits said how far each input partition was decided: an HRIS event kept for its turn was named
    # while the decisions were read, and once everything is decided every commit says none is kept.
    inputs = {world.settings.topic(t) for t in ("hris.events", "engagement.events", "decisions")}
    final = eventually(marks.now, lambda m: bool(m) and all(v == kept_mark(None) for (t, _), v in m.items()
                                                           if t in inputs), timeout=30)
    marks.stop()
    assert all(v == kept_mark(None) for (t, _), v in final.items() if t in inputs), final
    assert {t for t, _ in final} >= {world.settings.topic("hris.events"), world.settings.topic("decisions")}
    named = [(tp, v) for tp, v in marks.seen if marked_kept(v) is not None]
    print(f"\n{len(named)} of {len(marks.seen)} readings named a kept input: {sorted(set(named))[:6]}")
    assert any(t == world.settings.topic("hris.events") for (t, _), _ in named), sorted(set(marks.seen))[:10]
    worker_tasks = {}
    for _, value in world.read("tasks"):
        if value is not None:
            t = json.loads(value)
            worker_tasks[t["task_id"]] = t["status"]
    assert worker_tasks == tasks
