"""``wayfinder import snapshot`` on real-looking Workday- and BambooHR-style exports, events checked exactly."""

from __future__ import annotations

import io
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support import TESTS, read_jsonl
from wayfinder.cli import main
from wayfinder.hris import Paths, load_mapping, run_import
from wayfinder.hris.cli import ROWS_REFUSED
from wayfinder.hris.diff import event_id
from wayfinder.journeys.events import decode_event
from wayfinder.streams.publish import route

DATA = TESTS / "data" / "hris"
WD_MAP, BH_MAP = DATA / "workday-mapping.yaml", DATA / "bamboohr-mapping.yaml"
WD_1, WD_2 = DATA / "workday-2026-03-01.csv", DATA / "workday-2026-03-02.csv"
BH_1, BH_2 = DATA / "bamboohr-20260301.csv", DATA / "bamboohr-20260302.csv"


def run(tmp_path: Path, mapping: Path, current: Path, previous: Path | None = None, *extra: str,
        name: str = "events") -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    out = tmp_path / f"{name}.jsonl"
    argv = ["import", "snapshot", "--current", str(current), "--mapping", str(mapping), "--out", str(out), *extra]
    if previous is not None:
        argv += ["--previous", str(previous)]
    code = main(argv)
    dead = tmp_path / f"{name}.dead_letters.jsonl"
    return code, (read_jsonl(out) if out.exists() else []), (read_jsonl(dead) if dead.exists() else [])


def brief(events: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(e["subject"], e["type"], e["data"]) for e in events]


def correction(employee: str, original_type: str, key: list[str], action: str, reason: str,
               **changes: dict[str, str]) -> tuple[str, str, dict[str, Any]]:
    """The hris.correction expected of the Workday event (``original_type``, ``key``) of ``employee``."""
    data: dict[str, Any] = {
        "original": {"source": "hris/workday", "id": event_id("hris/workday", employee, original_type, key)},
        "original_type": original_type, "action": action, "reason": reason}
    if changes:
        data["changes"] = changes
    return employee, "hris.correction", data


def hired_profile(**fields: Any) -> dict[str, Any]:
    return fields


WORKDAY_EXPECTED = [
    ("W1002", "hris.employee.upserted", {"manager_id": "W1054"}),
    ("W1002", "hris.manager.changed", {"old_manager_id": "W1050", "new_manager_id": "W1054"}),
    ("W1003", "hris.employee.upserted", {"job_level": "4", "role": "Senior Software Engineer"}),
    ("W1003", "hris.job.changed", {"change": "promotion", "old_role": "Software Engineer",
                                   "new_role": "Senior Software Engineer", "old_department": "Engineering",
                                   "new_department": "Engineering"}),
    ("W1004", "hris.employee.upserted", {"country": "PT", "location": "Lisbon Office", "timezone": "Europe/Lisbon"}),
    ("W1004", "hris.employee.relocated", {"old_location": "Berlin Office", "new_location": "Lisbon Office",
                                          "new_country": "PT", "new_timezone": "Europe/Lisbon",
                                          "old_country": "DE"}),
    ("W1005", "hris.leave.started", {"leave_type": "parental", "start_date": "2026-03-02",
                                     "expected_return_date": "2026-09-01"}),
    ("W1006", "hris.leave.ended", {"leave_type": "medical", "return_date": "2026-03-02"}),
    ("W1007", "hris.employee.terminated", {"date": "2026-02-28", "reason": "resignation"}),
    ("W1008", "hris.employee.upserted", {
        "cost_center": "CC-700", "country": "DE", "department": "Marketing", "email": "hana.hoffmann@example.com",
        "employment_type": "employee", "family_name": "Hoffmann", "given_name": "Hana", "job_level": "3",
        "location": "Berlin Office", "manager_id": "W1054", "role": "Marketing Manager", "start_date": "2026-03-16",
        "timezone": "Europe/Berlin"}),
    ("W1008", "hris.employee.hired", {"start_date": "2026-03-16", "role": "Marketing Manager",
                                      "department": "Marketing", "location": "Berlin Office", "manager_id": "W1054"}),
    ("W1009", "hris.employee.upserted", {
        "cost_center": "CC-300", "country": "DE", "department": "Engineering", "email": "ivo.ilic@example.com",
        "employment_type": "intern", "family_name": "Ilic", "given_name": "Ivo", "job_level": "1",
        "location": "Berlin Office", "manager_id": "W1051", "role": "Intern", "start_date": "2026-03-02",
        "timezone": "Europe/Berlin"}),
    ("W1009", "hris.employee.hired", {"start_date": "2026-03-02", "role": "Intern", "department": "Engineering",
                                      "location": "Berlin Office", "manager_id": "W1051"}),
    ("W1009", "hris.employee.started", {"date": "2026-03-02"}),
    ("W1010", "hris.employee.started", {"date": "2026-03-02"}),
    # rehired: terminated in the previous export, active with a new hire date now: the whole profile, as for a new
    # hire (the engine may hold none of a leaver: a first import loads none, an erasure forgets one)
    ("W1011", "hris.employee.upserted", {
        "cost_center": "CC-300", "country": "DE", "department": "Engineering", "email": "kim.kowalski@example.com",
        "employment_type": "employee", "family_name": "Kowalski", "given_name": "Kim", "job_level": "2",
        "location": "Berlin Office", "manager_id": "W1051", "role": "QA Engineer", "start_date": "2026-03-02",
        "timezone": "Europe/Berlin"}),
    ("W1011", "hris.employee.hired", {"start_date": "2026-03-02", "role": "QA Engineer", "department": "Engineering",
                                      "location": "Berlin Office", "manager_id": "W1051"}),
    ("W1011", "hris.employee.started", {"date": "2026-03-02"}),
    # W1012: the manager cell is blank today: no event. W1013: a duplicate row, no change.
    ("W1014", "hris.dependent.added", {"relationship": "child", "reason": "birth", "date": "2026-02-27"}),
    correction("W1015", "hris.dependent.added", ["child", "2026-02-20"], "amend", "dependent_corrected",
               date={"old": "2026-02-20", "new": "2026-02-21"}),
    correction("W1016", "hris.employee.hired", ["2026-03-20"], "rescind", "hire_rescinded"),
    ("W1017", "hris.employee.upserted", {"start_date": "2026-03-23"}),
    correction("W1017", "hris.employee.hired", ["2026-03-09"], "amend", "start_date_corrected",
               start_date={"old": "2026-03-09", "new": "2026-03-23"}),
    # W1018: today's row has an impossible hire date: dead letter, no event
    ("W1019", "hris.employee.upserted", {
        "cost_center": "CC-100", "country": "DE", "department": "Finance", "email": "sam.schulz@example.com",
        "employment_type": "employee", "family_name": "Schulz", "given_name": "Sam", "job_level": "4",
        "location": "Berlin Office", "manager_id": "W1050", "role": "Controller", "start_date": "2015-07-01",
        "timezone": "Europe/Berlin"}),
    correction("W1019", "hris.employee.terminated", ["2026-02-27"], "rescind", "termination_rescinded"),
]


def test_workday_export_events_exactly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, events, dead = run(tmp_path, WD_MAP, WD_2, WD_1)
    assert code == ROWS_REFUSED
    assert brief(events) == WORKDAY_EXPECTED
    # midnight of the file name's date in the mapping's timezone (Europe/Berlin), written in UTC
    assert {(e["source"], e["time"], e["specversion"]) for e in events} == {("hris/workday", "2026-03-01T23:00:00Z",
                                                                            "1.0")}
    assert len({e["id"] for e in events}) == len(events)
    for e in events:  # every event is a valid CloudEvent whose data the engine accepts
        decode_event(json.dumps(e))
    assert dead == [
        {"file": WD_2.name, "row": 19, "employee_id": "W1018",
         "reason": "column Hire_Date (start_date): matches none of the date formats %Y-%m-%d, %m/%d/%Y; "
                   "add one under dates"},
        {"file": WD_2.name, "row": 20, "employee_id": None,
         "reason": "no employee id (column Employee_ID is blank or missing)"},
    ]
    said = capsys.readouterr()
    # each row not imported where it is (the column's place in the header: Hire_Date is the 7th), and the exit
    # code says rows were refused (an HR operations audit on 2026-12-05: a date column broken on its few filled
    # rows was imported with exit 0 and a count on stdout)
    assert said.err.splitlines() == [
        f"{WD_2}:19:7: column Hire_Date (start_date): matches none of the date formats %Y-%m-%d, %m/%d/%Y; add one "
        "under dates",
        f"{WD_2}:20: no employee id (column Employee_ID is blank or missing)",
        f"wayfinder import: 2 row(s) not imported (exit {ROWS_REFUSED}): the events of the other rows are written; "
        "fix these rows in the export, or the mapping"]
    out = said.out
    assert "compared 17 previous and 20 current rows (19 employees)" in out
    assert "        8  hris.employee.upserted" in out
    assert "        4  hris.correction" in out
    assert "        1  duplicate rows ignored" in out


def test_bamboohr_export_events_exactly(tmp_path: Path) -> None:
    code, events, dead = run(tmp_path, BH_MAP, BH_2, BH_1)
    assert code == ROWS_REFUSED
    assert brief(events) == [
        # rehired: the old employment's row is still in the export; the latest hire date wins
        ("102", "hris.employee.upserted", {
            "country": "US", "department": "Customer Success", "email": "bo.baker@example.com",
            "employment_type": "employee", "family_name": "Baker", "given_name": "Bo", "location": "Denver, CO",
            "manager_id": "101", "role": "Support Team Lead", "start_date": "2026-03-02"}),
        ("102", "hris.employee.hired", {"start_date": "2026-03-02", "role": "Support Team Lead",
                                        "department": "Customer Success", "location": "Denver, CO",
                                        "manager_id": "101"}),
        ("102", "hris.employee.started", {"date": "2026-03-02"}),
        # the manager was blank yesterday: the profile learns it, but nobody "changed manager"
        ("103", "hris.employee.upserted", {"manager_id": "141"}),
        ("104", "hris.employee.upserted", {"employment_type": "employee"}),
        ("105", "hris.employee.terminated", {"date": "2026-03-01", "reason": None}),
        ("107", "hris.employee.upserted", {
            "country": "CA", "department": "Sales", "email": "gil.garcia@example.com", "employment_type": "employee",
            "family_name": "Garcia", "given_name": "Gil", "location": "Toronto, ON", "manager_id": "141",
            "role": "Solutions Architect", "start_date": "2026-04-01"}),
        ("107", "hris.employee.hired", {"start_date": "2026-04-01", "role": "Solutions Architect",
                                        "department": "Sales", "location": "Toronto, ON", "manager_id": "141"}),
    ]
    assert {e["time"] for e in events} == {"2026-03-02T00:00:00Z"}
    assert dead == [
        {"file": BH_2.name, "row": 10, "employee_id": "108",
         "reason": "column Employment Status (employment_type): Input should be 'employee', 'contractor' or 'intern'"},
        {"file": BH_1.name, "row": 8, "employee_id": "106",
         "reason": "another row (7) has the same employee id and start date with other values; that row was used"},
    ]


def test_dead_letters_carry_no_personal_values(tmp_path: Path) -> None:
    _, _, dead = run(tmp_path, WD_MAP, WD_2, WD_1)
    text = json.dumps(dead)
    for value in ("2022-13-45", "Ray", "Rossi", "someone@example.com", "Unknown"):
        assert value not in text


def test_a_rerun_writes_the_same_ids(tmp_path: Path) -> None:
    _, first, _ = run(tmp_path, WD_MAP, WD_2, WD_1, name="first")
    _, second, _ = run(tmp_path, WD_MAP, WD_2, WD_1, name="second")
    assert first == second
    assert (tmp_path / "first.jsonl").read_bytes() == (tmp_path / "second.jsonl").read_bytes()


def _without(source: Path, target: Path, drop: set[str], blank_dependents: set[str]) -> Path:
    lines = source.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    kept = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        if cells[0] in drop:
            continue
        if cells[0] in blank_dependents:
            cells[header.index("Dependents")] = ""
        kept.append(",".join(cells))
    target.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return target


def test_corrections_name_the_events_an_earlier_import_wrote(tmp_path: Path) -> None:
    """Day 1 announces hires and a birth; day 2's export contradicts them; the corrections name those events."""
    day0 = _without(WD_1, tmp_path / "workday-2026-02-28.csv", {"W1016", "W1017"}, {"W1015"})
    code, day1, _ = run(tmp_path, WD_MAP, WD_1, day0, name="day1")
    assert code == 0
    announced = {(e["subject"], e["type"]): e["id"] for e in day1}
    assert ("W1016", "hris.employee.hired") in announced
    _, day2, _ = run(tmp_path, WD_MAP, WD_2, WD_1, name="day2")
    corrections = {e["subject"]: e["data"] for e in day2 if e["type"] == "hris.correction"}
    hired = announced["W1016", "hris.employee.hired"]
    assert corrections["W1016"]["original"] == {"source": "hris/workday", "id": hired}
    assert corrections["W1017"]["original"]["id"] == announced["W1017", "hris.employee.hired"]
    assert corrections["W1015"]["original"]["id"] == announced["W1015", "hris.dependent.added"]


def test_without_a_previous_export_only_profiles_load_and_the_hires_still_to_start(tmp_path: Path) -> None:
    """Nobody who works here already is welcomed; W1010, W1017 and W1016 start after this export's day
    (2026-03-01): hires under way, announced, or no later import would and their onboarding would never start (an
    audit on 2026-12-04)."""
    code, events, dead = run(tmp_path, WD_MAP, WD_1)
    assert code == 0
    upserts = [e["subject"] for e in events if e["type"] == "hris.employee.upserted"]
    # every readable employee except the two terminated ones
    assert sorted(upserts) == sorted(f"W10{n:02d}" for n in (1, 2, 3, 4, 5, 6, 7, 10, 12, 13, 14, 15, 16, 17, 18))
    assert sorted((e["subject"], e["data"]["start_date"]) for e in events if e["type"] != "hris.employee.upserted") \
        == [("W1010", "2026-03-02"), ("W1016", "2026-03-20"), ("W1017", "2026-03-09")]
    assert [e["type"] for e in events if e["subject"] == "W1016"] == ["hris.employee.upserted", "hris.employee.hired"]
    _, again, _ = run(tmp_path, WD_MAP, WD_2, WD_1, name="second")
    assert not [e for e in again if e["subject"] == "W1016" and e["type"] == "hris.employee.hired"]  # once
    assert dead == []


def test_publish_routes_every_imported_event_to_hris_events_by_employee(tmp_path: Path) -> None:
    run(tmp_path, WD_MAP, WD_2, WD_1)
    for line in (tmp_path / "events.jsonl").read_bytes().splitlines():
        topic, key = route(line)
        assert (topic, key) == ("hris.events", json.loads(line)["subject"].encode())


def test_json_lines_exports_and_absent_employees_terminated(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    mapping = tmp_path / "personio.yaml"
    mapping.write_text(
        "apiVersion: wayfinder/v1\nkind: Mapping\nsource: hris/personio\nid_column: id\nabsent: terminated\n"
        "columns: {status: status, start_date: hire_date, department: department.name, as_of: exported_on}\n"
        "values: {status: {onboarding: pending, inactive: terminated}}\n", encoding="utf-8")
    prev, cur = tmp_path / "before.jsonl", tmp_path / "after.jsonl"
    prev.write_text("\n".join(json.dumps(r) for r in [
        {"id": 7, "status": "active", "hire_date": "2020-01-01", "department.name": "Ops", "exported_on": "2026-03-01"},
        {"id": 8, "status": "active", "hire_date": "2021-01-01", "department.name": "Ops", "exported_on": "2026-03-01"},
    ]) + "\n", encoding="utf-8")
    cur.write_text("\n".join([
        json.dumps({"id": 7, "status": "active", "hire_date": "2020-01-01", "department.name": "IT",
                    "exported_on": "2026-03-02"}),
        "[1, 2]", "{broken",
    ]) + "\n", encoding="utf-8")
    code, events, dead = run(tmp_path, mapping, cur, prev)
    assert code == ROWS_REFUSED
    moved = [("7", "hris.employee.upserted", {"department": "IT"}),
             ("7", "hris.job.changed", {"change": "transfer", "old_role": None, "new_role": None,
                                        "old_department": "Ops", "new_department": "IT"})]
    # either broken line may be 8's row: 8 missing says nothing this run
    assert brief(events) == moved
    assert events[0]["time"] == "2026-03-02T00:00:00Z"
    assert [(d["row"], d["employee_id"], d["reason"]) for d in dead] == [
        (2, None, "not a JSON object (a list)"), (3, None, "not a JSON object (invalid JSON)")]
    assert ("        1  employees missing from the current export: no conclusion (it has rows of unknown "
            "employees)") in capsys.readouterr().out
    cur.write_text(cur.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    code, events, dead = run(tmp_path, mapping, cur, prev)
    assert brief(events) == [*moved, ("8", "hris.employee.terminated", {"date": "2026-03-02",
                                                                         "reason": "absent_from_export"})]
    assert dead == []


ABSENT_MAPPING = """apiVersion: wayfinder/v1
kind: Mapping
source: hris/test
id_column: id
absent: terminated
columns: {given_name: name, status: status, start_date: start, manager_id: manager}
values: {status: {Active: active, Pending: pending}}
"""


def test_a_row_that_cannot_be_read_is_no_hire_departure_or_rescinded_hire(tmp_path: Path) -> None:
    """A row with a cell too many (a trailing comma) or a JSON line with a trailing comma names its employee in
    the dead letters, and that employee gets no event, in whichever export the row is broken."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(ABSENT_MAPPING, encoding="utf-8")
    good = ["id,name,status,start,manager", "E1,Ann,Active,2020-01-01,M1", "E2,Bob,Pending,2026-03-10,M1",
            "E3,Cid,Active,2021-05-05,M1"]
    bad = [good[0], good[1] + ",extra", 'E2,"Bob, Jr",Pending,2026-03-10,M1,', "E3,Cid,Active,2021-05-05,M2"]
    (tmp_path / "a-2026-03-01.csv").write_text("\n".join(good) + "\n", encoding="utf-8")
    (tmp_path / "b-2026-03-02.csv").write_text("\n".join(bad) + "\n", encoding="utf-8")
    (tmp_path / "c-2026-03-03.csv").write_text("\n".join(good) + "\n", encoding="utf-8")
    manager_changed = ("E3", "hris.manager.changed", {"old_manager_id": "M1", "new_manager_id": "M2"})
    for previous, current, expected in [("a-2026-03-01.csv", "b-2026-03-02.csv", manager_changed),
                                        ("b-2026-03-02.csv", "c-2026-03-03.csv", ("E3", "hris.manager.changed", {
                                            "old_manager_id": "M2", "new_manager_id": "M1"}))]:
        code, events, dead = run(tmp_path, mapping, tmp_path / current, tmp_path / previous)
        assert code == ROWS_REFUSED
        assert [e for e in brief(events) if e[1] != "hris.employee.upserted"] == [expected]
        assert [(d["file"], d["row"], d["employee_id"]) for d in dead] == [("b-2026-03-02.csv", 2, "E1"),
                                                                          ("b-2026-03-02.csv", 3, "E2")]
    rows = [{"id": "E1", "status": "Active", "start": "2020-01-01"}, {"id": 2, "status": "Pending",
                                                                      "start": "2026-03-10"}]
    (tmp_path / "a-2026-03-01.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "b-2026-03-02.jsonl").write_text("".join(json.dumps(r)[:-1] + ",}\n" for r in rows),
                                                 encoding="utf-8")
    code, events, dead = run(tmp_path, mapping, tmp_path / "b-2026-03-02.jsonl", tmp_path / "a-2026-03-01.jsonl")
    assert (code, events) == (ROWS_REFUSED, [])
    assert [(d["row"], d["employee_id"], d["reason"]) for d in dead] == [
        (1, "E1", "not a JSON object (invalid JSON)"), (2, "2", "not a JSON object (invalid JSON)")]


def test_a_row_that_is_not_utf8_is_a_dead_letter_and_the_others_are_imported(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One invalid byte in a row: that row is a dead letter (its employee named when the id was read whole; no
    value), the rest imported; with the byte in the id, it is a row of an unknown employee and absence says nothing.
    A header that is not UTF-8 stops the import."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(ABSENT_MAPPING, encoding="utf-8")
    header, e1, e2, e3 = (b"id,name,status,start,manager", b"E1,Ann,Active,2020-01-01,M1",
                          b"E2,Bob,Pending,2026-03-10,M1", b"E3,Cid,Active,2021-05-05,M1")
    (tmp_path / "a-2026-03-01.csv").write_bytes(b"\n".join([header, e1, e2, e3]) + b"\n")
    current = tmp_path / "b-2026-03-02.csv"
    current.write_bytes(b"\n".join([header, e1.replace(b"Ann", b"An\xffn"), e3.replace(b"M1", b"M2")]) + b"\n")
    code, events, dead = run(tmp_path, mapping, current, tmp_path / "a-2026-03-01.csv")
    assert code == ROWS_REFUSED
    # E1: no event; E3's new manager goes out, and E2, missing from a complete export, has its hire rescinded
    assert [(e[0], e[1]) for e in brief(events)] == [
        ("E2", "hris.correction"), ("E3", "hris.employee.upserted"), ("E3", "hris.manager.changed")]
    assert dead == [{"file": current.name, "row": 2, "employee_id": "E1",
                     "reason": "not UTF-8 text (at byte 5 of the line)"}]
    assert "        1  employees whose row could not be read in one export (no events for them)" in \
        capsys.readouterr().out
    current.write_bytes(b"\n".join([header, e1.replace(b"E1", b"E\xff1"), e3.replace(b"M1", b"M2")]) + b"\n")
    code, events, dead = run(tmp_path, mapping, current, tmp_path / "a-2026-03-01.csv")
    assert [(e[0], e[1]) for e in brief(events)] == [("E3", "hris.employee.upserted"), ("E3", "hris.manager.changed")]
    assert [(d["row"], d["employee_id"]) for d in dead] == [(2, None)]
    assert "no conclusion (it has rows of unknown employees)" in capsys.readouterr().out
    rows = [b'{"id": "E1", "name": "An\xffn", "status": "Active", "start": "2020-01-01"}',
            b'{"id": "E3", "name": "Cid", "status": "Active", "start": "2021-05-05", "manager": "M2"}']
    (tmp_path / "a-2026-03-01.jsonl").write_bytes(b"\n".join(json.dumps(json.loads(r.replace(b"\xff", b"")))
                                                             .encode() for r in rows) + b"\n")
    (tmp_path / "b-2026-03-02.jsonl").write_bytes(b"\xef\xbb\xbf" + b"\n".join(rows) + b"\n")
    code, events, dead = run(tmp_path, mapping, tmp_path / "b-2026-03-02.jsonl", tmp_path / "a-2026-03-01.jsonl")
    assert (code, events) == (ROWS_REFUSED, [])
    assert dead == [{"file": "b-2026-03-02.jsonl", "row": 1, "employee_id": "E1",
                     "reason": "not UTF-8 text (at byte 24 of the line)"}]
    current.write_bytes(header.replace(b"name", b"n\xe4me") + b"\n" + e3 + b"\n")  # Latin-1: every column in doubt
    code, _, _ = run(tmp_path, mapping, current, tmp_path / "a-2026-03-01.csv")
    assert code == 1
    assert f"{current}: the header row is not UTF-8 text (at byte 4 of the line); save the export as UTF-8" in \
        capsys.readouterr().err


def test_a_row_of_an_unknown_employee_holds_back_what_absence_would_say(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A shifted row whose id cell holds something else is nobody's: no one missing is taken as gone, and no one
    new who started before the previous export is announced as hired (it may have been their row there)."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(ABSENT_MAPPING, encoding="utf-8")
    header = "name,status,id,start,manager"
    good = [header, "Ann,Active,E1,2020-01-01,M1", "Bob,Pending,E2,2026-03-10,M1", "Cid,Active,E3,2021-05-05,M1"]
    shifted = [header, "Ann,Active,E1,2020-01-01,M1", "Cid, Jr,Active,E3,2021-05-05,M1",
               "Dee,Active,E4,2026-01-05,M1", "Eve,Active,E5,2026-03-02,M1"]
    (tmp_path / "a-2026-03-01.csv").write_text("\n".join(good) + "\n", encoding="utf-8")
    (tmp_path / "b-2026-03-02.csv").write_text("\n".join(shifted) + "\n", encoding="utf-8")
    code, events, dead = run(tmp_path, mapping, tmp_path / "b-2026-03-02.csv", tmp_path / "a-2026-03-01.csv")
    assert code == ROWS_REFUSED
    # E2 and E3 are missing: neither rescinded nor terminated; E4 and E5 are new: hired, the export is complete
    assert {(e[0], e[1]) for e in brief(events)} == {
        ("E4", "hris.employee.upserted"), ("E4", "hris.employee.hired"), ("E4", "hris.employee.started"),
        ("E5", "hris.employee.upserted"), ("E5", "hris.employee.hired"), ("E5", "hris.employee.started")}
    assert [(d["row"], d["employee_id"]) for d in dead] == [(3, None)]  # never the value found in the id's place
    assert "no conclusion (it has rows of unknown employees)" in capsys.readouterr().out
    (tmp_path / "c-2026-03-03.csv").write_text("\n".join(good) + "\nDee,Active,E4,2026-01-05,M1\n",
                                               encoding="utf-8")
    code, events, _ = run(tmp_path, mapping, tmp_path / "c-2026-03-03.csv", tmp_path / "b-2026-03-02.csv")
    # E4 was in the previous export; E2 and E3 are back, and E2's start has not come: only E3 (since 2021)
    # could be the row of unknown employee, so it is not announced as hired
    assert {(e[0], e[1]) for e in brief(events)} == {
        ("E2", "hris.employee.upserted"), ("E2", "hris.employee.hired"), ("E3", "hris.employee.upserted"),
        ("E5", "hris.employee.terminated")}
    assert ("        1  employees new since the previous export, started before it: not announced as hired (it "
            "has rows of unknown employees, or they started more than 60 days before it: back after a missing "
            "row)") in capsys.readouterr().out


def test_a_sparse_column_broken_on_its_few_rows_is_listed_and_exits_non_zero(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An HR operations audit on 2026-12-05: a termination date filled on 2 rows of 17, both written ``30.06.2025``,
    was imported with exit 0 (only a majority of unreadable rows stops an import): the daily job went on and nobody
    looked at the dead letters. Now each row is listed where it is, the other rows' events are written, and the exit
    code is ROWS_REFUSED."""
    text = WD_1.read_text(encoding="utf-8").replace(",2025-06-30,", ",30.06.2025,").replace(",2026-02-27,",
                                                                                            ",27.02.2026,")
    export = tmp_path / "workday-2026-03-01.csv"
    export.write_text(text, encoding="utf-8")
    code, events, dead = run(tmp_path, WD_MAP, export)
    assert code == ROWS_REFUSED
    assert [(d["row"], d["employee_id"]) for d in dead] == [(10, "W1011"), (18, "W1019")]
    assert len({e["subject"] for e in events}) == 15 and not {"W1011", "W1019"} & {e["subject"] for e in events}
    reason = ("column Termination_Date (termination_date): matches none of the date formats %Y-%m-%d, %m/%d/%Y; add "
              "one under dates")
    assert capsys.readouterr().err.splitlines()[:2] == [f"{export}:10:8: {reason}", f"{export}:18:8: {reason}"]


def test_more_refused_rows_than_are_listed_say_where_the_rest_are(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = "".join(f"E{n},2026-13-{n:02d}\n" for n in range(1, 26))
    export = tmp_path / "e-2026-03-01.csv"
    export.write_text("id,start\n" + rows + "".join(f"F{n},2026-01-{n:02d}\n" for n in range(1, 27)),
                      encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("apiVersion: wayfinder/v1\nkind: Mapping\nsource: hris/x\nid_column: id\n"
                       "columns: {start_date: start}\n", encoding="utf-8")
    code, events, dead = run(tmp_path, mapping, export)
    assert (code, len(dead), len({e["subject"] for e in events})) == (ROWS_REFUSED, 25, 26)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 22 and err[19].startswith(f"{export}:21:2: column start (start_date)")
    assert err[20] == f"... and 5 more in {tmp_path / 'events.dead_letters.jsonl'}"


def test_an_export_without_a_date_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    undated = tmp_path / "workday.csv"
    undated.write_bytes(WD_2.read_bytes())
    code, _, _ = run(tmp_path, WD_MAP, undated, WD_1)
    assert code == 1
    assert "no export date: give --as-of" in capsys.readouterr().err
    code, events, _ = run(tmp_path, WD_MAP, undated, WD_1, "--as-of", "2026-03-02T06:00:00+01:00")
    assert code == ROWS_REFUSED
    assert {e["time"] for e in events} == {"2026-03-02T05:00:00Z"}


def test_an_export_without_the_id_column_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(tmp_path, WD_MAP, BH_2, WD_1)
    assert code == 1
    assert "none of the id columns Employee_ID is in the header; fix id_column" in capsys.readouterr().err


def test_an_export_with_a_read_column_twice_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """csv would read the last of two Employee_ID columns, and the guess for a broken row the first: refuse."""
    lines = WD_2.read_text(encoding="utf-8").splitlines(keepends=True)
    twice = tmp_path / "workday-2026-03-02.csv"
    twice.write_text(lines[0].rstrip("\r\n") + ",Employee_ID\n" + "".join(
        line.rstrip("\r\n") + ",X9\n" for line in lines[1:]), encoding="utf-8")
    code, events, _ = run(tmp_path, WD_MAP, twice, WD_1)
    assert (code, events) == (1, [])
    assert capsys.readouterr().err.strip().endswith(
        f"{twice}: the column Employee_ID is in the header 2 times, and which one to read cannot be told; keep one "
        "of them in the export")


def test_a_column_renamed_between_the_exports_is_refused_not_read_as_blank(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A status column renamed in today's export read as blank in every row: everyone active, leaves ended,
    terminations taken back, without a word. The import stops, naming the column; with both names in the
    mapping, the same exports say nothing changed."""
    renamed = tmp_path / "workday-2026-03-02.csv"
    header, rest = WD_1.read_text(encoding="utf-8").split("\n", 1)
    renamed.write_text(header.replace("Worker_Status", "Employee_Status") + "\n" + rest, encoding="utf-8")
    code, events, _ = run(tmp_path, WD_MAP, renamed, WD_1)
    assert (code, events) == (1, [])
    assert capsys.readouterr().err.strip().endswith(
        f"{renamed}: no column Worker_Status (the mapping's column for status), which {WD_1} has; rename it back in "
        "the export, or add its new name to the mapping (status: [old, new])")
    both = tmp_path / "mapping.yaml"
    both.write_text(WD_MAP.read_text(encoding="utf-8").replace(
        "  status: Worker_Status", "  status: [Worker_Status, Employee_Status]"), encoding="utf-8")
    code, events, _ = run(tmp_path, both, renamed, WD_1)
    assert code == 0
    assert not [e for e in events if e["type"] in ("hris.leave.ended", "hris.correction", "hris.employee.terminated")]


RESPELT = ("the same name but for case or separators (names are compared exactly: write that spelling in the "
           "mapping, or add it to the list)")


def test_a_column_renamed_by_case_or_underscores_is_pointed_to(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """An HR operations audit on 2026-12-05: ``worker_status`` for the mapping's ``Worker_Status`` (an export
    re-saved by another report) was refused, rightly, but the message gave no hint that the column was there under
    another spelling. A column that is merely alike (``Employee_Status``) is not pointed to."""
    header, rest = WD_2.read_text(encoding="utf-8").split("\n", 1)
    lower = tmp_path / "workday-2026-03-02.csv"
    lower.write_text(header.replace("Worker_Status", "worker_status") + "\n" + rest, encoding="utf-8")
    assert run(tmp_path, WD_MAP, lower, WD_1)[:2] == (1, [])
    assert capsys.readouterr().err.strip().endswith(
        f"{lower}: no column Worker_Status (the mapping's column for status), which {WD_1} has; rename it back in "
        f"the export, or add its new name to the mapping (status: [old, new]); it has worker_status, {RESPELT}")
    lower.write_text(header.replace("Employee_ID", "employee id") + "\n" + rest, encoding="utf-8")
    assert run(tmp_path, WD_MAP, lower)[:2] == (1, [])
    assert capsys.readouterr().err.strip().endswith(
        f"{lower}: none of the id columns Employee_ID is in the header; fix id_column in the mapping; it has "
        f"employee id, {RESPELT}")
    lower.write_text(header.replace("Worker_Status", "Employee_Status") + "\n" + rest, encoding="utf-8")
    assert run(tmp_path, WD_MAP, lower, WD_1)[:2] == (1, [])
    assert capsys.readouterr().err.strip().endswith("(status: [old, new])")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("apiVersion: wayfinder/v1\nkind: Mapping\nsource: hris/bob\nid_column: id\n"
                       "columns: {status: employmentStatus}\nvalues: {status: {Employed: active}}\n", encoding="utf-8")
    before, after = tmp_path / "j-2026-03-01.jsonl", tmp_path / "j-2026-03-02.jsonl"
    before.write_text(json.dumps({"id": "1", "employmentStatus": "Employed"}) + "\n", encoding="utf-8")
    after.write_text(json.dumps({"id": "1", "employment_status": "Employed"}) + "\n", encoding="utf-8")
    assert run(tmp_path, mapping, after, before)[:2] == (1, [])
    assert capsys.readouterr().err.strip().endswith(f"(status: [old, new]); it has employment_status, {RESPELT}")


def test_a_column_respelt_by_case_is_refused_without_a_previous_export_too(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An HR operations audit on 2026-12-05: a first import (no ``--previous``) of an export whose status column was
    ``WORKER_STATUS`` for the mapping's ``Worker_Status`` read every status as blank (everyone active: a leaver
    upserted as working), and so did an import whose two exports both had it so. Only one export against another
    was checked. A column missing without a respelling is still read as blank."""
    header, rest = WD_1.read_text(encoding="utf-8").split("\n", 1)
    upper = tmp_path / "workday-2026-03-01.csv"
    upper.write_text(header.replace("Worker_Status", "WORKER_STATUS") + "\n" + rest, encoding="utf-8")
    message = (f"{upper}: no column Worker_Status (the mapping's column for status), so it would read as blank in "
               f"every row; it has WORKER_STATUS, {RESPELT}")
    assert run(tmp_path, WD_MAP, upper)[:2] == (1, [])
    assert capsys.readouterr().err.strip() == f"wayfinder import: {message}"
    also = tmp_path / "workday-2026-03-02.csv"
    header2, rest2 = WD_2.read_text(encoding="utf-8").split("\n", 1)
    also.write_text(header2.replace("Worker_Status", "WORKER_STATUS") + "\n" + rest2, encoding="utf-8")
    assert run(tmp_path, WD_MAP, also, upper)[:2] == (1, [])
    assert capsys.readouterr().err.strip() == f"wayfinder import: {message}"
    gone = tmp_path / "gone-2026-03-01.csv"
    gone.write_text(header.replace("Worker_Status", "Something_Else") + "\n" + rest, encoding="utf-8")
    assert run(tmp_path, WD_MAP, gone, name="gone")[0] == 0
    mapping = tmp_path / "m.yaml"
    mapping.write_text("apiVersion: wayfinder/v1\nkind: Mapping\nsource: hris/bob\nid_column: id\n"
                       "columns: {status: employmentStatus}\nvalues: {status: {Left: terminated}}\n",
                       encoding="utf-8")
    lines = tmp_path / "j-2026-03-02.jsonl"
    lines.write_text(json.dumps({"id": "1", "EmploymentStatus": "Left"}) + "\n" + json.dumps({"id": "2"}) + "\n",
                     encoding="utf-8")
    assert run(tmp_path, mapping, lines)[:2] == (1, [])
    assert capsys.readouterr().err.strip() == (
        f"wayfinder import: {lines}: no record has the key employmentStatus (the mapping's column for status), so it "
        f"would read as blank in every row; it has EmploymentStatus, {RESPELT}")


def test_someone_back_after_a_missing_row_is_not_welcomed_as_a_new_hire(tmp_path: Path) -> None:
    """A person missing from yesterday's export (absent: ignore) and back today, started in 2020, was announced as
    hired and started (a welcome, a manager's heads-up, a first-day roadmap six years late). Who started more than
    60 days before the previous export was in the exports before it: the profile only. A hire entered late (started
    last week) is still announced."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text("""apiVersion: wayfinder/v1
kind: Mapping
source: hris/test
id_column: id
columns: {given_name: first, status: status, start_date: hire, country: country}
values:
  status: {Active: active, Terminated: terminated}
""", encoding="utf-8")
    header = "id,first,status,hire,country\n"
    bo, cy = "A2,Bo,Active,2020-01-06,DE\n", "A3,Cy,Active,2026-02-24,DE\n"
    yesterday, today = tmp_path / "e-2026-03-03.csv", tmp_path / "e-2026-03-04.csv"
    yesterday.write_text(header + "M1,Mia,Active,2015-01-05,DE\n", encoding="utf-8")
    today.write_text(header + "M1,Mia,Active,2015-01-05,DE\n" + bo + cy, encoding="utf-8")
    code, events, _ = run(tmp_path, mapping, today, yesterday)
    assert code == 0
    assert [(e["subject"], e["type"]) for e in events] == [
        ("A2", "hris.employee.upserted"),
        ("A3", "hris.employee.upserted"), ("A3", "hris.employee.hired"), ("A3", "hris.employee.started")]


def test_a_json_cell_that_is_no_value_is_a_dead_letter(tmp_path: Path) -> None:
    """An object is a dead letter as a list is (it became a JSON text given name), and true is no id."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text("apiVersion: wayfinder/v1\nkind: Mapping\nsource: hris/x\nid_column: EmpID\n"
                       "columns: {given_name: name, email: Email}\n", encoding="utf-8")
    current = tmp_path / "x-2026-03-02.jsonl"
    current.write_text("\n".join(json.dumps(r) for r in [
        {"EmpID": "E1", "name": {"secret": "Ada"}}, {"EmpID": True, "name": "Bo"}, {"EmpID": "E3", "Email": 12},
        {"EmpID": 4, "name": "Cy"}]) + "\n", encoding="utf-8")
    code, events, dead = run(tmp_path, mapping, current)
    assert code == ROWS_REFUSED
    assert brief(events) == [("4", "hris.employee.upserted", {"given_name": "Cy"})]
    assert [(d["row"], d["employee_id"], d["reason"]) for d in dead] == [
        (1, "E1", "column name (given_name): an object, where one value is expected"),
        (2, None, "column EmpID (id): true or false, where an id (text or a whole number) is expected"),
        (3, "E3", "column Email (email): a number, where an address is expected")]
    assert "secret" not in (tmp_path / "events.dead_letters.jsonl").read_text(encoding="utf-8")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    mapping = load_mapping(WD_MAP)
    paths = Paths(current=WD_2, out=tmp_path / "e.jsonl", dead_letters=tmp_path / "d.jsonl", previous=WD_1)
    terminal, pipe = _Terminal(), io.StringIO()
    run_import(mapping, paths, progress=terminal)
    run_import(mapping, paths, progress=pipe)
    shown = terminal.getvalue()
    assert f"reading {WD_1.name}"[:22] in shown and "comparing" in shown
    assert "[##############################] 100%" in shown
    assert pipe.getvalue() == ""


LEAVE_MAPPING = """apiVersion: wayfinder/v1
kind: Mapping
source: hris/test
id_column: id
columns: {status: status, start_date: start, leave_type: ltype, leave_start_date: lstart,
          leave_expected_return_date: lret, dependents: deps}
values: {status: {Active: active, On Leave: leave}, leave_type: {Parental: parental, Medical: medical}}
"""


def _days(tmp_path: Path, *rows: list[str]) -> list[Path]:
    """One export a day from 2026-03-01, each with the given rows under the leave mapping's header."""
    paths = []
    for n, day in enumerate(rows, start=1):
        path = tmp_path / f"x-2026-03-{n:02d}.csv"
        path.write_text("\n".join(["id,status,start,ltype,lstart,lret,deps", *day]) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def test_another_leave_while_on_leave_ends_the_first_and_starts_the_second(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(LEAVE_MAPPING, encoding="utf-8")
    first, second, third = _days(tmp_path, ["E1,On Leave,2020-01-01,Parental,2026-01-05,2026-06-01,"],
                                 ["E1,On Leave,2020-01-01,Medical,2026-03-02,2026-03-20,"],
                                 ["E1,On Leave,2020-01-01,Medical,2026-03-01,2026-03-20,"])
    _, events, _ = run(tmp_path, mapping, second, first)
    assert brief(events) == [
        ("E1", "hris.leave.ended", {"leave_type": "parental", "return_date": "2026-03-02"}),
        ("E1", "hris.leave.started", {"leave_type": "medical", "start_date": "2026-03-02",
                                      "expected_return_date": "2026-03-20"})]
    # the same leave's start date corrected to before the previous export: not another leave, its start amended
    _, events, _ = run(tmp_path, mapping, third, second)
    assert brief(events) == [leave_amended("E1", ["medical", "2026-03-02"], start_date={"old": "2026-03-02",
                                                                                      "new": "2026-03-01"})]


def leave_amended(employee: str, key: list[str], **changes: dict[str, str]) -> tuple[str, str, dict[str, Any]]:
    return employee, "hris.correction", {
        "original": {"source": "hris/test", "id": event_id("hris/test", employee, "hris.leave.started", key)},
        "original_type": "hris.leave.started", "action": "amend", "reason": "leave_dates_corrected",
        "changes": changes}


def test_a_leave_extended_or_shortened_amends_the_leave_it_started(tmp_path: Path) -> None:
    """An audit of issue 15 (2026-12-06): the same leave with its expected return moved (extended, back sooner)
    gave nothing, so a wait dated from it and the hold of a sensitive leave kept the first date. It is an amendment
    of the leave's hris.leave.started; a return date blank on either side changes nothing (a blank cell is no
    change)."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(LEAVE_MAPPING, encoding="utf-8")
    days = _days(tmp_path, ["E1,On Leave,2020-01-01,Medical,2026-02-02,2026-03-09,", "E2,On Leave,2020-01-01,,,,"],
                 ["E1,On Leave,2020-01-01,Medical,2026-02-02,2026-03-23,", "E2,On Leave,2020-01-01,,,2026-04-01,"],
                 ["E1,On Leave,2020-01-01,Medical,2026-02-02,,", "E2,On Leave,2020-01-01,,,2026-04-01,"])
    found = [brief(run(tmp_path, mapping, cur, prev, name=cur.stem)[1]) for prev, cur in itertools.pairwise(days)]
    assert found == [[leave_amended("E1", ["medical", "2026-02-02"], expected_return_date={
        "old": "2026-03-09", "new": "2026-03-23"})], []]


def test_a_blank_dependents_cell_never_makes_an_old_child_new(tmp_path: Path) -> None:
    """Blank for a day, then restored; or filled in for the first time: a 2019 child is no news. A child born
    weeks before the export, in a cell blank the day before, is (the usual first child)."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(LEAVE_MAPPING, encoding="utf-8")
    days = _days(tmp_path, ["E1,Active,2020-01-01,,,,child:2019-05-01", "E2,Active,2020-01-01,,,,"],
                 ["E1,Active,2020-01-01,,,,", "E2,Active,2020-01-01,,,,"],
                 ["E1,Active,2020-01-01,,,,child:2019-05-01", "E2,Active,2020-01-01,,,,child:2019-05-01"],
                 ["E1,Active,2020-01-01,,,,child:2019-05-01;child:2026-02-10", "E2,Active,2020-01-01,,,,"],
                 ["E1,Active,2020-01-01,,,,", "E2,Active,2020-01-01,,,,child:2026-01-05"])
    found = [brief(run(tmp_path, mapping, cur, prev, name=cur.stem)[1]) for prev, cur in itertools.pairwise(days)]
    born = ("E1", "hris.dependent.added", {"relationship": "child", "reason": "birth", "date": "2026-02-10"})
    assert found == [[], [], [born], [("E2", "hris.dependent.added", {"relationship": "child", "reason": "birth",
                                                                     "date": "2026-01-05"})]]


def test_job_levels_in_the_mapping_make_a_move_into_management_a_promotion(tmp_path: Path) -> None:
    """The bundled first-time-manager journey wants change promotion into M1: IC4 -> M1 is one with the bundled
    company's level order in the mapping; without it only numeric levels rise or fall."""
    mapping = tmp_path / "m.yaml"
    plain = ("apiVersion: wayfinder/v1\nkind: Mapping\nsource: hris/test\nid_column: id\n"
             "columns: {role: role, job_level: level}\n")
    mapping.write_text(plain + "job_levels: [IC1, IC2, IC3, IC4, M1, M2, M3]\n", encoding="utf-8")
    before, after = tmp_path / "l-2026-03-01.csv", tmp_path / "l-2026-03-02.csv"
    before.write_text("id,role,level\nE1,Senior Engineer,IC4\nE2,Manager,M1\nE3,Engineer,IC2\n", encoding="utf-8")
    after.write_text("id,role,level\nE1,Engineering Manager,M1\nE2,Staff Engineer,IC4\nE3,Analyst,X9\n",
                     encoding="utf-8")
    _, events, _ = run(tmp_path, mapping, after, before)
    changes = {e["subject"]: e["data"]["change"] for e in events if e["type"] == "hris.job.changed"}
    assert changes == {"E1": "promotion", "E2": "demotion", "E3": "transfer"}
    mapping.write_text(plain, encoding="utf-8")
    _, events, _ = run(tmp_path, mapping, after, before)
    assert {e["data"]["change"] for e in events if e["type"] == "hris.job.changed"} == {"transfer"}


def test_validate_checks_a_mapping_file_beside_the_definitions(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A folder of definitions that also holds its HRIS mapping failed validation with "unknown kind 'Mapping'"
    (a git+CI setup that validates the whole folder broke); the mapping is now checked as import checks it."""
    defs = tmp_path / "defs"
    assert main(["examples", "--copy", str(defs)]) == 0
    mapping = (DATA / "workday-mapping.yaml").read_text(encoding="utf-8")
    (defs / "workday-mapping.yaml").write_text(mapping, encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", str(defs)]) == 0
    (defs / "workday-mapping.yaml").write_text(mapping.replace("id_column:", "id_colum:"), encoding="utf-8")
    assert main(["validate", str(defs)]) == 1
    err = capsys.readouterr().err
    assert f"{defs / 'workday-mapping.yaml'}:1:1: id_column: Field required" in err
    assert "unknown kind" not in err


def test_a_blank_status_cell_takes_back_no_termination_and_ends_no_leave(tmp_path: Path) -> None:
    """A status cell left blank for a day read as active: the termination was rescinded and the leave ended. It
    keeps the previous export's status; the day after, the same statuses again announce only what has the ids of
    the first announcements (a termination and a leave are identified by their dates)."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(LEAVE_MAPPING.replace("columns: {", "columns: {termination_date: tdate, ").replace(
        "On Leave: leave}", "On Leave: leave, Terminated: terminated}"), encoding="utf-8")
    header = "id,status,start,ltype,lstart,lret,deps,tdate"
    gone, away = "E1,Terminated,2020-01-01,,,,,2026-02-01", "E2,On Leave,2020-01-01,Parental,2026-01-05,,,"
    days = []
    for n, rows in enumerate([["E1,Active,2020-01-01,,,,,", "E2,Active,2020-01-01,,,,,"], [gone, away],
                              [gone.replace("Terminated", ""), away.replace("On Leave", "")], [gone, away]], start=1):
        days.append(tmp_path / f"s-2026-03-{n:02d}.csv")
        days[-1].write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    found = [run(tmp_path, mapping, cur, prev, name=cur.stem)[1] for prev, cur in itertools.pairwise(days)]
    announced = [(e["subject"], e["type"], e["id"]) for e in found[0]]
    assert [(s, t) for s, t, _ in announced] == [("E1", "hris.employee.terminated"), ("E2", "hris.leave.started")]
    assert found[1] == []
    assert [(e["subject"], e["type"], e["id"]) for e in found[2]] == announced


def test_an_export_saved_as_utf16_or_with_cr_line_endings_stops_with_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Excel's "Unicode Text" (UTF-16) and "CSV (Macintosh)" (a carriage return alone ends a line) read as one line
    with NUL bytes or line breaks in it, and the csv module ended the import in a traceback. Each stops it with one
    line saying how to save the export, in either place, and writes nothing."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(ABSENT_MAPPING, encoding="utf-8")
    text = "id,name,status,start,manager\nE1,Ann,Active,2020-01-01,M1\nE2,Bob,Active,2021-01-01,M1\n"
    good = tmp_path / "a-2026-03-01.csv"
    good.write_text(text, encoding="utf-8")
    utf16 = "the export is UTF-16 text (or has NUL bytes); save the export as UTF-8"
    cr = ('its lines end in a carriage return alone (as "CSV (Macintosh)" saves them); save the export as UTF-8 '
          "with LF or CRLF line endings")
    for saved, name, said in [(text.replace("\n", "\r\n").encode("utf-16"), "u.csv", utf16),
                              (text.replace("\n", "\r").encode(), "r.csv", cr),
                              ("".join(json.dumps(dict(id=n)) + "\r" for n in ("E1", "E2")).encode(), "r.jsonl", cr)]:
        bad = tmp_path / f"b-2026-03-02-{name}"
        bad.write_bytes(saved)
        for previous, current in [(good, bad), (bad, good)]:
            code, events, _ = run(tmp_path, mapping, current, previous)
            assert (code, events) == (1, [])
            err = capsys.readouterr().err
            assert err == f"wayfinder import: {bad}: {said}\n"
    (tmp_path / "b-2026-03-02.csv").write_text(text.replace("\n", "\r\n"), encoding="utf-8")  # Windows: fine
    assert run(tmp_path, mapping, tmp_path / "b-2026-03-02.csv", good)[:2] == (0, [])


def test_a_termination_while_on_leave_announces_no_return_from_leave(tmp_path: Path) -> None:
    """Terminated while on parental leave: a made-up leave.ended (dated the export's day) came before the
    termination and started the welcome-back journey (a manager check-in, a return-to-work task). Only the
    termination goes out; a leave that ends with a return still ends."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(LEAVE_MAPPING.replace("columns: {", "columns: {termination_date: tdate, ").replace(
        "On Leave: leave}", "On Leave: leave, Terminated: terminated}"), encoding="utf-8")
    header = "id,status,start,ltype,lstart,lret,deps,tdate"
    before, after = tmp_path / "t-2026-03-01.csv", tmp_path / "t-2026-03-02.csv"
    before.write_text(f"{header}\nE1,On Leave,2020-01-01,Parental,2026-01-05,2026-07-01,,\n"
                      "E2,On Leave,2020-01-01,Medical,2026-02-01,2026-03-01,,\n", encoding="utf-8")
    after.write_text(f"{header}\nE1,Terminated,2020-01-01,,,,,2026-03-01\nE2,Active,2020-01-01,,,,,\n",
                     encoding="utf-8")
    _, events, _ = run(tmp_path, mapping, after, before)
    assert brief(events) == [("E1", "hris.employee.terminated", {"date": "2026-03-01", "reason": None}),
                             ("E2", "hris.leave.ended", {"leave_type": "medical", "return_date": "2026-03-02"})]


def test_a_key_renamed_between_json_lines_exports_is_refused_not_read_as_blank(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The CSV guard against a renamed column read no JSON lines (they have no header): status renamed to
    employmentStatus made everyone active, ending a leave and taking back a termination, without a word. A key
    every record of the previous export has and no record of today's has stops the import, naming it; a key only
    some records carry (a termination date) may go with them."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text("apiVersion: wayfinder/v1\nkind: Mapping\nsource: hris/bob\nid_column: id\n"
                       "columns: {status: status, start_date: startDate, termination_date: terminationDate}\n"
                       "values: {status: {Employed: active, Terminated: terminated, Leave: leave}}\n",
                       encoding="utf-8")
    rows = [{"id": "1", "status": "Leave", "startDate": "2020-01-01"},
            {"id": "2", "status": "Terminated", "terminationDate": "2026-01-31", "startDate": "2020-01-01"}]
    before, after = tmp_path / "j-2026-03-01.jsonl", tmp_path / "j-2026-03-02.jsonl"
    before.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    after.write_text("".join(json.dumps({k.replace("status", "employmentStatus"): v for k, v in r.items()}) + "\n"
                             for r in rows), encoding="utf-8")
    code, events, _ = run(tmp_path, mapping, after, before)
    assert (code, events) == (1, [])
    assert capsys.readouterr().err.strip().endswith(
        f"{after}: no record has the key status (the mapping's column for status), which every record of {before} "
        "has; rename it back in the export, or add its new name to the mapping (status: [old, new])")
    both = tmp_path / "both.yaml"
    both.write_text(mapping.read_text(encoding="utf-8").replace("{status: status,", "{status: [status, "
                                                                "employmentStatus],"), encoding="utf-8")
    assert run(tmp_path, both, after, before)[:2] == (0, [])
    after.write_text(json.dumps(rows[0]) + "\n", encoding="utf-8")  # 2 gone: terminationDate is in no record
    assert run(tmp_path, mapping, after, before)[:2] == (0, [])


def test_a_stray_quote_that_swallows_the_rows_after_it_concludes_nothing_from_absence(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An opening quote never closed makes the rest of the file one cell of that row: its guess (the id before
    the quote) was taken, the export counted as complete, and the people in the rows it swallowed were terminated
    (absent: terminated) or had their hire rescinded. Such a row, split wrong over several lines, leaves absence
    saying nothing; a wrong row on one line (a trailing comma) swallowed nobody, and absence still counts."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(ABSENT_MAPPING, encoding="utf-8")
    header, e1, e2, e3, e4 = ("id,name,status,start,manager", "E1,Ann,Active,2020-01-01,M1",
                              "E2,Bob,Active,2020-01-01,M1", "E3,Cid,Active,2021-05-05,M1",
                              "E4,Dee,Pending,2026-03-20,M1")
    before, after = tmp_path / "q-2026-03-01.csv", tmp_path / "q-2026-03-02.csv"
    before.write_text("\n".join([header, e1, e2, e3, e4]) + "\n", encoding="utf-8")
    after.write_text("\n".join([header, e1, e2.replace("Bob", '"Bob'), e3, e4]) + "\n", encoding="utf-8")
    code, events, dead = run(tmp_path, mapping, after, before)
    assert (code, events) == (ROWS_REFUSED, [])
    assert [(d["row"], d["employee_id"], d["reason"]) for d in dead] == [
        (3, "E2", "the row has 2 cells, the header has 5")]
    out = capsys.readouterr().out
    assert "        2  employees missing from the current export: no conclusion (it has rows of unknown " in out
    assert "        1  rows of the current export could not be split into the header's cells over several " in out
    after.write_text("\n".join([header, e1, e2 + ",", e4]) + "\n", encoding="utf-8")
    code, events, dead = run(tmp_path, mapping, after, before)
    assert brief(events) == [("E3", "hris.employee.terminated", {"date": "2026-03-02",
                                                                 "reason": "absent_from_export"})]
    assert [(d["row"], d["employee_id"]) for d in dead] == [(3, "E2")]


def test_a_fact_announced_again_after_it_was_taken_back_gets_a_new_id(tmp_path: Path) -> None:
    """Terminated, the termination taken back (active, its date still in the export), then terminated again on the
    same date; a leave ended and started again on the same date: the second announcement had the id of the first,
    which the engine had seen, so it was dropped (the person stayed employed, or back from leave). It gets an id of
    its own, the same on a rerun. A termination scheduled ahead (active with a date to come) and then due is a
    first announcement: the id corrections name."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(LEAVE_MAPPING.replace("columns: {", "columns: {termination_date: tdate, ").replace(
        "On Leave: leave}", "On Leave: leave, Terminated: terminated}"), encoding="utf-8")
    header = "id,status,start,ltype,lstart,lret,deps,tdate"
    gone, away = "E1,Terminated,2020-01-01,,,,,2026-03-02", "E2,On Leave,2020-01-01,Parental,2026-03-02,,,"
    back, home = gone.replace("Terminated", "Active"), away.replace("On Leave", "Active")
    ahead = "E3,Active,2020-01-01,,,,,2026-03-04"
    days = []
    for n, rows in enumerate([["E1,Active,2020-01-01,,,,,", "E2,Active,2020-01-01,,,,,", ahead],
                              [gone, away, ahead], [back, home, ahead],
                              [gone, away, ahead.replace("Active", "Terminated")]], start=1):
        days.append(tmp_path / f"s-2026-03-{n:02d}.csv")
        days[-1].write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    found = [run(tmp_path, mapping, cur, prev, name=cur.stem)[1] for prev, cur in itertools.pairwise(days)]
    first = {e["subject"]: e["id"] for e in found[0]}
    assert [(e["subject"], e["type"]) for e in found[1]] == [
        ("E1", "hris.employee.upserted"), ("E1", "hris.correction"), ("E2", "hris.leave.ended")]
    assert found[1][1]["data"]["original"]["id"] == first["E1"]
    again = {e["subject"]: e for e in found[2]}
    assert [(e["subject"], e["type"]) for e in found[2]] == [
        ("E1", "hris.employee.terminated"), ("E2", "hris.leave.started"), ("E3", "hris.employee.terminated")]
    assert again["E1"]["id"] != first["E1"] and again["E2"]["id"] != first["E2"]
    assert again["E3"]["id"] == event_id("hris/test", "E3", "hris.employee.terminated", ["2026-03-04"])
    assert run(tmp_path, mapping, days[3], days[2], name="rerun")[1] == found[2]


def test_an_offer_rescinded_then_made_again_is_hired(tmp_path: Path) -> None:
    """"Offer Rescinded" one day, active again with the same hire date the next: no event came, so onboarding
    never started. It is hired (and started, once due) again, with an id other than the rescinded hire's."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(ABSENT_MAPPING.replace("Pending: pending}", "Pending: pending, Rescinded: rescinded}"),
                       encoding="utf-8")
    days = []
    for n, rows in enumerate([["E1,Ann,Pending,2026-03-20,M1", "E2,Bob,Pending,2026-03-02,M1"],
                              ["E1,Ann,Rescinded,2026-03-20,M1", "E2,Bob,Rescinded,2026-03-02,M1"],
                              ["E1,Ann,Pending,2026-03-20,M1", "E2,Bob,Active,2026-03-02,M1"]], start=1):
        days.append(tmp_path / f"o-2026-03-{n:02d}.csv")
        days[-1].write_text("\n".join(["id,name,status,start,manager", *rows]) + "\n", encoding="utf-8")
    _, rescinded, _ = run(tmp_path, mapping, days[1], days[0], name="rescinded")
    _, events, _ = run(tmp_path, mapping, days[2], days[1], name="again")
    assert [(e["subject"], e["type"]) for e in rescinded] == [("E1", "hris.correction"), ("E2", "hris.correction")]
    assert [(e["subject"], e["type"]) for e in events] == [
        ("E1", "hris.employee.upserted"), ("E1", "hris.employee.hired"),  # back: the whole profile, then hired
        ("E2", "hris.employee.upserted"), ("E2", "hris.employee.hired"), ("E2", "hris.employee.started")]
    taken_back = {e["data"]["original"]["id"] for e in rescinded}
    assert not taken_back & {e["id"] for e in events if e["type"] == "hris.employee.hired"}
    assert run(tmp_path, mapping, days[2], days[1], name="rerun")[1] == events


def test_a_no_end_placeholder_date_is_no_date_and_dates_the_engine_refuses_are_dead_letters(tmp_path: Path) -> None:
    """SAP and Workday write 9999-12-31 for "no end": as a leave's expected return it made the whole leave.started
    a date_out_of_range dead letter at the engine (the leave was lost), and so was a termination with it. An open
    end is left out (the leave goes without it; an active person's termination date is none); a termination, a
    start or a dependent dated so, or a dependent's reason SPEC §2 does not list (invalid_data at the engine), make
    the row a dead letter here, naming row, column and field."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(LEAVE_MAPPING.replace("columns: {", "columns: {termination_date: tdate, ").replace(
        "On Leave: leave}", "On Leave: leave, Terminated: terminated}"), encoding="utf-8")
    header = "id,status,start,ltype,lstart,lret,deps,tdate"
    before, after = tmp_path / "n-2026-03-01.csv", tmp_path / "n-2026-03-02.csv"
    before.write_text("\n".join([header, *(f"E{n},Active,2020-01-01,,,,," for n in range(1, 7))]) + "\n",
                      encoding="utf-8")
    after.write_text("\n".join([header, "E1,On Leave,2020-01-01,Parental,2026-03-02,9999-12-31,,",
                                "E2,Terminated,2020-01-01,,,,,9999-12-31", "E3,Active,2020-01-01,,,,,9999-12-31",
                                "E4,Active,2020-01-01,,,,child:2026-02-26:surrogacy,",
                                "E5,Active,2020-01-01,,,,child:9999-12-31,", "E6,Active,0001-01-01,,,,,"]) + "\n",
                     encoding="utf-8")
    _, events, dead = run(tmp_path, mapping, after, before)
    assert brief(events) == [("E1", "hris.leave.started", {"leave_type": "parental", "start_date": "2026-03-02",
                                                           "expected_return_date": None})]
    for e in events:
        decode_event(json.dumps(e))
    outside = "a date outside 1900-01-01..2199-12-31, which Wayfinder cannot schedule"
    assert dead == [
        {"file": after.name, "row": 3, "employee_id": "E2", "reason": f"column tdate (termination_date): {outside}"},
        {"file": after.name, "row": 5, "employee_id": "E4",
         "reason": "column deps (dependents): an entry's reason is not one of birth, adoption, foster, marriage "
                   "(SPEC §2)"},
        {"file": after.name, "row": 6, "employee_id": "E5",
         "reason": f"column deps (dependents): an entry has {outside}"},
        {"file": after.name, "row": 7, "employee_id": "E6", "reason": f"column start (start_date): {outside}"}]


def test_an_export_saved_with_semicolons_is_said_to_be(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Excel in German settings saves ';' between columns; the import said the id column was missing (an audit on
    2026-12-04)."""
    semi = tmp_path / "workday-2026-03-02.csv"
    semi.write_text(WD_2.read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")
    code, _, _ = run(tmp_path, WD_MAP, semi, WD_1)
    assert code == 1
    assert ("the header's columns are separated by ';', not ','; set delimiter: ';' in the mapping"
            in capsys.readouterr().err)


def test_an_export_whose_rows_mostly_cannot_be_read_stops_the_import(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Found by an HR operations pass on 2026-12-05: an export whose hire dates came out as 02.03.2026 (every row a
    dead letter) was imported with exit 0, so the daily job published nothing, kept that export as its baseline, and
    the next day's changes of everyone in it were not announced either (a row unreadable in one export is no
    change). Now the import stops, exit 1, saying how many rows and why, and writes no events."""
    lines = WD_2.read_text(encoding="utf-8").splitlines()
    german = [lines[0]] + [re.sub(r",(\d{4})-(\d{2})-(\d{2}),", r",\3.\2.\1,", re.sub(
        r",(\d{2})/(\d{2})/(\d{4}),", r",\2.\1.\3,", line), count=1) for line in lines[1:]]
    current = tmp_path / "workday-2026-03-02.csv"
    current.write_text("\n".join(german) + "\n", encoding="utf-8")
    code, _, dead = run(tmp_path, WD_MAP, current, WD_1)
    assert code == 1
    assert not (tmp_path / "events.jsonl").exists()
    assert len(dead) == 20
    assert capsys.readouterr().err == (
        f"wayfinder import: {current}: 20 of its 20 rows could not be read (19 of them: column Hire_Date "
        "(start_date): matches none of the date formats %Y-%m-%d, %m/%d/%Y; add one under dates); the export or the "
        f"mapping has changed. Nothing was compared and {tmp_path / 'events.jsonl'} was not written; the rows are in "
        f"{tmp_path / 'events.dead_letters.jsonl'}. Fix the mapping (or the export) and run the import again\n")


def test_a_change_a_refused_row_hid_is_announced_the_day_the_row_is_fixed(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The daily job moved its baseline to the raw export after a day with refused rows (exit 65): the next day
    compared the fixed row with the refused one, and the termination and the new manager that row hid were never
    announced. With ``--baseline-out`` the next baseline has the refused row's previous row instead."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(ABSENT_MAPPING.replace("manager}", "manager, termination_date: term}").replace(
        "Pending: pending}", "Pending: pending, Terminated: terminated}"), encoding="utf-8")
    header = "id,name,status,start,manager,term"
    days = {1: ["E1,Ann,Active,2020-01-01,M1,", "E2,Bob,Active,2020-01-01,M1,"],
            2: ["E1,Ann,Terminated,2020-01-01,M1,02.03.2026", "E2,Bob,Active,2020-01-01,M9,30.02.2026"],
            3: ["E1,Ann,Terminated,2020-01-01,M1,2026-03-02", "E2,Bob,Active,2020-01-01,M9,"]}
    for n, rows in days.items():
        (tmp_path / f"w-2026-03-0{n}.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    day = {n: tmp_path / f"w-2026-03-0{n}.csv" for n in days}
    code, events, dead = run(tmp_path, mapping, day[2], day[1], "--baseline-out", str(tmp_path / "next.csv"),
                             name="day2")
    assert (code, events, [d["employee_id"] for d in dead]) == (ROWS_REFUSED, [], ["E1", "E2"])
    assert f"wrote {tmp_path / 'next.csv'} (2 rows, 2 of them the previous export's, for rows refused today)" in \
        capsys.readouterr().out
    code, events, _ = run(tmp_path, mapping, day[3], tmp_path / "next.csv", "--previous-as-of", "2026-03-02",
                          name="day3")
    assert code == 0
    assert brief(events) == [
        ("E1", "hris.employee.terminated", {"date": "2026-03-02", "reason": None}),
        ("E2", "hris.employee.upserted", {"manager_id": "M9"}),
        ("E2", "hris.manager.changed", {"old_manager_id": "M1", "new_manager_id": "M9"})]
    # as the job copied it before: the export of day 2 as day 3's baseline, and nothing is announced
    code, events, _ = run(tmp_path, mapping, day[3], day[2], "--previous-as-of", "2026-03-02", name="copied")
    assert (code, events) == (ROWS_REFUSED, [])


def test_someone_back_after_leaving_gets_their_whole_profile_and_is_onboarded(tmp_path: Path) -> None:
    """An HRIS administrator's audit (2026-12-06): a first import loads nobody who has left, and an erasure forgets
    a leaver, so the engine may hold no profile of someone who comes back. A rehire's upsert carried only the fields
    that changed (the hire date): no email, no employment type, and the onboarding journey's audience failed, so
    the returning employee was never welcomed. Back from terminated or rescinded, the upsert is the whole profile."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(ABSENT_MAPPING.replace("absent: terminated\n", "").replace(
        "manager_id: manager}", "manager_id: manager, email: email, employment_type: type}").replace(
        "Pending: pending}", "Pending: pending, Terminated: terminated, Rescinded: rescinded}"), encoding="utf-8")
    header = "id,name,status,start,manager,email,type"
    rows = [["E1,Ann,Terminated,2019-01-07,M1,ann@example.com,employee",
             "E2,Bob,Rescinded,2026-12-14,M1,bob@example.com,employee",
             "M1,Max,Active,2015-01-05,,max@example.com,employee"],
            ["E1,Ann,Active,2026-12-02,M1,ann@example.com,employee",
             "E2,Bob,Pending,2026-12-14,M1,bob@example.com,employee",
             "M1,Max,Active,2015-01-05,,max@example.com,employee"]]
    days = []
    for n, day in enumerate(rows, start=1):
        days.append(tmp_path / f"bob-2026-12-{n:02d}.csv")
        days[-1].write_text("\n".join([header, *day]) + "\n", encoding="utf-8")
    first = run(tmp_path, mapping, days[0], name="first")[1]
    assert [e["subject"] for e in first] == ["M1"]  # nobody who has left is loaded
    code, events, _ = run(tmp_path, mapping, days[1], days[0], name="second")
    assert code == 0
    back = {"email": "ann@example.com", "employment_type": "employee", "given_name": "Ann", "manager_id": "M1",
            "start_date": "2026-12-02"}
    assert brief(events) == [
        ("E1", "hris.employee.upserted", back),
        ("E1", "hris.employee.hired", {"start_date": "2026-12-02", "role": None, "department": None,
                                       "location": None, "manager_id": "M1"}),
        ("E1", "hris.employee.started", {"date": "2026-12-02"}),
        ("E2", "hris.employee.upserted", back | {"email": "bob@example.com", "given_name": "Bob",
                                                 "start_date": "2026-12-14"}),
        ("E2", "hris.employee.hired", {"start_date": "2026-12-14", "role": None, "department": None,
                                       "location": None, "manager_id": "M1"})]
    out = tmp_path / "sim"
    (tmp_path / "all.jsonl").write_text("".join(json.dumps(e) + "\n" for e in first + events), encoding="utf-8")
    assert main(["simulate", "--events", str(tmp_path / "all.jsonl"), "--out", str(out),
                 "--until", "2026-12-03T12:00:00Z"]) == 0
    welcomed = {(m["employee_id"], m["step_id"]) for m in read_jsonl(out / "messages.jsonl")
                if m["journey_id"] == "onboarding" and m["status"] == "sent"}
    assert {("E1", "welcome"), ("E2", "welcome")} <= welcomed


def test_an_export_with_no_rows_or_most_people_missing_stops_the_import(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An HRIS administrator's audit (2026-12-06): a report that came back with its header alone (its filter or
    permissions changed) was imported with exit 0: every hire under way was rescinded (their onboarding ended), the
    daily job kept the empty export as its baseline, and the next day's full export announced those hires with the
    ids just taken back, which the engine drops: they were never welcomed. With ``absent: terminated`` it terminated
    everyone. An export with no rows, or lacking more than half of those working in the previous one (and at least
    ten), stops the import (exit 1), writing no events and no baseline."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(ABSENT_MAPPING, encoding="utf-8")
    header = "id,name,status,start,manager"
    people = [f"E{n:02d},P,Active,2020-01-01,M1" for n in range(30)]
    yesterday, empty, cut, fewer = (tmp_path / f"{name}-2026-12-0{n}.csv" for n, name in
                                    ((1, "full"), (2, "empty"), (2, "cut"), (2, "fewer")))
    yesterday.write_text("\n".join([header, "N1,New,Pending,2026-12-14,M1", *people]) + "\n", encoding="utf-8")
    empty.write_text(header + "\n", encoding="utf-8")
    cut.write_text("\n".join([header, "N1,New,Pending,2026-12-14,M1", *people[:10]]) + "\n", encoding="utf-8")
    fewer.write_text("\n".join([header, "N1,New,Pending,2026-12-14,M1", *people[:16]]) + "\n", encoding="utf-8")
    baseline = tmp_path / "next.csv"
    for current, said in [(empty, f"{empty}: the export has no rows, and {yesterday} has 31 employees working"),
                          (cut, f"{cut}: the export lacks 20 of the 31 employees working in {yesterday}")]:
        out = tmp_path / "events.jsonl"
        code = main(["import", "snapshot", "--previous", str(yesterday), "--current", str(current), "--mapping",
                     str(mapping), "--out", str(out), "--baseline-out", str(baseline)])
        err = capsys.readouterr().err
        assert (code, out.exists(), baseline.exists()) == (1, False, False)
        assert err.startswith(f"wayfinder import: {said}: an export cut short, or a report that lost rows (its "
                              "filter or permissions changed), not that many departures or rescinded hires. Nothing "
                              f"was compared and {out} was not written")
    code = main(["import", "snapshot", "--current", str(empty), "--mapping", str(mapping), "--out",
                 str(tmp_path / "first.jsonl")])
    assert code == 1
    assert f"{empty}: the export has no rows." in capsys.readouterr().err
    # ids written otherwise (a spreadsheet dropped the leading zeros: 00017 is 17) are pointed to
    zeros = tmp_path / "zeros-2026-12-02.csv"
    zeros.write_text("\n".join([header, "N1,New,Pending,2026-12-14,M1", *(p.replace("E", "", 1).lstrip("0")
                                                                            for p in people)]) + "\n", encoding="utf-8")
    assert run(tmp_path, mapping, zeros, yesterday)[0] == 1
    said = capsys.readouterr().err
    assert f"{zeros}: the export lacks 30 of the 31 employees working in {yesterday}: an export cut short" in said
    assert f"employees {yesterday} has not: are its ids written otherwise (leading zeros a spreadsheet dropped, " \
        "another id column)? Nothing was compared" in said
    # fewer than half gone is read as before: those missing leave (absent: terminated), nobody's hire is rescinded
    code, events, _ = run(tmp_path, mapping, fewer, yesterday)
    assert code == 0
    assert {e["type"] for e in events} == {"hris.employee.terminated"}
    assert len(events) == 14
    # a day on which they really are gone (a business sold, a filter changed on purpose): said on the command line
    code, events, _ = run(tmp_path, mapping, cut, yesterday, "--expect-many-gone", name="sold")
    assert code == 0
    assert [e["type"] for e in events] == ["hris.employee.terminated"] * 20


def test_an_empty_export_file_is_said_to_have_no_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An audit of issue 15 (2026-12-06): an empty CSV file (an export job that wrote nothing) was refused with
    "none of the id columns id is in the header; fix id_column in the mapping", which sent the operator to a
    mapping that was right. It is an export with no rows, as a header alone is; in either export, CSV or JSON."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(ABSENT_MAPPING, encoding="utf-8")
    full = tmp_path / "full-2026-12-01.csv"
    full.write_text("id,name,status,start,manager\nE1,P,Active,2020-01-01,M1\n", encoding="utf-8")
    for name, text in [("empty-2026-12-02.csv", ""), ("blank-2026-12-02.csv", "\n\n"),
                       ("empty-2026-12-02.jsonl", "")]:
        empty = tmp_path / name
        empty.write_text(text, encoding="utf-8")
        for previous, current in [(full, empty), (empty, full)]:
            out = tmp_path / "events.jsonl"
            code = main(["import", "snapshot", "--previous", str(previous), "--current", str(current), "--mapping",
                         str(mapping), "--out", str(out)])
            err = capsys.readouterr().err
            assert (code, out.exists()) == (1, False)
            assert err.startswith(f"wayfinder import: {empty}: the export has no rows (the file is empty). Nothing "
                                  f"was compared and {out} was not written"), err


def test_a_json_export_that_is_one_array_is_said_to_be(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An HRIS administrator's audit (2026-12-06): most HR systems' "JSON export" is one array. Read as JSON lines,
    each of its lines was a dead letter "not a JSON object (invalid JSON)" and the import said the export or the
    mapping had changed; written on one line, it was a single unreadable row, exit 65 and nobody imported."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(ABSENT_MAPPING, encoding="utf-8")
    rows = [{"id": f"E{n}", "name": "Åsa", "status": "Active", "start": "2020-01-01"} for n in range(12)]
    pretty, compact = tmp_path / "pretty-2026-12-02.json", tmp_path / "compact-2026-12-02.json"
    pretty.write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")
    compact.write_bytes(b"\xef\xbb\xbf" + json.dumps(rows).encode())
    for export in (pretty, compact):
        code, events, _ = run(tmp_path, mapping, export)
        assert (code, events) == (1, [])
        assert capsys.readouterr().err == (
            f"wayfinder import: {export}: the export is one JSON array, not JSON lines (one object per line); write "
            f"each record on a line of its own (jq -c '.[]' {export.name} > {export.stem}.jsonl), or export it as "
            "CSV\n")


def test_a_unix_time_in_the_file_name_is_no_export_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An HRIS administrator's audit (2026-12-06): an export named by the Unix time it was written at
    (employees_1796112000.csv, as SFTP drops often are) was dated 1796-11-20, the first eight digits taken for a date:
    every event was timed in 1796 (in local mean time), too old to enroll anyone, and the import said
    nothing. A date in a name is a year 1900..2199 not inside a longer number; else the import asks for --as-of."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(ABSENT_MAPPING, encoding="utf-8")
    rows = "id,name,status,start,manager\nE1,Ann,Active,2020-01-01,M1\n"
    stamped, dated = tmp_path / "employees_1796112000.csv", tmp_path / "employees_20261202053000.csv"
    for path in (stamped, dated):
        path.write_text(rows, encoding="utf-8")
    code, events, _ = run(tmp_path, mapping, stamped)
    assert (code, events) == (1, [])
    assert f"{stamped}: no export date: give --as-of" in capsys.readouterr().err
    code, events, _ = run(tmp_path, mapping, dated)
    assert (code, [e["time"] for e in events]) == (0, ["2026-12-02T00:00:00Z"])


def test_a_move_to_another_country_at_the_same_location_is_a_relocation(tmp_path: Path) -> None:
    """A remote worker's location says where they work ("Remote"), not where they live: moving from Germany to
    Portugal changes only the country (and the zone). That is a relocation (SPEC §2: ``new_country``), and the
    relocation journey is for them as for anyone who moves; before 2026-12-06 only the upsert was written."""
    header, *rows = WD_1.read_text(encoding="utf-8").splitlines()
    dana = next(r for r in rows if r.startswith("W1004,")).replace("Berlin Office", "Remote")
    previous, current = tmp_path / "workday-2026-03-01.csv", tmp_path / "workday-2026-03-02.csv"
    previous.write_text("\n".join([header, *rows[:3], dana, *rows[4:]]) + "\n", encoding="utf-8")
    moved = dana.replace(",Germany,Europe/Berlin,", ",Portugal,Europe/Lisbon,")
    current.write_text("\n".join([header, *rows[:3], moved, *rows[4:]]) + "\n", encoding="utf-8")
    code, events, dead = run(tmp_path, WD_MAP, current, previous)
    assert (code, dead) == (0, [])
    assert [e for e in brief(events) if e[0] == "W1004"] == [
        ("W1004", "hris.employee.upserted", {"country": "PT", "timezone": "Europe/Lisbon"}),
        ("W1004", "hris.employee.relocated", {"old_location": "Remote", "new_location": "Remote",
                                              "new_country": "PT", "new_timezone": "Europe/Lisbon",
                                              "old_country": "DE"}),
    ]
    # a journey on moves between countries starts for them (the engine takes old_country, an extension)
    journeys = tmp_path / "journeys"
    journeys.mkdir()
    (journeys / "country-move.yaml").write_text(COUNTRY_MOVE, encoding="utf-8")
    first = run(tmp_path, WD_MAP, previous, name="first")[1]
    (tmp_path / "all.jsonl").write_text("".join(json.dumps(e) + "\n" for e in first + events), encoding="utf-8")
    assert main(["simulate", "--events", str(tmp_path / "all.jsonl"), "--journeys", str(journeys),
                 "--out", str(tmp_path / "sim"), "--until", "2026-03-09T12:00:00Z"]) == 0
    assert [(m["employee_id"], m["status"], m["subject"]) for m in read_jsonl(tmp_path / "sim" / "messages.jsonl")
            ] == [("W1004", "sent", "Moved from DE to PT")]


COUNTRY_MOVE = """apiVersion: wayfinder/v1
kind: Journey
id: country-move
name: Moving between countries
owner: mobility@example.com
version: 1
status: active
trigger:
  event: hris.employee.relocated
  when: has(event.data.old_country) && event.data.old_country != event.data.new_country
steps:
  - id: hello
    send: {channel: intranet, subject: "Moved from {{ trigger.data.old_country }} to {{ employee.country }}",
           body: "Welcome."}
"""
