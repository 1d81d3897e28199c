"""A wake-up whose unit Kafka would refuse (issue 10: a hiring burst's first days, all due at 09:00): its timers fire
over several wake-ups, as ``simulate`` decides them, and a timer that no unit can fire is a dead letter once, not
on every tick after."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tests.pipeline.stages import DictTable, Pipeline, events_through_stages
from tests.support import at, bundled_defs
from wayfinder.journeys.effects import Diagnostic, Effect, Lifecycle, part
from wayfinder.journeys.events import CloudEvent, decode_event
from wayfinder.streams.clock import StreamClock
from wayfinder.streams.embedded import EmbeddedRunner
from wayfinder.streams.interpreter import carry_out
from wayfinder.streams.ordering import encode_watermark
from wayfinder.streams.stage import Incoming, StagePort
from wayfinder.streams.unit import PART_PREFIX, Work
from wayfinder.streams.wire import encode_tick

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
UNTIL = at("2026-03-20T00:00:00Z")
HIRES = 24


def _event(eid: str, etype: str, when: datetime, subject: str, **data: object) -> CloudEvent:
    return decode_event(json.dumps({"specversion": "1.0", "id": eid, "source": "test/burst", "type": etype,
                                    "time": when.isoformat(), "subject": subject, "data": data}))


def _burst(start: datetime = START, hires: int = HIRES) -> list[CloudEvent]:
    """A manager and ``hires`` hires who all start on the same Monday: their first-day roadmaps are due together
    (and, hired on a weekend, their welcomes wait for Monday 08:00 together: the bundled quiet hours)."""
    events = [_event("p-M1", "hris.employee.upserted", start, "M1", id="M1", given_name="M", email="m1@example.com",
                     country="DE", timezone="Europe/Berlin", employment_type="employee")]
    for n in range(hires):
        pid, when = f"H{n:03d}", start + timedelta(minutes=n + 1)
        events += [_event(f"p-{pid}", "hris.employee.upserted", when, pid, id=pid, given_name=f"G{n}",
                          email=f"{pid.lower()}@example.com", country="DE", timezone="Europe/Berlin",
                          employment_type="employee", work_mode="remote", manager_id="M1"),
                   _event(f"h-{pid}", "hris.employee.hired", when, pid, start_date="2026-03-16", role="Engineer",
                          department="Engineering", location="Berlin", manager_id="M1")]
    # Something on Monday morning, so that a tick comes then: what waited for it goes in one wake-up.
    events.append(_event("p-M1-again", "hris.employee.upserted", datetime(2026, 3, 2, 10, 0, tzinfo=UTC), "M1",
                         id="M1", given_name="M", email="m1@example.com"))
    return events


def _letters(p: Pipeline) -> list[dict[str, object]]:
    return [json.loads(r.value) for r in p.records if r.topic == "dead-letters" and r.value is not None]


@pytest.mark.parametrize(("start", "hires", "stages"), [
    (START, 60, {"employees"}),
    # Hired on a Saturday: 60 welcomes (and the manager's heads-ups) go in Monday's first wake-up of the mailboxes.
    (datetime(2026, 2, 28, 10, 0, tzinfo=UTC), 60, {"employees", "mailboxes"})])
def test_a_wake_up_too_large_for_kafka_fires_its_timers_over_several_as_simulate_decides(
        caplog: pytest.LogCaptureFixture, start: datetime, hires: int, stages: set[str]) -> None:
    defs = bundled_defs()
    runner = EmbeddedRunner(defs)
    runner.run(_burst(start, hires), UNTIL)
    with caplog.at_level(logging.WARNING, "wayfinder.streams.stage"):
        # One first-day roadmap and its state fit in 12,000 bytes; 60 of them in one wake-up (compressed) do not.
        p, latest = events_through_stages(defs, _burst(start, hires), UNTIL, max_record_bytes=12_000)
    assert _letters(p) == []
    assert latest == {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}
    assert sum(m["step_id"] == "first-day-roadmap" for m in latest.values()) == hires
    lowered = {r.getMessage().split(":")[0] for r in caplog.records if "per wake-up" in r.getMessage()}
    assert lowered == stages  # the cap came into play in those stages
    assert p.employees._fire_cap is None and p.mailboxes._fire_cap is None  # and went once the timers were done
    # A unit tried again smaller counts nothing: each decision sent is counted once.
    sent = Counter((m["channel"], m["status"]) for m in (json.loads(r.value) for r in p.records
                                                         if r.topic == "outbound.messages" and r.value is not None))
    (family,) = p.employees.metrics.decisions.collect()
    counted = {(s.labels["channel"], s.labels["status"]): s.value for s in family.samples if s.name.endswith("_total")}
    assert counted == sent


def test_a_timer_no_unit_can_fire_is_one_dead_letter_and_the_ticks_go_on() -> None:
    p = Pipeline(defs=bundled_defs(), committed=lambda topic, partition: 1 << 62)
    for event in _burst():
        p.feed(p.employees, "hris", None, event.model_dump_json().encode())
        p.drain()
    due = at("2026-03-16T12:00:00Z")  # the roadmaps (09:00 local) and nothing later
    timers = {k for k in p.employees.table.keys() if k.startswith("t:")}
    p.employees.max_record_bytes = 2_000  # no roadmap fits; a dead letter and a timer's deletion do
    for _ in range(3 * HIRES):
        p.feed(p.employees, "ticks", None, encode_tick(due))
    letters = _letters(p)
    dropped = {r.key for r in p.records if r.topic == "dead-letters"}  # keyed by the dropped timer
    assert len(letters) == len(dropped) == HIRES  # one per timer, each once
    assert dropped <= timers
    assert all(str(letter["reason"]).startswith(("record_too_large:", "entry_too_large:", "state_too_large:"))
               and str(letter["reason"]).endswith("(firing this timer; it is dropped)") for letter in letters)
    left = {k for k in p.employees.table.keys() if k.startswith("t:")}
    assert len(timers - left) == HIRES
    assert all(decode_due(p, k) > due for k in left)  # only the timers due later stay
    before = len(p.records)
    p.feed(p.employees, "ticks", None, encode_tick(due))
    assert [r for r in p.records[before:] if r.topic == "dead-letters"] == []


def decode_due(p: Pipeline, key: str) -> datetime:
    from wayfinder.streams.wire import decode_timer

    raw = p.employees.table.get(key)
    assert raw is not None
    return decode_timer(raw)[1]


def test_an_input_that_wakes_a_timer_no_unit_can_fire_is_itself_the_dead_letter_and_the_timer_stays() -> None:
    """Only a tick drops such a timer: an input that fired it on the way (here the mailboxes' watermark, which
    releases what waited and fires what is due) is refused as itself, so nothing it carried is lost unsaid."""
    p = Pipeline(defs=bundled_defs(), committed=lambda topic, partition: 1 << 62)
    for event in _burst(datetime(2026, 2, 28, 10, 0, tzinfo=UTC)):  # hired on a Saturday: welcomes wait for Monday
        p.feed(p.employees, "hris", None, event.model_dump_json().encode())
        p.drain()
    p.tick(at("2026-03-01T12:00:00Z"))  # the mailboxes hold the welcomes, due Monday 07:00 UTC
    timers = {k for k in p.mailboxes.table.keys() if k.startswith("t:")}
    assert len(timers) >= HIRES
    p.mailboxes.max_record_bytes = 2_000  # no welcome can be sent
    p.feed(p.mailboxes, "mailbox", None, encode_watermark(0, at("2026-03-02T10:00:00Z")))
    last = json.loads(p.records[-1].value or b"{}")
    assert p.records[-1].topic == "dead-letters" and last["source"] == "mailbox"
    assert "firing this timer" not in last["reason"]
    assert {k for k in p.mailboxes.table.keys() if k.startswith("t:")} == timers  # no timer dropped in its place


def test_an_input_on_the_wall_clock_after_a_burst_fires_its_own_timers_and_the_ticks_the_rest() -> None:
    """With the wall clock an input fires every timer due before it, not only its own. When that is more than
    Kafka takes (a burst of roadmaps due just before the input), the input is kept, firing only its own timers,
    and the ticks fire the others in parts: nothing is a dead letter, every roadmap goes."""
    wall = [START]
    p = Pipeline(defs=bundled_defs(), committed=lambda topic, partition: 1 << 62,
                 clock=StreamClock("wall", wall=lambda: wall[0]))
    events = _burst(hires=60)
    for event in events[:-1]:
        wall[0] = event.time
        p.feed(p.employees, "hris", None, event.model_dump_json().encode())
        p.drain()
    due = {k for k in p.employees.table.keys() if k.startswith("t:")}
    p.employees.max_record_bytes = p.mailboxes.max_record_bytes = 12_000
    wall[0] = at("2026-03-16T12:00:00Z")  # the roadmaps are due (09:00 local) and have not fired
    m1 = events[-1].model_copy(update={"time": wall[0]})
    p.feed(p.employees, "hris", None, m1.model_dump_json().encode())
    assert _letters(p) == []  # the input was kept: it fired its own timers (none), not the burst
    assert p.employees.table.get("s:M1") is not None
    assert p.employees._fire_cap is not None  # the burst waits for the wake-ups
    assert {k for k in p.employees.table.keys() if k.startswith("t:")} >= due - _owned(p, "M1")
    p.drain()
    p.tick(wall[0])
    assert _letters(p) == []
    assert p.employees._fire_cap is None
    roadmaps = {json.loads(r.value)["employee_id"] for r in p.records if r.topic == "outbound.messages"
                and r.value is not None and json.loads(r.value)["step_id"] == "first-day-roadmap"}
    assert roadmaps == {f"H{n:03d}" for n in range(60)}


def _owned(p: Pipeline, owner: str) -> set[str]:
    return set(p.employees.timers.owned(owner))


def test_a_mailbox_input_on_the_wall_clock_after_a_burst_is_kept_and_the_ticks_send_the_rest() -> None:
    """The same in the mailboxes: hires on a Saturday, their welcomes held for Monday 08:00 (quiet hours); on
    Monday a message for the manager comes before any tick: it fires its own mailbox's timers, the ticks the
    welcomes."""
    saturday = datetime(2026, 2, 28, 10, 0, tzinfo=UTC)
    wall = [saturday]
    p = Pipeline(defs=bundled_defs(), committed=lambda topic, partition: 1 << 62,
                 clock=StreamClock("wall", wall=lambda: wall[0]))
    events = _burst(saturday, 60)
    for event in events[:-1]:
        wall[0] = event.time
        p.feed(p.employees, "hris", None, event.model_dump_json().encode())
        p.drain()
    held = {k for k in p.mailboxes.table.keys() if k.startswith("t:")}
    assert len(held) >= 60
    p.employees.max_record_bytes = p.mailboxes.max_record_bytes = 12_000
    wall[0] = at("2026-03-02T10:00:00Z")
    late = [_event("p-N1", "hris.employee.upserted", wall[0], "N1", id="N1", given_name="N", email="n1@example.com",
                   country="DE", timezone="Europe/Berlin", employment_type="employee", manager_id="M1"),
            _event("h-N1", "hris.employee.hired", wall[0], "N1", start_date="2026-03-30", role="Engineer",
                   department="Engineering", location="Berlin", manager_id="M1")]
    for event in late:
        p.feed(p.employees, "hris", None, event.model_dump_json().encode())
    p.drain()  # the mailbox inputs this hire makes come before any tick of the mailboxes
    assert _letters(p) == []
    assert p.mailboxes._fire_cap is not None
    p.tick(wall[0])
    assert _letters(p) == []
    assert p.mailboxes._fire_cap is None
    welcomes = {json.loads(r.value)["employee_id"] for r in p.records if r.topic == "outbound.messages"
                and r.value is not None and json.loads(r.value)["status"] == "sent"
                and json.loads(r.value)["step_id"] == "welcome"}
    assert welcomes == {f"H{n:03d}" for n in range(60)} | {"N1"}


class _Recording(DictTable):
    """A dict table that keeps the largest number of entry parts it held at once."""

    most_parts = 0

    def set(self, key: str, value: bytes | None) -> None:
        super().set(key, value)
        if key.startswith(PART_PREFIX):
            self.most_parts = max(self.most_parts, sum(k.startswith(PART_PREFIX) for k in self))


def test_a_pause_of_a_busy_manager_too_large_for_one_entry_is_kept_in_parts_as_simulate_decides() -> None:
    """A preference change places everything the mailbox holds again in one unit (its records cannot be split
    without deciding differently from ``simulate``). When its write-ahead entry is too large for one record, the
    entry goes in parts; each record of the unit still fits."""
    defs = bundled_defs()
    events = _burst(hires=150)[:-1]
    pause = _event("pause-M1", "wayfinder.preferences.changed", datetime(2026, 3, 3, 9, 0, tzinfo=UTC), "M1",
                   paused_until="2026-04-20T08:00:00Z")
    events.append(pause)
    runner = EmbeddedRunner(defs)
    runner.run(events, UNTIL)
    held = [m for m in runner.messages.values() if m.recipient_id == "M1" and m.status == "deferred"]
    assert len(held) > 100 and all(m.scheduled_for >= at("2026-04-20T08:00:00Z") for m in held)
    table = _Recording()
    p = Pipeline(DictTable(), table, defs=defs)
    p.employees.max_record_bytes = p.mailboxes.max_record_bytes = 12_000
    for event in events:
        p.tick(event.time)
        p.feed(p.employees, "hris", None, event.model_dump_json().encode())
        p.drain()
    p.tick(UNTIL)
    latest = {json.loads(r.value)["message_id"]: json.loads(r.value) for r in p.records
              if r.topic == "outbound.messages" and r.value is not None}
    assert _letters(p) == []
    assert latest == {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}
    assert table.most_parts >= 1  # the pause's entry went in parts (all but its last part under PART_PREFIX)


def test_a_unit_whose_entry_alone_is_too_large_goes_in_parts_without_being_handled_again() -> None:
    """Handling an input twice would count it twice (metrics) and, for a busy mailbox, place its queue twice: the
    unit handled once is kept, its entry in parts."""
    import hashlib

    from prometheus_client import CollectorRegistry

    from wayfinder.streams.metrics import StreamMetrics
    from wayfinder.streams.stage import Incoming, Stage
    from wayfinder.streams.wire import Record

    table = DictTable()
    stage = Stage(table, StreamClock("event"), StreamMetrics(CollectorRegistry()), lambda t, p: None)
    stage.max_record_bytes = 5_000
    calls = []

    def handle(work: Work, msg: Incoming) -> None:
        calls.append(msg.offset)
        for i in range(8):  # 8 records of 3 KB that compression cannot shrink: each fits, the entry does not
            blob = b"".join(hashlib.sha256(b"%d:%d" % (i, j)).digest() for j in range(96))
            work.writes[f"s:{i}"] = blob
            work.records.append(Record("outbound.messages", f"m{i}", blob + b"."))

    records = stage.process(Incoming("mailbox", 0, 7, None, b"{}", None), handle)
    assert calls == [7]
    assert len(records) == 8 and all(r.topic == "outbound.messages" for r in records)
    assert sum(k.startswith(PART_PREFIX) for k in table) >= 4
    assert all(table.get(f"s:{i}") is not None for i in range(8))


def test_a_unit_undone_logs_and_counts_nothing_and_the_unit_kept_once(caplog: pytest.LogCaptureFixture) -> None:
    """A diagnostic of a unit that is undone (tried again smaller, waiting for a recipient) is neither logged nor
    counted; the same diagnostic in the unit that is kept, once."""
    p = Pipeline(defs=bundled_defs())
    stage = p.employees
    failed = Diagnostic("expression_failed", "new-parent", "welcome", "KeyError: no such key")

    def unit(keep: bool) -> None:
        stage._begin()
        carry_out([failed, Lifecycle("enrolled", "new-parent")], StagePort(stage, Work(), 0, START), "E1")
        if keep:
            stage._commit()
        else:
            stage._undo(0)

    def counted() -> tuple[float, float]:
        (failures,) = stage.metrics.expression_failures.collect()
        (entries,) = stage.metrics.entered.collect()
        return (sum(s.value for s in failures.samples if s.name.endswith("_total")),
                sum(s.value for s in entries.samples if s.name.endswith("_total")))

    with caplog.at_level(logging.INFO, "wayfinder.streams.interpreter"):
        unit(keep=False)
        assert [r.getMessage() for r in caplog.records] == [] and counted() == (0, 0)
        unit(keep=True)
    (logged,) = [r.getMessage() for r in caplog.records]
    assert logged.startswith("expression_failed subject=E1 journey=new-parent step=welcome at=")
    assert counted() == (1, 1)


def test_a_worker_counts_a_failure_per_journey_and_step_and_logs_where_the_journey_file_has_it(
        caplog: pytest.LogCaptureFixture) -> None:
    """Issue 9, item 2: a run-time failure in the worker is counted per journey and step and printed with the
    journey file's position, as ``simulate``'s summary does (the metric had journey and kind only, the log no
    position)."""
    p = Pipeline(defs=bundled_defs())
    stage = p.employees
    where = stage.engine.defs.positions[("new-parent", "welcome")]
    assert where.endswith("journeys/new-parent.yaml:18:9")
    effects: list[Effect] = [Diagnostic("expression_failed", "new-parent", "welcome", "KeyError: no such key"),
                             Diagnostic("expression_failed", "new-parent", part("audience"), "KeyError: no such key"),
                             Diagnostic("render_failed", "digest", "daily", "UndefinedError")]  # no journey file
    with caplog.at_level(logging.INFO, "wayfinder.streams.interpreter"):
        stage._begin()
        carry_out(effects, StagePort(stage, Work(), 0, START), "E1")
        stage._commit()
    assert [r.getMessage() for r in caplog.records] == [
        f"expression_failed subject=E1 journey=new-parent step=welcome at={where}",
        "expression_failed subject=E1 journey=new-parent step=#audience "
        f"at={stage.engine.defs.positions[('new-parent', '#audience')]}",
        "render_failed subject=E1 journey=digest step=daily"]
    (family,) = stage.metrics.expression_failures.collect()
    assert {(s.labels["journey"], s.labels["step"], s.labels["kind"]): s.value for s in family.samples
            if s.name.endswith("_total")} == {("new-parent", "welcome", "expression_failed"): 1,
                                              ("new-parent", "#audience", "expression_failed"): 1,
                                              ("digest", "daily", "render_failed"): 1}


def test_an_event_whose_unit_is_undone_and_dead_lettered_is_counted_once_as_a_dead_letter() -> None:
    """Its unit's counts go with the unit (``processed`` included); the event is still counted once among the
    events consumed, as a dead letter under its type, whether it raised or Kafka would refuse what it writes."""
    p = Pipeline(defs=bundled_defs())
    stage = p.employees
    hire, birth = _burst(hires=1)[2], _event("b-1", "hris.dependent.added", START, "H000", relationship="child",
                                             reason="birth", date="2026-03-01")

    def boom(work: Work, msg: Incoming) -> None:
        stage.handle(work, msg)  # decided (and counted) ...
        raise RuntimeError  # ... then undone

    msg = Incoming("hris", 0, 1, b"H000", hire.model_dump_json().encode(), None)
    try:
        stage.process(msg, boom)
    except RuntimeError as e:  # what the agent does (streams.app)
        [letter] = stage.failed(msg, e)
    assert letter.topic == "dead-letters"
    stage.max_record_bytes = 100  # nothing this input writes fits
    [letter] = stage.process(Incoming("hris", 0, 2, b"H000", birth.model_dump_json().encode(), None), stage.handle)
    assert json.loads(letter.value or b"{}")["reason"].startswith("state_too_large")
    (family,) = stage.metrics.events.collect()
    counted = {(s.labels["type"], s.labels["outcome"]): s.value for s in family.samples
               if s.name.endswith("_total") and s.value}  # (a series made by the undone unit stays at 0)
    assert counted == {("hris.employee.hired", "dead_letter"): 1.0, ("hris.dependent.added", "dead_letter"): 1.0}


def test_a_tick_whose_last_timer_is_dropped_still_tells_the_mailboxes_how_far_the_partition_got() -> None:
    """On the event clock the mailboxes act on what a partition sent once its watermark passes it, and a partition
    sends one when a tick has fired every timer due. When the last due timer was one no unit can fire, its drop
    ended the tick's work: before 2026-12-06 no watermark followed (none is due any more, so no wake-up came), and
    every message the tick had sent waited in the mailboxes until the next tick (on a worker: for good)."""
    p = Pipeline(defs=bundled_defs(), committed=lambda topic, partition: 1 << 62)
    for event in _burst():
        p.feed(p.employees, "hris", None, event.model_dump_json().encode())
        p.drain()
    due = at("2026-03-16T12:00:00Z")  # the roadmaps (09:00 local) and nothing later
    p.employees.max_record_bytes = 2_000  # no roadmap fits; a dead letter and a timer's deletion do
    p.feed(p.employees, "ticks", None, encode_tick(due))  # `wayfinder publish --tick`
    for _ in range(3 * HIRES):  # then the worker's own wake-ups, while timers are due
        if (next_due := p.employees.timers.next_due(0)) is None or next_due > due.timestamp():
            break
        p.feed(p.employees, "ticks", None, encode_tick(None))
    assert len(_letters(p)) == HIRES
    marks = [json.loads(r.value or b"{}") for r in p.records if r.topic == "mailbox" and r.key is None]
    assert marks and at(str(marks[-1]["at"])) == due  # the partition got to the tick's time
