"""Working days for roadmaps: weekends as the policy says (per country where it lists one), public holidays of the
employee's country (the ``holidays`` library, national holidays only)."""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

import holidays

log = logging.getLogger(__name__)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def load_public_holidays() -> None:
    """Import the library's countries now: the first question about any country imports all of them (about 0.2 s
    here), which a worker would otherwise pay in the middle of its first roadmap (README "Warm at start-up")."""
    importlib.import_module("holidays.countries")


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


@functools.lru_cache(maxsize=1024)
def _working_days(weekend: frozenset[int], public_holidays: bool, start: date, country: str | None) -> list[date]:
    """The working days from ``start`` on, in order, as far as they were asked for (``_working_day`` extends
    the list): one walk over the calendar per calendar, start and country, shared by every item of every roadmap
    from that start."""
    return []


def _working_day(weekend: frozenset[int], public_holidays: bool, start: date, n: int, country: str | None) -> date:
    """``WorkCalendar.working_day``: the ``n``-th working day on or after ``start`` (the first for ``n`` below
    1, unless every day is a weekend day)."""
    if len(weekend) >= len(WEEKDAYS):
        return start + timedelta(days=n - 1)
    n = max(n, 1)
    days = _working_days(weekend, public_holidays, start, country)
    if len(days) < n:
        holidays_of = country.upper() if public_holidays and country else None
        day = days[-1] + timedelta(days=1) if days else start
        while len(days) < n:
            if day.weekday() not in weekend and (holidays_of is None or not _holiday(holidays_of, day)):
                days.append(day)
            day += timedelta(days=1)
    return days[n - 1]


class WorkCalendar:
    """Which days are working days, per country."""

    def __init__(self, weekend: Iterable[str] = ("saturday", "sunday"), *, public_holidays: bool = True,
                 by_country: Mapping[str, Iterable[str]] | None = None) -> None:
        self.weekend = frozenset(WEEKDAYS.index(d) for d in weekend)
        self.public_holidays = public_holidays
        # the weekend of a country whose days off are not ``weekend`` (the policy's ``weekend_by_country``)
        self.by_country = {c.upper(): frozenset(WEEKDAYS.index(d) for d in days)
                           for c, days in (by_country or {}).items()}

    def weekend_of(self, country: str | None) -> frozenset[int]:
        """The days off (Monday 0) in ``country``: its own weekend when the policy lists it, else ``weekend``."""
        if country and self.by_country:
            return self.by_country.get(country.upper(), self.weekend)
        return self.weekend

    def is_working_day(self, day: date, country: str | None) -> bool:
        if day.weekday() in self.weekend_of(country):
            return False
        if not self.public_holidays or not country:
            return True
        return not _holiday(country.upper(), day)

    def working_day(self, start: date, n: int, country: str | None) -> date:
        """Day ``n`` of work from ``start`` (day 1 is ``start``, or the first working day after it) in ``country``."""
        return _working_day(self.weekend_of(country), self.public_holidays, start, n, country)


CALENDAR_DAYS = WorkCalendar(weekend=(), public_holidays=False)
