"""The core's shortcuts (issue 10) give the answers of the long way round."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, date, datetime, timezone
from typing import Any

import networkx as nx
import pytest
from babel import dates
from hypothesis import example, given, settings
from hypothesis import strategies as st
from jinja2 import Undefined
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import AwareDatetime, BaseModel, TypeAdapter, ValidationError

from tests.support import bundled_defs
from wayfinder.catalog import graph
from wayfinder.catalog.calendar import WorkCalendar
from wayfinder.journeys import events, layout, templates
from wayfinder.journeys.events import DATA_MODELS
from wayfinder.journeys.i18n import Reader
from wayfinder.journeys.model import Journey
from wayfinder.journeys.profile import Profile, apply_event, changes_profile, stdlib_offset
from wayfinder.journeys.records import Message
from wayfinder.journeys.state import EmployeeState
from wayfinder.journeys.steps.context import Run
from wayfinder.scale import simulate
from wayfinder.vocabulary import iso, localized

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


@settings(max_examples=400)
@given(st.dictionaries(_TEXT, _JSON, max_size=5), st.booleans(), st.sampled_from([None, 1]),
       st.sampled_from([(",", ":"), (", ", ": "), (" , ", " :  ")]))
def test_the_look_at_the_text_passes_only_what_the_look_at_the_values_passes(
        obj: dict[str, Any], ascii_only: bool, indent: int | None, separators: tuple[str, str]) -> None:
    try:
        text = json.dumps(obj, ensure_ascii=ascii_only, indent=indent, separators=separators)
    except UnicodeEncodeError:
        return
    if events._clean_as_written(text):
        assert events._plainly_clean(json.loads(text))


def test_the_look_at_the_text_sends_escapes_and_text_that_is_not_ascii_the_long_way() -> None:
    assert events._clean_as_written('{"a": ["2026-01-05", {"b": 1}], "c": null, "n": 18991231, "d": "9999-12-31"}')
    assert not events._clean_as_written('{"a": "Zo\\u00eb"}')  # an escape: what it stands for is not in the text
    assert not events._clean_as_written('{"a": "Zoë"}')
    line = '{"specversion": "1.0", "id": "e1", "source": "s", "type": "hris.employee.hired", "subject": "E1", ' \
           '"time": "2026-03-02T09:15:00Z", "data": {"start_date": "\\u0030001-01-01"}}'
    with pytest.raises(events.DecodeError) as caught:  # the escape spells 0001-01-01 in a typed date: refused
        events.decode_event(line)
    assert caught.value.code == "date_out_of_range"


def test_the_quick_look_sends_text_that_is_not_ascii_to_the_full_check() -> None:
    assert events._plainly_clean({"a": ["2026-01-05", {"b": 1}], "c": None, "d": "9999-12-31"})
    assert not events._plainly_clean({"a": "Zoë"})  # not ASCII: the full check looks at it
    assert not events._plainly_clean({"Zoë": 1})


@pytest.mark.parametrize("written", ["2026-03-02T09:15:00Z", "2026-03-02T09:15:00.250+05:30",
                                     "2026-03-02T09:15:00-08:00", "2026-03-02t09:15:00z", "2026-03-02T09:15:00+00:00"])
def test_an_events_time_is_the_instant_and_offset_written_in_the_standard_librarys_timezone(written: str) -> None:
    line = json.dumps({"specversion": "1.0", "id": "e1", "source": "s", "type": "x.y", "subject": "E1",
                       "time": written})
    event = events.decode_event(line)
    as_pydantic = TypeAdapter(AwareDatetime).validate_python(written)
    assert type(event.time.tzinfo) is timezone  # not pydantic's own type, slow to compare
    assert event.time == as_pydantic
    assert event.time.utcoffset() == as_pydantic.utcoffset()
    assert event.time.isoformat() == as_pydantic.isoformat()


class _Pydantics(BaseModel):
    """An event's ``time`` read the long way: pydantic's parser, then the standard library's ``timezone``."""

    time: AwareDatetime


_TIMES = st.builds(
    "{}-{:02d}-{:02d}{}{:02d}:{:02d}:{:02d}{}{}".format,
    st.sampled_from(["0000", "0001", "1970", "2026", "2028", "9999"]), st.integers(0, 13), st.integers(0, 32),
    st.sampled_from(["T", "t", " "]), st.integers(0, 25), st.integers(0, 60), st.integers(0, 61),
    st.sampled_from(["", ".5", ".123456", ".1234567", ".9999995", ".000000001"]),
    st.one_of(st.sampled_from(["Z", "z", "+00:00", "-00:00", "+23:59", "-23:59", "+24:00", "+05:30", "-08:00"]),
              st.builds("{}{:02d}:{:02d}".format, st.sampled_from("+-"), st.integers(0, 25), st.integers(0, 60))))


@settings(max_examples=300)
@given(_TIMES)
@example("0001-01-01T00:00:00+00:60")  # the standard library reads it as +01:00, pydantic refuses it
@example("2026-01-01T10:00:00-05:99")
@example("2026-01-01T10:00:00+23:59")
def test_an_events_time_read_by_the_standard_library_is_pydantics_reading(written: str) -> None:
    """Text the standard library reads gives the instant and offset pydantic reads; text it cannot read gives
    pydantic's own message, as before, but for a leap second and an offset out of range, which say so (since
    2026-12-04: pydantic said "unexpected extra characters")."""
    event = {"specversion": "1.0", "id": "e1", "source": "s", "type": "x.y", "subject": "E1", "time": written}
    try:
        expected = stdlib_offset(_Pydantics.model_validate({"time": written}).time)
    except ValidationError as e:
        with pytest.raises(ValidationError) as got:
            events.CloudEvent.model_validate(event)
        offset = written[-6:] if written[-1] not in "Zz" else "+00:00"
        if written[17:19] == "60":
            assert "a leap second (:60) cannot be kept" in got.value.errors()[0]["msg"]
        elif int(offset[1:3]) > 23 or int(offset[4:]) > 59:
            assert "the offset is out of range" in got.value.errors()[0]["msg"]
        else:
            assert got.value.errors()[0]["msg"] == e.errors()[0]["msg"]
        return
    time = events.CloudEvent.model_validate(event).time
    assert type(time.tzinfo) is timezone
    assert (time, time.utcoffset(), time.isoformat()) == (expected, expected.utcoffset(), expected.isoformat())


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
    written = dates.format_date(day, fmt, locale=reader.locale)
    if locale == "fr-FR" and day.day == 1 and fmt not in ("short", "EEEE"):  # "1er mars" (README "Languages")
        written = written.replace("1 ", "1er ", 1)
    assert reader.date(day.isoformat(), fmt) == written
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


# -- issue 10, second round (README "Core speed") ---------------------------------------------------------------
_NAMES = st.one_of(st.sampled_from(["items", "get", "keys", "values", "pop", "copy", "_x", "__class__", "__len__",
                                    "format", "title", "name", "given_name", "mro", ""]),
                   st.text(max_size=6))


def _outcome(call: Any) -> tuple[str, Any]:
    """What a sandbox lookup gives: the value, an undefined (by its name), or the refusal."""
    try:
        value = call()
    except SecurityError as e:
        return ("refused", str(e))
    except TemplateError as e:  # a strict undefined printed
        return (type(e).__name__, str(e))
    if isinstance(value, Undefined):
        return ("undefined", value._undefined_name)
    return ("value", value)


@settings(max_examples=400)
@given(st.dictionaries(_NAMES, st.one_of(st.integers(), st.text(max_size=3)), max_size=5), _NAMES)
def test_a_dict_key_in_the_sandbox_is_what_jinja_finds(obj: dict[str, Any], attribute: str) -> None:
    env = templates.TEXT_ENV
    ours = _outcome(lambda: env.getattr(obj, attribute))
    theirs = _outcome(lambda: ImmutableSandboxedEnvironment.getattr(env, obj, attribute))
    assert ours[0] == theirs[0]
    if ours[0] != "value" or not callable(ours[1]):  # a bound method is a new object on each lookup
        assert ours == theirs


_SOURCES = ["{% for i in range(3) %}{{ i }}{% endfor %} {{ employee.name }}",
            "{{ dict(a=1).a }} {{ employee.items }} {{ employee.get }}",
            "{{ employee.name | default('x') }} {% if employee.missing %}no{% endif %}{{ resources | length }}"]


@settings(max_examples=60)
@given(st.sampled_from(_SOURCES), st.booleans(),
       st.fixed_dictionaries({}, optional={"name": st.text(max_size=5), "items": st.integers()}))
def test_a_template_with_plain_globals_renders_as_one_with_jinjas(source: str, html: bool,
                                                                   employee: dict[str, Any]) -> None:
    kept = templates._template(source, html)
    assert type(kept.globals) is dict
    fresh = (templates.HTML_ENV if html else templates.TEXT_ENV).from_string(source)  # Jinja's ChainMap
    context = {"employee": employee, "resources": [1, 2]}
    token = templates._budget.set(templates._Budget(templates.STEP_BUDGET, templates.RENDER_SECONDS))
    try:
        assert _outcome(lambda: "".join(kept.generate(context))) == _outcome(
            lambda: "".join(fresh.generate(context)))
    finally:
        templates._budget.reset(token)


def _all_dates(model: BaseModel, prefix: str) -> None:
    """The date check the long way: every declared field."""
    for name, value in vars(model).items():
        if isinstance(value, date):
            day = value.date() if isinstance(value, datetime) else value
            if not events.EARLIEST <= day <= events.LATEST:
                code = "date_out_of_range"
                raise events.DecodeError(code, f"{prefix}{name}")


_MODELS: list[type[BaseModel]] = sorted({events.CloudEvent, *DATA_MODELS.values()}, key=lambda m: m.__name__)
_DATE_LIKE = ["2026-01-05", "0001-01-01", "9999-12-31T00:00:00Z", "2026-01-05T09:00:00+02:00", 0, 1e11, -1e11,
              "20:00-08:00", "Europe/Berlin", 1, -1]


@pytest.mark.parametrize("model", _MODELS, ids=[m.__name__ for m in _MODELS])
def test_every_field_that_can_hold_a_date_is_checked(model: type[BaseModel]) -> None:
    for name in model.model_fields:
        for value in _DATE_LIKE:
            try:
                made = model.model_validate({name: value}, strict=False)
            except ValidationError:
                continue
            if isinstance(getattr(made, name), date):
                assert name in events._date_fields(model), name


@settings(max_examples=300)
@given(st.sampled_from(sorted(DATA_MODELS)), st.dictionaries(
    st.sampled_from(["date", "start_date", "return_date", "expected_return_date", "paused_until", "time", "x",
                     "leave_type", "relationship", "change", "new_manager_id", "new_location", "task_id"]),
    st.sampled_from([*_DATE_LIKE, "parental", "child", "promotion", "M1", "Berlin", "t1"]), max_size=6))
def test_the_date_check_of_the_fields_that_can_hold_dates_is_the_check_of_every_field(
        event_type: str, data: dict[str, Any]) -> None:
    try:
        made = DATA_MODELS[event_type].model_validate(data)
    except ValidationError:
        return
    outcomes: list[str | None] = []
    for check in (events._check_dates, _all_dates):
        try:
            check(made, "data.")
            outcomes.append(None)
        except events.DecodeError as e:
            outcomes.append(e.code)
    assert outcomes[0] == outcomes[1]


def test_working_days_asked_out_of_order_from_one_start_are_counted_ones() -> None:
    calendar = WorkCalendar()
    start = date(2031, 12, 19)  # a Friday before the holidays: the walk goes over weekends and public holidays
    asked = [40, 3, 1, 77, 2, 41, 0, -3]
    counted = [d for d in (date.fromordinal(start.toordinal() + i) for i in range(200))
               if calendar.is_working_day(d, "DE")]
    assert [calendar.working_day(start, n, "DE") for n in asked] == [counted[max(n, 1) - 1] for n in asked]
    every_day = WorkCalendar(weekend=("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
    assert every_day.working_day(start, 0, "DE") == date(2031, 12, 18)  # as before: no working day to find


_ITEM_REGEX_ONLY = re.compile(r"^\s*[-*]\s+(.*)$")


@settings(max_examples=400)
@given(st.text(st.sampled_from(["-", "*", " ", "\t", "\n", "\u2003", "\x1c", "a", "b", "\\"]), max_size=30))
def test_list_items_are_found_as_the_pattern_finds_them(text: str) -> None:
    for line in (raw.strip() for raw in text.splitlines()):
        if line:
            quick = _ITEM_REGEX_ONLY.match(line) if line[0] in "-*" else None
            full = _ITEM_REGEX_ONLY.match(line)
            assert (quick and quick.group(1)) == (full and full.group(1))
    assert layout.blocks(text) == layout.blocks(text)  # and the layout reads it without failing


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(["en", "de", "de-DE", "de_AT", "fr-FR", "FR", "ja"]), st.text(max_size=4),
                       max_size=4),
       st.sampled_from(["en", "de-CH", "de-DE", "fr", "fr-CA", "ja-JP", "zz"]))
def test_a_kept_title_is_the_one_looked_up(titles: dict[str, str], locale: str) -> None:
    item = {"id": "r1", "title": "Default", "titles": titles}
    title = localized(titles, locale)
    assert templates._title_in(item, locale) == ({**item, "title": title} if isinstance(title, str) else item)
    assert templates._title_in(item, locale) == templates._title_in(item, locale)  # the second time from what is kept


def _line_the_long_way(data: dict[Any, Any]) -> str:
    """``json.dumps``'s line, the three characters ``str.splitlines`` breaks at written as their escapes (as every
    JSON-lines file of a run writes them since 2026-12-06: ``jsonrows.one_line``)."""
    text = json.dumps(data, ensure_ascii=False, default=lambda v: iso(v) if isinstance(v, datetime) else str(v))
    return "".join(f"\\u{ord(c):04x}" if c in "\x85\u2028\u2029" else c for c in text) + "\n"


_LONG = st.text(min_size=190, max_size=260).map(lambda t: t + '"\\\n\t\x00\x1f\x7f\u2028é\U0001F600</p>')
_VALUES = st.one_of(_LONG, st.text(max_size=8), st.none(), st.integers(), st.floats(allow_nan=False),
                    st.lists(st.text(max_size=3), max_size=3), st.datetimes(timezones=st.just(UTC)),
                    st.dictionaries(st.text(max_size=3), st.one_of(_LONG, st.integers()), max_size=2))


@settings(max_examples=300)
@given(st.dictionaries(st.one_of(st.text(max_size=6), st.integers()), _VALUES, max_size=8))
def test_a_line_is_what_json_dumps_writes(data: dict[Any, Any]) -> None:
    assert simulate._line(data) == _line_the_long_way(data)


def test_a_message_line_is_what_json_dumps_writes() -> None:
    at = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    message = Message(message_id="m-1", employee_id="E1", recipient_id="E1", journey_id="j", journey_version=1,
                      step_id="s", channel="email", status="sent", scheduled_for=at, created_at=at, subject="Hi",
                      text="Zoë\n" * 80, html='<p style="x">Zoë &amp; \\ </p>' * 20, resources=["a", "b"])
    assert simulate._line(message) == _line_the_long_way(message.model_dump(mode="json"))
    assert simulate._text("\udc80" * 300) == json.dumps("\udc80" * 300, ensure_ascii=False)  # not Unicode: as before


@settings(max_examples=200)
@given(st.dictionaries(st.sampled_from(["de", "de-DE", "fr-FR", "en-GB", "ja"]), st.text(min_size=1, max_size=4),
                       max_size=3),
       st.lists(st.sampled_from(["de", "de-AT", "fr", "en", "en-GB", "zz", None]), min_size=1, max_size=6))
def test_a_kept_journey_name_is_the_one_looked_up(names: dict[str, str], locales: list[str | None]) -> None:
    journey = Journey.model_validate({
        "apiVersion": "wayfinder/v1", "kind": "Journey", "id": "j", "name": "Plain", "names": names,
        "owner": "o@example.com", "trigger": {"event": "hris.employee.hired"},
        "steps": [{"id": "s", "end": {}}]})
    for locale in locales:
        assert journey.localized_name(locale) == (localized(names, locale) or "Plain")


_LINE_PARTS = st.sampled_from(["http", "https://", "://", "x.org", " ", ":", " - ", "a", "<", "&", '"', ".", ")",
                               "Zoë", "\u2003"])


@pytest.mark.timeout(10)  # each took from 25 s to hours with the regexes layout had (linear now: milliseconds)
@pytest.mark.parametrize("text", ["a" + " " * 80_000 + "b", "a" + " " * 80_000 + "b http", "T: " + "http://" * 20_000,
                                  "x:" + "http://" * 20_000 + " y"])
def test_a_list_item_from_event_data_is_read_in_time_linear_in_its_length(text: str) -> None:
    # An event's text printed in a template can become a list item ("Engineer\n- a<spaces>b"); the title-and-URL
    # regex backtracked over every run of spaces, outside the render's clock, holding a partition for minutes.
    title_and_url = layout._titled(text)
    assert title_and_url == (("T", "http://" * 20_000) if text.startswith("T:") else None)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("markup", ["<html><head>" + "<head>" * 30_000, "</head>" + "<head>" * 30_000,
                                    "<html>" + "<body>" * 30_000, "<html><body>" + "<!doctype" * 30_000])
def test_a_whole_document_is_unwrapped_in_time_linear_in_its_length(markup: str) -> None:
    body = layout.body_of(markup)  # an author's or reviewer's html: `(.*)</body>` and `<head>.*?</head>` per tag
    assert "<html" not in body and "<body" not in body and "<head" not in body
    # no ">": not a tag, kept as written; a stray closing tag is no wrapper
    assert body == ("<!doctype" * 30_000 if "doctype" in markup else "</head>" if markup[1] == "/" else "")


@pytest.mark.timeout(10)  # 29 s when each closing link joined every part since its start
def test_a_reviewers_html_of_deeply_nested_links_is_read_in_linear_time() -> None:
    # A reviewer's edited HTML part alone gives the text part (html_to_text): links nested 100,000 deep.
    text = layout.html_to_text('<a href="https://x.example/a">' * 100_000 + "x" + "</a>" * 100_000)
    assert text.startswith("x (https://x.example/a) (https://x.example/a)")
    assert text.count("https://x.example/a") == 100_000
    assert layout.html_to_text('<a href="https://x.example/a">https://x.example/a</a>') == "https://x.example/a"


# The titled-item regex layout had (it backtracked over runs of spaces): what ``layout._titled`` finds by hand.
_TITLED = re.compile(r"^(?P<title>.+?)\s*(?::|\s-)\s*(?P<url>https?://[^\s<>\"']+)\s*$")


@settings(max_examples=400)
@given(st.lists(_LINE_PARTS, max_size=12).map("".join))
def test_a_line_without_http_is_escaped_as_the_link_finder_escapes_it(text: str) -> None:
    out, last = [], 0
    for m in layout._URL.finditer(text):  # the long way: every URL a link
        out.append(html.escape(text[last:m.start()]))
        out.append(layout._link(m.group()))
        last = m.end()
    out.append(html.escape(text[last:]))
    assert layout._inline(text) == "".join(out)
    titled = _TITLED.match(text.strip())
    long_way = (layout._link(titled["url"], titled["title"]) if titled and not layout._URL.search(titled["title"])
                else layout._inline(text.strip()))
    assert layout._item(text.strip()) == long_way


@settings(max_examples=300)
@given(st.sampled_from(sorted(_CATALOG.resources)), st.fixed_dictionaries({}, optional={
    kind: st.one_of(st.sampled_from(["Engineering", "engineering", "Sales", "London", "Berlin", "berlin", "Paris",
                                     "Manager", "Engineering specialist", "Nowhere", "ß"]), st.integers())
    for kind in ("department", "location", "role")}))
def test_a_resource_is_close_to_what_the_graph_links_it_to(rid: str, employee: dict[str, Any]) -> None:
    r = _CATALOG.resources[rid]
    long_way = [(kind, employee[kind]) for kind in ("department", "location", "role")
                if isinstance(employee.get(kind), str)
                and _CATALOG.graph.has_edge(f"resource:{rid}", f"{kind}:{employee[kind].casefold()}")]
    assert _CATALOG.close_to(r, employee) == long_way


def test_a_runs_employee_is_the_profile_view_made_once() -> None:
    state = EmployeeState.new("E1")
    state.update_profile("hris.employee.upserted", {"given_name": "Ada", "country": "GB", "team": "A"},
                         datetime(2026, 1, 5, tzinfo=UTC))
    run = Run(bundled_defs(), state, datetime(2026, 1, 5, tzinfo=UTC), lambda _: None, None, [], lambda _: None)
    first = run.employee
    assert first == state.profile.view()
    assert run.employee is first  # one view per run, as when it was made up front


@settings(max_examples=200)
@given(st.sets(st.one_of(st.sampled_from(sorted(_CATALOG.resources)), st.sampled_from(["gone", "x"]))),
       st.fixed_dictionaries({}, optional={"locale": st.sampled_from(["de-DE", "en-IN", "fr"]),
                                           "country": st.sampled_from(["DE", "IN", "FR", "GB"]),
                                           "work_mode": st.sampled_from(["remote", "onsite"])}))
def test_a_delivered_alternative_rules_out_its_group_as_before(delivered: set[str], employee: dict[str, Any]) -> None:
    groups = {_CATALOG.resources[d].group for d in delivered if d in _CATALOG.resources} - {None}
    picked = _CATALOG._pick_from(_CATALOG._candidates(sorted(_CATALOG.topics)), employee, delivered, set(),
                                 graph.Selection())
    assert not {r.id for r, _ in picked} & delivered
    assert not {r.group for r, _ in picked if r.group is not None} & groups
    every_group = {r.group for r in _CATALOG.resources.values() if r.group is not None}
    assert {r.group for r, _ in picked if r.group is not None} <= every_group - groups
