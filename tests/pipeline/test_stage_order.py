"""The stages decide in simulate's order: timers fire to a fixed point before the next input of their key."""

from __future__ import annotations

import json

from tests.pipeline.stages import Pipeline
from tests.support import WriteFiles, at, world_defs
from wayfinder.journeys.events import CloudEvent
from wayfinder.journeys.loader import Definitions
from wayfinder.streams.embedded import EmbeddedRunner

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
