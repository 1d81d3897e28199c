"""Why did I get this? The reader's profile fields one message used."""

from __future__ import annotations

from datetime import UTC, date, datetime

from wayfinder import examples_dir
from wayfinder.journeys.loader import Sources, load_or_raise
from wayfinder.journeys.records import Message
from wayfinder.web.explain import EVENT_LABELS, SOMETHING_RECORDED, event_label, fields_used
from wayfinder.web.i18n import translator

NOW = datetime(2026, 3, 2, tzinfo=UTC)
DEFS = load_or_raise(Sources(paths=[examples_dir() / "journeys", examples_dir() / "catalog"],
                             templates=[examples_dir() / "templates"], policy=examples_dir() / "policy.yaml"))


def message(journey: str, step: str, role: str = "employee") -> Message:
    return Message(message_id="m-1", employee_id="E1", recipient_id="E1" if role == "employee" else "M1",
                   recipient_role=role, journey_id=journey, journey_version=DEFS.current()[journey].version,
                   step_id=step, channel="email", status="sent", scheduled_for=NOW, created_at=NOW)


def test_the_journeys_conditions_the_messages_template_and_the_resources_rules_are_what_it_used() -> None:
    journey = DEFS.current()["new-parent"]
    rules = ['Expr("employee.country == \\"DE\\" && employee.attributes.team_size > 3")']
    # the audience (employment_type), the template's greeting (preferred or given name), the resources' rules
    assert fields_used(journey, message("new-parent", "welcome"), DEFS, rules) == [
        "country", "employment_type", "given_name", "preferred_name", "team_size"]
    assert fields_used(None, message("new-parent", "welcome"), DEFS, rules) == []


def test_what_the_template_reads_is_listed_too() -> None:
    """The settling-in message names the new location in its subject: "location" was missing (only the journey's
    rules were read)."""
    fields = fields_used(DEFS.current()["relocation"], message("relocation", "settling-in"), DEFS)
    assert "location" in fields


def test_a_message_to_a_manager_lists_only_what_it_read_of_the_manager() -> None:
    """Sent to the manager about a report: the report's fields (role, family name, the journey's rules) are not
    "details about you"; the greeting's are."""
    fields = fields_used(DEFS.current()["new-manager"], message("new-manager", "for-manager", "manager"), DEFS,
                         ['Expr("employee.country == \\"DE\\"")'])
    assert fields == ["given_name", "preferred_name"]


def test_the_trigger_is_the_event_that_started_the_enrollment_and_the_explanation_is_as_sent() -> None:
    """The page named the latest event of the trigger type before the message, here a hire sent again that started
    nothing (re-entry refused), and showed the record's English explanation to a reader sent the German one."""
    from wayfinder.journeys.events import CloudEvent
    from wayfinder.streams.embedded import EmbeddedRunner
    from wayfinder.web.explain import explanation_as_sent, trigger_of

    def ev(eid: str, etype: str, day: str, **data: object) -> CloudEvent:
        return CloudEvent(specversion="1.0", id=eid, source="hris/test", type=etype,
                          time=datetime.fromisoformat(f"2026-01-{day}T10:00:00+00:00"), subject="W1", data=data)

    hire = {"start_date": "2026-02-02", "role": "Analyst", "department": "Ops", "location": "Berlin"}
    events = [ev("u1", "hris.employee.upserted", "05", id="W1", given_name="Wil", email="w@example.com",
                 timezone="Europe/Berlin", locale="de-DE", country="DE", employment_type="employee"),
              ev("h1", "hris.employee.hired", "06", **hire), ev("h2", "hris.employee.hired", "20", **hire)]
    runner = EmbeddedRunner(DEFS)
    runner.run(events, datetime(2026, 2, 3, tzinfo=UTC))
    made = [m for m in runner.messages.values() if m.journey_id == "onboarding" and m.recipient_role == "employee"]
    assert len(made) > 1
    for m in made:
        found = trigger_of(events, m, DEFS.journeys[(m.journey_id, m.journey_version)])
        assert found is not None and found.id == "h1"
        said = explanation_as_sent(m)
        assert said is not None and said != m.explanation and said in (m.text or "")  # the German sentence
    assert explanation_as_sent(message("new-parent", "welcome")) is None  # no text: the record's (none here)


def test_the_event_that_started_a_journey_is_named_in_the_readers_words() -> None:
    """The why page said "Ausgelöst durch hris.dependent.added": the event type as the data names it. Every label
    has its German and French words, and a manager reading about a report is not told of a wellbeing signal or a
    company's own event type (the explanation they get does not name them either)."""
    for language in ("de", "fr"):
        say = translator(language)
        for event_type, english in EVENT_LABELS.items():
            said = event_label(event_type, say)
            assert said != english and "." not in said, (language, event_type)
        assert event_label("acme.badge.issued", say) == "acme.badge.issued"
        private = {event_label(t, say, about_reader=False) for t in ("wellbeing.signal", "acme.badge.issued")}
        assert private == {say(SOMETHING_RECORDED)} and SOMETHING_RECORDED not in private
    say_en = translator("en")
    assert event_label("hris.dependent.added", say_en) == "A new dependent in the family record"
    assert event_label("hris.leave.started", say_en, about_reader=False) == "The start of a leave"


def test_the_day_an_event_happened_is_the_one_its_data_names() -> None:
    """The why page's date: the day a known event's data says it happened; a hire's start date is a day ahead, not
    the hire's, and an event naming no day (or not a date) leaves the record's time to say it."""
    from wayfinder.journeys.events import CloudEvent
    from wayfinder.web.explain import day_of

    def ev(etype: str, **data: object) -> CloudEvent:
        return CloudEvent(specversion="1.0", id="x", source="hris/test", type=etype, time=NOW, subject="E1", data=data)

    assert day_of(ev("hris.leave.ended", leave_type="medical", return_date="2026-03-09")) == date(2026, 3, 9)
    assert day_of(ev("hris.leave.started", leave_type="medical", start_date="2026-02-27")) == date(2026, 2, 27)
    assert day_of(ev("hris.dependent.added", relationship="child", date="2026-01-30")) == date(2026, 1, 30)
    assert day_of(ev("hris.employee.hired", start_date="2026-04-01")) is None
    assert day_of(ev("hris.job.changed", change="promotion")) is None
    assert day_of(ev("hris.leave.ended", leave_type="medical", return_date="soon")) is None
