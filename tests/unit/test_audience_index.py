"""The audience index leaves out only journeys whose conditions are false without an error, so the engine
enrolls and counts failed expressions exactly as if it tested every journey (README "Audience index")."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from wayfinder.journeys.audience import AudienceIndex, conjuncts
from wayfinder.journeys.model import Journey

CONDITIONS = [
    ('employee.country == "DE"', None),
    (None, 'employee.country == "FR" && employee.department in ["Sales", "Support"]'),
    ('event.data.leave_type == "parental"', 'employee.employment_type != "contractor"'),
    ('event.data.leave_type in ["parental", "medical"] && employee.attributes.cost_center == \'CC-1\'', None),
    ('event.data.score >= 0.7', 'employee.country == "DE"'),  # trigger.when not indexable: audience is not used
    ('"Berlin" == employee.location && (employee.remote == true)', None),
    ('employee.country == "DE" || employee.country == "FR"', None),  # an or: tested, not indexed
    (None, None),
    ('employee.country == "DE" && employee.country == "FR"', None),  # never true
]


def _journey(n: int, when: str | None, audience: str | None) -> Journey:
    trigger: dict[str, Any] = {"event": "hris.leave.started"}
    if when is not None:
        trigger["when"] = when
    doc: dict[str, Any] = {"apiVersion": "wayfinder/v1", "kind": "Journey", "id": f"j-{n}", "name": "J",
                           "owner": "o@example.com", "trigger": trigger,
                           "steps": [{"id": "s", "send": {"channel": "email", "subject": "x", "body": "y"}}]}
    if audience is not None:
        doc["audience"] = audience
    return Journey.model_validate(doc)


JOURNEYS = [_journey(n, w, a) for n, (w, a) in enumerate(CONDITIONS)]
INDEX = AudienceIndex({"hris.leave.started": JOURNEYS})

values = st.one_of(st.sampled_from(["DE", "FR", "Sales", "Support", "Berlin", "parental", "medical", "CC-1",
                                    "contractor", "true"]), st.none(), st.booleans(), st.integers(0, 2),
                   st.floats(0, 1), st.lists(st.just("DE"), max_size=1))
fields = st.dictionaries(st.sampled_from(["country", "department", "location", "remote", "employment_type"]),
                         values)


def _passes(journey: Journey, scope: dict[str, Any]) -> tuple[bool, list[str]]:
    """What the engine does: trigger.when first, then the audience; the errors it would count."""
    errors = []
    for expr in (journey.trigger.when, journey.audience):
        if expr is None:
            continue
        ok, error = expr.test(scope)
        if error is not None:
            errors.append(error)
        if not ok:
            return False, errors
    return True, errors


@settings(max_examples=400, deadline=None)
@given(fields, st.dictionaries(st.sampled_from(["cost_center"]), values),
       st.dictionaries(st.sampled_from(["leave_type", "score"]), values))
def test_a_journey_left_out_is_false_without_an_error(profile: dict[str, Any], attributes: dict[str, Any],
                                                      data: dict[str, Any]) -> None:
    employee = {"id": "E1", "interests": [], "skills": [], **profile, "attributes": attributes}
    event = {"type": "hris.leave.started", "data": data}
    scope = {"employee": employee, "event": event, "trigger": event}
    chosen = INDEX.candidates("hris.leave.started", employee, event)
    assert [j.id for j in chosen] == [j.id for j in JOURNEYS if j in chosen]  # the engine's order
    for journey in JOURNEYS:
        if journey not in chosen:
            assert _passes(journey, scope) == (False, []), journey.id


def test_the_index_files_equality_and_membership_and_leaves_the_rest() -> None:
    found, whole = conjuncts('employee.country == "DE" && event.data.x in ["a", \'b\'] && employee.age > 3')
    assert found == {("employee", "country"): {("s", "DE")}, ("event.data", "x"): {("s", "a"), ("s", "b")}}
    assert not whole
    assert conjuncts('employee.a == "x" || employee.b == "y"') == ({}, False)
    assert conjuncts('employee.flag == true')[0] == {("employee", "flag"): {("b", True)}}


def test_with_many_journeys_an_event_tests_only_those_filed_under_its_values() -> None:
    many = [_journey(n, None, f'employee.department == "D{n % 50}" && employee.country == "C{n % 7}"')
            for n in range(1000)]
    index = AudienceIndex({"hris.leave.started": many})
    employee = {"department": "D3", "country": "C3", "attributes": {}}
    chosen = index.candidates("hris.leave.started", employee, {"data": {}})
    assert [j.id for j in chosen] == [f"j-{n}" for n in range(1000) if n % 50 == 3 and n % 7 == 3]
    assert len(index.candidates("hris.leave.started", {"country": "C3", "attributes": {}}, {"data": {}})) == 1000
