"""The worker's two stages around the pure core, independent of Faust.

* ``EmployeeStage`` is keyed by employee: events and enrollment timers go to the journey core.
* ``MailboxStage`` is keyed by recipient: dispatched messages and deferral timers go to the mailbox.

Each input is handled as a unit of work: the table writes and the records to produce. When a
unit produces records or more than one write, it is first written to the table as a write-ahead entry (``w:<topic>:
<partition>:<offset>``) in the same changelog partition as the state it changes, so a restart
that replays the input finds it and produces the same records again instead of losing them
(the state says the input was seen, so the core alone would not repeat them). Entries are
deleted once the input's offset is committed. Processing is at-least-once; message ids are
deterministic, so delivery drops repeats.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from wayfinder.journeys.effects import (
    Diagnostic,
    Effect,
    Lifecycle,
    MailboxInput,
    MailboxTimer,
    Refuse,
    Schedule,
    Timer,
)
from wayfinder.journeys.engine import Engine
from wayfinder.journeys.events import DecodeError, decode_event
from wayfinder.journeys.mailbox import Mailbox, MailboxOutcome
from wayfinder.journeys.profile import Profile
from wayfinder.journeys.records import DeadLetter, Message, Task
from wayfinder.journeys.state import EmployeeState, MailboxState
from wayfinder.streams.clock import StreamClock
from wayfinder.streams.interpreter import carry_out
from wayfinder.streams.metrics import StreamMetrics, event_type_label
from wayfinder.streams.timers import TimerIndex
from wayfinder.streams.wire import (
    Record,
    decode_mailbox_input,
    decode_timer,
    dumps,
    encode_mailbox_input,
    encode_timer,
    parse_time,
    timer_key,
    timer_owner,
)

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
CONTACT_FIELDS = ("given_name", "preferred_name", "family_name", "email", "locale", "timezone")


class Table(Protocol):
    """What a stage needs of a table (a Faust table in the worker)."""

    def get(self, key: str) -> bytes | None: ...
    def set(self, key: str, value: bytes | None) -> None: ...
    def keys(self) -> Iterator[str]: ...


@dataclass
class Incoming:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: float | None  # Kafka message time, seconds


def digest(value: bytes | None) -> str:
    return "-" if value is None else hashlib.blake2b(value, digest_size=8).hexdigest()


@dataclass
class Work:
    writes: dict[str, bytes | None] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    before: dict[str, str] = field(default_factory=dict)  # digest of each written key's value before the unit

    def encode(self) -> bytes:
        """Compressed: an entry repeats the unit's state and records, which compress well."""
        return zlib.compress(dumps({"writes": {k: None if v is None else v.decode("utf-8")
                                               for k, v in self.writes.items()},
                                    "before": self.before,
                                    "records": [r.to_json() for r in self.records]}), 1)

    @classmethod
    def decode(cls, raw: bytes) -> Work:
        d = json.loads(zlib.decompress(raw))
        return cls({k: None if v is None else v.encode("utf-8") for k, v in d["writes"].items()},
                   [Record.from_json(r) for r in d["records"]], d.get("before", {}))


class Stage:
    """Table access with a cache, the write-ahead entries, and the timer index of one stage."""

    name = "stage"
    ticks_topic = ""

    def __init__(self, table: Table, clock: StreamClock, metrics: StreamMetrics,
                 committed: Callable[[str, int], int | None]) -> None:
        self.table = table
        self.clock = clock
        self.metrics = metrics
        self.timers = TimerIndex()
        self._committed = committed
        self._cache: dict[str, tuple[int, Any]] = {}
        self._wal: dict[tuple[str, int], deque[tuple[int, str]]] = {}

    # -- partitions ---------------------------------------------------------------------------
    def ensure_loaded(self, partition: int) -> None:
        """On assignment: finish the units a crash interrupted, then index the partition's timers."""
        if self.timers.loaded(partition):
            return
        finished = self._finish_interrupted(partition)
        prefix = f"t:{partition}:"
        items = []
        for key in self.table.keys():
            if key.startswith(prefix):
                raw = self.table.get(key)
                if raw is not None:
                    timer, due = decode_timer(raw)
                    items.append((key, timer_owner(timer), due))
        count = self.timers.load(partition, items)
        log.info("%s: partition %d loaded with %d pending timers (%d interrupted writes finished)", self.name,
                 partition, count, finished)

    def _finish_interrupted(self, partition: int) -> int:
        """Apply the writes of write-ahead entries that did not all reach the table, before any input runs.

        Offsets are committed per topic, so after a crash an input of one topic may be processed before an
        earlier input of another topic is replayed; the earlier unit's writes must be in place first. A write
        is applied where its key still holds what it held before the unit; applying one unit can make the next
        one's apply, so this repeats until nothing changes (entries already applied change nothing).
        """
        marker = f":{partition}:"
        entries = [Work.decode(raw) for key in self.table.keys()
                   if key.startswith("w:") and marker in key and (raw := self.table.get(key)) is not None]
        done: set[tuple[int, str]] = set()  # each write at most once, so the loop always ends
        progress = True
        while progress:
            progress = False
            for n, work in enumerate(entries):
                for key, value in work.writes.items():
                    if (n, key) in done:
                        continue
                    current = self.table.get(key)
                    if current != value and digest(current) == work.before.get(key):
                        self.table.set(key, value)
                        done.add((n, key))
                        progress = True
        return len(done)

    def revoke(self, partition: int) -> None:
        self.timers.drop(partition)
        self._cache = {k: v for k, v in self._cache.items() if v[0] != partition}
        for key in [k for k in self._wal if k[1] == partition]:
            del self._wal[key]

    # -- reading and writing -------------------------------------------------------------------
    def read(self, work: Work, key: str) -> bytes | None:
        if key in work.writes:
            return work.writes[key]
        return self.table.get(key)

    def cached(self, key: str) -> Any | None:
        hit = self._cache.get(key)
        return hit[1] if hit is not None else None

    def load_model(self, work: Work, key: str, model: type[M]) -> M | None:
        """The state under ``key``: this unit's own write, else the cache, else the table."""
        if key not in work.writes:
            hit = self.cached(key)
            if isinstance(hit, model):
                return hit
        raw = self.read(work, key)
        return model.model_validate_json(raw) if raw is not None else None

    def remember(self, partition: int, key: str, obj: Any | None) -> None:
        if obj is None:
            self._cache.pop(key, None)
        else:
            self._cache[key] = (partition, obj)

    def schedule(self, work: Work, partition: int, effect: Schedule) -> None:
        key = f"t:{partition}:{timer_key(effect.timer)[2:]}"
        work.writes[key] = encode_timer(effect.timer, effect.due)
        self.timers.add(partition, key, timer_owner(effect.timer), effect.due)

    def due_timers(self, work: Work, partition: int, now: datetime, owner: str | None = None
                   ) -> Iterator[tuple[Any, datetime]]:
        """Due timers in due order. With the event clock only the owner's own timers fire before its
        input (as in ``simulate``); the rest wait for a tick that moves the partition's clock."""
        if self.clock.mode == "event" and owner is not None:
            keys = self.timers.pop_due(partition, now, owner)
        else:
            keys = self.timers.pop_due(partition, now)
        for key, _ in keys:
            raw = self.read(work, key)
            if raw is None:
                continue
            work.writes[key] = None
            yield decode_timer(raw)

    # -- one input -------------------------------------------------------------------------------
    def process(self, msg: Incoming, handle: Callable[[Work, Incoming], None]) -> list[Record]:
        """Handle one input as a unit of work; returns the records to produce (in order)."""
        self.ensure_loaded(msg.partition)
        wal_key = f"w:{msg.topic}:{msg.partition}:{msg.offset}"
        previous = self.table.get(wal_key)
        if previous is not None:
            work = Work.decode(previous)
            self._cache.clear()
            # Inputs of the other topics may have been committed after this unit and changed the same
            # keys: a write is applied again only where the key still holds what it held before the unit.
            writes = {k: v for k, v in work.writes.items() if digest(self.table.get(k)) == work.before.get(k)}
            self._write(writes)
            self._index_timers(msg.partition, writes)
            log.info("%s: replayed %d records and %d of %d writes of %s", self.name, len(work.records),
                     len(writes), len(work.writes), wal_key)
            return work.records
        work = Work()
        try:
            handle(work, msg)
        except Exception:
            self._cache.clear()  # the core may have changed a cached state in place before it failed
            raise
        if work.records or len(work.writes) > 1:
            # Several writes (a state and its timer) or any records: one entry makes them all-or-nothing.
            work.before = {k: digest(self.table.get(k)) for k in work.writes}
            self.table.set(wal_key, work.encode())
            self._wal.setdefault((msg.topic, msg.partition), deque()).append((msg.offset, wal_key))
        self._write(work.writes)
        self._prune(msg.topic, msg.partition)
        return work.records

    def _index_timers(self, partition: int, writes: dict[str, bytes | None]) -> None:
        """A replayed unit may hold timers the table did not have when the partition was loaded."""
        for key, value in writes.items():
            if not key.startswith("t:"):
                continue
            if value is None:
                self.timers.discard(key)
            else:
                timer, due = decode_timer(value)
                self.timers.add(partition, key, timer_owner(timer), due)

    def _write(self, writes: dict[str, bytes | None]) -> None:
        for key, value in writes.items():
            self.table.set(key, value)

    def prune(self) -> None:
        """Delete the write-ahead entries of every input whose offset is committed (each input does this for
        its own topic and partition; this is for the end of a run)."""
        for topic, partition in list(self._wal):
            self._prune(topic, partition)

    def _prune(self, topic: str, partition: int) -> None:
        entries = self._wal.get((topic, partition))
        committed = self._committed(topic, partition)
        if not entries or committed is None:
            return
        while entries and entries[0][0] < committed:
            self.table.set(entries.popleft()[1], None)


class EmployeeStage(Stage):
    name = "employees"

    def __init__(self, table: Table, clock: StreamClock, metrics: StreamMetrics,
                 committed: Callable[[str, int], int | None], engine: Engine, *, ticks_topic: str,
                 max_event_bytes: int, directory: dict[str, Profile]) -> None:
        super().__init__(table, clock, metrics, committed)
        self.engine = engine
        self.ticks_topic = ticks_topic
        self.max_event_bytes = max_event_bytes
        self.directory = directory

    def handle(self, work: Work, msg: Incoming) -> None:
        if msg.topic == self.ticks_topic:
            tick = json.loads(msg.value or b"{}")
            if tick.get("at"):
                self.clock.observe(msg.partition, parse_time(tick["at"]))
            self._fire(work, msg.partition, self.clock.now(msg.partition))
            return
        raw = msg.value or b""
        try:
            event = decode_event(raw, max_bytes=self.max_event_bytes)
        except DecodeError as e:
            self.dead_letter(work, msg, str(e), e.code)
            return
        now = self.clock.at_least(event.time, msg.partition)
        if self.clock.mode == "wall" or not event.type.startswith("engagement."):
            # With the event clock, engagement events (their own topic, consumed at its own pace) may run
            # ahead of the HRIS events of the same person: they must not fire that person's timers.
            self._fire(work, msg.partition, now, event.subject)
        state = self._load(work, event.subject)
        outcome = self.engine.on_event(state, event, now, self._lookup)
        outcome_kind = "duplicate" if any(isinstance(e, Lifecycle) and e.kind == "duplicate"
                                          for e in outcome.effects) else "processed"
        self.metrics.events.labels(event_type_label(event.type), outcome_kind).inc()
        self._apply(work, msg.partition, event.subject, state, outcome.state, outcome.effects, now)
        if msg.timestamp is not None and work.records:
            self.metrics.latency.observe(max(0.0, self.clock.wall().timestamp() - msg.timestamp))

    def dead_letter(self, work: Work, msg: Incoming, reason: str, code: str) -> None:
        work.records.append(dead_letter_record(msg, reason, self.clock.wall()))
        self.metrics.dead_letters.labels(code).inc()
        self.metrics.events.labels("other", "dead_letter").inc()

    def _lookup(self, person_id: str) -> Profile | None:
        return self.directory.get(person_id)

    def _load(self, work: Work, employee_id: str) -> EmployeeState | None:
        return self.load_model(work, f"s:{employee_id}", EmployeeState)

    def _fire(self, work: Work, partition: int, now: datetime, owner: str | None = None) -> None:
        for timer, due in self.due_timers(work, partition, now, owner):
            if isinstance(timer, MailboxTimer):
                continue
            state = self._load(work, timer.employee_id)
            at = self.clock.at_least(due, partition)
            outcome = self.engine.on_timer(state, timer, at, self._lookup)
            self._apply(work, partition, timer.employee_id, state, outcome.state, outcome.effects, at)

    def _apply(self, work: Work, partition: int, employee_id: str, before: EmployeeState | None,
               after: EmployeeState | None, effects: list[Effect], now: datetime) -> None:
        key = f"s:{employee_id}"
        contact_before = _contact(before)
        if after is None:
            work.writes[key] = None
            self.remember(partition, key, None)
            self.directory.pop(employee_id, None)
        else:
            work.writes[key] = after.model_dump_json().encode("utf-8")
            self.remember(partition, key, after)
        contact_after = _contact(after)
        if contact_after != contact_before:
            if after is not None:
                self.directory[employee_id] = after.profile
            work.records.append(Record("directory", employee_id, dumps(contact_after) if contact_after else None))
        carry_out(effects, StagePort(self, work, partition, now), employee_id)


@dataclass
class StagePort:
    """The interpreter's port for one unit of work of a stage: timers into the table, the rest as records."""

    stage: Stage
    work: Work
    partition: int
    now: datetime

    def schedule(self, due: datetime, timer: Timer) -> None:
        self.stage.schedule(self.work, self.partition, Schedule(due, timer))

    def record(self, message: Message) -> None:
        value = message.model_dump_json().encode("utf-8")
        self.work.records.append(Record("outbound.messages", message.employee_id, value))
        if message.status == "pending_approval":
            self.work.records.append(Record("approvals", message.employee_id, value))
            self.stage.metrics.approvals.labels(message.journey_id).inc()
        self.stage.metrics.decisions.labels(message.channel, message.status).inc()

    def to_mailbox(self, mailbox: str, item: MailboxInput) -> None:
        self.work.records.append(Record("mailbox", mailbox, encode_mailbox_input(item, self.now)))

    def open_task(self, task: Task) -> None:
        self.work.records.append(Record("tasks", task.employee_id, task.model_dump_json().encode("utf-8")))
        self.stage.metrics.tasks.labels(task.journey_id).inc()

    def audit(self, entry: dict[str, Any]) -> None:
        self.work.records.append(Record("audit", str(entry["employee_id"]), dumps(entry)))

    def refuse(self, effect: Refuse) -> None:
        letter = DeadLetter(reason=effect.reason, raw=effect.raw, received_at=effect.at, source=effect.source)
        self.work.records.append(Record("dead-letters", None, dumps(letter.model_dump(mode="json"))))
        self.stage.metrics.dead_letters.labels(effect.reason).inc()

    def observe(self, effect: Lifecycle | Diagnostic) -> None:
        m = self.stage.metrics
        if isinstance(effect, Diagnostic):
            m.expression_failures.labels(effect.journey_id or "", effect.kind).inc()
        elif effect.journey_id is not None:
            m.enrollments.labels(effect.journey_id, effect.kind).inc()
        elif effect.kind == "stale":
            m.events.labels("other", "stale").inc()


def dead_letter_record(msg: Incoming, reason: str, at: datetime) -> Record:
    """An input that cannot be used, for the dead-letter topic: why, the original bytes, and where it was."""
    raw = (msg.value or b"").decode("utf-8", errors="replace")
    letter = DeadLetter(reason=reason, raw=raw, received_at=at, source=msg.topic, line=None)
    value = letter.model_dump(mode="json") | {"partition": msg.partition, "offset": msg.offset}
    return Record("dead-letters", msg.key.decode("utf-8", "replace") if msg.key else None, dumps(value))


def _contact(state: EmployeeState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    p = state.profile
    contact: dict[str, Any] = {"id": p.id, **{f: p.fields[f] for f in CONTACT_FIELDS if f in p.fields}}
    if p.preferences:
        contact["preferences"] = p.preferences
    return contact


def profile_from_contact(data: dict[str, Any]) -> Profile:
    prefs = data.get("preferences") or {}
    return Profile(id=str(data["id"]), fields={k: v for k, v in data.items() if k in CONTACT_FIELDS},
                   preferences=prefs if isinstance(prefs, dict) else {})


class MailboxStage(Stage):
    name = "mailboxes"

    def __init__(self, table: Table, clock: StreamClock, metrics: StreamMetrics,
                 committed: Callable[[str, int], int | None], mailbox: Mailbox, *, ticks_topic: str) -> None:
        super().__init__(table, clock, metrics, committed)
        self.mailbox = mailbox
        self.ticks_topic = ticks_topic

    def handle(self, work: Work, msg: Incoming) -> None:
        env = json.loads(msg.value or b"{}")
        p = msg.partition
        if msg.topic == self.ticks_topic or env.get("kind") == "tick":
            if env.get("at"):
                self.clock.observe(p, parse_time(env["at"]))
            self._fire(work, p, self.clock.now(p))
            return
        rid = (msg.key or b"").decode("utf-8")
        item, at = decode_mailbox_input(env)
        now = self.clock.at_least(at, p)
        self._fire(work, p, now, rid)
        self._keep(work, p, rid, self.mailbox.on_input(self._load(work, rid), item, now), now)

    def _load(self, work: Work, rid: str) -> MailboxState | None:
        return self.load_model(work, f"s:{rid}", MailboxState)

    def _keep(self, work: Work, partition: int, rid: str, out: MailboxOutcome, now: datetime) -> None:
        key = f"s:{rid}"
        if out.state is not None:
            work.writes[key] = out.state.model_dump_json().encode("utf-8")
        elif self.read(work, key) is not None:
            work.writes[key] = None  # a forgotten mailbox: a tombstone in the table and its changelog
        self.remember(partition, key, out.state)
        carry_out(out.effects, StagePort(self, work, partition, now), rid)

    def _fire(self, work: Work, partition: int, now: datetime, owner: str | None = None) -> None:
        for timer, due in self.due_timers(work, partition, now, owner):
            if not isinstance(timer, MailboxTimer):
                continue
            at = self.clock.at_least(due, partition)
            self._keep(work, partition, timer.recipient_id,
                       self.mailbox.on_timer(self._load(work, timer.recipient_id), timer, at), at)
