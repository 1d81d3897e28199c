"""Why did I get this? The reader's profile fields one message used."""

from __future__ import annotations

from datetime import UTC, datetime

from wayfinder import examples_dir
from wayfinder.journeys.loader import Sources, load_or_raise
from wayfinder.journeys.records import Message
from wayfinder.web.explain import fields_used

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
