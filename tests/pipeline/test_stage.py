"""The worker's stages without Kafka: a dict stands in for the Faust table (not the thing under test)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.pipeline.stages import UNTIL, DictTable, Pipeline, bundled_in_order
from tests.pipeline.test_runner_rules import ev, person
from tests.support import at
from wayfinder import examples_dir
from wayfinder.streams.clock import StreamClock
from wayfinder.streams.stage import EmployeeStage, Incoming, MailboxStage
from wayfinder.streams.unit import Work
from wayfinder.streams.wire import Record, encode_tick


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


def _fed(p: Pipeline, lines: list[bytes]) -> DictTable:
    """The employee table of ``p`` after the HRIS ``lines`` at offsets 0, 1, ..."""
    for i, line in enumerate(lines):
        p.feed(p.employees, "hris", None, line, offset=i)
    table = p.employees.table
    assert isinstance(table, DictTable)
    return table


def test_a_replayed_input_produces_its_records_again_and_restores_its_timers() -> None:
    lines = (examples_dir() / "events.jsonl").read_bytes().splitlines()
    hired = _first_hire(lines)
    first = Pipeline()
    table = _fed(first, lines[:hired])
    snapshot = DictTable(table)
    before = first.feed(first.employees, "hris", None, lines[hired], offset=hired)
    wal_key = f"w:hris:0:{hired}"
    assert wal_key in table
    assert any(r.topic == "mailbox" for r in before)
    # A crash after the write-ahead entry reached the changelog but before the state, the timers and the
    # records did: the restarted worker has the table as it was, plus the entry, and the input comes again.
    crashed = DictTable(snapshot)
    crashed[wal_key] = table[wal_key]
    again = Pipeline(employees=crashed, committed=lambda topic, partition: hired)  # the inputs before were committed
    replayed = again.feed(again.employees, "hris", None, lines[hired], offset=hired)
    assert replayed == before
    assert len(again.employees.timers) >= 1
    assert {k: v for k, v in crashed.items() if not k.startswith(("w:", "wd:"))} == {  # (its load's mark aside)
        k: v for k, v in table.items() if not k.startswith(("w:", "wd:"))}
    again.tick(UNTIL)
    assert any(r.topic == "outbound.messages" and b"first-day-roadmap" in (r.value or b"") for r in again.records)


def test_a_replay_never_undoes_what_an_input_of_another_topic_did_since() -> None:
    """Offsets are committed per topic: an engagement event may be committed after an HRIS event that
    is replayed; the replay must not put back the state from before the engagement event."""
    lines = (examples_dir() / "events.jsonl").read_bytes().splitlines()
    hired = _first_hire(lines)
    subject = json.loads(lines[hired])["subject"]
    p = Pipeline()
    table = _fed(p, lines[: hired + 1])
    clicked = {"specversion": "1.0", "id": "click-1", "source": "t", "type": "engagement.message.clicked",
               "time": json.loads(lines[hired])["time"], "subject": subject,
               "data": {"resource_id": "it-accounts"}}
    p.feed(p.employees, "engagement", None, json.dumps(clicked).encode(), offset=0)
    state_after_click = table[f"s:{subject}"]
    assert b"click-1" in state_after_click
    p.feed(p.employees, "hris", None, lines[hired], offset=hired)  # the HRIS input comes again
    assert table[f"s:{subject}"] == state_after_click


def test_a_replay_sends_the_persons_directory_record_as_the_table_has_them_now() -> None:
    """An engagement event made a person known by the id alone, then (another topic, committed first) their hire
    gave their contact; the engagement event comes again after a crash: its replay must not send the id alone to
    the directory over the contact (their manager's messages would be ``no_recipient``; seen in the kill -9
    test). On the wall clock: on the event clock an engagement event before any HRIS event waits for its time."""
    p = Pipeline(clock=StreamClock("wall", wall=lambda: at("2026-01-01T00:00:00Z")))
    opened = ev("open-0", "engagement.message.opened", "2025-12-01T00:00:00Z", "N1", message_id="m-0",
                resource_id="it-accounts").model_dump_json().encode()
    first = p.feed(p.employees, "engagement", None, opened, offset=0)
    assert [json.loads(r.value or b"") for r in first if r.topic == "directory"] == [{"id": "N1"}]
    hire = p.feed(p.employees, "hris", None, person("N1", "2025-12-02T00:00:00Z").model_dump_json().encode(),
                  offset=0)
    [contact] = [r.value for r in hire if r.topic == "directory"]
    assert json.loads(contact or b"")["email"] == "n1@example.com"
    again = p.feed(p.employees, "engagement", None, opened, offset=0)  # its entry is kept: a replay
    assert [r.value for r in again if r.topic == "directory"] == [contact]
    assert [r for r in again if r.topic != "directory"] == [r for r in first if r.topic != "directory"]


def test_a_unit_interrupted_by_a_crash_is_finished_before_inputs_of_other_topics_run() -> None:
    """Only the write-ahead entry of an HRIS input reached the changelog; after the restart an engagement
    input for the same person (its offset committed earlier) runs before the HRIS input is replayed."""
    lines = (examples_dir() / "events.jsonl").read_bytes().splitlines()
    hired = _first_hire(lines)
    subject = json.loads(lines[hired])["subject"]
    first = Pipeline()
    table = _fed(first, lines[:hired])
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


def test_an_undone_unit_never_brings_back_what_a_pruned_unit_changed_since() -> None:
    """An input whose handling fails is undone: the stage reads its timers again from the table. Mid-run the
    table is what this process wrote; re-applying write-ahead entries not yet pruned (a hire's timers) over
    keys a later, already pruned unit changed back (a tick that fired them) would bring fired timers back."""
    lines = (examples_dir() / "events.jsonl").read_bytes().splitlines()
    hired = _first_hire(lines)
    p = Pipeline(committed=lambda topic, partition: 1 << 62 if topic in ("ticks", "mticks") else None)
    table = _fed(p, lines[: hired + 1])
    scheduled = {k for k, v in table.items() if k.startswith("t:") and v is not None}
    assert scheduled and f"w:hris:0:{hired}" in table  # the hire set timers; its entry is not pruned
    p.tick(UNTIL)  # fires them: the ticks' entries are pruned at once (their offsets are committed)
    fired = {k for k in scheduled if table.get(k) is None}
    assert fired
    assert not any(k.startswith("w:ticks:") for k in table)
    kept = dict(table)
    pending = len(p.employees.timers)

    def boom(work: Work, msg: Incoming) -> None:
        raise RuntimeError(msg.topic)

    with pytest.raises(RuntimeError):
        p.employees.process(Incoming("hris", 0, hired + 1, None, lines[hired + 1], None), boom)
    assert dict(table) == kept  # no fired timer came back
    assert len(p.employees.timers) == pending


def test_a_quiet_partitions_committed_entries_go_with_the_next_tick() -> None:
    """An input's write-ahead entry holds what it wrote (a person's state): it was deleted only by the next input
    on the same topic and partition, so on a quiet partition the last entries stayed, with a person's name even
    after their erasure (an audit of SPEC §9). The worker now ticks a partition whose entries are committed
    (``prunable``), and any unit of the partition deletes them, whatever its topic."""
    lines = (examples_dir() / "events.jsonl").read_bytes().splitlines()
    hired = _first_hire(lines)
    committed: dict[str, int] = {}
    p = Pipeline(committed=lambda topic, partition: committed.get(topic))
    table = _fed(p, lines[: hired + 1])
    assert f"w:hris:0:{hired}" in table
    stage = p.employees
    assert not stage.wal.prunable(0, stage.ticks_topic)  # not committed yet: kept for a crash
    committed["hris"] = hired + 1
    assert stage.wal.prunable(0, stage.ticks_topic)  # what the worker's timer asks before it ticks the partition
    p.feed(stage, "ticks", None, encode_tick(None), offset=0)
    assert not any(k.startswith("w:hris:") for k in table)
    assert not stage.wal.prunable(0, stage.ticks_topic)  # the tick's own entry, if any, asks for no other tick


class _CountedTable(DictTable):
    """The dict table, counting the scans of its keys."""

    scans = 0

    def keys(self) -> Iterator[str]:  # type: ignore[override]
        self.scans += 1
        return super().keys()


def test_an_undone_unit_takes_back_its_timers_without_scanning_the_table_and_decides_the_same_after() -> None:
    """An input that waits for a recipient is undone each time it comes round (seen on Kafka: one held input
    came round every ~85 ms, each time reading the partition's table twice). The unit's fired and set timers are
    taken back from the index's journal instead: no scan, and the same input kept afterwards decides what it
    would have decided had it never been undone."""
    lines = (examples_dir() / "events.jsonl").read_bytes().splitlines()[:300]
    undone, plain = Pipeline(employees=_CountedTable()), Pipeline()
    for p in (undone, plain):
        _fed(p, lines)
    table = undone.employees.table
    assert isinstance(table, _CountedTable)
    pending, scans = len(undone.employees.timers), table.scans
    changed: list[int] = []

    def fire_then_fail(work: Work, msg: Incoming) -> None:
        undone.employees.handle(work, msg)
        changed.append(sum(k.startswith("t:") for k in work.writes))
        raise RuntimeError(msg.topic)

    with pytest.raises(RuntimeError):
        undone.employees.process(Incoming("ticks", 0, 10_000, None, encode_tick(UNTIL), None), fire_then_fail)
    assert changed and changed[0] > 10  # the tick fired timers (and set others) before the unit failed
    assert len(undone.employees.timers) == pending
    assert table.scans == scans
    for p in (undone, plain):
        p.drain()
        p.tick(UNTIL)
    assert undone.out == plain.out
    assert len(undone.out) > 10


def _event(n: int, kind: str, time: str, data: Mapping[str, object]) -> bytes:
    return json.dumps({"specversion": "1.0", "id": f"ev-{n}", "source": "t", "type": kind, "time": time,
                       "subject": "E7", "data": data}).encode()


def test_every_change_of_a_persons_contact_details_reaches_the_directory() -> None:
    """The core updates the state it is given in place: the contact details are compared with what they were
    before it ran. Seen on Kafka: an engagement event came before the person's first upsert (another topic),
    the directory kept the id alone, and a manager's message went out in UTC with no name. On the wall clock: on the
    event clock such an engagement event waits for its time. The wall clock reads each input at its own time (one
    dated ahead of it waits for its time)."""
    now = [at("2026-01-05T09:00:00Z")]
    p = Pipeline(clock=StreamClock("wall", wall=lambda: now[0]))

    def directory(records: list[Record]) -> list[dict[str, object] | None]:
        return [json.loads(r.value) if r.value else None for r in records if r.topic == "directory"]

    opened = p.feed(p.employees, "engagement", None, _event(1, "engagement.message.opened", "2026-01-05T09:00:00Z",
                                                          {"message_id": "m-1", "resource_id": "it-accounts"}))
    assert directory(opened) == [{"id": "E7"}]
    person = {"id": "E7", "given_name": "Ada", "email": "e7@example.com", "locale": "fr-FR",
              "timezone": "Europe/Paris"}
    upserted = p.feed(p.employees, "hris", None, _event(2, "hris.employee.upserted", "2026-01-04T09:00:00Z", person))
    assert directory(upserted) == [person]
    now[0] = at("2026-02-02T09:00:00Z")
    moved = p.feed(p.employees, "hris", None, _event(3, "hris.employee.upserted", "2026-02-01T09:00:00Z",
                                                     {**person, "timezone": "America/New_York"}))
    assert directory(moved) == [{**person, "timezone": "America/New_York"}]
    again = p.feed(p.employees, "hris", None, _event(4, "hris.employee.upserted", "2026-02-02T09:00:00Z",
                                                     {**person, "timezone": "America/New_York"}))
    assert directory(again) == []  # nothing changed: nothing sent
    assert p.employees.directory["E7"].timezone == "America/New_York"


def test_an_undone_mailbox_unit_takes_back_the_waiting_inputs_it_acted_on_without_scanning_the_table() -> None:
    """On the event clock the mailbox keeps inputs waiting for their turn (``streams.ordering``). A unit that acted
    on some of them and was then undone (it raised, or was too large for Kafka) puts them back in the index from its
    journal, not from a scan of the partition's table; the same inputs then decide what they would have."""
    lines = (examples_dir() / "events.jsonl").read_bytes().splitlines()[:300]
    undone, plain = Pipeline(mailboxes=_CountedTable()), Pipeline()
    for p in (undone, plain):
        _fed(p, lines)
        p.drain()  # the mailbox inputs wait: no partition has said how far its time has got
        p.feed(p.employees, "ticks", None, encode_tick(UNTIL))
    table = undone.mailboxes.table
    assert isinstance(table, _CountedTable)
    waiting, scans = len(undone.mailboxes.waiting), table.scans
    first = undone.mailboxes.waiting.first(0)
    assert waiting > 10
    mark = next(r for r in undone.queue if json.loads(r.value or b"{}").get("kind") == "watermark")
    acted: list[int] = []

    def act_then_fail(work: Work, msg: Incoming) -> None:
        undone.mailboxes.handle(work, msg)
        acted.append(waiting - len(undone.mailboxes.waiting))
        raise RuntimeError(msg.topic)

    with pytest.raises(RuntimeError):
        undone.mailboxes.process(Incoming("mailbox", 0, 10_000, None, mark.value, None), act_then_fail)
    assert acted and acted[0] > 10  # the watermark let waiting inputs have their turn before the unit failed
    assert len(undone.mailboxes.waiting) == waiting
    assert undone.mailboxes.waiting.first(0) == first
    assert table.scans == scans
    for p in (undone, plain):
        p.drain()
        p.tick(UNTIL)
    assert undone.out == plain.out
    assert len(undone.out) > 10


def test_a_dead_letter_keeps_bytes_that_are_not_utf8_as_simulate_does(tmp_path: Path) -> None:
    """SPEC §2: the dead letter has the original bytes. ``raw`` is text (U+FFFD where a byte was not UTF-8), so
    those bytes are also in ``raw_base64``, in the worker and in ``simulate`` alike; UTF-8 input has no such field."""
    from wayfinder.cli import main

    bad = b'{"specversion": "1.0", "id": "\xff\xfe", "bin\x80ary'
    p = Pipeline()
    [record] = p.feed(p.employees, "hris", b"E1", bad)
    letter = json.loads(record.value or b"")
    assert base64.b64decode(letter["raw_base64"]) == bad
    assert letter["raw"] == bad.decode("utf-8", "replace")
    [plain] = p.feed(p.employees, "hris", b"E1", b"not json")
    assert "raw_base64" not in json.loads(plain.value or b"")

    events = tmp_path / "events.jsonl"
    events.write_bytes(bad + b"\nnot json\n" + (examples_dir() / "events.jsonl").read_bytes().splitlines()[0] + b"\n")
    assert main(["simulate", "--events", str(events), "--out", str(tmp_path / "out")]) == 0
    written = [json.loads(line) for line in (tmp_path / "out" / "dead_letters.jsonl").read_text().splitlines()]
    assert base64.b64decode(written[0]["raw_base64"]) == bad
    assert "raw_base64" not in written[1]


def test_a_known_type_whose_data_is_invalid_and_a_worked_task_are_counted_under_their_types() -> None:
    """wayfinder_events_consumed_total filed a dead-lettered hris.leave.started, and the README's own extension
    wayfinder.task.completed, under type="other": an operator could not tell which type arrives malformed (an audit
    of SPEC §10). A type nobody knows stays "other" (labels bounded)."""
    p = Pipeline()
    bad = json.dumps({"specversion": "1.0", "id": "l1", "source": "t", "type": "hris.leave.started",
                      "time": "2026-05-04T09:00:00Z", "subject": "E1", "data": {"leave_type": "holiday"}})
    task = json.dumps({"specversion": "1.0", "id": "k1", "source": "t", "type": "wayfinder.task.completed",
                       "time": "2026-05-04T09:00:00Z", "subject": "E1",
                       "data": {"task_id": "t-1", "actor_id": "H1", "journey_id": "j", "step_id": "s"}})
    odd = bad.replace("hris.leave.started", "acme.thing.happened").replace('"l1"', '"o1"')
    for n, line in enumerate((bad, task, odd)):
        p.feed(p.employees, "hris", b"E1", line.encode(), offset=n)
    counted = {(s.labels["type"], s.labels["outcome"]): s.value
               for m in p.employees.metrics.events.collect() for s in m.samples if s.name.endswith("_total")}
    assert counted[("hris.leave.started", "dead_letter")] == 1
    assert counted[("wayfinder.task.completed", "processed")] == 1
    assert counted[("other", "processed")] == 1


class _Logged(Pipeline):
    """A pipeline that keeps each input it was fed, with the records of its unit."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units: list[tuple[Incoming, list[Record]]] = []

    def feed(self, stage: EmployeeStage | MailboxStage, topic: str, key: bytes | None, value: bytes,
             offset: int | None = None, partition: int = 0) -> list[Record]:
        records = super().feed(stage, topic, key, value, offset, partition)
        self.units.append((Incoming(topic, partition, self.offset if offset is None else offset, key, value, None),
                           records))
        return records


def _statuses(records: list[Record]) -> list[tuple[str, str]]:
    return [(m["message_id"], m["status"]) for r in records
            if r.topic == "outbound.messages" and r.value is not None and (m := json.loads(r.value))]


class _DeferredThenSent(NamedTuple):
    first: _Logged  # the bundled events through a pipeline on the wall clock, to their end
    deferral: Incoming  # a mailbox input that deferred ``message``
    tick: Incoming  # a later tick (another topic) that sent it
    tick_at: int  # the tick's place in ``first.units``
    message: str


def _deferred_then_sent() -> _DeferredThenSent:
    now = [UNTIL]
    first = _Logged(clock=StreamClock("wall", wall=lambda: now[0]))  # the worker's clock: a tick sends what waits
    for when, line in bundled_in_order():
        now[0] = when
        first.tick(when)
        first.feed(first.employees, "hris", None, line)
        first.drain()
    now[0] = UNTIL
    first.tick(UNTIL)
    deferred = {mid: n for n, (msg, records) in enumerate(first.units)
                for mid, status in _statuses(records) if status == "deferred" and msg.topic == "mailbox"}
    sent = [(deferred[mid], n) for n, (msg, records) in enumerate(first.units)
            for mid, status in _statuses(records) if status == "sent" and msg.topic == "mticks" and mid in deferred]
    assert sent, "no message of the bundled events was deferred by a mailbox input and sent by a tick"
    message = next(mid for mid, status in _statuses(first.units[sent[0][1]][1])
                   if status == "sent" and deferred.get(mid) == sent[0][0])
    return _DeferredThenSent(first, first.units[sent[0][0]][0], first.units[sent[0][1]][0], sent[0][1], message)


@pytest.mark.parametrize("never_committed", [False, True])
def test_a_new_owner_produces_the_interrupted_units_records_in_the_order_they_were_kept(never_committed: bool) -> None:
    """A mailbox input deferred a message and a later tick (another topic) sent it; the worker was killed before
    either offset was committed. Kafka gives the partition's next owner the tick first: each input's own replay
    produced the ``sent`` record, then the ``deferred`` one, which stayed the message's last (seen with two
    workers and kill -9). The next owner produces every interrupted unit's records, in the order they were kept,
    before its first input's, and the inputs read again produce none. Also when the group never committed an
    offset of the partition (early in a stream, seen on the wall clock): the broker's answer says so."""
    first, a, b, _, message = _deferred_then_sent()
    committed = {"mailbox": a.offset, "mticks": b.offset}
    table = first.mailboxes.table
    assert isinstance(table, DictTable)
    again = Pipeline(mailboxes=DictTable(table), clock=StreamClock("wall", wall=lambda: UNTIL),
                     committed=lambda topic, partition: None if never_committed else committed.get(topic))
    if never_committed:
        again.mailboxes.answered = lambda topic, partition: True
    loaded = again.feed(again.mailboxes, b.topic, b.key, b.value or b"", offset=b.offset)
    ours = [status for mid, status in _statuses(loaded) if mid == message]
    assert ours[-1] == "sent" and "deferred" in ours
    assert again.feed(again.mailboxes, a.topic, a.key, a.value or b"", offset=a.offset) == []


def test_an_interrupted_unit_whose_process_committed_a_later_one_is_not_produced_again() -> None:
    """The same deferral and tick, but the tick's offset was committed and the mailbox input's was not (its topic's
    commits lagged: offsets are committed per topic), and the worker saw its commit (it deleted its entries of
    committed inputs, marking the partition). The commit waited for the producer's flush, so the deferral had gone
    before the ``sent``: produced again by the next owner, it came after it and was the message's last record (one
    message of 3,560 in a kill -9 test in CI). Now neither the load nor the input read again produces it, and the
    state stays the tick's."""
    first, a, b, tick_at, message = _deferred_then_sent()
    table = first.mailboxes.table
    assert isinstance(table, DictTable)
    committed = {"mailbox": a.offset, "mticks": b.offset + 1}  # the tick committed, the deferral not
    first.mailboxes.wal.committed = lambda topic, partition: committed.get(topic)
    assert first.mailboxes.wal.prune_partition(0)  # the writer's own commit seen: it deletes its entries, marks first
    kept = dict(table)
    again = Pipeline(mailboxes=DictTable(table), clock=StreamClock("wall", wall=lambda: UNTIL),
                     committed=lambda topic, partition: committed.get(topic))
    loaded = again.feed(again.mailboxes, a.topic, a.key, a.value or b"", offset=a.offset)
    # what the load produced: the records of the units kept after the committed tick, in order; none before it
    after = [r for msg, records in first.units[tick_at + 1:]
             if msg.topic in committed and msg.offset >= committed[msg.topic] for r in records]
    assert loaded == after
    assert "deferred" not in [status for mid, status in _statuses(loaded) if mid == message]
    state = again.mailboxes.table
    assert isinstance(state, DictTable)
    assert {k: v for k, v in state.items() if not k.startswith(("w:", "wd:"))} == {
        k: v for k, v in kept.items() if not k.startswith(("w:", "wd:"))}


def test_a_mailbox_input_of_an_unknown_kind_is_refused_as_itself_and_never_waits() -> None:
    """On the event clock a mailbox input waits for its turn; one of a kind this release does not know (a newer
    release's) was read as an erasure when its turn came. Refused when it comes (its own dead letter), it is never
    kept, so no later wake-up of its partition fails on it."""
    p = Pipeline()  # the event clock
    envelope = b'{"kind": "goodbye", "mailbox": "M1", "at": "2026-03-02T09:00:00Z"}'
    with pytest.raises(ValueError, match="unknown kind 'goodbye'"):
        p.feed(p.mailboxes, "mailbox", b"M1", envelope)
    assert len(p.mailboxes.waiting) == 0
    assert p.feed(p.mailboxes, "mticks", None, b'{"kind": "tick", "at": "2026-03-03T09:00:00Z"}') == []
