"""The worker's own metrics of timers, state size and stream time, measured on the stages (issue 13)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from tests.pipeline.stages import Pipeline, bundled_through_stages
from tests.support import DictTable
from wayfinder import examples_dir
from wayfinder.journeys.effects import MailboxTimer, Schedule
from wayfinder.journeys.records import Message
from wayfinder.journeys.state import EmployeeState
from wayfinder.streams import metrics as stream_metrics
from wayfinder.streams.clock import StreamClock
from wayfinder.streams.metrics import PendingReviews, ScanPace, StreamMetrics, measure_state
from wayfinder.streams.stage import Incoming, Stage
from wayfinder.streams.unit import Work

DUE = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


def _stage(clock: StreamClock) -> tuple[Stage, CollectorRegistry]:
    registry = CollectorRegistry()
    stage = Stage(DictTable(), clock, StreamMetrics(registry), lambda topic, partition: None)
    stage.name = "mailboxes"
    stage.ensure_loaded(0)
    for n, minutes in enumerate((0, 30)):
        work = Work()
        stage.schedule(work, 0, Schedule(DUE + timedelta(minutes=minutes), MailboxTimer("r-1", f"m-{n}")))
        for key, value in work.writes.items():
            stage.table.set(key, value)
    return stage, registry


def _lateness(registry: CollectorRegistry, le: str) -> float:
    value = registry.get_sample_value("wayfinder_timer_lateness_seconds_bucket", {"stage": "mailboxes", "le": le})
    assert value is not None
    return value


def test_on_the_event_clock_lateness_is_the_partition_time_at_firing_minus_due() -> None:
    stage, registry = _stage(StreamClock("event"))
    fired = list(stage.due_timers(Work(), 0, DUE + timedelta(hours=1)))
    assert [t.message_id for t, _, _ in fired] == ["m-0", "m-1"]
    assert registry.get_sample_value("wayfinder_timers_fired_total", {"stage": "mailboxes"}) == 2
    assert registry.get_sample_value("wayfinder_timer_lateness_seconds_sum", {"stage": "mailboxes"}) == 3600 + 1800
    assert _lateness(registry, "900.0") == 0 and _lateness(registry, "3600.0") == 2


def test_on_the_wall_clock_lateness_is_the_wall_time_at_firing_minus_due() -> None:
    wall = DUE + timedelta(seconds=90)
    stage, registry = _stage(StreamClock("wall", lambda: wall))
    fired = list(stage.due_timers(Work(), 0, wall))
    assert len(fired) == 1  # the second is due in 30 minutes
    assert registry.get_sample_value("wayfinder_timer_lateness_seconds_sum", {"stage": "mailboxes"}) == 90
    assert _lateness(registry, "60.0") == 0 and _lateness(registry, "300.0") == 1


def test_timers_the_bundled_journeys_set_are_counted_as_they_fire() -> None:
    p = bundled_through_stages()
    registry = p.employees.metrics.registry
    for stage in ("employees", "mailboxes"):
        fired = registry.get_sample_value("wayfinder_timers_fired_total", {"stage": stage})
        assert fired is not None and fired > 0, stage
        assert registry.get_sample_value("wayfinder_timer_lateness_seconds_count", {"stage": stage}) == fired


def test_state_size_sums_keys_and_values_and_finds_the_largest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_metrics, "STATE_CHUNK", 3)  # several chunks, with yields between them
    table = DictTable({f"s:{n}": b"x" * n for n in range(10)})
    table["s:é"] = b"abc"  # keys count in UTF-8 bytes
    total, largest = asyncio.run(measure_state(table.keys, table.get))
    assert total == sum(len(f"s:{n}") + n for n in range(10)) + 4 + 3
    assert largest == 3 + 9
    assert asyncio.run(measure_state(DictTable().keys, DictTable().get)) == (0, 0)


def test_an_entry_deleted_during_the_measurement_counts_nothing() -> None:
    table = DictTable({"a": b"1234", "b": b"56"})

    def get(key: str) -> bytes | None:
        table.pop("b", None)  # an agent deletes it while the measurement yields
        return table.get(key)

    assert asyncio.run(measure_state(table.keys, get)) == (5, 5)


def test_pending_reviews_are_counted_from_the_employee_states() -> None:
    table = DictTable()
    p = Pipeline(table)
    p.feed(p.employees, "hris", None, (examples_dir() / "events.jsonl").read_bytes().splitlines()[0])
    held = [(k, EmployeeState.model_validate_json(v)) for k, v in table.items() if k.startswith("s:")]
    assert held, "the first bundled event makes a state"
    key, state = held[0]
    when = [datetime(2026, 3, 1, 9, tzinfo=UTC), datetime(2026, 2, 27, 17, tzinfo=UTC)]
    for n, created in enumerate(when):
        message = Message(message_id=f"m-{n}", employee_id=state.employee_id, recipient_id=state.employee_id,
                          journey_id="j", journey_version=1, step_id="s", channel="email", status="pending_approval",
                          scheduled_for=created, created_at=created)
        state.awaiting_approval[message.message_id] = message
    table[key] = state.model_dump_json().encode("utf-8")
    table["s:other"] = EmployeeState(employee_id="other", profile=state.profile).model_dump_json().encode("utf-8")
    reviews = PendingReviews()
    asyncio.run(measure_state(table.keys, table.get, reviews.see))
    assert reviews.count == 2 and reviews.oldest == when[1]
    assert reviews.age(datetime(2026, 3, 1, 17, tzinfo=UTC)) == 2 * 86400
    assert PendingReviews().age(when[0]) == 0


def test_the_tables_are_measured_less_often_as_a_scan_takes_longer() -> None:
    pace = ScanPace(share=0.01)
    assert pace.due(0.0)
    pace.busy = 0.36  # 200,000 entries of 2 KB on the memory store
    pace.done(100.0)
    assert not pace.due(135.9)
    assert pace.due(136.0)  # a scan takes at most 1% of the worker's time
    assert pace.busy == 0.0


def test_a_scan_counts_its_own_time_not_the_agents_between_its_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_metrics, "STATE_CHUNK", 10)
    table = DictTable({f"s:{n}": b"x" for n in range(50)})

    def get(key: str) -> bytes | None:
        time.sleep(0.001)  # the scan's own work: 50 ms in all
        return table.get(key)

    async def both() -> float:
        pace = ScanPace()
        finished = asyncio.Event()

        async def agent() -> None:  # blocks the loop for 50 ms each time the scan yields
            while not finished.is_set():
                time.sleep(0.05)
                await asyncio.sleep(0)

        busy = asyncio.create_task(agent())
        started = time.perf_counter()
        await measure_state(table.keys, get, pace=pace)
        elapsed = time.perf_counter() - started
        finished.set()
        await busy
        assert elapsed >= 0.05 + 4 * 0.05  # the agent ran at each of the four yields
        return pace.busy

    busy = asyncio.run(both())
    assert 0.05 <= busy < 0.15


def test_a_stale_event_is_counted_once_with_its_type() -> None:
    """A trigger event older than max_event_age (SPEC §4: counted as stale) is one event consumed, not two."""
    p = Pipeline()
    birth = {"specversion": "1.0", "id": "b-old", "source": "hris/test", "type": "hris.dependent.added",
             "time": "2026-01-05T09:00:00Z", "subject": "E1",
             "data": {"relationship": "child", "reason": "birth", "date": "2026-01-04"}}
    upsert = {**birth, "id": "u-1", "type": "hris.employee.upserted", "time": "2026-03-01T09:00:00Z",
              "data": {"id": "E1", "employment_type": "employee"}}
    p.feed(p.employees, "hris", None, json.dumps(upsert).encode())  # E1's clock: eight weeks after the birth
    p.feed(p.employees, "hris", None, json.dumps(birth).encode())
    registry = p.employees.metrics.registry
    samples = {(s.labels["type"], s.labels["outcome"]): s.value
               for metric in registry.collect() if metric.name == "wayfinder_events_consumed"
               for s in metric.samples if s.name.endswith("_total") and s.value}
    assert samples == {("hris.employee.upserted", "processed"): 1.0, ("hris.dependent.added", "stale"): 1.0}


def test_entries_exits_and_completions_are_counted_apart_as_well() -> None:
    p = bundled_through_stages()
    registry = p.employees.metrics.registry

    def by_journey(name: str, **labels: str) -> dict[str, float]:
        return {s.labels["journey"]: s.value for metric in registry.collect() for s in metric.samples
                if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()) and s.value}

    for alone, kind in (("wayfinder_journey_entries_total", "enrolled"), ("wayfinder_journey_exits_total", "exited"),
                        ("wayfinder_journey_completions_total", "completed")):
        assert by_journey(alone) == by_journey("wayfinder_journey_enrollments_total", kind=kind)
    assert by_journey("wayfinder_journey_exits_total") and by_journey("wayfinder_journey_completions_total")


def test_a_template_that_fails_to_render_has_its_dead_letter_reason_at_0_from_the_start() -> None:
    """A message whose template does not render is dead-lettered as ``render_error`` (SPEC §6). That reason was not
    among the ones created at 0, so its series appeared with the first burst already counted: after a roll-forward
    to a broken template, ``increase()`` and WayfinderDeadLettersRising missed what the first scrape held."""
    samples = {s.labels["reason"]: s.value for metric in StreamMetrics(CollectorRegistry()).registry.collect()
               if metric.name == "wayfinder_dead_letters" for s in metric.samples if s.name.endswith("_total")}
    assert samples["render_error"] == 0.0
    assert set(samples) == set(stream_metrics.DEAD_LETTER_REASONS)


def test_event_to_decision_is_observed_for_events_that_decided_something_only() -> None:
    """``wayfinder_event_to_decision_seconds`` measures "from an event's arrival on Kafka to the decisions it
    caused" (SPEC §10), once per such event. A profile update or a preference change decides nothing, though it
    writes the person's contact details to the directory topic: it was observed all the same (an audit on
    2026-12-06 saw 28 observations for the 15 events of a run that decided something, 305 for the bundled events)."""
    p = Pipeline()
    arrived = 1_767_225_600.0  # the Kafka timestamp of each input

    def feed(n: int, event_type: str, time: str, subject: str, data: dict[str, object]) -> None:
        event = {"specversion": "1.0", "id": f"d-{n}", "source": "hris/test", "type": event_type, "time": time,
                 "subject": subject, "data": data}
        p.employees.process(Incoming("hris", 0, n, subject.encode(), json.dumps(event).encode(), arrived),
                            p.employees.handle)
        p.employees.sent()

    for n, who in enumerate(("E1", "H1", "M1"), 1):
        feed(n, "hris.employee.upserted", "2026-03-01T09:00:00Z", who,
             {"id": who, "email": f"{who.lower()}@example.com", "timezone": "Europe/Berlin", "country": "DE",
              "employment_type": "employee", "manager_id": "M1", "hr_partner_id": "H1"})
    feed(4, "wayfinder.preferences.changed", "2026-03-01T10:00:00Z", "E1", {"quiet_hours": "21:00-07:00"})
    registry = p.employees.metrics.registry
    assert registry.get_sample_value("wayfinder_event_to_decision_seconds_count") == 0
    feed(5, "hris.leave.started", "2026-03-02T10:00:00Z", "E1",  # two tasks and a message held for review
         {"leave_type": "bereavement", "start_date": "2026-03-02", "expected_return_date": "2026-03-09"})
    assert registry.get_sample_value("wayfinder_event_to_decision_seconds_count") == 1
