"""Inputs in time order across their topics on the event clock (``streams.gate``): a review decision read after
the same person's later HRIS events (a backlog: Faust takes each topic's records in turn) is decided at its own
time, as ``simulate`` decides it. The stages run on dicts; ``drained`` stands in for the consumer's high
watermarks (Kafka is an edge here; ``tests/real/test_kafka_order.py`` runs the same on the broker)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

from tests.pipeline.stages import Pipeline
from tests.pipeline.test_runner_rules import ev, person
from tests.support import at
from wayfinder.journeys.decisions import escalation_task_id
from wayfinder.journeys.events import CloudEvent
from wayfinder.streams.app import load_definitions
from wayfinder.streams.clock import StreamClock
from wayfinder.streams.embedded import EmbeddedRunner
from wayfinder.streams.gate import first_waiting
from wayfinder.streams.progress import CatchUp, Reading, read_decided
from wayfinder.streams.settings import WorkerSettings
from wayfinder.streams.stage import Incoming
from wayfinder.streams.wire import encode_tick

UNTIL = at("2026-05-01T00:00:00Z")
TOPICS = ("hris", "engagement", "decisions")


def _history() -> tuple[list[CloudEvent], CloudEvent, str]:
    """A bereavement leave whose condolence waits for review (window 5 days), approved the next day, and an HRIS
    event of the same person ten days later; and the condolence's message id."""
    hris = [person("E1"), person("M1", manager_id=None), person("H1", manager_id=None),
            ev("b1", "hris.leave.started", "2026-04-01T09:00:00Z", leave_type="bereavement",
               start_date="2026-04-01", expected_return_date="2026-04-20"),
            ev("u-later", "hris.employee.upserted", "2026-04-10T09:00:00Z", id="E1", department="Sales")]
    runner = EmbeddedRunner(load_definitions(WorkerSettings()))
    runner.run(hris, UNTIL)
    [condolence] = [m for m in runner.messages.values() if m.step_id == "condolence"]
    decision = ev("d1", "wayfinder.review.decided", "2026-04-02T10:00:00Z", message_id=condolence.message_id,
                  decision="approve", reviewer_id="H1")
    return hris, decision, condolence.message_id


def _simulated(events: list[CloudEvent]) -> tuple[dict[str, str], dict[str, str]]:
    runner = EmbeddedRunner(load_definitions(WorkerSettings()))
    runner.run(events, UNTIL)
    return ({m.message_id: m.status for m in runner.messages.values()},
            {t.task_id: t.status for t in runner.tasks.values()})


def _staged(hris: list[CloudEvent], decision: CloudEvent, *, gated: bool) -> tuple[dict[str, str], dict[str, str]]:
    """Every HRIS event read first, then the decision (the decisions topic behind), then a tick at the end."""
    p = Pipeline()
    read = {"decisions": False}
    if gated:
        p.employees.input_topics = TOPICS
        p.employees.drained = lambda topic, partition, seen: topic != "decisions" or read["decisions"]
    for e in hris:
        p.feed(p.employees, "hris", e.subject.encode(), e.model_dump_json().encode())
        p.drain()
    read["decisions"] = True  # the decision is the last record of its topic
    p.feed(p.employees, "decisions", decision.subject.encode(), decision.model_dump_json().encode())
    p.drain()
    p.tick(UNTIL)
    tasks: dict[str, str] = {}
    for r in p.records:
        if r.topic == "tasks" and r.value is not None:
            t = json.loads(r.value)
            tasks[t["task_id"]] = t["status"]
    return p.out, tasks


def test_a_decision_read_after_the_persons_later_hris_events_is_decided_at_its_own_time_as_simulate_does() -> None:
    hris, decision, condolence = _history()
    messages, tasks = _simulated([*hris, decision])
    assert messages[condolence] in ("approved", "sent")
    assert escalation_task_id(condolence) not in tasks  # approved within the review window: nothing escalated
    assert _staged(hris, decision, gated=True) == (messages, tasks)
    # decided when read, the decision came after the review window's timer had escalated the message
    assert _staged(hris, decision, gated=False) != (messages, tasks)


def test_a_waiting_input_is_decided_once_the_other_topics_are_read_past_its_time_or_to_their_end() -> None:
    p = Pipeline()
    drained = {"decisions": False}
    p.employees.input_topics = TOPICS
    p.employees.drained = lambda topic, partition, seen: topic != "decisions" or drained["decisions"]
    first = person("E1")
    p.feed(p.employees, "hris", b"E1", first.model_dump_json().encode())
    assert len(p.employees.gated) == 1 and p.employees.table.get("s:E1") is None  # waits: decisions not read
    assert not p.employees.ready(0)
    drained["decisions"] = True  # the consumer has read the decisions topic to its end
    assert p.employees.ready(0)  # the worker ticks the partition
    p.feed(p.employees, "ticks", None, encode_tick(None))
    assert len(p.employees.gated) == 0 and p.employees.table.get("s:E1") is not None
    assert not any(k.startswith("g:") for k in p.employees.table.keys())


def test_a_tick_decides_the_waiting_inputs_up_to_its_time_first() -> None:
    p = Pipeline()
    p.employees.input_topics = TOPICS
    p.employees.drained = lambda topic, partition, seen: False  # nothing is ever known to be read
    p.feed(p.employees, "hris", b"E1", person("E1").model_dump_json().encode())
    later = person("E2", time="2026-06-01T00:00:00Z")
    p.feed(p.employees, "hris", b"E2", later.model_dump_json().encode())
    p.feed(p.employees, "ticks", None, encode_tick(datetime.fromisoformat("2026-01-01T00:00:00+00:00")))
    assert p.employees.table.get("s:E1") is not None  # up to the tick's time
    assert p.employees.table.get("s:E2") is None and len(p.employees.gated) == 1
    assert p.employees.clock.now(0) == at("2026-01-01T00:00:00Z")


def test_an_input_waits_for_its_turn_at_most_the_order_wait() -> None:
    """A partition whose high watermark is never known (no fetch answered for it) must not hold the others for good:
    past ``order_wait_seconds`` (wall clock) the first waiting input goes."""
    wall = {"now": at("2026-11-29T10:00:00Z")}
    p = Pipeline(clock=StreamClock("event", lambda: wall["now"]))
    p.employees.input_topics = TOPICS
    p.employees.drained = lambda topic, partition, seen: False
    p.feed(p.employees, "hris", b"E1", person("E1").model_dump_json().encode())
    wall["now"] += timedelta(seconds=59)
    assert not p.employees.ready(0)
    p.feed(p.employees, "ticks", None, encode_tick(None))
    assert p.employees.table.get("s:E1") is None
    wall["now"] += timedelta(seconds=1)
    assert p.employees.ready(0)
    p.feed(p.employees, "ticks", None, encode_tick(None))
    assert p.employees.table.get("s:E1") is not None and len(p.employees.gated) == 0


def _keeping() -> tuple[Pipeline, dict[str, bool]]:
    """A stage that keeps HRIS inputs for their turn until the decisions topic is read to its end."""
    p = Pipeline()
    drained = {"decisions": False}
    p.employees.input_topics = TOPICS
    p.employees.drained = lambda topic, partition, seen: topic != "decisions" or drained["decisions"]
    return p, drained


def test_an_input_kept_for_its_turn_holds_the_groups_progress_back_until_it_is_decided() -> None:
    """A manager's first upsert kept for its turn is committed, but their directory record leaves only once it is
    decided: until then the group has not caught up, or a report's message waiting for that manager ends
    ``no_recipient`` (``streams.progress``; a kill -9 test on Kafka once saw eight such in CI, 2026-12-05)."""
    p, drained = _keeping()
    p.feed(p.employees, "hris", b"M1", person("M1", manager_id=None).model_dump_json().encode())
    kept, hris = p.offset, ("hris", 0)
    assert p.employees.table.get("s:M1") is None  # kept, and its unit committed: the broker says processed

    async def broker() -> Reading:
        return {hris: kept + 1}, {hris: kept + 1}, {0: 0}

    c = CatchUp()
    for wall in (100.0, 102.0):
        ends, done, directory = asyncio.run(read_decided(broker, p.employees.gated))
        assert done == {hris: kept}
        c.observe(wall, ends, done, directory, {0: 0})
    assert c.caught_up == 0.0  # with the committed offset alone: 100.0
    drained["decisions"] = True
    p.feed(p.employees, "ticks", None, encode_tick(None))
    assert p.employees.table.get("s:M1") is not None  # decided
    ends, done, directory = asyncio.run(read_decided(broker, p.employees.gated))
    assert done == {hris: kept + 1}
    assert c.observe(104.0, ends, done, directory, {0: 0}) == 102.0


def test_an_input_kept_or_decided_while_the_broker_answers_holds_that_reading_back() -> None:
    p, drained = _keeping()

    async def kept_meanwhile() -> Reading:
        p.feed(p.employees, "hris", b"M1", person("M1", manager_id=None).model_dump_json().encode())
        return {("hris", 0): p.offset + 1}, {("hris", 0): p.offset + 1}, {0: 0}

    _, done, _ = asyncio.run(read_decided(kept_meanwhile, p.employees.gated))
    assert done == {("hris", 0): p.offset}
    assert p.employees.gated.watched() == []  # noted for that reading only

    async def decided_meanwhile() -> Reading:
        drained["decisions"] = True
        p.feed(p.employees, "ticks", None, encode_tick(None))
        return {("hris", 0): 2}, {("hris", 0): 2}, {0: 0}

    _, done, _ = asyncio.run(read_decided(decided_meanwhile, p.employees.gated))
    assert p.employees.table.get("s:M1") is not None and len(p.employees.gated) == 0
    assert done == {("hris", 0): 1}  # its directory record may have left after the directory's ends were read


def test_a_partition_not_loaded_yet_counts_as_processed_to_nothing() -> None:
    """After a restart a partition's kept inputs are known only once it is loaded (its first input or wake-up);
    until then its committed offset says nothing of them."""
    p, _ = _keeping()

    async def broker() -> Reading:
        return {("hris", 0): 5, ("hris", 1): 7}, {("hris", 0): 5, ("hris", 1): 7}, {0: 0, 1: 0}

    def unloaded() -> set[int]:
        return {q for q in (0, 1) if p.employees.needs_loading(q)}

    p.feed(p.employees, "hris", b"M1", person("M1", manager_id=None).model_dump_json().encode())  # loads 0, kept
    _, done, _ = asyncio.run(read_decided(broker, p.employees.gated, unloaded))
    assert done == {("hris", 0): 1, ("hris", 1): 0}
    assert unloaded() == {1}


def test_an_input_decided_counts_as_kept_until_its_records_are_with_the_producer() -> None:
    """Decided, a kept input's directory record is sent only after its unit returns (the worker awaits the sends):
    a reading or a commit meanwhile still names it (``Waiting.held``), so no one reads the directory's ends before
    that record is on its way."""
    p, drained = _keeping()
    p.feed(p.employees, "hris", b"M1", person("M1", manager_id=None).model_dump_json().encode())
    kept = p.offset
    drained["decisions"] = True
    stage = p.employees
    records = stage.process(Incoming("ticks", 0, p.offset + 1, None, encode_tick(None), None), stage.handle)
    assert stage.table.get("s:M1") is not None and len(stage.gated) == 0  # decided; its records not sent yet
    assert any(r.topic == "directory" for r in records)

    async def broker() -> Reading:
        return {("hris", 0): kept + 1}, {("hris", 0): kept + 1}, {0: 0}

    _, done, _ = asyncio.run(read_decided(broker, stage.gated))
    assert done == {("hris", 0): kept}
    assert first_waiting(stage.gated.held()) == {("hris", 0): kept}
    stage.sent()  # the worker handed them to its producer
    _, done, _ = asyncio.run(read_decided(broker, stage.gated))
    assert done == {("hris", 0): kept + 1} and stage.gated.held() == []
