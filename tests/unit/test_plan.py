"""``wayfinder plan``'s comparison of two runs, on records made by hand."""

from __future__ import annotations

from datetime import timedelta

from tests.support import at
from wayfinder.journeys.model import Journey
from wayfinder.journeys.records import Message
from wayfinder.plan import Run, compare, over_cap


def journey(jid: str, version: int = 1, offset: str = "1d") -> Journey:
    return Journey.model_validate({
        "apiVersion": "wayfinder/v1", "kind": "Journey", "id": jid, "name": jid, "owner": "hr@example.com",
        "version": version, "trigger": {"event": "hris.employee.hired"},
        "steps": [{"id": "hello", "send": {"channel": "email", "subject": "Hi", "body": "Hi"}},
                  {"id": "later", "wait": {"for": offset}},
                  {"id": "again", "send": {"channel": "email", "subject": "Hi", "body": "Hi"}}]})


def message(jid: str, step: str, recipient: str, when: str, status: str = "sent") -> Message:
    return Message.model_validate({
        "message_id": f"m-{jid}-{step}-{recipient}-{when}", "employee_id": recipient, "recipient_id": recipient,
        "journey_id": jid, "journey_version": 1, "step_id": step, "channel": "email", "status": status,
        "scheduled_for": at(when), "created_at": at(when)})


def test_over_cap_finds_who_would_get_more_than_the_cap_in_a_window() -> None:
    messages = [message("a", "hello", "E1", "2026-03-02T09:00"), message("a", "again", "E1", "2026-03-04T09:00"),
                message("b", "hello", "E1", "2026-03-08T08:59"),  # three within 7 days for E1
                message("a", "hello", "E2", "2026-03-02T09:00"), message("a", "again", "E2", "2026-03-09T09:00"),
                message("b", "hello", "E2", "2026-03-16T09:00", status="suppressed")]
    assert over_cap(messages, 2, timedelta(days=7)) == {"E1"}
    assert over_cap(messages, 3, timedelta(days=7)) == set()


def test_compare_reports_changes_weeks_overlaps_the_cap_and_idle_steps() -> None:
    current = Run({"a": journey("a")}, {"a": 2}, [message("a", "hello", "E1", "2026-03-02T09:00"),
                                                  message("a", "again", "E1", "2026-03-03T09:00")], [])
    planned = Run({"a": journey("a", 2, "10d"), "b": journey("b")}, {"a": 2, "b": 1},
                  [message("a", "hello", "E1", "2026-03-02T09:00"), message("b", "hello", "E1", "2026-03-03T09:00"),
                   message("b", "again", "E1", "2026-03-04T09:00")], [], over_cap={"E1"})
    plan = compare(current, planned, ["journey a: step x can never be reached"])
    assert plan.changes == 2
    assert plan.lines == [
        "  ~ journey a: changed (v1 -> v2); enrolls 2 -> 2",
        "    steps changed: later",  # what changed, by the author's names (an audit on 2026-12-04: only "changed")
        "  + journey b: new; enrolls 0 -> 1",
        "  messages: 2 -> 3; busiest week per recipient 2 -> 3; 1 recipient(s) get more in some week: E1",
        "  overlaps (one recipient, one week, several journeys): 0 -> 1; new: 1",
        "  recipients the frequency cap holds back: 0 -> 1; new: E1",
        "  ! journey a: step x can never be reached",
        "  ! 1 step(s) produced nothing over these events: a/again",
    ]


def test_a_recipient_with_more_in_some_week_is_counted_though_their_busiest_week_is_as_busy() -> None:
    """An audit on 2026-12-04: a manager went from 4 to 6 messages, one in a week that had none, and the plan said
    "0 recipient(s) get more in some week" (it compared each person's busiest week only)."""
    current = Run({"a": journey("a")}, {"a": 2}, [message("a", "hello", "E1", "2026-03-02T09:00"),
                                                  message("a", "again", "E1", "2026-03-03T09:00")], [])
    planned = Run({"a": journey("a", 2)}, {"a": 2}, [message("a", "hello", "E1", "2026-03-02T09:00"),
                                                     message("a", "again", "E1", "2026-03-03T09:00"),
                                                     message("a", "again", "E1", "2026-03-10T09:00")], [])
    assert "busiest week per recipient 2 -> 2; 1 recipient(s) get more in some week: E1" in compare(
        current, planned).lines[1]


def test_a_changed_journey_says_what_changed_in_it() -> None:
    before = journey("a")
    after = Journey.model_validate({
        "apiVersion": "wayfinder/v1", "kind": "Journey", "id": "a", "name": "a", "owner": "hr@example.com",
        "version": 2, "trigger": {"event": "hris.employee.hired"}, "audience": 'employee.country != "FR"',
        "steps": [{"id": "again", "send": {"channel": "email", "subject": "Hi", "body": "Hi"}},
                  {"id": "hello", "send": {"channel": "email", "subject": "Hi", "body": "Hi"}},
                  {"id": "note", "send": {"channel": "email", "to": "manager", "subject": "Hi", "body": "Hi"}}]})
    lines = compare(Run({"a": before}, {}, [], []), Run({"a": after}, {}, [], [])).lines
    assert lines[1] == "    audience changed; steps added: note; steps removed: later; steps in another order"


def test_no_change_says_so() -> None:
    run = Run({"a": journey("a")}, {"a": 1}, [message("a", "hello", "E1", "2026-03-02T09:00")], [])
    assert compare(run, run).lines[0] == "  no journey changes"


def test_a_digest_counts_as_the_one_email_it_is() -> None:
    """plan counted a digest and every message in it, and "digest" as a journey (found by an audit of issue 10)."""
    gathered = [message("a", "hello", "M1", "2026-03-03T08:00").model_copy(update={"digest_id": "d-1"}),
                message("b", "hello", "M1", "2026-03-03T08:00").model_copy(update={"digest_id": "d-1"})]
    digest = message("digest", "daily", "M1", "2026-03-03T08:00").model_copy(update={"message_id": "d-1"})
    run = Run({"a": journey("a"), "b": journey("b")}, {"a": 1, "b": 1}, [*gathered, digest], [])
    assert run.weekly() == {("M1", "2026-W10"): 1}
    assert run.overlaps() == {("M1", "2026-W10")}  # two journeys reach M1 that week, in one digest
    assert over_cap([*gathered, digest], 0, timedelta(days=7)) == set()  # digests are outside the cap


def test_steps_edited_under_the_same_version_are_called_out() -> None:
    # An enrollment keeps its version and its place by step number: an edit in place moves the running ones.
    edited = journey("a").model_copy(update={"steps": journey("a").steps[:1]})
    run = Run({"a": journey("a")}, {"a": 1}, [], [])
    lines = compare(run, Run({"a": edited}, {"a": 1}, [], [])).lines
    assert lines[:3] == ["  ~ journey a: changed without a new version (still v1); enrolls 1 -> 1",
                         "    steps removed: later, again",
                         "  ! journey a: its steps changed but its version is still 1: an enrollment keeps its "
                         "version and its place by step number, so running ones would go on in the edited steps "
                         "(the engine ends those whose wait is gone); give the edit a new `version` and keep the "
                         "old file beside it to keep them on the old steps"]
    assert not [line for line in compare(run, Run({"a": journey("a", 2)}, {"a": 1}, [], [])).lines
                if "! journey" in line]


def test_template_catalog_and_policy_edits_are_said_with_the_messages_they_reword() -> None:
    """Found by an audit of the authoring commands: a plan of a reworded template, a new resource or a tighter cap
    said "no journey changes" and nothing else, though every message of that template would read differently."""
    sent = message("a", "hello", "E1", "2026-03-02T09:00")
    reworded = sent.model_copy(update={"text": "Hello again"})
    current = Run({"a": journey("a")}, {"a": 1}, [sent], [], templates={"t/one": ("Hi",), "t/gone": ("Bye",)},
                  resources={"r1": {"title": "A"}}, policy={"frequency_cap": {"max": 3}})
    planned = Run({"a": journey("a")}, {"a": 1}, [reworded], [], templates={"t/one": ("Hi there",), "t/new": ("New",)},
                  resources={"r1": {"title": "A"}, "r2": {"title": "B"}}, policy={"frequency_cap": {"max": 2}})
    lines = compare(current, planned).lines
    assert "  ~ templates: added: t/new; removed: t/gone; changed: t/one" in lines
    assert "  ~ catalog resources: added: r2" in lines
    assert "  ~ policy changed" in lines
    assert "  1 message(s) read differently (the same message, other words)" in lines
    same = compare(current, current).lines
    assert not [line for line in same if "~" in line or "read differently" in line]


def test_a_journey_edited_without_a_new_version_is_called_out_with_what_it_does_to_running_enrollments() -> None:
    """An HR operations audit on 2026-12-05: a wait's duration edited in place (the same steps) said only "changed
    (v1 -> v1)". The engine reads an enrollment's version as it is now: a wait already begun keeps its time (its
    timer is set), every later step runs as edited. A draft edited in place moves nobody (drafts enroll no one)."""
    run = Run({"a": journey("a")}, {"a": 1}, [], [])
    lines = compare(run, Run({"a": journey("a", offset="2d")}, {"a": 1}, [], [])).lines
    assert lines[:3] == ["  ~ journey a: changed without a new version (still v1); enrolls 1 -> 1",
                         "    steps changed: later",
                         "  ! journey a: edited but its version is still 1: running enrollments keep their place "
                         "and go on in the edited steps (a wait or timeout they are in keeps the time it was given; "
                         "what they wait for, their exits and every later step are read as edited), and new ones "
                         "start on the edit; give the edit a new `version` and keep the old file beside it to keep "
                         "running ones on what they started"]
    draft = journey("a").model_copy(update={"status": "draft"})
    lines = compare(Run({"a": draft}, {}, [], []), Run({"a": draft.model_copy(update={"name": "b"})}, {}, [], [])).lines
    assert lines[0] == "  ~ journey a: changed without a new version (still v1); enrolls 0 -> 0"
    assert not [line for line in lines if "! journey" in line]
