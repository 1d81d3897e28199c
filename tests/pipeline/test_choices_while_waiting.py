"""What a person chooses, and what ends a journey, while a message waits (SPEC §4, §11): for a reviewer, for quiet
hours, for a pause. Through the embedded runner, and the worker's stages where the mailbox is involved."""

from __future__ import annotations

import json
from pathlib import Path

from tests.pipeline.stages import events_through_stages
from tests.pipeline.test_decisions import SENSITIVE, decide
from tests.pipeline.test_runner_rules import ev, person, runner_for
from tests.support import WriteFiles, at, read_jsonl
from wayfinder.journeys.events import CloudEvent
from wayfinder.journeys.records import Message, enrollment_id
from wayfinder.scale import simulate_streaming
from wayfinder.streams.embedded import EmbeddedRunner

QUIET = 'quiet_hours: {start: "20:00", end: "08:00", weekends: false}\n'
LEAVE_AT = "2026-05-04T09:00:00Z"  # a Monday, 11:00 in Berlin
EVENING = "2026-05-04T19:00:00Z"  # 21:00 in Berlin: quiet
HELLO = """id: hello
trigger: {event: hris.leave.started}
exit_on:
  - {event: hris.employee.terminated}
steps:
  - id: hi
    send: {channel: email, subject: "Hi", body: "Hello."}
"""
PARENT = """id: parent
trigger: {event: hris.dependent.added}
steps:
  - id: welcome
    send: {channel: email, template: new-parent/welcome, resources: {topics: [parental-leave], limit: 3}}
"""


def leave(eid: str, time: str) -> CloudEvent:
    return ev(eid, "hris.leave.started", time, leave_type="other", start_date=time[:10])


def prefs(eid: str, time: str, **data: object) -> CloudEvent:
    return ev(eid, "wayfinder.preferences.changed", time, "E1", **data)


def only(runner: EmbeddedRunner) -> Message:
    (message,) = runner.messages.values()
    return message


def test_an_approval_that_can_go_at_once_checks_the_opt_outs_made_while_it_waited(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"care": SENSITIVE}, QUIET)
    runner.run([person("E1"), ev("l1", "hris.leave.started", LEAVE_AT, leave_type="bereavement",
                                 start_date="2026-05-04")], at(LEAVE_AT))
    mid = only(runner).message_id
    runner.run([prefs("p1", "2026-05-05T08:00:00Z", opt_out_channels=["email"]),
                decide("d1", "2026-05-05T09:00:00Z", mid)], at("2026-05-20T00:00:00Z"))
    message = only(runner)
    assert (message.status, message.reason) == ("suppressed", "opted_out_channel")
    assert message.reviewer_id == "H1"  # decided, and still not sent: the employee said no email


def test_every_message_a_pause_holds_says_paused(write_files: WriteFiles) -> None:
    twice = HELLO.replace('body: "Hello."}', 'body: "Hello."}\n  - id: again\n    send: {channel: email, '
                                             'subject: "Again", body: "Hello again."}')
    runner = runner_for(write_files, {"hello": twice})
    runner.run([person("E1"), prefs("p1", "2026-05-01T09:00:00Z", paused_until="2026-05-10T07:00:00Z"),
                leave("l1", LEAVE_AT)], at(LEAVE_AT))
    assert {(m.step_id, m.status, m.reason, m.scheduled_for) for m in runner.messages.values()} == {
        ("hi", "deferred", "paused", at("2026-05-10T07:00:00Z")),
        ("again", "deferred", "paused", at("2026-05-10T07:00:00Z"))}
    # A pause that ends inside quiet hours: both wait for the quiet hours' end, and the second is still held by
    # the pause (it came during it), not "queued" behind the first.
    runner = runner_for(write_files, {"hello": twice}, QUIET)
    runner.run([person("E1"), prefs("p1", "2026-05-01T09:00:00Z", paused_until="2026-05-10T19:30:00Z"),
                leave("l1", LEAVE_AT)], at(LEAVE_AT))  # the pause ends at 21:30 in Berlin
    assert {(m.step_id, m.status, m.reason, m.scheduled_for) for m in runner.messages.values()} == {
        ("hi", "deferred", "paused", at("2026-05-11T06:00:00Z")),
        ("again", "deferred", "paused", at("2026-05-11T06:00:00Z"))}


def test_a_pause_lifted_or_shortened_lets_what_it_held_go_sooner(write_files: WriteFiles) -> None:
    for change, goes in ((None, "2026-05-05T09:00:00Z"),  # lifted at 11:00 Berlin: at once
                         ("2026-05-06T06:00:00Z", "2026-05-06T06:00:00Z"),  # shortened to 08:00 Berlin
                         ("2026-05-05T19:00:00Z", "2026-05-06T06:00:00Z")):  # to 21:00 Berlin: quiet until 08:00
        runner = runner_for(write_files, {"hello": HELLO}, QUIET)
        runner.run([person("E1"), prefs("p1", "2026-05-01T09:00:00Z", paused_until="2026-05-10T07:00:00Z"),
                    leave("l1", LEAVE_AT), prefs("p2", "2026-05-05T09:00:00Z", paused_until=change)],
                   at("2026-05-20T00:00:00Z"))
        message = only(runner)
        assert (message.status, message.scheduled_for) == ("sent", at(goes)), change


def test_an_opt_out_of_a_parent_topic_stops_a_held_message_on_a_topic_below_it(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"parent": PARENT}, QUIET)
    runner.run([person("E1", locale="en-US"),
                ev("b1", "hris.dependent.added", EVENING, relationship="child", reason="birth", date="2026-05-03"),
                prefs("p1", "2026-05-04T19:30:00Z", opt_out_topics=["family"])], at("2026-05-20T00:00:00Z"))
    message = only(runner)
    assert message.topics and "family" not in message.topics  # held with topics below "family" only
    assert (message.status, message.reason) == ("suppressed", "opted_out_topic")


def test_an_opt_out_an_upsert_carries_stops_a_held_message(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"hello": HELLO}, QUIET)
    runner.run([person("E1"), leave("l1", EVENING),
                person("E1", "2026-05-04T19:30:00Z", preferences={"opt_out_channels": ["email"]})],
               at("2026-05-20T00:00:00Z"))
    assert (only(runner).status, only(runner).reason) == ("suppressed", "opted_out_channel")


def test_an_opt_out_taken_back_before_a_held_message_goes_loses_nothing(write_files: WriteFiles) -> None:
    # SPEC §11: opt-outs are checked again when a deferred message goes, not when they change (the message was
    # suppressed at the opt-out, for good, though the person opted in again before its time)
    for by in ("decision", "upsert"):
        out, back = ((prefs("p1", "2026-05-04T20:00:00Z", opt_out_channels=["email"]),
                      prefs("p2", "2026-05-04T21:00:00Z", opt_out_channels=[])) if by == "decision" else
                     (person("E1", "2026-05-04T20:00:00Z", preferences={"opt_out_channels": ["email"]}),
                      person("E1", "2026-05-04T21:00:00Z", preferences={"opt_out_channels": []})))
        runner = runner_for(write_files, {"hello": HELLO}, QUIET)
        events = [person("E1"), leave("l1", EVENING), out, back]
        runner.run(events, at("2026-05-20T00:00:00Z"))
        message = only(runner)
        assert (message.status, message.scheduled_for) == ("sent", at("2026-05-05T06:00:00Z")), by
        _, latest = events_through_stages(runner.engine.defs, events, at("2026-05-20T00:00:00Z"))
        assert latest == {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}, by


def test_an_opt_out_kept_stops_a_held_message_when_its_time_comes(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"hello": HELLO}, QUIET)
    runner.run([person("E1"), leave("l1", EVENING), prefs("p1", "2026-05-04T20:00:00Z", opt_out_channels=["email"])],
               at("2026-05-04T23:00:00Z"))
    assert (only(runner).status, only(runner).reason) == ("deferred", "quiet_hours")  # it may still be wanted
    runner.run([], at("2026-05-20T00:00:00Z"))
    assert (only(runner).status, only(runner).reason) == ("suppressed", "opted_out_channel")


def test_an_exit_stops_what_a_finished_journey_left_waiting(write_files: WriteFiles) -> None:
    quit_ = ev("t1", "hris.employee.terminated", "2026-05-04T20:00:00Z", date="2026-05-04", reason="resignation")
    runner = runner_for(write_files, {"hello": HELLO}, QUIET)
    runner.run([person("E1"), leave("l1", EVENING), quit_], at("2026-05-20T00:00:00Z"))
    assert (only(runner).status, only(runner).reason) == ("suppressed", "exited")  # held for the quiet hours
    assert runner.stats.lifecycle[("hello", "completed")] == 1 and runner.stats.lifecycle[("hello", "exited")] == 0

    sensitive_only = SENSITIVE.replace("  - id: rest\n    wait: {for: 30d}\n", "")
    runner = runner_for(write_files, {"hello": sensitive_only}, QUIET)  # in place of the first
    runner.run([person("E1"), ev("l1", "hris.leave.started", LEAVE_AT, leave_type="bereavement",
                                 start_date="2026-05-04")], at(LEAVE_AT))
    mid = only(runner).message_id
    runner.run([quit_, decide("d1", "2026-05-05T09:00:00Z", mid)], at("2026-05-20T00:00:00Z"))
    assert (only(runner).status, only(runner).reason) == ("suppressed", "exited")
    assert [d.reason for d in runner.dead_letters] == ["not_pending"]
    assert not runner.tasks  # nothing left to escalate


def test_a_draft_of_the_next_version_leaves_the_active_one_enrolling(write_files: WriteFiles) -> None:
    v2 = HELLO.replace("id: hello\n", "id: hello\nversion: 2\nstatus: draft\n")
    runner = runner_for(write_files, {"hello": HELLO.replace("id: hello\n", "id: hello\nversion: 1\n"),
                                      "hello-v2": v2})
    runner.run([person("E1"), leave("l1", LEAVE_AT)], at("2026-05-20T00:00:00Z"))
    assert (only(runner).journey_version, only(runner).status) == (1, "sent")
    paused = runner_for(write_files, {"hello": HELLO.replace("id: hello\n", "id: hello\nversion: 1\n"),
                                      "hello-v2": v2.replace("status: draft", "status: paused")})
    paused.run([person("E1"), leave("l1", LEAVE_AT)], at("2026-05-20T00:00:00Z"))
    assert paused.messages == {}  # the newest version paused the journey


def test_the_stages_place_a_lifted_pause_as_simulate_does(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"hello": HELLO}, QUIET)
    events = [person("E1"), prefs("p1", "2026-05-01T09:00:00Z", paused_until="2026-05-10T07:00:00Z"),
              leave("l1", LEAVE_AT), prefs("p2", "2026-05-05T19:00:00Z", paused_until=None)]
    runner.run(events, at("2026-05-20T00:00:00Z"))
    p, latest = events_through_stages(runner.engine.defs, events, at("2026-05-20T00:00:00Z"))
    assert latest == {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}
    assert only(runner).scheduled_for == at("2026-05-06T06:00:00Z")
    assert p.mailboxes.stored("E1") == runner.mailboxes["E1"]


def test_the_resources_of_a_rejected_message_may_be_offered_again(write_files: WriteFiles) -> None:
    """SPEC §5 leaves out resources already delivered; a rejected message delivered none (SPEC §11)."""
    sensitive_parent = PARENT.replace("id: parent\n", "id: parent\nsensitivity: sensitive\nreentry: always\n")
    runner = runner_for(write_files, {"parent": sensitive_parent})
    runner.run([person("E1", locale="en-US"),
                ev("b1", "hris.dependent.added", LEAVE_AT, relationship="child", reason="birth", date="2026-05-03")],
               at(LEAVE_AT))
    first = only(runner)
    assert first.status == "pending_approval" and first.resources
    runner.run([decide("d1", "2026-05-05T09:00:00Z", first.message_id, "reject"),
                ev("b2", "hris.dependent.added", "2026-06-04T09:00:00Z", relationship="child", reason="adoption",
                   date="2026-06-03")], at("2026-06-05T00:00:00Z"))
    second = next(m for m in runner.messages.values() if m.message_id != first.message_id)
    assert runner.messages[first.message_id].status == "rejected"
    assert set(first.resources) <= set(second.resources)


NAMED_TASK = """id: care
trigger: {event: hris.leave.started}
steps:
  - id: call
    task: {assignee: hr_partner, title: "Call {{ employee.given_name }}", note: "About {{ employee.family_name }}"}
"""


def test_an_erasure_closes_the_open_tasks_about_the_person_and_keeps_nothing_of_them(write_files: WriteFiles,
                                                                                     tmp_path: Path) -> None:
    events = [person("E1", given_name="Zelda", family_name="Quixote"), leave("l1", LEAVE_AT),
              ev("x1", "privacy.erasure.requested", "2026-05-05T09:00:00Z")]
    runner = runner_for(write_files, {"care": NAMED_TASK})
    runner.run(events, at("2026-05-20T00:00:00Z"))
    (task,) = runner.tasks.values()
    assert (task.status, task.reason, task.closed_at) == ("cancelled", "erased", at("2026-05-05T09:00:00Z"))
    assert "Zelda" not in task.model_dump_json() and "Quixote" not in task.model_dump_json()
    # simulate writes the task's latest state, not the first one it saw
    file = tmp_path / "events.jsonl"
    file.write_text("".join(e.model_dump_json() + "\n" for e in events), encoding="utf-8")
    simulate_streaming(runner.engine.defs, file, at("2026-05-20T00:00:00Z"), tmp_path / "out")
    (written,) = read_jsonl(tmp_path / "out" / "tasks.jsonl")
    assert (written["status"], written["title"]) == ("cancelled", "(erased)")


def test_a_decision_after_the_review_window_closes_the_escalation_task(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"care": SENSITIVE}, "review_window: 2d\n")
    runner.run([person("E1"), ev("l1", "hris.leave.started", LEAVE_AT, leave_type="bereavement",
                                 start_date="2026-05-04")], at("2026-05-07T00:00:00Z"))
    (task,) = runner.tasks.values()
    assert (task.assignee, task.status) == ("review_escalation", "open")
    runner.run([decide("d1", "2026-05-07T09:00:00Z", only(runner).message_id, "reject")], at("2026-05-08T00:00:00Z"))
    (task,) = runner.tasks.values()
    assert (task.status, task.reason, task.closed_at) == ("cancelled", "decided", at("2026-05-07T09:00:00Z"))


def test_a_managers_explanation_says_what_kind_of_moment_and_when_never_its_details(write_files: WriteFiles) -> None:
    """SPEC §3: only what a journey, template or catalog rule reads leaves the engine; this template reads
    nothing about the leave, so the manager is not told it was medical."""
    checkin = """id: back
trigger: {event: hris.leave.ended}
steps:
  - id: manager
    send: {channel: email, to: manager, subject: "Check in", body: "Please check in with your team this week."}
  - id: employee
    send: {channel: email, subject: "Welcome back", body: "Good to have you back."}
"""
    runner = runner_for(write_files, {"back": checkin})
    runner.run([person("E1", locale="en-US"), person("M1", locale="en-US", manager_id=None),
                ev("e1", "hris.leave.ended", LEAVE_AT, leave_type="medical", return_date="2026-05-04")],
               at("2026-05-20T00:00:00Z"))
    to_manager = next(m for m in runner.messages.values() if m.step_id == "manager")
    to_employee = next(m for m in runner.messages.values() if m.step_id == "employee")
    assert to_manager.explanation is not None and to_manager.text is not None
    assert "their leave ended on May 4, 2026" in to_manager.explanation
    assert "medical" not in to_manager.explanation and "medical" not in to_manager.text
    assert to_employee.explanation is not None and "your medical leave ended" in to_employee.explanation


def test_a_late_copy_of_an_event_with_a_newer_time_does_not_enter_the_journey_again(write_files: WriteFiles) -> None:
    """SPEC §2: the same (source, id) twice has the effect of once, also after its key was let go
    (max_event_age) and a copy comes back with a newer time; each message_id once (SPEC §6)."""
    again = HELLO.replace("id: hello\n", "id: hello\nreentry: always\n")
    runner = runner_for(write_files, {"hello": again})
    first, copy = leave("dup1", LEAVE_AT), leave("dup1", "2026-07-10T09:00:00Z")
    runner.run([person("E1"), first, person("E1", "2026-06-15T00:00:00Z"),  # lets the first key go
                copy, leave("other", "2026-08-03T09:00:00Z")], at("2026-09-01T00:00:00Z"))
    assert sorted(m.created_at for m in runner.messages.values()) == [at(LEAVE_AT), at("2026-08-03T09:00:00Z")]


def test_a_late_copy_after_another_entry_does_not_enter_the_journey_again(write_files: WriteFiles) -> None:
    """The same, when another event entered the journey between the first and its copy: the copy came again with
    the first enrollment's id, so it sent that enrollment's messages a second time under the same message_id
    (twice in messages.jsonl); every entry's event is remembered, not only the last one's."""
    again = HELLO.replace("id: hello\n", "id: hello\nreentry: always\n")
    runner = runner_for(write_files, {"hello": again})
    events = [person("E1"), leave("dup1", LEAVE_AT), leave("other", "2026-06-01T09:00:00Z"),
              person("E1", "2026-06-15T00:00:00Z"), leave("dup1", "2026-07-10T09:00:00Z")]  # the copy, keys let go
    runner.run(events, at("2026-09-01T00:00:00Z"))
    assert sorted(m.created_at for m in runner.messages.values()) == [at(LEAVE_AT), at("2026-06-01T09:00:00Z")]
    _, latest = events_through_stages(runner.engine.defs, events, at("2026-09-01T00:00:00Z"))
    assert latest == {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}



def test_a_journey_entered_again_and_again_keeps_the_ids_of_its_latest_64_entries(write_files: WriteFiles) -> None:
    """A journey entered on every event of a kind (``reentry: always``) does not grow its person's state without
    end: the ids of the latest 64 entries are kept, each of them still entering nothing when it comes again."""
    again = HELLO.replace("id: hello\n", "id: hello\nreentry: always\n")
    runner = runner_for(write_files, {"hello": again})
    events = [person("E1")] + [leave(f"l{n}", f"2026-05-{1 + n // 24:02d}T{n % 24:02d}:00:00Z") for n in range(70)]
    runner.run(events, at("2026-06-01T00:00:00Z"))
    state = runner.states["E1"]
    assert len(state.entered_by["hello"]) == 64 and len(runner.messages) == 70
    assert state.entered_by["hello"] == [enrollment_id("test", f"l{n}") for n in range(6, 70)]

THRICE = HELLO.replace('body: "Hello."}', 'body: "Hello."}\n'
                       '  - id: again\n    send: {channel: email, subject: "Again", body: "Hello again."}\n'
                       '  - id: third\n    send: {channel: email, subject: "Third", body: "And again."}')
ONE_A_WEEK = QUIET + "frequency_cap: {max: 1, per: 7d}\n"


def test_a_pause_set_while_messages_wait_keeps_the_quiet_hours_and_the_cap(write_files: WriteFiles) -> None:
    """A pause moves what it holds to its end through the mailbox's own rules: an end inside quiet hours waits for
    them to end, and what waits behind the cap stays a cap window apart (SPEC §4)."""
    runner = runner_for(write_files, {"hello": HELLO}, QUIET)
    runner.run([person("E1"), leave("l1", EVENING),  # 21:00 in Berlin: held until 08:00
                prefs("p1", "2026-05-04T20:00:00Z", paused_until="2026-05-05T19:30:00Z")],  # ends 21:30 Berlin
               at("2026-05-20T00:00:00Z"))
    assert (only(runner).status, only(runner).scheduled_for) == ("sent", at("2026-05-06T06:00:00Z"))

    events = [person("E1"), leave("l1", LEAVE_AT), prefs("p1", "2026-05-05T09:00:00Z",
                                                          paused_until="2026-05-12T09:00:00Z")]
    runner = runner_for(write_files, {"hello": THRICE}, ONE_A_WEEK)
    runner.run(events[:2], at("2026-05-05T00:00:00Z"))
    assert sorted(m.scheduled_for for m in runner.messages.values()) == [
        at(LEAVE_AT), at("2026-05-11T09:00:00Z"), at("2026-05-18T09:00:00Z")]
    runner.run(events[2:], at("2026-06-01T00:00:00Z"))
    went = {m.step_id: (m.status, m.scheduled_for) for m in runner.messages.values()}
    assert went == {"hi": ("sent", at(LEAVE_AT)), "again": ("sent", at("2026-05-12T09:00:00Z")),
                    "third": ("sent", at("2026-05-19T09:00:00Z"))}  # a week after the one the pause held
    _, latest = events_through_stages(runner.engine.defs, events, at("2026-06-01T00:00:00Z"))
    assert latest == {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}


def test_quiet_hours_changed_while_a_message_waits_place_it_again(write_files: WriteFiles) -> None:
    for change in (prefs("p1", "2026-05-04T19:30:00Z", quiet_hours="18:00-10:00"),
                   person("E1", "2026-05-04T19:30:00Z", preferences={"quiet_hours": "18:00-10:00"})):
        runner = runner_for(write_files, {"hello": HELLO}, QUIET)
        runner.run([person("E1"), leave("l1", EVENING)], at(EVENING))
        assert only(runner).scheduled_for == at("2026-05-05T06:00:00Z")  # 08:00 in Berlin
        runner.run([change], at("2026-05-20T00:00:00Z"))
        assert (only(runner).status, only(runner).scheduled_for) == ("sent", at("2026-05-05T08:00:00Z")), change.type


def test_preferences_that_hold_nothing_leave_a_mailbox_with_the_placing_choices_alone(write_files: WriteFiles) -> None:
    # Since 2026-12-06 the mailbox keeps the time zone and quiet hours it places by (issue 12; before, such changes
    # made no mailbox, and a message was placed by the copy it carried): that, and nothing else, and no digest box.
    runner = runner_for(write_files, {"hello": HELLO}, QUIET)
    runner.run([person("E1"), prefs("p1", "2026-05-04T19:30:00Z", quiet_hours="18:00-10:00"),
                person("E1", "2026-05-04T19:40:00Z", timezone="Europe/Paris")], at("2026-05-05T00:00:00Z"))
    assert runner.digest_boxes == {}
    assert runner.mailboxes["E1"].model_dump(exclude_defaults=True) == {
        "recipient_id": "E1", "placing": {"timezone": "Europe/Paris", "quiet_hours": "18:00:00-10:00:00"}}


def test_a_null_locale_takes_the_chosen_locale_away(write_files: WriteFiles) -> None:
    # the HR system's (de-DE) is in force again (since 2026-12-05; before, it went too), and nothing of the choice
    # is kept
    runner = runner_for(write_files, {"hello": HELLO})
    runner.run([person("E1"), prefs("p1", "2026-05-01T09:00:00Z", locale="fr-FR")], at("2026-05-01T10:00:00Z"))
    assert runner.states["E1"].profile.locale == "fr-FR"
    runner.run([prefs("p2", "2026-05-02T09:00:00Z", locale=None)], at("2026-05-02T10:00:00Z"))
    assert (runner.states["E1"].profile.locale, runner.states["E1"].profile.preferences) == ("de-DE", {})


def _escalated(write_files: WriteFiles, policy: str = "review_window: 2d\n", *people: CloudEvent) -> EmbeddedRunner:
    runner = runner_for(write_files, {"care": SENSITIVE}, policy)
    runner.run([person("E1"), *people, ev("l1", "hris.leave.started", LEAVE_AT, leave_type="bereavement",
                                          start_date="2026-05-04")], at("2026-05-07T00:00:00Z"))
    (task,) = runner.tasks.values()
    assert (task.assignee, task.status) == ("review_escalation", "open")
    return runner


def test_an_exit_or_an_erasure_closes_the_escalation_of_the_message_it_withdraws(write_files: WriteFiles) -> None:
    runner = _escalated(write_files)
    runner.run([ev("t1", "hris.employee.terminated", "2026-05-07T09:00:00Z", date="2026-05-07",
                   reason="resignation")], at("2026-05-08T00:00:00Z"))
    (task,) = runner.tasks.values()
    assert (only(runner).status, only(runner).reason) == ("suppressed", "exited")
    assert (task.status, task.reason, task.closed_at) == ("cancelled", "exited", at("2026-05-07T09:00:00Z"))

    runner = _escalated(write_files)
    runner.run([ev("x1", "privacy.erasure.requested", "2026-05-07T09:00:00Z")], at("2026-05-08T00:00:00Z"))
    (task,) = runner.tasks.values()
    assert (task.status, task.reason, task.title, task.note) == ("cancelled", "erased", "(erased)", "")
    assert runner.states == {}


def test_a_completed_escalation_stays_completed_when_the_message_is_decided(write_files: WriteFiles) -> None:
    runner = _escalated(write_files)
    (task,) = runner.tasks.values()
    runner.run([ev("c1", "wayfinder.task.completed", "2026-05-07T08:00:00Z", task_id=task.task_id, actor_id="G1"),
                decide("d1", "2026-05-07T09:00:00Z", only(runner).message_id)], at("2026-05-08T00:00:00Z"))
    (task,) = runner.tasks.values()
    assert (task.status, only(runner).status) == ("completed", "approved")


def test_a_review_nobody_made_goes_to_the_hr_partners_lead_or_the_policys_contact(write_files: WriteFiles) -> None:
    """Issue 8: "a task for the HR partner's lead or a configured group"."""
    lead = person("H1", manager_id="L1", hr_partner_id=None)
    assert next(iter(_escalated(write_files, "review_window: 2d\n", lead).tasks.values())).assignee_id == "L1"
    assert next(iter(_escalated(write_files).tasks.values())).assignee_id == "H1"  # their lead is not known
    configured = _escalated(write_files, "review_window: 2d\nreview_escalation: people-leads\n", lead)
    assert next(iter(configured.tasks.values())).assignee_id == "people-leads"


TO_MANAGER = SENSITIVE.replace('send: {channel: email, subject:', 'send: {channel: email, to: manager, subject:')
TO_PARTNER = SENSITIVE.replace('send: {channel: email, subject:', 'send: {channel: email, to: hr_partner, subject:')


def test_a_review_is_never_escalated_to_the_person_the_message_is_to(write_files: WriteFiles) -> None:
    """Found by an audit of issue 8: a message to an HR partner with no lead on file was escalated to that HR
    partner, whose decisions on it are refused (self_review): only the reviewers can clear it, so it is theirs."""
    runner = runner_for(write_files, {"care": TO_PARTNER}, "review_window: 2d\n")
    runner.run([person("E1"), person("H1", manager_id=None, hr_partner_id=None),
                ev("l1", "hris.leave.started", LEAVE_AT, leave_type="bereavement", start_date="2026-05-04")],
               at("2026-05-07T00:00:00Z"))
    assert only(runner).recipient_id == "H1"
    (task,) = runner.tasks.values()
    assert (task.assignee, task.assignee_id, task.status) == ("review_escalation", None, "open")
    lead = runner_for(write_files, {"care": TO_PARTNER}, "review_window: 2d\n")
    lead.run([person("E1"), person("H1", manager_id="L1", hr_partner_id=None),
              ev("l1", "hris.leave.started", LEAVE_AT, leave_type="bereavement", start_date="2026-05-04")],
             at("2026-05-07T00:00:00Z"))
    assert [t.assignee_id for t in lead.tasks.values()] == ["L1"]  # their lead can decide on it


def test_an_approval_for_a_recipient_erased_since_sends_nothing_and_keeps_nothing_of_them(
        write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"care": TO_MANAGER})
    runner.run([person("E1"), person("M1", manager_id=None, given_name="Mordecai"),
                ev("l1", "hris.leave.started", LEAVE_AT, leave_type="bereavement", start_date="2026-05-04")],
               at(LEAVE_AT))
    held = only(runner)
    assert (held.status, held.recipient_id) == ("pending_approval", "M1")
    runner.run([ev("x1", "privacy.erasure.requested", "2026-05-04T10:00:00Z", "M1"),
                decide("d1", "2026-05-04T11:00:00Z", held.message_id)], at("2026-05-20T00:00:00Z"))
    message = only(runner)
    assert (message.status, message.reason, message.reviewer_id) == ("suppressed", "no_recipient", "H1")
    assert "m1@example.com" not in message.model_dump_json() and "Mordecai" not in message.model_dump_json()


def test_a_move_to_another_timezone_places_what_waits_in_the_new_one(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"hello": HELLO}, QUIET)
    runner.run([person("E1"), leave("l1", EVENING)], at(EVENING))
    assert only(runner).scheduled_for == at("2026-05-05T06:00:00Z")  # 08:00 in Berlin
    runner.run([person("E1", "2026-05-04T19:30:00Z", timezone="Asia/Tokyo")], at("2026-05-20T00:00:00Z"))
    assert (only(runner).status, only(runner).scheduled_for) == ("sent", at("2026-05-04T23:00:00Z"))  # 08:00 there


def test_a_relocation_places_what_waits_in_the_new_timezone(write_files: WriteFiles) -> None:
    """SPEC §3: ``relocated`` sets the timezone; what the mailbox holds for quiet hours is placed again in it."""
    runner = runner_for(write_files, {"hello": HELLO}, QUIET)
    runner.run([person("E1"), leave("l1", EVENING)], at(EVENING))
    assert only(runner).scheduled_for == at("2026-05-05T06:00:00Z")  # 08:00 in Berlin
    runner.run([ev("r1", "hris.employee.relocated", "2026-05-04T19:30:00Z", old_location="Berlin",
                   new_location="Tokyo", new_country="JP", new_timezone="Asia/Tokyo")], at("2026-05-20T00:00:00Z"))
    assert (only(runner).status, only(runner).scheduled_for) == ("sent", at("2026-05-04T23:00:00Z"))  # 08:00 there


def test_a_first_timezone_places_what_was_held_under_utc(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"hello": HELLO}, QUIET)
    # no timezone yet, in a country of several zones (Germany's only one would be taken since 2026-12-04)
    runner.run([person("E1", timezone=None, country="US"), leave("l1", "2026-05-04T21:00:00Z")],
               at("2026-05-04T21:00:00Z"))
    assert only(runner).scheduled_for == at("2026-05-05T08:00:00Z")  # 08:00 UTC
    runner.run([person("E1", "2026-05-04T21:30:00Z", timezone="America/New_York")], at("2026-05-20T00:00:00Z"))
    assert (only(runner).status, only(runner).scheduled_for) == ("sent", at("2026-05-04T21:30:00Z"))  # 17:30 there


BACK = """id: back
trigger: {event: hris.leave.started}
steps:
  - id: until-back
    wait_for: {event: hris.leave.ended, timeout: 365d}
  - id: week-after
    wait: {until: event.data.return_date, offset: 7d, at: "09:00"}
  - id: hello
    send: {channel: email, subject: "One week back", body: "How is it going?"}
"""


def test_a_move_during_a_wait_after_a_wait_for_keeps_its_local_date_and_time(write_files: WriteFiles) -> None:
    """The wait read the awaited event (``event.data.return_date``), which is not kept: a move keeps the local date
    and time of day it came to, in the new timezone (it was worked out again from the trigger, and failed)."""
    runner = runner_for(write_files, {"back": BACK})
    runner.run([person("E1"), leave("l1", "2026-03-02T09:00:00Z"),
                ev("e1", "hris.leave.ended", "2026-05-29T09:00:00Z", leave_type="other", return_date="2026-06-01"),
                ev("r1", "hris.employee.relocated", "2026-06-02T10:00:00Z", old_location="Berlin",
                   new_location="London", new_country="GB", new_timezone="Europe/London")],
               at("2026-07-01T00:00:00Z"))
    assert (only(runner).status, only(runner).scheduled_for) == ("sent", at("2026-06-08T08:00:00Z"))  # 09:00 London
    assert runner.stats.diagnostics["expression_failed"] == 0


MEETING = """id: meeting
trigger: {event: hris.leave.started}
steps:
  - id: until-booked
    wait_for: {event: onboarding.task.completed, timeout: 30d}
  - id: until-the-meeting
    wait: {until: event.data.meeting}
  - id: reminder
    send: {channel: email, subject: "Your meeting", body: "It starts now."}
"""


def test_a_move_during_a_wait_until_a_timestamp_after_a_wait_for_keeps_its_instant(write_files: WriteFiles) -> None:
    """SPEC §4: only a date (midnight) or ``at`` is local; a timestamp is the same instant wherever the person is
    (a move from Berlin to New York sent the reminder six hours late, at the meeting's Berlin wall-clock time)."""
    runner = runner_for(write_files, {"meeting": MEETING})
    runner.run([person("E1"), leave("l1", "2026-05-04T08:00:00Z"),
                ev("t1", "onboarding.task.completed", "2026-05-05T08:00:00Z", task_id="book",
                   meeting="2026-05-10T12:00:00Z"),
                ev("r1", "hris.employee.relocated", "2026-05-06T08:00:00Z", old_location="Berlin",
                   new_location="New York", new_country="US", new_timezone="America/New_York")],
               at("2026-05-20T00:00:00Z"))
    assert (only(runner).status, only(runner).scheduled_for) == ("sent", at("2026-05-10T12:00:00Z"))


FIRST_DAY = """id: first-day
trigger: {event: hris.employee.hired}
steps:
  - id: until-day-one
    wait: {until: employee.start_date, at: "09:00"}
  - id: welcome
    send: {channel: email, subject: "Welcome", body: "Today is your first day."}
"""


def hired(eid: str, time: str, subject: str, start_date: str) -> CloudEvent:
    return ev(eid, "hris.employee.hired", time, subject, start_date=start_date, role="Engineer",
              department="Engineering", location="Berlin", manager_id="M1")


def test_a_wait_until_a_profile_date_follows_an_upsert_that_moves_it(write_files: WriteFiles) -> None:
    """SPEC §3: an upsert merges into the profile, and ``until: employee.start_date`` is the start date as it is
    now: moved later, the welcome waits for the new day (it went on the old one, two weeks before the person
    joined); moved into the past, it goes at once (SPEC §4). The worker's stages decide the same."""
    runner = runner_for(write_files, {"first-day": FIRST_DAY})
    events = [person("E1"), person("E2"), hired("h1", "2026-05-04T08:00:00Z", "E1", "2026-06-01"),
              hired("h2", "2026-05-04T08:00:00Z", "E2", "2026-06-01"),
              person("E1", "2026-05-10T08:00:00Z", start_date="2026-06-15"),
              person("E2", "2026-05-10T08:00:00Z", start_date="2026-05-04")]
    runner.run(events, at("2026-07-01T00:00:00Z"))
    went = {m.employee_id: (m.status, m.scheduled_for) for m in runner.messages.values()}
    assert went == {"E1": ("sent", at("2026-06-15T07:00:00Z")),  # 09:00 in Berlin on the new day
                    "E2": ("sent", at("2026-05-10T08:00:00Z"))}  # already past: at once
    _, latest = events_through_stages(runner.engine.defs, events, at("2026-07-01T00:00:00Z"))
    assert latest == {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}


TO_THE_MANAGER = """id: news
trigger: {event: hris.dependent.added}
exit_on:
  - {event: hris.employee.terminated}
steps:
  - id: tell
    send: {channel: email, to: manager, subject: "News in your team", body: "Someone has news."}
"""


def test_a_withdrawn_message_frees_its_place_in_the_cap_for_what_waits_behind_it(write_files: WriteFiles) -> None:
    """SPEC §4: a capped message waits for the oldest message in the window to leave it; one that never went (its
    journey exited) is not in the window."""
    births = [ev(f"b{n}", "hris.dependent.added", f"2026-03-0{n + 1}T10:00:00Z", f"E{n}", relationship="child",
                 reason="birth", date=f"2026-03-0{n + 1}") for n in (1, 2, 3)]
    events = [person("M1", manager_id=None), *(person(f"E{n}") for n in (1, 2, 3)), *births,
              ev("t2", "hris.employee.terminated", "2026-03-05T10:00:00Z", "E2", date="2026-03-05",
                 reason="resignation")]
    runner = runner_for(write_files, {"news": TO_THE_MANAGER}, "frequency_cap: {max: 1, per: 7d}\n")
    runner.run(events, at("2026-06-01T00:00:00Z"))
    went = {m.employee_id: (m.status, m.reason, m.scheduled_for) for m in runner.messages.values()}
    assert went == {"E1": ("sent", None, at("2026-03-02T10:00:00Z")),
                    "E2": ("suppressed", "exited", at("2026-03-05T10:00:00Z")),
                    "E3": ("sent", None, at("2026-03-09T10:00:00Z"))}  # when E1's leaves the window
    _, latest = events_through_stages(runner.engine.defs, events, at("2026-06-01T00:00:00Z"))
    assert latest == {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}


HEADS_UP = """id: heads-up
trigger: {event: hris.job.changed}
reentry: always
steps:
  - id: tell
    send: {channel: email, to: manager, subject: "About your report", body: "Please check in."}
"""
CHECK_IN = """id: check-in
trigger: {event: wellbeing.signal}
steps:
  - id: tell
    send: {channel: email, to: manager, subject: "About your report", body: "Please check in."}
"""


def test_a_message_waiting_for_a_manager_the_person_no_longer_has_does_not_go_to_them(
        write_files: WriteFiles) -> None:
    """An audit on 2026-12-04: a report's wellbeing message, approved after their manager changed, went to the
    manager they had left; so did one held by quiet hours. Both are suppressed, reason ``recipient_changed``, in
    simulate and in the worker's stages alike; a message to the new manager is untouched."""
    runner = runner_for(write_files, {"heads-up": HEADS_UP, "check-in": CHECK_IN}, QUIET)
    events = [person("M1", manager_id=None), person("M2", manager_id=None), person("E1"),
              ev("w1", "wellbeing.signal", "2026-05-04T10:00:00Z", signal="workload_spike", score=0.9),
              ev("j1", "hris.job.changed", EVENING, change="promotion", new_role="Lead"),
              ev("mc", "hris.manager.changed", "2026-05-04T20:00:00Z", old_manager_id="M1", new_manager_id="M2"),
              ev("j2", "hris.job.changed", "2026-05-05T09:00:00Z", change="transfer", new_role="Lead")]
    runner.run(events, at("2026-05-20T00:00:00Z"))
    said = sorted((m.journey_id, m.recipient_id, m.status, m.reason) for m in runner.messages.values())
    assert said == [("check-in", "M1", "suppressed", "recipient_changed"),
                    ("heads-up", "M1", "suppressed", "recipient_changed"),
                    ("heads-up", "M2", "sent", None)]
    _, latest = events_through_stages(runner.engine.defs, events, at("2026-05-20T00:00:00Z"))
    assert latest == {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}


def test_a_recipient_whose_zone_comes_from_their_country_has_held_messages_placed_again_when_they_move(
        write_files: WriteFiles) -> None:
    """A review of 2026-12-04: a manager with ``country: JP`` and no zone on file lives in Tokyo's time; their
    upsert to ``country: DE`` moved their time but not what their mailbox held (it went at 08:00 Tokyo, 01:00 in
    Berlin), though the same move written as zones was placed again."""
    for written in ("country", "zone"):
        tokyo = {"country": "JP", "timezone": None} if written == "country" else {"country": "JP",
                                                                                  "timezone": "Asia/Tokyo"}
        berlin = {"country": "DE", "timezone": None} if written == "country" else {"country": "DE",
                                                                                   "timezone": "Europe/Berlin"}
        runner = runner_for(write_files, {"heads-up": HEADS_UP}, QUIET)
        events = [person("M1", manager_id=None, **tokyo), person("E1"),
                  ev("j1", "hris.job.changed", "2026-05-04T12:00:00Z", change="promotion", new_role="Lead"),
                  person("M1", "2026-05-04T12:30:00Z", manager_id=None, **berlin)]
        runner.run(events, at("2026-05-20T00:00:00Z"))
        [message] = runner.messages.values()
        assert (message.status, message.scheduled_for) == ("sent", at("2026-05-04T12:30:00Z")), written
        _, latest = events_through_stages(runner.engine.defs, events, at("2026-05-20T00:00:00Z"))
        assert latest == {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}, written


HR_NOTE = """id: hr-note
trigger: {event: hris.job.changed}
steps:
  - id: tell
    send: {channel: email, to: hr_partner, subject: "About your colleague", body: "A change."}
"""


def test_a_person_who_stays_manager_but_is_no_longer_hr_partner_gets_only_the_managers_messages(
        write_files: WriteFiles) -> None:
    """A review of 2026-12-04: with M1 both manager and HR partner, a new HR partner left M1's held HR-partner
    message to go (the cancel was skipped while M1 still held a role); only the role that changed is withdrawn."""
    runner = runner_for(write_files, {"heads-up": HEADS_UP, "hr-note": HR_NOTE}, QUIET)
    events = [person("M1", manager_id=None), person("H2", manager_id=None), person("E1", hr_partner_id="M1"),
              ev("j1", "hris.job.changed", EVENING, change="promotion", new_role="Lead"),
              person("E1", "2026-05-04T20:00:00Z", hr_partner_id="H2")]
    runner.run(events, at("2026-05-20T00:00:00Z"))
    said = sorted((m.journey_id, m.recipient_id, m.status, m.reason) for m in runner.messages.values())
    assert said == [("heads-up", "M1", "sent", None), ("hr-note", "M1", "suppressed", "recipient_changed")]
    _, latest = events_through_stages(runner.engine.defs, events, at("2026-05-20T00:00:00Z"))
    assert latest == {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}


def test_a_move_that_lets_a_wait_go_at_once_places_the_message_where_the_person_is_now(
        write_files: WriteFiles) -> None:
    """An upsert that moves E1 to Tokyo and their start date into the past sends the welcome at once (SPEC §4), in
    the quiet hours of where they are now: held to 08:00 in Tokyo. The mailbox places by the choices it heard last
    (README "Kafka order"), so the move reaches it before the message the move lets go (it was sent at 21:00 in
    Tokyo, by Berlin's hours). The worker's stages decide the same."""
    runner = runner_for(write_files, {"first-day": FIRST_DAY}, QUIET)
    events = [person("E1"), hired("h1", "2026-05-04T08:00:00Z", "E1", "2026-06-01"),
              person("E1", "2026-05-11T12:00:00Z", start_date="2026-05-04", country="JP", timezone="Asia/Tokyo")]
    runner.run(events, at("2026-07-01T00:00:00Z"))
    assert (only(runner).status, only(runner).reason, only(runner).scheduled_for) == (
        "sent", None, at("2026-05-11T23:00:00Z"))  # 08:00 on 12 May in Tokyo
    _, latest = events_through_stages(runner.engine.defs, events, at("2026-07-01T00:00:00Z"))
    assert latest == {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}
