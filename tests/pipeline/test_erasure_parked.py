"""An erasure takes the person's inputs parked for their time with it (SPEC §9: nothing of the person stays in any
store): each one the core would refuse at its time is refused at the erasure, the same redacted dead letter sooner,
and its key in the employees table becomes a tombstone. A hire dated after the erasure stays parked, and so do the
inputs parked for after it (README "Erasure")."""

from __future__ import annotations

import json
from typing import Any

from tests.pipeline.stages import Pipeline
from tests.pipeline.test_runner_rules import ev, person, runner_for
from tests.pipeline.test_wall_clock import WallRun
from tests.support import WriteFiles, at
from wayfinder.journeys.events import CloudEvent
from wayfinder.journeys.records import ERASED_INPUT
from wayfinder.streams.unit import Table
from wayfinder.streams.wire import ParkedInput, Record, decode_timer

WELCOME = """id: welcome
trigger: {event: hris.employee.upserted}
steps:
  - id: hello
    send: {channel: email, subject: "Hi {{ recipient.given_name }}", body: "Welcome."}
  - id: pause
    wait: {for: 30d}
  - id: later
    send: {channel: intranet, subject: "Later", body: "Still here."}
"""

FEEDBACK = "I did not like this at all, signed Erin"


def _feedback(eid: str, time: str) -> CloudEvent:
    return ev(eid, "engagement.message.feedback", time, message_id="m-x", resource_id="r-1", rating=-1,
              comment=FEEDBACK)


def _kept(table: Table) -> list[tuple[str, bytes]]:
    """The table's latest values, but the write-ahead entries (they go once their input is committed)."""
    return [(key, raw) for key in list(table.keys()) if not key.startswith("w:") and (raw := table.get(key))]


def _parked(table: Table, subject: str) -> list[dict[str, Any]]:
    """The inputs of ``subject`` parked in the employees table, as events, with the offset they were read at."""
    found = []
    for key, raw in _kept(table):
        if key.startswith("t:") and "\x1fparked\x1f" in key:
            timer, _ = decode_timer(raw)
            assert isinstance(timer, ParkedInput)
            event = json.loads(timer.value) | {"offset": timer.offset}
            if event["subject"] == subject:
                found.append(event)
    return found


def _letters(records: list[Record]) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in records if r.topic == "dead-letters" and r.value is not None]


def test_an_erasure_refuses_the_persons_parked_engagement_event_at_once_on_the_event_clock(
        write_files: WriteFiles) -> None:
    """A feedback with the person's words in it, read ahead of their HRIS events, is parked for its time (a week
    after the erasure). It stayed in the table until then after the person asked to be forgotten; now the erasure
    refuses it at once, with the letter it got at its time. A feedback dated before the erasure is decided before
    it, as ``simulate`` does: not refused."""
    runner = runner_for(write_files, {"welcome": WELCOME})
    p = Pipeline(defs=runner.engine.defs)
    p.tick(at("2026-12-01T00:00:00Z"))
    p.feed(p.employees, "hris", None, person("E1", "2026-12-01T00:00:00Z").model_dump_json().encode())
    p.drain()
    before = p.feed(p.employees, "engagement", None, _feedback("f0", "2026-12-05T00:00:00Z").model_dump_json()
                    .encode(), offset=100)
    after = p.feed(p.employees, "engagement", None, _feedback("f1", "2026-12-17T00:00:00Z").model_dump_json()
                   .encode(), offset=101)
    assert before == after == []  # both parked
    assert len(_parked(p.employees.table, "E1")) == 2
    erased = p.feed(p.employees, "hris", None,
                    ev("x1", "privacy.erasure.requested", "2026-12-10T00:00:00Z").model_dump_json().encode())
    p.drain()
    assert _parked(p.employees.table, "E1") == []
    assert not any(FEEDBACK.encode() in raw for _, raw in _kept(p.employees.table))
    [letter] = _letters(erased)
    assert (letter["reason"], letter["raw"], letter["source"], letter["offset"]) == (
        "erased_subject", ERASED_INPUT, "engagement", 101)
    assert at(letter["received_at"]) == at("2026-12-17T00:00:00Z")  # as at its time
    p.tick(at("2027-03-01T00:00:00Z"))
    assert [(d["reason"], d["offset"]) for d in _letters(p.records)] == [("erased_subject", 101)]


def test_an_erasure_on_the_wall_clock_refuses_the_inputs_parked_ahead_of_it_but_a_hire_and_what_follows_it(
        write_files: WriteFiles) -> None:
    """On the wall clock an input dated ahead of it is parked until its time: an upsert mis-dated by months (the
    person's name and email in it) stayed in the table that long after the erasure. The erasure refuses it and a
    feedback parked for the next day; the hire dated after the erasure stays parked (it makes a new person under
    the old id), and so does the upsert parked for after the hire, the new person's. An input parked for before
    the erasure is decided before it, not refused."""
    run = WallRun(write_files, {"welcome": WELCOME})
    run.read(person("E1", "2026-12-01T00:00:00Z"))
    wall = at("2026-12-02T10:00:00Z")
    early = _feedback("f0", "2026-12-02T11:00:00Z")
    late = _feedback("f1", "2026-12-03T10:00:00Z")
    misdated = person("E1", "2027-03-01T00:00:00Z", given_name="Erin", email="erin.private@example.com")
    hire = ev("h1", "hris.employee.hired", "2027-06-01T00:00:00Z", start_date="2027-06-01")
    after_hire = person("E1", "2027-07-01T00:00:00Z", given_name="Erin Two")
    for event in (early, late, misdated, hire, after_hire):
        run.read(event, wall=wall)
    offsets = {e["id"]: e["offset"] for e in _parked(run.p.employees.table, "E1")}
    assert len(offsets) == 5
    before = len(run.p.records)
    run.read(ev("x1", "privacy.erasure.requested", "2026-12-02T12:00:00Z"), wall=at("2026-12-02T12:00:00Z"))
    assert sorted(e["id"] for e in _parked(run.p.employees.table, "E1")) == ["h1", after_hire.id]
    assert not any(b"erin.private" in raw for _, raw in _kept(run.p.employees.table))
    refused = [(d["reason"], d["raw"], d["offset"]) for d in _letters(run.p.records[before:])]
    assert refused == [("erased_subject", ERASED_INPUT, offsets["f1"]),
                       ("erased_subject", ERASED_INPUT, offsets[misdated.id])]
    run.advance(at("2027-12-31T00:00:00Z"))
    assert [(d["reason"], d["offset"]) for d in _letters(run.p.records)] == [
        ("erased_subject", offsets["f1"]), ("erased_subject", offsets[misdated.id])]
    state = json.loads(run.p.employees.table.get("s:E1") or b"{}")
    assert state["profile"]["fields"]["given_name"] == "Erin Two"  # the rehire, then its upsert


def test_simulate_and_the_stages_agree_on_an_engagement_event_parked_across_an_erasure(
        write_files: WriteFiles) -> None:
    """The person's feedback events (one dated before the erasure, one after) reach the worker ahead of their HRIS
    events and are parked; ``simulate`` reads everything in time order. Both decide the first before the erasure
    and refuse the second, with the same letter; the messages end the same."""
    runner = runner_for(write_files, {"welcome": WELCOME})
    hris = [person("E1", "2026-12-01T00:00:00Z"), ev("x1", "privacy.erasure.requested", "2026-12-10T00:00:00Z")]
    engagement = [_feedback("f0", "2026-12-05T00:00:00Z"), _feedback("f1", "2026-12-17T00:00:00Z")]
    until = at("2027-03-01T00:00:00Z")
    runner.run(sorted([*hris, *engagement], key=lambda e: e.time), until)
    p = Pipeline(defs=runner.engine.defs)
    p.tick(hris[0].time)
    p.feed(p.employees, "hris", None, hris[0].model_dump_json().encode())
    p.drain()
    for event in engagement:  # read ahead of the erasure
        p.feed(p.employees, "engagement", None, event.model_dump_json().encode())
    p.tick(hris[1].time)
    p.feed(p.employees, "hris", None, hris[1].model_dump_json().encode())
    p.drain()
    assert _parked(p.employees.table, "E1") == []
    p.tick(until)
    staged = [(d["reason"], d["raw"], at(d["received_at"])) for d in _letters(p.records)]
    assert staged == [(d.reason, d.raw, d.received_at) for d in runner.dead_letters] == [
        ("erased_subject", ERASED_INPUT, at("2026-12-17T00:00:00Z"))]
    latest: dict[str, str] = {}
    for r in p.records:
        if r.topic == "outbound.messages" and r.value is not None:
            latest[json.loads(r.value)["message_id"]] = json.loads(r.value)["status"]
    assert latest == {mid: m.status for mid, m in runner.messages.items()}
