"""The worker's two stages wired as the worker wires them, with a dict standing in for each Faust table
(the table is not the thing under test) and a queue standing in for the mailbox topic."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry

from tests.support import DictTable as DictTable  # re-exported: the pipeline tests take it from here
from wayfinder import examples_dir
from wayfinder.journeys.digest import Digests
from wayfinder.journeys.engine import Engine
from wayfinder.journeys.events import CloudEvent, DecodeError, decode_event
from wayfinder.journeys.loader import Definitions
from wayfinder.journeys.mailbox import Mailbox
from wayfinder.streams.app import load_definitions
from wayfinder.streams.clock import StreamClock
from wayfinder.streams.metrics import StreamMetrics
from wayfinder.streams.routing import partition_of
from wayfinder.streams.settings import WorkerSettings
from wayfinder.streams.stage import EmployeeStage, Incoming, MailboxStage
from wayfinder.streams.wire import Record, encode_tick
from wayfinder.vocabulary import Topic, input_topic

UNTIL = datetime(2027, 3, 1, tzinfo=UTC)


class Pipeline:
    """Both stages wired as the worker wires them, with one partition each."""

    def __init__(self, employees: DictTable | None = None, mailboxes: DictTable | None = None, *,
                 committed: Callable[[str, int], int | None] = lambda topic, partition: None,
                 defs: Definitions | None = None, clock: StreamClock | None = None) -> None:
        settings = WorkerSettings(store="memory", clock="event")
        defs = defs or load_definitions(settings)
        metrics = StreamMetrics(CollectorRegistry())
        clock = clock or StreamClock("event")  # the wall clock: the worker's default
        self.employees = EmployeeStage(employees if employees is not None else DictTable(), clock, metrics,
                                       committed, Engine(defs), ticks_topic="ticks",
                                       max_event_bytes=1_000_000, directory={})
        self.mailboxes = MailboxStage(mailboxes if mailboxes is not None else DictTable(), clock, metrics,
                                      committed, Mailbox(defs.policy), ticks_topic="mticks",
                                      digests=Digests(defs.policy, defs.templates))
        self.out: dict[str, str] = {}
        self.records: list[Record] = []
        self.queue: deque[Record] = deque()
        self.offset = 0

    def feed(self, stage: EmployeeStage | MailboxStage, topic: str, key: bytes | None, value: bytes,
             offset: int | None = None, partition: int = 0) -> list[Record]:
        if offset is None:
            self.offset += 1
            offset = self.offset
        records = stage.process(Incoming(topic, partition, offset, key, value, None), stage.handle)
        stage.sent()  # as the worker, once the unit's records are with its producer
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
            r = self.queue.popleft()  # a watermark has no key
            assert r.value is not None
            self.feed(self.mailboxes, "mailbox", r.key.encode() if r.key is not None else None, r.value)

    def tick_partitions(self, at: datetime, partitions: int, rounds: int = 3) -> None:
        """Every employee partition ticked at ``at``, then the mailbox, ``rounds`` times (a run's end on several
        partitions, as ``publish --tick`` ends one)."""
        for _ in range(rounds):
            for partition in range(partitions):
                self.feed(self.employees, "ticks", None, encode_tick(at), partition=partition)
            self.drain()
            self.feed(self.mailboxes, "mticks", None, encode_tick(at))

    def messages(self) -> dict[str, dict[str, Any]]:
        """Each message on ``outbound.messages`` as its latest record has it, by id."""
        return {m["message_id"]: m for r in self.records if r.topic == "outbound.messages" and r.value is not None
                for m in [json.loads(r.value)]}

    def partition_ahead(self, events: list[CloudEvent], ahead: int, until: datetime) -> None:
        """``events`` on two employee partitions, partition ``ahead`` first, all its events and a tick at ``until``
        (a file published at once, one ``--tick``), then the other's in time order, each after a tick at its time;
        then a tick of both at ``until``. The partition an event goes to is its subject's, as on Kafka."""
        self.employees.partitions = self.mailboxes.sources = 2
        self.employees.input_topics = tuple(t.value for t in (Topic.HRIS_EVENTS, Topic.ENGAGEMENT_EVENTS,
                                                              Topic.DECISIONS))
        own = sorted((e for e in events if partition_of(e.subject.encode(), 2) == ahead), key=lambda e: e.time)
        rest = sorted((e for e in events if partition_of(e.subject.encode(), 2) != ahead), key=lambda e: e.time)
        for e in own:
            self.feed(self.employees, input_topic(e.type).value, e.subject.encode(), e.model_dump_json().encode(),
                      partition=ahead)
            self.drain()
        self.feed(self.employees, "ticks", None, encode_tick(until), partition=ahead)
        self.drain()
        for e in rest:
            partition = partition_of(e.subject.encode(), 2)
            self.feed(self.employees, "ticks", None, encode_tick(e.time), partition=partition)
            self.feed(self.employees, input_topic(e.type).value, e.subject.encode(), e.model_dump_json().encode(),
                      partition=partition)
            self.drain()
        self.tick_partitions(until, 2)

    def tick(self, at: datetime) -> None:
        """Both stages ticked at ``at``, and again while one has timers due or inputs ready (as the worker ticks a
        partition), at least three times."""
        for n in range(1000):
            self.feed(self.employees, "ticks", None, encode_tick(at))
            self.drain()
            self.feed(self.mailboxes, "mticks", None, encode_tick(at))
            due = (stage.timers.next_due(0) for stage in (self.employees, self.mailboxes))
            if n >= 2 and all(d is None or d > at.timestamp() for d in due) and not self.mailboxes.ready(0):
                return


def bundled_in_order() -> list[tuple[datetime, bytes]]:
    """The bundled events that decode, with their times, in simulate's order (time, ties in file order)."""
    timed = []
    for n, line in enumerate((examples_dir() / "events.jsonl").read_bytes().splitlines()):
        try:
            timed.append((decode_event(line).time, n, line))
        except DecodeError:
            continue
    return [(at, line) for at, _, line in sorted(timed)]


def bundled_through_stages(defs: Definitions | None = None) -> Pipeline:
    """The bundled events through both stages in simulate's order (time, ties in file order); before each, a tick
    at its time fires every timer due by then, as ``simulate`` does, and the mailbox topic is drained at once (no
    mailbox lag). Lines that do not decode are dead letters, with no effect on state."""
    p = Pipeline(committed=lambda topic, partition: 1 << 62, defs=defs)  # everything processed is committed
    for at, line in bundled_in_order():
        p.tick(at)
        p.feed(p.employees, "hris", None, line)
        p.drain()
    p.tick(UNTIL)
    p.employees.prune()
    p.mailboxes.prune()
    return p


def events_through_stages(defs: Definitions, events: list[CloudEvent], until: datetime, *,
                          max_record_bytes: int | None = None) -> tuple[Pipeline, dict[str, Any]]:
    """``events`` through both stages as ``simulate`` feeds them (a tick at each event's time first), then a tick at
    ``until``; the pipeline and the latest record of each message on ``outbound.messages``."""
    p = Pipeline(defs=defs)
    if max_record_bytes is not None:
        p.employees.max_record_bytes = p.mailboxes.max_record_bytes = max_record_bytes
    for event in events:
        p.tick(event.time)
        p.feed(p.employees, "hris", None, event.model_dump_json().encode())
        p.drain()
    p.tick(until)
    latest: dict[str, Any] = {}
    for r in p.records:
        if r.topic == "outbound.messages" and r.value is not None:
            latest[json.loads(r.value)["message_id"]] = json.loads(r.value)
    return p, latest
