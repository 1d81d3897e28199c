"""Webhook signatures, payloads and their events; the rate limiter and the replay cache; diff invariants."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import TESTS
from wayfinder.hris.diff import Context, compare, event_id, to_event
from wayfinder.hris.intake import IntakeConfig, RateLimiter, ReplayCache
from wayfinder.hris.mapping import load_mapping
from wayfinder.hris.records import RowError
from wayfinder.hris.webhooks import (
    Item,
    WebhookError,
    item_changes,
    parse_bamboohr,
    parse_personio,
    sign_bamboohr,
    sign_personio,
    verify,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STAMP = str(int(NOW.timestamp()))
TOLERANCE = timedelta(minutes=5)
BAMBOO = load_mapping(TESTS / "data" / "hris" / "bamboohr-mapping.yaml")
PERSONIO = load_mapping(TESTS / "data" / "hris" / "personio-webhook-mapping.yaml")


def test_bamboohr_signature_is_hmac_of_body_then_timestamp() -> None:
    body = b'{"employees": []}'
    good = {"x-bamboohr-timestamp": STAMP, "x-bamboohr-signature": sign_bamboohr("k", body, STAMP)}
    verify("bamboohr", good, body, "k", NOW, TOLERANCE)
    for headers, message in [
        ({**good, "x-bamboohr-signature": sign_bamboohr("other", body, STAMP)}, "does not match"),
        ({**good, "x-bamboohr-timestamp": str(int(STAMP) + 1)}, "does not match"),
        ({"x-bamboohr-timestamp": "yesterday", "x-bamboohr-signature": "x"}, "not a Unix time"),
        ({k: v for k, v in good.items() if k != "x-bamboohr-signature"}, "does not match"),
    ]:
        with pytest.raises(WebhookError, match=message) as caught:
            verify("bamboohr", headers, body, "k", NOW, TOLERANCE)
        assert caught.value.status == 401
    with pytest.raises(WebhookError, match="stale or replayed"):
        verify("bamboohr", good, body, "k", NOW + timedelta(minutes=6), TOLERANCE)


def test_personio_signature_covers_timestamp_and_body() -> None:
    body = b'{"data": {}}'
    headers = {"x-personio-timestamp": STAMP, "x-personio-signature": sign_personio("k", body, STAMP)}
    assert headers["x-personio-signature"].startswith("v1=")
    verify("personio", headers, body, "k", NOW, TOLERANCE)
    with pytest.raises(WebhookError, match="X-Personio-Signature does not match"):
        verify("personio", headers, body + b" ", "k", NOW, TOLERANCE)


def test_payloads_that_cannot_be_read_are_400_without_values() -> None:
    for body, message in [(b"[", "not JSON"), (b"{}", "employees list"),
                          (b'{"employees": [{"id": "\xff"}]}', r"not UTF-8 text \(at byte 23\)")]:
        with pytest.raises(WebhookError, match=message) as caught:
            parse_bamboohr(body)
        assert caught.value.status == 400


def test_an_item_that_cannot_be_read_is_refused_alone_and_the_others_go() -> None:
    """One item with no id, or an action we do not know, in a delivery of several: that item is rejected (listed,
    with its reason), the others are read; the whole delivery was a 400, and the good items were lost with it."""
    body = json.dumps({"employees": [
        {"action": "Updated", "fields": {}},
        {"id": "1", "action": "Merged", "fields": {}},
        {"id": "2", "action": "Updated", "fields": "x"},
        {"id": "3", "action": "Updated", "timestamp": "2026-03-02T08:00:00Z", "fields": {"Job Title": "Lead"},
         "changedFields": ["Job Title"]}]}).encode()
    first, second, third, good = parse_bamboohr(body)
    assert isinstance(first, RowError) and (first.reason, first.employee) == ("employees[0]: no employee id", None)
    assert isinstance(second, RowError) and second.employee == "1" and "unknown action" in second.reason
    assert isinstance(third, RowError) and third.reason == "employees[2]: fields is not an object"
    assert isinstance(good, Item) and good.employee == "3"
    with pytest.raises(WebhookError, match="data object"):
        parse_personio(b'{"type": "employee.created"}')


@pytest.mark.parametrize(("employee", "said"), [({"a": 1}, "an object"), (True, "true or false"), (1.5, "a number "
                                                  "that is not whole"), ([1], "a list")])
def test_an_item_whose_id_is_not_text_names_nobody(employee: object, said: str) -> None:
    """An audit on 2026-12-04: such ids were taken as "{'a': 1}", "True", "1.5", "[1]" and made up employees (an
    export's rows refused them already)."""
    for parse, body in ((parse_bamboohr, {"employees": [{"id": employee, "action": "Updated", "fields": {"x": 1}}]}),
                        (parse_personio, {"event_name": "person.updated", "occurred_at": "2026-03-02T08:00:00Z",
                                          "payload": {"id": employee, "attributes": {"x": 1}}})):
        [item] = parse(json.dumps(body).encode())
        assert isinstance(item, RowError), parse
        assert said in item.reason and item.employee is None
    [whole] = parse_bamboohr(json.dumps({"employees": [{"id": 7.0, "action": "Updated", "fields": {}}]}).encode())
    assert isinstance(whole, Item) and whole.employee == "7"  # a whole number is an id, as in an export


def test_an_item_whose_timestamp_is_not_a_time_is_rejected_and_one_without_takes_the_clock() -> None:
    """An audit on 2026-12-04: "yesterday" and "not a time" were taken as the intake's clock, without a word."""
    for stamp in ("yesterday", 1772442000, "2026-02-30T09:00:00Z"):
        [item] = parse_bamboohr(json.dumps({"employees": [{"id": "5", "action": "Updated", "timestamp": stamp,
                                                           "fields": {"x": 1}}]}).encode())
        assert isinstance(item, RowError) and item.employee == "5" and "timestamp is not a time" in item.reason
    [personio] = parse_personio(json.dumps({"event_name": "person.updated", "occurred_at": "not a time",
                                            "payload": {"id": "5", "attributes": {"x": 1}}}).encode())
    assert isinstance(personio, RowError) and "timestamp is not a time" in personio.reason
    [undated] = parse_bamboohr(json.dumps({"employees": [{"id": "5", "action": "Updated", "fields": {}}]}).encode())
    assert isinstance(undated, Item) and undated.at is None


def _events(mapping: Any, item: Any) -> list[tuple[str, dict[str, Any]]]:
    _, changes = item_changes(mapping, item, NOW)
    return [(c.type, c.data) for c in changes]


def test_updates_name_only_what_changed() -> None:
    body = json.dumps({"employees": [{"id": "9", "action": "Updated", "timestamp": "2026-03-02T08:00:00Z",
                                      "fields": {"Job Title": "Lead", "Location": "Denver, CO", "Status": "Active"},
                                      "changedFields": ["Job Title"]}]}).encode()
    [item] = parse_bamboohr(body)
    assert _events(BAMBOO, item) == [
        ("hris.employee.upserted", {"role": "Lead"}),
        ("hris.job.changed", {"change": "transfer", "old_role": None, "new_role": "Lead", "old_department": None,
                              "new_department": None})]


def test_personio_deleted_before_start_rescinds_the_hire_and_unknown_changes_upsert() -> None:
    deleted = json.dumps({"type": "employee.deleted", "created_at": "2026-03-02T08:00:00Z",
                          "data": {"employee_id": 5, "attributes": {"hire_date": "2026-04-01"}}}).encode()
    [item] = parse_personio(deleted)
    original = event_id("hris/personio", "5", "hris.employee.hired", ["2026-04-01"])
    assert _events(PERSONIO, item) == [("hris.correction", {
        "original": {"source": "hris/personio", "id": original}, "original_type": "hris.employee.hired",
        "action": "rescind", "reason": "hire_rescinded"})]
    updated = json.dumps({"type": "employee.updated", "data": {"employee_id": 5,
                                                                "attributes": {"position": "Chef", "status": "leave"}}})
    [item] = parse_personio(updated.encode())
    assert isinstance(item, Item) and item.at is None
    types = [t for t, _ in _events(PERSONIO, item)]
    assert types == ["hris.employee.upserted", "hris.leave.started"]


def test_a_bad_intake_setting_names_its_variable_without_a_traceback_or_the_secret(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """WAYFINDER_INTAKE_BURST=forty stopped ``wayfinder intake`` with pydantic's ValidationError traceback, which
    named the field ("burst") and printed the value given."""
    monkeypatch.setenv("WAYFINDER_INTAKE_BAMBOOHR_SECRET", "a-webhook-secret")
    monkeypatch.setenv("WAYFINDER_INTAKE_BURST", "forty")
    monkeypatch.setenv("WAYFINDER_INTAKE_TOLERANCE_SECONDS", "0")
    with pytest.raises(SystemExit) as raised:
        IntakeConfig.from_env({"bamboohr": load_mapping(TESTS / "data" / "hris" / "bamboohr-mapping.yaml")})
    said = str(raised.value.code)
    assert said.splitlines() == [
        "wayfinder intake: bad settings: WAYFINDER_INTAKE_TOLERANCE_SECONDS: Input should be greater than or equal "
        "to 1",
        "wayfinder intake: bad settings: WAYFINDER_INTAKE_BURST: Input should be a valid integer, unable to parse "
        "string as an integer"]
    assert "forty" not in said and "a-webhook-secret" not in said


def test_rate_limiter_refills_per_sender() -> None:
    clock = [0.0]
    limiter = RateLimiter(rate=2.0, burst=2, clock=lambda: clock[0])
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.5]
    assert limiter.take("b") == 0.0
    clock[0] = 0.5
    assert limiter.take("a") == 0.0
    assert limiter.take("a") == pytest.approx(0.5)


def test_replay_cache_forgets_the_oldest() -> None:
    cache = ReplayCache(2)
    cache.add(["a", "b"])
    cache.add(["c"])
    assert "a" not in cache and "b" in cache and "c" in cache


RECORDS = st.fixed_dictionaries({
    "status": st.sampled_from(["active", "pending", "leave", "terminated", "rescinded"]),
}, optional={
    "start_date": st.sampled_from(["2025-01-01", "2026-03-02", "2026-04-01"]),
    "manager_id": st.sampled_from(["M1", "M2"]),
    "role": st.sampled_from(["Engineer", "Lead"]),
    "location": st.sampled_from(["Berlin", "Lisbon"]),
    "termination_date": st.sampled_from(["2026-03-01", "2026-03-02"]),
    "dependents": st.sampled_from([[["child", "2026-02-01", "birth"]], [["child", "2026-02-03", "birth"]]]),
})
CTX = Context("hris/test", datetime(2026, 3, 2, tzinfo=UTC), date(2026, 3, 2), date(2026, 3, 1))


@given(RECORDS)
def test_an_unchanged_employee_has_no_events_but_a_start_that_came(record: dict[str, Any]) -> None:
    came = record["status"] in ("active", "leave") and record.get("start_date") == "2026-03-02"
    expected = [("hris.employee.started", {"date": "2026-03-02"})] if came else []
    assert [(c.type, c.data) for c in compare(record, dict(record), CTX, "E1")] == expected


@given(RECORDS, RECORDS)
def test_ids_are_stable_and_unique_within_a_run(prev: dict[str, Any], cur: dict[str, Any]) -> None:
    first = [to_event(CTX.source, CTX.time, "E1", c) for c in compare(prev, cur, CTX, "E1")]
    again = [to_event(CTX.source, CTX.time, "E1", c) for c in compare(dict(prev), dict(cur), CTX, "E1")]
    assert first == again
    assert len({e["id"] for e in first}) == len(first)


def test_the_same_change_on_another_day_is_another_event() -> None:
    prev, cur = {"status": "active", "manager_id": "M1"}, {"status": "active", "manager_id": "M2"}
    later = Context("hris/test", CTX.time + timedelta(days=30), date(2026, 4, 1), date(2026, 3, 31))
    [_, moved] = compare(prev, cur, CTX, "E1")
    [_, again] = compare(prev, cur, later, "E1")
    assert moved.type == "hris.manager.changed"
    assert to_event("s", CTX.time, "E1", moved)["id"] != to_event("s", later.time, "E1", again)["id"]


def test_personio_documented_envelope_fixture_maps_the_changed_attributes() -> None:
    body = (TESTS / "data" / "hris" / "personio-webhook-person-updated.json").read_bytes()
    [item] = parse_personio(body)
    assert isinstance(item, Item)
    assert (item.employee, item.action, item.at) == ("5", "updated", datetime(2026, 3, 2, 8, tzinfo=UTC))
    assert [t for t, _ in _events(PERSONIO, item)] == ["hris.employee.upserted", "hris.job.changed",
                                                      "hris.leave.started"]


def test_personio_events_we_do_not_map_are_acknowledged_and_dataless_ones_rejected_by_item() -> None:
    absence = json.dumps({"company_id": "1", "event_name": "document.created", "occurred_at": "2026-03-02T08:00:00Z",
                          "payload": {"id": "d1"}}).encode()
    assert parse_personio(absence) == []
    dataless = json.dumps({"company_id": "1", "event_name": "person.updated", "occurred_at": "2026-03-02T08:00:00Z",
                           "payload": {"id": "5"}}).encode()
    [item] = parse_personio(dataless)
    assert isinstance(item, Item)
    with pytest.raises(RowError, match="dataless notification"):
        item_changes(PERSONIO, item, NOW)
    with pytest.raises(WebhookError, match="payload is not an object"):
        parse_personio(b'{"event_name": "person.updated", "payload": []}')


def test_back_to_active_with_a_leave_column_changed_ends_the_leave(tmp_path: Any) -> None:
    """Issue 15: the intake maps leave started and ended. A webhook names what changed, not what was before, so a
    status back to active ends a leave when the sender says a leave column changed with it (else it may be a start
    or a rehire, and ends nothing)."""
    path = tmp_path / "m.yaml"
    path.write_text("""apiVersion: wayfinder/v1
kind: Mapping
source: hris/bamboohr
id_column: "Employee #"
columns: {status: Status, leave_type: Leave Type, leave_return_date: Return Date}
values:
  status: {Active: active, On Leave: leave, Inactive: terminated}
  leave_type: {Medical: medical}
dates:
  leave_return_date: ["%Y-%m-%d"]
""", encoding="utf-8")
    mapping = load_mapping(path)

    def update(fields: dict[str, str], changed: list[str]) -> list[tuple[str, dict[str, Any]]]:
        body = json.dumps({"employees": [{"id": "301", "action": "Updated", "timestamp": "2026-03-10T09:00:00Z",
                                          "fields": fields, "changedFields": changed}]}).encode()
        [item] = parse_bamboohr(body)
        return [(t, d) for t, d in _events(mapping, item) if t != "hris.employee.upserted"]

    assert update({"Status": "Active", "Leave Type": "Medical"}, ["Status", "Leave Type"]) == [
        ("hris.leave.ended", {"leave_type": "medical", "return_date": "2026-03-10"})]
    assert update({"Status": "Active", "Leave Type": ""}, ["Status", "Leave Type"]) == [
        ("hris.leave.ended", {"leave_type": "other", "return_date": "2026-03-10"})]
    assert update({"Status": "Active", "Return Date": "2026-03-09"}, ["Status"]) == [
        ("hris.leave.ended", {"leave_type": "other", "return_date": "2026-03-09"})]
    assert update({"Status": "Active"}, ["Status"]) == []


def _bamboo(fields: dict[str, str], changed: list[str] | None, stamp: str = "2026-03-03T08:00:00Z") -> Any:
    entry: dict[str, Any] = {"id": "101", "action": "Updated", "timestamp": stamp, "fields": fields}
    if changed is not None:
        entry["changedFields"] = changed
    [item] = parse_bamboohr(json.dumps({"employees": [entry]}).encode())
    return item


def test_a_terminated_person_gets_no_new_manager_job_or_place() -> None:
    """A manager change and the termination in one item announced the new manager (who got a "welcome your new
    report" for someone leaving): as in the import, who has left gets no move; the profile still has the change."""
    item = _bamboo({"Supervisor EID": "150", "Job Title": "Lead", "Location": "Denver, CO", "Status": "Inactive",
                    "Termination Date": "03/03/2026"},
                   ["Supervisor EID", "Job Title", "Location", "Status", "Termination Date"])
    assert [t for t, _ in _events(BAMBOO, item)] == ["hris.employee.upserted", "hris.employee.terminated"]
    item = _bamboo({"Supervisor EID": "150", "Status": "Inactive"}, ["Supervisor EID"])
    assert [t for t, _ in _events(BAMBOO, item)] == ["hris.employee.upserted"]


def test_a_move_to_another_country_at_the_same_location_is_a_relocation_as_in_the_import() -> None:
    """An audit of issue 15 (2026-12-06): the import writes a remote worker's move from Germany to Portugal (the
    location still "Remote") as ``hris.employee.relocated``; the webhook saying the same wrote an upsert alone, so
    the relocation journey started for the export's report and not for the webhook's."""
    item = _bamboo({"Location": "Remote - US", "Country": "Canada"}, ["Country"])
    assert _events(BAMBOO, item) == [
        ("hris.employee.upserted", {"country": "CA"}),
        ("hris.employee.relocated", {"old_location": None, "new_location": "Remote - US", "new_country": "CA"})]
    # without a location the update cannot say where they went (SPEC §2's new_location): the profile only
    item = _bamboo({"Country": "Canada"}, ["Country"])
    assert [t for t, _ in _events(BAMBOO, item)] == ["hris.employee.upserted"]


def test_an_update_that_does_not_say_what_changed_repeats_no_leave_or_termination() -> None:
    """Updates without changedFields / changed_attributes for someone on leave or terminated, on two days: each
    started another leave or termination (the id came from the day). Repeats are duplicates now: the fact's date
    identifies it, or, without one, what it is. An update that says the status changed is still news each time."""
    def ids(mapping: Any, item: Any) -> list[str]:
        when, changes = item_changes(mapping, item, NOW)
        return [to_event(mapping.source, when, item.employee, c)["id"] for c in changes
                if c.type != "hris.employee.upserted"]

    def personio(day: str, office: str) -> Any:
        [item] = parse_personio(json.dumps({"company_id": "1", "event_name": "person.updated",
                                            "occurred_at": f"2026-03-{day}T08:00:00Z", "payload": {
                                                "id": "77", "attributes": {"status": "leave", "office": office}}}
                                           ).encode())
        return item

    first, second = ids(PERSONIO, personio("03", "Berlin")), ids(PERSONIO, personio("09", "Hamburg"))
    assert len(first) == 1 and first == second
    for fields in ({"Status": "Inactive"}, {"Status": "Inactive", "Termination Date": "03/01/2026"}):
        first = ids(BAMBOO, _bamboo(fields, None))
        assert len(first) == 1 and first == ids(BAMBOO, _bamboo(fields, None, "2026-03-09T08:00:00Z"))
    said = [ids(BAMBOO, _bamboo({"Status": "Inactive"}, ["Status"], f"2026-03-0{d}T08:00:00Z")) for d in (3, 9)]
    assert said[0] != said[1]


def test_a_start_date_moved_by_an_update_is_corrected_as_the_import_does() -> None:
    """Created with a start on 03-16, then an update moving it to 03-30: only an upsert came, and the first-day
    messages kept 03-16. The update gives start_date_corrected (no old value: a webhook does not know it)."""
    item = _bamboo({"Hire Date": "03/30/2026"}, ["Hire Date"], "2026-03-05T08:00:00Z")
    assert _events(BAMBOO, item) == [
        ("hris.employee.upserted", {"start_date": "2026-03-30"}),
        ("hris.correction", {"original": {"source": "hris/bamboohr",
                                          "id": event_id("hris/bamboohr", "101", "hris.employee.hired",
                                                         ["2026-03-30"])},
                             "original_type": "hris.employee.hired", "action": "amend",
                             "reason": "start_date_corrected", "changes": {"start_date": {"new": "2026-03-30"}}})]
    unsaid = _bamboo({"Hire Date": "03/30/2026"}, None)
    assert "hris.correction" not in [t for t, _ in _events(BAMBOO, unsaid)]


def test_an_update_back_to_active_with_a_new_hire_date_is_a_rehire() -> None:
    """An HRIS administrator's audit (2026-12-06): BambooHR rehires on the same record, an update whose Status and
    Hire Date change together. It gave an upsert of the hire date and a start_date_corrected of the old employment's
    hire (whose journeys had ended): no hired, so the rehire was never welcomed, where the import onboards one. Now
    it is hired (and started, once due) with the whole profile first, as the import says a rehire."""
    fields = {"First Name": "Cy", "Work Email": "cy@example.com", "Status": "Active",
              "Employment Status": "Full-Time", "Hire Date": "03/02/2026", "Job Title": "Analyst",
              "Supervisor EID": "140"}
    item = _bamboo(fields, ["Status", "Hire Date", "Supervisor EID"], "2026-03-02T08:00:00Z")
    profile = {"given_name": "Cy", "email": "cy@example.com", "employment_type": "employee",
               "start_date": "2026-03-02", "role": "Analyst", "manager_id": "140"}
    assert _events(BAMBOO, item) == [
        ("hris.employee.upserted", profile),
        ("hris.employee.hired", {"start_date": "2026-03-02", "role": "Analyst", "department": None, "location": None,
                                 "manager_id": "140"}),
        ("hris.employee.started", {"date": "2026-03-02"})]
    # the hire date alone is still a correction of the hire, the status alone still nothing
    assert [t for t, _ in _events(BAMBOO, _bamboo(fields, ["Hire Date"]))] == [
        "hris.employee.upserted", "hris.correction"]
    assert [t for t, _ in _events(BAMBOO, _bamboo(fields, ["Status"]))] == []


def test_a_record_created_for_someone_who_started_long_ago_is_no_new_hire() -> None:
    """An HRIS administrator's audit (2026-12-06): a Created item is a new employee "as in the import", but the
    import announces nobody who started more than 60 days before (``RECENT_HIRE``) and the webhook did: a record
    migrated into the HR system, or re-created, welcomed someone of five years as a new hire (onboarding's welcome,
    the manager's heads-up, a first-day roadmap at once). Their profile still loads; a hire entered late is still
    announced."""
    def created(hire_date: str) -> list[str]:
        body = {"employees": [{"id": "7", "action": "Created", "timestamp": "2026-03-02T08:00:00Z",
                               "fields": {"First Name": "Lu", "Status": "Active", "Hire Date": hire_date}}]}
        [item] = parse_bamboohr(json.dumps(body).encode())
        return [t for t, _ in _events(BAMBOO, item)]

    assert created("04/01/2021") == ["hris.employee.upserted"]
    assert created("02/16/2026") == ["hris.employee.upserted", "hris.employee.hired", "hris.employee.started"]
    assert created("03/16/2026") == ["hris.employee.upserted", "hris.employee.hired"]
