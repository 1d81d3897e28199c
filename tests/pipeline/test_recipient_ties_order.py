"""Issue 12: messages to one recipient decided at the same instant on different partitions go through the recipient's
mailbox in the order ``simulate`` decides them, the order their timers were set in (README "Kafka order", "Messages
to one recipient decided at the same instant")."""

from __future__ import annotations

import json
from typing import Any

from tests.pipeline.stages import Pipeline
from tests.pipeline.test_runner_rules import ev, person, runner_for
from tests.support import WriteFiles, at, bundled_defs
from tests.unit.test_ordering_ranks import RankedRunner
from wayfinder.journeys.events import CloudEvent
from wayfinder.streams.routing import partition_of
from wayfinder.streams.wire import encode_tick
from wayfinder.vocabulary import Topic, input_topic

UNTIL = at("2026-09-01T00:00:00Z")

# Two timers deep: the first-day note and the nudge 40 days later fall due for every hire at one instant.
HELLO_MANAGER = """id: hello-manager
trigger: {event: hris.employee.hired}
steps:
  - id: first-day
    wait: {until: trigger.data.start_date, at: "09:00"}
  - id: note
    send: {channel: email, to: manager, subject: "A new hire starts today", body: "Say hello."}
  - id: later
    wait: {for: 40d}
  - id: nudge
    send: {channel: email, to: manager, subject: "A review is due", body: "Have a look."}
"""
TELL_MANAGER = """id: tell-manager
trigger: {event: hris.leave.started}
steps:
  - id: leave-note
    send: {channel: email, to: manager, subject: "A leave in your team", body: "Someone is on leave."}
"""
ONE_A_DAY = "frequency_cap: {max: 1, per: 1d}\n"


def _story() -> list[CloudEvent]:
    """M1 (partition 1) hears of four hires, each hired at another minute, all starting on Monday 1 June: E2 and E3
    on partition 1, E1 and E4 on partition 0, hired in the order E2, E1, E3, E4. E6 (partition 0) goes on leave at
    the very instant the first-day notes fall due: an input, so after them."""
    hires = [("E2", "09:01"), ("E1", "09:02"), ("E3", "09:03"), ("E4", "09:04")]
    return [person("M1", manager_id=None), person("H1", manager_id=None), person("E6"),
            *(person(e) for e, _ in hires),
            ev("l6", "hris.leave.started", "2026-06-01T07:00:00Z", "E6", leave_type="other",
               start_date="2026-06-01", expected_return_date="2026-06-20"),
            *(ev(f"h-{e}", "hris.employee.hired", f"2026-05-04T{minute}:00Z", e, start_date="2026-06-01",
                 role="Engineer", department="Engineering", location="Berlin", manager_id="M1")
              for e, minute in hires)]


def _when(m: dict[str, Any]) -> tuple[Any, ...]:
    return m["employee_id"], m["step_id"], m["status"], m["reason"], m["scheduled_for"]


def _staged(p: Pipeline, events: list[CloudEvent], *, untick: frozenset[str] = frozenset()
            ) -> dict[str, tuple[Any, ...]]:
    """``events`` through the stages on two employee partitions in time order, each after a tick of both partitions
    at its time (but events of the types in ``untick``: read before the next tick, as in a file published at once);
    then ticks of both at the end."""
    p.employees.partitions = p.mailboxes.sources = 2
    for e in sorted(events, key=lambda e: e.time):
        for partition in range(0 if e.type in untick else 2):
            p.feed(p.employees, "ticks", None, encode_tick(e.time), partition=partition)
        p.feed(p.employees, input_topic(e.type).value, e.subject.encode(), e.model_dump_json().encode(),
               partition=partition_of(e.subject.encode(), 2))
        p.drain()
    p.tick_partitions(UNTIL, 2)
    return {mid: _when(m) for mid, m in p.messages().items()}


def test_a_capped_managers_notes_due_at_one_instant_go_in_the_order_their_hires_came_as_in_simulate(
        write_files: WriteFiles) -> None:
    """The audit of issue 12 in small: the notes (and the nudges 40 days on) fall due at one instant on two
    partitions; the cap of one a day gives each a day in the order of the hires, as ``simulate`` does. Before, the
    mailbox took ties by partition: E6's note and E1's and E4's (partition 0) had the first days."""
    runner = runner_for(write_files, {"hello-manager": HELLO_MANAGER, "tell-manager": TELL_MANAGER}, ONE_A_DAY)
    events = _story()
    assert [partition_of(e.encode(), 2) for e in ("M1", "E2", "E1", "E3", "E4", "E6")] == [1, 1, 0, 1, 0, 0]
    runner.run(sorted(events, key=lambda e: e.time), UNTIL)
    simulated = {mid: _when(json.loads(m.model_dump_json())) for mid, m in runner.messages.items()}
    days = sorted((w[4], w[0], w[1]) for w in simulated.values())
    assert [(e, step) for _, e, step in days] == [
        ("E2", "note"), ("E1", "note"), ("E3", "note"), ("E4", "note"), ("E6", "leave-note"),
        ("E2", "nudge"), ("E1", "nudge"), ("E3", "nudge"), ("E4", "nudge")]
    ranked = RankedRunner(runner.engine.defs)  # simulate decides them in the order of their ranks
    ranked.run(sorted(events, key=lambda e: e.time), UNTIL)
    assert ranked.inputs == sorted(ranked.inputs) and len(ranked.inputs) == 16 and ranked.messages == runner.messages
    p = Pipeline(committed=lambda topic, partition: 1 << 62, defs=runner.engine.defs)
    p.employees.input_topics = tuple(t.value for t in (Topic.HRIS_EVENTS, Topic.ENGAGEMENT_EVENTS, Topic.DECISIONS))
    assert _staged(p, events) == simulated


def test_the_audits_forty_remote_hires_of_one_manager_get_the_weeks_simulate_gives_them() -> None:
    """The audit of issue 12 with the bundled journeys and policy (a cap of 3 in 7 days): 40 remote hires of M1, each
    hired at another minute, all starting on Monday 1 June, ten per time zone; their ``review-nudge``s fall due ten
    at a time. Before, 32 of the 240 messages (nudges) had other times or statuses than in ``simulate``."""
    zones = [("Europe/London", "GB"), ("Europe/Berlin", "DE"), ("America/New_York", "US"), ("Asia/Tokyo", "JP")]
    events = [person("M1", manager_id=None), person("H1", manager_id=None)]
    for n in range(40):
        hire, (zone, country) = f"N{n:03d}", zones[n // 10]
        events += [person(hire, timezone=zone, country=country, work_mode="remote"),
                   ev(f"h-{hire}", "hris.employee.hired", f"2026-05-04T09:{n:02d}:00Z", hire, start_date="2026-06-01",
                      role="Engineer", department="Engineering", location="Remote", manager_id="M1")]
    defs = bundled_defs()
    runner = RankedRunner(defs)
    runner.run(sorted(events, key=lambda e: e.time), UNTIL)
    assert runner.inputs == sorted(runner.inputs)
    simulated = {mid: _when(json.loads(m.model_dump_json())) for mid, m in runner.messages.items()}
    assert len(simulated) == 240 and sum(w[1] == "review-nudge" and w[2] == "deferred" for w in simulated.values()) > 20
    p = Pipeline(committed=lambda topic, partition: 1 << 62, defs=defs)
    p.employees.input_topics = tuple(t.value for t in (Topic.HRIS_EVENTS, Topic.ENGAGEMENT_EVENTS, Topic.DECISIONS))
    assert _staged(p, events) == simulated


def test_a_managers_daily_digest_lists_the_notes_of_one_instant_in_simulates_order(write_files: WriteFiles) -> None:
    """The story above with the manager's messages gathered into a daily digest: the items of each digest are in the
    order ``simulate`` gathered them. Before, the digest box's inputs had no rank (nor origin) and were taken in the
    order they reached its partition."""
    policy = ONE_A_DAY + 'digests:\n  manager: {every: daily, at: "09:00"}\n'
    runner = runner_for(write_files, {"hello-manager": HELLO_MANAGER, "tell-manager": TELL_MANAGER}, policy)
    events = _story()
    runner.run(sorted(events, key=lambda e: e.time), UNTIL)
    simulated = {mid: (*_when(json.loads(m.model_dump_json())), m.text) for mid, m in runner.messages.items()}
    digests = [w for w in simulated.values() if w[1] == "daily"]
    assert len(digests) == 2 and all(w[5].count("A new hire starts today") + w[5].count("A review is due") == 4
                                     for w in digests[:2])
    p = Pipeline(committed=lambda topic, partition: 1 << 62, defs=runner.engine.defs)
    p.employees.input_topics = tuple(t.value for t in (Topic.HRIS_EVENTS, Topic.ENGAGEMENT_EVENTS, Topic.DECISIONS))
    _staged(p, events)
    staged = {m["message_id"]: (*_when(m), m["text"]) for r in p.records
              if r.topic == Topic.OUTBOUND_MESSAGES and r.value is not None for m in [json.loads(r.value)]}
    assert staged == simulated


def test_timers_set_by_hires_of_one_instant_on_one_partition_go_in_the_order_of_the_hires_as_in_simulate(
        write_files: WriteFiles) -> None:
    """README "Kafka order", the second reading's example: E4 and E1 (one partition) are hired at the same instant,
    in that file order, both starting on Monday 1 June; their first-day notes to M1 fall due together, and the cap of
    one a day gives the first day to the note of the hire that came first, E4's, in ``simulate``. On the worker E1's
    leave, read before the next tick, fires E1's timer first. Before, both timers had one rank and went by the input
    that woke them (E1's leave, then the tick): E1's note had the first day."""
    runner = runner_for(write_files, {"hello-manager": HELLO_MANAGER}, ONE_A_DAY)
    events = [person("M1", manager_id=None), person("H1", manager_id=None), person("E4"), person("E1"),
              *(ev(f"h-{e}", "hris.employee.hired", "2026-05-04T08:00:00Z", e, start_date="2026-06-01",
                   role="Engineer", department="Engineering", location="Berlin", manager_id="M1")
                for e in ("E4", "E1")),
              ev("l1", "hris.leave.started", "2026-06-01T10:00:00Z", "E1", leave_type="other",
                 start_date="2026-06-01", expected_return_date="2026-06-20")]
    assert [partition_of(e.encode(), 2) for e in ("E4", "E1", "M1")] == [0, 0, 1]
    runner.run(events, UNTIL)
    simulated = {mid: _when(json.loads(m.model_dump_json())) for mid, m in runner.messages.items()}
    assert sorted((w[4], w[0]) for w in simulated.values() if w[1] == "note")[0][1] == "E4"
    p = Pipeline(committed=lambda topic, partition: 1 << 62, defs=runner.engine.defs)
    p.employees.input_topics = tuple(t.value for t in (Topic.HRIS_EVENTS, Topic.ENGAGEMENT_EVENTS, Topic.DECISIONS))
    # the file published at once: no tick between the hires and the leave
    assert _staged(p, events, untick=frozenset({"hris.leave.started"})) == simulated
