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
        found = _public_holidays(country.upper())
        return found is None or day not in found

    def working_day(self, start: date, n: int, country: str | None) -> date:
        """Day ``n`` of work from ``start`` (day 1 is ``start``, or the first working day after it)."""
        if len(self.weekend) >= len(WEEKDAYS):
            return start + timedelta(days=n - 1)
        day = start
        while not self.is_working_day(day, country):
            day += timedelta(days=1)
        for _ in range(n - 1):
            day += timedelta(days=1)
            while not self.is_working_day(day, country):
                day += timedelta(days=1)
        return day


CALENDAR_DAYS = WorkCalendar(weekend=(), public_holidays=False)
