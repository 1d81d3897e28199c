"""Local time on a fake clock: waits keep the wall-clock time, quiet hours and weekends, across DST.

2026 DST changes: US spring 2026-03-08, EU spring 2026-03-29, EU autumn 2026-10-25, US autumn 2026-11-01.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from wayfinder.journeys._durations import parse_duration
from wayfinder.journeys._time import (
    is_quiet,
    local_at,
    next_allowed,
    parse_window,
    set_time_of_day,
    shift,
    to_instant,
    zone,
)
from wayfinder.journeys.model import Policy

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NIGHT = (time(20, 0), time(8, 0))  # crosses midnight
LUNCH = (time(12, 0), time(13, 0))  # does not

SAT_SUN = frozenset({5, 6})  # the default weekend, Monday 0


def utc(text: str) -> datetime:
    """A fixed aware instant, ``2026-03-02T09:15`` read as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str, tz: ZoneInfo) -> datetime:
    """A fixed aware instant from a wall-clock time in ``tz`` (fold 0)."""
    return datetime.fromisoformat(text).replace(tzinfo=tz)


# -- zone, parse_window -------------------------------------------------------------------------


def test_zone_falls_back_to_utc_for_unknown_or_missing_names() -> None:
    assert zone("Europe/Berlin") == BERLIN
    assert zone(None) == ZoneInfo("UTC")
    assert zone("") == ZoneInfo("UTC")
    assert zone("Mars/Olympus_Mons") == ZoneInfo("UTC")


def test_parse_window() -> None:
    assert parse_window("20:00-08:00") == NIGHT
    assert parse_window("12:00-13:30") == (time(12, 0), time(13, 30))


# -- local_at -------------------------------------------------------------------------------------


def test_local_at_is_the_wall_clock_time_in_the_zone() -> None:
    assert local_at(date(2026, 1, 15), time(9, 0), BERLIN) == utc("2026-01-15T08:00")
    assert local_at(date(2026, 7, 15), time(9, 0), BERLIN) == utc("2026-07-15T07:00")
    assert local_at(date(2026, 1, 15), time(9, 0), NEW_YORK) == utc("2026-01-15T14:00")
    assert local_at(date(2026, 7, 15), time(9, 0), NEW_YORK) == utc("2026-07-15T13:00")


@pytest.mark.parametrize(("day", "tz", "expected"), [
    (date(2026, 3, 29), BERLIN, "2026-03-29T01:30"),  # 02:30 does not exist: 03:30 CEST
    (date(2026, 3, 8), NEW_YORK, "2026-03-08T07:30"),  # 02:30 does not exist: 03:30 EDT
])
def test_local_at_in_a_dst_gap_moves_forward(day: date, tz: ZoneInfo, expected: str) -> None:
    got = local_at(day, time(2, 30), tz)
    assert got == utc(expected)
    assert got.astimezone(tz).time() == time(3, 30)
    # not before the instant the clock jumps over
    assert got >= local_at(day, time(2, 0), tz)


@pytest.mark.parametrize(("day", "at", "tz", "expected"), [
    (date(2026, 10, 25), time(2, 30), BERLIN, "2026-10-25T00:30"),  # 02:30 CEST, the first of two
    (date(2026, 11, 1), time(1, 30), NEW_YORK, "2026-11-01T05:30"),  # 01:30 EDT, the first of two
])
def test_local_at_in_a_repeated_hour_takes_the_first(day: date, at: time, tz: ZoneInfo, expected: str) -> None:
    assert local_at(day, at, tz) == utc(expected)


def test_local_at_returns_an_aware_time_in_the_zone() -> None:
    got = local_at(date(2026, 3, 2), time(9, 0), NEW_YORK)
    assert got.tzinfo is not None
    assert got.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, 3, 2, 9, 0)  # noqa: DTZ001


# -- to_instant -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "tz", "expected"), [
    ("2026-03-01", BERLIN, "2026-02-28T23:00"),
    ("2026-07-01", BERLIN, "2026-06-30T22:00"),
    ("2026-03-29", BERLIN, "2026-03-28T23:00"),  # the day of the change starts in CET
    ("2026-03-30", BERLIN, "2026-03-29T22:00"),  # and the day after in CEST
    ("2026-03-08", NEW_YORK, "2026-03-08T05:00"),
    ("2026-03-09", NEW_YORK, "2026-03-09T04:00"),
    ("2026-11-01", NEW_YORK, "2026-11-01T04:00"),
    ("2026-11-02", NEW_YORK, "2026-11-02T05:00"),
    ("2026-03-01", ZoneInfo("UTC"), "2026-03-01T00:00"),
])
def test_a_date_string_means_local_midnight(text: str, tz: ZoneInfo, expected: str) -> None:
    got = to_instant(text, tz)
    assert got == utc(expected)
    assert got.astimezone(tz).time() == time(0, 0)


def test_a_date_object_means_local_midnight() -> None:
    assert to_instant(date(2026, 10, 25), BERLIN) == utc("2026-10-24T22:00")
    assert to_instant(date(2026, 10, 26), BERLIN) == utc("2026-10-25T23:00")


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-03-02T09:15:00Z", "2026-03-02T09:15"),
    ("2026-03-02T09:15:00+01:00", "2026-03-02T08:15"),
    ("2026-03-02T09:15:00-05:00", "2026-03-02T14:15"),
    (" 2026-03-02T09:15:00.500Z ", "2026-03-02T09:15:00.500"),
    ("2026-03-02t09:15:00z", "2026-03-02T09:15"),  # RFC 3339 allows lower case (an audit: the wait ended)
    ("2026-03-02t10:15:00+01:00", "2026-03-02T09:15"),
])
def test_a_timestamp_is_the_instant_it_names_whatever_the_zone(text: str, expected: str) -> None:
    assert to_instant(text, BERLIN) == utc(expected)
    assert to_instant(text, NEW_YORK) == utc(expected)


def test_an_aware_datetime_is_kept() -> None:
    value = local("2026-03-02T09:15", NEW_YORK)
    assert to_instant(value, BERLIN) == value


@pytest.mark.parametrize("value", [
    "2026-03-02T09:15:00",  # no offset
    datetime(2026, 3, 2, 9, 15),  # noqa: DTZ001 - a naive datetime is the point of the test
    "next tuesday",
    "2026-13-01",
    42,
    None,
])
def test_what_is_not_a_date_or_an_aware_timestamp_is_an_error(value: object) -> None:
    with pytest.raises(ValueError, match=r".+"):
        to_instant(value, BERLIN)


@pytest.mark.parametrize("value", [
    "ZeldaQuux!",  # ten characters, the length of a date: Python's own error quoted the text
    "zq@ex.com.",
    "2026-13-01",
    "Zelda Quux, not a time at all",
])
def test_an_error_about_a_text_that_is_not_a_time_never_quotes_it(value: str) -> None:
    """The error becomes an ``expression_failed`` diagnostic that is logged: the text is the sender's data (SPEC
    §9: no personal data in logs), so it says what is wrong without it."""
    with pytest.raises(ValueError, match=r".+") as caught:
        to_instant(value, BERLIN)
    assert value not in str(caught.value)
    assert value[:5] not in str(caught.value)


# -- shift ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "tz", "duration", "expected"), [
    # EU spring forward 2026-03-29: 09:00 CET (08:00Z) -> 09:00 CEST (07:00Z)
    ("2026-03-27T09:00", BERLIN, "3d", "2026-03-30T07:00"),
    # EU fall back 2026-10-25: 09:00 CEST (07:00Z) -> 09:00 CET (08:00Z)
    ("2026-10-23T09:00", BERLIN, "3d", "2026-10-26T08:00"),
    # US spring forward 2026-03-08: 09:00 EST (14:00Z) -> 09:00 EDT (13:00Z)
    ("2026-03-06T09:00", NEW_YORK, "3d", "2026-03-09T13:00"),
    # US fall back 2026-11-01: 09:00 EDT (13:00Z) -> 09:00 EST (14:00Z)
    ("2026-10-30T09:00", NEW_YORK, "3d", "2026-11-02T14:00"),
    ("2026-03-25T18:30", BERLIN, "1w", "2026-04-01T16:30"),
    ("2026-10-20T18:30", NEW_YORK, "2w", "2026-11-03T23:30"),
    # negative: back across the change, still the same wall-clock time
    ("2026-04-05T09:00", BERLIN, "-14d", "2026-03-22T08:00"),
    ("2026-11-10T09:00", NEW_YORK, "-14d", "2026-10-27T13:00"),
])
def test_days_and_weeks_keep_the_local_wall_clock_time(start: str, tz: ZoneInfo, duration: str,
                                                        expected: str) -> None:
    begin = local(start, tz)
    got = shift(begin, duration, tz)
    assert got == utc(expected)
    assert got.astimezone(tz).time() == begin.time()


@pytest.mark.parametrize(("start", "tz", "duration", "expected"), [
    ("2026-03-28T12:00", BERLIN, "24h", "2026-03-29T11:00"),  # 13:00 CEST, not 12:00
    ("2026-10-24T12:00", BERLIN, "24h", "2026-10-25T10:00"),  # 11:00 CET
    ("2026-03-07T12:00", NEW_YORK, "24h", "2026-03-08T17:00"),  # 13:00 EDT
    ("2026-10-31T12:00", NEW_YORK, "24h", "2026-11-01T16:00"),  # 11:00 EST
    ("2026-03-29T01:30", BERLIN, "90m", "2026-03-29T02:00"),
    ("2026-03-29T01:30", BERLIN, "45s", "2026-03-29T00:30:45"),
])
@pytest.mark.parametrize("given_in", ["utc", "local"])
def test_hours_minutes_and_seconds_are_exact(start: str, tz: ZoneInfo, duration: str, expected: str,
                                             given_in: str) -> None:
    """Exact whatever zone the instant comes in (a timer due or a trigger date may be a local time)."""
    begin = local(start, tz)
    if given_in == "utc":
        begin = begin.astimezone(UTC)
    got = shift(begin, duration, tz)
    assert got == utc(expected)
    assert got.astimezone(UTC) - begin.astimezone(UTC) == utc(expected) - begin.astimezone(UTC)


def test_a_day_across_the_change_is_23_or_25_hours() -> None:
    spring = local("2026-03-28T09:00", BERLIN)
    autumn = local("2026-10-31T09:00", NEW_YORK)
    assert shift(spring, "1d", BERLIN) - spring == timedelta(hours=23)
    assert shift(autumn, "1d", NEW_YORK) - autumn == timedelta(hours=25)


def test_a_duration_of_days_and_hours_is_the_days_on_the_calendar_then_the_hours_exact() -> None:
    """An audit on 2026-12-04: ``1d3h`` from Saturday 00:30 CET, the night the clocks go forward, gave Sunday 03:30
    CEST (26 hours, the whole duration on the local clock); ``27h`` gave 04:30. Now the day is Sunday 00:30 (23
    hours), then three exact hours: 04:30 CEST, as ``27h``; ``-1d3h`` goes back the same way."""
    begin = utc("2026-03-27T23:30")
    assert shift(begin, "1d3h", BERLIN) == shift(begin, "27h", BERLIN) == utc("2026-03-29T02:30")
    assert shift(begin, "3h1d", BERLIN) == utc("2026-03-29T02:30")
    assert shift(utc("2026-03-29T02:30"), "-1d3h", BERLIN) == utc("2026-03-28T00:30")


@pytest.mark.parametrize("text", ["\u0663d", "1\u0660h", "9" * 5000 + "d", "1" * 13 + "s"])
def test_a_duration_in_other_digits_or_past_any_century_is_refused_in_plain_words(text: str) -> None:
    """Durations are ASCII digits, as the JSON Schema says (``٣d`` was three days); a number of 5,000 digits was
    refused in Python's words ("Exceeds the limit (4300 digits) for integer string conversion...")."""
    with pytest.raises(ValueError, match=r"is not a duration|longer than 100 years") as refused:
        parse_duration(text)
    assert "4300" not in str(refused.value)


def test_a_shift_into_a_dst_gap_moves_forward() -> None:
    got = shift(local("2026-03-28T02:30", BERLIN), "1d", BERLIN)
    assert got == utc("2026-03-29T01:30")
    assert got.astimezone(BERLIN).time() == time(3, 30)


def test_a_shift_depends_on_the_zone_it_is_made_in() -> None:
    begin = utc("2026-03-27T08:00")
    assert shift(begin, "3d", BERLIN) == utc("2026-03-30T07:00")
    assert shift(begin, "3d", ZoneInfo("UTC")) == utc("2026-03-30T08:00")


def test_set_time_of_day_and_at_in_a_dst_gap() -> None:
    assert set_time_of_day(utc("2026-03-01T22:30"), time(9, 0), BERLIN) == utc("2026-03-01T08:00")
    assert set_time_of_day(utc("2026-03-01T23:30"), time(9, 0), BERLIN) == utc("2026-03-02T08:00")  # local date
    # `at: "02:30"` on the day of the EU spring change: 03:30 CEST
    assert set_time_of_day(utc("2026-03-29T10:00"), time(2, 30), BERLIN) == utc("2026-03-29T01:30")
    # the same on the US day
    assert set_time_of_day(utc("2026-03-08T15:00"), time(2, 30), NEW_YORK) == utc("2026-03-08T07:30")


def test_wait_until_a_date_with_offset_and_at_across_the_change() -> None:
    """`until: "2026-03-01"`, `offset: 4w`, `at: "09:00"` in Berlin: 09:00 CEST on 2026-03-29."""
    due = to_instant("2026-03-01", BERLIN)
    due = shift(due, "4w", BERLIN)
    assert due == utc("2026-03-28T23:00")  # local midnight, still CET (the change is at 02:00)
    due = set_time_of_day(due, time(9, 0), BERLIN)
    assert due == utc("2026-03-29T07:00")


def test_a_negative_offset_from_a_date_keeps_local_midnight() -> None:
    due = shift(to_instant("2026-11-10", NEW_YORK), "-14d", NEW_YORK)
    assert due == utc("2026-10-27T04:00")  # midnight EDT


# -- next_allowed ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "expected"), [
    ("2026-03-03T10:00", "2026-03-03T10:00"),  # Tuesday, daytime: allowed
    ("2026-03-03T19:59", "2026-03-03T19:59"),
    ("2026-03-03T20:00", "2026-03-04T08:00"),  # the window starts at 20:00
    ("2026-03-03T23:30", "2026-03-04T08:00"),  # before midnight: tomorrow's 08:00
    ("2026-03-04T00:00", "2026-03-04T08:00"),
    ("2026-03-04T07:59", "2026-03-04T08:00"),  # after midnight: today's 08:00
    ("2026-03-04T08:00", "2026-03-04T08:00"),  # the end is allowed
])
def test_quiet_hours_crossing_midnight(start: str, expected: str) -> None:
    got = next_allowed(local(start, BERLIN), BERLIN, NIGHT, weekends=frozenset())
    assert got == local(expected, BERLIN)


@pytest.mark.parametrize(("start", "expected"), [
    ("2026-03-03T11:59", "2026-03-03T11:59"),
    ("2026-03-03T12:00", "2026-03-03T13:00"),
    ("2026-03-03T12:30", "2026-03-03T13:00"),
    ("2026-03-03T13:00", "2026-03-03T13:00"),
    ("2026-03-03T23:00", "2026-03-03T23:00"),
    ("2026-03-04T03:00", "2026-03-04T03:00"),
])
def test_quiet_hours_not_crossing_midnight(start: str, expected: str) -> None:
    got = next_allowed(local(start, NEW_YORK), NEW_YORK, LUNCH, weekends=frozenset())
    assert got == local(expected, NEW_YORK)


@pytest.mark.parametrize(("start", "window", "expected"), [
    ("2026-03-07T10:00", NIGHT, "2026-03-09T08:00"),  # Saturday -> Monday after the quiet night
    ("2026-03-08T23:00", NIGHT, "2026-03-09T08:00"),  # Sunday night
    ("2026-03-06T21:00", NIGHT, "2026-03-09T08:00"),  # Friday night runs into the weekend
    ("2026-03-06T19:00", NIGHT, "2026-03-06T19:00"),  # Friday evening is allowed
    ("2026-03-07T10:00", None, "2026-03-09T00:00"),  # weekends only: Monday midnight
    ("2026-03-07T10:00", LUNCH, "2026-03-09T00:00"),
    ("2026-03-09T12:15", LUNCH, "2026-03-09T13:00"),  # a weekday is not affected
])
def test_weekends_are_quiet(start: str, window: tuple[time, time] | None, expected: str) -> None:
    got = next_allowed(local(start, BERLIN), BERLIN, window, weekends=SAT_SUN)
    assert got == local(expected, BERLIN)


def test_weekends_are_allowed_when_not_quiet() -> None:
    saturday = local("2026-03-07T10:00", BERLIN)
    assert next_allowed(saturday, BERLIN, NIGHT, weekends=frozenset()) == saturday
    assert next_allowed(saturday, BERLIN, None, weekends=frozenset()) == saturday


def test_quiet_weekends_are_the_policys_own_weekend() -> None:
    """Found by an audit of issue 2: with `working_days: {weekend: [friday, saturday]}` a Friday message went at
    once and a Sunday one waited for Monday; the roadmap already kept the declared weekend."""
    jerusalem = ZoneInfo("Asia/Jerusalem")
    policy = Policy.model_validate({"quiet_hours": {"start": "20:00", "end": "08:00", "weekends": True},
                                    "working_days": {"weekend": ["friday", "saturday"]}})
    assert policy.quiet_weekdays == frozenset({4, 5})
    friday, sunday = local("2026-02-06T10:00", jerusalem), local("2026-02-08T10:00", jerusalem)
    assert next_allowed(friday, jerusalem, NIGHT, policy.quiet_weekdays) == local("2026-02-08T08:00", jerusalem)
    assert next_allowed(sunday, jerusalem, NIGHT, policy.quiet_weekdays) == sunday
    assert Policy.model_validate({"quiet_hours": {"start": "20:00", "end": "08:00"},
                                  "working_days": {"weekend": ["friday"]}}).quiet_weekdays == frozenset()
    assert Policy.model_validate({"quiet_hours": {"start": "20:00", "end": "08:00", "weekends": True}}
                                 ).quiet_weekdays == SAT_SUN


def test_weekends_are_in_the_recipients_timezone() -> None:
    # Friday 23:30 in New York is already Saturday in Berlin
    friday_ny = local("2026-03-06T23:30", NEW_YORK)
    assert next_allowed(friday_ny, NEW_YORK, None, weekends=SAT_SUN) == friday_ny
    assert next_allowed(friday_ny, BERLIN, None, weekends=SAT_SUN) == local("2026-03-09T00:00", BERLIN)


@pytest.mark.parametrize(("start", "tz", "weekends", "expected"), [
    # the night of each change ends at 08:00 local in the new offset
    ("2026-03-28T21:00", BERLIN, False, "2026-03-29T06:00"),  # Sat CET -> Sun 08:00 CEST
    ("2026-10-24T21:00", BERLIN, False, "2026-10-25T07:00"),  # Sat CEST -> Sun 08:00 CET
    ("2026-03-07T21:00", NEW_YORK, False, "2026-03-08T12:00"),  # Sat EST -> Sun 08:00 EDT
    ("2026-10-31T21:00", NEW_YORK, False, "2026-11-01T13:00"),  # Sat EDT -> Sun 08:00 EST
    # with weekends quiet: Monday 08:00
    ("2026-03-27T21:00", BERLIN, True, "2026-03-30T06:00"),
    ("2026-10-23T21:00", BERLIN, True, "2026-10-26T07:00"),
    ("2026-03-06T21:00", NEW_YORK, True, "2026-03-09T12:00"),
    ("2026-10-30T21:00", NEW_YORK, True, "2026-11-02T13:00"),
    # in the middle of the changed night
    ("2026-03-29T03:30", BERLIN, False, "2026-03-29T06:00"),
    ("2026-11-01T01:30", NEW_YORK, False, "2026-11-01T13:00"),
])
def test_quiet_hours_across_dst_changes(start: str, tz: ZoneInfo, weekends: bool, expected: str) -> None:
    got = next_allowed(local(start, tz), tz, NIGHT, weekends=SAT_SUN if weekends else frozenset())
    assert got == utc(expected)
    assert got.astimezone(tz).time() == time(8, 0)


@pytest.mark.parametrize(("start", "tz", "expected"), [
    ("2026-03-29T01:00", BERLIN, "2026-03-29T01:00"),  # 02:00 CET is 03:00 CEST: past 02:30 on the clock
    ("2026-03-29T00:59:30", BERLIN, "2026-03-29T01:00"),
    ("2026-03-28T23:00", BERLIN, "2026-03-29T01:00"),
    ("2026-03-08T04:00", NEW_YORK, "2026-03-08T07:00"),  # 23:00 EST; 02:00 EST is 03:00 EDT
])
def test_a_window_ending_in_a_dst_gap_ends_when_the_clock_jumps_over_it(start: str, tz: ZoneInfo,
                                                                        expected: str) -> None:
    """02:30 does not exist that night: the window ends at the jump, the first time the clock shows later than
    its end (an audit on 2026-12-04: it ended half an hour past the jump, at 03:30, as a wait's ``at`` does)."""
    window = (time(22, 0), time(2, 30))
    got = next_allowed(utc(start), tz, window, weekends=frozenset())
    assert got == utc(expected)
    assert got.astimezone(tz).time() == time(3, 0)
    assert next_allowed(got - timedelta(seconds=1), tz, window, weekends=frozenset()) == got


@pytest.mark.parametrize(("start", "expected"), [
    ("2026-11-01T06:10", "2026-11-01T06:30"),  # the second 01:10 (EST): quiet until the second 01:30
    ("2026-11-01T05:10", "2026-11-01T05:30"),  # the first 01:10 (EDT): until the first 01:30
    ("2026-11-01T05:45", "2026-11-01T05:45"),  # 01:45 EDT: past the end on the clock
    ("2026-11-01T06:00", "2026-11-01T06:30"),  # 01:00 EST: the clock is back inside the window
    ("2026-11-01T06:30", "2026-11-01T06:30"),
])
def test_a_window_ending_in_a_repeated_hour_ends_when_the_clock_shows_its_end(start: str, expected: str) -> None:
    """The clocks go back at 02:00 EDT: 01:00-01:59 is shown twice. By the clock each is inside 23:00-01:30
    (an audit on 2026-12-04: a message at the second 01:10 went at once, in quiet hours)."""
    window = (time(23, 0), time(1, 30))
    assert next_allowed(utc(start), NEW_YORK, window, weekends=frozenset()) == utc(expected)


def test_a_zero_length_window_is_never_quiet() -> None:
    t = local("2026-03-03T20:00", BERLIN)
    assert next_allowed(t, BERLIN, (time(20, 0), time(20, 0)), weekends=frozenset()) == t


def test_next_allowed_returns_utc_and_is_idempotent() -> None:
    for start in ("2026-03-03T21:00", "2026-03-07T10:00", "2026-03-28T23:00", "2026-10-31T23:59"):
        got = next_allowed(local(start, BERLIN), BERLIN, NIGHT, weekends=SAT_SUN)
        assert got.utcoffset() == timedelta(0)
        assert got >= local(start, BERLIN)
        assert next_allowed(got, BERLIN, NIGHT, weekends=SAT_SUN) == got


def test_next_allowed_is_never_before_the_instant_in_a_repeated_hour() -> None:
    """The second 01:15 of 2026-11-01 (EST) comes after 01:30 EDT: never go back to that earlier end."""
    window = (time(20, 0), time(1, 30))
    second = utc("2026-11-01T06:15")
    for given in (second, second.astimezone(NEW_YORK)):
        got = next_allowed(given, NEW_YORK, window, weekends=frozenset())
        assert got >= second


def test_quiet_hours_are_in_the_recipients_timezone() -> None:
    t = utc("2026-03-03T21:00")  # 22:00 in Berlin, 16:00 in New York
    assert next_allowed(t, NEW_YORK, NIGHT, weekends=frozenset()) == t
    assert next_allowed(t, BERLIN, NIGHT, weekends=frozenset()) == local("2026-03-04T08:00", BERLIN)


def test_is_quiet() -> None:
    assert is_quiet(local("2026-03-03T21:00", BERLIN), BERLIN, NIGHT, weekends=frozenset())
    assert not is_quiet(local("2026-03-03T09:00", BERLIN), BERLIN, NIGHT, weekends=frozenset())
    assert is_quiet(local("2026-03-07T12:00", BERLIN), BERLIN, None, weekends=SAT_SUN)
    assert not is_quiet(local("2026-03-07T12:00", BERLIN), BERLIN, None, weekends=frozenset())
    assert is_quiet(local("2026-03-03T12:00", NEW_YORK), NEW_YORK, LUNCH, weekends=frozenset())
