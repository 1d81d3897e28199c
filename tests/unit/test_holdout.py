"""Holdout assignment: pure, stable across replays and journey versions, nested, and the share converges."""

from __future__ import annotations

import hashlib
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from wayfinder.journeys.holdout import holdout_point, in_holdout

ids = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FFF), min_size=1, max_size=30)
shares = st.floats(min_value=0.01, max_value=0.5)
POPULATION = 4000


@settings(max_examples=60, deadline=None)
@given(journey=ids, share=shares, start=st.integers(min_value=0, max_value=10**6))
def test_held_out_share_converges_to_the_configured_share(journey: str, share: float, start: int) -> None:
    held = sum(in_holdout(f"E{start + i}", journey, share) for i in range(POPULATION))
    sigma = math.sqrt(share * (1 - share) / POPULATION)
    assert abs(held / POPULATION - share) < 5 * sigma, (held, share)


@given(employee=ids, journey=ids, a=shares, b=shares)
def test_shares_nest_so_a_larger_holdout_keeps_everyone_already_held_out(employee: str, journey: str, a: float,
                                                                         b: float) -> None:
    low, high = sorted((a, b))
    assert not in_holdout(employee, journey, low) or in_holdout(employee, journey, high)


@given(employee=ids, journey=ids, share=shares)
def test_assignment_is_a_pure_function_of_employee_and_journey(employee: str, journey: str, share: float) -> None:
    first = in_holdout(employee, journey, share)
    assert all(in_holdout(employee, journey, share) == first for _ in range(3))
    assert 0 <= holdout_point(employee, journey) < 1
    assert not in_holdout(employee, journey, 0.0)


def test_assignment_is_pinned_so_it_never_changes_between_releases() -> None:
    # A release that changed the hash would move people between control and reached mid-study.
    held = [e for e in (f"E{1000 + i}" for i in range(40)) if in_holdout(e, "onboarding", 0.1)]
    assert held == [e for e in (f"E{1000 + i}" for i in range(40)) if holdout_point(e, "onboarding") < 0.1]
    # The documented rule: the first 8 bytes of SHA-256("wayfinder-holdout" US journey US employee), over 2**64.
    digest = hashlib.sha256(b"wayfinder-holdout\x1fonboarding\x1fE1001").digest()
    assert holdout_point("E1001", "onboarding") == int.from_bytes(digest[:8], "big") / 2**64


def test_different_journeys_hold_out_different_people() -> None:
    a = {i for i in range(2000) if in_holdout(f"E{i}", "onboarding", 0.2)}
    b = {i for i in range(2000) if in_holdout(f"E{i}", "new-parent", 0.2)}
    assert 0.1 < len(a & b) / len(a) < 0.3  # independent draws overlap by about the share itself

