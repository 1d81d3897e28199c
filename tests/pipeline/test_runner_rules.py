"""The journey core, rule by rule, on a fake clock (the event times and timer due times)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.pipeline.stages import Pipeline
from tests.support import LAPTOP_WAIT, WORLD, WriteFiles, at, world_defs
from wayfinder.journeys.effects import Diagnostic, Lifecycle
from wayfinder.journeys.engine import Engine
from wayfinder.journeys.events import CloudEvent
from wayfinder.journeys.loader import Sources, load_or_raise
from wayfinder.journeys.records import Message
from wayfinder.streams.app import load_definitions
from wayfinder.streams.embedded import EmbeddedRunner
from wayfinder.streams.settings import WorkerSettings

HEAD = """apiVersion: wayfinder/v1
kind: Journey
name: Test journey
owner: hr@example.com
"""


def ev(eid: str, etype: str, time: str, subject: str = "E1", **data: object) -> CloudEvent:
    return CloudEvent(specversion="1.0", id=eid, source="test", type=etype, time=at(time), subject=subject,
                      data=dict(data))


def person(subject: str, time: str = "2025-12-01T00:00:00Z", **fields: object) -> CloudEvent:
    base: dict[str, object] = {"id": subject, "given_name": subject.title(), "email": f"{subject.lower()}@example.com",
                               "country": "DE", "timezone": "Europe/Berlin", "locale": "de-DE",
                               "employment_type": "employee", "work_mode": "hybrid", "department": "Engineering",
                               "manager_id": "M1", "hr_partner_id": "H1"}
    base.update(fields)
    return ev(f"p-{subject}-{time}", "hris.employee.upserted", time, subject, **base)


def runner_for(write_files: WriteFiles, journeys: dict[str, str], policy: str | None = None) -> EmbeddedRunner:
    files = {f"journeys/{name}.yaml": HEAD + body for name, body in journeys.items()}
    if policy is not None:
        files["policy.yaml"] = "apiVersion: wayfinder/v1\nkind: Policy\n" + policy
    root = write_files(files)
    return EmbeddedRunner(world_defs(root / "journeys", root / "policy.yaml" if policy is not None else None))


def by_step(runner: EmbeddedRunner, employee: str = "E1") -> dict[str, Message]:
    return {m.step_id: m for m in runner.messages.values() if m.employee_id == employee}


LEAVE = """id: leave
version: 2
trigger: {event: hris.leave.started}
exit_on:
  - {event: hris.leave.ended, when: 'event.data.leave_type == "medical"'}
steps:
  - id: hello
    send: {channel: email, subject: "Hi {{ recipient.given_name }}", body: "Take care."}
  - id: pause
    wait: {for: 3d}
  - id: later
    send: {channel: intranet, subject: "Later", body: "Still here."}
"""


def test_wait_for_days_keeps_local_time_and_message_ids_are_stable(write_files: WriteFiles) -> None:
    events = [person("E1"), ev("l1", "hris.leave.started", "2026-03-27T09:00:00Z", leave_type="parental",
                                start_date="2026-03-27")]
    first = runner_for(write_files, {"leave": LEAVE})
    first.run(events, at("2026-04-30T00:00:00Z"))
    msgs = by_step(first)
    assert msgs["hello"].subject == "Hi E1"
    # 10:00 CET on Friday; three calendar days later is 11:00Z after the change to CEST: still 10:00 local.
    assert msgs["later"].scheduled_for == at("2026-03-30T08:00:00Z")
    again = EmbeddedRunner(first.engine.defs)
    again.run(events, at("2026-04-30T00:00:00Z"))
    assert list(again.messages) == list(first.messages)


def test_reentry_in_days_counts_local_calendar_days(write_files: WriteFiles) -> None:
    """Found by an audit on 2026-12-04: ``reentry: 1d`` was 24 hours, so 11:00 on the Sunday the clocks go forward
    in Berlin (23 hours after 11:00 on Saturday) was refused, against the README's durations (days are local)."""
    again = """id: again
reentry: 1d
trigger: {event: onboarding.task.completed}
steps:
  - id: hello
    send: {channel: intranet, subject: "Hello", body: "Again."}
"""
    runner = runner_for(write_files, {"again": again})
    runner.run([person("E1"),
                ev("t1", "onboarding.task.completed", "2026-03-28T10:00:00Z", task_id="x"),  # 11:00 CET
                ev("t2", "onboarding.task.completed", "2026-03-29T08:59:00Z", task_id="x"),  # 10:59 CEST: too soon
                ev("t3", "onboarding.task.completed", "2026-03-29T09:00:00Z", task_id="x")],  # 11:00 CEST
               at("2026-04-01T00:00:00Z"))
    entered = sorted(m.created_at for m in runner.messages.values())
    assert entered == [at("2026-03-28T10:00:00Z"), at("2026-03-29T09:00:00Z")]


def test_exit_on_with_condition_ends_the_enrollment(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"leave": LEAVE})
    runner.run([
        person("E1"),
        ev("l1", "hris.leave.started", "2026-05-04T09:00:00Z", leave_type="medical", start_date="2026-05-04"),
        ev("x1", "hris.leave.ended", "2026-05-05T09:00:00Z", leave_type="parental", return_date="2026-05-05"),
        ev("x2", "hris.leave.ended", "2026-05-06T09:00:00Z", leave_type="medical", return_date="2026-05-06"),
    ], at("2026-06-01T00:00:00Z"))
    assert set(by_step(runner)) == {"hello"}
    assert runner.stats.lifecycle[("leave", "exited")] == 1


def test_exit_suppresses_a_deferred_message(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"leave": LEAVE}, policy='quiet_hours: {start: "20:00", end: "08:00"}\n')
    runner.run([
        person("E1"),
        ev("l1", "hris.leave.started", "2026-05-04T21:00:00Z", leave_type="medical", start_date="2026-05-04"),
        ev("x2", "hris.leave.ended", "2026-05-04T22:00:00Z", leave_type="medical", return_date="2026-05-06"),
    ], at("2026-06-01T00:00:00Z"))
    hello = by_step(runner)["hello"]
    assert (hello.status, hello.reason) == ("suppressed", "exited")


WAIT_FOR = """id: laptop
trigger: {event: hris.employee.hired}
steps:
""" + LAPTOP_WAIT + """  - id: nudge
    send: {channel: email, subject: "Need help?", body: "Your laptop is not set up yet."}
"""


def test_wait_for_keyed_event_continues_and_timeout_jumps(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"laptop": WAIT_FOR})
    runner.run([
        person("E1"), person("E2"),
        ev("h1", "hris.employee.hired", "2026-02-02T09:00:00Z", "E1", start_date="2026-02-02"),
        ev("h2", "hris.employee.hired", "2026-02-02T09:00:00Z", "E2", start_date="2026-02-02"),
        ev("t0", "onboarding.task.completed", "2026-02-03T09:00:00Z", "E1", task_id="it-accounts"),
        ev("t1", "onboarding.task.completed", "2026-02-04T09:00:00Z", "E1", task_id="laptop"),
    ], at("2026-03-01T00:00:00Z"))
    assert set(by_step(runner, "E1")) == {"thanks"}
    assert by_step(runner, "E1")["thanks"].scheduled_for == at("2026-02-04T09:00:00Z")
    assert set(by_step(runner, "E2")) == {"nudge"}
    assert by_step(runner, "E2")["nudge"].scheduled_for == at("2026-02-09T09:00:00Z")


BEREAVEMENT = """id: bereavement
sensitivity: sensitive
trigger: {event: hris.leave.started, when: 'event.data.leave_type == "bereavement"'}
steps:
  - id: tell-partner
    task: {assignee: hr_partner, title: "Reach out to {{ employee.given_name }}", note: "Leave started."}
  - id: condolence
    send: {channel: email, template: bereavement/condolence, resources: {topics: [bereavement]}}
  - id: manager
    send: {channel: email, to: manager, subject: "Your report", body: "Please check in."}
"""


def test_sensitive_journey_waits_for_a_person_and_opens_a_task(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"bereavement": BEREAVEMENT})
    runner.run([person("E1"), person("M1", hr_partner_id=None, manager_id=None),
                ev("b1", "hris.leave.started", "2026-04-01T09:00:00Z", leave_type="bereavement",
                   start_date="2026-04-01")])
    msgs = by_step(runner)
    assert msgs["condolence"].status == "pending_approval"
    assert msgs["condolence"].resources == ["bereavement-leave"]
    assert msgs["manager"].recipient_id == "M1"
    assert msgs["manager"].recipient_email == "m1@example.com"
    [task] = runner.tasks.values()
    assert (task.assignee, task.assignee_id, task.title) == ("hr_partner", "H1", "Reach out to E1")


TASKS_AND_MESSAGES = """id: care
trigger: {event: hris.leave.started}
steps:
  - id: first
    send: {channel: email, template: bereavement/condolence}
  - id: partner
    task: {assignee: hr_partner, title: "Call {{ employee.given_name }}", note: Bereavement}
  - id: cover
    task: {assignee: manager, title: Arrange cover, note: Bereavement}
  - id: second
    send: {channel: intranet, template: bereavement/condolence}
"""


def test_a_task_is_no_message_quiet_hours_and_the_cap_leave_it_alone_and_a_missing_role_still_opens_it(
        write_files: WriteFiles) -> None:
    """SPEC §4/§7 (an audit of tasks.jsonl, 2026-12-06): the cap and quiet hours are the recipient's, for messages;
    a task opens when its step runs, with ``created_at`` the step's time. One for a role nobody else holds (no HR
    partner on file, a person who is their own manager) still opens, with no assignee id (README "Recipients")."""
    runner = runner_for(write_files, {"care": TASKS_AND_MESSAGES},
                        'quiet_hours: {start: "20:00", end: "08:00"}\nfrequency_cap: {max: 1, per: 7d}\n')
    runner.run([person("E1"), person("E2", hr_partner_id=None, manager_id="E2"),
                ev("b1", "hris.leave.started", "2026-03-02T21:30:00Z", leave_type="bereavement"),
                ev("b2", "hris.leave.started", "2026-03-02T21:30:00Z", "E2", leave_type="bereavement")],
               at("2026-03-20T00:00:00Z"))
    tasks = {(t.employee_id, t.step_id): (t.assignee, t.assignee_id, t.title, t.created_at)
             for t in runner.tasks.values()}
    made = at("2026-03-02T21:30:00Z")  # 22:30 in Berlin: quiet
    assert tasks == {("E1", "partner"): ("hr_partner", "H1", "Call E1", made),
                     ("E1", "cover"): ("manager", "M1", "Arrange cover", made),
                     ("E2", "partner"): ("hr_partner", None, "Call E2", made),
                     ("E2", "cover"): ("manager", None, "Arrange cover", made)}
    went = {s: (m.status, m.scheduled_for) for s, m in by_step(runner).items()}
    # 08:00 in Berlin the next morning, then the cap's week from it: the tasks took no place in it
    assert went == {"first": ("sent", at("2026-03-03T07:00:00Z")), "second": ("sent", at("2026-03-10T07:00:00Z"))}


def test_manager_missing_is_no_recipient_not_an_error(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"bereavement": BEREAVEMENT.replace("sensitivity: sensitive", "")})
    runner.run([person("E1", manager_id=None),
                ev("b1", "hris.leave.started", "2026-04-01T09:00:00Z", leave_type="bereavement",
                   start_date="2026-04-01")])
    manager = by_step(runner)["manager"]
    assert (manager.status, manager.reason, manager.recipient_id) == ("suppressed", "no_recipient", None)


def test_an_email_to_a_person_without_an_address_is_no_recipient_and_an_intranet_post_still_goes(
        write_files: WriteFiles) -> None:
    """Issue 9: a message to a recipient without a profile *or address* is suppressed, never ``sent`` to nobody. An
    employee known only by events (no upsert) or whose upserts gave no email has no address for email; the
    intranet reaches them by id."""
    journey = """id: ping
trigger: {event: onboarding.task.completed}
reentry: always
steps:
  - id: mail
    send: {channel: email, subject: "Hi", body: "Mail"}
  - id: post
    send: {channel: intranet, subject: "Hi", body: "Post"}
  - id: manager
    send: {channel: email, to: manager, subject: "Hi", body: "About your report"}
"""
    runner = runner_for(write_files, {"ping": journey})
    runner.run([person("E1", email=None), person("M1", email=None, manager_id=None),
                ev("t1", "onboarding.task.completed", "2026-04-01T09:00:00Z", task_id="x"),
                ev("t2", "onboarding.task.completed", "2026-04-01T09:00:00Z", subject="E2", task_id="x")])
    for employee in ("E1", "E2"):
        msgs = by_step(runner, employee)
        assert (msgs["mail"].status, msgs["mail"].reason) == ("suppressed", "no_recipient"), employee
        assert msgs["mail"].text is None  # nothing rendered for nobody
        assert msgs["post"].status == "sent", employee
    assert (by_step(runner)["manager"].status, by_step(runner)["manager"].reason) == ("suppressed", "no_recipient")


@pytest.mark.parametrize("email", ["", "   ", "not an email", "a@", "@example.com", "a b@example.com"])
def test_text_that_is_no_address_is_no_address(write_files: WriteFiles, email: str) -> None:
    """A blank or plainly wrong ``email`` on the profile is no address: ``no_recipient``, not ``sent``."""
    journey = """id: ping
trigger: {event: onboarding.task.completed}
steps:
  - id: mail
    send: {channel: email, subject: "Hi", body: "Mail"}
"""
    runner = runner_for(write_files, {"ping": journey})
    runner.run([person("E1", email=email), ev("t1", "onboarding.task.completed", "2026-04-01T09:00:00Z", task_id="x")])
    assert (by_step(runner, "E1")["mail"].status, by_step(runner, "E1")["mail"].reason) == ("suppressed",
                                                                                           "no_recipient")


def test_policy_sensitive_topic_holds_the_message(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"bereavement": BEREAVEMENT.replace("sensitivity: sensitive", "")},
                        policy="sensitive_topics: [bereavement]\n")
    runner.run([person("E1"), person("M1"), ev("b1", "hris.leave.started", "2026-04-01T09:00:00Z",
                                               leave_type="bereavement", start_date="2026-04-01")])
    msgs = by_step(runner)
    assert msgs["condolence"].status == "pending_approval"
    assert msgs["manager"].status == "sent"


def test_a_manager_id_nobody_has_a_profile_for_is_no_recipient(write_files: WriteFiles) -> None:
    """Issue 9: a recipient id the directory does not know (no profile, so no address or locale) is suppressed
    with reason ``no_recipient``, not recorded as sent; one whose profile comes later is still sent to."""
    runner = runner_for(write_files, {"bereavement": BEREAVEMENT.replace("sensitivity: sensitive", "")})
    runner.run([person("E1"), ev("b1", "hris.leave.started", "2026-04-01T09:00:00Z", leave_type="bereavement",
                                 start_date="2026-04-01"),
                person("E2", manager_id="M2"), person("M2", time="2026-04-02T00:00:00Z"),
                ev("b2", "hris.leave.started", "2026-04-03T09:00:00Z", "E2", leave_type="bereavement",
                   start_date="2026-04-03")])
    manager = by_step(runner)["manager"]
    assert (manager.status, manager.reason, manager.recipient_id) == ("suppressed", "no_recipient", "M1")
    assert by_step(runner, "E2")["manager"].status == "sent"


PARENT = """id: parent
reentry: {reentry}
trigger: {{event: hris.dependent.added, when: 'event.data.relationship == "child"'}}
steps:
  - id: welcome
    send: {{channel: email, template: new-parent/welcome, resources: {{topics: [parental-leave, childcare]}}}}
"""


def test_opt_outs_suppress_with_their_reason(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"parent": PARENT.format(reentry="never")})
    runner.run([
        person("E1", preferences={"opt_out_channels": ["email"]}),
        person("E2", preferences={"opt_out_topics": ["family"]}),
        person("E3", preferences={"opt_out_topics": ["childcare"]}),
        *(ev(f"d{n}", "hris.dependent.added", "2026-04-01T09:00:00Z", f"E{n}", relationship="child",
             date="2026-03-31") for n in (1, 2, 3)),
    ])
    assert by_step(runner, "E1")["welcome"].reason == "opted_out_channel"
    assert by_step(runner, "E2")["welcome"].reason == "opted_out_topic"
    third = by_step(runner, "E3")["welcome"]
    assert (third.status, third.resources) == ("sent", ["de-parental-leave"])


def test_a_message_to_the_manager_leaves_out_the_topics_the_manager_opted_out_of(write_files: WriteFiles) -> None:
    """The reader's topics decide, as their mailbox decides when a held message goes: an audit on 2026-12-06 found
    the employee's opt-outs stripped and suppressed the note to their manager, and the manager's own reached them
    unless quiet hours held the message."""
    journey = PARENT.format(reentry="never").replace("channel: email,", "channel: email, to: manager,")
    runner = runner_for(write_files, {"parent": journey})
    runner.run([
        person("E1", manager_id="M1", preferences={"opt_out_topics": ["family"]}), person("M1"),
        person("E2", manager_id="M2"), person("M2", preferences={"opt_out_topics": ["childcare"]}),
        person("E3", manager_id="M3"), person("M3", preferences={"opt_out_topics": ["family"]}),
        *(ev(f"d{n}", "hris.dependent.added", "2026-04-01T09:00:00Z", f"E{n}", relationship="child",
             date="2026-03-31") for n in (1, 2, 3)),
    ])
    first = by_step(runner, "E1")["welcome"]
    assert (first.recipient_id, first.status) == ("M1", "sent")
    assert {"parental-leave", "childcare"} <= set(first.topics)
    second = by_step(runner, "E2")["welcome"]
    assert (second.recipient_id, second.status, second.resources) == ("M2", "sent", ["de-parental-leave"])
    third = by_step(runner, "E3")["welcome"]
    assert (third.recipient_id, third.status, third.reason) == ("M3", "suppressed", "opted_out_topic")


def _births(n: int, days_apart: int) -> list[CloudEvent]:
    start = at("2026-01-05T09:00:00Z")
    return [ev(f"d{i}", "hris.dependent.added", (start + timedelta(days=i * days_apart)).isoformat(),
               relationship="child", date="2026-01-04") for i in range(n)]


def test_reentry_never_always_and_duration(write_files: WriteFiles) -> None:
    counts = {}
    for reentry in ("never", "always", "30d"):
        runner = runner_for(write_files, {"parent": PARENT.format(reentry=reentry)})
        runner.run([person("E1"), *_births(4, 20)])
        counts[reentry] = runner.stats.lifecycle[("parent", "enrolled")]
    assert counts == {"never": 1, "always": 4, "30d": 2}


def test_resources_are_not_delivered_twice(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"parent": PARENT.format(reentry="always")})
    runner.run([person("E1"), *_births(2, 20)])
    first, second = sorted(runner.messages.values(), key=lambda m: m.scheduled_for)
    assert set(first.resources) == {"de-parental-leave", "childcare-de"}
    assert second.resources == []


def test_duplicate_event_has_the_effect_of_once_and_stale_trigger_enrolls_no_one(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"parent": PARENT.format(reentry="always")})
    birth = ev("d1", "hris.dependent.added", "2026-04-01T09:00:00Z", relationship="child", date="2026-03-31")
    runner.run([person("E1"), birth, birth])
    assert len(runner.messages) == 1
    assert runner.stats.duplicates == 1
    engine = runner.engine
    state = runner.states["E1"]
    late = ev("d2", "hris.dependent.added", "2026-04-02T09:00:00Z", relationship="child", date="2026-03-31")
    outcome = engine.on_event(state, late, at("2026-04-20T09:00:00Z"))
    assert Lifecycle("stale", None) in outcome.effects
    assert not [e for e in outcome.effects if isinstance(e, Lifecycle) and e.kind == "enrolled"]


def test_expression_failure_counts_as_false_and_is_reported(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"p": PARENT.format(reentry="never").replace(
        'when: \'event.data.relationship == "child"\'', "when: 'event.data.reason == \"birth\"'")})
    events = [person("E1"), ev("d1", "hris.dependent.added", "2026-04-01T09:00:00Z", relationship="child",
                               date="2026-03-31")]
    runner.run(events)
    assert runner.messages == {}
    assert runner.stats.diagnostics["expression_failed"] == 1
    outcome = Engine(runner.engine.defs).on_event(None, events[1], events[1].time)
    [diag] = [e for e in outcome.effects if isinstance(e, Diagnostic)]
    assert diag.journey_id == "parent" and "reason" in diag.detail  # SPEC lists it; this event lacks it


def test_branch_and_roadmap_in_requires_order(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"onboarding": """id: onboarding
trigger: {event: hris.employee.hired}
steps:
  - id: where
    branch: {if: 'employee.work_mode == "remote"', then: remote}
  - id: roadmap
    roadmap: {topics: [onboarding], horizon: 30d, channel: email, template: onboarding/roadmap}
  - id: stop
    end: {}
  - id: remote
    send: {channel: email, template: onboarding/welcome}
"""})
    runner.run([person("E1"), person("E2", work_mode="remote"),
                ev("h1", "hris.employee.hired", "2026-02-02T09:00:00Z", "E1", start_date="2026-02-09",
                   department="Engineering"),
                ev("h2", "hris.employee.hired", "2026-02-02T09:00:00Z", "E2", start_date="2026-02-09")])
    roadmap = by_step(runner, "E1")["roadmap"]
    assert roadmap.resources == ["it-accounts", "laptop-setup", "team-intro", "security-training", "eng-dev-env"]
    assert roadmap.text is not None and roadmap.text.startswith("- Activate your accounts\n- Set up your laptop")
    assert set(by_step(runner, "E2")) == {"remote"}


def test_a_roadmap_not_triggered_by_a_hire_is_dated_from_the_day_its_trigger_is_about(write_files: WriteFiles
                                                                                    ) -> None:
    """A return from leave dates its roadmap from the return date and a job change from the day of the event, not
    from the hire years before (every item was dated in 2019); a hire still dates it from the start date."""
    step = """steps:
  - id: roadmap
    roadmap: {topics: [onboarding], horizon: 30d, channel: email, template: dated/roadmap}
"""
    root = write_files({
        "journeys/back.yaml": HEAD + "id: back\ntrigger: {event: hris.leave.ended}\n" + step,
        "journeys/moved.yaml": HEAD + "id: moved\ntrigger: {event: hris.job.changed}\n" + step,
        "journeys/hired.yaml": HEAD + "id: hired\ntrigger: {event: hris.employee.hired}\n" + step,
        "templates/dated/roadmap.yaml": """apiVersion: wayfinder/v1
kind: Template
subject: Your roadmap
text: "{% for item in roadmap %}- {{ item.date }} {{ item.id }}\\n{% endfor %}"
""",
    })
    defs = load_or_raise(Sources(paths=[root / "journeys", WORLD / "catalog"],
                                 templates=[WORLD / "templates", root / "templates"]))
    runner = EmbeddedRunner(defs)
    runner.run([person("E1", start_date="2019-04-01"), person("E2", start_date="2019-04-01"), person("E3"),
                ev("b1", "hris.leave.ended", "2026-06-01T06:00:00Z", "E1", leave_type="parental",
                   return_date="2026-06-01"),
                ev("j1", "hris.job.changed", "2026-06-03T08:00:00Z", "E2", change="transfer", old_role="Analyst",
                   new_role="Engineer", old_department="Sales", new_department="Engineering"),
                ev("h1", "hris.employee.hired", "2026-06-03T08:00:00Z", "E3", start_date="2026-06-08")])

    def dated(employee: str) -> list[str]:
        text = by_step(runner, employee)["roadmap"].text
        assert text is not None
        return [line[2:] for line in text.splitlines() if line.startswith("- ")]

    assert dated("E1")[:2] == ["2026-06-01 it-accounts", "2026-06-01 laptop-setup"]
    assert "2026-06-02 team-intro" in dated("E1")
    assert dated("E2")[0] == "2026-06-03 it-accounts" and "2026-06-04 team-intro" in dated("E2")
    assert dated("E3")[0] == "2026-06-08 it-accounts"


def test_erasure_forgets_everything_pending(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"leave": LEAVE, "bereavement": BEREAVEMENT})
    runner.run([
        person("E1"),
        ev("l1", "hris.leave.started", "2026-05-04T09:00:00Z", leave_type="bereavement", start_date="2026-05-04"),
        ev("z1", "privacy.erasure.requested", "2026-05-05T09:00:00Z"),
    ], at("2026-06-01T00:00:00Z"))
    assert "E1" not in runner.states
    remaining = [m for m in runner.messages.values() if m.status in ("pending_approval", "deferred")]
    assert remaining == []
    erased = [m for m in runner.messages.values() if m.reason == "erased"]
    assert erased and all(m.subject is None and m.text is None for m in erased)
    assert not [m for m in runner.messages.values() if m.scheduled_for > at("2026-05-05T09:00:00Z")]
    assert runner.audit_records[0]["action"] == "privacy.erasure"
    assert "later" not in {m.step_id for m in runner.messages.values()}
    assert runner.pending_timers == 0


def test_enrollment_keeps_its_journey_version(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"leave": LEAVE})
    runner.run([person("E1"), ev("l1", "hris.leave.started", "2026-05-04T09:00:00Z", leave_type="other",
                                 start_date="2026-05-04")])
    assert runner.states["E1"].enrollments["leave"].version == 2
    assert {m.journey_version for m in runner.messages.values()} == {2}


def test_paused_and_draft_journeys_do_not_enroll_unless_drafts_are_included(write_files: WriteFiles) -> None:
    root = write_files({
        "journeys/a.yaml": HEAD + "status: paused\n" + PARENT.format(reentry="never").replace("id: parent", "id: a"),
        "journeys/b.yaml": HEAD + "status: draft\n" + PARENT.format(reentry="never").replace("id: parent", "id: b"),
    })
    defs = world_defs(root / "journeys")
    events = [person("E1"), ev("d1", "hris.dependent.added", "2026-04-01T09:00:00Z", relationship="child",
                               date="2026-03-31")]
    plain = EmbeddedRunner(defs)
    plain.run(events)
    assert plain.messages == {}
    drafts = EmbeddedRunner(defs, include_drafts=True)
    drafts.run(events)
    assert {m.journey_id for m in drafts.messages.values()} == {"b"}


def test_expressions_after_a_timer_see_utc_times(write_files: WriteFiles) -> None:
    """CEL cannot take a zoneinfo-aware datetime: every time the core hands to an expression is UTC."""
    runner = runner_for(write_files, {"later": """id: later
trigger: {event: hris.leave.started}
steps:
  - id: pause
    wait: {until: trigger.data.start_date, offset: 2d, at: "10:00"}
  - id: check
    branch: {if: 'now > trigger.time && now > timestamp("2026-05-01T00:00:00Z")', then: yes}
  - id: no
    end: {}
  - id: yes
    send: {channel: email, subject: "Checked", body: "ok"}
"""})
    runner.run([person("E1"), ev("l1", "hris.leave.started", "2026-05-04T09:00:00+02:00", leave_type="other",
                                 start_date="2026-05-04")], at("2026-06-01T00:00:00Z"))
    assert by_step(runner)["yes"].scheduled_for == at("2026-05-06T08:00:00Z")
    assert runner.stats.diagnostics == {}


def test_erasing_a_recipient_drops_what_waits_for_them(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"bereavement": BEREAVEMENT.replace("sensitivity: sensitive", "")},
                        policy='quiet_hours: {start: "20:00", end: "08:00"}\n')
    runner.run([person("E1"), person("M1"),
                ev("b1", "hris.leave.started", "2026-04-01T21:00:00Z", leave_type="bereavement",
                   start_date="2026-04-01"),
                ev("z1", "privacy.erasure.requested", "2026-04-01T22:00:00Z", "M1")], at("2026-05-01T00:00:00Z"))
    manager = by_step(runner)["manager"]
    assert (manager.status, manager.reason, manager.text) == ("suppressed", "erased", None)
    assert by_step(runner)["condolence"].status == "sent"


def test_a_recipient_the_engine_does_not_know_yet_still_gets_a_rendered_message(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, {"bereavement": BEREAVEMENT.replace("sensitivity: sensitive", "").replace(
        'subject: "Your report"',
        'subject: "Hi {{ recipient.preferred_name or recipient.given_name | default(\'there\') }}"')})
    runner.run([person("E1"), ev("m1", "hris.employee.upserted", "2025-12-01T00:00:00Z", "M1", id="M1",
                                 email="m1@example.com"),
                ev("b1", "hris.leave.started", "2026-04-01T09:00:00Z", leave_type="bereavement",
                   start_date="2026-04-01")])
    manager = by_step(runner)["manager"]
    assert (manager.status, manager.recipient_id, manager.recipient_email) == ("sent", "M1", "m1@example.com")
    assert manager.subject == "Hi there"  # templates render with strict undefined: a name needs a default


def test_a_message_to_a_manager_whose_profile_is_not_known_yet_still_renders(write_files: WriteFiles) -> None:
    """A manager's profile that does not have a field yet (an address only): the field prints as nothing. (A
    manager with no profile at all is ``no_recipient``: in a worker the message waits for the directory.)"""
    journey = """id: heads-up
version: 1
trigger: {event: hris.leave.started}
steps:
  - id: tell-manager
    send: {channel: email, to: manager, subject: "Hi {{ recipient.given_name }}", body: "A leave starts."}
"""
    runner = runner_for(write_files, {"heads-up": journey})
    runner.run([person("E1"), ev("m1", "hris.employee.upserted", "2025-12-01T00:00:00Z", "M1", id="M1",
                                 email="m1@example.com"),
                ev("l1", "hris.leave.started", "2026-05-04T09:00:00Z", leave_type="other",
                   start_date="2026-05-04")], at("2026-05-10T00:00:00Z"))
    (message,) = runner.messages.values()
    assert (message.recipient_id, message.status, message.subject) == ("M1", "sent", "Hi")


def test_a_message_that_does_not_render_is_failed_and_in_the_dead_letters_in_both_runners(
        write_files: WriteFiles) -> None:
    """SPEC §6: ``failed`` (... in the dead-letter topic). The letter names the message (ids, journey, step, reason),
    never its text; the input that led to it is processed, not a dead letter itself."""
    from tests.pipeline.stages import Pipeline

    journey = """id: ping
trigger: {event: onboarding.task.completed}
steps:
  - id: broken
    send: {channel: intranet, subject: "Hi", body: "{{ 1 // 0 }}"}
  - id: fine
    send: {channel: intranet, subject: "Hi", body: "Still here"}
"""
    root = write_files({"journeys/ping.yaml": HEAD + journey})
    defs = world_defs(root / "journeys")
    runner = EmbeddedRunner(defs)
    events = [person("E1"), ev("t1", "onboarding.task.completed", "2026-04-01T09:00:00Z", task_id="x")]
    runner.run(events)
    msgs = by_step(runner)
    assert (msgs["broken"].status, msgs["broken"].reason) == ("failed", "render_error")
    assert msgs["fine"].status == "sent"
    [letter] = runner.dead_letters
    assert (letter.reason, letter.source) == ("render_error", "wayfinder")
    assert letter.received_at == at("2026-04-01T09:00:00Z")
    assert json.loads(letter.raw) == {
        "message_id": msgs["broken"].message_id, "employee_id": "E1", "recipient_id": "E1",
        "recipient_role": "employee", "journey_id": "ping", "journey_version": 1, "step_id": "broken",
        "channel": "intranet", "status": "failed", "reason": "render_error"}

    p = Pipeline(defs=defs)
    for e in events:
        p.feed(p.employees, "hris", e.subject.encode(), json.dumps(e.model_dump(mode="json")).encode())
    letters = [json.loads(r.value or b"") for r in p.records if r.topic == "dead-letters"]
    assert [(d["reason"], json.loads(d["raw"])["message_id"]) for d in letters] == [
        ("render_error", msgs["broken"].message_id)]
    assert p.employees.metrics.dead_letters.labels("render_error")._value.get() == 1



def test_a_message_that_does_not_render_is_not_dead_lettered_as_the_line_that_led_to_it(
        write_files: WriteFiles) -> None:
    """README "Suppression": a ``render_error`` letter's source is ``wayfinder``, and the event that led to it counts
    as processed. Found 2026-12-06: ``simulate``, which names the file and line of an event the core refuses, put the
    triggering event's file and line on the letter too (only when the message was made by that event, not by a
    timer), so the letter pointed at a good line as if it were a bad one, and differed from the worker's."""
    journey = """id: ping
trigger: {event: onboarding.task.completed}
steps:
  - id: broken
    send: {channel: intranet, subject: "Hi", body: "{{ 1 // 0 }}"}
"""
    root = write_files({"journeys/ping.yaml": HEAD + journey})
    runner = EmbeddedRunner(world_defs(root / "journeys"))
    runner.feed(person("E1"), ("events.jsonl", 1))
    runner.feed(ev("t1", "onboarding.task.completed", "2026-04-01T09:00:00Z", task_id="x"), ("events.jsonl", 2))
    assert by_step(runner)["broken"].status == "failed"
    assert [(d.reason, d.source, d.line) for d in runner.dead_letters] == [("render_error", "wayfinder", None)]

def test_only_an_email_carries_the_recipients_address_and_nothing_carries_their_name(write_files: WriteFiles) -> None:
    """SPEC §3, data minimisation: an intranet post reaches its reader by id, and nothing reads their address or
    name; an email's channel delivers to the address. No template here reads the name: no message carries it."""
    journey = """id: ping
trigger: {event: onboarding.task.completed}
steps:
  - id: post
    send: {channel: intranet, subject: "Hi", body: "Post"}
  - id: mail
    send: {channel: email, subject: "Hi", body: "Mail"}
"""
    runner = runner_for(write_files, {"ping": journey})
    runner.run([person("E1", family_name="Quist"),
                ev("t1", "onboarding.task.completed", "2026-04-01T09:00:00Z", task_id="x")])
    msgs = by_step(runner)
    assert (msgs["post"].status, msgs["post"].recipient_email, msgs["post"].recipient_name) == ("sent", None, None)
    assert (msgs["mail"].recipient_email, msgs["mail"].recipient_name) == ("e1@example.com", None)
    assert "Quist" not in msgs["mail"].model_dump_json()


def test_the_bundled_messages_about_a_person_without_a_family_name_still_go() -> None:
    """Many people have one name. The bundled templates that name the employee to their manager give the family
    name a default, so the manager's heads-up is not a failed message for want of it."""
    from wayfinder.streams.app import load_definitions
    from wayfinder.streams.settings import WorkerSettings

    runner = EmbeddedRunner(load_definitions(WorkerSettings(store="memory", clock="event")))
    runner.run([person("M1", manager_id=None, family_name="Ray"), person("E1", role="Engineer"),
                ev("h1", "hris.employee.hired", "2026-04-01T09:00:00Z", start_date="2026-04-20", role="Engineer",
                   department="Engineering", location="Berlin", manager_id="M1"),
                ev("mc", "hris.manager.changed", "2026-06-01T09:00:00Z", old_manager_id="M2", new_manager_id="M1")])
    msgs = by_step(runner)
    for step in ("manager-heads-up", "for-manager"):
        assert msgs[step].status != "failed", step
        assert (msgs[step].subject or "").startswith("E1 "), step


def test_a_wait_until_a_local_time_follows_the_person_who_moves_while_it_waits(write_files: WriteFiles) -> None:
    """SPEC §4: ``at`` is the time of day where the employee is, and a date is midnight there: the time where they
    are when it comes, not where they were when the wait began. A ``wait: for`` keeps its instant."""
    journey = """id: back
trigger: {event: hris.leave.started}
steps:
  - id: until
    wait: {until: trigger.data.expected_return_date, at: "09:00"}
  - id: hello
    send: {channel: intranet, subject: "Welcome back", body: "Hi"}
"""
    lasting = """id: later
trigger: {event: hris.leave.started}
steps:
  - id: pause
    wait: {for: 2w}
  - id: ping
    send: {channel: intranet, subject: "Two weeks", body: "Hi"}
"""
    runner = runner_for(write_files, {"back": journey, "later": lasting})
    runner.run([person("E1"),
                ev("l1", "hris.leave.started", "2026-02-02T10:00:00Z", leave_type="sabbatical",
                   start_date="2026-02-02", expected_return_date="2026-06-01"),
                ev("r1", "hris.employee.relocated", "2026-02-10T10:00:00Z", old_location="Berlin",
                   new_location="Tokyo", new_country="JP", new_timezone="Asia/Tokyo")],
               at("2026-07-01T00:00:00Z"))
    got = by_step(runner)
    assert got["hello"].scheduled_for == at("2026-06-01T00:00:00Z")  # 09:00 in Tokyo, not 07:00Z (Berlin)
    assert got["ping"].scheduled_for == at("2026-02-16T10:00:00Z")  # two weeks from the start, wherever


CLICK = """id: click
trigger: {event: hris.employee.hired}
steps:
  - id: hello
    send: {channel: intranet, subject: "Hello", body: "Please open the guide."}
  - id: wait-click
    wait_for: {event: engagement.message.clicked, timeout: 2d, on_timeout: nudge}
  - id: thanks
    send: {channel: intranet, subject: "Thanks", body: "Thanks for opening it."}
  - id: done
    end: {}
  - id: nudge
    send: {channel: intranet, subject: "Reminder", body: "You have not opened the guide yet."}
"""


@pytest.mark.parametrize(("clicked", "expected"), [("2026-03-04T08:59:59Z", "thanks"),
                                                   ("2026-03-04T09:00:00Z", "nudge"),  # the timeout fires first
                                                   ("2026-03-06T10:00:00Z", "nudge")])
def test_a_click_after_a_wait_fors_timeout_does_not_resume_it_in_the_worker_either(
        write_files: WriteFiles, clicked: str, expected: str) -> None:
    # With the event clock the worker reads an engagement event without firing the person's due timers first (its
    # own topic may run ahead of their HRIS events): a click after the timeout resumed the wait, and the worker sent
    # "thanks" where simulate sends the reminder.
    runner = runner_for(write_files, {"click": CLICK})
    hired = ev("h1", "hris.employee.hired", "2026-03-02T09:00:00Z", start_date="2026-03-16", role="Analyst",
               department="Ops", location="London")
    click = ev("c1", "engagement.message.clicked", clicked)
    until = at("2026-03-10T00:00:00Z")
    runner.run([person("E1"), hired, click], until)
    assert {m.step_id for m in runner.messages.values()} == {"hello", expected}
    p = Pipeline(defs=runner.engine.defs)
    for event in (person("E1"), hired):
        p.tick(event.time)
        p.feed(p.employees, "hris", None, event.model_dump_json().encode())
        p.drain()
    p.feed(p.employees, "engagement", None, click.model_dump_json().encode())  # no tick: published, then read
    p.drain()
    p.tick(until)
    sent = {json.loads(r.value)["step_id"] for r in p.records if r.topic == "outbound.messages" and r.value}
    assert sent == {"hello", expected}


def test_a_managers_message_reads_the_same_recipient_fields_in_simulate_and_the_worker(
        write_files: WriteFiles) -> None:
    """The worker's directory kept contact details only, so recipient.role/department/location printed nothing where
    simulate printed them; both now see RECIPIENT_FIELDS of another person (found by an audit of issue 7)."""
    from tests.pipeline.stages import events_through_stages

    journey = """id: heads-up
trigger: {event: hris.employee.hired}
steps:
  - id: tell
    send: {channel: intranet, to: manager, subject: "New", body: "For {{ recipient.role }} in {{ recipient.department
      }}, {{ recipient.location }} ({{ recipient.interests }})"}
"""
    runner = runner_for(write_files, {"heads-up": journey})
    events = [person("M1", role="Engineering Manager", department="Engineering", location="Berlin",
                     interests=["chess"]),
              person("E1"), ev("h1", "hris.employee.hired", "2026-03-02T09:00:00Z", start_date="2026-03-16",
                               role="Analyst", department="Ops", location="London", manager_id="M1")]
    runner.run(events, at("2026-03-03T00:00:00Z"))
    (message,) = runner.messages.values()
    assert message.text is not None and message.text.startswith("For Engineering Manager in Engineering, Berlin ([])")
    _, latest = events_through_stages(runner.engine.defs, events, at("2026-03-03T00:00:00Z"))
    assert [m["text"] for m in latest.values()] == [message.text]


def test_a_recipients_second_preference_change_reaches_the_worker_as_simulate_sees_it(
        write_files: WriteFiles) -> None:
    """The stage compared the person's contact before the core ran with after, but "before" held the profile's own
    preferences dict, which the core changes in place: from a person's second change on, the directory never heard
    of it, and a manager's quiet hours or opt-out were not those simulate used (found by an audit of issue 10)."""
    from tests.pipeline.stages import events_through_stages

    journey = """id: heads-up
trigger: {event: hris.employee.hired}
steps:
  - id: tell
    send: {channel: email, to: manager, subject: "New", body: "A new colleague."}
"""
    runner = runner_for(write_files, {"heads-up": journey})
    events = [person("M1", timezone="UTC"), person("E1"),
              ev("p1", "wayfinder.preferences.changed", "2026-03-01T09:00:00Z", "M1", opt_out_topics=["wellbeing"]),
              ev("p2", "wayfinder.preferences.changed", "2026-03-01T10:00:00Z", "M1", quiet_hours="08:00-13:00"),
              ev("h1", "hris.employee.hired", "2026-03-02T09:00:00Z", start_date="2026-03-16", role="Analyst",
                 department="Ops", location="London", manager_id="M1")]
    runner.run(events, at("2026-03-03T00:00:00Z"))
    (message,) = runner.messages.values()
    assert (message.status, message.scheduled_for) == ("sent", at("2026-03-02T13:00:00Z"))  # after its quiet hours
    _, latest = events_through_stages(runner.engine.defs, events, at("2026-03-03T00:00:00Z"))
    assert [(m["status"], m["scheduled_for"]) for m in latest.values()] == [
        (message.status, "2026-03-02T13:00:00Z")]


def test_resources_sent_to_a_manager_are_not_counted_as_delivered_to_the_employee(write_files: WriteFiles) -> None:
    """SPEC §5: "not already delivered to this employee". The manager's heads-up marked its resources delivered to
    the employee, so the employee's own welcome left them out (found by an audit of SPEC §5)."""
    journey = """id: both
trigger: {event: hris.employee.hired}
steps:
  - id: tell
    send: {channel: intranet, to: manager, subject: "New", body: "x", resources: {topics: [onboarding], limit: 2}}
  - id: welcome
    send: {channel: intranet, subject: "Welcome", body: "x", resources: {topics: [onboarding], limit: 2}}
"""
    runner = runner_for(write_files, {"both": journey})
    runner.run([person("M1"), person("E1"), ev("h1", "hris.employee.hired", "2026-03-02T09:00:00Z",
                                                start_date="2026-03-16", role="Analyst", department="Ops",
                                                location="Berlin", manager_id="M1")], at("2026-03-03T00:00:00Z"))
    steps = by_step(runner)
    assert steps["tell"].resources and steps["welcome"].resources == steps["tell"].resources
    assert runner.states["E1"].delivered == set(steps["welcome"].resources)


def test_an_own_explanation_that_fails_to_render_is_counted_and_the_generated_one_goes(write_files: WriteFiles) -> None:
    # It gave way to the generated sentence without a word: nothing in the summary or the log.
    journey = LEAVE.replace("trigger: {event: hris.leave.started}", "trigger: {event: hris.leave.started}\n"
                            "explanation: \"Because {{ trigger.data.nothing.here }} began.\"")
    runner = runner_for(write_files, {"leave": journey})
    runner.run([person("E1"), ev("l1", "hris.leave.started", "2026-05-04T09:00:00Z", leave_type="other",
                                 start_date="2026-05-04")], at("2026-05-05T00:00:00Z"))
    assert runner.stats.diagnostics["explanation_failed"] >= 1
    assert all(m.explanation and "You received this because" in str(m.explanation) for m in runner.messages.values())


def test_a_hires_messages_say_joining_us_before_the_first_day_and_started_with_us_from_it() -> None:
    """The bundled onboarding: the welcome goes before the start, the roadmap on the first day and the first-week
    check-in after it (it said "you are joining us on" a day already past, in every runner)."""
    runner = EmbeddedRunner(load_definitions(WorkerSettings()))
    runner.run([person("E1", locale="en-GB"), ev("h1", "hris.employee.hired", "2026-03-02T09:00:00Z",
                                                start_date="2026-03-16", role="Analyst", department="Sales",
                                                location="Berlin", manager_id="M1")], at("2026-04-01T00:00:00Z"))
    said = {step: m.explanation or "" for step, m in by_step(runner).items()}
    assert "you are joining us on March 16, 2026" in said["welcome"]
    assert "you started with us on March 16, 2026" in said["first-day-roadmap"]
    assert "you started with us on March 16, 2026" in said["first-week-check-in"]
    footer = by_step(runner)["first-week-check-in"].text or ""
    assert "you started with us on 16 March 2026" in footer  # the footer, in the reader's English


def test_the_bundled_onboarding_roadmap_differs_by_role() -> None:
    """Issue 2 asks for an onboarding roadmap that differs by role, department, location and work mode; an audit found
    that two engineers of one team, office and work mode got the same roadmap whatever their role (a manager too was
    told to ship a first pull request and got nothing about their own team)."""
    roles = ("Site Reliability Engineer", "Frontend Engineer", "Backend Engineer", "Engineering Manager")
    runner = EmbeddedRunner(load_definitions(WorkerSettings()))
    events = []
    for n, role in enumerate(roles, 1):
        who = f"E{n}"
        events += [person(who, locale="en-GB", role=role),
                   ev(f"h{n}", "hris.employee.hired", "2026-03-02T09:00:00Z", who, start_date="2026-03-16", role=role,
                      department="Engineering", location="Berlin", manager_id="M1")]
    runner.run(events, at("2026-04-01T00:00:00Z"))
    roadmaps = {role: tuple(by_step(runner, f"E{n}")["first-day-roadmap"].resources) for n, role in enumerate(roles, 1)}
    assert len(set(roadmaps.values())) == len(roles), roadmaps
    assert "eng-sre-runbooks" in roadmaps["Site Reliability Engineer"]
    assert "mgr-first-one-on-ones" in roadmaps["Engineering Manager"]
    assert "mgr-first-one-on-ones" not in roadmaps["Frontend Engineer"]

    # a hire the HR system sent no role for: the role items are left out, not failed (each read of a missing role was
    # an expression_failed diagnostic, one to five per roadmap)
    quiet = EmbeddedRunner(load_definitions(WorkerSettings()))
    quiet.run([person("E9", locale="en-GB"), ev("h9", "hris.employee.hired", "2026-03-02T09:00:00Z", "E9",
                                                 start_date="2026-03-16", department="Engineering", location="Berlin",
                                                 manager_id="M1")], at("2026-04-01T00:00:00Z"))
    assert by_step(quiet, "E9")["first-day-roadmap"].resources
    assert quiet.stats.diagnostic_sites[("expression_failed", "onboarding", "first-day-roadmap")] == 0, (
        quiet.stats.diagnostic_sites)


def test_a_tasks_title_and_note_read_their_assignee_as_the_recipient(write_files: WriteFiles) -> None:
    """A task's reader is its assignee, so ``recipient`` in its title or note is them (validate checks these texts as
    a message's, ``recipient`` included); before, it was an empty mapping, the render failed and the assignee got the
    template's source as their task ("Call {{ employee.given_name }}, {{ recipient.given_name }}")."""
    journey = """id: cover
version: 1
trigger: {event: hris.dependent.added}
steps:
  - id: partner
    task: {assignee: hr_partner, title: "{{ recipient.given_name }}, call {{ employee.given_name }}",
           note: "For {{ recipient.given_name | default('you') }}."}
  - id: manager
    task: {assignee: manager, title: "Hi{% if recipient.given_name %} {{ recipient.given_name }}{% endif %}",
           note: "Plan cover for {{ employee.given_name }}."}
"""
    runner = runner_for(write_files, {"cover": journey})
    runner.run([person("E1"), person("E2", manager_id=None), person("H1", manager_id=None, hr_partner_id=None),
                ev("d1", "hris.dependent.added", "2026-04-01T09:00:00Z", relationship="child", date="2026-03-31"),
                ev("d2", "hris.dependent.added", "2026-04-01T09:00:00Z", "E2", relationship="child",
                   date="2026-03-31")])
    got = {(t.employee_id, t.step_id): (t.assignee_id, t.title, t.note) for t in runner.tasks.values()}
    assert got == {
        ("E1", "partner"): ("H1", "H1, call E1", "For H1."),
        ("E1", "manager"): ("M1", "Hi", "Plan cover for E1."),  # M1 has no profile here: nothing to greet by
        ("E2", "partner"): ("H1", "H1, call E2", "For H1."),
        ("E2", "manager"): (None, "Hi", "Plan cover for E2."),  # no manager: a task nobody by name picks up
    }


def test_journeys_started_by_one_event_enroll_in_id_order_through_the_shared_cap(write_files: WriteFiles) -> None:
    """README "Several journeys on one event": the order of the journeys' ids, not of their files, decides whose
    message takes the one place the cap leaves; the other is deferred a whole window."""
    def hello(jid: str) -> str:
        return (f"id: {jid}\nversion: 1\ntrigger: {{event: hris.dependent.added}}\nsteps:\n"
                f"  - id: hello-{jid}\n    send: {{channel: email, subject: Hi, body: From {jid}.}}\n")
    runner = runner_for(write_files, {"a-file": hello("zeta"), "z-file": hello("alpha")},
                        "frequency_cap: {max: 1, per: 7d}\n")
    runner.run([person("E1"), ev("d1", "hris.dependent.added", "2026-04-01T09:00:00Z", relationship="child",
                                 date="2026-03-31")])
    got = {m.journey_id: (m.status, m.scheduled_for) for m in runner.messages.values()}
    assert got == {"alpha": ("sent", at("2026-04-01T09:00:00Z")),
                   "zeta": ("deferred", at("2026-04-08T09:00:00Z"))}


def test_an_exit_after_the_end_reads_the_trigger_of_the_enrollment_that_left_its_message_waiting(
        write_files: WriteFiles) -> None:
    """A one-step sensitive journey is over as soon as its message waits for a reviewer; an exit whose ``when``
    compares with the trigger still stops that message, as it does while a longer journey still runs. Before, the
    trigger was not kept past the end: the test failed (counted as ``expression_failed``) and the message stayed
    pending for a reviewer after the leave it was about had ended."""
    journey = """id: leave-note
version: 1
sensitivity: sensitive
trigger: {event: hris.leave.started}
exit_on:
  - {event: hris.leave.ended, when: 'event.data.leave_type == trigger.data.leave_type'}
steps:
  - id: note
    send: {channel: email, subject: "Thinking of you", body: "Take the time you need."}
"""
    runner = runner_for(write_files, {"leave-note": journey})
    events = [person("E1"), person("E2")]
    for who in ("E1", "E2"):
        events.append(ev(f"s-{who}", "hris.leave.started", "2026-05-04T09:00:00Z", who, leave_type="sabbatical",
                         start_date="2026-05-04"))
    events += [ev("e-E1", "hris.leave.ended", "2026-05-06T09:00:00Z", "E1", leave_type="sabbatical",
                  return_date="2026-05-06"),
               ev("e-E2", "hris.leave.ended", "2026-05-06T09:00:00Z", "E2", leave_type="other",
                  return_date="2026-05-06")]
    runner.run(events)
    assert (by_step(runner)["note"].status, by_step(runner)["note"].reason) == ("suppressed", "exited")
    assert by_step(runner, "E2")["note"].status == "pending_approval"  # another kind of leave ended: it stays
    assert runner.stats.diagnostics["expression_failed"] == 0


def test_a_roadmap_keeps_the_weekend_of_the_employees_country(write_files: WriteFiles) -> None:
    """README "Working days": ``working_days.weekend_by_country`` gives a listed country its own weekend (Israel's is
    Friday and Saturday); a country not listed keeps ``weekend``. A hire starting on a Friday begins in Israel on the
    Sunday, and day 2 in both is the Monday."""
    root = write_files({
        "journeys/hired.yaml": HEAD + """id: hired
trigger: {event: hris.employee.hired}
steps:
  - id: roadmap
    roadmap: {topics: [onboarding], horizon: 30d, channel: email, template: dated/roadmap}
""",
        "templates/dated/roadmap.yaml": """apiVersion: wayfinder/v1
kind: Template
subject: Your roadmap
text: "{% for item in roadmap %}- {{ item.date }} {{ item.id }}\\n{% endfor %}"
""",
        "policy.yaml": """apiVersion: wayfinder/v1
kind: Policy
working_days: {weekend: [saturday, sunday], weekend_by_country: {IL: [friday, saturday]}, public_holidays: false}
""",
    })
    defs = load_or_raise(Sources(paths=[root / "journeys", WORLD / "catalog"],
                                 templates=[WORLD / "templates", root / "templates"], policy=root / "policy.yaml"))
    runner = EmbeddedRunner(defs)
    runner.run([person("E1", country="IL", timezone="Asia/Jerusalem"), person("E2"),
                ev("h1", "hris.employee.hired", "2026-05-27T08:00:00Z", "E1", start_date="2026-06-05"),
                ev("h2", "hris.employee.hired", "2026-05-27T08:00:00Z", "E2", start_date="2026-06-05")])

    def dated(employee: str) -> dict[str, str]:
        text = by_step(runner, employee)["roadmap"].text
        assert text is not None
        return {line.split()[2]: line.split()[1] for line in text.splitlines() if line.startswith("- ")}

    israel, germany = dated("E1"), dated("E2")
    assert (israel["it-accounts"], israel["team-intro"], israel["security-training"]) == (
        "2026-06-07", "2026-06-08", "2026-06-09")  # Sunday, Monday, Tuesday: Friday and Saturday are off
    assert (germany["it-accounts"], germany["team-intro"], germany["security-training"]) == (
        "2026-06-05", "2026-06-08", "2026-06-09")  # Friday, then Monday: the policy's weekend
