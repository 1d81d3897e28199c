"""The core's shortcuts (issue 10) give the answers of the long way round."""

from __future__ import annotations

from datetime import date

from babel import dates
from hypothesis import given, settings
from hypothesis import strategies as st

from wayfinder.catalog.calendar import WorkCalendar
from wayfinder.journeys.i18n import Reader


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
