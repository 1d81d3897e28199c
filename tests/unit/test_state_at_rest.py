"""The stored form of the states kept at rest (issue 10, README "State at rest"): compact, read back exactly, and a
state stored in full by the releases before it still reads as it did."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from pydantic_core import to_json

from tests.support import TESTS
from wayfinder.journeys.digest import DigestState
from wayfinder.journeys.profile import Profile
from wayfinder.journeys.state import EmployeeState, LeavePeriod, MailboxState, Slot, times_at_rest, unset
from wayfinder.streams.metrics import PendingReviews

MODELS: dict[str, type[EmployeeState | MailboxState | DigestState]] = {
    "EmployeeState": EmployeeState, "MailboxState": MailboxState, "DigestState": DigestState}
SETS = ("delivered", "mailboxes")  # set fields: their JSON order is the writing process's hash order
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def stored_in_full() -> list[tuple[str, str]]:
    """States as the release of 2026-11-30 (commit f4ed6e4, before this form) stored them, one per line: the model's
    name, a tab, the JSON. Three are from that release's run of the 8,000-employee ``org_load`` year, the others
    built to set every field (an erased-id record, empty states among them)."""
    text = (TESTS / "data" / "stored_states_2026-11-30.txt").read_text(encoding="utf-8")
    return [(name, raw) for name, raw in (line.split("\t", 1) for line in text.splitlines())]


ADDED_SINCE: dict[str, Any] = {"entered_by": {}, "timezone": None, "quiet_hours": None, "stale_from": None,
                               "gone": {}, "leave": None, "ratings": {}, "left_at": None, "finished_triggers": {},
                               "placing": None, "weekend_country": None}
"""Fields states have had since those were stored, with the value a state stored before reads them as."""


def whole(data: Any) -> Any:
    """JSON data with the set fields' lists sorted, to compare two JSON forms of one state."""
    if isinstance(data, dict):
        return {k: sorted(v) if k in SETS and isinstance(v, list) else whole(v) for k, v in data.items()}
    if isinstance(data, list):
        return [whole(v) for v in data]
    return data


def in_full(state: BaseModel) -> Any:
    """Every field of the state as JSON data, defaults included (the form stored before; the records inside it have
    one form)."""
    return whole(json.loads(to_json({name: getattr(state, name) for name in type(state).model_fields})))


@pytest.mark.parametrize(("name", "raw"), stored_in_full(), ids=lambda v: v if len(v) < 20 else "")
def test_a_state_stored_in_full_reads_as_it_was_written(name: str, raw: str) -> None:
    state = MODELS[name].model_validate_json(raw)
    stored = json.loads(raw)
    full = {k: v for k, v in in_full(state).items()  # what they did not have yet
            if k in stored or ADDED_SINCE.get(k, ...) != v}
    assert full == whole(json.loads(raw))  # every field as stored, nothing added, nothing lost
    again = MODELS[name].model_validate_json(state.model_dump_json())
    assert again == state and in_full(again) == in_full(state)
    assert len(state.model_dump_json().encode()) <= len(raw.encode())  # equal: a state with no default left


def test_the_stored_times_of_a_state_in_full_keep_their_offsets() -> None:
    raw = next(r for n, r in stored_in_full() if '"employee_id":"E9"' in r)
    state = EmployeeState.model_validate_json(raw)
    stored = json.loads(raw)["profile_times"]
    assert {k: v.isoformat().replace("+00:00", "Z") for k, v in state.profile_times.items()} == stored
    again = EmployeeState.model_validate_json(state.model_dump_json())
    assert {k: v.isoformat().replace("+00:00", "Z") for k, v in again.profile_times.items()} == stored


def test_a_state_leaves_out_what_holds_its_default() -> None:
    profile = '"profile":{"id":"E7","fields":{},"preferences":{},"attributes":{}}'  # the profile is whole
    assert EmployeeState.new("E7").model_dump_json() == f'{{"employee_id":"E7",{profile}}}'
    assert EmployeeState.erased_record("E7", T0).model_dump_json() == (
        f'{{"employee_id":"E7",{profile},"erased_at":"2026-03-02T09:30:00Z","forgotten":true}}')
    assert MailboxState(recipient_id="M8").model_dump_json() == '{"recipient_id":"M8"}'
    box = MailboxState(recipient_id="M8", slots=[Slot(at=T0, message_id="m-1")],
                       leave=LeavePeriod(leave_type="", start=T0))
    assert json.loads(box.model_dump_json()) == {
        "recipient_id": "M8", "slots": [{"at": "2026-03-02T09:30:00Z", "message_id": "m-1"}],
        "leave": {"leave_type": "", "start": "2026-03-02T09:30:00Z", "end": None, "timezone": "UTC",
                  "quiet_hours": None}}  # the records inside are whole: only the states leave out defaults
    assert DigestState(recipient_id="M8", paused_until=T0).model_dump_json() == (
        '{"recipient_id":"M8","paused_until":"2026-03-02T09:30:00Z"}')


@pytest.mark.parametrize("model", MODELS.values(), ids=MODELS.keys())
def test_every_field_with_a_default_is_left_out_at_it(model: type[BaseModel]) -> None:
    """A field added later leaves out its default too, or this fails: its default must be one ``unset`` tells."""
    for name, field in model.model_fields.items():
        if not field.is_required():
            assert field.exclude_if is unset, name
            assert unset(field.get_default(call_default_factory=True)), name


def test_profile_times_name_only_the_keys_whose_time_is_not_the_common_one() -> None:
    state = EmployeeState.new("E1")
    state.update_profile("hris.employee.upserted", {"given_name": "Ann", "email": "a@example.com",
                                                    "preferences": {"quiet_hours": "20:00-08:00"}, "shirt": "L"}, T0)
    later = T0 + timedelta(days=3)
    state.update_profile("hris.employee.upserted", {"email": None, "role": "lead"}, later)
    state.profile.fields["team"] = "x"  # in the profile with no time (a state built by hand)
    stored = json.loads(state.model_dump_json())
    assert stored["profile_times"] == {"*": "2026-03-02T09:30:00Z", "fields.team": None,
                                       "fields.email": "2026-03-05T09:30:00Z", "fields.role": "2026-03-05T09:30:00Z"}
    assert EmployeeState.model_validate_json(state.model_dump_json()).profile_times == state.profile_times


def test_times_at_rest_keep_times_as_they_are_when_no_key_of_the_profile_has_one() -> None:
    assert times_at_rest({}, ["fields.a"]) == {}
    assert times_at_rest({"fields.gone": T0}, []) == {"fields.gone": T0}


def test_stored_times_need_the_profile_they_were_stored_with() -> None:
    with pytest.raises(ValidationError, match="needs the valid profile"):
        EmployeeState.model_validate_json('{"employee_id":"E1","profile":{"fields":{}},'
                                          '"profile_times":{"*":"2026-03-02T09:30:00Z"}}')
    with pytest.raises(ValidationError, match=r"profile_times\n  Input should be a valid datetime"):
        EmployeeState.model_validate_json('{"employee_id":"E1","profile":{"id":"E1","fields":{"a":1}},'
                                          '"profile_times":{"*":null}}')


def test_only_states_with_a_held_review_are_decoded_by_the_review_count() -> None:
    reviews = PendingReviews()
    reviews.see("s:E1", b'{"employee_id":"E1", not JSON but no held message}')  # stored now: no key when empty
    reviews.see("s:E2", b'{"employee_id":"E2","awaiting_approval":{}, not JSON}')  # stored in full, none held
    assert reviews.count == 0
    full = next(r for n, r in stored_in_full() if '"employee_id":"E9"' in r)
    state = EmployeeState.model_validate_json(full)
    for value in (full.encode(), state.model_dump_json().encode()):
        reviews.see("s:E9", value)
    assert reviews.count == 2 and reviews.oldest == T0


def test_a_state_stored_with_one_entry_per_journey_reads_it_as_a_list() -> None:
    """Until 2026-12-06 ``entered_by`` kept the last entry's enrollment id alone; such a state keeps it."""
    old = EmployeeState.model_validate_json('{"employee_id":"E1","profile":{"id":"E1"},"entered_by":{"j":"e-1"}}')
    assert old.entered_by == {"j": ["e-1"]}
    assert EmployeeState.model_validate_json(old.model_dump_json()) == old


# -- any state reads back as it was --------------------------------------------------------------------------------
_KEY = st.text(st.characters(codec="utf-8"), max_size=6)
_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30))])
_TIME = st.builds(lambda us, z: (datetime(2020, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)).astimezone(z),
                  st.integers(0, 10 * 366 * 86_400 * 10**6) | st.sampled_from([0, 1, 10**6]), _ZONES)
_VALUE = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), _KEY, st.lists(_KEY, max_size=2))
_PARTS = ("fields", "preferences", "attributes")


@st.composite
def employee_states(draw: st.DrawFn) -> EmployeeState:
    parts = {part: draw(st.dictionaries(_KEY, _VALUE, max_size=4)) for part in _PARTS}
    names = [f"{part}.{key}" for part in _PARTS for key in parts[part]]
    extra = [f"{draw(st.sampled_from(_PARTS))}.{k}" for k in draw(st.lists(_KEY, max_size=2))]  # keys since deleted
    few = draw(st.lists(_TIME, min_size=1, max_size=3))  # a few times, so that keys share them as they do
    times = {n: draw(st.sampled_from(few)) for n in [*names, *extra] if draw(st.integers(0, 5))}
    return EmployeeState(
        employee_id="E1", profile=Profile(id="E1", **parts), profile_times=times,
        delivered=set(draw(st.lists(_KEY, max_size=3))), feedback=draw(st.dictionaries(_KEY, st.floats(-5, 5))),
        seen=draw(st.dictionaries(_KEY, _TIME, max_size=2)), clock=draw(st.none() | _TIME),
        erased_at=draw(st.none() | _TIME), forgotten=draw(st.booleans()))


def offsets(state: EmployeeState) -> dict[str, str]:
    return {k: v.isoformat() for k, v in state.profile_times.items()}


@settings(max_examples=300)
@given(employee_states())
def test_any_employee_state_reads_back_as_it_was(state: EmployeeState) -> None:
    again = EmployeeState.model_validate_json(state.model_dump_json())
    assert again == state and offsets(again) == offsets(state)
    assert in_full(again) == in_full(state)
    old = EmployeeState.model_validate_json(to_json(in_full(state)))  # as stored in full
    assert old == state and offsets(old) == offsets(state)


def test_a_state_is_the_same_bytes_whatever_the_hash_seed() -> None:
    """A set was written in the process's iteration order: after a restart (another hash seed) the same state was
    other bytes, and a replayed unit took a key holding it for one another unit had changed (run e5 of a kill -9
    audit). Both sets are written sorted."""
    import subprocess
    import sys

    code = ("from wayfinder.journeys.state import EmployeeState; from wayfinder.journeys.profile import Profile; "
            "print(EmployeeState(employee_id='e', profile=Profile(id='e'), delivered={f'r{i}' for i in range(40)}, "
            "mailboxes={f'm{i}' for i in range(40)}).model_dump_json())")
    outs = {subprocess.run([sys.executable, "-c", code], env={"PYTHONHASHSEED": seed}, capture_output=True,
                           text=True, check=True).stdout for seed in ("0", "1", "2", "6")}
    assert len(outs) == 1
