"""Decisions by people (SPEC §11) through the embedded runner: review, preferences, escalation."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import pytest

from tests.pipeline.stages import DictTable, Pipeline, events_through_stages
from tests.pipeline.test_runner_rules import HEAD, ev, person, runner_for
from tests.support import WORLD, WriteFiles, at, read_jsonl
from wayfinder.cli import main
from wayfinder.cli.report import print_summary
from wayfinder.journeys.decisions import _edited
from wayfinder.journeys.effects import ReviewTimer
from wayfinder.journeys.events import CloudEvent
from wayfinder.journeys.records import Message
from wayfinder.journeys.templates import split_footer
from wayfinder.streams.embedded import EmbeddedRunner
from wayfinder.vocabulary import iso

SENSITIVE = """id: care
sensitivity: sensitive
trigger: {event: hris.leave.started}
exit_on:
  - {event: hris.employee.terminated}
steps:
  - id: hello
    send: {channel: email, subject: "We are here for you", body: "Take the time you need."}
  - id: rest
    wait: {for: 30d}
"""
POLICY = 'quiet_hours: {start: "20:00", end: "08:00", weekends: false}\nreview_window: 2d\n'
LEAVE_AT = "2026-05-04T09:00:00Z"  # a Monday; 11:00 in Berlin


def decide(eid: str, time: str, message_id: str, decision: str = "approve", reviewer: str = "H1",
           subject: str = "E1", **data: object) -> CloudEvent:
    return ev(eid, "wayfinder.review.decided", time, subject, message_id=message_id, decision=decision,
              reviewer_id=reviewer, **data)


Run = Callable[..., tuple[EmbeddedRunner, Message]]


@pytest.fixture
def run(write_files: WriteFiles) -> Run:
    """The care journey for E1 (manager M1, HR partner H1), then the given decisions; returns the runner and
    the held message as it ended."""

    def go(*later: Callable[[str], CloudEvent], until: str = "2026-05-20T00:00:00Z") -> tuple[EmbeddedRunner,
                                                                                          Message]:
        runner = runner_for(write_files, {"care": SENSITIVE}, POLICY)
        runner.run([person("E1"), ev("l1", "hris.leave.started", LEAVE_AT, leave_type="bereavement",
                                     start_date="2026-05-04")], at(LEAVE_AT))
        (held,) = runner.messages.values()
        assert held.status == "pending_approval"
        events = [make(held.message_id) for make in later]
        runner.run(events, at(until))
        return runner, runner.messages[held.message_id]

    return go


def test_an_approved_message_goes_through_the_mailbox_from_the_decision_and_keeps_the_reviewer(run: Run) -> None:
    runner, message = run(lambda mid: decide("d1", "2026-05-05T19:30:00Z", mid))  # 21:30 in Berlin: quiet
    assert message.status == "approved"
    assert message.reviewer_id == "H1" and message.reviewed_at == at("2026-05-05T19:30:00Z")
    assert message.scheduled_for == at("2026-05-06T06:00:00Z")  # 08:00 Berlin, the end of the quiet hours
    assert message.text is not None and "Take the time you need." in message.text
    assert runner.dead_letters == []


def test_edits_replace_what_is_sent_but_the_explanation_and_link_stay(run: Run) -> None:
    edits = {"subject": "Thinking of you", "text": "We are sorry."}
    _, message = run(lambda mid: decide("d1", "2026-05-05T09:00:00Z", mid, edits=edits))
    held = message.model_copy(update={k: v for k, v in (message.original or {}).items()} | {"original": None})
    assert message.status == "approved"
    assert message.subject == "Thinking of you"
    assert message.text is not None and message.text.startswith("We are sorry.\n\n-- \n")
    # the footer as the message had it, in the message's language (its text is English, though E1 reads German: it
    # was turned German by the edit, a footer unlike the message's and, read back from a table, in two languages)
    _, footer = split_footer(message.text)
    assert footer == split_footer(message.original["text"] or "")[1] if message.original else False
    assert "bereavement leave" in footer and "To change or stop these messages:" in footer
    assert "Change or stop these messages" in (message.html or "") and "ändern" not in (message.html or "")
    assert _edited(Message.model_validate_json(held.model_dump_json()), edits) == _edited(held, edits)
    assert message.html is not None and "We are sorry." in message.html
    assert message.preferences_url is not None and message.preferences_url in message.html
    assert message.original is not None and message.original["subject"] == "We are here for you"


def test_an_edited_html_part_alone_gives_the_text_part_its_words(run: Run) -> None:
    """Found by an audit of issue 8: the HTML was the reviewer's, the plain part still the original's words."""
    edits = {"html": "<p>We are <b>sorry</b>.</p><ul><li>Call <a href='https://hr.example.com/care'>us</a></li></ul>"}
    _, message = run(lambda mid: decide("d1", "2026-05-05T09:00:00Z", mid, edits=edits))
    assert message.status == "approved" and message.text is not None
    body, footer = split_footer(message.text)
    assert body.strip() == "We are sorry.\n\n- Call us (https://hr.example.com/care)"
    assert "Take the time you need." not in message.text and "bereavement leave" in footer
    assert message.html is not None and "<b>sorry</b>" in message.html and "Take the time" not in message.html
    assert message.original is not None and "Take the time you need." in (message.original["text"] or "")


def test_a_rejected_message_is_never_delivered(run: Run) -> None:
    runner, message = run(lambda mid: decide("d1", "2026-05-05T09:00:00Z", mid, "reject"))
    assert (message.status, message.reason, message.reviewer_id) == ("rejected", "rejected_by_reviewer", "H1")
    assert not [t for t in runner.tasks.values() if t.assignee == "review_escalation"]  # decided in time
    _, with_reason = run(lambda mid: decide("d1", "2026-05-05T09:00:00Z", mid, "reject", reason="tone"))
    assert with_reason.reason == "tone"
    # spaces are no reason either (an audit on 2026-12-04: "   " was kept as the reason)
    _, blank = run(lambda mid: decide("d1", "2026-05-05T09:00:00Z", mid, "reject", reason="   "))
    assert blank.reason == "rejected_by_reviewer"


@pytest.mark.parametrize("reviewer", ["E1", " E1 "])  # the employee the message is about (and its recipient)
def test_nobody_decides_on_a_message_about_themselves(run: Run, reviewer: str) -> None:
    runner, message = run(lambda mid: decide("d1", "2026-05-05T09:00:00Z", mid, reviewer=reviewer))
    assert message.status == "pending_approval"
    assert [d.reason for d in runner.dead_letters] == ["self_review"]


def test_a_decision_on_a_message_that_is_not_pending_is_a_dead_letter(run: Run) -> None:
    runner, message = run(lambda mid: decide("d1", "2026-05-05T09:00:00Z", mid),
                          lambda mid: decide("d2", "2026-05-05T10:00:00Z", mid, "reject"),
                          lambda mid: decide("d3", "2026-05-05T11:00:00Z", "m-unknown"))
    assert message.status == "approved"
    assert [d.reason for d in runner.dead_letters] == ["not_pending", "not_pending"]
    assert all(json.loads(d.raw)["type"] == "wayfinder.review.decided" for d in runner.dead_letters)


def test_the_same_decision_twice_has_the_effect_of_once(run: Run) -> None:
    runner, message = run(lambda mid: decide("d1", "2026-05-05T09:00:00Z", mid),
                          lambda mid: decide("d1", "2026-05-05T09:00:00Z", mid))
    assert message.status == "approved"
    assert runner.dead_letters == [] and runner.stats.duplicates == 1


def test_decisions_after_an_exit_or_an_erasure_find_nothing_pending(run: Run) -> None:
    runner, message = run(lambda mid: ev("t1", "hris.employee.terminated", "2026-05-05T08:00:00Z",
                                         date="2026-05-05", reason="resignation"),
                          lambda mid: decide("d1", "2026-05-05T09:00:00Z", mid))
    assert (message.status, message.reason) == ("suppressed", "exited")
    assert [d.reason for d in runner.dead_letters] == ["not_pending"]
    runner, message = run(lambda mid: ev("x1", "privacy.erasure.requested", "2026-05-05T08:00:00Z"),
                          lambda mid: decide("d1", "2026-05-05T09:00:00Z", mid))
    assert (message.status, message.reason, message.text) == ("suppressed", "erased", None)
    assert [d.reason for d in runner.dead_letters] == ["not_pending"]


def test_a_message_nobody_decides_on_is_escalated_and_never_sent(run: Run) -> None:
    runner, message = run()
    assert message.status == "pending_approval"
    (task,) = [t for t in runner.tasks.values() if t.assignee == "review_escalation"]
    assert task.assignee_id == "H1"  # no review_escalation in the policy: the HR partner
    assert task.created_at == at("2026-05-06T09:00:00Z")  # the review window (2d) after the message
    assert message.message_id in task.note


def test_an_opt_out_of_a_topic_suppresses_the_next_message_on_it(write_files: WriteFiles) -> None:
    journey = """id: parent
trigger: {event: hris.dependent.added}
reentry: always
steps:
  - id: welcome
    send: {channel: email, template: new-parent/welcome, resources: {topics: [parental-leave], limit: 3}}
"""
    runner = runner_for(write_files, {"parent": journey})
    runner.run([
        person("E1"),
        ev("b1", "hris.dependent.added", "2026-05-04T09:00:00Z", relationship="child", reason="birth",
           date="2026-05-03"),
        ev("p1", "wayfinder.preferences.changed", "2026-05-05T09:00:00Z", opt_out_topics=["parental-leave"]),
        ev("b2", "hris.dependent.added", "2026-06-04T09:00:00Z", relationship="child", reason="adoption",
           date="2026-06-03"),
    ], at("2026-07-01T00:00:00Z"))
    first, second = sorted(runner.messages.values(), key=lambda m: m.created_at)
    assert first.status == "sent"
    assert (second.status, second.reason) == ("suppressed", "opted_out_topic")


# RFC 3339 allows a lower-case t and z: the pause holds as well (it was a processing error, the pause lost)
@pytest.mark.parametrize("until", ["2026-05-10T07:00:00Z", "2026-05-10t07:00:00z"])
def test_a_pause_holds_messages_until_it_ends(write_files: WriteFiles, until: str) -> None:
    journey = """id: leave
trigger: {event: hris.leave.started}
steps:
  - id: hello
    send: {channel: email, subject: "Hi", body: "Hello."}
"""
    runner = runner_for(write_files, {"leave": journey})
    runner.run([
        person("E1"),
        ev("p1", "wayfinder.preferences.changed", "2026-05-01T09:00:00Z", paused_until=until),
        ev("l1", "hris.leave.started", "2026-05-04T09:00:00Z", leave_type="other", start_date="2026-05-04"),
    ], at("2026-06-01T00:00:00Z"))
    (message,) = runner.messages.values()
    assert (message.status, message.scheduled_for) == ("sent", at("2026-05-10T07:00:00Z"))
    assert runner.states["E1"].profile.preferences["paused_until"] == until  # kept as written
    assert not runner.dead_letters


def test_the_stages_decide_decisions_as_simulate_does(run: Run) -> None:
    """The same decisions through the worker's stages (dicts for tables) give the same records and tables."""
    runner, message = run(lambda mid: decide("d1", "2026-05-05T19:30:00Z", mid))
    events = [person("E1"), ev("l1", "hris.leave.started", LEAVE_AT, leave_type="bereavement",
                               start_date="2026-05-04"), decide("d1", "2026-05-05T19:30:00Z", message.message_id)]
    p, latest = events_through_stages(runner.engine.defs, events, at("2026-05-20T00:00:00Z"))
    expected = {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}
    assert {mid: {k: v for k, v in m.items() if v != expected[mid].get(k)} for mid, m in latest.items()} == {
        mid: {} for mid in expected}
    assert isinstance(p.mailboxes.table, DictTable)
    assert p.mailboxes.stored("E1") == runner.mailboxes["E1"]


def _feed(p: Pipeline, topic: str, events: list[CloudEvent]) -> None:
    """``events`` into the employee stage from ``topic``, in order, each one's mailbox records handed on."""
    for event in events:
        p.feed(p.employees, topic, None, event.model_dump_json().encode())
        p.drain()


def _outbound(p: Pipeline) -> dict[str, dict[str, object]]:
    """The latest record of each message the stages sent to outbound.messages."""
    return {json.loads(r.value)["message_id"]: json.loads(r.value) for r in p.records
            if r.topic == "outbound.messages" and r.value}


LATER = SENSITIVE.replace("""  - id: hello
    send:""", """  - id: first
    wait: {for: 1d}
  - id: hello
    send:""")


@pytest.mark.parametrize("journey", [SENSITIVE, LATER], ids=["made-by-the-event", "made-by-a-timer"])
def test_a_decision_read_before_the_events_that_make_its_message_is_decided_at_its_own_time(
        write_files: WriteFiles, journey: str) -> None:
    # A replay on Kafka: the decisions topic is read at its own pace, here before the HRIS events and with no tick
    # in between. Decided when read, the approval was not_pending and the message stayed pending; the worker on the
    # event clock now keeps it for its time, as simulate decides it (issue 12).
    runner = runner_for(write_files, {"care": journey}, POLICY)
    hris = [person("E1"), ev("l1", "hris.leave.started", LEAVE_AT, leave_type="bereavement", start_date="2026-05-04")]
    runner.run(hris, at("2026-05-06T00:00:00Z"))
    (held,) = runner.messages.values()
    until = at("2026-05-20T00:00:00Z")
    decisions = [decide("d1", "2026-05-06T09:30:00Z", held.message_id),
                 decide("d0", "2026-05-06T09:00:00Z", held.message_id, reviewer="E1")]  # self-review: refused
    runner.run(decisions, until)
    assert runner.messages[held.message_id].status == "approved"
    assert [d.reason for d in runner.dead_letters] == ["self_review"]
    p = Pipeline(defs=runner.engine.defs)
    _feed(p, "decisions", decisions)  # read first: nothing about E1 is known yet
    assert not [r for r in p.records if r.topic == "dead-letters"]
    _feed(p, "hris", hris)
    p.tick(until)
    latest = _outbound(p)
    assert {mid: (m["status"], m["scheduled_for"]) for mid, m in latest.items()} == {
        mid: (m.status, iso(m.scheduled_for)) for mid, m in runner.messages.items()}
    refused = [json.loads(r.value or b"{}")["reason"] for r in p.records if r.topic == "dead-letters"]
    assert [r.split(":")[0] for r in refused] == ["self_review"]


CHEERS = """id: cheers
trigger: {event: hris.dependent.added}
steps:
  - id: first
    send: {channel: email, subject: "Congratulations", body: "A first note."}
  - id: later
    wait: {for: 3d}
  - id: second
    send: {channel: email, subject: "Settling in", body: "A second note."}
"""
BIRTH_AT = "2026-05-04T09:00:00Z"


@pytest.mark.parametrize("change", [{"opt_out_channels": ["email"]},
                                    {"paused_until": "2026-05-20T00:00:00Z"},
                                    {"locale": "en-GB"}], ids=["opt-out", "pause", "locale"])
def test_a_preference_change_read_before_earlier_hris_events_is_decided_at_its_own_time(
        write_files: WriteFiles, change: dict[str, object]) -> None:
    # A replay on Kafka reads the decisions topic at its own pace: here a preference change made the day after the
    # first message is read before the HRIS events that make it. Decided when read, it held or suppressed a message
    # made before it (or wrote it in the other language); the event clock keeps it for its time, as simulate does.
    runner = runner_for(write_files, {"cheers": CHEERS}, POLICY)
    hris = [person("E1"), ev("b1", "hris.dependent.added", BIRTH_AT, relationship="child", reason="birth",
                             date="2026-05-03")]
    prefs = ev("c1", "wayfinder.preferences.changed", "2026-05-05T09:00:00Z", "E1", **change)
    until = at("2026-05-25T00:00:00Z")
    runner.run([*hris, prefs], until)
    first, _ = sorted(runner.messages.values(), key=lambda m: m.created_at)
    assert (first.status, first.locale) == ("sent", "de-DE")  # made before the change
    p = Pipeline(defs=runner.engine.defs)
    _feed(p, "decisions", [prefs])  # read first
    _feed(p, "hris", hris)
    p.tick(until)
    latest = _outbound(p)
    fields = ("status", "reason", "scheduled_for", "locale", "subject")
    assert {mid: tuple(m[f] for f in fields) for mid, m in latest.items()} == {
        mid: tuple(json.loads(m.model_dump_json())[f] for f in fields) for mid, m in runner.messages.items()}


def test_a_language_the_employee_chose_stays_when_the_hr_system_sends_its_own_again(write_files: WriteFiles) -> None:
    """Seen walking the pages on 2026-12-05: a language chosen on the preferences page was overwritten by the next
    upsert carrying the HR system's ``locale``. The choice now stands until the person changes it, and taking it
    back (``locale: null``) gives the HR system's latest value back; ``simulate`` and the worker's stages agree."""
    runner = runner_for(write_files, {"cheers": CHEERS}, POLICY)
    events = [person("E1"),  # the HR system says de-DE
              ev("c1", "wayfinder.preferences.changed", "2026-05-01T09:00:00Z", "E1", locale="en-GB"),
              person("E1", "2026-05-02T09:00:00Z", locale="fr-FR"),  # an import sends the HR value again, changed
              ev("b1", "hris.dependent.added", BIRTH_AT, relationship="child", reason="birth", date="2026-05-03"),
              ev("c2", "wayfinder.preferences.changed", "2026-05-05T09:00:00Z", "E1", locale=None)]
    until = at("2026-05-25T00:00:00Z")
    runner.run(events, until)
    made = {m.step_id: m.locale for m in runner.messages.values()}
    assert made == {"first": "en-GB", "second": "fr-FR"}  # the choice, then (taken back) the HR system's latest
    profile = runner.states["E1"].profile
    assert (profile.fields["locale"], profile.preferences, profile.locale) == ("fr-FR", {}, "fr-FR")
    _, latest = events_through_stages(runner.engine.defs, events, until)
    assert latest == {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}


@pytest.mark.parametrize("names", [{"journey_id": "reach-out", "step_id": "call"}, {}])  # or the task alone
def test_a_completed_task_satisfies_a_wait_for(write_files: WriteFiles, names: dict[str, str]) -> None:
    journey = """id: reach-out
trigger: {event: hris.leave.started}
steps:
  - id: call
    task: {assignee: hr_partner, title: "Call", note: "Reach out this week."}
  - id: after-the-call
    wait_for: {event: wayfinder.task.completed, when: 'event.data.step_id == "call"', timeout: 14d,
               on_timeout: nobody-called}
  - id: follow-up
    send: {channel: email, subject: "Glad we talked", body: "Here if you need us."}
  - id: done
    end: {}
  - id: nobody-called
    send: {channel: email, subject: "We are here", body: "Here if you need us."}
"""
    runner = runner_for(write_files, {"reach": journey})
    runner.run([person("E1"), ev("l1", "hris.leave.started", "2026-05-04T09:00:00Z", leave_type="other",
                                 start_date="2026-05-04")], at("2026-05-04T09:00:00Z"))
    (task,) = runner.tasks.values()
    runner.run([ev("t1", "wayfinder.task.completed", "2026-05-06T15:00:00Z", task_id=task.task_id, actor_id="H1",
                   **names)], at("2026-06-01T00:00:00Z"))
    assert [m.step_id for m in runner.messages.values()] == ["follow-up"]


def test_the_summary_counts_approved_and_rejected_messages(run: Run) -> None:
    for decision, column in (("approve", "approved"), ("reject", "rejected")):
        runner, _ = run(lambda mid, d=decision: decide("d1", "2026-05-05T09:00:00Z", mid, d))
        out = io.StringIO()
        print_summary(runner, out, title="t")
        header, row = [line.split() for line in out.getvalue().splitlines()[3:5]]
        assert dict(zip(header, row, strict=False))[column] == "1", out.getvalue()


def test_an_edited_subject_is_also_the_title_of_the_html_part(run: Run) -> None:
    _, message = run(lambda mid: decide("d1", "2026-05-05T09:00:00Z", mid,
                                        edits={"subject": "Thinking of you & yours"}))
    assert message.html is not None and "<title>Thinking of you &amp; yours</title>" in message.html
    assert "We are here for you" not in message.html and "Take the time you need." in message.html


TO_MANAGER = SENSITIVE.replace("    send: {channel: email,", "    send: {to: manager, channel: email,")


def test_a_message_waiting_for_review_to_a_recipient_erased_since_is_withdrawn_at_the_window_end(
        write_files: WriteFiles) -> None:
    # Erasing the manager left the message to them, pending review in the employee's state, with their name and
    # address, and the review window opened a task to review a message to nobody (an audit of SPEC §9). Both
    # runners now withdraw it then, as a decision on it would: no_recipient, nothing of the manager kept.
    assert TO_MANAGER != SENSITIVE
    runner = runner_for(write_files, {"care": TO_MANAGER}, POLICY)
    manager = person("M1", given_name="Magdalena", email="magdalena@example.com", manager_id="", hr_partner_id="")
    events = [manager, person("E1"), ev("l1", "hris.leave.started", LEAVE_AT, leave_type="bereavement",
                                       start_date="2026-05-04"),
              ev("x1", "privacy.erasure.requested", "2026-05-05T09:00:00Z", "M1")]
    until = at("2026-05-20T00:00:00Z")
    runner.run(events, until)
    (held,) = runner.messages.values()
    assert (held.recipient_id, held.status, held.reason) == ("M1", "suppressed", "no_recipient")
    assert held.content_erased and held.recipient_email is None
    assert not [t for t in runner.tasks.values() if t.assignee == "review_escalation"]
    # The worker's stage: the erased manager is gone from its directory (the erasure wrote them back into it as
    # an empty profile, so a lookup found "someone"); with a recipient wait (WAYFINDER_RECIPIENT_WAIT_SECONDS,
    # 30 s by default) the escalation's lookup then finds nobody and withdraws the message as simulate does.
    p = Pipeline(defs=runner.engine.defs)
    for event in events:
        p.tick(event.time)
        p.feed(p.employees, "hris", None, event.model_dump_json().encode())
        p.drain()
    assert "E1" in p.employees.directory and "M1" not in p.employees.directory


@pytest.mark.parametrize("decision", ["approve", "reject", "exit"])
def test_a_review_that_ends_before_its_window_leaves_no_pending_timer_for_it(write_files: WriteFiles,
                                                                             decision: str) -> None:
    # The window's timer used to stay until the window's end, where it did nothing: the pending timers (the
    # worker's wayfinder_pending_timers) counted a review that was over for up to review_window.
    runner = runner_for(write_files, {"care": SENSITIVE}, POLICY)
    hris = [person("E1"), ev("l1", "hris.leave.started", LEAVE_AT, leave_type="bereavement", start_date="2026-05-04")]
    runner.run(hris, at(LEAVE_AT))
    (held,) = runner.messages.values()
    assert [t for _, t in runner.timers() if isinstance(t, ReviewTimer)] == [ReviewTimer("E1", held.message_id)]
    ended = (ev("x1", "hris.employee.terminated", "2026-05-05T09:00:00Z", date="2026-05-05") if decision == "exit"
             else decide("d1", "2026-05-05T09:00:00Z", held.message_id, decision))
    before_window_end = at("2026-05-05T10:00:00Z")
    runner.run([ended], before_window_end)
    assert runner.messages[held.message_id].status != "pending_approval"
    assert [t for _, t in runner.timers() if isinstance(t, ReviewTimer)] == []
    assert runner.pending_timers == len(runner.timers())
    p = Pipeline(defs=runner.engine.defs)
    for event in [*hris, ended]:
        p.tick(event.time)
        _feed(p, "hris" if event is not ended or decision == "exit" else "decisions", [event])
    p.tick(before_window_end)
    assert p.out[held.message_id] == runner.messages[held.message_id].status
    keys = [key for key in p.employees.table.keys() if key.startswith("t:")]  # the timers kept in the table
    assert keys and not [key for key in keys if "\x1freview\x1f" in key]
    assert len(p.employees.timers) == len(keys)


PREFERENCE_JOURNEYS = {
    "thanks": """id: thanks
trigger: {event: wayfinder.preferences.changed, when: 'has(event.data.quiet_hours)'}
steps:
  - id: noted
    send: {channel: email, subject: "Noted", body: "Your quiet hours are saved."}
""",
    "tips": """id: tips
trigger: {event: hris.leave.started}
exit_on:
  - {event: wayfinder.preferences.changed, when: 'has(event.data.opt_out_topics)'}
steps:
  - id: later
    wait: {for: 7d}
  - id: tip
    send: {channel: email, subject: "A tip", body: "Here is a tip."}
""",
    "after-review": """id: after-review
trigger: {event: wayfinder.review.decided, when: 'event.data.decision == "reject"'}
steps:
  - id: tell
    task: {assignee: hr_partner, title: "A message was rejected", note: "Reach out in person."}
""",
}


def test_journeys_act_on_decisions_by_people_as_on_any_event(write_files: WriteFiles) -> None:
    """SPEC §2: journeys may trigger on any type; §11: people act through events like any other. A journey on
    ``wayfinder.preferences.changed`` or ``wayfinder.review.decided`` never fired, nor did such an exit (found by
    an audit of issue 2)."""
    runner = runner_for(write_files, {"care": SENSITIVE, **PREFERENCE_JOURNEYS}, POLICY)
    runner.run([person("E1"), ev("l1", "hris.leave.started", LEAVE_AT, leave_type="bereavement",
                                 start_date="2026-05-04")], at(LEAVE_AT))
    (held,) = [m for m in runner.messages.values() if m.journey_id == "care"]
    runner.run([ev("p1", "wayfinder.preferences.changed", "2026-05-05T09:00:00Z",
                   quiet_hours={"start": "21:00", "end": "07:00"}),
                ev("p2", "wayfinder.preferences.changed", "2026-05-06T09:00:00Z", opt_out_topics=["career"]),
                decide("d0", "2026-05-06T10:00:00Z", held.message_id, "reject", reviewer="E1"),  # refused
                decide("d1", "2026-05-06T11:00:00Z", held.message_id, "reject")], at("2026-05-30T00:00:00Z"))
    assert [(m.journey_id, m.step_id) for m in runner.messages.values() if m.journey_id != "care"] == [
        ("thanks", "noted")]  # the tip waited a week: the opt-out ended the journey first
    assert runner.stats.lifecycle[("tips", "exited")] == 1
    assert [(t.journey_id, t.title) for t in runner.tasks.values() if t.journey_id == "after-review"] == [
        ("after-review", "A message was rejected")]  # once: the refused decision acted on nothing
    assert [d.reason for d in runner.dead_letters] == ["self_review"]


def test_simulate_reads_decisions_from_a_second_events_file_as_one_stream(write_files: WriteFiles) -> None:
    """``--events`` given twice (the HRIS events, then the reviewers' decisions): one stream in time order; before,
    the second flag replaced the first, so the run saw the decisions alone and said nothing of it."""
    root = write_files({"journeys/care.yaml": HEAD + SENSITIVE,
                        "policy.yaml": "apiVersion: wayfinder/v1\nkind: Policy\n" + POLICY})
    hris = [person("E1"), ev("l1", "hris.leave.started", LEAVE_AT, leave_type="bereavement", start_date="2026-05-04")]
    (root / "hris.jsonl").write_text("".join(e.model_dump_json() + "\n" for e in hris), encoding="utf-8")
    runner = runner_for(write_files, {"care": SENSITIVE}, POLICY)
    runner.run(hris, at(LEAVE_AT))
    (held,) = runner.messages.values()
    decisions = [decide("d1", "2026-05-05T10:00:00Z", held.message_id)]
    (root / "decisions.jsonl").write_text("".join(e.model_dump_json() + "\n" for e in decisions), encoding="utf-8")
    out = root / "out"
    args = ["simulate", "--events", str(root / "hris.jsonl"), "--events", str(root / "decisions.jsonl"),
            "--journeys", str(root / "journeys"), "--catalog", str(WORLD / "catalog"), "--templates",
            str(WORLD / "templates"), "--policy", str(root / "policy.yaml"),
            "--until", "2026-05-20T00:00:00Z", "--out", str(out)]
    assert main(args) == 0
    (message,) = read_jsonl(out / "messages.jsonl")
    assert (message["message_id"], message["status"], message["reviewer_id"]) == (held.message_id, "approved", "H1")
    assert message["scheduled_for"] == "2026-05-05T10:00:00Z"
    assert read_jsonl(out / "dead_letters.jsonl") == []
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["events"] == [
        str((root / "hris.jsonl").resolve()), str((root / "decisions.jsonl").resolve())]
