"""Issue 9 in the worker: an input whose message goes to a person the directory does not know yet is held
(sent round again on the ticks topic) until the directory knows them, with the employee's later inputs behind
it; past the wait it is decided as simulate decides (``no_recipient``). The stage runs on a dict."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Literal

import pytest
from prometheus_client import CollectorRegistry

from tests.pipeline.stages import DictTable, Pipeline
from tests.pipeline.test_runner_rules import BEREAVEMENT, HEAD, ev, person
from tests.support import WORLD, WriteFiles, at, world_defs
from wayfinder import examples_dir
from wayfinder.journeys.definitions import Definitions
from wayfinder.journeys.engine import Engine
from wayfinder.journeys.events import CloudEvent
from wayfinder.journeys.loader import Sources, load_or_raise
from wayfinder.journeys.profile import LEFT_AT, Profile
from wayfinder.streams.clock import StreamClock
from wayfinder.streams.embedded import EmbeddedRunner
from wayfinder.streams.metrics import StreamMetrics
from wayfinder.streams.recipients import Holds, Retry, decode_retry
from wayfinder.streams.stage import EmployeeStage, Incoming
from wayfinder.streams.wire import Record

JOURNEY = BEREAVEMENT.replace("sensitivity: sensitive", "")
LEAVE = ev("b1", "hris.leave.started", "2026-04-01T09:00:00Z", leave_type="bereavement", start_date="2026-04-01")


class Wall:
    def __init__(self) -> None:
        self.value = at("2026-11-29T10:00:00Z")

    def __call__(self) -> datetime:
        return self.value


def _stage(write_files: WriteFiles, wall: Wall, directory: dict[str, Profile]) -> EmployeeStage:
    root = write_files({"journeys/bereavement.yaml": HEAD + JOURNEY})
    return EmployeeStage(DictTable(), StreamClock("event", wall), StreamMetrics(CollectorRegistry()),
                         lambda topic, partition: None, Engine(world_defs(root / "journeys")), ticks_topic="ticks",
                         max_event_bytes=1_000_000, directory=directory, recipient_wait_seconds=30)


class Feed:
    def __init__(self, stage: EmployeeStage) -> None:
        self.stage = stage
        self.offset = 0

    def event(self, e: CloudEvent) -> list[Record]:
        raw = json.dumps(e.model_dump(mode="json") | {"time": e.time.isoformat()}).encode()
        return self.raw("hris.events", e.subject.encode(), raw)

    def again(self, record: Record) -> list[Record]:
        assert record.topic == "employee-ticks" and record.partition == 0
        return self.raw("ticks", None, record.value or b"")

    def raw(self, topic: str, key: bytes | None, value: bytes) -> list[Record]:
        self.offset += 1
        return self.stage.process(Incoming(topic, 0, self.offset, key, value, None), self.stage.handle)


def _manager_status(records: list[Record]) -> tuple[str, str | None] | None:
    for r in records:
        if r.topic == "outbound.messages" and r.value is not None:
            m = json.loads(r.value)
            if m["step_id"] == "manager":
                return m["status"], m["reason"]
    return None


def test_a_message_waits_for_the_directory_to_know_its_recipient_with_the_employees_later_inputs_behind(
        write_files: WriteFiles) -> None:
    wall, directory = Wall(), dict[str, Profile]()
    feed = Feed(_stage(write_files, wall, directory))
    feed.event(person("E1"))
    [held] = feed.event(LEAVE)  # the manager M1 is not known here yet: nothing decided, the input goes round
    assert json.loads(held.value or b"")["head"] is True
    [behind] = feed.event(ev("u1", "hris.employee.upserted", "2026-04-02T09:00:00Z", given_name="Eve"))
    assert json.loads(behind.value or b"")["head"] is False  # the same employee's next input waits behind it
    [still] = feed.again(held)  # round again: still not known
    wall.value += timedelta(seconds=10)
    directory["M1"] = Profile(id="M1", fields={"email": "m1@example.com", "given_name": "Mo"})
    [behind_again] = feed.again(behind)  # comes round before the first: it goes behind again
    decided = feed.again(still)
    assert "M1" in [r.key for r in decided if r.topic == "mailbox"]  # to the manager's mailbox, not suppressed
    assert _manager_status(decided) is None
    assert not any(r.topic == "employee-ticks" for r in decided)
    assert not any(r.topic == "employee-ticks" for r in feed.again(behind_again))
    assert feed.stage.table.get("s:E1") is not None


def test_a_recipient_known_by_the_id_alone_is_waited_for_like_an_unknown_one(write_files: WriteFiles) -> None:
    """Seen on Kafka: the manager's engagement event came before their first upsert (topics are read side by
    side), so the directory had their id with no time zone, locale or name, and the heads-up went out in UTC."""
    wall, directory = Wall(), {"M1": Profile(id="M1")}
    feed = Feed(_stage(write_files, wall, directory))
    feed.event(person("E1"))
    [held] = feed.event(LEAVE)
    assert json.loads(held.value or b"")["head"] is True
    directory["M1"] = Profile(id="M1", fields={"email": "m1@example.com", "timezone": "Europe/Paris"})
    decided = feed.again(held)
    assert "M1" in [r.key for r in decided if r.topic == "mailbox"]
    mailbox = [json.loads(r.value or b"") for r in decided if r.topic == "mailbox"]
    assert "Europe/Paris" in json.dumps(mailbox)


def test_past_the_wait_a_recipient_known_by_the_id_alone_is_decided_as_in_simulate(
        write_files: WriteFiles) -> None:
    """Simulate knows such a person too (an engagement event made them), with no address: an email to them is
    ``no_recipient`` there, so here too; no longer held."""
    wall = Wall()
    feed = Feed(_stage(write_files, wall, {"M1": Profile(id="M1")}))
    feed.event(person("E1"))
    [held] = feed.event(LEAVE)
    wall.value += timedelta(seconds=31)
    decided = feed.again(held)
    assert _manager_status(decided) == ("suppressed", "no_recipient")
    assert not any(r.topic == "employee-ticks" for r in decided)


def test_with_no_wait_a_person_not_known_yet_is_decided_for_their_id_and_their_mailbox_fills_in_the_address(
        write_files: WriteFiles) -> None:
    """A recipient wait of 0 decides at once: a person the directory does not know yet is most likely on their way
    (README "no_recipient"), so the message goes to their mailbox rather than being ``no_recipient`` for want of
    an address the mailbox will have."""
    root = write_files({"journeys/bereavement.yaml": HEAD + JOURNEY})
    stage = EmployeeStage(DictTable(), StreamClock("event", Wall()), StreamMetrics(CollectorRegistry()),
                          lambda topic, partition: None, Engine(world_defs(root / "journeys")), ticks_topic="ticks",
                          max_event_bytes=1_000_000, directory={}, recipient_wait_seconds=0)
    feed = Feed(stage)
    feed.event(person("E1"))
    decided = feed.event(LEAVE)
    assert "M1" in [r.key for r in decided if r.topic == "mailbox"]
    assert _manager_status(decided) != ("suppressed", "no_recipient")


def test_past_the_wait_the_message_is_no_recipient_as_simulate_decides(write_files: WriteFiles) -> None:
    wall = Wall()
    feed = Feed(_stage(write_files, wall, {}))
    feed.event(person("E1"))
    [held] = feed.event(LEAVE)
    wall.value += timedelta(seconds=31)
    decided = feed.again(held)
    assert _manager_status(decided) == ("suppressed", "no_recipient")
    assert not any(r.topic == "employee-ticks" for r in decided)


def test_a_manager_the_directory_knows_has_left_is_no_recipient_at_once_and_a_task_never_waits(
        write_files: WriteFiles) -> None:
    """README "Leavers": the directory's record of M1 says their termination took effect before the leave, so the
    message to them is decided as ``simulate`` decides it (``no_recipient``) without waiting; the HR partner's task
    is opened for H1, whom the directory does not know yet, without waiting either (a task needs only an id)."""
    gone = Profile(id="M1", fields={"email": "m1@example.com", LEFT_AT: "2026-03-31T22:00:00Z"})
    feed = Feed(_stage(write_files, Wall(), {"M1": gone}))
    feed.event(person("E1"))
    decided = feed.event(LEAVE)
    assert _manager_status(decided) == ("suppressed", "no_recipient")
    assert not any(r.topic == "employee-ticks" for r in decided)
    [task] = [json.loads(r.value or b"") for r in decided if r.topic == "tasks"]
    assert (task["assignee"], task["assignee_id"], task["reason"]) == ("hr_partner", "H1", None)


def _tick(at_: str | None) -> bytes:
    return json.dumps({"kind": "tick", "at": at_}).encode()


def test_while_an_input_waits_the_partitions_time_waits_behind_it(write_files: WriteFiles) -> None:
    wall, directory = Wall(), dict[str, Profile]()
    feed = Feed(_stage(write_files, wall, directory))
    feed.event(person("E1"))
    [held] = feed.event(LEAVE)
    [tick] = feed.raw("ticks", None, _tick("2027-01-01T00:00:00Z"))  # would fire E1's timers past the held input
    assert json.loads(tick.value or b"")["topic"] == "ticks"
    assert feed.stage.clock.now(0) < at("2026-04-01T09:00:00Z")  # the clock did not move
    [tick] = feed.again(tick)  # round again before the held input is decided: it waits again
    directory["M1"] = Profile(id="M1", fields={"email": "m1@example.com", "given_name": "Mo"})
    assert not any(r.topic == "employee-ticks" for r in feed.again(held))
    assert not any(r.topic == "employee-ticks" for r in feed.again(tick))  # now it is a tick like any other
    assert feed.stage.clock.now(0) == at("2027-01-01T00:00:00Z")


def test_while_the_partitions_time_waits_the_log_says_where_each_line_is(write_files: WriteFiles,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    """A wait that does not end must show why in the log: the line's turn, how long since it moved and since its
    turn's retry came round (a lost retry: it never does), how far the group's progress is; opaque ids only."""
    wall, directory = Wall(), dict[str, Profile]()
    stage = _stage(write_files, wall, directory)
    stage.holds.caught_up = wall.value.timestamp() - 3
    feed = Feed(stage)
    feed.event(person("E1"))
    [_lost] = feed.event(LEAVE)  # its retry never comes round
    caplog.set_level(logging.INFO, logger="wayfinder.streams.stage")
    [tick] = feed.raw("ticks", None, _tick("2027-01-01T00:00:00Z"))
    assert "partition 0's time waits behind 1 line(s) of waiting inputs: h:0:E1" in caplog.text
    assert "still waits" not in caplog.text
    wall.value += timedelta(seconds=25)
    feed.again(tick)
    said = [r.getMessage() for r in caplog.records if "still waits" in r.getMessage()]
    assert said == ["employees: partition 0's time still waits behind 1 line(s) (group caught up 28 s ago): h:0:E1 "
                    "turn 0 of 1, moved 25 s ago, its turn's retry seen not yet"]
    assert "Mo" not in caplog.text and "@example.com" not in caplog.text
    stage.holds.caught_up = 0.0  # measured, no mark reached yet: not "56 years ago"
    wall.value += timedelta(seconds=25)
    feed.again(tick)
    assert "(group caught up not yet)" in caplog.records[-1].getMessage()


def test_on_the_wall_clock_a_tick_during_a_hold_is_dropped_and_inputs_fire_only_their_own_timers(
        write_files: WriteFiles) -> None:
    wall = Wall()
    wall.value = at("2026-04-01T09:00:05Z")  # the leave is news, not a replay of the past
    stage = _stage(write_files, wall, {})
    stage.clock = StreamClock("wall", wall)
    feed = Feed(stage)
    feed.event(person("E1"))
    feed.event(LEAVE)
    assert stage.owners_only(0)
    assert feed.raw("ticks", None, _tick(None)) == []
    assert not stage.owners_only(1)


def test_a_line_whose_retry_was_lost_stops_holding_the_partition_and_the_employee_once_stale(
        write_files: WriteFiles) -> None:
    """A waiting head's retry comes round again and again, so a line that has neither moved nor seen its head
    come round for twice the wait and a minute more has lost its retry: kept, every tick would go round behind it
    for good and no timer of the partition would fire (one CI run's kill -9 test, hold on, lost 3,306 of 3,560
    messages so). It is counted and passed."""
    wall = Wall()
    stage = _stage(write_files, wall, {})
    feed = Feed(stage)
    feed.event(person("E1"))
    [_lost] = feed.event(LEAVE)  # its retry never comes round
    [behind] = feed.event(ev("u1", "hris.employee.upserted", "2026-04-02T09:00:00Z", given_name="Eve"))
    wall.value += timedelta(seconds=119)
    [tick] = feed.raw("ticks", None, _tick("2027-01-01T00:00:00Z"))  # not stale yet: the tick goes round
    assert json.loads(tick.value or b"")["topic"] == "ticks"
    [behind] = feed.again(behind)  # and the employee's next input waits for its turn
    wall.value += timedelta(seconds=2)  # 121 s: more than 2 x 30 s + 60 s without a move
    feed.again(tick)
    assert stage.clock.now(0) == at("2027-01-01T00:00:00Z")
    assert stage.metrics.holds_stale._value.get() == 1
    assert not any(r.topic == "employee-ticks" for r in feed.again(behind))  # decided as it comes
    assert stage.table.get("h:0:E1") is None and not stage.holds.blocked


def test_a_line_written_before_lines_kept_their_time_counts_from_when_it_is_loaded() -> None:
    """Lines in a table from before ``since`` existed would otherwise never go stale (and hold for good)."""
    holds = Holds(30)
    holds.load(0, [("h:0:E1", json.dumps({"next": 1, "turn": 0}).encode())], wall=1000.0)
    assert holds.lines(0, 1000.0 + 120, stale=False) == ["h:0:E1"]
    assert holds.lines(0, 1000.0 + 121, stale=True) == ["h:0:E1"]
    assert not holds.any_blocked(0, 1000.0 + 121)


def test_an_employees_waiting_inputs_are_decided_in_the_order_they_came_whatever_order_they_come_round(
        write_files: WriteFiles) -> None:
    wall, directory = Wall(), dict[str, Profile]()
    feed = Feed(_stage(write_files, wall, directory))
    feed.event(person("E1"))
    [held] = feed.event(LEAVE)
    [first] = feed.event(ev("u1", "hris.employee.upserted", "2026-04-02T09:00:00Z", given_name="Eve"))
    [second] = feed.event(ev("u2", "hris.employee.upserted", "2026-04-03T09:00:00Z", given_name="Ava"))
    assert [json.loads(r.value or b"")["seq"] for r in (held, first, second)] == [0, 1, 2]
    directory["M1"] = Profile(id="M1", fields={"email": "m1@example.com", "given_name": "Mo"})
    [second] = feed.again(second)  # before its turn (and before the held input): round again, same place
    [first] = feed.again(first)
    feed.again(held)
    assert feed.again(second)[0].topic == "employee-ticks"  # still before its turn: the first is not decided
    assert not any(r.topic == "employee-ticks" for r in feed.again(first))
    assert not any(r.topic == "employee-ticks" for r in feed.again(second))
    state = json.loads(feed.stage.table.get("s:E1") or b"{}")
    assert state["profile"]["fields"]["given_name"] == "Ava"  # the later upsert decided last
    assert not feed.stage.holds.any_blocked(0)


def test_a_restarted_stage_knows_the_lines_from_its_table_and_drops_a_copy_whose_place_has_passed(
        write_files: WriteFiles) -> None:
    wall, directory = Wall(), dict[str, Profile]()
    before = _stage(write_files, wall, directory)
    feed = Feed(before)
    feed.event(person("E1"))
    [held] = feed.event(LEAVE)
    [behind] = feed.event(ev("u1", "hris.employee.upserted", "2026-04-02T09:00:00Z", given_name="Eve"))
    assert before.table.get("h:0:E1") is not None  # the line is state, not memory only
    after = EmployeeStage(before.table, StreamClock("event", wall), StreamMetrics(CollectorRegistry()),
                          lambda topic, partition: None, before.engine, ticks_topic="ticks", max_event_bytes=1_000_000,
                          directory=directory, recipient_wait_seconds=30)
    feed.stage = after  # the worker restarted: nothing in memory
    directory["M1"] = Profile(id="M1", fields={"email": "m1@example.com", "given_name": "Mo"})
    [behind] = feed.again(behind)  # before its turn, as before the restart
    assert not any(r.topic == "employee-ticks" for r in feed.again(held))
    assert feed.again(held) == []  # a copy of the decided retry (a replay made it): dropped
    assert not any(r.topic == "employee-ticks" for r in feed.again(behind))
    assert after.table.get("h:0:E1") is None and not after.holds.any_blocked(0)
    assert json.loads(after.table.get("s:E1") or b"{}")["profile"]["fields"]["given_name"] == "Eve"


def test_past_the_wait_an_input_waits_on_until_the_group_has_caught_up_past_the_waits_end(
        write_files: WriteFiles) -> None:
    """A worker with a backlog may process the recipient's first event long after the wait (``streams.progress``):
    the message is ``no_recipient`` only once everything published by the wait's end has been processed."""
    wall = Wall()
    stage = _stage(write_files, wall, {})
    stage.holds.caught_up = 0.0  # measured, as in the worker
    feed = Feed(stage)
    feed.event(person("E1"))
    [held] = feed.event(LEAVE)
    first_held = wall.value.timestamp()
    wall.value += timedelta(seconds=45)
    stage.holds.caught_up = first_held + 29  # caught up, but only to before the wait's end
    [held] = feed.again(held)
    assert held.topic == "employee-ticks"
    stage.holds.caught_up = first_held + 30
    decided = feed.again(held)
    assert _manager_status(decided) == ("suppressed", "no_recipient")


def test_a_recipient_known_after_the_wait_but_before_the_group_caught_up_gets_the_message(
        write_files: WriteFiles) -> None:
    wall, directory = Wall(), dict[str, Profile]()
    stage = _stage(write_files, wall, directory)
    stage.holds.caught_up = 0.0
    feed = Feed(stage)
    feed.event(person("E1"))
    [held] = feed.event(LEAVE)
    wall.value += timedelta(seconds=300)  # a backlog: the group is nowhere near
    [held] = feed.again(held)
    directory["M1"] = Profile(id="M1", fields={"email": "m1@example.com", "given_name": "Mo"})
    decided = feed.again(held)
    assert "M1" in [r.key for r in decided if r.topic == "mailbox"]


def test_the_longest_wait_ends_a_wait_whatever_the_progress(write_files: WriteFiles) -> None:
    wall = Wall()
    stage = _stage(write_files, wall, {})
    stage.holds.caught_up, stage.holds.max_wait_seconds = 0.0, 600.0
    feed = Feed(stage)
    feed.event(person("E1"))
    [held] = feed.event(LEAVE)
    wall.value += timedelta(seconds=599)
    [held] = feed.again(held)
    assert held.topic == "employee-ticks"
    assert not stage.holds.lines(0, wall.value.timestamp(), stale=True)  # its retry comes round: not stale
    wall.value += timedelta(seconds=1)
    assert _manager_status(feed.again(held)) == ("suppressed", "no_recipient")


def test_a_copy_of_a_retry_from_an_ended_line_is_dropped_not_decided_in_a_new_lines_place(
        write_files: WriteFiles) -> None:
    """Places restart at 0 with each new line of an employee, so a copy of a retry a replay made for an ended
    line (its place long passed) could come round while a later line has reached the same place: taken for that
    line's input, it would be decided a second time (an old state back) and the input whose place it was dropped
    as passed. A retry names its line (the input that started it), so the copy is dropped instead."""
    wall, directory = Wall(), dict[str, Profile]()
    root = write_files({"journeys/bereavement.yaml": HEAD + JOURNEY + "reentry: always\n"})
    feed = Feed(EmployeeStage(DictTable(), StreamClock("event", wall), StreamMetrics(CollectorRegistry()),
                              lambda topic, partition: None, Engine(world_defs(root / "journeys")),
                              ticks_topic="ticks", max_event_bytes=1_000_000, directory=directory,
                              recipient_wait_seconds=30))
    feed.event(person("E1"))
    [held] = feed.event(LEAVE)
    [behind] = feed.event(ev("u1", "hris.employee.upserted", "2026-04-02T09:00:00Z", given_name="Eve"))
    copy = behind  # a replay after a crash sent the same retry again
    directory["M1"] = Profile(id="M1", fields={"email": "m1@example.com", "given_name": "Mo"})
    assert not any(r.topic == "employee-ticks" for r in feed.again(held))
    assert not any(r.topic == "employee-ticks" for r in feed.again(behind))
    assert not feed.stage.holds.any_blocked(0)  # the first line has ended
    del directory["M1"]  # the manager is not known here again (say, a new line of E1 for another recipient)
    [held2] = feed.event(ev("b2", "hris.leave.started", "2026-09-01T09:00:00Z", leave_type="bereavement",
                            start_date="2026-09-01"))
    [behind2] = feed.event(ev("u2", "hris.employee.upserted", "2026-09-02T09:00:00Z", given_name="Zed"))
    assert [json.loads(r.value or b"")["seq"] for r in (held2, behind2)] == [0, 1]  # the same places again
    directory["M1"] = Profile(id="M1", fields={"email": "m1@example.com", "given_name": "Mo"})
    assert not any(r.topic == "employee-ticks" for r in feed.again(held2))
    assert feed.again(copy) == []  # the first line's copy at the second line's place: dropped
    assert feed.stage.holds.any_blocked(0)  # the second line still waits for its own input at that place
    assert not any(r.topic == "employee-ticks" for r in feed.again(behind2))  # decided, not dropped as passed
    state = json.loads(feed.stage.table.get("s:E1") or b"{}")
    assert state["profile"]["fields"]["given_name"] == "Zed"
    assert not feed.stage.holds.any_blocked(0)


def test_lines_and_retries_written_before_lines_were_named_keep_their_places() -> None:
    """A line or retry from before ``line`` existed (a worker upgraded mid-wait) is placed by its seq alone."""
    holds = Holds(30)
    holds.load(0, [("h:0:E1", json.dumps({"next": 2, "turn": 0, "since": 1000.0}).encode())], wall=1000.0)
    old = Retry("hris.events", b"E1", b"{}", None, 1000.0, head=True, seq=0)
    named = replace(old, line="hris.events:0:7")
    assert holds.place(0, old, 1001.0) == "turn" and holds.place(0, named, 1001.0) == "turn"
    record, line = holds.first(1, old, origin="hris.events:1:9")
    assert line is not None and json.loads(line[1] or b"")["line"] == "hris.events:1:9"
    assert decode_retry(record.value) == replace(old, line="hris.events:1:9")
    assert decode_retry(json.dumps({k: v for k, v in json.loads(record.value or b"").items() if k != "line"}
                                   ).encode()) == old


def _held_with_one_behind(feed: Feed, directory: dict[str, Profile]) -> tuple[Record, Record]:
    """E1's leave waits for its manager, with an upsert behind it; then the manager becomes known. The two
    retries."""
    feed.event(person("E1"))
    [held] = feed.event(LEAVE)
    [behind] = feed.event(ev("u1", "hris.employee.upserted", "2026-04-02T09:00:00Z", given_name="Eve"))
    directory["M1"] = Profile(id="M1", fields={"email": "m1@example.com", "given_name": "Mo"})
    return held, behind


def test_a_waiting_input_that_fails_in_its_turn_is_dead_lettered_as_itself_and_its_line_moves_on(
        write_files: WriteFiles) -> None:
    """An input whose processing raises in its turn becomes a dead letter (the agent's ``stage.failed``); were its
    line left at that turn, the employee's next input would go round until the line went stale (two minutes and
    more, the partition's time held all that while)."""
    wall, directory = Wall(), dict[str, Profile]()
    feed = Feed(_stage(write_files, wall, directory))
    stage = feed.stage
    held, behind = _held_with_one_behind(feed, directory)

    def boom(work: object, msg: Incoming) -> None:
        raise RuntimeError

    feed.offset += 1
    msg = Incoming("ticks", 0, feed.offset, None, held.value, None)
    try:
        stage.process(msg, boom)
    except RuntimeError as e:  # what the agent does (streams.app)
        [letter] = stage.failed(msg, e)
    assert letter.topic == "dead-letters"
    body = json.loads(letter.value or b"")
    assert body["source"] == "hris.events" and json.loads(body["raw"])["id"] == "b1"  # the input, not its retry
    assert body["reason"] == "processing_error: RuntimeError in hris.events"
    assert json.loads(stage.table.get("h:0:E1") or b"")["turn"] == 1  # the line moved on in the same unit
    assert not any(r.topic == "employee-ticks" for r in feed.again(behind))  # its turn: decided
    assert stage.table.get("h:0:E1") is None and not stage.holds.blocked
    assert json.loads(stage.table.get("s:E1") or b"{}")["profile"]["fields"]["given_name"] == "Eve"


def test_a_waiting_input_too_large_in_its_turn_moves_its_line_on_in_the_table_as_in_memory(
        write_files: WriteFiles) -> None:
    """A decision too large for Kafka is dead-lettered instead; the line's move ``handle`` made goes with the dead
    letter, so a restart does not find the line back at a turn whose retry is gone (and wait until it is stale)."""
    wall, directory = Wall(), dict[str, Profile]()
    feed = Feed(_stage(write_files, wall, directory))
    stage = feed.stage
    held, behind = _held_with_one_behind(feed, directory)
    stage.max_record_bytes = 900  # the leave's state (~940 bytes) will not fit; its dead letter's entry does
    [letter] = feed.again(held)
    assert letter.topic == "dead-letters" and json.loads(letter.value or b"")["reason"].startswith("state_too_large")
    assert json.loads(stage.table.get("h:0:E1") or b"")["turn"] == 1
    assert stage.holds.blocked[(0, "E1")].turn == 1
    restarted = EmployeeStage(stage.table, StreamClock("event", wall), StreamMetrics(CollectorRegistry()),
                              lambda topic, partition: None, stage.engine, ticks_topic="ticks",
                              max_event_bytes=1_000_000, directory=directory, recipient_wait_seconds=30)
    feed.stage = restarted
    assert not any(r.topic == "employee-ticks" for r in feed.again(behind))  # its turn after the restart too
    assert restarted.table.get("h:0:E1") is None and not restarted.holds.blocked


MANAGER_NOTE = """id: note
trigger: {event: hris.manager.changed}
essential: true
steps:
  - id: tell
    send: {channel: email, to: manager, subject: "A new report", body: "Say hello."}
"""


def _staged_with_a_late_directory(defs: Definitions, events: list[CloudEvent], late: str,
                                  until: datetime) -> dict[str, tuple[object, ...]]:
    """The worker's stages with no recipient wait, one directory shared by both (as the worker shares it), and
    ``late``'s entry missing while the event that writes to them is decided (their profile is on another
    partition, a moment behind) but there again when their mailbox acts."""
    p = Pipeline(defs=defs)
    p.mailboxes.directory = p.employees.directory
    for e in events:
        p.tick(e.time)
        held = p.employees.directory.pop(late) if e.type == "hris.manager.changed" else None
        p.feed(p.employees, "hris", None, e.model_dump_json().encode())
        if held is not None:
            p.employees.directory[late] = held
        p.drain()
    p.tick(until)
    return {m["message_id"]: _when(m) for r in p.records if r.topic == "outbound.messages" and r.value is not None
            for m in [json.loads(r.value)]}


def _when(m: dict[str, object]) -> tuple[object, ...]:
    """What the mailbox decides (the address and language of a recipient decided unknown come later: README)."""
    return m["recipient_id"], m["status"], m["reason"], m["scheduled_for"], m.get("digest_id")


def test_a_recipient_the_deciding_partition_did_not_know_keeps_what_the_core_decided(write_files: WriteFiles) -> None:
    """Issue 7: the mailbox takes the late recipient's time zone and quiet hours, and nothing else changes: an
    essential message still goes during their leave, and a digest closes at their local hour, as in simulate."""
    summary = (examples_dir() / "templates" / "digest" / "summary.yaml").read_text(encoding="utf-8")
    root = write_files({"journeys/note.yaml": HEAD + MANAGER_NOTE, "templates/digest/summary.yaml": summary,
                        "policy.yaml": "apiVersion: wayfinder/v1\nkind: Policy\n"
                                       "leave_pause: {leave_types: [bereavement]}\n"})
    events = [person("M1", manager_id="M0", timezone="America/Los_Angeles"), person("E1"),
              ev("l1", "hris.leave.started", "2026-03-09T08:00:00Z", "M1", leave_type="bereavement",
                 start_date="2026-03-09", expected_return_date="2026-03-30"),
              ev("c1", "hris.manager.changed", "2026-03-11T10:00:00Z", old_manager_id="M0", new_manager_id="M1")]
    until = at("2026-04-05T00:00:00Z")
    for policy in ("", "digests: {manager: {every: daily, at: \"09:00\"}}\n"):
        (root / "policy.yaml").write_text("apiVersion: wayfinder/v1\nkind: Policy\n"
                                          "leave_pause: {leave_types: [bereavement]}\n" + policy, encoding="utf-8")
        defs = load_or_raise(Sources(paths=[root / "journeys", WORLD / "catalog"], policy=root / "policy.yaml",
                                     templates=[WORLD / "templates", root / "templates"]))
        runner = EmbeddedRunner(defs)
        runner.run(events, until)
        simulated = {mid: _when(json.loads(m.model_dump_json())) for mid, m in runner.messages.items()}
        assert _staged_with_a_late_directory(defs, events, "M1", until) == simulated
        assert {w[1:4] for w in simulated.values() if w[0] == "M1"} == (
            {("sent", None, "2026-03-11T10:00:00Z")} if not policy else  # essential: it goes during the leave
            {("sent", None, "2026-03-11T16:00:00Z")})  # the digest at 09:00 in Los Angeles


LATER_NOTE = """id: later
trigger: {event: hris.leave.started}
steps:
  - id: pause
    wait: {for: 2d}
  - id: manager
    send: {channel: email, to: manager, subject: "Your report", body: "Please check in."}
"""


def _timer_stage(write_files: WriteFiles, wall: Wall, directory: dict[str, Profile],
                 clock: Literal["wall", "event"] = "event") -> EmployeeStage:
    root = write_files({"journeys/later.yaml": HEAD + LATER_NOTE})
    return EmployeeStage(DictTable(), StreamClock(clock, wall), StreamMetrics(CollectorRegistry()),
                         lambda topic, partition: None, Engine(world_defs(root / "journeys")), ticks_topic="ticks",
                         max_event_bytes=1_000_000, directory=directory, recipient_wait_seconds=30)


def test_a_timer_whose_recipient_is_not_known_yet_waits_in_its_owners_line_and_ticks_meanwhile_are_not_sent_round(
        write_files: WriteFiles) -> None:
    """Issue 12, found on Kafka: a tick's retry had no key, so it made no line; the group's progress was never
    measured (the wait lasted the longest wait, 600 s), and each tick meanwhile sent another retry round (141,624
    records in 145 s). The wait is now the timer owner's, in a line, as an input's is."""
    wall, directory = Wall(), dict[str, Profile]()
    stage = _timer_stage(write_files, wall, directory)
    stage.holds.caught_up = 0.0  # measured, as in the worker
    feed = Feed(stage)
    feed.event(person("E1"))
    feed.event(LEAVE)  # nothing to send yet: the journey waits two days
    [held] = feed.raw("ticks", None, _tick("2026-04-05T00:00:00Z"))  # fires the wait: the manager M1 is not known
    retry = decode_retry(held.value)
    assert held.topic == "employee-ticks" and held.key == "E1"
    assert retry is not None and retry.key == b"E1" and retry.head
    assert stage.holds.is_blocked(0, b"E1") and stage.table.get("h:0:E1") is not None  # a line: progress measured
    assert feed.raw("ticks", None, _tick(None)) == []  # a wake-up meanwhile is not sent round
    [held] = feed.again(held)  # round again: still not known
    wall.value += timedelta(seconds=10)
    directory["M1"] = Profile(id="M1", fields={"email": "m1@example.com", "given_name": "Mo"})
    decided = feed.again(held)
    assert "M1" in [r.key for r in decided if r.topic == "mailbox"]  # to the manager's mailbox
    assert not any(r.topic == "employee-ticks" for r in decided)
    assert not stage.holds.blocked and stage.table.get("h:0:E1") is None
    assert not any(r.topic == "mailbox" and r.key == "M1" for r in feed.raw("ticks", None, _tick(None)))  # fired once


def test_a_timers_wait_ends_by_the_groups_progress_and_is_no_recipient_as_simulate_decides(
        write_files: WriteFiles) -> None:
    wall = Wall()
    stage = _timer_stage(write_files, wall, {})
    stage.holds.caught_up, stage.holds.max_wait_seconds = 0.0, 600.0
    feed = Feed(stage)
    feed.event(person("E1"))
    feed.event(LEAVE)
    [held] = feed.raw("ticks", None, _tick("2026-04-05T00:00:00Z"))
    first_held = wall.value.timestamp()
    wall.value += timedelta(seconds=45)
    [held] = feed.again(held)  # past the wait, the group not caught up past its end yet
    stage.holds.caught_up = first_held + 30  # well before the longest wait
    decided = feed.again(held)
    assert _manager_status(decided) == ("suppressed", "no_recipient")
    assert not stage.holds.blocked


def test_on_the_wall_clock_a_timers_wait_sends_one_retry_round_however_many_ticks_come(
        write_files: WriteFiles) -> None:
    wall = Wall()
    wall.value = at("2026-04-01T09:00:05Z")
    stage = _timer_stage(write_files, wall, {}, clock="wall")
    feed = Feed(stage)
    feed.event(person("E1"))
    feed.event(LEAVE)
    wall.value += timedelta(days=2, seconds=1)
    [held] = feed.raw("ticks", None, _tick(None))
    sent = []
    for _ in range(20):  # the worker's wake-ups, a second apart, while the retry goes round
        wall.value += timedelta(seconds=1)
        sent += feed.raw("ticks", None, _tick(None))
        [held] = feed.again(held)
    assert sent == []
    wall.value += timedelta(seconds=20)
    assert _manager_status(feed.again(held)) == ("suppressed", "no_recipient")


def test_an_interrupted_units_line_is_not_written_back_when_its_input_is_read_again_after_the_line_ended(
        write_files: WriteFiles) -> None:
    """A worker holds an input (its unit writes the employee's line and sends the retry) and dies before its offset
    is committed. The next owner produces the unit's records at load (the retry), decides the retry when it comes
    round (the line ends) and then reads the held input again: its replay must not write the line back. It did (the
    line's key held what it held before the unit, nothing, so the unit looked unapplied): a line whose only retry
    was long decided, holding the employee and the partition's time until it went stale (seen once in a CI run of
    the kill -9 test: "the line h:1:E1045-r2 has not moved for 174 s")."""
    wall, directory = Wall(), dict[str, Profile]()
    before = _stage(write_files, wall, directory)
    feed = Feed(before)
    feed.event(person("E1"))
    [held] = feed.event(LEAVE)  # offset 2: the line and its retry, kept in a write-ahead entry
    assert before.table.get("h:0:E1") is not None
    after = EmployeeStage(before.table, StreamClock("event", wall), StreamMetrics(CollectorRegistry()),
                          lambda topic, partition: 2 if topic == "hris.events" else 0, before.engine,
                          ticks_topic="ticks", max_event_bytes=1_000_000, directory=directory,
                          recipient_wait_seconds=30)
    feed.stage = after  # the first worker died before offset 2 was committed (the retry it sent was lost)
    directory["M1"] = Profile(id="M1", fields={"email": "m1@example.com", "given_name": "Mo"})
    loaded = feed.raw("hris.events", b"E0", json.dumps(person("E0").model_dump(mode="json")
                                                       | {"time": "2026-03-01T09:00:00Z"}).encode())
    [again] = [r for r in loaded if r.topic == "employee-ticks"]  # the interrupted unit's retry, produced at load
    assert again.value == held.value
    decided = feed.again(again)
    assert "M1" in [r.key for r in decided if r.topic == "mailbox"]  # its turn: decided, the line ends
    assert after.table.get("h:0:E1") is None and not after.holds.any_blocked(0)
    feed.offset = 1  # the held input is read again (its offset was not committed)
    assert feed.event(LEAVE) == []  # its records went at load; nothing decided again
    assert after.table.get("h:0:E1") is None  # the line stays ended
    assert not after.holds.any_blocked(0)
