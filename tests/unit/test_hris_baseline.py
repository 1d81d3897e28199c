"""``import snapshot --baseline-out``: the next run's previous export, each refused row replaced by the previous one."""

from __future__ import annotations

import json
from pathlib import Path

from wayfinder.hris import Paths, load_mapping, run_import
from wayfinder.hris.baseline import Written
from wayfinder.hris.snapshot import Summary

MAPPING = """apiVersion: wayfinder/v1
kind: Mapping
source: hris/test
id_column: id
columns: {status: status, start_date: start, manager_id: manager, termination_date: term}
values: {status: {Active: active, Terminated: terminated}}
"""
HEADER = b"id,name,status,start,manager,term"


def _import(tmp_path: Path, previous: bytes | None, current: bytes, suffix: str = "csv") -> tuple[Summary, bytes]:
    """Import ``current`` (of 2026-03-02) against ``previous`` (of 2026-03-01); the baseline written, as bytes."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    before = tmp_path / f"x-2026-03-01.{suffix}"
    if previous is not None:
        before.write_bytes(previous)
    after = tmp_path / f"x-2026-03-02.{suffix}"
    after.write_bytes(current)
    out = tmp_path / f"next.{suffix}"
    summary = run_import(load_mapping(mapping), Paths(
        current=after, out=tmp_path / "e.jsonl", dead_letters=tmp_path / "d.jsonl",
        previous=before if previous is not None else None, baseline=out))
    return summary, out.read_bytes()


def test_a_refused_row_is_replaced_by_the_previous_row_byte_for_byte_in_its_place(tmp_path: Path) -> None:
    """The previous row is copied as the file has it (a quoted cell with a line break and its quotes, CRLF line
    ends); the current export's header, order, BOM and other rows are kept as they are, and its last row, without a
    line break, gets one."""
    previous = (b"\xef\xbb\xbf" + HEADER + b"\r\n" + b'E1,"Ann\r\nSmith",Active,2020-01-01,M1,\r\n'
                b"E2,Bob,Active,2020-01-01,M1,\r\n")
    current = (b"\xef\xbb\xbf" + HEADER + b"\r\n" + b"E2,Bob,Active,2020-01-01,M2,\r\n"
               b"E1,Ann Smith,Terminated,2020-01-01,M1,02.03.2026\r\n" + b'E3,"Cid",Active,2021-05-05,M1,')
    summary, written = _import(tmp_path, previous, current)
    assert summary.dead_letters == 1
    assert written == (b"\xef\xbb\xbf" + HEADER + b"\r\n" + b"E2,Bob,Active,2020-01-01,M2,\r\n"
                       b'E1,"Ann\r\nSmith",Active,2020-01-01,M1,\r\n' + b'E3,"Cid",Active,2021-05-05,M1,\r\n')
    assert summary.baseline == Written(rows=3, kept=1)


def test_a_refused_new_employee_is_left_out_and_so_is_a_row_of_no_one(tmp_path: Path) -> None:
    previous = HEADER + b"\nE1,Ann,Active,2020-01-01,M1,\n"
    current = (HEADER + b"\nE4,Dee,Active,2026-03-02,M1,someday\nE1,Ann,Active,2020-01-01,M2,\n"
               b",Nobody,Active,2026-03-02,M1,\nE5,Eve,Active,2026-03-02,M1,\n")
    summary, written = _import(tmp_path, previous, current)
    assert summary.dead_letters == 2
    assert written == HEADER + b"\nE1,Ann,Active,2020-01-01,M2,\nE5,Eve,Active,2026-03-02,M1,\n"
    _, written = _import(tmp_path, None, current)  # the first run: no previous export, the refused rows left out
    assert written == HEADER + b"\nE1,Ann,Active,2020-01-01,M2,\nE5,Eve,Active,2026-03-02,M1,\n"


def test_under_a_reordered_header_the_previous_row_is_kept_value_for_value(tmp_path: Path) -> None:
    """Columns in another order (allowed: each field still has its column): the previous row is written again under
    today's header, each value under its column; a column the previous export lacked (not one the mapping reads)
    is left blank."""
    previous = b"name,id,term,start,status,manager\n\"Ann, Jr\",E1,,2020-01-01,Active,M1\n"
    current = HEADER + b",desk\nE1,\"Ann, Jr\",Active,2020-01-01,M1,31.02.2026,4F\n"
    summary, written = _import(tmp_path, previous, current)
    assert summary.dead_letters == 1
    assert written == HEADER + b",desk\nE1,\"Ann, Jr\",Active,2020-01-01,M1,,\n"


def test_a_row_clashing_with_the_row_taken_is_left_out(tmp_path: Path) -> None:
    """Two rows of one employee with the same start date and other values: the first was taken, the other is a dead
    letter; the baseline keeps the one taken only, so the next run does not refuse the other again."""
    previous = HEADER + b"\nE1,Ann,Active,2020-01-01,M1,\n"
    current = HEADER + b"\nE1,Ann,Active,2020-01-01,M2,\nE1,Ann,Active,2020-01-01,M3,\n"
    summary, written = _import(tmp_path, previous, current)
    assert summary.dead_letters == 1
    assert written == HEADER + b"\nE1,Ann,Active,2020-01-01,M2,\n"


def test_the_missing_keep_their_previous_rows_when_the_export_has_rows_of_no_one_known(tmp_path: Path) -> None:
    """A stray quote swallowed the rows after it: no conclusion is drawn from absence, so the people missing keep
    their previous rows, after today's (the row with the stray quote is its guessed employee's: replaced in place)."""
    rows = [b"E1,Ann,Active,2020-01-01,M1,", b"E2,Bob,Active,2020-01-01,M1,", b"E3,Cid,Active,2021-05-05,M1,",
            b"E4,Dee,Active,2026-01-05,M1,"]
    previous = b"\n".join([HEADER, *rows]) + b"\n"
    current = b"\n".join([HEADER, rows[0].replace(b"M1", b"M2"), rows[1].replace(b"Bob", b'"Bob'), *rows[2:]]) + b"\n"
    summary, written = _import(tmp_path, previous, current)
    assert summary.torn[1] == 1
    assert written == b"\n".join([HEADER, rows[0].replace(b"M1", b"M2"), *rows[1:]]) + b"\n"


def test_json_lines_are_replaced_line_for_line(tmp_path: Path) -> None:
    """A JSON-lines export has no header: each refused line is replaced by the previous export's line of that
    employee, as written there (the BOM of that export's first line left out)."""
    ann = b'{"id": "E1", "status": "Active",   "start": "2020-01-01", "manager": "M1"}'
    previous = b"\xef\xbb\xbf" + ann + b"\n" + b'{"id": "E2", "status": "Active", "start": "2020-01-01"}\n'
    current = (b'{"id": "E2", "status": "Active", "start": "2020-01-01", "manager": "M9"}\n'
               + json.dumps({"id": "E1", "status": "Active", "start": "2020-01-01"}).encode()[:-1] + b",}\n")
    summary, written = _import(tmp_path, previous, current, "jsonl")
    assert summary.dead_letters == 1
    assert written == current.splitlines(keepends=True)[0] + ann + b"\n"
