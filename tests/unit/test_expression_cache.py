"""An expression's result cache answers as evaluating afresh would: text fields are keyed by their values without
building the inputs (the catalog's eligibility rules are most of the core's evaluations), and values a tuple would
confuse (``1``, ``1.0`` and ``true`` are equal in one) by the text of the inputs."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import count_evaluations
from wayfinder.expressions import Expr, forget_inputs

SOURCES = (
    'has(employee.a)',
    'employee.a == "x"',
    'employee.a == employee.b',
    'employee.a == 1',
    'employee.a == true',
    'employee.a == null',
    'size(employee.a) > 0',
    'employee.a in ["x", "1"] || resource.id == "r"',
)
ANY = frozenset({"employee", "resource"})

values = st.one_of(st.sampled_from(["x", "1", "", "true"]), st.none(), st.booleans(), st.integers(-1, 2),
                   st.sampled_from([1.0, 0.0]), st.lists(st.sampled_from(["x", 1]), max_size=2))
fields = st.dictionaries(st.sampled_from(["a", "b"]), values, max_size=2)
contexts = st.lists(st.fixed_dictionaries({"employee": fields}, optional={"resource": st.fixed_dictionaries(
    {"id": st.sampled_from(["r", "s"])})}), min_size=1, max_size=8)


@settings(max_examples=150, deadline=None)
@given(contexts)
def test_a_warm_cache_answers_as_a_fresh_expression(seen: list[dict[str, Any]]) -> None:
    shared = [Expr(source, ANY) for source in SOURCES]
    for context in seen:
        for expr, source in zip(shared, SOURCES, strict=True):
            assert expr.evaluate(context) == Expr(source, ANY).evaluate(context), (source, context)


def test_text_fields_are_answered_from_the_cache_with_only_what_was_read() -> None:
    expr = Expr('employee.country == "IN"', ANY)
    runs = count_evaluations(expr)
    for name in ("Asha", "Ravi", "Meera"):  # fields it does not read differ
        assert expr.test({"employee": {"country": "IN", "given_name": name, "tags": [1]}}) == (True, None)
    assert expr.test({"employee": {"given_name": "Asha"}})[0] is False  # absent: evaluated, a failure
    assert expr.test({"employee": {"country": None}}) == (False, None)  # null is not absent
    assert runs == [{"employee": {"country": "IN"}}, {"employee": {}}, {"employee": {"country": None}}]


def test_expressions_written_alike_share_their_results() -> None:
    first = Expr('employee.country == "IN"', ANY)
    runs = count_evaluations(first)
    assert first.test({"employee": {"country": "IN"}}) == (True, None)
    again = Expr('employee.country == "IN"', ANY)
    assert again.test({"employee": {"country": "IN"}}) == (True, None)
    assert len(runs) == 1
    # over other variables the same text may read other things (a name bound by a macro in one is a variable in
    # the other): its results are its own
    assert Expr('employee.country == "IN"')._cache is not first._cache


def test_an_erasure_empties_the_text_keyed_results_too() -> None:
    expr = Expr('employee.given_name == "Asha"', ANY)
    runs = count_evaluations(expr)
    assert expr.test({"employee": {"given_name": "Asha"}}) == (True, None)
    forget_inputs()
    assert expr.test({"employee": {"given_name": "Asha"}}) == (True, None)
    assert len(runs) == 2
