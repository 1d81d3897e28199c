"""CEL ``//`` comments: what Wayfinder reads of an expression by itself reads it as CEL does (found by an audit of
issue 2: an apostrophe in a comment was taken for a string, a commented-out ``&& ...`` for a condition)."""

from __future__ import annotations

import cel
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wayfinder.expressions import Expr, without_comments
from wayfinder.journeys.audience import conjuncts
from wayfinder.journeys.checks import check_expression
from wayfinder.journeys.protected import protected_reads
from wayfinder.journeys.schemas import PROFILE, Field

APOSTROPHE = "employee.country == \"DE\" // Anna's rule: German sales only\n&& employee.department == 'Sales'"
COMMENTED_OUT = 'employee.department == "Sales" // && employee.country == "DE"'


@pytest.mark.parametrize(("source", "blanked"), [
    ('a == "x" // b', 'a == "x"     '),
    ('a == "http://x" // b', 'a == "http://x"     '),
    ("a == 'it''s' // c", "a == 'it''s'     "),
    ('a == "q\\"//" // c', 'a == "q\\"//"     '),
    ('a == r"\\" // c', 'a == r"\\"     '),
    ("a == '''x // y\n''' // z\n&& b", "a == '''x // y\n'''     \n&& b"),
    ("a // one\n// two\n&& b", "a       \n      \n&& b"),
    ("no comment at all", "no comment at all"),
])
def test_comments_are_blanked_and_strings_kept(source: str, blanked: str) -> None:
    assert without_comments(source) == blanked
    assert len(without_comments(source)) == len(source)


@given(st.text(st.sampled_from(["a", " ", "/", "'", '"', "\\", "\n", "r", "&", "="]), max_size=40))
def test_blanking_keeps_every_column_and_every_line(source: str) -> None:
    out = without_comments(source)
    assert len(out) == len(source) and out.count("\n") == source.count("\n")
    assert all(o == c or o == " " for o, c in zip(out, source, strict=True))


def test_an_apostrophe_in_a_comment_does_not_hide_a_field_the_expression_reads() -> None:
    employee = {"country": "DE", "department": "Sales"}
    assert cel.evaluate(APOSTROPHE, {"employee": employee}) is True
    assert Expr(APOSTROPHE).test({"employee": employee}) == (True, None)  # it failed: department was not given
    assert Expr(APOSTROPHE).test({"employee": {**employee, "department": "Ops"}}) == (False, None)


def test_a_commented_out_condition_is_not_indexed() -> None:
    found, whole = conjuncts(COMMENTED_OUT)
    assert (found, whole) == ({("employee", "department"): frozenset({("s", "Sales")})}, True)


def test_validation_reads_no_name_in_a_comment() -> None:
    scope = {"employee": Field(shape=PROFILE)}
    assert check_expression('employee.department == "Sales" // employee.attributes.region', scope) == []
    assert check_expression("employee.nosuchfield == 1", scope) != []
    assert protected_reads('employee.department == "Sales" // employee.attributes.ethnicity',
                           ["ethnicity"]) == []
