"""Cross-area stories (a pending review, an erasure, an exit at the instant of a decision) through ``simulate`` and
through the worker's two stages on the event clock, each event on its own input topic (decisions on ``decisions``,
the rest on ``hris.events``), as an audit of 2026-12-06 ran 82 such stories (README "Kafka order")."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from tests.pipeline.stages import Pipeline
from tests.pipeline.test_runner_rules import ev, person, runner_for
from tests.support import WriteFiles, at
from wayfinder.journeys.events import CloudEvent
from wayfinder.journeys.loader import Definitions
from wayfinder.streams.clock import StreamClock
from wayfinder.streams.embedded import EmbeddedRunner
from wayfinder.vocabulary import Topic, input_topic

UNTIL = at("2026-11-01T00:00:00Z")
INPUTS = (Topic.HRIS_EVENTS.value, Topic.ENGAGEMENT_EVENTS.value, Topic.DECISIONS.value)

TELL_MANAGER = """id: leave-manager
sensitivity: sensitive
trigger: {event: hris.leave.started, when: 'event.data.leave_type == "medical"'}
steps:
  - id: note
    send: {channel: email, to: manager, subject: "A leave in your team", body: "Someone is on leave."}
"""

CONDOLENCE = """id: condolence
sensitivity: sensitive
trigger: {event: hris.leave.started, when: 'event.data.leave_type == "bereavement"'}
exit_on:
  - event: hris.leave.ended
steps:
  - id: note
    send: {channel: email, subject: "We are sorry", body: "Take the time you need."}
"""


class Wall:
    def __init__(self) -> None:
        self.value = at("2026-12-06T10:00:00Z")

    def __call__(self) -> datetime:
        return self.value


def _staged(defs: Definitions, events: list[CloudEvent], *, wait: float) -> dict[str, dict[str, Any]]:
    """``events`` through the stages in ``simulate``'s order, each on its input topic, with a tick at its time
    first; with a recipient ``wait``, an input held for a recipient goes round the ticks topic after the wall clock
    has passed the wait (as the worker's retries do). The latest record of each message."""
    wall = Wall()
    p = Pipeline(committed=lambda topic, partition: 1 << 62, defs=defs, clock=StreamClock("event", wall))
    p.employees.holds.wait_seconds = wait

    def feed(topic: str, value: bytes) -> None:
        for r in p.feed(p.employees, topic, None, value):
            if r.topic == Topic.EMPLOYEE_TICKS and r.value is not None:
                wall.value += timedelta(seconds=wait + 1)
                feed("ticks", r.value)

    for event in sorted(events, key=lambda e: e.time):
        p.tick(event.time)
        feed(input_topic(event.type).value, event.model_dump_json().encode())
        p.drain()
    p.tick(UNTIL)
    return {m["message_id"]: m for m in (json.loads(r.value) for r in p.records
                                         if r.topic == Topic.OUTBOUND_MESSAGES and r.value is not None)}


def test_an_approval_after_its_recipient_was_erased_is_no_recipient_in_both_runners(write_files: WriteFiles) -> None:
    """Story s25: a note to the manager waits for review; the manager is erased; the note is approved. ``simulate``
    finds nobody to send it to (``no_recipient``), and so does the worker once its recipient wait (default 30 s)
    ends. With no wait it is decided for the erased id at once (README "When a wait ends")."""
    runner = runner_for(write_files, {"leave-manager": TELL_MANAGER})
    people = [person("E1"), person("M1", manager_id=None), person("H1", manager_id=None)]
    leave = ev("l1", "hris.leave.started", "2026-10-05T10:00:00Z", leave_type="medical", start_date="2026-10-05",
               expected_return_date="2026-11-30")
    first = EmbeddedRunner(runner.engine.defs)
    first.run([*people, leave], UNTIL)
    [note] = first.messages
    events = [*people, leave, ev("x1", "privacy.erasure.requested", "2026-10-06T00:00:00Z", "M1"),
              ev("r1", "wayfinder.review.decided", "2026-10-07T00:00:00Z", message_id=note, decision="approve",
                 reviewer_id="R1")]
    runner.run(events, UNTIL)
    simulated = json.loads(runner.messages[note].model_dump_json())
    assert (simulated["status"], simulated["reason"]) == ("suppressed", "no_recipient")
    assert _staged(runner.engine.defs, events, wait=30)[note] == simulated
    assert _staged(runner.engine.defs, events, wait=0)[note]["status"] == "approved"


def test_a_backlogged_worker_decides_one_instants_decision_before_its_hris_event_whatever_the_file_order(
        write_files: WriteFiles) -> None:
    """Story s41b, a known difference (README "Kafka order"): a bereavement leave's condolence waits for review;
    the leave ends (the journey exits) and the condolence is approved at the same instant, the end first in the
    file. ``simulate`` takes ties in file order: the condolence is ``exited`` and the approval a ``not_pending``
    dead letter. Kafka keeps no order across topics: a worker with both inputs waiting for their turn decides them
    by topic (``decisions`` before ``hris.events``), so it approves the condolence, as ``simulate`` does when the
    approval comes first in the file."""
    runner = runner_for(write_files, {"condolence": CONDOLENCE})
    defs = runner.engine.defs
    hris = [person("E1"), person("M1", manager_id=None), person("H1", manager_id=None),
            ev("l1", "hris.leave.started", "2026-10-05T10:00:00Z", leave_type="bereavement",
               start_date="2026-10-05", expected_return_date="2026-10-09"),
            ev("e1", "hris.leave.ended", "2026-10-06T10:00:00Z", leave_type="bereavement", return_date="2026-10-06")]
    first = EmbeddedRunner(defs)
    first.run(hris[:-1], UNTIL)
    [note] = first.messages
    decision = ev("r1", "wayfinder.review.decided", "2026-10-06T10:00:00Z", message_id=note, decision="approve",
                  reviewer_id="R1")

    def simulated(events: list[CloudEvent]) -> tuple[str, str | None]:
        run = EmbeddedRunner(defs)
        run.run(events, UNTIL)
        return run.messages[note].status, run.messages[note].reason

    assert simulated([*hris, decision]) == ("suppressed", "exited")
    assert simulated([*hris[:-1], decision, hris[-1]]) == ("approved", None)

    p = Pipeline(committed=lambda topic, partition: 1 << 62, defs=defs)
    read = {"decisions": False}
    p.employees.input_topics = INPUTS
    p.employees.drained = lambda topic, partition, seen: topic != "decisions" or read["decisions"]
    for e in hris:  # a backlog: the HRIS events are read first and wait for the decisions topic
        p.feed(p.employees, "hris.events", e.subject.encode(), e.model_dump_json().encode())
        p.drain()
    read["decisions"] = True
    p.feed(p.employees, "decisions", b"E1", decision.model_dump_json().encode())
    p.drain()
    p.tick(UNTIL)
    assert p.out[note] == "approved"


TELL_MANAGER_OF_A_CHILD = """id: np-manager
trigger: {event: hris.dependent.added}
steps:
  - id: tell
    send: {channel: email, to: manager, subject: "News in your team", body: "A new child."}
"""


def test_a_managers_new_quiet_hours_read_ahead_of_the_hris_events_hold_a_message_to_them_as_in_simulate(
        write_files: WriteFiles) -> None:
    """Story s31: the manager (Los Angeles) sets quiet hours 00:00-12:00 the day before their report's child is
    born. ``simulate`` holds the note to the manager to 12:00 in Los Angeles (19:00 UTC). A worker that read the
    ``decisions`` topic ahead of ``hris.events`` (a backlog) kept the change, in its turn, as a timer of the manager,
    decided at their next input or tick; the report's event between read the manager's old preferences and the note
    went at 11:00 UTC (04:00 there). Decided in its turn, it is applied first, as in ``simulate``."""
    runner = runner_for(write_files, {"np-manager": TELL_MANAGER_OF_A_CHILD})
    defs = runner.engine.defs
    hris = [person("E1"), person("M1", manager_id=None, timezone="America/Los_Angeles", country="US",
                                 locale="en-US"), person("H1", manager_id=None),
            ev("d1", "hris.dependent.added", "2026-09-14T11:00:00Z", relationship="child", reason="birth",
               date="2026-09-12")]
    quiet = ev("q1", "wayfinder.preferences.changed", "2026-09-13T00:00:00Z", "M1", quiet_hours="00:00-12:00")
    runner.run([*hris, quiet], UNTIL)
    [note] = runner.messages.values()
    assert (note.status, note.scheduled_for) == ("sent", at("2026-09-14T19:00:00Z"))

    p = Pipeline(committed=lambda topic, partition: 1 << 62, defs=defs)
    read = {"hris.events": 0}
    p.employees.input_topics = INPUTS
    p.employees.drained = lambda topic, partition, seen: topic != "hris.events" or read[topic] == len(hris)
    p.feed(p.employees, "decisions", b"M1", quiet.model_dump_json().encode())  # the decisions topic read first
    p.drain()
    for e in hris:
        read["hris.events"] += 1
        p.feed(p.employees, "hris.events", e.subject.encode(), e.model_dump_json().encode())
        p.drain()
    p.tick(UNTIL)
    staged = [json.loads(r.value) for r in p.records if r.topic == Topic.OUTBOUND_MESSAGES and r.value is not None]
    assert staged[-1] == json.loads(note.model_dump_json())
