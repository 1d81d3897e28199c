"""A journey's holdout (issue 14) in a run: the control group gets nothing of the journey, except a message that
would wait for a person: a sensitive moment is never withheld for a measurement."""

from __future__ import annotations

from tests.pipeline.test_runner_rules import ev, person, runner_for
from tests.support import WriteFiles, at
from wayfinder.journeys.holdout import in_holdout

CARE = """id: care
holdout: 50%
trigger: {event: hris.leave.started}
steps:
  - id: hello
    send: {channel: email, subject: "Hello", body: "For you.", resources: {topics: [bereavement], limit: 2}}
"""
PEOPLE = [f"E{n}" for n in range(1, 40)]


def _run(write_files: WriteFiles, policy: str) -> dict[str, tuple[str, str | None]]:
    runner = runner_for(write_files, {"care": CARE}, policy)
    events = [person(p) for p in PEOPLE]
    events += [ev(f"l-{p}", "hris.leave.started", "2026-05-04T09:00:00Z", p, leave_type="other",
                  start_date="2026-05-04") for p in PEOPLE]
    runner.run(events, at("2026-05-20T00:00:00Z"))
    return {m.employee_id: (m.status, m.reason) for m in runner.messages.values()}


def test_a_message_that_waits_for_a_person_is_never_held_out(write_files: WriteFiles) -> None:
    held_out = {p for p in PEOPLE if in_holdout(p, "care", 0.5)}
    assert 5 < len(held_out) < len(PEOPLE) - 5
    plain = _run(write_files, "review_window: 5d\n")
    assert {p for p, (_, reason) in plain.items() if reason == "holdout"} == held_out
    assert all(plain[p][0] == "sent" for p in PEOPLE if p not in held_out)
    sensitive = _run(write_files, "review_window: 5d\nsensitive_topics: [bereavement]\n")
    assert {sensitive[p] for p in PEOPLE} == {("pending_approval", "sensitive")}  # the held out ones too
