"""The worker's two stages on the wall clock (``WAYFINDER_CLOCK=wall``, production's default), with the wall clock
injected: SPEC §4, "in a worker it is the wall clock, and a step runs at the later of the two"."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.pipeline.stages import Pipeline
from tests.pipeline.test_runner_rules import HEAD, ev, person
from tests.support import WriteFiles, at, world_defs
from wayfinder.journeys.events import CloudEvent
from wayfinder.streams.clock import StreamClock
from wayfinder.streams.wire import encode_tick

BIRTHS = """id: births
version: 1
status: active
trigger: {event: hris.dependent.added}
steps:
  - id: hello
    send: {channel: email, subject: "Hi {{ recipient.given_name }}", body: "Congratulations."}
  - id: pause
    wait: {for: 3d}
  - id: later
    send: {channel: intranet, subject: "Later", body: "Still here."}
"""


class WallRun:
    """Both stages on an injected wall clock: each input is read at a given wall time, and the timers fire when the
    wall clock reaches them (the worker ticks a partition each second while it has timers due). Each record on
    ``outbound.messages`` is noted with the wall time it was produced at."""

    def __init__(self, write_files: WriteFiles, journeys: dict[str, str]) -> None:
        root = write_files({f"journeys/{name}.yaml": HEAD + body for name, body in journeys.items()})
        self.now = at("2026-11-01T00:00:00Z")
        self.p = Pipeline(defs=world_defs(root / "journeys"), clock=StreamClock("wall", wall=lambda: self.now))
        self.produced: list[tuple[datetime, dict[str, Any]]] = []

    def _feed(self, stage: Any, topic: str, value: bytes) -> None:
        for r in self.p.feed(stage, topic, None, value):
            if r.topic == "outbound.messages" and r.value is not None:
                self.produced.append((self.now, json.loads(r.value)))
        while self.p.queue:
            r = self.p.queue.popleft()
            assert r.value is not None
            key = r.key.encode() if r.key is not None else None
            for out in self.p.feed(self.p.mailboxes, "mailbox", key, r.value):
                if out.topic == "outbound.messages" and out.value is not None:
                    self.produced.append((self.now, json.loads(out.value)))

    def _next_due(self) -> float | None:
        dues = [d for d in (self.p.employees.timers.next_due(0), self.p.mailboxes.timers.next_due(0)) if d is not None]
        return min(dues) if dues else None

    def advance(self, to: datetime) -> None:
        while (due := self._next_due()) is not None and due <= to.timestamp():
            self.now = max(self.now, datetime.fromtimestamp(due, to.tzinfo))
            self._feed(self.p.employees, "ticks", encode_tick(self.now))
            self._feed(self.p.mailboxes, "mticks", encode_tick(self.now))
        self.now = max(self.now, to)

    def read(self, event: CloudEvent, wall: datetime | None = None) -> None:
        """``event`` read at ``wall`` (default: its own time)."""
        self.advance(wall or event.time)
        self._feed(self.p.employees, "hris", event.model_dump_json().encode())

    def latest(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {(m["employee_id"], m["step_id"]): m for _, m in self.produced}


@pytest.mark.parametrize("ahead", ["2026-12-07T11:00:00Z", "2027-12-07T10:00:00Z"])
def test_an_input_dated_ahead_of_the_wall_clock_is_decided_at_its_time_and_fires_no_timer_early(
        write_files: WriteFiles, ahead: str) -> None:
    """A birth dated an hour (or, mis-dated, a year) ahead of the wall clock. Decided when it was read, its steps ran
    at its future time while the clock was now: its welcome was recorded ``sent`` at that time and produced at once
    (``deliver`` sends a ``sent`` record when it reads it), and before it every timer of the partition due by its
    time fired, so another person's message due in three days went out at once."""
    run = WallRun(write_files, {"births": BIRTHS})
    for who in ("E1", "E2"):
        run.read(person(who, "2026-11-30T00:00:00Z"))
    run.read(ev("b2", "hris.dependent.added", "2026-12-07T10:00:00Z", "E2", relationship="child", reason="birth",
                date="2026-12-06"))
    run.read(ev("b1", "hris.dependent.added", ahead, "E1", relationship="child", reason="birth", date="2026-12-06"),
             wall=at("2026-12-07T10:05:00Z"))
    run.advance(at("2028-01-31T00:00:00Z"))
    early = [(wall, m["employee_id"], m["step_id"]) for wall, m in run.produced
             if m["status"] in ("sent", "approved") and at(m["scheduled_for"]) > wall]
    assert early == []
    latest = run.latest()
    assert latest[("E2", "later")]["scheduled_for"] == "2026-12-10T10:00:00Z"
    assert latest[("E1", "hello")]["status"] == "sent"
    assert at(latest[("E1", "hello")]["scheduled_for"]) == at(ahead)
    assert {key: m["status"] for key, m in latest.items()} == {
        ("E1", "hello"): "sent", ("E1", "later"): "sent", ("E2", "hello"): "sent", ("E2", "later"): "sent"}


EXITS = BIRTHS.replace("steps:", "exit_on:\n  - event: hris.employee.terminated\nsteps:")


@pytest.mark.parametrize("tick_first", [False, True])
def test_an_exit_read_after_the_worker_was_down_ends_the_journey_before_the_wait_that_fell_due_after_it(
        write_files: WriteFiles, tick_first: bool) -> None:
    """The worker is down from 12-09 to 12-11; meanwhile the person left (12-09 12:00) and then the journey's wait
    fell due (12-10 10:00). Had the worker been up, the termination would have ended the journey first; so does
    ``simulate``. When the worker is back the termination is read from the backlog: it must come before the wait.
    It came after: the input fired every timer due by the wall clock before it, and a wake-up (the worker ticks a
    partition each second while timers are due) fired them all before the backlog was read, so the message went."""
    run = WallRun(write_files, {"births": EXITS})
    backlog = [True]  # the consumer has not read the partition's input to its end
    run.p.employees.input_topics = ("hris",)
    run.p.employees.drained = lambda topic, partition, seen: not backlog[0]
    run.read(person("E1", "2026-11-30T00:00:00Z"))
    backlog[0] = False
    run.read(ev("b1", "hris.dependent.added", "2026-12-07T10:00:00Z", relationship="child", reason="birth",
                date="2026-12-06"))
    run.now = at("2026-12-11T00:00:00Z")  # back after two days down, the termination still to read
    backlog[0] = True
    if tick_first:
        run._feed(run.p.employees, "ticks", encode_tick(run.now))
        run._feed(run.p.mailboxes, "mticks", encode_tick(run.now))
    run._feed(run.p.employees, "hris", ev("x1", "hris.employee.terminated", "2026-12-09T12:00:00Z",
                                          date="2026-12-09", reason="resigned").model_dump_json().encode())
    backlog[0] = False
    run.advance(at("2026-12-31T00:00:00Z"))
    assert {step for _, step in run.latest()} == {"hello"}


def test_timers_held_for_a_backlog_fire_when_nothing_is_read_for_the_order_wait(write_files: WriteFiles) -> None:
    """A partition whose end the consumer never learns (no fetch answers) must not hold its timers for good: with
    no input read there for ``order_wait_seconds`` of the wall clock, a wake-up fires what is due."""
    run = WallRun(write_files, {"births": BIRTHS})
    run.read(person("E1", "2026-11-30T00:00:00Z"))
    run.read(ev("b1", "hris.dependent.added", "2026-12-07T10:00:00Z", relationship="child", reason="birth",
                date="2026-12-06"))
    run.p.employees.input_topics = ("hris",)
    run.p.employees.drained = lambda topic, partition, seen: False
    run.p.employees.revoke(0)  # a restart: the partition assigned anew, nothing of it read yet
    run.now = at("2026-12-11T00:00:00Z")
    run._feed(run.p.employees, "ticks", encode_tick(run.now))
    assert {step for _, step in run.latest()} == {"hello"}
    run.now = at("2026-12-11T00:01:00Z")
    run._feed(run.p.employees, "ticks", encode_tick(run.now))
    assert {step for _, step in run.latest()} == {"hello", "later"}


def test_a_trickle_of_backdated_inputs_does_not_hold_timers_for_good(write_files: WriteFiles) -> None:
    """A partition whose end the consumer never learns, and an input read every 30 s dated before those already
    decided (late or backdated events): none moves the partition's time on, so none holds its timers longer; the
    wait due on 12-10 goes within ``order_wait_seconds`` (it was held for as long as the trickle went on)."""
    run = WallRun(write_files, {"births": BIRTHS})
    run.read(person("E1", "2026-11-30T00:00:00Z"))
    run.read(ev("b1", "hris.dependent.added", "2026-12-07T10:00:00Z", relationship="child", reason="birth",
                date="2026-12-06"))
    run.p.employees.input_topics = ("hris",)
    run.p.employees.drained = lambda topic, partition, seen: False
    run.now = at("2026-12-10T10:00:01Z")
    for n in range(10):  # an input every 30 s for 5 minutes, each dated in the past
        run.now += timedelta(seconds=30)
        run._feed(run.p.employees, "hris", person(f"X{n}", "2026-12-01T00:00:00Z").model_dump_json().encode())
        run._feed(run.p.employees, "ticks", encode_tick(run.now))
        run._feed(run.p.mailboxes, "mticks", encode_tick(run.now))
    went = [wall for wall, m in run.produced if m["step_id"] == "later" and m["status"] == "sent"]
    assert went and went[0] <= at("2026-12-10T10:01:31Z")


def test_an_erasure_dated_ahead_of_the_wall_clock_fires_no_other_timer_early(write_files: WriteFiles) -> None:
    """An erasure is carried out when it is read, whatever its time; one dated a year ahead fired, before it, every
    timer of the partition due within that year: E1's wait due on 12-10 sent its message on 12-07."""
    run = WallRun(write_files, {"births": BIRTHS})
    for who in ("E1", "E2"):
        run.read(person(who, "2026-11-30T00:00:00Z"))
    run.read(ev("b1", "hris.dependent.added", "2026-12-07T10:00:00Z", relationship="child", reason="birth",
                date="2026-12-06"))
    run.read(ev("x2", "privacy.erasure.requested", "2027-12-07T10:00:00Z", "E2"), wall=at("2026-12-07T11:00:00Z"))
    run.advance(at("2026-12-31T00:00:00Z"))
    early = [(wall, m["step_id"]) for wall, m in run.produced
             if m["status"] == "sent" and at(m["scheduled_for"]) > wall]
    assert early == []
    assert run.latest()[("E1", "later")]["scheduled_for"] == "2026-12-10T10:00:00Z"


def test_an_erasure_dated_ahead_of_the_wall_clock_leaves_the_backlog_hold_as_it_was(write_files: WriteFiles) -> None:
    """As the exit read after the worker was down above, with an erasure of another person dated a year ahead read
    before the downtime: it left the partition read to its future time, so the wake-up after the downtime fired
    the wait due on 12-10 before the termination of 12-09 still to read."""
    run = WallRun(write_files, {"births": EXITS})
    backlog = [False]
    run.p.employees.input_topics = ("hris",)
    run.p.employees.drained = lambda topic, partition, seen: not backlog[0]
    for who in ("E1", "E2"):
        run.read(person(who, "2026-11-30T00:00:00Z"))
    run.read(ev("b1", "hris.dependent.added", "2026-12-07T10:00:00Z", relationship="child", reason="birth",
                date="2026-12-06"))
    run.read(ev("x2", "privacy.erasure.requested", "2027-12-07T10:00:00Z", "E2"), wall=at("2026-12-07T11:00:00Z"))
    run.now = at("2026-12-11T00:00:00Z")  # back after two days down, the termination still to read
    backlog[0] = True
    run._feed(run.p.employees, "ticks", encode_tick(run.now))
    run._feed(run.p.mailboxes, "mticks", encode_tick(run.now))
    run._feed(run.p.employees, "hris", ev("x1", "hris.employee.terminated", "2026-12-09T12:00:00Z",
                                          date="2026-12-09", reason="resigned").model_dump_json().encode())
    backlog[0] = False
    run.advance(at("2026-12-31T00:00:00Z"))
    assert {step for employee, step in run.latest() if employee == "E1"} == {"hello"}
