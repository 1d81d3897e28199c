"""The embedded runner and the worker's stages leave the same state behind, key for key, for the bundled
events (an erasure among them): the effects are carried out by one interpreter, so they cannot drift."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.pipeline.stages import (
    UNTIL,
    DictTable,
    Pipeline,
    bundled_in_order,
    bundled_through_stages,
    events_through_stages,
)
from tests.pipeline.test_leavers_held import UNTIL as LEAVERS_UNTIL
from tests.pipeline.test_leavers_held import leavers_defs, leavers_world
from tests.pipeline.test_runner_rules import ev, person, runner_for
from tests.support import WriteFiles
from tests.support import at as instant
from wayfinder import examples_dir
from wayfinder.journeys.digest import DigestState
from wayfinder.journeys.events import iso
from wayfinder.journeys.profile import left
from wayfinder.journeys.records import Task, task_as_read
from wayfinder.journeys.state import EmployeeState, MailboxState
from wayfinder.streams.app import load_definitions
from wayfinder.streams.embedded import EmbeddedRunner, read_event_file
from wayfinder.streams.settings import WorkerSettings
from wayfinder.streams.stage import profile_from_contact
from wayfinder.streams.wire import decode_timer, timer_key
from wayfinder.vocabulary import Topic, input_topic

ERASED = "E1026"  # the bundled events' erasure request


def _embedded() -> EmbeddedRunner:
    runner = EmbeddedRunner(load_definitions(WorkerSettings(store="memory", clock="event")))
    runner.run(read_event_file(examples_dir() / "events.jsonl").events, UNTIL)
    return runner


def _table(table: DictTable, model: type[EmployeeState] | type[MailboxState]) -> dict[str, Any]:
    return {key[2:]: model.model_validate_json(value) for key, value in table.items() if key.startswith("s:")}


def _timers(*tables: DictTable) -> list[tuple[str, str]]:
    out = []
    for table in tables:
        for key, value in table.items():
            if key.startswith("t:"):
                timer, due = decode_timer(value)
                out.append((iso(due), timer_key(timer)))
    return sorted(out)


def _latest(records: list[Any], topic: str) -> dict[str, Any]:
    latest: dict[str, Any] = {}
    for r in records:
        if r.topic == topic and r.value is not None:
            d = json.loads(r.value)
            key = d.get("message_id") or d.get("task_id") or json.dumps(d, sort_keys=True)
            if topic == "tasks":  # a close carries no text: the topic's readers take the open record's
                before = latest.get(key)
                d = json.loads(task_as_read(before and Task.model_validate(before), Task.model_validate(d))
                               .model_dump_json())
            latest[key] = d
    return latest


@pytest.fixture(scope="module")
def both() -> tuple[EmbeddedRunner, Pipeline]:
    return _embedded(), bundled_through_stages()


def test_both_runners_leave_the_same_keys_and_values_in_every_table(both: tuple[EmbeddedRunner, Pipeline]) -> None:
    runner, p = both
    assert isinstance(p.employees.table, DictTable) and isinstance(p.mailboxes.table, DictTable)
    kept = ("s:", "t:", "m:", "W:", "wd:")  # states, timers, held messages, watermarks, the log's mark per partition
    leftovers = [k for t in (p.employees.table, p.mailboxes.table) for k in t if not k.startswith(kept)]
    assert leftovers == []  # write-ahead entries are gone once their inputs are committed
    assert _table(p.employees.table, EmployeeState) == runner.states | runner.erased  # erased-id records too
    assert {k[2:]: p.mailboxes.stored(k[2:]) for k in p.mailboxes.table if k.startswith("s:")} == runner.mailboxes
    assert _timers(p.employees.table, p.mailboxes.table) == sorted(
        (iso(due), timer_key(timer)) for due, timer in runner.timers())


def test_both_runners_produce_the_same_records(both: tuple[EmbeddedRunner, Pipeline]) -> None:
    runner, p = both
    as_json = {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}
    assert _latest(p.records, "outbound.messages") == as_json
    assert _latest(p.records, "tasks") == {tid: json.loads(t.model_dump_json()) for tid, t in runner.tasks.items()}
    audit = [json.loads(r.value) for r in p.records if r.topic == "audit" and r.value is not None]
    assert audit == runner.audit_records


def test_after_the_erasure_no_state_holds_the_erased_person(both: tuple[EmbeddedRunner, Pipeline]) -> None:
    runner, p = both
    assert ERASED not in runner.states and ERASED not in runner.mailboxes
    assert isinstance(p.employees.table, DictTable) and isinstance(p.mailboxes.table, DictTable)
    # only the erased-id record stays, under the person's state key: their opaque id and the erasure time
    record = EmployeeState.model_validate_json(p.employees.table[f"s:{ERASED}"])
    assert record == runner.erased[ERASED]
    assert record.model_copy(update={"seen": {}}) == EmployeeState.erased_record(ERASED, record.erased_at or UNTIL)
    assert len(record.seen) == 1  # the erasure request's key only: an opaque source and id
    assert f"s:{ERASED}" not in p.mailboxes.table
    # no other key of either table is the person's (timers, held messages, digest boxes)
    theirs = [k for t in (p.employees.table, p.mailboxes.table) for k in t if ERASED in k and k != f"s:{ERASED}"]
    assert theirs == []
    # the directory (compacted) ends with a tombstone for the person
    directory = [r for r in p.records if r.topic == "directory" and r.key == ERASED]
    assert directory and directory[-1].value is None
    # the mailbox stage wrote a tombstone for the mailbox it held: its changelog forgets it too
    forgets = [r for r in p.records if r.topic == "mailbox" and r.key == ERASED and b'"forget"' in (r.value or b"")]
    assert len(forgets) == 1


def test_after_the_erasure_nothing_kept_holds_the_persons_name_or_email(both: tuple[EmbeddedRunner, Pipeline]
                                                                       ) -> None:
    runner, p = both
    upsert = next(e for e in read_event_file(examples_dir() / "events.jsonl").events
                  if e.subject == ERASED and e.type == "hris.employee.upserted")
    personal = [str(upsert.data[f]).encode() for f in ("given_name", "family_name", "email")]
    assert isinstance(p.employees.table, DictTable) and isinstance(p.mailboxes.table, DictTable)
    kept = [*p.employees.table.values(), *p.mailboxes.table.values()]
    latest_by_key = {(r.topic, r.key): r.value for r in p.records if r.topic == "directory"}  # compacted
    kept.extend(v for v in latest_by_key.values() if v is not None)
    kept.extend(json.dumps(m).encode() for m in _latest(p.records, "outbound.messages").values())
    kept.extend(json.dumps(t).encode() for t in _latest(p.records, "tasks").values())
    kept.extend(m.model_dump_json().encode() for m in runner.messages.values())
    leaks = [value[:60] for value in kept for word in personal if word in value]
    assert leaks == []


def test_engagement_events_and_decisions_read_before_the_hris_events_are_decided_as_simulate_decides(
        both: tuple[EmbeddedRunner, Pipeline]) -> None:
    """A replay on Kafka whose engagement and decisions topics are read ahead of the HRIS events, here all of them
    first: the event clock keeps each for its own time (a click re-ranked messages made before it, so 5 of the
    bundled messages listed other resources than simulate's; found by an audit of issue 12)."""
    runner, _ = both
    p = Pipeline(committed=lambda topic, partition: 1 << 62)
    ordered = bundled_in_order()
    own = [(at, line) for at, line in ordered if input_topic(json.loads(line)["type"]) is not Topic.HRIS_EVENTS]
    assert len(own) > 100
    for _, line in own:
        p.feed(p.employees, "engagement", None, line)
    for at, line in ordered:
        if (at, line) not in own:
            p.tick(at)
            p.feed(p.employees, "hris", None, line)
            p.drain()
    p.tick(UNTIL)
    as_json = {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}
    latest = _latest(p.records, "outbound.messages")
    assert {mid: {k: v for k, v in m.items() if v != as_json[mid].get(k)} for mid, m in latest.items()} == {
        mid: {} for mid in as_json}


HEADS_UP = """id: heads-up
reentry: always
trigger: {event: hris.leave.started}
steps:
  - id: tell-manager
    send: {channel: email, to: manager, subject: "A leave", body: "Someone in your team is on leave."}
  - id: tell-partner
    send: {channel: intranet, to: hr_partner, subject: "A leave", body: "Someone you support is on leave."}
  - id: cover
    task: {assignee: manager, title: "Arrange cover", note: "Arrange cover for their work."}
  - id: reach-out
    task: {assignee: hr_partner, title: "Reach out", note: "Call them."}
"""


def test_both_runners_treat_a_manager_or_hr_partner_who_has_left_alike(write_files: WriteFiles) -> None:
    """README "Leavers": E1's manager M1 leaves on a date announced ahead (a leave before it still tells them, one
    after it is ``no_recipient`` and M1's task goes to the HR partner H1); E2's HR partner H2 leaves and their task
    goes to H2's lead L2; E3's manager M3 leaves and is hired again. The worker knows each leaver by the directory
    record the stage sent, as another partition would."""
    runner = runner_for(write_files, {"heads-up": HEADS_UP})
    leave = {"leave_type": "other", "start_date": "2026-04-01"}
    events = [person("E1"), person("E2", manager_id="M2", hr_partner_id="H2"), person("E3", manager_id="M3"),
              *(person(p, manager_id=None, hr_partner_id=None) for p in ("M1", "H1", "M2", "M3", "L2")),
              person("H2", manager_id="L2", hr_partner_id=None),
              ev("x1", "hris.employee.terminated", "2026-03-02T09:00:00Z", "M1", date="2026-03-31"),
              ev("x2", "hris.employee.terminated", "2026-03-02T09:00:00Z", "H2", date="2026-03-02"),
              ev("x3", "hris.employee.terminated", "2026-03-02T09:00:00Z", "M3", date="2026-03-02"),
              ev("l1", "hris.leave.started", "2026-03-10T09:00:00Z", "E1", **leave),
              ev("r3", "hris.employee.hired", "2026-03-20T09:00:00Z", "M3", start_date="2026-03-23"),
              *(ev(f"l-{e}", "hris.leave.started", "2026-04-01T09:00:00Z", e, **leave) for e in ("E1", "E2", "E3"))]
    runner.run(events, instant("2026-04-10T00:00:00Z"))
    decided = {(m.employee_id, m.step_id, m.created_at.day): (m.status, m.reason) for m in runner.messages.values()}
    assert decided[("E1", "tell-manager", 10)] == ("sent", None)  # announced, not yet gone
    assert decided[("E1", "tell-manager", 1)] == ("suppressed", "no_recipient")
    assert decided[("E2", "tell-partner", 1)] == ("suppressed", "no_recipient")
    assert decided[("E3", "tell-manager", 1)] == ("sent", None)  # hired again
    tasks = {(t.employee_id, t.step_id, t.created_at.day): (t.assignee, t.assignee_id, t.reason)
             for t in runner.tasks.values()}
    assert tasks[("E1", "cover", 10)] == ("manager", "M1", None)
    assert tasks[("E1", "cover", 1)] == ("hr_partner", "H1", "assignee_left")
    assert tasks[("E2", "reach-out", 1)] == ("review_escalation", "L2", "assignee_left")
    assert tasks[("E3", "cover", 1)] == ("manager", "M3", None)

    p, latest = events_through_stages(runner.engine.defs, events, instant("2026-04-10T00:00:00Z"))
    assert latest == {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}
    assert _latest(p.records, "tasks") == {tid: json.loads(t.model_dump_json()) for tid, t in runner.tasks.items()}
    # what another partition's worker reads of them: the directory records, latest per person
    directory = {r.key: r.value for r in p.records if r.topic == "directory"}
    read = {who: profile_from_contact(json.loads(directory[who] or b"")) for who in ("M1", "H2", "M3", "H1")}
    assert {who: left(profile, instant("2026-04-01T09:00:00Z")) for who, profile in read.items()} == {
        "M1": True, "H2": True, "M3": False, "H1": False}


def test_both_runners_hold_back_alike_what_waits_for_someone_who_has_left(write_files: WriteFiles) -> None:
    """README "Leavers": what waits in a leaver's mailbox or digest box when they leave (quiet hours, a digest to
    close) does not go to them when its time comes at or after they left; a termination dated ahead, a rescinded or
    moved one and a rehire alike (``tests/pipeline/test_leavers_held.py``'s world). The worker's mailbox stage learns
    it from the ``Departure`` on the mailbox topic, as simulate's mailbox does from the effect."""
    defs = leavers_defs(write_files)
    events, until = leavers_world(), instant(LEAVERS_UNTIL)
    runner = EmbeddedRunner(defs)
    runner.run(events, until)
    withheld = {(m.employee_id, m.step_id) for m in runner.messages.values() if m.reason == "no_recipient"}
    assert withheld == {("E1", "tell-manager"), ("E3", "tell-manager"), ("E1", "tell-partner")}
    p, latest = events_through_stages(defs, events, until)
    assert latest == {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}
    assert isinstance(p.mailboxes.table, DictTable)
    assert {k[2:]: p.mailboxes.stored(k[2:]) for k in p.mailboxes.table if k.startswith("s:")} == runner.mailboxes
    assert {k[2:]: DigestState.model_validate_json(v) for k, v in p.mailboxes.table.items()
            if k.startswith("g:")} == runner.digest_boxes
    assert runner.mailboxes["M3"].left_at == instant("2026-03-11T23:00:00Z")  # kept where messages wait
