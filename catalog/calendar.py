"""Working days for roadmaps: weekends as the policy says, public holidays of the employee's country
(the ``holidays`` library, national holidays only)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from datetime import date, timedelta

import holidays

log = logging.getLogger(__name__)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@functools.lru_cache(maxsize=256)
def _public_holidays(country: str) -> holidays.HolidayBase | None:
    try:
        return holidays.country_holidays(country)
    except NotImplementedError:  # a country the library does not know: weekends only, and say so once
        log.warning("no public holidays known for country %s: roadmap days skip weekends only", country)
        return None


@functools.lru_cache(maxsize=16_384)
def _holiday(country: str, day: date) -> bool:
    """Whether ``day`` is a public holiday in ``country`` (upper case). The library fills a year's holidays
    when first asked about it and the answer for a day does not depend on which years were filled before,
    so the answer can be kept."""
    found = _public_holidays(country)
    return found is not None and day in found


@functools.lru_cache(maxsize=16_384)
def _working_day(weekend: frozenset[int], public_holidays: bool, start: date, n: int, country: str | None) -> date:
    """``WorkCalendar.working_day``, kept per calendar, start, day and country: a roadmap asks for each of its
    items from the same start, and people hired on one day share their roadmap's days."""
    def working(day: date) -> bool:
        if day.weekday() in weekend:
            return False
        return not public_holidays or not country or not _holiday(country.upper(), day)

    if len(weekend) >= len(WEEKDAYS):
        return start + timedelta(days=n - 1)
    day = start
    while not working(day):
        day += timedelta(days=1)
    for _ in range(n - 1):
        day += timedelta(days=1)
        while not working(day):
            day += timedelta(days=1)
    return day


class WorkCalendar:
    """Which days are working days, per country."""

    def __init__(self, weekend: Iterable[str] = ("saturday", "sunday"), *, public_holidays: bool = True) -> None:
        self.weekend = frozenset(WEEKDAYS.index(d) for d in weekend)
        self.public_holidays = public_holidays

    def is_working_day(self, day: date, country: str | None) -> bool:
        if day.weekday() in self.weekend:
            return False
        if not self.public_holidays or not country:
            return True
        return not _holiday(country.upper(), day)

    def working_day(self, start: date, n: int, country: str | None) -> date:
        """Day ``n`` of work from ``start`` (day 1 is ``start``, or the first working day after it)."""
        return _working_day(self.weekend, self.public_holidays, start, n, country)


CALENDAR_DAYS = WorkCalendar(weekend=(), public_holidays=False)
