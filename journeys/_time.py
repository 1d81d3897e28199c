"""Local time: waits in the employee's timezone, quiet hours and weekends in the recipient's."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wayfinder.journeys._durations import has_calendar_part, parse_duration, split_duration
from wayfinder.vocabulary import parse_instant


@lru_cache(maxsize=512)
def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_at(day: date, at: time, tz: ZoneInfo) -> datetime:
    """A wall-clock time on a local date, as a UTC instant (a time in a DST gap moves forward)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


FIRST_YEAR, LAST_YEAR = 1900, 2199
"""The years Wayfinder schedules in (as ``events.EARLIEST``/``LATEST``): a time outside is refused as a value, not
an overflow deep in a timer."""


def schedulable(instant: datetime) -> datetime:
    """``instant`` when it is within the years Wayfinder schedules; else a ``ValueError`` (never its value)."""
    if not FIRST_YEAR <= instant.year <= LAST_YEAR:
        msg = f"a time outside the years {FIRST_YEAR}..{LAST_YEAR}, which Wayfinder cannot schedule"
        raise ValueError(msg)
    return instant


def to_instant(value: Any, tz: ZoneInfo) -> datetime:
    """A date (midnight local), an RFC 3339 timestamp, or a datetime, as an aware instant within the years
    Wayfinder schedules (a ``ValueError`` otherwise, as for any value that is not a time)."""
    return read_time(value, tz)[0]


def read_time(value: Any, tz: ZoneInfo) -> tuple[datetime, bool]:
    """:func:`to_instant`, and whether the value was a date: a date is a local day (it depends on ``tz``), a
    timestamp an instant (it does not)."""
    try:
        instant, is_date = _to_instant(value, tz)
        return schedulable(instant), is_date
    except OverflowError as e:
        msg = f"a time outside the years {FIRST_YEAR}..{LAST_YEAR}, which Wayfinder cannot schedule"
        raise ValueError(msg) from e


def _to_instant(value: Any, tz: ZoneInfo) -> tuple[datetime, bool]:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            msg = "a timestamp without an offset"
            raise ValueError(msg)
        return value.astimezone(UTC), False
    if isinstance(value, date):
        return local_at(value, time(0), tz), True
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 10:
            try:
                day = date.fromisoformat(text)
            except ValueError as e:  # kept when it quotes nothing ("month must be in 1..12"): a diagnostic is logged
                if "'" in str(e) or text in str(e):
                    msg = "not a date or an RFC 3339 timestamp"
                    raise ValueError(msg) from None
                raise
            return local_at(day, time(0), tz), True
        try:  # with "t" and "z" as RFC 3339 allows
            return parse_instant(text).astimezone(UTC), False
        except ValueError as e:  # said without the value (a diagnostic is logged)
            msg = "a timestamp without an offset" if "no offset" in str(e) else "not a date or an RFC 3339 timestamp"
            raise ValueError(msg) from None
    msg = f"expected a date or a timestamp, got {type(value).__name__}"
    raise ValueError(msg)


def shift(instant: datetime, duration: str, tz: ZoneInfo) -> datetime:
    """Add a duration: days and weeks keep the local wall-clock time across DST, hours and less are exact."""
    delta = parse_duration(duration)  # at most a century: from a time Wayfinder schedules, no overflow
    if not has_calendar_part(duration):
        return instant.astimezone(UTC) + delta
    calendar, exact = split_duration(duration)  # 1d3h: the same time tomorrow, then three exact hours
    wall = instant.astimezone(tz).replace(tzinfo=None) + calendar
    return wall.replace(tzinfo=tz).astimezone(UTC) + exact


def set_time_of_day(instant: datetime, at: time, tz: ZoneInfo) -> datetime:
    return local_at(instant.astimezone(tz).date(), at, tz)


def parse_window(text: str) -> tuple[time, time]:
    start, end = text.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


def window_text(window: tuple[time, time] | None) -> str | None:
    """A quiet window as a box keeps it (``parse_window`` reads it back); None without one."""
    return "-".join(t.isoformat() for t in window) if window else None


def _wall_clock_reaches(day: date, at: time, tz: ZoneInfo, after: datetime) -> datetime:
    """The first instant after ``after`` at which the local clock on ``day`` shows ``at`` (the end of a quiet
    window): the second ``at`` of a night whose clocks go back when ``after`` is past the first; the moment the
    clocks go forward when they skip ``at`` (at 02:30 on a night that jumps from 02:00 to 03:00 it is 03:00 there,
    past the window's end)."""
    first = datetime.combine(day, at, tzinfo=tz)
    utc = first.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != first.replace(tzinfo=None):  # skipped: find the jump
        lo, hi = first.replace(fold=1).astimezone(UTC), utc  # on either side of it
        offset = lo.astimezone(tz).utcoffset()
        while hi - lo > timedelta(seconds=1):
            mid = lo + (hi - lo) / 2
            lo, hi = (mid, hi) if mid.astimezone(tz).utcoffset() == offset else (lo, mid)
        return hi.replace(microsecond=0)  # clocks change on a whole second, and lo < it <= hi
    if utc > after:
        return utc
    return first.replace(fold=1).astimezone(UTC)  # the clock shows ``at`` again after ``after`` (or it is past)


def _quiet_until(local: datetime, start: time, end: time, tz: ZoneInfo) -> datetime | None:
    """When the quiet window that ``local`` is in ends, or None when it is not in one."""
    t = local.time()
    if start == end:
        return None
    if start < end:
        return _wall_clock_reaches(local.date(), end, tz, local) if start <= t < end else None
    if t >= start:
        return _wall_clock_reaches(local.date() + timedelta(days=1), end, tz, local)
    if t < end:
        return _wall_clock_reaches(local.date(), end, tz, local)
    return None


def next_allowed(instant: datetime, tz: ZoneInfo, window: tuple[time, time] | None,
                 weekends: frozenset[int]) -> datetime:
    """The first instant at or after ``instant`` outside quiet hours and off the quiet weekdays (``weekends``,
    Monday 0: the policy's weekend when weekends are quiet, ``Policy.quiet_weekdays``)."""
    current = instant
    for _ in range(32):
        local = current.astimezone(tz)
        if local.weekday() in weekends:
            current = local_at(local.date() + timedelta(days=1), time(0), tz)
            continue
        if window is not None:
            until = _quiet_until(local, window[0], window[1], tz)
            if until is not None and until > current:
                current = until
                continue
        return current.astimezone(UTC)
    return current.astimezone(UTC)  # pragma: no cover - a valid window always ends within days


def is_quiet(instant: datetime, tz: ZoneInfo, window: tuple[time, time] | None, weekends: frozenset[int]) -> bool:
    return next_allowed(instant, tz, window, weekends) != instant


def day_of(value: Any, tz: ZoneInfo) -> date | None:
    """The day a value says, where ``tz`` is: a date, an ISO date text, or an instant (a datetime, or RFC 3339 text)
    seen in ``tz``; None for anything else, and for an instant whose day there is past the calendar's edge."""
    if isinstance(value, str) and value[10:11] in ("T", "t"):
        try:
            value = parse_instant(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        try:
            return value.astimezone(tz).date()
        except OverflowError:  # 9999-12-31T23:00:00Z seen east of UTC
            return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None
