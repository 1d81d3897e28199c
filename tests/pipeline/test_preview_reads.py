"""``wayfinder preview`` as HR operations read it (SPEC §1, §7): the whole journey, said in words."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support import WORLD, WriteFiles
from wayfinder.cli import main
from wayfinder.cli.preview import profile_then
from wayfinder.journeys.events import CloudEvent

PEOPLE: list[dict[str, object]] = [
    {"specversion": "1.0", "id": "u1", "source": "t", "type": "hris.employee.upserted", "time": "2026-01-05T00:00:00Z",
     "subject": "E1", "data": {"given_name": "Anna", "email": "anna@example.com", "timezone": "Europe/Berlin",
                               "country": "DE", "employment_type": "employee", "hr_partner_id": "H1"}},
    {"specversion": "1.0", "id": "u2", "source": "t", "type": "hris.employee.upserted", "time": "2026-01-05T00:00:00Z",
     "subject": "H1", "data": {"given_name": "Hana", "email": "hana@example.com", "timezone": "Asia/Tokyo"}},
    {"specversion": "1.0", "id": "d1", "source": "t", "type": "hris.dependent.added", "time": "2026-03-20T11:00:00Z",
     "subject": "E1", "data": {"relationship": "child", "reason": "birth", "date": "2026-03-18"}},
]

LONG = """
    apiVersion: wayfinder/v1
    kind: Journey
    id: long
    name: Long waits
    owner: hr@example.com
    trigger: {event: hris.dependent.added}
    steps:
      - id: first
        send: {channel: email, subject: "First", body: "x"}
      - id: two-years
        wait: {until: trigger.data.date, offset: 104w, at: "09:00"}
      - id: later
        send: {channel: email, subject: "Two years on", body: "x"}
      - id: back
        wait_for: {event: hris.leave.ended}
      - id: welcome-back
        send: {channel: email, subject: "Welcome back", body: "x"}
"""

WAITS_FIRST = """
    apiVersion: wayfinder/v1
    kind: Journey
    id: long
    name: Waits first
    owner: hr@example.com
    trigger: {event: hris.dependent.added}
    steps:
      - id: back
        wait_for: {event: hris.leave.ended, timeout: 5000d, on_timeout: bye}
      - id: welcome-back
        send: {channel: email, subject: "Welcome back", body: "x"}
      - id: bye
        end: {}
"""


def preview(root: Path, journey: str, employee: str = "E1", *extra: str) -> int:
    return main(["preview", journey, "--employee", employee, "--events", str(root / "events.jsonl"),
                 "--journeys", str(root / "journeys"), "--catalog", str(WORLD / "catalog"),
                 "--templates", str(WORLD / "templates"), "--policy", str(WORLD.parent / "empty-policy.yaml"),
                 *extra])


def write_case(write_files: WriteFiles, journeys: dict[str, str], events: Sequence[dict[str, object]]) -> Path:
    root = write_files(journeys)
    (root / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return root


def test_preview_follows_a_wait_of_two_years_and_says_where_the_journey_still_waits(
        write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    """An audit on 2026-12-06: preview ran the clock 400 days past the last event, so a message after a longer wait
    was left out without a word, and a journey left waiting for an event said nothing of it (one waiting from its
    first step said "every step was skipped")."""
    root = write_case(write_files, {"journeys/long.yaml": LONG}, PEOPLE)
    assert preview(root, "long") == 0
    out = capsys.readouterr().out
    assert "== later: email to employee E1, sent, 2028-03-15 09:00 Europe/Berlin (2028-03-15T08:00:00Z)" in out
    assert out.endswith("then: waits at step back for the next hris.leave.ended event (no timeout: the employee "
                        "stays in the journey until one comes)\n")


def test_preview_of_a_journey_that_waits_first_says_so_not_that_every_step_was_skipped(
        write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_case(write_files, {"journeys/long.yaml": WAITS_FIRST}, PEOPLE)
    assert preview(root, "long") == 0
    out = capsys.readouterr().out
    assert "nothing, because" not in out
    assert out.endswith("then: waits at step back for the next hris.leave.ended event; if none comes by 2039-11-27 "
                        "12:00 Europe/Berlin (2039-11-27T11:00:00Z), it goes on at step bye\n")


SENSITIVE = """
    apiVersion: wayfinder/v1
    kind: Journey
    id: loss
    name: Loss
    owner: hr@example.com
    sensitivity: sensitive
    trigger: {event: hris.dependent.added}
    steps:
      - id: note
        send: {channel: email, subject: "Thinking of you", body: "x"}
      - id: later
        wait: {for: 2d}
      - id: partner
        task: {assignee: hr_partner, title: "Call Anna's HR partner", note: "See how they are"}
      - id: manager
        task: {assignee: manager, title: "Reach out", note: "x"}
"""


def test_preview_says_when_each_task_opens_that_a_sensitive_message_waits_for_a_person_and_who_is_not_on_file(
        write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    """An audit on 2026-12-06: a task was shown without the time it opens (a timeout's task 21 days on read as
    one at once), a sensitive message only as ``pending_approval (sensitive)``, and a role with no one on file
    as ``-``."""
    root = write_case(write_files, {"journeys/loss.yaml": SENSITIVE}, PEOPLE)
    assert preview(root, "loss") == 0
    out = capsys.readouterr().out
    assert ("== note: email to employee E1, pending_approval (sensitive), 2026-03-20 12:00 Europe/Berlin "
            "(2026-03-20T11:00:00Z)\n(it waits for a person to review it: it goes only once approved, from then on)"
            "\n") in out
    assert ("== task partner for hr_partner H1, 2026-03-22 20:00 Asia/Tokyo (2026-03-22T11:00:00Z): Call Anna's HR "
            "partner\nSee how they are\n") in out
    assert "== task manager for manager (nobody on file), 2026-03-22 12:00 Europe/Berlin (2026-03-22T11:00:00Z)" in out


def test_preview_says_why_a_condition_failed_in_words_not_python_names(
        write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    """An audit on 2026-12-06: ``--at`` before the employee's profile was upserted left the audience without the
    field it reads, and preview said ``(KeyError: 'employment_type')``."""
    journey = SENSITIVE.replace("sensitivity: sensitive", 'audience: employee.employment_type == "employee"')
    root = write_case(write_files, {"journeys/loss.yaml": journey}, PEOPLE[:2])
    assert preview(root, "loss", "E1", "--at", "2026-01-01T00:00:00Z") == 0
    out = capsys.readouterr().out
    assert "Error" not in out
    assert ("note: --at 2026-01-01T00:00:00Z is before E1's first event (2026-01-05T00:00:00Z): the journey meets "
            "them without the profile those events give them\n") in out
    assert out.endswith("the audience could not be evaluated (the field 'employment_type' is missing), which counts "
                        "as false; has() tests for a field that may not be there\n")


def test_preview_says_when_data_and_at_are_not_used(write_files: WriteFiles,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """An audit on 2026-12-06: ``--data`` and ``--at`` stand in for a trigger the events do not have; given for an
    employee who has one, they were left out without a word, and the preview showed another event than asked."""
    root = write_case(write_files, {"journeys/long.yaml": LONG}, PEOPLE)
    assert preview(root, "long", "E1", "--data", '{"relationship": "child", "reason": "adoption", "date": '
                   '"2026-04-01"}', "--at", "2026-04-02T10:00:00Z") == 0
    assert ("note: --data and --at not used: E1 has their own hris.dependent.added event in the events file, which "
            "preview runs (they stand in for one the events do not have)\n") in capsys.readouterr().out


def test_preview_says_why_a_manager_or_hr_partner_is_no_recipient(write_files: WriteFiles, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """An audit on 2026-12-06: a profile file previewed without ``--events`` showed the manager's message
    ``suppressed (no_recipient)`` with nothing to say that preview did not know the manager, nor how to tell it."""
    journey = LONG.replace('send: {channel: email, subject: "First", body: "x"}',
                           'send: {channel: email, to: hr_partner, subject: "First", body: "x"}')
    root = write_case(write_files, {"journeys/long.yaml": journey}, PEOPLE)
    profile = tmp_path / "anna.json"
    profile.write_text(json.dumps(PEOPLE[0]["data"]), encoding="utf-8")
    args = ["preview", "long", "--employee", str(profile), "--at", "2026-03-20T11:00:00Z", "--journeys",
            str(root / "journeys"), "--catalog", str(WORLD / "catalog"), "--templates", str(WORLD / "templates"),
            "--policy", str(WORLD.parent / "empty-policy.yaml")]
    assert main(args) == 0
    assert ("note: H1, this employee's HR partner, gets nothing (no_recipient): no events were given (--events FILE "
            "tells who the people around them are)\n") in capsys.readouterr().out
    assert main([*args, "--events", str(root / "events.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "== first: email to hr_partner H1, sent" in out and "no_recipient" not in out
    (root / "events.jsonl").write_text(json.dumps(PEOPLE[2]) + "\n", encoding="utf-8")
    assert main([*args, "--events", str(root / "events.jsonl")]) == 0
    assert ("note: H1, this employee's HR partner, gets nothing (no_recipient): nobody in the events has a profile for "
            "them\n") in capsys.readouterr().out


def test_preview_of_an_erased_employee_says_so(write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    """An audit on 2026-12-06: after a ``privacy.erasure.requested`` preview showed the person's messages as bare
    lines with no content, and the reasons for their resources read against an empty profile, without a word of
    why."""
    erasure: dict[str, object] = {"specversion": "1.0", "id": "x1", "source": "t", "type": "privacy.erasure.requested",
               "time": "2026-03-25T12:00:00Z", "subject": "E1", "data": {}}
    journey = LONG.replace('subject: "First", body: "x"}',
                           'subject: "First", body: "x", resources: {topics: [parent-network]}}')
    root = write_case(write_files, {"journeys/long.yaml": journey}, [*PEOPLE, erasure])
    assert preview(root, "long") == 0
    out = capsys.readouterr().out
    assert ("note: E1 asked to be forgotten (privacy.erasure.requested) at 2026-03-25T12:00:00Z: what went before is "
            "shown without its content, and nothing goes after\n") in out
    assert "== first: email to employee E1, sent" in out and "Why these resources" not in out
    assert "\nResources: parent-network\n" in out  # the ids, as messages.jsonl keeps them


def test_preview_of_an_employee_hired_again_after_their_erasure(write_files: WriteFiles,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A review on 2026-12-06: a hire after an erasure re-creates the person from nothing (README "Erasure"), and
    preview then said nothing of the erasure, explained the erased message's resources by the profile the erasure
    removed, and would have said "nothing goes after" of what the new person got."""
    erasure: dict[str, object] = {"specversion": "1.0", "id": "x1", "source": "t", "type": "privacy.erasure.requested",
                                  "time": "2026-03-25T12:00:00Z", "subject": "E1", "data": {}}
    hired: dict[str, object] = {"specversion": "1.0", "id": "h2", "source": "t", "type": "hris.employee.hired",
                                "time": "2026-06-01T08:00:00Z", "subject": "E1",
                                "data": {"start_date": "2026-06-15", "role": "Nurse", "department": "Care",
                                         "location": "Berlin", "manager_id": "H1"}}
    again: dict[str, object] = {"specversion": "1.0", "id": "u3", "source": "t", "type": "hris.employee.upserted",
                                "time": "2026-06-01T09:00:00Z", "subject": "E1",
                                "data": {"email": "e1@example.com", "timezone": "Europe/Berlin"}}
    child: dict[str, object] = {"specversion": "1.0", "id": "d2", "source": "t", "type": "hris.dependent.added",
                                "time": "2026-07-01T11:00:00Z", "subject": "E1",
                                "data": {"relationship": "child", "reason": "birth", "date": "2026-06-28"}}
    journey = LONG.replace('subject: "First", body: "x"}',
                           'subject: "First", body: "x", resources: {topics: [parental-leave]}}')
    german = {**PEOPLE[0], "id": "u0", "data": {"locale": "de-DE"}}
    root = write_case(write_files, {"journeys/long.yaml": journey}, [*PEOPLE[:2], german, PEOPLE[2], erasure, hired,
                                                                       again, child])
    assert preview(root, "long") == 0
    out = capsys.readouterr().out
    assert ("note: E1 asked to be forgotten (privacy.erasure.requested) at 2026-03-25T12:00:00Z: what went before is "
            "shown without its content; a hris.employee.hired after it started them again from nothing, and what "
            "follows it is theirs\n") in out
    before, _, after = out.partition("== first: email to employee E1, sent, 2026-07-01")
    assert "Resources: de-parental-leave\n" in before and "Why these resources" not in before
    assert "Why these resources" in after  # the new person's message, read against what their own events made
    events = [CloudEvent.model_validate(e) for e in (PEOPLE[0], german, erasure, hired, again)]
    then = profile_then(events, "E1", datetime(2026, 7, 1, 11, tzinfo=UTC), datetime(2026, 3, 25, 12, tzinfo=UTC))
    assert (then.get("locale"), then.get("given_name"), then.get("role")) == (None, None, "Nurse")


def test_preview_says_when_an_exit_ended_the_journey(write_files: WriteFiles,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """An audit on 2026-12-06: an employee whose ``exit_on`` event came mid-journey was shown the messages before it
    and nothing more, without a word of why the rest never came."""
    left: dict[str, object] = {"specversion": "1.0", "id": "t1", "source": "t", "type": "hris.employee.terminated",
                               "time": "2026-04-01T10:00:00Z", "subject": "E1",
                               "data": {"date": "2026-04-30", "reason": "resignation"}}
    journey = LONG.replace("steps:", "exit_on: [{event: hris.employee.terminated}]\n    steps:")
    root = write_case(write_files, {"journeys/long.yaml": journey}, [*PEOPLE, left])
    assert preview(root, "long") == 0
    out = capsys.readouterr().out
    assert out.endswith("note: E1 left the journey at 2026-04-01 12:00 Europe/Berlin (2026-04-01T10:00:00Z): a "
                        "hris.employee.terminated event ended it (its exit_on lists it)\n")
    assert "== first:" in out and "== later:" not in out


def test_preview_explains_resources_by_the_profile_when_the_message_was_made(
        write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    """An audit on 2026-12-06: "Why these resources" read the profile as the last event left it, so a German
    reader's welcome, ranked up for its German policy when it went, was explained without "in your language" once
    a later upsert set another locale (and its score did not add up to the ranking that chose it)."""
    def upsert(n: int, time: str, data: dict[str, object]) -> dict[str, object]:
        return {"specversion": "1.0", "id": f"l{n}", "source": "t", "type": "hris.employee.upserted", "time": time,
                "subject": "E1", "data": data}
    journey = LONG.replace('subject: "First", body: "x"}',
                           'subject: "First", body: "x", resources: {topics: [parental-leave]}}')
    events = [*PEOPLE, upsert(1, "2026-02-01T00:00:00Z", {"locale": "de-DE"}),
              upsert(2, "2026-05-01T00:00:00Z", {"locale": "en-US", "country": "US"})]
    root = write_case(write_files, {"journeys/long.yaml": journey}, sorted(events, key=lambda e: str(e["time"])))
    assert preview(root, "long") == 0
    assert ("  - de-parental-leave: one of the alternatives in group parental-leave-policy: the first that fits your "
            "eligibility and language; topic match (the first topic asked for) +10.00; in your language +0.50; score "
            "10.50\n") in capsys.readouterr().out


def test_preview_says_which_of_the_employees_events_could_not_be_read(
        write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    """An audit on 2026-12-06: an employee's trigger with a typo in its data is a dead letter, and preview made a
    trigger up in its place ("E1 has no hris.dependent.added event") with no word of the line it could not read."""
    typo = {**PEOPLE[2], "data": {"relationship": "child", "reason": "birth", "date": "2026-13-45"}}
    root = write_case(write_files, {"journeys/long.yaml": LONG}, [*PEOPLE[:2], typo])
    assert preview(root, "long") == 0
    out = capsys.readouterr().out
    assert "note: E1 has no hris.dependent.added event, so preview made one up" in out
    assert ("note: 1 event(s) about E1 in the events file could not be read and are not run: line 3 (invalid_data: "
            "hris.dependent.added: data.date: ") in out


def test_preview_of_a_journey_that_loops_on_a_wait_stops_and_says_where(
        write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    loop = LONG.split("    steps:")[0] + """    steps:
      - id: tick
        send: {channel: email, subject: "Tick", body: "x"}
      - id: pause
        wait: {for: 4w}
      - id: again
        branch: {if: "true", then: tick}
"""
    root = write_case(write_files, {"journeys/long.yaml": loop}, PEOPLE)
    assert preview(root, "long") == 0
    out = capsys.readouterr().out
    assert out.startswith("preview of journey long v1 (active) for employee E1: 39 message(s), 0 task(s)\n")
    assert out.endswith("then: waits at step pause until 2029-03-16 12:00 Europe/Berlin (2029-03-16T11:00:00Z); "
                        "preview stops here (it runs 400 days past the last event, then follows up to 24 more waits "
                        "within ten years)\n")
