"""The worker's stages without Kafka: a dict stands in for the Faust table (not the thing under test)."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry

from wayfinder import examples_dir
from wayfinder.journeys.engine import Engine
from wayfinder.journeys.mailbox import Mailbox
from wayfinder.streams.app import load_definitions
from wayfinder.streams.clock import StreamClock
from wayfinder.streams.metrics import StreamMetrics
from wayfinder.streams.settings import WorkerSettings
from wayfinder.streams.stage import EmployeeStage, Incoming, MailboxStage
from wayfinder.streams.wire import Record, encode_tick

UNTIL = datetime(2027, 3, 1, tzinfo=UTC)


class DictTable(dict[str, bytes]):
    def get(self, key: str) -> bytes | None:  # type: ignore[override]
        return dict.get(self, key)

    def set(self, key: str, value: bytes | None) -> None:
        if value is None:
            self.pop(key, None)
        else:
            self[key] = value

    def keys(self) -> Iterator[str]:  # type: ignore[override]
        return iter(list(dict.keys(self)))


class Pipeline:
    """Both stages wired as the worker wires them, with one partition each."""

    def __init__(self, employees: DictTable | None = None, mailboxes: DictTable | None = None) -> None:
        settings = WorkerSettings(store="memory", clock="event")
        defs = load_definitions(settings)
        metrics = StreamMetrics(CollectorRegistry())
        clock = StreamClock("event")
        self.employees = EmployeeStage(employees if employees is not None else DictTable(), clock, metrics,
                                       lambda t, p: None, Engine(defs), ticks_topic="ticks",
                                       max_event_bytes=1_000_000, directory={})
        self.mailboxes = MailboxStage(mailboxes if mailboxes is not None else DictTable(), clock, metrics,
                                      lambda t, p: None, Mailbox(defs.policy), ticks_topic="mticks")
        self.out: dict[str, str] = {}
        self.records: list[Record] = []
        self.queue: deque[Record] = deque()
        self.offset = 0

    def feed(self, stage: EmployeeStage | MailboxStage, topic: str, key: bytes | None, value: bytes,
             offset: int | None = None) -> list[Record]:
        if offset is None:
            self.offset += 1
            offset = self.offset
        records = stage.process(Incoming(topic, 0, offset, key, value, None), stage.handle)
        for r in records:
            self.records.append(r)
            if r.topic == "outbound.messages" and r.value is not None:
                m = json.loads(r.value)
                self.out[m["message_id"]] = m["status"]
            elif r.topic == "mailbox":
                self.queue.append(r)
        return records

    def drain(self) -> None:
        while self.queue:
            r = self.queue.popleft()
            assert r.key is not None and r.value is not None
            self.feed(self.mailboxes, "mailbox", r.key.encode(), r.value)

    def tick(self, at: datetime) -> None:
        for _ in range(3):
            self.feed(self.employees, "ticks", None, encode_tick(at))
            self.drain()
            self.feed(self.mailboxes, "mticks", None, encode_tick(at))


def simulated(tmp_path: Path) -> dict[str, str]:
    from wayfinder.cli import main

    assert main(["simulate", "--events", str(examples_dir() / "events.jsonl"), "--until", "2027-03-01T00:00:00Z",
                 "--out", str(tmp_path)]) == 0
    return {json.loads(line)["message_id"]: json.loads(line)["status"]
            for line in (tmp_path / "messages.jsonl").read_text(encoding="utf-8").splitlines()}


def test_stages_decide_what_simulate_decides_whatever_the_mailbox_lag(tmp_path: Path) -> None:
    expected = simulated(tmp_path)
    for eager in (True, False):
        p = Pipeline()
        for line in (examples_dir() / "events.jsonl").read_bytes().splitlines():
            p.feed(p.employees, "hris", None, line)
            if eager:
                p.drain()
        p.drain()
        p.tick(UNTIL)
        assert p.out == expected


def _first_hire(lines: list[bytes]) -> int:
    return next(i for i, line in enumerate(lines) if b'"hris.employee.hired"' in line)


def test_a_replayed_input_produces_its_records_again_and_restores_its_timers() -> None:
    lines = (examples_dir() / "events.jsonl").read_bytes().splitlines()
    hired = _first_hire(lines)
    first = Pipeline()
    for i, line in enumerate(lines[:hired]):
        first.feed(first.employees, "hris", None, line, offset=i)
    table = first.employees.table
    assert isinstance(table, DictTable)
    snapshot = DictTable(table)
    before = first.feed(first.employees, "hris", None, lines[hired], offset=hired)
    wal_key = f"w:hris:0:{hired}"
    assert wal_key in table
    assert any(r.topic == "mailbox" for r in before)
    # A crash after the write-ahead entry reached the changelog but before the state, the timers and the
    # records did: the restarted worker has the table as it was, plus the entry, and the input comes again.
    crashed = DictTable(snapshot)
    crashed[wal_key] = table[wal_key]
    again = Pipeline(employees=crashed)
    replayed = again.feed(again.employees, "hris", None, lines[hired], offset=hired)
    assert replayed == before
    assert len(again.employees.timers) >= 1
    assert {k: v for k, v in crashed.items() if not k.startswith("w:")} == {
        k: v for k, v in table.items() if not k.startswith("w:")}
    again.tick(UNTIL)
    assert any(r.topic == "outbound.messages" and b"first-day-roadmap" in (r.value or b"") for r in again.records)


def test_a_replay_never_undoes_what_an_input_of_another_topic_did_since() -> None:
    """Offsets are committed per topic: an engagement event may be committed after an HRIS event that
    is replayed; the replay must not put back the state from before the engagement event."""
    lines = (examples_dir() / "events.jsonl").read_bytes().splitlines()
    hired = _first_hire(lines)
    subject = json.loads(lines[hired])["subject"]
    p = Pipeline()
    for i, line in enumerate(lines[: hired + 1]):
        p.feed(p.employees, "hris", None, line, offset=i)
    clicked = {"specversion": "1.0", "id": "click-1", "source": "t", "type": "engagement.message.clicked",
               "time": json.loads(lines[hired])["time"], "subject": subject,
               "data": {"resource_id": "it-accounts"}}
    p.feed(p.employees, "engagement", None, json.dumps(clicked).encode(), offset=0)
    table = p.employees.table
    assert isinstance(table, DictTable)
    state_after_click = table[f"s:{subject}"]
    assert b"click-1" in state_after_click
    p.feed(p.employees, "hris", None, lines[hired], offset=hired)  # the HRIS input comes again
    assert table[f"s:{subject}"] == state_after_click


def test_a_unit_interrupted_by_a_crash_is_finished_before_inputs_of_other_topics_run() -> None:
    """Only the write-ahead entry of an HRIS input reached the changelog; after the restart an engagement
    input for the same person (its offset committed earlier) runs before the HRIS input is replayed."""
    lines = (examples_dir() / "events.jsonl").read_bytes().splitlines()
    hired = _first_hire(lines)
    subject = json.loads(lines[hired])["subject"]
    first = Pipeline()
    for i, line in enumerate(lines[:hired]):
        first.feed(first.employees, "hris", None, line, offset=i)
    table = first.employees.table
    assert isinstance(table, DictTable)
    snapshot = DictTable(table)
    first.feed(first.employees, "hris", None, lines[hired], offset=hired)
    crashed = DictTable(snapshot)
    crashed[f"w:hris:0:{hired}"] = table[f"w:hris:0:{hired}"]
    again = Pipeline(employees=crashed)
    clicked = {"specversion": "1.0", "id": "click-1", "source": "t", "type": "engagement.message.clicked",
               "time": json.loads(lines[hired])["time"], "subject": subject, "data": {"resource_id": "it-accounts"}}
    again.feed(again.employees, "engagement", None, json.dumps(clicked).encode(), offset=0)
    again.feed(again.employees, "hris", None, lines[hired], offset=hired)
    state = json.loads(crashed[f"s:{subject}"])
    assert "onboarding" in state["enrollments"]  # the hire's enrollment survived
    assert any("click-1" in key for key in state["seen"])  # and so did the click
    again.tick(UNTIL)
    assert any(r.topic == "outbound.messages" and b"first-day-roadmap" in (r.value or b"") for r in again.records)
