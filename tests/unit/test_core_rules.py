"""The core's rules as what ``Engine.on_event`` and ``on_timer`` return: the state to keep and the effects,
on a fake clock (each call is given its time)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import LAPTOP_WAIT, at, world_defs
from wayfinder.journeys import effects as fx
from wayfinder.journeys.engine import Engine, Outcome
from wayfinder.journeys.events import ERASURE, CloudEvent
from wayfinder.journeys.profile import Profile
from wayfinder.journeys.records import ERASED_INPUT, stable_id
from wayfinder.journeys.state import UNKNOWN_TIME, EmployeeState

HEAD = "apiVersion: wayfinder/v1\nkind: Journey\nowner: hr@example.com\n"

WELCOME = HEAD + """id: welcome
name: Welcome
reentry: always
trigger: {event: hris.employee.hired}
audience: employee.employment_type != "contractor"
exit_on:
  - {event: hris.employee.terminated}
steps:
  - id: hello
    send: {channel: email, template: onboarding/welcome}
  - id: pause
    wait: {for: 3d}
""" + LAPTOP_WAIT + """  - id: nudge
    task: {assignee: manager, title: "Help {{ employee.given_name }} with the laptop", note: "A week on."}
"""

LEAVE = HEAD + """id: leave
name: Leave
sensitivity: sensitive
trigger: {event: hris.leave.started}
steps:
  - id: which
    branch: {if: 'event.data.leave_type == "bereavement"', then: condolence}
  - id: care
    send: {channel: intranet, subject: "Take care", body: "We are here."}
  - id: stop
    end: {}
  - id: condolence
    send: {channel: email, template: bereavement/condolence, resources: {topics: [bereavement]}}
  - id: partner
    task: {assignee: hr_partner, title: "Reach out", note: "Leave started."}
"""

HIRED_AT = "2026-03-27T09:00:00Z"  # a Friday; 10:00 in Berlin, and the clocks go forward on Sunday
ENROLLMENT = stable_id("e", "test", "h1")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    root: Path = tmp_path_factory.mktemp("journeys")
    (root / "welcome.yaml").write_text(WELCOME, encoding="utf-8")
    (root / "leave.yaml").write_text(LEAVE, encoding="utf-8")
    return Engine(world_defs(root))


def ev(eid: str, etype: str, time: str, **data: object) -> CloudEvent:
    return CloudEvent(specversion="1.0", id=eid, source="test", type=etype, time=at(time), subject="E1",
                      data=dict(data))


def person(eid: str = "p1", time: str = "2026-03-01T00:00:00Z", **fields: object) -> CloudEvent:
    base: dict[str, object] = {"given_name": "Ada", "email": "ada@example.com", "country": "DE",
                               "timezone": "Europe/Berlin", "locale": "en-GB", "employment_type": "employee",
                               "department": "Engineering", "manager_id": "M1", "hr_partner_id": "H1"}
    base.update(fields)
    return ev(eid, "hris.employee.upserted", time, **base)


def manager(person_id: str) -> Profile | None:
    if person_id != "M1":
        return None
    return Profile(id="M1", fields={"given_name": "Grace", "timezone": "Europe/Berlin"})


def feed(engine: Engine, state: EmployeeState | None, *events: CloudEvent,
         now: datetime | None = None) -> Outcome:
    """Each event at its own time (or at ``now``); the outcome of the last."""
    out = Outcome(state)
    for event in events:
        out = engine.on_event(out.state, event, now or event.time, manager)
    return out


def hired(engine: Engine, employment_type: str = "employee") -> Outcome:
    hire = ev("h1", "hris.employee.hired", HIRED_AT, start_date="2026-03-30")
    return feed(engine, None, person(employment_type=employment_type), hire)


def kept(out: Outcome) -> EmployeeState:
    assert out.state is not None
    return out.state


def timer_of(effects: list[fx.Effect]) -> tuple[datetime, fx.EnrollmentTimer]:
    [schedule] = [e for e in effects if isinstance(e, fx.Schedule)]
    assert isinstance(schedule.timer, fx.EnrollmentTimer)
    return schedule.due, schedule.timer


# -- enrollment and the first send ------------------------------------------------------------------------


def test_trigger_enrolls_and_the_first_send_names_the_recipients_mailbox(engine: Engine) -> None:
    out = hired(engine)
    enrolled, dispatch, schedule = out.effects
    assert enrolled == fx.Lifecycle("enrolled", "welcome")
    assert isinstance(dispatch, fx.Dispatch)
    assert (dispatch.mailbox, dispatch.timezone, dispatch.quiet_hours) == ("E1", "Europe/Berlin", None)
    message = dispatch.message
    assert (message.step_id, message.status, message.channel, message.recipient_id) == (
        "hello", "deferred", "email", "E1")
    assert message.subject == "Welcome to the team, Ada"
    assert message.message_id == stable_id("m", "E1", "welcome", 1, ENROLLMENT, "hello")
    assert isinstance(schedule, fx.Schedule)
    state = kept(out)
    assert state.enrollments["welcome"].enrollment_id == ENROLLMENT
    assert state.mailboxes == {"E1"}


def test_audience_false_enrolls_no_one(engine: Engine) -> None:
    out = hired(engine, employment_type="contractor")
    assert out.effects == []
    assert kept(out).enrollments == {}


# -- exit_on ------------------------------------------------------------------------------------------------


def test_exit_on_ends_the_enrollment_and_cancels_what_waits_in_mailboxes(engine: Engine) -> None:
    state = kept(hired(engine))
    out = feed(engine, state, ev("x1", "hris.employee.terminated", "2026-03-28T12:00:00Z"))
    assert out.effects == [fx.Departure("E1", at("2026-03-28T12:00:00Z"), at("2026-03-28T12:00:00Z")),  # Leavers
                           fx.Lifecycle("exited", "welcome"),
                           fx.CancelPending("E1", "welcome", "exited", ("E1",), at("2026-03-28T12:00:00Z"))]
    assert kept(out).enrollments == {}


# -- wait, wait_for, task -----------------------------------------------------------------------------------


def test_wait_schedules_in_local_time_and_its_timer_moves_on(engine: Engine) -> None:
    out = hired(engine)
    due, timer = timer_of(out.effects)
    # 10:00 in Berlin on Friday, three calendar days later is 10:00 CEST: 08:00Z.
    assert due == at("2026-03-30T08:00:00Z")
    assert timer == fx.EnrollmentTimer("E1", "welcome", ENROLLMENT, 1)
    state = kept(out)
    assert (state.enrollments["welcome"].waiting, state.enrollments["welcome"].wake_at) == ("timer", due)
    after = engine.on_timer(state, timer, due, manager)
    # Now at laptop: waiting for the event, with a timeout a week later.
    laptop_timer = fx.EnrollmentTimer("E1", "welcome", ENROLLMENT, 2)
    assert after.effects == [fx.Schedule(at("2026-04-06T08:00:00Z"), laptop_timer)]
    assert kept(after).enrollments["welcome"].waiting == "event"


@pytest.mark.parametrize("steps", [1, 0], ids=["cut-after-the-first-step", "first-step-removed"])
def test_a_version_edited_in_place_ends_an_enrollment_whose_wait_is_gone(engine: Engine, tmp_path: Path,
                                                                         steps: int) -> None:
    # The enrollment waits at step 2 (the pause). With the steps cut, its timer raised IndexError (on the worker,
    # on every tick of its partition); with the first step removed, step 2 is the laptop wait_for and the timer
    # went on from there as if it had timed out.
    out = hired(engine)
    due, timer = timer_of(out.effects)
    edited = WELCOME.split("  - id: pause")[0] if steps else WELCOME.replace(
        "  - id: hello\n    send: {channel: email, template: onboarding/welcome}\n", "")
    (tmp_path / "welcome.yaml").write_text(edited, encoding="utf-8")
    after = Engine(world_defs(tmp_path)).on_timer(kept(out), timer, due, manager)
    assert [(e.kind, e.journey_id) for e in after.effects if isinstance(e, fx.Diagnostic)] == [
        ("journey_definition_changed", "welcome")]
    assert not [e for e in after.effects if not isinstance(e, fx.Diagnostic)]
    assert kept(after).enrollments == {}


def test_a_wait_edited_in_place_keeps_its_time_for_those_in_it_and_later_steps_run_as_edited(
        engine: Engine, tmp_path: Path) -> None:
    """What ``wayfinder plan`` says of a journey edited without a new version (the same steps, other values): the
    enrollment in the pause keeps the due time it was given (3 days), and the laptop wait after it is read as
    edited (a 2-day timeout instead of 7)."""
    out = hired(engine)
    due, timer = timer_of(out.effects)
    edited = WELCOME.replace("wait: {for: 3d}", "wait: {for: 10d}").replace("timeout: 7d", "timeout: 2d")
    (tmp_path / "welcome.yaml").write_text(edited, encoding="utf-8")
    after = Engine(world_defs(tmp_path)).on_timer(kept(out), timer, due, manager)
    assert due == at("2026-03-30T08:00:00Z")  # 3 days, as scheduled before the edit
    assert after.effects == [fx.Schedule(at("2026-04-01T08:00:00Z"), fx.EnrollmentTimer("E1", "welcome",
                                                                                        ENROLLMENT, 2))]
    assert kept(after).enrollments["welcome"].version == 1


def test_a_stale_timer_does_nothing(engine: Engine) -> None:
    out = hired(engine)
    due, timer = timer_of(out.effects)
    state = kept(engine.on_timer(kept(out), timer, due, manager))
    before = state.model_dump()
    again = engine.on_timer(state, timer, due + timedelta(hours=1), manager)  # its token is now old
    assert again.effects == []
    assert kept(again).model_dump() == before


def waiting_for_laptop(engine: Engine) -> EmployeeState:
    out = hired(engine)
    due, timer = timer_of(out.effects)
    return kept(engine.on_timer(kept(out), timer, due, manager))


def test_wait_for_is_resumed_by_the_matching_event_only(engine: Engine) -> None:
    state = waiting_for_laptop(engine)
    other = feed(engine, state, ev("t0", "onboarding.task.completed", "2026-03-31T09:00:00Z", task_id="badge"))
    assert other.effects == []
    assert kept(other).enrollments["welcome"].step == 2
    done = feed(engine, kept(other), ev("t1", "onboarding.task.completed", "2026-04-01T09:00:00Z",
                                        task_id="laptop"))
    dispatch, completed = done.effects
    assert isinstance(dispatch, fx.Dispatch)
    assert (dispatch.message.step_id, dispatch.message.channel) == ("thanks", "intranet")
    assert completed == fx.Lifecycle("completed", "welcome")
    assert kept(done).enrollments == {}


def test_wait_for_timeout_goes_to_on_timeout_and_opens_a_task_for_the_manager(engine: Engine) -> None:
    state = waiting_for_laptop(engine)
    timer = fx.EnrollmentTimer("E1", "welcome", ENROLLMENT, 2)
    out = engine.on_timer(state, timer, at("2026-04-06T08:00:00Z"), manager)
    task, completed = out.effects
    assert isinstance(task, fx.OpenTask)
    assert (task.task.step_id, task.task.assignee, task.task.assignee_id) == ("nudge", "manager", "M1")
    assert (task.task.title, task.task.note) == ("Help Ada with the laptop", "A week on.")
    assert completed == fx.Lifecycle("completed", "welcome")


# -- branch, sensitive messages, erasure ----------------------------------------------------------------------


def test_branch_else_goes_on_with_the_next_step(engine: Engine) -> None:
    out = feed(engine, None, person(), ev("l1", "hris.leave.started", "2026-04-01T09:00:00Z",
                                          leave_type="parental"))
    enrolled, held, review, completed = out.effects
    assert (enrolled, completed) == (fx.Lifecycle("enrolled", "leave"), fx.Lifecycle("completed", "leave"))
    assert isinstance(held, fx.Decide)
    # nobody decides within the review window (default 5d): the message is escalated (SPEC §11)
    assert review == fx.Schedule(at("2026-04-06T09:00:00Z"), fx.ReviewTimer("E1", held.message.message_id))
    assert (held.message.step_id, held.message.status, held.message.reason) == ("care", "pending_approval",
                                                                                "sensitive")


def test_branch_then_jumps_and_a_task_goes_to_the_hr_partner(engine: Engine) -> None:
    out = feed(engine, None, person(), ev("l1", "hris.leave.started", "2026-04-01T09:00:00Z",
                                          leave_type="bereavement"))
    enrolled, held, review, task, completed = out.effects
    assert (enrolled, completed) == (fx.Lifecycle("enrolled", "leave"), fx.Lifecycle("completed", "leave"))
    assert isinstance(held, fx.Decide) and held.message.step_id == "condolence"
    assert held.message.resources == ["bereavement-leave"]
    assert isinstance(review, fx.Schedule) and isinstance(review.timer, fx.ReviewTimer)
    assert isinstance(task, fx.OpenTask)
    assert (task.task.step_id, task.task.assignee, task.task.assignee_id) == ("partner", "hr_partner", "H1")
    # What waits for a human is kept whole: an approval sends it as it was rendered (SPEC §11).
    [kept_held] = kept(out).awaiting_approval.values()
    assert kept_held == held.message


SIGNALLED = HEAD + """id: signalled
name: Signalled
trigger: {event: hris.employee.started}
steps:
  - id: listen
    wait_for: {event: wellbeing.signal, timeout: 30d}
  - id: now
    send: {channel: intranet, subject: "Checking in", body: "How are you?"}
  - id: later
    wait: {for: 2d}
  - id: again
    send: {channel: intranet, to: manager, subject: "A word", body: "Please check in."}
"""


def test_what_follows_a_wellbeing_signal_waits_for_a_person_whatever_started_the_journey(
        tmp_path: Path) -> None:
    """SPEC §2: a wellbeing signal is always sensitive; a wait_for it ends makes the rest of the enrollment wait for
    a reviewer, kept with the state (a timer later), while the same journey without the signal sends."""
    (tmp_path / "signalled.yaml").write_text(SIGNALLED, encoding="utf-8")
    engine = Engine(world_defs(tmp_path))
    started = ev("s1", "hris.employee.started", "2026-04-01T09:00:00Z", date="2026-04-01")
    signal = ev("w1", "wellbeing.signal", "2026-04-02T09:00:00Z", signal="workload_spike", score=0.9)
    out = feed(engine, None, person(), started, signal)
    [held] = [f for f in out.effects if isinstance(f, fx.Decide)]
    assert (held.message.step_id, held.message.status, held.message.reason) == ("now", "pending_approval",
                                                                                "sensitive")
    state = EmployeeState.model_validate_json(kept(out).model_dump_json())  # as the worker keeps it
    when, timer = timer_of([f for f in out.effects if not isinstance(getattr(f, "timer", None), fx.ReviewTimer)])
    later = engine.on_timer(state, timer, when, manager)
    [held] = [f for f in later.effects if isinstance(f, fx.Decide)]
    assert (held.message.step_id, held.message.recipient_id, held.message.status) == ("again", "M1",
                                                                                     "pending_approval")
    # without the signal: the wait times out and the same steps send (nothing is held for a reviewer)
    quiet = feed(engine, None, person(), started)
    when, timer = timer_of(quiet.effects)
    timed_out = engine.on_timer(kept(quiet), timer, when, manager)
    assert not any(isinstance(f, fx.Decide) for f in timed_out.effects)
    assert '"sensitive"' not in kept(quiet).model_dump_json()  # left out of the state at rest while false


def test_erasure_redacts_what_awaits_approval_cancels_forgets_and_drops_the_state(engine: Engine) -> None:
    state = kept(hired(engine))  # a welcome message is in E1's mailbox, and the enrollment waits
    state = kept(feed(engine, state, ev("l1", "hris.leave.started", "2026-03-28T09:00:00Z",
                                        leave_type="bereavement")))
    [held] = state.awaiting_approval.values()
    [task] = [ref.task for ref in state.open_tasks.values()]  # the HR partner's call, still open
    when = at("2026-03-29T09:00:00Z")
    out = feed(engine, state, ev("z1", ERASURE, "2026-03-29T09:00:00Z"))
    # the erased-id record: id and time only, and the request's own key (the same request again is a duplicate)
    assert out.state is not None
    assert out.state.model_copy(update={"seen": {}}) == EmployeeState.erased_record("E1", when)
    assert list(out.state.seen) == ["test\x1fz1"]
    again = feed(engine, out.state, ev("z1", ERASURE, "2026-03-29T09:00:00Z"))
    assert again.effects == [fx.Lifecycle("duplicate", None)]  # not a second audit record
    decide, *rest = out.effects
    assert isinstance(decide, fx.Decide)
    redacted = decide.message
    assert (redacted.message_id, redacted.status, redacted.reason, redacted.scheduled_for) == (
        held.message_id, "suppressed", "erased", when)
    assert (redacted.subject, redacted.explanation, redacted.recipient_email) == (None, None, None)
    assert rest == [fx.Unschedule(fx.ReviewTimer("E1", held.message_id)),  # its review window's timer
                    fx.CancelPending("E1", None, "erased", ("E1",), when),
                    fx.CancelPending(None, None, "erased", ("E1",), when),
                    fx.ForgetMailbox("E1"),
                    fx.OpenTask(task.model_copy(update={"status": "cancelled", "reason": "erased", "closed_at": when,
                                                        "title": "(erased)", "note": ""})),
                    fx.Lifecycle("erased", "welcome"),  # the enrollment it ended, counted
                    fx.Erase("E1", when, 1)]


def test_after_an_erasure_the_record_refuses_the_persons_events_until_a_later_hire(engine: Engine) -> None:
    erased_at = at("2026-03-29T09:00:00Z")
    record = kept(feed(engine, kept(hired(engine)), ev("z1", ERASURE, "2026-03-29T09:00:00Z")))
    refused = fx.Refuse("erased_subject", ERASED_INPUT, "test", erased_at)
    for event in (person(), ev("h1", "hris.employee.hired", HIRED_AT, start_date="2026-03-30"),  # replays
                  person("p2", "2026-04-01T00:00:00Z"), ev("o1", "engagement.message.opened", "2026-04-01T00:00:00Z",
                                                          message_id="m-1", resource_id="r")):
        out = engine.on_event(record, event, erased_at)
        assert out.state == record and out.effects == [refused if event.time <= erased_at else
                                                       fx.Refuse("erased_subject", ERASED_INPUT, "test", event.time)]
    decision = ev("d1", "wayfinder.review.decided", "2026-04-02T00:00:00Z", message_id="m-1", decision="approve",
                  reviewer_id="R1")
    assert [e.reason for e in engine.on_event(record, decision, decision.time).effects
            if isinstance(e, fx.Refuse)] == ["not_pending"]  # SPEC §11: nothing is pending for an erased person
    upsert = engine.on_event(record, person("p3", "2026-05-01T00:00:00Z"), at("2026-05-01T00:00:00Z"))
    assert upsert.state == record and [type(e) for e in upsert.effects] == [fx.Refuse]  # an upsert re-creates no one
    rehired = kept(engine.on_event(record, ev("h2", "hris.employee.hired", "2026-05-04T09:00:00Z",
                                              start_date="2026-05-11"), at("2026-05-04T09:00:00Z")))
    assert not rehired.forgotten and rehired.erased_at == erased_at
    assert rehired.profile.fields == {"start_date": "2026-05-11"}  # a new start: nothing of the erased person
    late = engine.on_event(rehired, person("p4", "2026-03-28T00:00:00Z"), at("2026-05-05T00:00:00Z"))
    assert [type(e).__name__ for e in late.effects] == ["Refuse"]  # still from before the erasure


# -- duplicates and stale events --------------------------------------------------------------------------------


def test_a_duplicate_event_is_only_counted(engine: Engine) -> None:
    state = kept(hired(engine))
    before = state.model_dump()
    out = feed(engine, state, ev("h1", "hris.employee.hired", HIRED_AT, start_date="2026-03-30"),
               now=at("2026-03-27T10:00:00Z"))
    assert out.effects == [fx.Lifecycle("duplicate", None)]
    assert kept(out).model_dump() == before


def test_a_stale_trigger_updates_the_profile_and_enrolls_no_one(engine: Engine) -> None:
    out = feed(engine, kept(feed(engine, None, person())),
               ev("h1", "hris.employee.hired", "2026-03-01T09:00:00Z", start_date="2026-03-02", role="Engineer"),
               now=at("2026-03-20T09:00:00Z"))
    assert out.effects == [fx.Lifecycle("stale", None)]
    state = kept(out)
    assert state.enrollments == {}
    assert state.profile.get("role") == "Engineer"


# -- the seen set is bounded by max_event_age (7d here) ------------------------------------------------------


def test_seen_keeps_only_the_events_of_the_last_max_event_age(engine: Engine) -> None:
    start = at("2026-03-01T09:00:00Z")
    events = [person(f"p{day}", (start + timedelta(days=day)).isoformat(), role=f"r{day}") for day in range(30)]
    state = kept(feed(engine, None, *events))
    # The last event is day 29: days 22..29 are within seven days of it.
    assert state.seen == {f"test\x1fp{day}": start + timedelta(days=day) for day in range(22, 30)}
    assert state.profile.get("role") == "r29"


def test_a_replay_of_a_forgotten_event_changes_nothing(engine: Engine) -> None:
    first = person("p1", "2026-03-01T00:00:00Z", role="Engineer", department="Engineering")
    hire = ev("h1", "hris.employee.hired", "2026-03-02T09:00:00Z", start_date="2026-03-02")
    leave = ev("x1", "hris.employee.terminated", "2026-03-03T09:00:00Z")
    newer = person("p2", "2026-03-20T00:00:00Z", role="Lead", department="Platform")
    rehire = ev("h2", "hris.employee.hired", "2026-03-21T09:00:00Z", start_date="2026-03-23")
    state = kept(feed(engine, None, first, hire, leave, newer, rehire))
    assert state.enrollments["welcome"].enrollment_id == stable_id("e", "test", "h2")  # reentry: always
    assert set(state.seen) == {"test\x1fp2", "test\x1fh2"}
    before = state.model_dump()
    replay_at = at("2026-03-22T09:00:00Z")
    # The old profile update does not revert the newer values; the old hire enrolls no one (it is stale).
    assert feed(engine, state, first, now=replay_at).effects == []
    assert feed(engine, state, hire, now=replay_at).effects == [fx.Lifecycle("stale", None)]
    # The old termination ends nothing that began after it (the enrollment of the rehire).
    out = feed(engine, state, leave, now=replay_at)
    assert out.effects == []
    after = kept(out).model_dump()
    assert after["profile"] == before["profile"]
    assert after["enrollments"] == before["enrollments"]
    assert after["profile_times"] == before["profile_times"]


def test_a_replayed_old_event_resumes_no_wait(engine: Engine) -> None:
    done = ev("t1", "onboarding.task.completed", "2026-03-02T09:00:00Z", task_id="laptop")
    state = kept(feed(engine, None, person(), done))
    state = waiting_for_laptop_from(engine, state)
    out = feed(engine, state, done, now=at("2026-03-31T09:00:00Z"))
    assert out.effects == []
    assert kept(out).enrollments["welcome"].waiting == "event"


def waiting_for_laptop_from(engine: Engine, state: EmployeeState) -> EmployeeState:
    out = feed(engine, state, ev("h1", "hris.employee.hired", HIRED_AT, start_date="2026-03-30"))
    due, timer = timer_of(out.effects)
    return kept(engine.on_timer(kept(out), timer, due, manager))


def test_a_first_time_old_event_sets_only_what_no_newer_event_set(engine: Engine) -> None:
    state = kept(feed(engine, None, person("p2", "2026-03-20T00:00:00Z", role="Lead")))
    backfill = person("p0", "2026-02-01T00:00:00Z", role="Intern", location="Berlin", given_name=None)
    out = feed(engine, state, backfill, now=at("2026-03-21T00:00:00Z"))
    assert out.effects == []
    profile = kept(out).profile
    assert (profile.get("role"), profile.get("location"), profile.get("given_name")) == ("Lead", "Berlin", "Ada")
    assert kept(out).profile_times["fields.role"] == at("2026-03-20T00:00:00Z")
    assert kept(out).profile_times["fields.location"] == at("2026-02-01T00:00:00Z")


def test_events_of_equal_time_apply_in_the_order_they_come(engine: Engine) -> None:
    state = kept(feed(engine, None, person("p1", role="A"), person("p2", role="B")))
    assert state.profile.get("role") == "B"


def test_a_state_written_with_seen_as_a_list_still_loads_and_its_keys_expire(engine: Engine) -> None:
    state = kept(feed(engine, None, person()))
    legacy = state.model_dump(mode="json")
    legacy["seen"] = ["test\x1fp1", "test\x1fold"]
    del legacy["profile_times"]
    loaded = EmployeeState.model_validate(legacy)
    assert loaded.seen == {"test\x1fp1": UNKNOWN_TIME, "test\x1fold": UNKNOWN_TIME}
    assert feed(engine, loaded, person(), now=at("2026-04-01T00:00:00Z")).effects == [fx.Lifecycle("duplicate", None)]
    # The next event gives the old keys its clock time; they go max_event_age later.
    touched = kept(feed(engine, loaded, person("p3", "2026-04-01T00:00:00Z")))
    assert touched.seen["test\x1fold"] == at("2026-04-01T00:00:00Z")
    later = kept(feed(engine, touched, person("p4", "2026-04-09T00:00:00Z")))
    assert set(later.seen) == {"test\x1fp4"}


def test_seen_and_profile_times_round_trip_through_json(engine: Engine) -> None:
    state = waiting_for_laptop(engine)
    again = EmployeeState.model_validate_json(state.model_dump_json())
    assert state.seen and state.profile_times
    assert (again.seen, again.profile_times) == (state.seen, state.profile_times)


def test_a_replay_does_not_revert_a_value_set_at_the_same_time(engine: Engine) -> None:
    first, second = person("p1", role="A"), person("p2", role="B")  # both at 2026-03-01T00:00Z
    state = kept(feed(engine, None, first, second, person("p3", "2026-03-10T00:00:00Z", location="Berlin")))
    assert "test\x1fp1" not in state.seen
    out = feed(engine, state, first, now=at("2026-03-12T00:00:00Z"))
    assert out.effects == []
    assert kept(out).profile.get("role") == "B"


# -- a replay, however late, has the effect of once -----------------------------------------------------------

START = at("2026-03-01T09:00:00Z")


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[CloudEvent], list[int], timedelta]:
    """Events of one person at increasing times, which of them come again, and how late."""
    events = [person("p0", START.isoformat())]
    when = START
    for n in range(1, draw(st.integers(3, 14))):
        when += timedelta(hours=draw(st.integers(0, 24 * 6)))
        kind = draw(st.sampled_from(("upsert", "hired", "terminated", "task")))
        eid, time = f"{kind}{n}", when.isoformat()
        if kind == "upsert":
            events.append(person(eid, time, role=draw(st.sampled_from(("A", "B", "C"))),
                                 location=draw(st.sampled_from(("Berlin", "Paris", None)))))
        elif kind == "hired":
            events.append(ev(eid, "hris.employee.hired", time, start_date="2026-03-02",
                             role=draw(st.sampled_from(("A", "B", "C")))))
        elif kind == "terminated":
            events.append(ev(eid, "hris.employee.terminated", time))
        else:
            events.append(ev(eid, "onboarding.task.completed", time, task_id="laptop"))
    again = draw(st.lists(st.integers(0, len(events) - 1), min_size=1, max_size=6))
    return events, again, timedelta(hours=draw(st.integers(0, 24 * 40)))


@settings(max_examples=60, deadline=None)
@given(histories())
def test_a_replay_at_any_age_sends_nothing_and_changes_no_journey_or_profile(
        engine: Engine, history: tuple[list[CloudEvent], list[int], timedelta]) -> None:
    events, again, late = history
    state = kept(feed(engine, None, *events))
    before = state.model_dump(include={"profile", "enrollments", "awaiting_approval", "mailboxes", "feedback"})
    now = events[-1].time + late
    for i in again:
        out = engine.on_event(state, events[i], now, manager)
        assert [e for e in out.effects if e not in (fx.Lifecycle("duplicate", None), fx.Lifecycle("stale", None))] == []
        state = kept(out)
    assert state.model_dump(include={"profile", "enrollments", "awaiting_approval", "mailboxes",
                                     "feedback"}) == before


def test_a_replayed_exit_leaves_an_enrollment_begun_at_the_same_instant(engine: Engine) -> None:
    """Found by Hypothesis: a termination and a hire at one instant, the termination first; its replay, stale
    by then, must not end the enrollment the hire began (it may have begun after the exit)."""
    leave = ev("x1", "hris.employee.terminated", "2026-03-02T19:00:00Z")
    hire = ev("h1", "hris.employee.hired", "2026-03-02T19:00:00Z", start_date="2026-03-02")
    later = person("p2", "2026-03-20T10:00:00Z")
    state = kept(feed(engine, None, person(), leave, hire, later))
    assert "welcome" in state.enrollments
    out = feed(engine, state, leave, now=at("2026-03-21T20:00:00Z"))
    assert fx.Lifecycle("exited", "welcome") not in out.effects
    assert "welcome" in kept(out).enrollments


def test_a_late_termination_still_ends_what_began_before_it(engine: Engine) -> None:
    """A stale exit (it arrives after max_event_age) ends the enrollments that started before it happened:
    sending less is the safe side of a late event."""
    hire = ev("h1", "hris.employee.hired", "2026-03-02T09:00:00Z", start_date="2026-03-02")
    state = kept(feed(engine, None, person(), hire))
    assert "welcome" in state.enrollments
    late = ev("x1", "hris.employee.terminated", "2026-03-03T09:00:00Z")
    out = feed(engine, state, late, now=at("2026-03-20T09:00:00Z"))
    assert fx.Lifecycle("exited", "welcome") in out.effects
    assert "welcome" not in kept(out).enrollments


def test_a_replay_with_its_old_event_time_after_the_key_was_forgotten_changes_nothing(engine: Engine) -> None:
    """After a crash the worker's event clock replays an input at its own (old) time; the state has moved on
    by more than max_event_age since, so the key is forgotten: the state's own clock still marks it stale."""
    hire = ev("h1", "hris.employee.hired", "2026-03-02T09:00:00Z", start_date="2026-03-02")
    leave = ev("x1", "hris.employee.terminated", "2026-03-03T09:00:00Z")
    rehire = ev("h2", "hris.employee.hired", "2026-04-20T09:00:00Z", start_date="2026-04-21")
    state = kept(feed(engine, None, person(), hire, leave, rehire))  # each at its own time, as in event mode
    assert "test\x1fh1" not in state.seen and state.clock == at("2026-04-20T09:00:00Z")
    before = state.model_dump()
    out = feed(engine, state, hire)  # the replay comes with now == its own event time
    assert out.effects == [fx.Lifecycle("stale", None)]
    after = kept(out).model_dump()
    assert (after["enrollments"], after["profile"]) == (before["enrollments"], before["profile"])


def test_only_opens_clicks_and_rating_events_move_a_resource_for_the_person(engine: Engine) -> None:
    """Ratings count from the rating events only (as the fairness report and ``feedback aggregate`` count them);
    another ``engagement.*`` type with a ``rating`` moves nothing."""
    state = kept(feed(engine, None, person(),
                      ev("o1", "engagement.message.opened", "2026-03-02T09:00:00Z", resource_id="guide", rating=1),
                      ev("c1", "engagement.message.clicked", "2026-03-02T09:01:00Z", resource_id="guide"),
                      ev("r1", "engagement.resource.rated", "2026-03-02T09:02:00Z", resource_id="guide", rating=-1),
                      ev("f1", "engagement.message.feedback", "2026-03-02T09:03:00Z", resource_id="faq", rating=1),
                      ev("w1", "engagement.whatever", "2026-03-02T09:04:00Z", resource_id="faq", rating=1000),
                      ev("w2", "engagement.resource.rated", "2026-03-02T09:05:00Z", resource_id="faq", rating=1000)))
    assert state.feedback == {"guide": pytest.approx(0.1 + 0.5 - 1), "faq": 1.0}


def test_a_persons_latest_rating_of_a_resource_counts_once(engine: Engine) -> None:
    """An audit on 2026-12-04: a rating changed from -1 to 1 left the resource at 0 for the person, and repeated
    ratings of 1 stacked without bound; the reports count the latest rating, and so does the ranking now."""
    state = kept(feed(engine, None, person(),
                      ev("r1", "engagement.resource.rated", "2026-03-02T09:00:00Z", resource_id="guide", rating=-1),
                      ev("r2", "engagement.resource.rated", "2026-03-03T09:00:00Z", resource_id="guide", rating=1),
                      ev("r3", "engagement.message.feedback", "2026-03-02T09:00:00Z", resource_id="faq", rating=1),
                      ev("r4", "engagement.message.feedback", "2026-03-03T09:00:00Z", resource_id="faq", rating=1),
                      ev("r5", "engagement.message.feedback", "2026-03-04T09:00:00Z", resource_id="faq", rating=1),
                      ev("c1", "engagement.message.clicked", "2026-03-04T09:01:00Z", resource_id="faq"),
                      ev("r6", "engagement.resource.rated", "2026-03-05T09:00:00Z", resource_id="faq", rating=0)))
    assert state.feedback == {"guide": pytest.approx(1.0), "faq": pytest.approx(0.5)}
    assert state.ratings == {"guide": 1, "faq": 0}
