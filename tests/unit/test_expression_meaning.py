"""What CEL expressions mean as HR authors write them (SPEC §3, §4, §5): numbers of both kinds, lists, text
functions, ``now`` and the trigger's time, dates as text, ``has()``, null, and what a failure gives. Each case is
its expected outcome first, then the expression and the values it reads (audit of 2026-12-06)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from wayfinder.expressions import CATALOG_VARIABLES, Expr, ExpressionError

NOW = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
TRIGGER_TIME = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def scope(**data: Any) -> dict[str, Any]:
    employee = {"id": "E1", "role": "Backend Engineer", "email": "e1@example.com", "department": "Engineering",
                "start_date": "2026-02-01", "manager_id": "", "skills": ["python", "go"], "interests": [],
                "preferences": {"opt_out_channels": [], "opt_out_topics": ["childcare"]},
                "attributes": {"level": 3, "grade": 2.5}}
    event = {"id": "x1", "type": "survey.completed", "time": NOW, "subject": "E1", "data": data}
    trigger = {"id": "t1", "type": "hris.dependent.added", "time": TRIGGER_TIME, "subject": "E1",
               "data": {"relationship": "child", "reason": "adoption", "date": "2026-03-01"}}
    return {"employee": employee, "event": event, "trigger": trigger, "now": NOW}


CONDITIONS: list[tuple[bool, str, dict[str, Any]]] = [
    # JSON's 1 is an int and 0.7 a double to CEL; comparisons and equality cross the two
    (True, "event.data.score > 0.5", {"score": 1}),
    (True, "event.data.score > 0.5", {"score": 0.7}),
    (False, "event.data.score > 0.5", {"score": 0.3}),
    (True, "event.data.score == 1.0", {"score": 1}),
    (True, "event.data.score == 1", {"score": 1.0}),
    (True, "event.data.score in [1.0, 2.0]", {"score": 2}),
    (True, "employee.attributes.grade < employee.attributes.level", {}),
    # lists, size(), in
    (True, '"python" in employee.skills', {}),
    (True, "size(employee.skills) == 2 && employee.interests.size() == 0", {}),
    (True, '"childcare" in employee.preferences.opt_out_topics', {}),
    (True, 'employee.skills.exists(s, s.startsWith("py"))', {}),
    (False, "event.data.answers.all(a, a >= 3)", {"answers": [5, 2]}),
    # text functions
    (True, 'employee.email.endsWith("@example.com") && employee.role.startsWith("Backend")', {}),
    (True, 'employee.department.contains("gine") && employee.role.matches("^[A-Z]\\\\w+ Engineer$")', {}),
    # now and the trigger's time are timestamps; durations in h, m, s
    (True, 'now - trigger.time == duration("72h")', {}),
    (True, 'now - timestamp(trigger.time) >= duration("72h")', {}),
    (False, 'now - trigger.time > duration("72h")', {}),
    (True, 'trigger.time + duration("24h") < now', {}),
    (True, "now.getDayOfWeek() == 4", {}),  # 2026-03-05 is a Thursday; Sunday is 0
    # dates are text: compared as text, or read as a time with timestamp()
    (True, 'employee.start_date >= "2026-01-01"', {}),
    (True, 'timestamp(employee.start_date + "T00:00:00Z") < now', {}),
    (True, 'timestamp(event.data.at) < now', {"at": "2026-03-05T10:30:00+02:00"}),
    # a later step reads the trigger; presence, empty text and null
    (True, 'trigger.data.reason == "adoption"', {}),
    (False, "has(employee.attributes.cost_center)", {}),
    (True, "has(event.data.x)", {"x": 0}),
    (False, "has(event.data.x)", {}),
    (True, 'employee.manager_id == ""', {}),
    (True, "event.data.date == null && has(event.data.date)", {"date": None}),
    # CEL's type names
    (True, "type(event.data.score) == int", {"score": 1}),
    (True, "type(event.data.score) == double", {"score": 0.5}),
    (False, "type(event.data.score) == int", {"score": 0.5}),
    (True, "type(event.data.tags) == list && type(event.data.m) == map", {"tags": [], "m": {}}),
    (True, "type(event.data.x) == null_type && type(true) == bool && type('') == string", {"x": None}),
]


@pytest.mark.parametrize(("expected", "source", "data"), CONDITIONS)
def test_a_condition_means_what_cel_says(expected: bool, source: str, data: dict[str, Any]) -> None:
    assert Expr(source).test(scope(**data)) == (expected, None)


FAILURES: list[tuple[str, str, dict[str, Any]]] = [
    # a failure counts as false, with the reason (never a value)
    ("KeyError: 'cost_center'", 'employee.attributes.cost_center == "CC1"', {}),
    ("KeyError: 'x'", "event.data.x > 1", {}),
    ("ZeroDivisionError", "10 / event.data.n > 1", {"n": 0}),
    ("TypeError", "event.data.rating > 3", {"rating": "five"}),
    ("TypeError", "employee.start_date < now", {}),
    ("condition gave str, not a bool", "employee.role", {}),
    ("condition gave int, not a bool", "size(employee.skills)", {}),
]


@pytest.mark.parametrize(("reason", "source", "data"), FAILURES)
def test_a_failure_counts_as_false_and_says_why(reason: str, source: str, data: dict[str, Any]) -> None:
    ok, error = Expr(source).test(scope(**data))
    assert ok is False
    assert error is not None and reason in error


def test_a_type_name_is_no_unknown_variable_but_a_typo_is() -> None:
    Expr("type(employee.attributes.level) == int", CATALOG_VARIABLES)
    for typo, column in (("employe.role == 'x'", 1), ("type(event.data.x) == integer", 23)):
        with pytest.raises(ExpressionError, match="unknown variable") as raised:
            Expr(typo)
        assert raised.value.column == column


def test_has_is_false_in_an_eligibility_rule_for_a_resource_field_not_written() -> None:
    """SPEC §4: ``has()`` tests for presence. A resource with no ``locale:`` has none: the rule that lets it through
    for everyone let it through for no one, as its ``null`` locale counted as there (2026-12-06)."""
    from wayfinder.catalog import CatalogGraph, ResourceSpec, TopicSpec

    rule = "!has(resource.locale) || resource.locale == employee.locale"
    resources = [ResourceSpec.model_validate({"id": rid, "type": "policy", "title": rid, "topics": ["t"],
                                              "eligibility": rule, **extra})
                 for rid, extra in (("anyone", {}), ("german", {"locale": "de-DE"}), ("french", {"locale": "fr-FR"}))]
    selection = CatalogGraph([TopicSpec(id="t")], resources).select(["t"], {"locale": "de-DE"})
    assert sorted(r.id for r in selection.resources) == ["anyone", "german"]
    assert selection.errors == []
