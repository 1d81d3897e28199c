"""Hostile values in events (issue 11): refused at decoding with a code and a reason, quickly."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from wayfinder.journeys.events import DecodeError, decode_event

LIMIT_S = 5.0


def raw(data: dict[str, Any], *, etype: str = "hris.employee.upserted", when: str = "2026-03-02T09:00:00Z") -> str:
    return json.dumps({"specversion": "1.0", "id": "e-1", "source": "tests", "type": etype, "time": when,
                       "subject": "E1", "data": data})


def refused(text: str | bytes) -> DecodeError:
    started = time.perf_counter()
    with pytest.raises(DecodeError) as info:
        decode_event(text)
    assert time.perf_counter() - started < LIMIT_S
    return info.value


@pytest.mark.parametrize(("etype", "data", "field"), [
    ("hris.employee.hired", {"start_date": "0001-01-01"}, "data.start_date"),
    ("hris.employee.hired", {"start_date": "9999-12-30"}, "data.start_date"),
    ("hris.leave.started", {"leave_type": "medical", "start_date": "2026-01-01", "expected_return_date": "9999-12-30"},
     "data.expected_return_date"),
    ("hris.employee.upserted", {"start_date": "1899-12-31"}, "data.start_date"),
    ("wayfinder.preferences.changed", {"paused_until": "9999-12-31T23:59:59+00:00"}, "data.paused_until"),
    ("hris.employee.upserted", {"preferences": {"paused_until": "9999-12-31T00:00:00Z"}},
     "data.preferences.paused_until"),
])
def test_dates_the_engine_cannot_schedule_are_refused(etype: str, data: dict[str, Any], field: str) -> None:
    error = refused(raw(data, etype=etype))
    assert error.code == "date_out_of_range"
    assert error.detail == f"{field}: a date outside 1900-01-01..2199-12-31, which Wayfinder cannot schedule"
    assert "9999" not in str(error) and "0001" not in str(error)  # the value is not repeated


@pytest.mark.parametrize("data", [
    {"contract_end": "9999-12-31"},  # Workday's "no end", beside a profile
    {"custom": {"ends": ["2026-01-01", "2200-01-01T00:00:00Z"]}},
    {"id": "E1", "email": "2200-01-01"},
    {"probation_end": "0001-01-01"},
])
def test_text_like_a_date_out_of_range_in_a_field_kept_as_text_is_kept(data: dict[str, Any]) -> None:
    """SPEC §2: fields beyond the known ones are kept. Such text was a dead letter (``date_out_of_range``) until
    2026-12-05, and the whole upsert with it; the engine reads a date only from the event's time and typed fields."""
    assert decode_event(raw(data)).data == data


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00", "1899-12-31T23:59:59Z"])
def test_event_times_at_the_edge_of_the_range_are_refused(when: str) -> None:
    error = refused(raw({}, when=when))
    assert (error.code, error.detail.split(":")[0]) == ("date_out_of_range", "time")


@pytest.mark.parametrize("value", ["1900-01-01", "2199-12-31", "2199-12-31T23:59:59+14:00", "0001 ok", "1-1-1",
                                   "call 0001-01-01", "12345-01-01"])
def test_dates_in_range_and_other_text_pass(value: str) -> None:
    assert decode_event(raw({"until": value})).data == {"until": value}


def test_invalid_utf8_inside_a_string_is_refused_not_replaced() -> None:
    line = raw({"given_name": "X"}).encode("utf-8").replace(b'"X"', b'"\xff\xfe"')
    error = refused(line)
    assert error.code == "invalid_json"
    assert error.detail.startswith("invalid UTF-8 at byte ")


def test_an_escaped_lone_surrogate_is_refused() -> None:
    error = refused(raw({"given_name": "X"}).replace('"X"', '"\\udc80"'))
    assert error.detail == "data.given_name: a lone surrogate (\\udXXX) is not Unicode text"


def test_duplicate_keys_are_refused_at_any_depth() -> None:
    top = raw({}).replace('"subject": "E1"', '"subject": "E1", "subject": "E2"')
    inner = raw({"a": 1}).replace('"a": 1', '"a": 1, "a": 2')
    assert refused(top).detail == "the key 'subject' appears twice in one object"
    assert refused(inner).detail == "keys 1 and 2 of one object are the same key"


EMAIL = "wilhelmina.zyx@example.com"


@pytest.mark.parametrize(("etype", "data", "detail"), [
    ("hris.correction", {"original": {"source": "s", "id": "x"}, "action": "amend", "changes": {EMAIL: {"old": 1}}},
     "hris.correction: data.changes.(key 1).new: Field required"),
    ("hris.correction", {"original": {"source": "s", "id": "x"}, "action": "amend",
                         "changes": {"email": {"old": 1}, EMAIL: {"old": 1}}},
     "hris.correction: data.changes.email.new: Field required; data.changes.(key 2).new: Field required"),
    ("wayfinder.review.decided", {"message_id": "m", "decision": "approve", "reviewer_id": "E9",
                                  "edits": {"text": "t", "Wilhelmina Zyx": "x"}},
     "wayfinder.review.decided: data.edits.(key 2): Extra inputs are not permitted"),
    ("hris.employee.upserted", {"job_level": {EMAIL: 1}},
     "hris.employee.upserted: data.job_level.str: Input should be a valid string; data.job_level.int: "
     "Input should be a valid integer"),
])
def test_a_key_that_is_no_field_is_named_by_its_place_not_its_text(etype: str, data: dict[str, Any],
                                                                     detail: str) -> None:
    error = refused(raw(data, etype=etype))
    assert (error.code, error.detail) == ("invalid_data", detail)


def test_keys_that_are_personal_data_are_never_in_a_reason() -> None:
    """SPEC §9: a dead letter's reason outlives the person's erasure; a key may be their address or name."""
    twice = raw({"id": "E1", "emergency_contacts": {"c": 1}}).replace('"c": 1', f'"{EMAIL}": 1, "x": 2, "{EMAIL}": 3')
    assert refused(twice).detail == "keys 1 and 3 of one object are the same key"
    dated = refused(raw({"custom": {EMAIL: ["\udc80"]}}))
    assert dated.detail.startswith("data.(key 1).(key 1)[0]: a lone surrogate")
    extension = refused(raw({}).replace('"subject"', '"wilhelmina.zyx": "x", "subject"'))
    assert extension.detail.startswith("(key 6): an extension attribute's name is lower-case letters and digits")
    for error in (refused(twice), dated, extension):
        assert "wilhelmina" not in str(error).lower()


@pytest.mark.parametrize("number", ["1e999", "-1e999", "NaN", "Infinity", "-Infinity"])
def test_numbers_that_are_not_finite_are_refused(number: str) -> None:
    error = refused(raw({"score": 1}).replace('"score": 1', f'"score": {number}'))
    assert error.code == "invalid_json"


@pytest.mark.parametrize(("attribute", "value"), [
    ("subject", "E1\nINFO wayfinder: a line of someone else's"),
    ("subject", "E1\u0000"),
    ("type", "hris.dependent.added\r\n"),
    ("id", "wd-1\t2"),
    ("source", "hris/\u0085workday"),
])
def test_a_control_character_in_an_attribute_is_not_a_cloudevent(attribute: str, value: str) -> None:
    """CloudEvents 1.0 disallows U+0000-U+001F and U+007F-U+009F in its strings. An audit on 2026-12-06: a subject
    with a line break was taken as an employee id (a person's state keyed by it, the id in the logs)."""
    event = json.loads(raw({"given_name": "Ana"}))
    event[attribute] = value
    error = refused(json.dumps(event))
    assert error.code == "invalid_cloudevent"
    assert str(error.detail).startswith(f"{attribute}: Value error, holds a control character")
    assert value.strip() not in str(error)


@pytest.mark.parametrize("number", ["9" * 309, "-" + "9" * 400, "1" + "0" * 1000, "9" * 5000])
def test_an_integer_too_large_for_a_float_is_refused_as_1e999_is(number: str) -> None:
    """An audit on 2026-12-06: such an integer was kept, and CEL could not take the object holding it, so every
    condition over the event's data failed (counted as false) though none read the number."""
    error = refused(raw({"score": 1}).replace('"score": 1', f'"score": {number}'))
    assert (error.code, error.detail) == ("invalid_json", "a number is too large to be a float (such as 1e999)")


@pytest.mark.parametrize("number", [2**64, -(2**63) - 1, int("9" * 308), 10**308])
def test_a_large_integer_a_float_holds_is_kept(number: int) -> None:
    assert decode_event(raw({"score": number})).data["score"] == number


def test_a_large_event_of_many_dates_decodes_in_bounded_time() -> None:
    data = {f"d{i}": "2026-01-01" for i in range(20_000)} | {"text": "x" * 500_000}
    started = time.perf_counter()
    assert decode_event(raw(data)).data["d0"] == "2026-01-01"
    assert time.perf_counter() - started < LIMIT_S
