"""The core's shortcuts (issue 10) give the answers of the long way round."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from wayfinder.catalog.calendar import WorkCalendar


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
