"""Golden runs over the small world in tests/data: the core decisions the contract pins down."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.support import NEW_PARENT, WriteFiles, at, world_defs
from wayfinder.journeys.events import CloudEvent
from wayfinder.streams.embedded import EmbeddedRunner


def event(eid: str, etype: str, time: str, subject: str, **data: object) -> CloudEvent:
    return CloudEvent(specversion="1.0", id=eid, source="test", type=etype, time=at(time), subject=subject,
                      data=dict(data))


def profile(subject: str, **fields: object) -> CloudEvent:
    base: dict[str, object] = {"id": subject, "given_name": "Anna", "email": f"{subject.lower()}@example.com",
                               "country": "DE", "timezone": "Europe/Berlin", "locale": "de-DE",
                               "employment_type": "employee"}
    base.update(fields)
    return event(f"p-{subject}", "hris.employee.upserted", "2025-12-01T00:00:00Z", subject, **base)


def run(journeys: Path, events: list[CloudEvent], until: str | None = None) -> EmbeddedRunner:
    runner = EmbeddedRunner(world_defs(journeys))
    runner.run(events, at(until) if until else None)
    return runner


def test_new_parent_welcome_and_local_time_return(write_files: WriteFiles) -> None:
    root = write_files({"journeys/new-parent.yaml": NEW_PARENT})
    runner = run(root / "journeys", [
        profile("E1"),
        event("d1", "hris.dependent.added", "2026-09-14T11:00:00Z", "E1", relationship="child", reason="birth",
              date="2026-09-12"),
    ], until="2027-01-31T00:00:00Z")
    by_step = {m.step_id: m for m in runner.messages.values()}
    assert by_step["welcome"].status == "sent"
    assert by_step["welcome"].resources == ["de-parental-leave", "childcare-de", "parent-network"]
    # 2026-09-12 + 12 weeks = 2026-12-05, 09:00 in Berlin (CET, UTC+1) is 08:00Z.
    assert by_step["return-checkin"].scheduled_for == at("2026-12-05T08:00:00Z")
    assert by_step["return-checkin"].status == "sent"


def test_contractor_is_not_enrolled(write_files: WriteFiles) -> None:
    root = write_files({"journeys/new-parent.yaml": NEW_PARENT})
    runner = run(root / "journeys", [
        profile("E1", employment_type="contractor"),
        event("d1", "hris.dependent.added", "2026-09-14T11:00:00Z", "E1", relationship="child", date="2026-09-12"),
    ])
    assert runner.messages == {}


ONBOARDING_PICK = """
apiVersion: wayfinder/v1
kind: Journey
id: first-pick
name: One thing to start with
owner: people@example.com
version: 1
trigger: {event: hris.employee.hired}
steps:
  - id: first
    send:
      channel: email
      subject: "Welcome"
      body: "{% for r in resources %}{{ r.title }}{% endfor %}"
      resources: {topics: [onboarding], limit: 1}
"""


def test_a_resource_written_for_the_employees_department_ranks_first(write_files: WriteFiles) -> None:
    # Every onboarding item matches the topic alike; sales-crm-training's eligibility is written for Sales (SPEC §5:
    # an eligible-for edge), so it is the closest to a salesperson in the graph and the one a limit of 1 keeps.
    # Before, the tie went by id and a salesperson got badge-pickup.
    root = write_files({"journeys/first-pick.yaml": ONBOARDING_PICK})
    runner = run(root / "journeys", [
        profile("E2", country="US", timezone="America/New_York", locale="en-US", department="Sales",
                work_mode="onsite"),
        event("h2", "hris.employee.hired", "2026-10-05T10:00:00Z", "E2", start_date="2026-10-12",
              role="Account Executive", department="Sales", location="New York", manager_id="M2"),
    ])
    (message,) = runner.messages.values()
    assert message.status == "sent"
    assert message.resources == ["sales-crm-training"]


SALES_ROADMAP = """
apiVersion: wayfinder/v1
kind: Journey
id: first-days
name: Your first days
owner: people@example.com
version: 1
trigger: {event: hris.employee.hired}
steps:
  - id: plan
    roadmap: {topics: [onboarding], horizon: HORIZON, channel: email, template: onboarding/roadmap}
"""


def test_a_roadmap_leaves_out_what_is_due_past_its_horizon(write_files: WriteFiles) -> None:
    # sales-crm-training is due on day 5 and requires security-training (day 3): a 4-day roadmap ends before it.
    for horizon, last in (("4d", "team-intro"), ("5d", "sales-crm-training")):
        root = write_files({"journeys/first-days.yaml": SALES_ROADMAP.replace("HORIZON", horizon)})
        runner = run(root / "journeys", [
            profile("E2", country="US", timezone="America/New_York", locale="en-US", department="Sales",
                    work_mode="onsite"),
            event("h2", "hris.employee.hired", "2026-10-05T10:00:00Z", "E2", start_date="2026-10-12",
                  role="Account Executive", department="Sales", location="New York", manager_id="M2"),
        ])
        (message,) = runner.messages.values()
        expected = {"it-accounts", "badge-pickup", "team-intro", "security-training"}
        assert set(message.resources) == expected | {last}
        assert message.resources.index("it-accounts") < message.resources.index("security-training")
        if last == "sales-crm-training":
            assert message.resources[-1] == "sales-crm-training"


WELLBEING = """
apiVersion: wayfinder/v1
kind: Journey
id: back
name: Welcome back
owner: people@example.com
version: 1
trigger: {event: hris.leave.ended}
steps:
  - id: hello
    send: {channel: email, template: new-parent/return, resources: {topics: [mental-health, return-to-work]}}
  - id: flex
    send: {channel: intranet, template: new-parent/return, resources: {topics: [flexible-work]}}
"""


def test_a_resource_below_a_sensitive_topic_makes_its_message_wait_for_a_person(write_files: WriteFiles) -> None:
    # eap-counselling is about mental-health, a topic below the policy's sensitive wellbeing (SPEC §4, §5).
    root = write_files({"journeys/back.yaml": WELLBEING,
                        "policy.yaml": "apiVersion: wayfinder/v1\nkind: Policy\nsensitive_topics: [wellbeing]\n"})
    runner = EmbeddedRunner(world_defs(root / "journeys", root / "policy.yaml"))
    runner.run([profile("E1"), event("l1", "hris.leave.ended", "2026-10-05T10:00:00Z", "E1", leave_type="sabbatical",
                                     return_date="2026-10-05")], None)
    by_step = {m.step_id: m for m in runner.messages.values()}
    assert (by_step["hello"].status, by_step["hello"].reason) == ("pending_approval", "sensitive")
    assert set(by_step["hello"].resources) == {"eap-counselling", "return-to-work-guide"}
    assert by_step["flex"].status == "sent"


# SPEC §11 at its boundaries, over the same world: decisions on the event clock, the review window, the mailbox.
CARE = """
apiVersion: wayfinder/v1
kind: Journey
id: care
name: Care
owner: hr@example.com
version: 1
sensitivity: sensitive
trigger: {event: hris.leave.started, when: event.data.leave_type == "bereavement"}
steps:
  - id: condolence
    send: {channel: email, template: bereavement/condolence, resources: {topics: [bereavement], limit: 2}}
"""
CARE_MANAGER = """
apiVersion: wayfinder/v1
kind: Journey
id: care-manager
name: Care (manager)
owner: hr@example.com
version: 1
sensitivity: sensitive
trigger: {event: hris.leave.started, when: event.data.leave_type == "bereavement"}
steps:
  - id: tell-manager
    send: {channel: intranet, to: manager, subject: A colleague, body: Please be kind.}
"""
QUIET = 'quiet_hours: {start: "20:00", end: "08:00", weekends: false}\n'


def sensitive_run(write_files: WriteFiles, journey: str, policy: str = "") -> EmbeddedRunner:
    head = "apiVersion: wayfinder/v1\nkind: Policy\n"
    root = write_files({"journeys/care.yaml": journey, "policy.yaml": head + policy})
    return EmbeddedRunner(world_defs(root / "journeys", root / "policy.yaml"))


def bereavement(subject: str, time: str) -> CloudEvent:
    return event(f"l-{subject}", "hris.leave.started", time, subject, leave_type="bereavement",
                 start_date=time[:10], expected_return_date="2026-12-30")


def decision(eid: str, time: str, subject: str, message_id: str, verdict: str = "approve") -> CloudEvent:
    return event(eid, "wayfinder.review.decided", time, subject, message_id=message_id, decision=verdict,
                 reviewer_id="R9")


def held_id(runner: EmbeddedRunner, employee: str) -> str:
    (held,) = [m for m in runner.messages.values() if m.employee_id == employee and m.status == "pending_approval"]
    return held.message_id


def test_a_decision_at_the_review_window_end_comes_after_the_escalation(write_files: WriteFiles) -> None:
    # Before each event every timer due at or before its time fires: the window (5d by default) has ended when the
    # decision is read at its last instant, so the escalation task opens; the decision then approves the message
    # and closes the task.
    runner = sensitive_run(write_files, CARE, "review_escalation: ESC\n")
    runner.run([profile("E1"), bereavement("E1", "2026-10-20T09:00:00Z")])
    mid = held_id(runner, "E1")
    runner.run([decision("d1", "2026-10-25T09:00:00Z", "E1", mid)])
    message = runner.messages[mid]
    assert (message.status, message.scheduled_for, message.reviewer_id) == (
        "approved", at("2026-10-25T09:00:00Z"), "R9")
    (task,) = runner.tasks.values()
    assert (task.assignee, task.assignee_id, task.step_id, task.created_at) == (
        "review_escalation", "ESC", "condolence", at("2026-10-25T09:00:00Z"))
    assert (task.status, task.reason) == ("cancelled", "decided")


def test_a_decision_read_before_its_message_at_the_same_time_finds_nothing_pending(write_files: WriteFiles) -> None:
    # Ties in time go in file order: the decision comes before the leave that makes the message.
    first = sensitive_run(write_files, CARE)
    first.run([profile("E1"), bereavement("E1", "2026-10-20T09:00:00Z")])
    mid = held_id(first, "E1")  # ids are deterministic: the same events make the same message
    runner = sensitive_run(write_files, CARE)
    runner.run([profile("E1"), decision("d1", "2026-10-20T09:00:00Z", "E1", mid),
                bereavement("E1", "2026-10-20T09:00:00Z")], at("2026-10-21T00:00:00Z"))
    assert runner.messages[mid].status == "pending_approval"
    assert [d.reason for d in runner.dead_letters] == ["not_pending"]


def test_an_approval_in_the_quiet_hours_goes_at_their_local_end_after_the_clocks_go_back(
        write_files: WriteFiles) -> None:
    # Saturday 22:30 in Berlin (summer time); the clocks go back that night, so Sunday 08:00 is 07:00Z.
    runner = sensitive_run(write_files, CARE, QUIET)
    runner.run([profile("E1"), bereavement("E1", "2026-10-23T09:00:00Z")])
    mid = held_id(runner, "E1")
    runner.run([decision("d1", "2026-10-24T20:30:00Z", "E1", mid)], at("2026-10-24T21:00:00Z"))
    waiting = runner.messages[mid]
    assert (waiting.status, waiting.reason, waiting.scheduled_for) == (
        "deferred", "quiet_hours", at("2026-10-25T07:00:00Z"))
    runner.run([], at("2026-10-27T00:00:00Z"))
    assert (runner.messages[mid].status, runner.messages[mid].scheduled_for) == ("approved", at("2026-10-25T07:00:00Z"))


def test_two_reports_approved_messages_share_their_managers_cap(write_files: WriteFiles) -> None:
    # The cap is per recipient across employees and journeys; its window is exact (7d is 168 hours).
    runner = sensitive_run(write_files, CARE_MANAGER, "frequency_cap: {max: 1, per: 7d}\n")
    runner.run([profile("M1"), profile("E1", manager_id="M1"), event("p-E3", "hris.employee.upserted",
                "2025-12-01T00:00:00Z", "E3", id="E3", given_name="Ben", manager_id="M1"),
                bereavement("E1", "2026-10-20T09:00:00Z"), bereavement("E3", "2026-10-20T09:00:00Z")])
    first, second = held_id(runner, "E1"), held_id(runner, "E3")
    runner.run([decision("d1", "2026-10-21T10:00:00Z", "E1", first),
                decision("d2", "2026-10-21T10:00:00Z", "E3", second)], at("2026-11-30T00:00:00Z"))
    assert [(runner.messages[m].recipient_id, runner.messages[m].status, runner.messages[m].scheduled_for)
            for m in (first, second)] == [("M1", "approved", at("2026-10-21T10:00:00Z")),
                                          ("M1", "approved", at("2026-10-28T10:00:00Z"))]


CLOCK = """apiVersion: wayfinder/v1
kind: Journey
id: clock
name: Clock
owner: hr@example.com
version: 1
trigger: {event: hris.dependent.added}
steps:
  - id: three-days
    wait: {for: 3d}
  - id: booked
    wait_for: {event: onboarding.task.completed, timeout: 2d, on_timeout: late}
  - id: on-time
    send: {channel: intranet, subject: "On time", body: "Booked."}
  - id: stop
    end: {}
  - id: late
    send: {channel: intranet, subject: "Late", body: "Not booked."}
"""


def test_waits_run_on_the_local_calendar_and_a_timeout_due_with_the_event_fires_first(write_files: WriteFiles) -> None:
    """SPEC §4 and §7: 3d from Friday 11:00 in Berlin is Monday 11:00 over the night the clocks go forward (71
    hours); a timeout due at the very time of the awaited event fires before it (every timer due at or before an
    event's time fires first), so E1 is late; E2's event a second earlier is on time."""
    root = write_files({"journeys/clock.yaml": CLOCK})
    birth = {"relationship": "child", "reason": "birth", "date": "2026-03-27"}
    runner = run(root / "journeys", [
        profile("E1"), profile("E2"),
        event("d1", "hris.dependent.added", "2026-03-27T10:00:00Z", "E1", **birth),
        event("d2", "hris.dependent.added", "2026-03-27T10:00:00Z", "E2", **birth),
        event("t1", "onboarding.task.completed", "2026-04-01T09:00:00Z", "E1", task_id="book"),
        event("t2", "onboarding.task.completed", "2026-04-01T08:59:59Z", "E2", task_id="book"),
    ], until="2026-04-10T00:00:00Z")
    went = {(m.employee_id, m.step_id): (m.status, m.scheduled_for) for m in runner.messages.values()}
    assert went == {("E1", "late"): ("sent", at("2026-04-01T09:00:00Z")),  # 2026-03-30T09:00Z + 2 days
                    ("E2", "on-time"): ("sent", at("2026-04-01T08:59:59Z"))}


def test_a_move_to_a_country_of_several_zones_keeps_the_zone_of_the_old_country(write_files: WriteFiles) -> None:
    """SPEC §3: a move without ``new_timezone`` to a country of several zones keeps the old zone. E1 has no zone on
    file and lives in Germany's only one; moved to the US, the return check-in still goes at 09:00 in Berlin
    (as p01's), not at 09:00 UTC, where the zone went when it followed the new country (2026-12-05)."""
    root = write_files({"journeys/new-parent.yaml": NEW_PARENT})
    runner = run(root / "journeys", [
        profile("E1", timezone=None),
        event("d1", "hris.dependent.added", "2026-09-14T11:00:00Z", "E1", relationship="child", reason="birth",
              date="2026-09-12"),
        event("r1", "hris.employee.relocated", "2026-10-01T09:00:00Z", "E1", old_location="Berlin",
              new_location="New York", new_country="US"),
    ], until="2027-01-31T00:00:00Z")
    by_step = {m.step_id: m for m in runner.messages.values()}
    assert by_step["return-checkin"].scheduled_for == at("2026-12-05T08:00:00Z")
    assert by_step["return-checkin"].status == "sent"


OPT_OUT_AWARE = """
apiVersion: wayfinder/v1
kind: Journey
id: check-in
name: Check in
owner: people@example.com
version: 1
trigger: {event: hris.employee.started}
steps:
  - id: hello
    when: '!("onboarding" in employee.preferences.opt_out_topics) && !has(employee.preferences.quiet_hours)'
    send: {channel: intranet, subject: "Hello", body: "Welcome."}
"""


def test_preferences_an_upsert_sets_to_null_are_gone_for_expressions(write_files: WriteFiles) -> None:
    """SPEC §3: an upsert merges what it carries; a preference it sets to null is taken away, as a field is: the
    opt-out list is empty again and ``has()`` is false (2026-12-05; before, the null stayed, ``in`` on it failed and
    the step was skipped)."""
    root = write_files({"journeys/check-in.yaml": OPT_OUT_AWARE})
    runner = run(root / "journeys", [
        profile("E1", preferences={"opt_out_topics": ["onboarding"], "quiet_hours": "20:00-08:00"}),
        event("u1", "hris.employee.upserted", "2026-10-01T08:00:00Z", "E1",
              preferences={"opt_out_topics": None, "quiet_hours": None}),
        event("s1", "hris.employee.started", "2026-10-01T09:00:00Z", "E1", date="2026-10-01"),
    ])
    assert [(m.step_id, m.status) for m in runner.messages.values()] == [("hello", "sent")]


ROLE_CHECK = """
apiVersion: wayfinder/v1
kind: Journey
id: role-check
name: Role check
owner: people@example.com
version: 1
reentry: always
trigger: {event: hris.employee.started}
steps:
  - id: hello
    when: 'employee.role == "A"'
    send: {channel: intranet, subject: "Hello", body: "Welcome."}
"""


def test_events_go_by_instant_whatever_their_offset_and_ties_in_file_order(write_files: WriteFiles) -> None:
    """SPEC §2 and §7: ``time`` is RFC 3339 with an offset, and simulate runs events in time order, ties in file
    order. 12:00+02:00, 10:00Z and 05:00-05:00 are one instant: the upserts to B then A apply in file order and the
    start written after them sees A; 11:00+02:00, later in the file, is an hour earlier and applies first; a start
    written before the tied upserts sees the role before them."""
    root = write_files({"journeys/role-check.yaml": ROLE_CHECK})

    def role(eid: str, when: str, value: str) -> CloudEvent:
        return event(eid, "hris.employee.upserted", when, "E1", role=value)

    runner = run(root / "journeys", [
        profile("E1", role="A"),
        event("s0", "hris.employee.started", "2026-10-01T06:00:00-04:00", "E1", date="2026-10-01"),
        role("u1", "2026-10-01T12:00:00+02:00", "B"),
        role("u2", "2026-10-01T10:00:00Z", "A"),
        role("u3", "2026-10-01T11:00:00+02:00", "C"),
        event("s1", "hris.employee.started", "2026-10-01T05:00:00-05:00", "E1", date="2026-10-01"),
    ])
    assert [(m.step_id, m.scheduled_for) for m in runner.messages.values()] == [("hello", at("2026-10-01T10:00:00Z"))]
    assert runner.states["E1"].profile.get("role") == "A"


CLUB = """
apiVersion: wayfinder/v1
kind: Journey
id: parents-club
name: Parents' club
owner: hr@example.com
version: 1
trigger: {event: hris.dependent.added}
steps:
  - id: club
    send: {channel: intranet, subject: "The parents' club", body: "Join us."}
"""


def test_two_messages_made_in_the_quiet_hours_both_wait_for_them(write_files: WriteFiles) -> None:
    """SPEC §6: `deferred` is for quiet hours or the cap. Two journeys write to E2 at 22:00 in New York; the second
    waits behind the first, but what holds it is the night too, so its reason is `quiet_hours` (it was `queued`
    until 2026-12-06). At 08:00 (12:00Z) both go, in the order of the journeys' ids."""
    root = write_files({"journeys/new-parent.yaml": NEW_PARENT, "journeys/parents-club.yaml": CLUB,
                        "policy.yaml": "apiVersion: wayfinder/v1\nkind: Policy\n" + QUIET})
    runner = EmbeddedRunner(world_defs(root / "journeys", root / "policy.yaml"))
    runner.run([profile("E2", country="US", timezone="America/New_York", locale="en-US"),
                event("d1", "hris.dependent.added", "2026-10-02T02:00:00Z", "E2", relationship="child",
                      reason="birth", date="2026-09-30")], at("2026-10-02T03:00:00Z"))
    held = sorted((m.journey_id, m.status, m.reason, m.scheduled_for) for m in runner.messages.values())
    assert held == [("new-parent", "deferred", "quiet_hours", at("2026-10-02T12:00:00Z")),
                    ("parents-club", "deferred", "quiet_hours", at("2026-10-02T12:00:00Z"))]
    runner.run([], at("2026-10-03T00:00:00Z"))
    went = sorted((m.journey_id, m.status, m.reason, m.scheduled_for) for m in runner.messages.values())
    assert went == [("new-parent", "sent", None, at("2026-10-02T12:00:00Z")),
                    ("parents-club", "sent", None, at("2026-10-02T12:00:00Z"))]


TELL_MANAGER = """
apiVersion: wayfinder/v1
kind: Journey
id: tell-manager
name: Tell the manager
owner: hr@example.com
version: 1
trigger: {event: hris.dependent.added}
steps:
  - id: tell
    send: {channel: email, to: manager, subject: "News in your team", body: "{{ employee.given_name }} has a child."}
"""


def test_an_erasure_while_a_message_waits_for_the_end_of_a_pause(write_files: WriteFiles) -> None:
    """SPEC §9 and §11 together, as a contract case with an erasure checks them: E1's welcome waits for the pause
    (`paused_until`) when E1 is erased; it is `suppressed` / `erased` at the erasure, with nothing of its content and
    no time after it; the manager's message about E1, sent before, stays `sent` without its content; the return
    check-in's timer is gone, and a later event of E1 is refused (`erased_subject`)."""
    root = write_files({"journeys/new-parent.yaml": NEW_PARENT, "journeys/tell-manager.yaml": TELL_MANAGER})
    child = {"relationship": "child", "reason": "birth"}
    runner = run(root / "journeys", [
        profile("E1", manager_id="M1"), profile("M1"),
        event("pr1", "wayfinder.preferences.changed", "2026-09-13T00:00:00Z", "E1",
              paused_until="2026-10-10T00:00:00Z"),
        event("d1", "hris.dependent.added", "2026-09-14T11:00:00Z", "E1", date="2026-09-12", **child),
        event("x1", "privacy.erasure.requested", "2026-10-01T00:00:00Z", "E1"),
        event("d2", "hris.dependent.added", "2026-10-05T11:00:00Z", "E1", date="2026-10-04", **child),
    ], until="2027-01-31T00:00:00Z")
    got = sorted((m.journey_id, m.recipient_id, m.status, m.reason, m.scheduled_for, m.subject, m.text)
                 for m in runner.messages.values())
    assert got == [("new-parent", "E1", "suppressed", "erased", at("2026-10-01T00:00:00Z"), None, None),
                   ("tell-manager", "M1", "sent", None, at("2026-09-14T11:00:00Z"), None, None)]
    assert [d.reason for d in runner.dead_letters] == ["erased_subject"]
    assert runner.pending_timers == 0


def test_a_digest_policy_over_a_templates_folder_without_a_digest_template_uses_the_bundled_one(
        write_files: WriteFiles) -> None:
    """README "Digests": a rule's `template` defaults to `digest/summary`, bundled. A contract world's templates
    folder has none: the run used to stop at "unknown template 'digest/summary'" before any event. The manager's two
    messages of one day go in one digest at 09:00 the next day in Berlin (08:00Z), under the README's id."""
    root = write_files({"journeys/tell-manager.yaml": TELL_MANAGER,
                        "policy.yaml": "apiVersion: wayfinder/v1\nkind: Policy\ndigests:\n  manager: {every: daily}\n"})
    child = {"relationship": "child", "reason": "birth"}
    runner = EmbeddedRunner(world_defs(root / "journeys", root / "policy.yaml"))
    runner.run([profile("E1", manager_id="M1"), profile("E2", given_name="Ben", manager_id="M1"),
                profile("M1", given_name="Maria", locale="en-GB"),
                event("d1", "hris.dependent.added", "2026-09-14T11:00:00Z", "E1", date="2026-09-12", **child),
                event("d2", "hris.dependent.added", "2026-09-14T15:00:00Z", "E2", date="2026-09-13", **child)],
               at("2026-09-16T00:00:00Z"))
    digest_id = "d-" + hashlib.sha256("\x1f".join(("M1", "manager", "2026-09-15T07:00:00+00:00")).encode()
                                      ).hexdigest()[:24]
    got = sorted((m.message_id if m.journey_id == "digest" else m.employee_id, m.status, m.scheduled_for,
                  m.digest_id) for m in runner.messages.values())
    assert got == [("E1", "sent", at("2026-09-15T07:00:00Z"), digest_id),
                   ("E2", "sent", at("2026-09-15T07:00:00Z"), digest_id),
                   (digest_id, "sent", at("2026-09-15T07:00:00Z"), None)]
    digest = runner.messages[digest_id]
    assert digest.subject == "2 updates about your people"
    assert digest.text is not None and digest.text.startswith("Hi Maria,")


ONE_MORE_TASK = """
apiVersion: wayfinder/v1
kind: Journey
id: one-more-task
name: One more task
owner: hr@example.com
version: 1
reentry: always
trigger: {event: onboarding.task.completed}
steps:
  - id: first
    send: {channel: email, subject: "One done", body: "Keep going."}
  - id: next
    wait_for: {event: onboarding.task.completed, timeout: 30d}
  - id: second
    send: {channel: email, subject: "Two done", body: "Well done."}
"""


def test_an_event_that_continues_a_journey_does_not_also_enter_it_again(write_files: WriteFiles) -> None:
    """SPEC §4: one active enrollment per (employee, journey). The second completion is what the active enrollment
    waits for: it continues it (to its end), and does not start a second one as well, though `reentry: always`
    would let a later completion start one. Before, it did both, and a third message was sent at once."""
    root = write_files({"journeys/one-more-task.yaml": ONE_MORE_TASK})
    runner = run(root / "journeys", [
        profile("E1"),
        event("c1", "onboarding.task.completed", "2026-10-05T10:00:00Z", "E1", task_id="a"),
        event("c2", "onboarding.task.completed", "2026-10-07T10:00:00Z", "E1", task_id="b"),
        event("c3", "onboarding.task.completed", "2026-10-09T10:00:00Z", "E1", task_id="c"),
    ], until="2026-10-10T00:00:00Z")
    went = sorted((m.scheduled_for, m.step_id) for m in runner.messages.values())
    assert went == [(at("2026-10-05T10:00:00Z"), "first"), (at("2026-10-07T10:00:00Z"), "second"),
                    (at("2026-10-09T10:00:00Z"), "first")]


NOTHING_TO_OFFER = """
apiVersion: wayfinder/v1
kind: Journey
id: nothing-to-offer
name: A note with no links
owner: hr@example.com
version: 1
trigger: {event: hris.dependent.added}
steps:
  - id: note
    send:
      channel: email
      subject: "Congratulations"
      body: "{{ resources | length }} links"
      resources: {topics: [family], limit: 0}
"""


def test_a_limit_of_zero_offers_no_resources(write_files: WriteFiles) -> None:
    """SPEC §5: at most `limit` resources; `limit: 0` is none, and the message goes without them. Before, it was a
    validation error ("greater than or equal to 1") and the whole run refused to start."""
    root = write_files({"journeys/nothing-to-offer.yaml": NOTHING_TO_OFFER})
    runner = run(root / "journeys", [
        profile("E1"),
        event("d1", "hris.dependent.added", "2026-10-05T10:00:00Z", "E1", relationship="child", reason="birth",
              date="2026-10-03"),
    ])
    [message] = runner.messages.values()
    assert (message.status, message.resources) == ("sent", [])
    assert (message.text or "").startswith("0 links")



def test_a_limit_above_fifty_runs_and_offers_everything_there_is(write_files: WriteFiles) -> None:
    """SPEC §5: at most `limit`; a limit larger than the catalog, `limit: 100` for "all of them", is valid and offers
    every item that applies. Before, any limit over 50 was a validation error and the whole run refused to start."""
    root = write_files({"journeys/nothing-to-offer.yaml": NOTHING_TO_OFFER.replace("limit: 0", "limit: 100")})
    runner = run(root / "journeys", [
        profile("E1"),
        event("d1", "hris.dependent.added", "2026-10-05T10:00:00Z", "E1", relationship="child", reason="birth",
              date="2026-10-03"),
    ])
    [message] = runner.messages.values()
    assert (message.status, set(message.resources)) == ("sent", {"de-parental-leave", "childcare-de", "parent-network"})

REMIND_UNTIL_DONE = """
apiVersion: wayfinder/v1
kind: Journey
id: remind-until-done
name: Remind until done
owner: hr@example.com
version: 1
trigger: {event: hris.employee.hired}
steps:
  - id: remind
    send: {channel: email, subject: "Your accounts", body: "Please activate your accounts."}
  - id: done
    wait_for: {event: onboarding.task.completed, timeout: 2d, on_timeout: remind}
  - id: thanks
    send: {channel: email, subject: "Thanks", body: "All set."}
"""


def test_an_on_timeout_jump_back_sends_each_visit_as_its_own_message(write_files: WriteFiles) -> None:
    """SPEC §4: `on_timeout` may name an earlier step (a cycle with a `wait_for` in it is valid). Each visit of the
    step is its own message with its own id (SPEC §6: one id per message; README: a visit number in a loop), at
    each timeout, until the awaited event continues the journey."""
    root = write_files({"journeys/remind-until-done.yaml": REMIND_UNTIL_DONE})
    runner = run(root / "journeys", [
        profile("E1"),
        event("h1", "hris.employee.hired", "2026-10-05T10:00:00Z", "E1", start_date="2026-10-12"),
        event("c1", "onboarding.task.completed", "2026-10-10T12:00:00Z", "E1", task_id="it-accounts"),
    ], until="2026-10-31T00:00:00Z")
    went = sorted((m.scheduled_for, m.step_id, m.status) for m in runner.messages.values())
    assert went == [(at("2026-10-05T10:00:00Z"), "remind", "sent"), (at("2026-10-07T10:00:00Z"), "remind", "sent"),
                    (at("2026-10-09T10:00:00Z"), "remind", "sent"), (at("2026-10-10T12:00:00Z"), "thanks", "sent")]
    assert len(runner.messages) == 4  # three visits of remind, three ids


ROADMAP_AGAIN = """
apiVersion: wayfinder/v1
kind: Journey
id: first-weeks
name: Your first weeks
owner: people@example.com
version: 1
reentry: always
trigger: {event: hris.employee.hired}
steps:
  - id: roadmap
    roadmap: {topics: [onboarding], horizon: 30d, channel: email, template: onboarding/roadmap}
"""


def test_a_rehires_roadmap_with_every_item_delivered_before_still_goes(write_files: WriteFiles) -> None:
    """SPEC §5: what was delivered is not offered again, so a rehire's second roadmap lists nothing; the world's
    roadmap template is the item list alone and renders empty. README "Resources": a step whose list comes back
    empty still goes (with its footer: why it was sent, how to stop it), not `failed` with a `render_error` dead
    letter as a template that says nothing for other reasons does."""
    root = write_files({"journeys/first-weeks.yaml": ROADMAP_AGAIN})
    hire = {"start_date": "2026-10-01", "role": "Engineer", "department": "Engineering", "location": "Berlin",
            "manager_id": "M1"}
    runner = run(root / "journeys", [
        profile("E1", work_mode="onsite"),
        event("h1", "hris.employee.hired", "2026-09-14T09:00:00Z", "E1", **hire),
        event("h2", "hris.employee.hired", "2026-09-20T09:00:00Z", "E1", **hire),
    ])
    went = sorted((m.scheduled_for, m.status, m.reason, tuple(m.resources)) for m in runner.messages.values())
    assert went == [(at("2026-09-14T09:00:00Z"), "sent", None,
                     ("badge-pickup", "it-accounts", "team-intro", "security-training")),
                    (at("2026-09-20T09:00:00Z"), "sent", None, ())]
    assert runner.dead_letters == []
    again = max(runner.messages.values(), key=lambda m: m.scheduled_for)
    assert again.subject == "Your first weeks"
    assert again.text is not None and str(again.preferences_url) in again.text


def test_a_timer_due_at_until_or_with_an_exit_fires_first(write_files: WriteFiles) -> None:
    """SPEC §7: timers due at or before ``--until`` fire, and every timer due at or before an event's time fires
    before it. The return check-in is due 2026-12-05T08:00Z: a run that ends at that very instant sends it; E2
    leaves at it (the check-in goes first), E3 leaves a second before it (the exit ends the wait)."""
    root = write_files({"journeys/new-parent.yaml": NEW_PARENT})
    birth = {"relationship": "child", "reason": "birth", "date": "2026-09-12"}

    def checkins(events: list[CloudEvent], until: str | None) -> dict[str, tuple[str, object]]:
        runner = run(root / "journeys", [
            *(profile(e) for e in ("E1", "E2", "E3")),
            *(event(f"d{e}", "hris.dependent.added", "2026-09-14T11:00:00Z", e, **birth) for e in ("E1", "E2", "E3")),
            *events,
        ], until=until)
        return {m.employee_id: (m.status, m.scheduled_for) for m in runner.messages.values()
                if m.step_id == "return-checkin"}

    due = ("sent", at("2026-12-05T08:00:00Z"))
    assert checkins([], until="2026-12-05T08:00:00Z") == {"E1": due, "E2": due, "E3": due}
    assert checkins([
        event("x3", "hris.employee.terminated", "2026-12-05T07:59:59Z", "E3", date="2026-12-05", reason="resignation"),
        event("x2", "hris.employee.terminated", "2026-12-05T08:00:00Z", "E2", date="2026-12-05", reason="resignation"),
    ], until=None) == {"E1": due, "E2": due}


def test_a_late_copy_of_a_first_birth_sends_nothing_after_a_second_birth(write_files: WriteFiles) -> None:
    """SPEC §2 and §6: the same (source, id) has the effect of once, and a message id is never sent twice. The
    first birth's event comes again months later with a newer time (its key long let go), after a second birth
    entered the journey again and finished: it enters nothing, where it started an enrollment with the first one's
    id and sent the first one's welcome and check-in again under the same message ids."""
    journey = NEW_PARENT.replace("exit_on:", "reentry: always\nexit_on:")
    root = write_files({"journeys/new-parent.yaml": journey})

    def birth(eid: str, time: str, day: str) -> CloudEvent:
        return event(eid, "hris.dependent.added", time, "E1", relationship="child", reason="birth", date=day)

    runner = run(root / "journeys", [
        profile("E1"), birth("d1", "2026-03-03T10:00:00Z", "2026-03-01"),
        birth("d2", "2026-07-02T10:00:00Z", "2026-07-01"), birth("d1", "2026-10-15T10:00:00Z", "2026-03-01"),
    ], until="2027-01-31T00:00:00Z")
    went = sorted((m.scheduled_for, m.step_id, m.status) for m in runner.messages.values())
    assert went == [(at("2026-03-03T10:00:00Z"), "welcome", "sent"),
                    (at("2026-05-24T07:00:00Z"), "return-checkin", "sent"),
                    (at("2026-07-02T10:00:00Z"), "welcome", "sent"),
                    (at("2026-09-23T07:00:00Z"), "return-checkin", "sent")]


BURST = """apiVersion: wayfinder/v1
kind: Journey
id: burst
name: Burst
owner: hr@example.com
version: 1
trigger: {event: hris.employee.started}
steps:
  - {id: s1, send: {channel: intranet, subject: "1", body: "one"}}
  - {id: broken, send: {channel: intranet, subject: "x", body: "{{ employee.attributes.nope.deeper }}"}}
  - {id: mail, send: {channel: email, subject: "2", body: "two"}}
  - {id: s2, send: {channel: intranet, subject: "3", body: "three"}}
  - {id: s3, send: {channel: intranet, subject: "4", body: "four"}}
  - {id: s4, send: {channel: intranet, subject: "5", body: "five"}}
  - {id: s5, send: {channel: intranet, subject: "6", body: "six"}}
"""


def test_a_burst_over_the_cap_goes_in_step_order_as_each_oldest_leaves_and_what_never_went_takes_no_place(
        write_files: WriteFiles) -> None:
    # SPEC §4: a capped message is deferred to when the oldest message in the window leaves it: a window of 1d is
    # left at the very instant 1d later, so the next two go then, in step order. A message that failed to render
    # or was suppressed (an opted-out channel) never went, so it takes no place in the cap.
    root = write_files({"journeys/burst.yaml": BURST,
                        "policy.yaml": "apiVersion: wayfinder/v1\nkind: Policy\nfrequency_cap: {max: 2, per: 1d}\n"})
    runner = EmbeddedRunner(world_defs(root / "journeys", root / "policy.yaml"))
    runner.run([profile("E1", preferences={"opt_out_channels": ["email"]}),
                event("s", "hris.employee.started", "2026-11-09T10:00:00Z", "E1", date="2026-11-09")],
               at("2026-11-09T10:00:00Z"))
    assert {m.step_id: m.status for m in runner.messages.values()}["s3"] == "deferred"
    runner.run([], at("2026-11-12T00:00:00Z"))
    went = {m.step_id: (m.status, m.reason, m.scheduled_for) for m in runner.messages.values()}
    assert went == {"s1": ("sent", None, at("2026-11-09T10:00:00Z")),
                    "broken": ("failed", "render_error", at("2026-11-09T10:00:00Z")),
                    "mail": ("suppressed", "opted_out_channel", at("2026-11-09T10:00:00Z")),
                    "s2": ("sent", None, at("2026-11-09T10:00:00Z")),
                    "s3": ("sent", None, at("2026-11-10T10:00:00Z")),
                    "s4": ("sent", None, at("2026-11-10T10:00:00Z")),
                    "s5": ("sent", None, at("2026-11-11T10:00:00Z"))}


POLICY_PICK = """
apiVersion: wayfinder/v1
kind: Journey
id: policy-pick
name: Your parental leave policy
owner: benefits@example.com
version: 1
trigger: {event: hris.dependent.added}
steps:
  - id: policy
    send: {channel: email, template: new-parent/welcome, resources: {topics: [parental-leave]}}
"""


def test_the_parental_leave_policy_group_gives_each_reader_the_version_that_applies(write_files: WriteFiles) -> None:
    # SPEC §5: one of a group, eligible first, then the locale, then the language. A German reader in Austria may
    # not have the German policy (its eligibility is Germany's), so they get the global one; a French or an
    # American reader working in Germany gets the German policy, which applies to them, over the global one.
    root = write_files({"journeys/policy-pick.yaml": POLICY_PICK})
    runner = run(root / "journeys", [
        profile("E3", country="AT", timezone="Europe/Vienna", locale="de-AT"),
        profile("E4", country="DE", locale="fr-FR"),
        profile("E5", country="DE", locale="en-US"),
        *(event(f"d{n}", "hris.dependent.added", "2026-09-14T11:00:00Z", f"E{n}", relationship="child",
                reason="birth", date="2026-09-12") for n in (3, 4, 5)),
    ])
    picked = {m.employee_id: m.resources for m in runner.messages.values()}
    assert picked == {"E3": ["global-parental-leave"], "E4": ["de-parental-leave"], "E5": ["de-parental-leave"]}


LEAVE_RESOURCES = """
apiVersion: wayfinder/v1
kind: Journey
id: on-leave
name: While you are away
owner: benefits@example.com
version: 1
trigger: {event: hris.leave.started}
steps:
  - id: family
    send: {channel: intranet, template: new-parent/return, resources: {topics: [family]}}
"""


def test_resources_of_a_message_suppressed_for_its_channel_are_offered_later(write_files: WriteFiles) -> None:
    # SPEC §5 leaves out what was already delivered; an email the employee opted out of delivered nothing, so the
    # policy it would have carried is still offered in the intranet message that follows.
    root = write_files({"journeys/new-parent.yaml": NEW_PARENT, "journeys/on-leave.yaml": LEAVE_RESOURCES})
    runner = run(root / "journeys", [
        profile("E1", preferences={"opt_out_channels": ["email"]}),
        event("d1", "hris.dependent.added", "2026-09-14T11:00:00Z", "E1", relationship="child", reason="birth",
              date="2026-09-12"),
        event("l1", "hris.leave.started", "2026-09-20T08:00:00Z", "E1", leave_type="parental",
              start_date="2026-09-21", expected_return_date="2027-03-01"),
    ])
    by_step = {m.step_id: m for m in runner.messages.values()}
    assert (by_step["welcome"].status, by_step["welcome"].reason) == ("suppressed", "opted_out_channel")
    assert set(by_step["family"].resources) == {"de-parental-leave", "childcare-de", "parent-network"}


RETURN_WAITS = """
apiVersion: wayfinder/v1
kind: Journey
id: leave-return
name: Before you come back
owner: people@example.com
version: 1
trigger: {event: hris.leave.started}
steps:
  - id: before
    wait: {until: trigger.data.expected_return_date, offset: -14d, at: "09:00"}
  - id: note
    send: {channel: intranet, subject: "Soon", body: "See you soon"}
  - id: after
    wait: {until: trigger.data.expected_return_date, offset: 1d, at: "08:15"}
  - id: checkin
    send: {channel: intranet, subject: "Welcome back", body: "Welcome back"}
"""


def test_local_time_waits_in_a_half_hour_zone_and_a_southern_one(write_files: WriteFiles) -> None:
    # SPEC §4: `until` a date is midnight in the employee's zone, then `offset`, then `at` local time.
    root = write_files({"journeys/leave-return.yaml": RETURN_WAITS})
    runner = run(root / "journeys", [
        profile("E4", country="IN", timezone="Asia/Kolkata", locale="en-IN"),
        profile("E5", country="NZ", timezone="Pacific/Auckland", locale="en-NZ"),
        event("l4", "hris.leave.started", "2026-03-02T09:00:00Z", "E4", leave_type="sabbatical",
              start_date="2026-03-02", expected_return_date="2026-06-10"),
        event("l5", "hris.leave.started", "2026-03-02T09:00:00Z", "E5", leave_type="parental",
              start_date="2026-03-02", expected_return_date="2026-06-10"),
    ], until="2026-07-01T00:00:00Z")
    got = {(m.employee_id, m.step_id): (m.status, m.scheduled_for) for m in runner.messages.values()}
    assert got == {
        # Kolkata is UTC+05:30 all year: 09:00 on 05-27 is 03:30Z, 08:15 on 06-11 is 02:45Z.
        ("E4", "note"): ("sent", at("2026-05-27T03:30:00Z")),
        ("E4", "checkin"): ("sent", at("2026-06-11T02:45:00Z")),
        # Auckland left summer time on 04-05 (UTC+12 in May and June): 09:00 is 21:00Z the day before.
        ("E5", "note"): ("sent", at("2026-05-26T21:00:00Z")),
        ("E5", "checkin"): ("sent", at("2026-06-10T20:15:00Z")),
    }


HEADS_UP = """
apiVersion: wayfinder/v1
kind: Journey
id: heads-up
name: A heads-up for the manager
owner: people@example.com
version: 1
trigger: {event: hris.job.changed}
steps:
  - id: employee-note
    send: {channel: intranet, subject: "Congratulations", body: "On your new role"}
  - id: manager-note
    send: {channel: email, to: manager, subject: "Your report changed role", body: "Say well done"}
"""


def test_quiet_hours_are_each_recipients_own_and_a_weekend_spans_the_clock_change(write_files: WriteFiles) -> None:
    # SPEC §4: quiet hours are in the recipient's timezone; weekends: true makes Saturday and Sunday quiet.
    root = write_files({"journeys/heads-up.yaml": HEADS_UP, "policy.yaml": (
        "apiVersion: wayfinder/v1\nkind: Policy\nquiet_hours: {start: \"20:00\", end: \"08:00\", weekends: true}\n")})
    runner = EmbeddedRunner(world_defs(root / "journeys", root / "policy.yaml"))
    change = {"change": "promotion", "old_role": "A", "new_role": "B", "old_department": "X", "new_department": "X"}
    runner.run([
        profile("M1", country="GB", timezone="Europe/London", locale="en-GB"),
        profile("E5", country="NZ", timezone="Pacific/Auckland", locale="en-NZ", manager_id="M1"),
        profile("E1", manager_id="M1"),
        # Tuesday 21:00Z: Wednesday 10:00 in Auckland (summer time), 21:00 in London.
        event("j5", "hris.job.changed", "2026-02-10T21:00:00Z", "E5", **change),
        # Saturday 11:00 in Berlin, the day before summer time starts: Monday 08:00 is then UTC+2.
        event("j1", "hris.job.changed", "2026-03-28T10:00:00Z", "E1", **change),
    ], at("2026-04-10T00:00:00Z"))
    got = {(m.employee_id, m.step_id): (m.recipient_id, m.status, m.scheduled_for) for m in runner.messages.values()}
    assert got == {
        ("E5", "employee-note"): ("E5", "sent", at("2026-02-10T21:00:00Z")),
        ("E5", "manager-note"): ("M1", "sent", at("2026-02-11T08:00:00Z")),
        ("E1", "employee-note"): ("E1", "sent", at("2026-03-30T06:00:00Z")),
        # Saturday 10:00Z is 10:00 in London (still GMT) and a weekend there too: Monday 08:00 BST is 07:00Z.
        ("E1", "manager-note"): ("M1", "sent", at("2026-03-30T07:00:00Z")),
    }
