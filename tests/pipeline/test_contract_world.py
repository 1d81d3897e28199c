"""Golden runs over the small world in tests/data: the core decisions the contract pins down."""

from __future__ import annotations

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
