"""The core's shortcuts (issue 10) give the answers of the long way round."""

from __future__ import annotations

from datetime import date
from typing import Any

import networkx as nx
from babel import dates
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import bundled_defs
from wayfinder.catalog import graph
from wayfinder.catalog.calendar import WorkCalendar
from wayfinder.journeys import events
from wayfinder.journeys.events import DATA_MODELS
from wayfinder.journeys.i18n import Reader
from wayfinder.journeys.profile import Profile, apply_event, changes_profile

# Text that reaches every branch of the value checks: dates in and out of range, near-dates, non-ASCII text and
# lone surrogates.
_TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["2026-01-05", " 9999-12-31 ", "0001-01-01T00:00:00Z", "1899-12-31", "2199-12-31T23:59+14:00",
                     "2026-13-99", "1234567890", "Zoë", "\udc80", "ok"]),
)
_JSON: Any = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), _TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=400)
@given(st.dictionaries(_TEXT, _JSON, max_size=5))
def test_the_quick_look_at_values_passes_only_what_the_full_check_passes(obj: dict[str, Any]) -> None:
    try:
        events._check_values(obj)
    except events.DecodeError:
        assert not events._plainly_clean(obj)
    # An object the quick look passes, the full check passes too (else the check above failed).


def test_the_quick_look_sends_hostile_values_to_the_full_check() -> None:
    assert events._plainly_clean({"a": ["2026-01-05", {"b": 1}], "c": None})
    assert not events._plainly_clean({"a": [{"b": "9999-12-31"}]})
    assert not events._plainly_clean({"a": "Zoë"})  # not ASCII: the full check looks at it
    assert not events._plainly_clean({"Zoë": 1})


@settings(max_examples=200)
@given(st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)), st.integers(1, 40),
       st.sampled_from(["GB", "DE", "FR", "US", "IN", "ZZ", None]),
       st.sampled_from([("saturday", "sunday"), ("friday", "saturday"), ()]), st.booleans())
def test_a_kept_working_day_is_the_one_counted_day_by_day(start: date, n: int, country: str | None,
                                                          weekend: tuple[str, ...], public: bool) -> None:
    calendar = WorkCalendar(weekend, public_holidays=public)
    day, counted = start, 0
    while True:
        if calendar.is_working_day(day, country):
            counted += 1
            if counted == n:
                break
        day = date.fromordinal(day.toordinal() + 1)
    assert calendar.working_day(start, n, country) == day


@settings(max_examples=200)
@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
       st.sampled_from(["en", "en-GB", "de-DE", "fr-FR", "en-IN", "ja", "zz-ZZ", None]),
       st.sampled_from(["short", "medium", "long", "full", "d MMM y", "EEEE"]))
def test_a_kept_date_is_what_babel_writes(day: date, locale: str | None, fmt: str) -> None:
    reader = Reader(locale, "UTC")
    assert reader.date(day.isoformat(), fmt) == dates.format_date(day, fmt, locale=reader.locale)
    assert reader.date(day, fmt) == reader.date(day.isoformat(), fmt)  # the second time from what is kept


@st.composite
def _requirements(draw: st.DrawFn) -> tuple[dict[str, int], dict[str, tuple[str, ...]]]:
    """Items with days and what each requires; some draws go round in a cycle."""
    ids = draw(st.lists(st.sampled_from([f"r{i}" for i in range(12)]), min_size=1, max_size=10, unique=True))
    days = {rid: draw(st.integers(1, 40)) for rid in ids}
    requires = {rid: tuple(dict.fromkeys(draw(st.lists(st.sampled_from(ids), max_size=3)))) for rid in ids}
    if draw(st.booleans()):  # mostly a DAG: an item requires only items listed before it
        requires = {rid: tuple(r for r in reqs if ids.index(r) < ids.index(rid)) for rid, reqs in requires.items()}
    return days, requires


@settings(max_examples=300)
@given(_requirements(), st.integers(0, 45))
def test_the_roadmap_order_is_networkx_order(case: tuple[dict[str, int], dict[str, tuple[str, ...]]],
                                             horizon: int) -> None:
    days, requires = case
    ours = graph.dated_order(days, requires, horizon)
    try:
        theirs = graph.dated_order_nx(days, requires, horizon)
    except nx.NetworkXUnfeasible:  # a cycle: ours gives way to networkx, which says so
        assert ours is None
        return
    assert ours == theirs


_CATALOG = bundled_defs().catalog


@settings(max_examples=200)
@given(st.sampled_from(sorted(_CATALOG.resources)), st.integers(0, 6),
       st.fixed_dictionaries({}, optional={
           "locale": st.sampled_from(["en-GB", "de_DE", "fr", "EN-us"]),
           "department": st.sampled_from(["Engineering", "engineering", "Sales"]),
           "location": st.sampled_from(["London", "Berlin", "Paris"]),
           "role": st.sampled_from(["Engineering specialist", "Manager"]),
           "learning_style": st.sampled_from(["visual", "reading", "hands_on", "listening"])}),
       st.dictionaries(st.sampled_from(sorted(_CATALOG.resources)), st.floats(-2, 2, allow_nan=False), max_size=4))
def test_a_score_is_the_sum_of_its_reasons(rid: str, rank: int, employee: dict[str, Any],
                                           feedback: dict[str, float]) -> None:
    r = _CATALOG.resources[rid]
    total = 0.0
    for _, points in _CATALOG.score_parts(r, rank, employee, feedback):
        total += points
    assert _CATALOG._score(r, rank, employee, feedback) == total


_PROFILE_KEYS = ["id", "given_name", "department", "country", "new_role", "new_department", "new_manager_id",
                 "new_location", "new_country", "new_timezone", "start_date", "role", "location", "manager_id",
                 "locale", "anything"]


@settings(max_examples=300)
@given(st.sampled_from([*DATA_MODELS, "hris.unknown.type", "custom.event"]),
       st.dictionaries(st.sampled_from(_PROFILE_KEYS),
                       st.one_of(st.none(), st.sampled_from(["X", "DE", "Europe/Berlin", "2026-01-05"])),
                       max_size=6))
def test_an_event_that_changes_no_profile_is_told_by_its_type(event_type: str, data: dict[str, Any]) -> None:
    profile = Profile(id="E1", fields={"department": "Sales", "country": "GB"}, attributes={"team": "A"})
    before = profile.model_dump()
    apply_event(profile, event_type, data)
    if not changes_profile(event_type):
        assert profile.model_dump() == before
