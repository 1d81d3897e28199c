"""A seeded fuzz of the employee stage's ordering machinery on the event clock, without Kafka: the bundled events
replicated (``benchmarks.core_throughput.replicate``: copies of the company, each restarting the same year, so the
file is not in time order across copies) are published in file order, keyed by subject, over a few partitions, and
read as a backlogged worker reads them: each input topic of each partition at its own pace, in batches, while the
publisher is still going. So inputs wait for their turn (``streams.gate``: ``drained`` says whether a topic
partition has been read up to what is published), people are known on another partition only once it has decided
them (the recipient hold, ``streams.recipients``: retries go round the ticks topic of their partition), the worker's
wake-ups come when a partition has inputs ready, and the stages may be restarted from their tables. At the end a
tick to ``UNTIL`` goes to every partition, as ``wayfinder publish --tick`` does. Every message must end as
``simulate`` (the embedded runner) ends it."""

from __future__ import annotations

import json
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from benchmarks.core_throughput import replicate
from tests.pipeline.stages import DictTable, Pipeline
from wayfinder import examples_dir
from wayfinder.journeys.events import CloudEvent, DecodeError, decode_event
from wayfinder.journeys.loader import Definitions
from wayfinder.journeys.profile import as_recipient
from wayfinder.journeys.state import EmployeeState
from wayfinder.streams.app import load_definitions
from wayfinder.streams.clock import StreamClock
from wayfinder.streams.embedded import EmbeddedRunner
from wayfinder.streams.routing import partition_of
from wayfinder.streams.settings import WorkerSettings
from wayfinder.streams.wire import Record, encode_tick
from wayfinder.vocabulary import Topic, input_topic

UNTIL = datetime(2027, 3, 1, tzinfo=UTC)
INPUT_TOPICS = (Topic.HRIS_EVENTS.value, Topic.ENGAGEMENT_EVENTS.value, Topic.DECISIONS.value)
TICKS = "employee-ticks"


def replicated(count: int) -> list[tuple[CloudEvent, bytes]]:
    """``count`` replicated bundled lines, those that decode (the rest are dead letters in both runners)."""
    lines = (examples_dir() / "events.jsonl").read_text(encoding="utf-8").splitlines()
    out = []
    for line in replicate(lines, count):
        raw = line.encode("utf-8")
        try:
            out.append((decode_event(raw), raw))
        except DecodeError:
            continue
    return out


def simulated(defs: Definitions, events: list[tuple[CloudEvent, bytes]]) -> dict[str, str]:
    runner = EmbeddedRunner(defs)
    runner.run([e for e, _ in events], UNTIL)
    return {m.message_id: m.status for m in runner.messages.values()}


class Wall:
    def __init__(self) -> None:
        self.value = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.value


@dataclass
class Run:
    """One run's world: what is published, what each topic partition has been read up to, the ticks topic."""

    defs: Definitions
    partitions: int
    rng: random.Random
    wall: Wall = field(default_factory=Wall)
    available: dict[tuple[str, int], list[tuple[bytes, bytes]]] = field(default_factory=dict)
    read: dict[tuple[str, int], int] = field(default_factory=dict)
    ticks: dict[int, deque[bytes]] = field(default_factory=dict)
    tick_offsets: dict[int, int] = field(default_factory=dict)
    mailbox_offset: int = 0
    statuses: dict[str, str] = field(default_factory=dict)
    employees: DictTable = field(default_factory=DictTable)
    mailboxes: DictTable = field(default_factory=DictTable)
    p: Pipeline | None = None

    def start(self) -> Pipeline:
        """The stages (again) from their tables, as a worker starts: the directory read from the people kept."""
        p = Pipeline(self.employees, self.mailboxes, committed=lambda topic, partition: 1 << 62, defs=self.defs,
                     clock=StreamClock("event", self.wall))
        e = p.employees
        e.holds.wait_seconds = 30.0
        e.partitions = self.partitions
        e.input_topics = INPUT_TOPICS
        e.drained = self.drained
        p.mailboxes.sources = self.partitions
        p.mailboxes.directory = e.directory
        for key in self.employees.keys():
            if key.startswith("s:") and (raw := self.employees.get(key)) is not None:
                state = EmployeeState.model_validate_json(raw)
                if not state.forgotten:
                    e.directory[state.employee_id] = as_recipient(state.profile)
        self.p = p
        return p

    def drained(self, topic: str, partition: int, seen: int | None) -> bool:
        place = (topic, partition)
        return self.read.get(place, 0) >= len(self.available.get(place, []))

    def publish(self, event: CloudEvent, raw: bytes) -> None:
        key = event.subject.encode("utf-8")
        place = (input_topic(event.type).value, partition_of(key, self.partitions))
        self.available.setdefault(place, []).append((key, raw))

    def _route(self, records: list[Record]) -> None:
        assert self.p is not None
        for r in records:
            if r.topic == TICKS:
                assert r.partition is not None and r.value is not None
                self.ticks.setdefault(r.partition, deque()).append(r.value)
            elif r.topic == Topic.OUTBOUND_MESSAGES and r.value is not None:
                m = json.loads(r.value)
                self.statuses[m["message_id"]] = m["status"]
            elif r.topic == Topic.MAILBOX and r.value is not None and (r.key is not None or r.partition in (0, None)):
                self.mailbox_offset += 1
                self._route(self.p.feed(self.p.mailboxes, "mailbox", r.key.encode() if r.key is not None else None,
                                        r.value, offset=self.mailbox_offset))

    def read_batch(self, place: tuple[str, int], most: int) -> None:
        assert self.p is not None
        records = self.available.get(place, [])
        start = self.read.get(place, 0)
        for offset in range(start, min(len(records), start + most)):
            key, raw = records[offset]
            self.read[place] = offset + 1
            self._route(self.p.feed(self.p.employees, place[0], key, raw, offset=offset, partition=place[1]))

    def tick(self, partition: int, value: bytes) -> None:
        assert self.p is not None
        offset = self.tick_offsets.get(partition, 0)
        self.tick_offsets[partition] = offset + 1
        self._route(self.p.feed(self.p.employees, "ticks", None, value, offset=offset, partition=partition))

    def round_of_ticks(self, partition: int) -> None:
        """What the ticks partition holds now, processed (what it adds comes after)."""
        queue = self.ticks.setdefault(partition, deque())
        for _ in range(len(queue)):
            self.tick(partition, queue.popleft())

    def mailbox_tick(self, at: datetime | None) -> None:
        assert self.p is not None
        self.mailbox_offset += 1
        self._route(self.p.feed(self.p.mailboxes, "mticks", None, encode_tick(at), offset=self.mailbox_offset))

    def unread(self) -> list[tuple[str, int]]:
        return [place for place, records in self.available.items() if self.read.get(place, 0) < len(records)]

    def busy(self, until: datetime | None) -> bool:
        """Whether retries go round, inputs wait for a turn that could come, or (``until``) timers are due by it."""
        assert self.p is not None
        stages = (self.p.employees, self.p.mailboxes)
        due = [] if until is None else [s.timers.next_due(q) for s in stages for q in range(self.partitions)]
        return any(self.ticks.get(q) or self.p.employees.ready(q) for q in range(self.partitions)) \
            or any(d is not None and d <= until.timestamp() for d in due if until is not None) \
            or (until is not None and self.p.mailboxes.ready(0))

    def wake_up(self, also: Callable[[int], bool]) -> None:
        """The worker's wake-ups: a tick without a time to each partition with inputs ready (and those ``also``
        says), one to the mailbox partition."""
        assert self.p is not None
        for q in range(self.partitions):
            if self.p.employees.ready(q) or also(q):
                self.tick(q, encode_tick(None))
        self.mailbox_tick(None)


def run_stages(defs: Definitions, events: list[tuple[CloudEvent, bytes]], seed: int, *, partitions: int = 4,
               restarts: int = 0, step: Callable[[Run], None] | None = None) -> dict[str, str]:
    """``events`` through the stages as a backlogged worker reads them (module docstring); the final status of each
    message. ``restarts``: the stages are built again from their tables that many times while the events come;
    ``step``: called before each step (a test's probe)."""
    run = Run(defs, partitions, random.Random(seed))  # noqa: S311 - a test's schedule
    run.start()
    _backlog(run, events, restarts, step)
    _settle(run, None)  # everything is read: what waits for its turn goes, the retries come round until waits end
    _settle(run, UNTIL)  # the tick to UNTIL on every partition, and again while anything is due or goes round
    return run.statuses


def _backlog(run: Run, events: list[tuple[CloudEvent, bytes]], restarts: int, step: Callable[[Run], None] | None
             ) -> None:
    """Publish ``events`` in file order while reading them: each topic partition at a pace of its own, in batches,
    with the retries going round and the wake-ups a worker sends."""
    rng, partitions = run.rng, run.partitions
    restart_at = sorted(rng.sample(range(1, len(events)), restarts)) if restarts else []
    burst = rng.choice((40, 200, 800))  # how far ahead the publisher may run
    batches = rng.choice(((1, 3, 10, 30), (10, 50, 200)))
    pace: dict[str | int, float] = {k: rng.choice((0.05, 0.3, 1.0, 1.0)) for k in (*INPUT_TOPICS, *range(partitions))}
    published = 0
    while published < len(events) or run.unread():
        if step is not None:
            step(run)
        run.wall.value += timedelta(milliseconds=rng.choice((0, 1, 2)))
        action, unread = rng.random(), sorted(run.unread())
        if published < len(events) and (action < 0.25 or not unread):
            for event, raw in events[published:published + rng.randint(1, burst)]:
                run.publish(event, raw)
                published += 1
            if restart_at and published >= restart_at[0]:
                restart_at.pop(0)
                run.start()
        elif action < 0.8 and unread:
            place = rng.choices(unread, [pace[t] * pace[q] for t, q in unread])[0]
            run.read_batch(place, rng.choice(batches))
        elif action < 0.92:
            q = rng.randrange(partitions)
            if run.ticks.get(q):
                run.tick(q, run.ticks[q].popleft())
        else:
            run.wake_up(lambda q: rng.random() < 0.2)


def _settle(run: Run, until: datetime | None) -> None:
    """Ticks (at ``until``, or wake-ups) to every partition, and the ticks topic processed, until nothing is left to
    do; every fifth round the wall clock passes the recipient wait (people nobody publishes: ``no_recipient``)."""
    assert run.p is not None
    for rounds in range(10_000):
        for q in range(run.partitions):
            run.tick(q, encode_tick(until))
            run.round_of_ticks(q)
        run.mailbox_tick(until)
        if rounds >= 2 and not run.busy(until):
            return
        if rounds % 5 == 4:
            run.wall.value += timedelta(seconds=31)
    msg = "the stages never settled"
    raise AssertionError(msg)


def differences(expected: dict[str, str], got: dict[str, str]) -> list[str]:
    out = [f"{mid}: simulate {status}, stages {got.get(mid)}" for mid, status in expected.items()
           if got.get(mid) != status]
    out += [f"{mid}: stages {status}, simulate never made it" for mid, status in got.items() if mid not in expected]
    return sorted(out)


def defaults() -> Definitions:
    return load_definitions(WorkerSettings())
