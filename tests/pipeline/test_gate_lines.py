"""Inputs kept for their turn (``streams.gate``) and an employee's line of inputs waiting for a recipient
(``streams.recipients``) together: one person's inputs are still decided in time order, as ``simulate`` decides
them. The stages run on dicts; ``drained`` stands in for the consumer's high watermarks."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from tests.pipeline.stages import Pipeline
from tests.pipeline.test_runner_rules import HEAD, ev, person
from tests.support import WriteFiles, at, world_defs
from wayfinder.journeys.events import CloudEvent
from wayfinder.journeys.loader import Definitions
from wayfinder.streams.clock import StreamClock
from wayfinder.streams.embedded import EmbeddedRunner
from wayfinder.streams.wire import Record

UNTIL = at("2026-06-01T00:00:00Z")
TOPICS = ("hris", "engagement", "decisions")

REVIEW = """id: review
trigger: {event: hris.employee.hired}
steps:
  - id: heads-up
    send: {channel: email, to: manager, subject: "A new report", body: "Say hello."}
  - id: wait-review
    wait_for:
      event: onboarding.task.completed
      when: event.data.task_id == "review"
      timeout: 10d
      on_timeout: nudge
  - id: done
    end: {}
  - id: nudge
    send: {channel: email, to: manager, subject: "The review", body: "It has not happened yet."}
"""


class Wall:
    def __init__(self) -> None:
        self.value = at("2026-12-05T10:00:00Z")

    def __call__(self) -> datetime:
        return self.value


def _defs(write_files: WriteFiles) -> Definitions:
    root = write_files({"journeys/review.yaml": HEAD + REVIEW})
    return world_defs(root / "journeys")


def _raw(e: CloudEvent) -> bytes:
    return e.model_dump_json().encode()


def _statuses(records: list[Record]) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for r in records:
        if r.topic == "outbound.messages" and r.value is not None:
            m = json.loads(r.value)
            out[m["message_id"]] = (m["step_id"], m["status"])
    return out


def test_a_later_input_of_an_employee_waiting_for_a_recipient_waits_behind_their_input_kept_for_its_turn(
        write_files: WriteFiles) -> None:
    """E1's hire is decided in its turn but waits for their manager, whom this partition does not know yet; E1's
    review done four days later is still kept for its turn (the engagement topic is read only to the day after the
    hire); then E1's upsert of three weeks later is read. Put straight into E1's line of waiting inputs, the upsert
    was decided before the review, fired the wait's timeout and nudged the manager, which ``simulate`` never does
    (the kill -9 test on Kafka, 2026-12-05: a ``review-nudge`` of the bundled onboarding journey)."""
    defs = _defs(write_files)
    hired = ev("h1", "hris.employee.hired", "2026-04-01T09:00:00Z", start_date="2026-04-01")
    review = ev("t1", "onboarding.task.completed", "2026-04-05T09:00:00Z", task_id="review")
    later = person("E1", "2026-04-20T09:00:00Z", department="Sales")
    opened = ev("o1", "engagement.message.opened", "2026-04-02T09:00:00Z", "Z9", message_id="m-x")
    manager = person("M1", manager_id=None, hr_partner_id=None)

    runner = EmbeddedRunner(defs)
    runner.run([manager, person("E1"), hired, opened, review, later], UNTIL)
    expected = {m.message_id: (m.step_id, m.status) for m in runner.messages.values()}
    assert sorted(step for step, _ in expected.values()) == ["heads-up"]  # the review came in time: no nudge

    wall = Wall()
    p = Pipeline(defs=defs, clock=StreamClock("event", wall))
    p.employees.holds.wait_seconds = 30  # as the worker: an input waits for a recipient not known yet
    drained = {"hris": False, "engagement": False, "decisions": True}
    p.employees.input_topics = TOPICS
    p.employees.drained = lambda topic, partition, seen: partition == 1 or drained[topic]  # 1: M1's
    retries: list[Record] = []

    def feed(topic: str, e: CloudEvent) -> None:
        retries.extend(r for r in p.feed(p.employees, topic, e.subject.encode(), _raw(e))
                       if r.topic == "employee-ticks")
        p.drain()

    for e in (person("E1"), hired, review):
        feed("hris", e)  # kept: the engagement topic is not read yet
    assert len(p.employees.gated) == 3
    feed("engagement", opened)  # read to the 2nd: E1's upsert and hire are decided, the review (the 5th) waits
    assert p.employees.holds.is_blocked(0, b"E1")  # the hire waits for M1 in E1's line
    assert len(p.employees.gated) == 1
    feed("hris", later)
    # the manager becomes known (their partition decided them), and the waiting inputs come round
    p.feed(p.employees, "hris", b"M1", _raw(manager), partition=1)
    wall.value += timedelta(seconds=5)
    while retries:
        retry = retries.pop(0)
        retries.extend(r for r in p.feed(p.employees, "ticks", None, retry.value or b"")
                       if r.topic == "employee-ticks")
        p.drain()
    drained["engagement"] = True
    p.tick(UNTIL)
    assert not p.employees.gated.keys() and not p.employees.holds.blocked
    assert _statuses(p.records) == expected
