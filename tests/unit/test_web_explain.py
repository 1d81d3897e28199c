"""Why did I get this? The profile fields a journey's rules read."""

from __future__ import annotations

from wayfinder import examples_dir
from wayfinder.journeys.loader import Sources, load_or_raise
from wayfinder.web.explain import fields_used


def test_the_fields_named_in_conditions_are_listed_and_event_types_are_not() -> None:
    ex = examples_dir()
    defs = load_or_raise(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                                 policy=ex / "policy.yaml"))
    journey = defs.current()["new-parent"]
    rules = ['Expr("employee.country == \\"DE\\" && employee.attributes.team_size > 3")']
    assert fields_used(journey, rules) == ["country", "employment_type", "team_size"]
    assert fields_used(None, rules) == []
