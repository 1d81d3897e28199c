"""Corrections from HR systems (hris.correction): a rescinded hire ends what it started, an amended start date
moves the wait that reads it, a correction of nothing known changes nothing."""

from __future__ import annotations

from tests.pipeline.test_runner_rules import ev, person, runner_for
from tests.support import WriteFiles, at
from wayfinder.journeys.events import CloudEvent
from wayfinder.streams.embedded import EmbeddedRunner

ONBOARDING = """id: start
trigger: {event: hris.employee.hired}
steps:
  - id: hello
    send: {channel: email, subject: "Welcome", body: "Glad you are coming."}
  - id: until-start
    wait: {until: trigger.data.start_date, at: "09:00"}
  - id: first-day
    send: {channel: email, subject: "Today", body: "See you soon."}
"""
HIRE = ev("h1", "hris.employee.hired", "2026-03-02T09:00:00Z", start_date="2026-03-09")


def correction(eid: str, time: str, action: str, reason: str, changes: object = None) -> CloudEvent:
    return ev(eid, "hris.correction", time, "E1", original={"source": "test", "id": "h1"},
              original_type="hris.employee.hired", action=action, reason=reason, changes=changes)


def run(write_files: WriteFiles, *events: CloudEvent) -> EmbeddedRunner:
    runner = runner_for(write_files, {"start": ONBOARDING})
    runner.run([person("E1"), HIRE, *events], at("2026-04-30T00:00:00Z"))
    return runner


def test_an_amended_start_date_moves_the_wait_that_reads_it(write_files: WriteFiles) -> None:
    runner = run(write_files, correction("c1", "2026-03-04T09:00:00Z", "amend", reason="start_date_corrected",
                                         changes={"start_date": {"old": "2026-03-09", "new": "2026-03-23"}}))
    first_day = next(m for m in runner.messages.values() if m.step_id == "first-day")
    assert (first_day.status, first_day.scheduled_for) == ("sent", at("2026-03-23T08:00:00Z"))  # 09:00 Berlin
    assert [m.step_id for m in runner.messages.values()].count("first-day") == 1  # the old timer did nothing


def test_a_second_amendment_naming_the_event_as_corrected_moves_the_wait_again(write_files: WriteFiles) -> None:
    """An import names the original by an id made from the value it last exported: after one correction (9 -> 23),
    the next (23 -> 30) names an event no one published. It still finds the enrollment, by the trigger's type,
    source and the value it changes; one whose old value is not the trigger's finds nothing."""
    second = ev("c2", "hris.correction", "2026-03-05T09:00:00Z", "E1", original={"source": "test", "id": "h1-23"},
                original_type="hris.employee.hired", action="amend", reason="start_date_corrected",
                changes={"start_date": {"old": "2026-03-23", "new": "2026-03-30"}})
    stale = ev("c3", "hris.correction", "2026-03-06T09:00:00Z", "E1", original={"source": "test", "id": "h1-x"},
               original_type="hris.employee.hired", action="amend", reason="start_date_corrected",
               changes={"start_date": {"old": "2026-03-09", "new": "2026-04-06"}})
    runner = run(write_files, correction("c1", "2026-03-04T09:00:00Z", "amend", reason="start_date_corrected",
                                         changes={"start_date": {"old": "2026-03-09", "new": "2026-03-23"}}),
                 second, stale)
    first_day = [m for m in runner.messages.values() if m.step_id == "first-day"]
    assert [(m.status, m.scheduled_for) for m in first_day] == [("sent", at("2026-03-30T07:00:00Z"))]
    assert runner.stats.diagnostics["correction_unmatched"] == 1  # the stale one: 9 is no longer the start date


def test_a_rescinded_hire_ends_the_journey_it_started(write_files: WriteFiles) -> None:
    runner = run(write_files, correction("c1", "2026-03-04T09:00:00Z", "rescind", reason="hire_rescinded"))
    assert [m.step_id for m in runner.messages.values()] == ["hello"]  # sent before the correction; nothing after
    assert runner.stats.lifecycle[("start", "exited")] == 1
    assert "start" not in runner.states["E1"].enrollments


def test_a_rescinded_hire_is_no_entry_so_the_real_hire_enrolls_and_the_rescinded_one_never_again(
        write_files: WriteFiles) -> None:
    """Found by an audit of issue 2: the rescinded entry still counted for ``reentry`` (default ``never``), so the
    real hire that followed enrolled no one and the starter got no first day."""
    again = ev("h2", "hris.employee.hired", "2026-03-10T09:00:00Z", start_date="2026-04-06")
    replayed = ev("h1", "hris.employee.hired", "2026-03-12T09:00:00Z", start_date="2026-03-09")  # a late copy
    runner = run(write_files, correction("c1", "2026-03-04T09:00:00Z", "rescind", reason="hire_rescinded"),
                 again, replayed)
    assert [(m.step_id, m.scheduled_for.date().isoformat()) for m in runner.messages.values()] == [
        ("hello", "2026-03-02"), ("hello", "2026-03-10"), ("first-day", "2026-04-06")]
    assert runner.stats.lifecycle[("start", "enrolled")] == 2


def test_a_correction_of_an_unknown_event_changes_nothing_and_is_counted(write_files: WriteFiles) -> None:
    unknown = ev("c1", "hris.correction", "2026-03-04T09:00:00Z", original={"source": "test", "id": "nope"},
                 action="rescind")
    runner = run(write_files, unknown)
    assert sorted(m.step_id for m in runner.messages.values()) == ["first-day", "hello"]
    assert runner.stats.diagnostics["correction_unmatched"] == 1


CARE = """id: care
trigger: {event: hris.leave.started}
steps:
  - id: call
    task: {assignee: hr_partner, title: "Call", note: "Reach out."}
"""
LEAVE = ev("l1", "hris.leave.started", "2026-03-02T09:00:00Z", leave_type="medical", start_date="2026-03-02")


def care_run(write_files: WriteFiles, *events: CloudEvent) -> EmbeddedRunner:
    runner = runner_for(write_files, {"care": CARE})
    runner.run([person("E1"), LEAVE, *events], at("2026-04-30T00:00:00Z"))
    return runner


def rescind_leave(eid: str, time: str) -> CloudEvent:
    return ev(eid, "hris.correction", time, "E1", original={"source": "test", "id": "l1"},
              original_type="hris.leave.started", action="rescind", reason="entered_in_error")


def test_a_rescinded_trigger_cancels_the_task_its_journey_opened_even_after_the_journey_ended(
        write_files: WriteFiles) -> None:
    runner = care_run(write_files, rescind_leave("c1", "2026-03-05T09:00:00Z"))
    [task] = runner.tasks.values()
    assert (task.status, task.reason, task.closed_at) == ("cancelled", "rescinded", at("2026-03-05T09:00:00Z"))
    assert runner.states["E1"].open_tasks == {}
    assert runner.stats.diagnostics["correction_unmatched"] == 0


def test_a_task_completed_by_a_person_is_left_alone_by_a_later_rescind(write_files: WriteFiles) -> None:
    done = ev("d1", "wayfinder.task.completed", "2026-03-03T09:00:00Z", "E1", task_id="TASK", actor_id="E9",
              journey_id="care", step_id="call")
    first = care_run(write_files)
    [task_id] = first.tasks
    done = done.model_copy(update={"data": {**done.data, "task_id": task_id}})
    runner = care_run(write_files, done, rescind_leave("c1", "2026-03-05T09:00:00Z"))
    # Its latest record says it is done, by whom and when; the rescind leaves it so.
    task = runner.tasks[task_id]
    assert (task.status, task.closed_by, task.closed_at) == ("completed", "E9", at("2026-03-03T09:00:00Z"))
    assert runner.stats.diagnostics["correction_unmatched"] == 1
    # The same completion again, or one for a task that is not open, writes nothing new.
    again = done.model_copy(update={"id": "d2", "time": at("2026-03-04T09:00:00Z")})
    other = done.model_copy(update={"id": "d3", "data": {**done.data, "task_id": "nope"}})
    twice = care_run(write_files, done, again, other)
    assert twice.tasks[task_id] == task


def test_an_amendment_closes_no_task(write_files: WriteFiles) -> None:
    amend = ev("c1", "hris.correction", "2026-03-05T09:00:00Z", "E1", original={"source": "test", "id": "l1"},
               original_type="hris.leave.started", action="amend", reason="typo",
               changes={"start_date": {"old": "2026-03-02", "new": "2026-03-03"}})
    runner = care_run(write_files, amend)
    assert [t.status for t in runner.tasks.values()] == ["open"]


def test_an_amendment_without_the_old_value_moves_the_kept_hire_of_its_source(write_files: WriteFiles) -> None:
    """A webhook knows only the new start date: its correction names the hire by the new date (no event had that
    id) and gives no old value. It amends the kept hire of that source; before, it was correction_unmatched and the
    first-day message kept the first date."""
    moved = ev("c1", "hris.correction", "2026-03-04T09:00:00Z", "E1", original={"source": "test", "id": "h1-23"},
               original_type="hris.employee.hired", action="amend", reason="start_date_corrected",
               changes={"start_date": {"new": "2026-03-23"}})
    runner = run(write_files, moved)
    first_day = [m for m in runner.messages.values() if m.step_id == "first-day"]
    assert [(m.status, m.scheduled_for) for m in first_day] == [("sent", at("2026-03-23T08:00:00Z"))]


MOVE = """id: move
trigger: {event: hris.employee.relocated}
steps:
  - id: hello
    send: {channel: email, subject: "Welcome", body: "Welcome to your new place."}
  - id: three-weeks
    wait: {for: 3w}
  - id: settling-in
    send: {channel: email, subject: "Settled in?", body: "How is it going?"}
"""


def test_an_amendment_leaves_a_wait_for_a_duration_where_it_was(write_files: WriteFiles) -> None:
    """A ``wait: for`` is dated from when the journey reached it, from no field of the trigger: an amendment a week
    later (the new location's name corrected) leaves it. Found by an audit of issue 15: it was worked out again
    from the correction's time, so the settling-in message went a week late."""
    moved = ev("r1", "hris.employee.relocated", "2026-03-02T10:00:00Z", old_location="Berlin",
               new_location="Lisbon", new_country="PT")
    fixed = ev("c1", "hris.correction", "2026-03-09T10:00:00Z", "E1", original={"source": "test", "id": "r1"},
               original_type="hris.employee.relocated", action="amend", reason="location_corrected",
               changes={"new_location": {"old": "Lisbon", "new": "Porto"}})
    runner = runner_for(write_files, {"move": MOVE})
    runner.run([person("E1"), moved, fixed], at("2026-04-30T00:00:00Z"))
    settling = [m for m in runner.messages.values() if m.step_id == "settling-in"]
    assert [(m.status, m.scheduled_for) for m in settling] == [("sent", at("2026-03-23T10:00:00Z"))]
    assert runner.stats.diagnostics["correction_unmatched"] == 0
