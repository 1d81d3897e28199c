"""The stages in simulate's order (timers to a fixed point before their key's next input) and within Kafka's
record size (held messages one key each; a write Kafka would refuse is a dead letter)."""

from __future__ import annotations

import json
import zlib
from collections import deque
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from benchmarks.core_throughput import replicate
from tests.pipeline.stages import UNTIL, DictTable, Pipeline
from tests.pipeline.test_stage import simulated
from tests.support import WriteFiles, at, world_defs
from wayfinder import examples_dir
from wayfinder.journeys.effects import CancelPending, Dispatch, Preferences
from wayfinder.journeys.events import CloudEvent, DecodeError, decode_event
from wayfinder.journeys.loader import Definitions
from wayfinder.journeys.profile import Profile
from wayfinder.journeys.records import Message
from wayfinder.journeys.state import MailboxState
from wayfinder.streams import held as held_module
from wayfinder.streams.app import load_definitions
from wayfinder.streams.embedded import EmbeddedRunner, read_event_file, read_events
from wayfinder.streams.held import CHUNK, StoredMailbox, chunk_key, held_key
from wayfinder.streams.ordering import encode_watermark
from wayfinder.streams.publish import route
from wayfinder.streams.routing import partition_of
from wayfinder.streams.settings import WorkerSettings
from wayfinder.streams.wire import Record, encode_mailbox_input, encode_tick

CHAIN = """apiVersion: wayfinder/v1
kind: Journey
name: Two waits in a row
owner: hr@example.com
id: chain
trigger: {event: hris.leave.started}
exit_on:
  - {event: hris.leave.ended}
steps:
  - id: first-wait
    wait: {for: 1d}
  - id: first
    send: {channel: email, subject: "First", body: "One day in."}
  - id: second-wait
    wait: {for: 1d}
  - id: second
    send: {channel: email, subject: "Second", body: "Two days in."}
"""


def _event(eid: str, etype: str, time: str, **data: object) -> CloudEvent:
    return CloudEvent(specversion="1.0", id=eid, source="test", type=etype, time=at(time), subject="E1",
                      data=dict(data))


def _events() -> list[CloudEvent]:
    person = {"id": "E1", "given_name": "Ann", "email": "e1@example.com", "country": "DE", "timezone": "UTC",
              "locale": "en-GB", "employment_type": "employee", "work_mode": "hybrid", "department": "Engineering"}
    return [_event("p1", "hris.employee.upserted", "2026-05-01T09:00:00Z", **person),
            _event("l1", "hris.leave.started", "2026-05-04T09:00:00Z", leave_type="parental", start_date="2026-05-04"),
            _event("x1", "hris.leave.ended", "2026-05-09T09:00:00Z", leave_type="parental", return_date="2026-05-09")]


def _defs(write_files: WriteFiles) -> Definitions:
    root = write_files({"journeys/chain.yaml": CHAIN})
    return world_defs(root / "journeys")


def test_chained_timers_fire_before_the_next_event_of_their_key_as_in_simulate(write_files: WriteFiles) -> None:
    defs = _defs(write_files)
    runner = EmbeddedRunner(defs)
    events = _events()
    runner.run(events, at("2026-06-01T00:00:00Z"))
    expected = {m.message_id: (m.step_id, m.status, m.scheduled_for) for m in runner.messages.values()}
    assert sorted(step for step, _, _ in expected.values()) == ["first", "second"]

    p = Pipeline(defs=defs)
    for event in events:  # no tick between the events: only the key's own timers can fire before the exit
        p.feed(p.employees, "hris", b"E1", event.model_dump_json(by_alias=True).encode("utf-8"))
        p.drain()
    p.tick(at("2026-06-01T00:00:00Z"))
    got = {}
    for r in p.records:
        if r.topic == "outbound.messages" and r.value is not None:
            m = json.loads(r.value)
            got[m["message_id"]] = (m["step_id"], m["status"], at(m["scheduled_for"]))
    assert got == expected


def test_held_messages_are_kept_one_key_each_not_inside_the_recipients_record() -> None:
    p = Pipeline()
    timed = sorted((decode_event(line).time, n, line)
                   for n, line in enumerate((examples_dir() / "events.jsonl").read_bytes().splitlines())
                   if _decodes(line))
    table = p.mailboxes.table
    assert isinstance(table, DictTable)
    seen = 0
    for at_time, _, line in timed:
        p.tick(at_time)
        p.feed(p.employees, "hris", None, line)
        p.drain()
        held_keys = [k for k in table.keys() if k.startswith("m:") and "\x1f" in k]
        seen += bool(held_keys)
        for key, value in table.items():
            if key.startswith("s:"):
                record = StoredMailbox.model_validate_json(value)
                rid = record.state.recipient_id
                assert record.state.pending == {} and record.held == []  # the ids are in the chunks
                ids = [mid for n in record.chunks for mid in json.loads(table[chunk_key(rid, n)])]
                assert all(len(json.loads(table[chunk_key(rid, n)])) <= CHUNK for n in record.chunks)
                assert all(held_key(rid, mid) in table for mid in ids)
                assert ids == list((p.mailboxes.stored(rid) or MailboxState(recipient_id=rid)).pending)
        for key in held_keys:
            rid, mid = key[2:].split("\x1f")
            assert mid in (p.mailboxes.stored(rid) or MailboxState(recipient_id=rid)).pending
    assert seen > 0  # there were held messages to keep


def test_a_write_kafka_would_refuse_is_a_dead_letter_with_a_metric_and_the_stream_goes_on() -> None:
    p = Pipeline()
    lines = (examples_dir() / "events.jsonl").read_bytes().splitlines()
    for line in lines:
        p.feed(p.employees, "hris", None, line)
    p.feed(p.employees, "ticks", None, encode_tick(UNTIL))
    refused = sum(b'"kind":"dispatch"' in (r.value or b"") for r in p.queue)  # a dispatch always writes state
    assert refused > 0
    p.mailboxes.sources = 2  # a second source that has not said how far it got: every input waits
    p.drain()
    p.mailboxes.sources = 1
    p.mailboxes.max_record_bytes = 550  # every message record is larger (605 bytes and more), a dead letter smaller
    for _ in range(10 * refused):  # the worker ticks a partition while inputs are ready
        if not p.mailboxes.ready(0):
            break
        p.feed(p.mailboxes, "mticks", None, encode_tick(None))
    letters = [json.loads(r.value) for r in p.records if r.topic == "dead-letters" and r.value is not None
               and b"_too_large" in r.value]
    assert len(letters) == refused
    reasons = {letter["reason"].split(":")[0] for letter in letters}
    assert reasons <= {"state_too_large", "record_too_large", "entry_too_large"}
    # Each waiting input says what of its unit was too large: a message's record (every one is), or before that
    # the held message's own key (a deferred one); until 2026-12-02 every such letter said "state".
    assert {"record_too_large", "state_too_large"} <= reasons
    kept = [k for k in p.mailboxes.table.keys() if not k.startswith(("w:", "W:"))]
    # No refused unit kept: what is left are the small states of the leave inputs (Policy.leave_pause) and of the
    # choices an upsert carried (an opt-out, the time zone and quiet hours), no message.
    for key in kept:
        assert key.startswith("s:")
        state = p.mailboxes.stored(key[2:])
        assert state is not None and (state.leave is not None or state.opt_out_channels or state.opt_out_topics
                                      or state.placing is not None)
        assert (state.pending, state.slots) == ({}, [])
    assert len(p.mailboxes.timers) == 0
    registry = p.mailboxes.metrics.registry
    counted = sum(registry.get_sample_value("wayfinder_dead_letters_total", {"reason": reason}) or 0.0
                  for reason in ("state_too_large", "record_too_large", "entry_too_large"))
    assert counted == refused
    assert len(p.mailboxes.waiting) == 0 and not p.mailboxes.ready(0)  # nothing left stuck, no loop
    before = len(p.records)
    p.feed(p.mailboxes, "mticks", None, encode_tick(None))
    assert p.records[before:] == []


def _librdkafka_partition(key: bytes | None, partitions: int) -> int:
    """Where librdkafka's default partitioner (consistent_random: CRC32 of the key) puts a keyed record."""
    return zlib.crc32(key) % partitions if key else 0


def test_inputs_from_a_producer_with_another_partitioner_are_forwarded_to_their_keys_partition(
        tmp_path: Path) -> None:
    expected = simulated(tmp_path)
    p = Pipeline()
    p.employees.partitions = 4
    lines = (examples_dir() / "events.jsonl").read_bytes().splitlines()
    hops = _fed_with_hops(p, deque((_librdkafka_partition(route(line)[1], 4), route(line)[1], line)
                                   for line in lines))
    assert hops
    for came_on, r in hops:
        assert r.key is not None and r.value is not None and r.partition is not None
        assert r.partition == partition_of(r.key.encode(), 4) != came_on
    timers = [k.split(":", 2)[1:] for k in p.employees.table.keys() if k.startswith("t:")]
    assert timers
    assert all(int(part) == partition_of(rest.split("\x1f")[0].encode(), 4) for part, rest in timers)
    _tick_every_partition(p, 4)
    assert p.out == expected


def _fed_with_hops(p: Pipeline, inbox: deque[tuple[int, bytes | None, bytes]]) -> list[tuple[int, Record]]:
    """Each (partition, key, value) through the employee stage, an input it forwards fed next (the hop comes
    before later events); the forwarded records, each with the partition its input came on."""
    hops = []
    while inbox:
        partition, key, value = inbox.popleft()
        for r in p.feed(p.employees, "hris", key, value, partition=partition):
            if r.topic == "hris":
                hops.append((partition, r))
                assert r.key is not None and r.value == value and r.partition is not None  # forwarded unchanged
                inbox.appendleft((r.partition, r.key.encode(), r.value))
        p.drain()
    return hops


def _tick_every_partition(p: Pipeline, partitions: int) -> None:
    for _ in range(3):
        for partition in range(partitions):
            p.feed(p.employees, "ticks", None, encode_tick(UNTIL), partition=partition)
        p.drain()
        p.feed(p.mailboxes, "mticks", None, encode_tick(UNTIL))


def _event_id(line: bytes) -> bytes | None:
    try:
        return str(json.loads(line)["id"]).encode()
    except (ValueError, KeyError, TypeError):
        return None


@pytest.mark.parametrize("keyed", ["unkeyed", "by event id"])
def test_inputs_not_keyed_by_their_subject_are_forwarded_to_their_subjects_partition(
        tmp_path: Path, keyed: str) -> None:
    """SPEC: the key is the employee id. A producer that sends no key (spread over partitions) or another key
    still gets simulate's decisions: the worker routes by the subject, never by what it was given."""
    expected = simulated(tmp_path)
    p = Pipeline()
    p.employees.partitions = 4
    lines = (examples_dir() / "events.jsonl").read_bytes().splitlines()
    key_of = (lambda line: None) if keyed == "unkeyed" else _event_id
    hops = _fed_with_hops(p, deque((n % 4, key_of(line), line) for n, line in enumerate(lines)))
    assert len(hops) > len(lines) // 2
    for _, r in hops:
        assert r.key is not None and r.value is not None and r.partition == partition_of(r.key.encode(), 4)
        assert r.key == decode_event(r.value).subject
    _tick_every_partition(p, 4)
    assert p.out == expected


def test_a_mailbox_hears_from_several_partitions_in_event_order(tmp_path: Path) -> None:
    """Four employee partitions processed one after the other (the worst skew): a recipient's mailbox still
    acts on its inputs in the order of their decisions, so the result is simulate's."""
    expected = simulated(tmp_path)
    p = Pipeline()
    p.employees.partitions = p.mailboxes.sources = 4
    # The worst skew leaves a partition's managers unknown to the partitions processed before it, which the
    # worker holds for (streams.recipients, tested apart): here the directory is read in full first, as a worker
    # that restarts has it, so what is tested is the mailbox's order alone.
    p.employees.directory.update(_final_profiles())
    lines = (examples_dir() / "events.jsonl").read_bytes().splitlines()
    by_partition: dict[int, list[tuple[bytes | None, bytes]]] = {n: [] for n in range(4)}
    for line in lines:
        key = route(line)[1]
        by_partition[partition_of(key, 4) if key else 0].append((key, line))
    for partition in (3, 2, 1, 0):
        for key, line in by_partition[partition]:
            p.feed(p.employees, "hris", key, line, partition=partition)
            p.drain()  # the mailbox hears from this partition long before it hears from the next
        for _ in range(3):
            p.feed(p.employees, "ticks", None, encode_tick(UNTIL), partition=partition)
            p.drain()
    while p.mailboxes.ready(0):
        p.feed(p.mailboxes, "mticks", None, encode_tick(None))
    assert p.out == expected


def _final_profiles() -> dict[str, Profile]:
    runner = EmbeddedRunner(load_definitions(WorkerSettings(store="memory", clock="event")))
    runner.run(read_event_file(examples_dir() / "events.jsonl").events, UNTIL)
    return {eid: state.profile for eid, state in runner.states.items()}


def _decodes(line: bytes) -> bool:
    try:
        decode_event(line)
    except DecodeError:
        return False
    return True


def _dispatch(mid: str, unknown: bool) -> bytes:
    message = Message(message_id=mid, employee_id="E1", recipient_id="M1", recipient_role="manager",
                      journey_id="j", journey_version=1, step_id="s", channel="email", status="deferred",
                      scheduled_for=at("2026-03-02T12:00:00Z"), created_at=at("2026-03-02T12:00:00Z"))
    raw = encode_mailbox_input(Dispatch("M1", message, "UTC", None), at("2026-03-02T12:00:00Z"), f"0000:x:{mid}")
    return raw[:-1] + b',"unknown_recipient":true}' if unknown else raw


def test_a_recipient_unknown_where_the_message_was_decided_gets_their_own_time_zone_and_quiet_hours() -> None:
    p = Pipeline()
    p.mailboxes.directory = {"M1": Profile(id="M1", fields={"timezone": "Asia/Tokyo"},
                                           preferences={"quiet_hours": "20:00-08:00"})}
    p.feed(p.mailboxes, "mailbox", None, encode_watermark(0, at("2026-03-03T00:00:00Z")))
    p.feed(p.mailboxes, "mailbox", b"M1", _dispatch("m-known", unknown=False))  # decided knowing M1 (UTC here)
    p.feed(p.mailboxes, "mailbox", b"M1", _dispatch("m-unknown", unknown=True))
    latest = {}
    for r in p.records:
        if r.topic == "outbound.messages" and r.value is not None:
            m = json.loads(r.value)
            latest[m["message_id"]] = (m["status"], m["scheduled_for"])
    assert latest["m-known"] == ("sent", "2026-03-02T12:00:00Z")
    assert latest["m-unknown"] == ("sent", "2026-03-02T23:00:00Z")  # 08:00 in Tokyo, after M1's quiet hours


def test_an_organisation_of_4000_events_from_a_librdkafka_producer_over_four_partitions_is_simulate() -> None:
    """The in-process twin of tests/real/test_kafka_order.py: kcat's partitioning, the hop, four partitions."""
    lines = replicate((examples_dir() / "events.jsonl").read_text(encoding="utf-8").splitlines(), 4_000)
    runner = EmbeddedRunner(load_definitions(WorkerSettings(store="memory", clock="event")))
    runner.run(read_events(lines).events, UNTIL)
    expected = {m.message_id: (m.status, m.scheduled_for, m.recipient_id) for m in runner.messages.values()}
    p = Pipeline()
    p.employees.partitions = p.mailboxes.sources = 4
    inbox = deque((_librdkafka_partition(route(line.encode())[1], 4), route(line.encode())[1], line.encode())
                  for line in lines)
    while inbox:
        partition, key, value = inbox.popleft()
        for r in p.feed(p.employees, "hris", key, value, partition=partition):
            if r.topic == "hris" and r.key is not None and r.value is not None and r.partition is not None:
                inbox.appendleft((r.partition, r.key.encode(), r.value))
        p.drain()
    for _ in range(3):
        for partition in range(4):
            p.feed(p.employees, "ticks", None, encode_tick(UNTIL), partition=partition)
        p.drain()
        while p.mailboxes.ready(0):
            p.feed(p.mailboxes, "mticks", None, encode_tick(None))
    got = {}
    for r in p.records:
        if r.topic == "outbound.messages" and r.value is not None:
            m = json.loads(r.value)
            got[m["message_id"]] = (m["status"], at(m["scheduled_for"]), m["recipient_id"])
    assert len(expected) > 600
    assert got == expected


class CountingTable(DictTable):
    """A table that notes the held messages (``m:`` keys) read and written."""

    def __init__(self) -> None:
        super().__init__()
        self.held_reads: set[str] = set()
        self.held_writes: set[str] = set()

    def get(self, key: str) -> bytes | None:  # type: ignore[override]
        if key.startswith("m:") and "\x1f" in key:
            self.held_reads.add(key.split("\x1f")[1])
        return super().get(key)

    def set(self, key: str, value: bytes | None) -> None:
        if key.startswith("m:") and "\x1f" in key:
            self.held_writes.add(key.split("\x1f")[1])
        super().set(key, value)


def test_an_input_to_a_busy_mailbox_writes_only_the_held_messages_it_changed_and_reads_none() -> None:
    """A manager with 40 messages behind the cap: each later input writes only the held messages it changed (the
    new one; the withdrawn ones and the ones that moved up) and reads no other (the write-ahead entry notes what
    each written key held), and the table then holds the mailbox exactly as the stage has it."""
    table = CountingTable()
    p = Pipeline(mailboxes=table)
    p.mailboxes.mailbox.at_once = 3
    p.feed(p.mailboxes, "mailbox", None, encode_watermark(0, at("2026-03-02T12:00:00Z")))
    def about(n: int) -> Message:
        return Message(message_id=f"m-{n:02d}", employee_id=f"E{n % 5}", recipient_id="M1", recipient_role="manager",
                       journey_id="j", journey_version=1, step_id="s", channel="email", status="deferred",
                       subject=f"About E{n % 5}", scheduled_for=at("2026-03-02T12:00:00Z"),
                       created_at=at("2026-03-02T12:00:00Z"))

    inputs: list[Dispatch | CancelPending] = [Dispatch("M1", about(n), "UTC", None) for n in range(40)]
    inputs.append(CancelPending("E1", None, "exited", ("M1",), at("2026-03-02T12:00:00Z")))
    for n, item in enumerate(inputs):
        table.held_reads, table.held_writes = set(), set()
        records = p.feed(p.mailboxes, "mailbox", b"M1", encode_mailbox_input(item, at("2026-03-02T12:00:00Z"),
                                                                              f"0000:x:{n:02d}"))
        changed = {json.loads(r.value)["message_id"] for r in records
                   if r.topic == "outbound.messages" and r.value is not None
                   and json.loads(r.value)["status"] in ("deferred", "suppressed")}
        assert table.held_writes == changed
        assert table.held_reads <= changed
        assert p.mailboxes.stored("M1") == p.mailboxes.cached("s:M1")
    # the cap (3 a week) let m-00..m-02 go; E1's held ones are withdrawn; of the three placed again behind the
    # first of them (m-06, in the second week), m-07 and m-08 keep their week, m-09 moves up into it
    assert changed == {"m-06", "m-11", "m-16", "m-21", "m-26", "m-31", "m-36", "m-09"}


def test_a_busy_mailbox_keeps_its_order_in_chunks_through_sends_withdrawals_and_a_restart(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Held ids in chunks of 4 (100 in the worker): as messages come, go, are withdrawn and are placed again under
    new preferences, the table holds the mailbox as the stage has it, the recipient's record does not grow with
    what is held, and a stage started on the same table goes on as the first one would have."""
    monkeypatch.setattr(held_module, "CHUNK", 4)
    start = at("2026-03-02T12:00:00Z")

    def about(n: int, when: datetime) -> Message:
        return Message(message_id=f"m-{n:02d}", employee_id=f"E{n % 6}", recipient_id="M1", recipient_role="manager",
                       journey_id="j", journey_version=1, step_id="s", channel="email", status="deferred",
                       subject=f"About E{n % 6}", scheduled_for=when, created_at=when)

    script: list[tuple[datetime, Dispatch | CancelPending | Preferences]] = []
    for n in range(60):
        when = start + timedelta(hours=9 * n)
        script.append((when, Dispatch("M1", about(n, when), "UTC", None)))
        if n % 9 == 8:
            script.append((when, CancelPending(f"E{n % 6}", None, "exited", ("M1",), when)))
        if n == 45:
            script.append((when, Preferences("M1", (), (), when + timedelta(days=3), when, "UTC", None)))

    def run(p: Pipeline, steps: list[tuple[datetime, Dispatch | CancelPending | Preferences]], first: int) -> None:
        for n, (when, item) in enumerate(steps, start=first):
            p.feed(p.mailboxes, "mailbox", None, encode_watermark(0, when))
            p.feed(p.mailboxes, "mailbox", b"M1", encode_mailbox_input(item, when, f"0000:x:{n:03d}"))
            state = p.mailboxes.cached("s:M1")
            assert isinstance(state, MailboxState)
            assert p.mailboxes.stored("M1") == state
            assert len(p.mailboxes.table.get("s:M1") or b"") < 2_000 + 100 * len(state.pending) // 4
            chunks = [json.loads(p.mailboxes.table.get(chunk_key("M1", k)) or b"[]")
                      for k in StoredMailbox.model_validate_json(p.mailboxes.table.get("s:M1") or b"").chunks]
            assert [mid for chunk in chunks for mid in chunk] == list(state.pending)
            assert all(1 <= len(chunk) <= 4 for chunk in chunks)

    whole = Pipeline()
    run(whole, script, 0)
    assert len(whole.mailboxes.stored("M1").pending) > 12  # type: ignore[union-attr]  # more than three chunks

    first = Pipeline()
    run(first, script[:40], 0)
    table = first.mailboxes.table
    assert isinstance(table, DictTable)
    second = Pipeline(mailboxes=DictTable(table))
    second.offset = first.offset  # the topic goes on where it was
    run(second, script[40:], 40)
    assert second.mailboxes.stored("M1") == whole.mailboxes.stored("M1")
    def latest(p: Pipeline) -> dict[str, bytes]:
        return {json.loads(r.value)["message_id"]: r.value for r in p.records
                if r.topic == "outbound.messages" and r.value is not None}

    assert latest(first) | latest(second) == latest(whole)


def test_a_wake_up_acting_on_many_inputs_to_a_busy_mailbox_reads_it_once() -> None:
    """On the event clock, inputs wait for a watermark and one wake-up acts on many of them in one unit: the second
    and later inputs to the same mailbox take it as the unit left it (the stage's cache), not from the table again
    (which, for a recipient holding thousands, made every such input read all of them)."""
    table = CountingTable()
    p = Pipeline(mailboxes=table)
    start = at("2026-03-02T12:00:00Z")

    later = start + timedelta(minutes=1)

    def dispatch(n: int, when: datetime) -> bytes:
        m = Message(message_id=f"m-{n:02d}", employee_id=f"E{n % 5}", recipient_id="M1", recipient_role="manager",
                    journey_id="j", journey_version=1, step_id="s", channel="email", status="deferred",
                    subject="News", scheduled_for=when, created_at=when)
        return encode_mailbox_input(Dispatch("M1", m, "UTC", None), when, f"0000:x:{n:03d}")

    p.feed(p.mailboxes, "mailbox", None, encode_watermark(0, start))
    for n in range(20):  # acted on one by one: the watermark is already there
        p.feed(p.mailboxes, "mailbox", b"M1", dispatch(n, start))
    for n in range(20, 30):  # decided a minute later: they wait for the watermark
        p.feed(p.mailboxes, "mailbox", b"M1", dispatch(n, later))
    assert len(p.mailboxes.stored("M1").pending) == 17  # type: ignore[union-attr]  # the cap let three go
    table.held_reads, table.held_writes = set(), set()
    records = p.feed(p.mailboxes, "mailbox", None, encode_watermark(0, later))  # one wake-up, ten inputs
    decided = {json.loads(r.value)["message_id"] for r in records if r.topic == "outbound.messages" and r.value}
    assert decided == {f"m-{n:02d}" for n in range(20, 30)}
    assert table.held_reads <= decided  # (the write-ahead entry notes what each written key held)
    assert p.mailboxes.stored("M1") == p.mailboxes.cached("s:M1")


def test_a_unit_undone_drops_from_the_cache_only_what_it_took_or_put_there() -> None:
    """The core changes cached states in place, so what an undone unit read from the stage's cache must be read
    again; the rest stays (before 2026-12-02 evening every undone unit emptied the cache: after an input too
    large for Kafka, or one waiting for a recipient, a mailbox holding thousands was read again from its keys)."""
    p = Pipeline()
    start = at("2026-03-02T12:00:00Z")
    p.feed(p.mailboxes, "mailbox", None, encode_watermark(0, start))
    for n, rid in enumerate(("M1", "M2", "M1")):
        m = Message(message_id=f"m-{n:02d}", employee_id="E1", recipient_id=rid, recipient_role="manager",
                    journey_id="j", journey_version=1, step_id="s", channel="email", status="deferred",
                    subject="News", scheduled_for=start, created_at=start)
        p.feed(p.mailboxes, "mailbox", rid.encode(), encode_mailbox_input(Dispatch(rid, m, "UTC", None), start,
                                                                          f"0000:x:{n:03d}"))
    stage = p.mailboxes
    busy, other = stage.cached("s:M1"), stage.cached("s:M2")
    assert isinstance(busy, MailboxState) and isinstance(other, MailboxState)

    stage._begin()
    touched = stage.cached("s:M2")  # the unit takes M2's mailbox (and might change it in place) ...
    assert touched is other
    stage.remember(0, "s:M3", MailboxState(recipient_id="M3"))  # ... and leaves a new one
    stage._undo(0)
    assert stage.cached("s:M1") is busy  # untouched: kept
    assert stage.cached("s:M2") is None and stage.cached("s:M3") is None  # read again from the table next time
    assert stage.stored("M2") == other
