"""A journey's holdout (issue 14) in a run: the control group gets nothing of the journey, except a message that
would wait for a person: a sensitive moment is never withheld for a measurement."""

from __future__ import annotations

from tests.pipeline.test_runner_rules import ev, person, runner_for
from tests.support import WriteFiles, at
from wayfinder.journeys.holdout import in_holdout
from wayfinder.journeys.model import Fairness
from wayfinder.reports import ReportInputs
from wayfinder.reports.people import journey_people
from wayfinder.streams.embedded import EmbeddedRunner

CARE = """id: care
holdout: 50%
trigger: {event: hris.leave.started}
steps:
  - id: hello
    send: {channel: email, subject: "Hello", body: "For you.", resources: {topics: [bereavement], limit: 2}}
"""
PEOPLE = [f"E{n}" for n in range(1, 40)]


def _runner(write_files: WriteFiles, policy: str) -> EmbeddedRunner:
    runner = runner_for(write_files, {"care": CARE}, policy)
    events = [person(p) for p in PEOPLE]
    events += [ev(f"l-{p}", "hris.leave.started", "2026-05-04T09:00:00Z", p, leave_type="other",
                  start_date="2026-05-04") for p in PEOPLE]
    runner.run(events, at("2026-05-20T00:00:00Z"))
    return runner


def _run(write_files: WriteFiles, policy: str) -> dict[str, tuple[str, str | None]]:
    return {m.employee_id: (m.status, m.reason) for m in _runner(write_files, policy).messages.values()}


def test_a_message_that_waits_for_a_person_is_never_held_out(write_files: WriteFiles) -> None:
    held_out = {p for p in PEOPLE if in_holdout(p, "care", 0.5)}
    assert 5 < len(held_out) < len(PEOPLE) - 5
    plain = _run(write_files, "review_window: 5d\n")
    assert {p for p, (_, reason) in plain.items() if reason == "holdout"} == held_out
    assert all(plain[p][0] == "sent" for p in PEOPLE if p not in held_out)
    sensitive = _run(write_files, "review_window: 5d\nsensitive_topics: [bereavement]\n")
    assert {sensitive[p] for p in PEOPLE} == {("pending_approval", "sensitive")}  # the held out ones too


def test_the_reports_count_the_control_group_by_the_hash_when_its_messages_went_to_review(
        write_files: WriteFiles) -> None:
    # Intention to treat: a held-out person whose message waits for a person is still in the control group. The
    # reports took them for reached (their messages were not all suppressed for the holdout), so the impact report
    # compared the wrong groups and the fairness rates counted the control group as not delivered to.
    runner = _runner(write_files, "review_window: 5d\nsensitive_topics: [bereavement]\n")
    inputs = ReportInputs(journeys=runner.engine.defs.current(), fairness=Fairness(k=5),
                          messages=list(runner.messages.values()))
    people = journey_people(inputs, "care")
    control = {p for p in PEOPLE if in_holdout(p, "care", 0.5)}
    assert {p for p, person in people.items() if person.held_out} == control
    assert {p for p, person in people.items() if person.reached} == set(PEOPLE) - control
