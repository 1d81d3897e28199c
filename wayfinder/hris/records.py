"""Rows of an export read into records: the mapped fields of one employee, or a reason the row cannot be read.

A record is a plain dict of JSON values (dates as ISO strings), so it can be staged on disk as it is.
Reasons name the row, the column and the field, never the value: exports carry personal data.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError

from wayfinder.hris.mapping import LIST_FIELDS, PROFILE_FIELDS, STATUSES, Mapping
from wayfinder.journeys.events import LeaveType
from wayfinder.journeys.profile import ProfileUpdate

Record = dict[str, Any]
LEAVE_TYPES = frozenset(get_args(LeaveType))
_DEFAULT_STATUS = {s: s for s in STATUSES} | {"on leave": "leave", "inactive": "terminated"}
_DEFAULT_REASON = {"child": "birth", "spouse": "marriage"}


class RowError(ValueError):
    """Why a row cannot be read; names columns and fields, never values. ``employee`` is the id when it was read."""

    def __init__(self, reason: str, employee: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.employee = employee


@dataclass(frozen=True)
class Row:
    """One data row: its number as a spreadsheet shows it (the header is row 1), its cells, or why it failed."""

    number: int
    cells: dict[str, Any] | None
    problem: str | None = None


# -- reading files ------------------------------------------------------------------------------
def _lines(path: Path, on_bytes: Callable[[int], None] | None) -> Iterator[str]:
    with path.open("rb") as f:
        first = True
        for raw in f:
            if on_bytes is not None:
                on_bytes(len(raw))
            text = raw.decode("utf-8", errors="replace")
            if first:
                text, first = text.removeprefix("\ufeff"), False
            yield text


def _csv_rows(path: Path, mapping: Mapping, on_bytes: Callable[[int], None] | None) -> Iterator[Row]:
    reader = csv.reader(_lines(path, on_bytes), delimiter=mapping.delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return
    number = 1
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield Row(number, None, f"not readable as CSV ({e})")
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            yield Row(number, None, f"the row has {len(cells)} cells, the header has {len(header)}")
            continue
        yield Row(number, dict(zip(header, cells, strict=True)))


def _jsonl_rows(path: Path, on_bytes: Callable[[int], None] | None) -> Iterator[Row]:
    for number, line in enumerate(_lines(path, on_bytes), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            yield Row(number, None, "not a JSON object (invalid JSON)")
            continue
        if not isinstance(obj, dict):
            yield Row(number, None, f"not a JSON object (a {type(obj).__name__})")
            continue
        yield Row(number, obj)


def export_format(path: Path, mapping: Mapping) -> str:
    if mapping.format != "auto":
        return mapping.format
    return "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson", ".json") else "csv"


def read_rows(path: Path, mapping: Mapping, on_bytes: Callable[[int], None] | None = None) -> Iterator[Row]:
    """Every data row of an export, in file order, as cells by column name."""
    if export_format(path, mapping) == "jsonl":
        return _jsonl_rows(path, on_bytes)
    return _csv_rows(path, mapping, on_bytes)


def header_problem(path: Path, mapping: Mapping) -> str | None:
    """Why a CSV export cannot be imported at all (its id column is missing), or None."""
    if export_format(path, mapping) != "csv":
        return None
    with path.open(encoding="utf-8-sig", newline="") as f:
        header = next(csv.reader(f, delimiter=mapping.delimiter), [])
    names = {h.strip() for h in header}
    if not names & set(mapping.id_columns):
        return (f"{path}: none of the id columns {', '.join(mapping.id_columns)} is in the header; "
                "fix id_column in the mapping")
    return None


# -- cells to a record --------------------------------------------------------------------------
def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = (json.dumps(value) if isinstance(value, dict | list) else str(value)).strip()
    return text or None


def _cell(cells: dict[str, Any], columns: tuple[str, ...]) -> tuple[str, str | None]:
    """The first column present with a value, and that value; blank cells count as absent."""
    for column in columns:
        text = _text(cells.get(column))
        if text is not None:
            return column, text
    return (columns[0] if columns else ""), None


def _mapped(mapping: Mapping, field: str, value: str) -> str | None:
    table = mapping.values.get(field)
    if field == "status":
        table = {**_DEFAULT_STATUS, **(table or {})}
    if not table:
        return value
    if value in table:
        return table[value]
    folded = {k.casefold(): v for k, v in table.items()}
    return folded.get(value.casefold(), value)


def parse_date(text: str, formats: tuple[str, ...]) -> date | None:
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date, no time of day
        except ValueError:
            continue
    return None


def _date(mapping: Mapping, field: str, column: str, text: str) -> str:
    formats = mapping.date_formats(field)
    parsed = parse_date(text, formats)
    if parsed is None:
        msg = f"column {column} ({field}): matches none of the date formats {', '.join(formats)}; add one under dates"
        raise RowError(msg)
    return parsed.isoformat()


def _dependents(mapping: Mapping, column: str, text: str) -> list[list[str | None]]:
    """``child:2026-03-01[:adoption]`` entries, separated by the list separator."""
    found: list[list[str | None]] = []
    for entry in (e.strip() for e in text.split(mapping.list_separator)):
        if not entry:
            continue
        parts = [p.strip() for p in entry.split(":", 2)]
        if len(parts) < 2 or not parts[0]:
            msg = f"column {column} (dependents): an entry is not relationship:date[:reason]"
            raise RowError(msg)
        relationship = parts[0].casefold()
        when = _date(mapping, "dependents", column, parts[1])
        reason = parts[2].casefold() if len(parts) > 2 and parts[2] else _DEFAULT_REASON.get(relationship)
        found.append([relationship, when, reason])
    return sorted(found, key=lambda d: (d[0] or "", d[1] or ""))


def _value(mapping: Mapping, field: str, column: str, text: str) -> Any:
    value = _mapped(mapping, field, text)
    if value is None:
        return None
    if field == "dependents":
        return _dependents(mapping, column, value)
    if mapping.is_date(field):
        return _date(mapping, field, column, value)
    if field in LIST_FIELDS:
        return [v.strip() for v in value.split(mapping.list_separator) if v.strip()]
    if field == "status" and value not in STATUSES:
        msg = f"column {column} (status): a value that values.status does not map to one of {', '.join(STATUSES)}"
        raise RowError(msg)
    if field == "leave_type" and value not in LEAVE_TYPES:
        return "other"
    return value


def _check_profile(record: Record, columns: dict[str, str]) -> None:
    profile = {k: v for k, v in record.items() if k in PROFILE_FIELDS}
    try:
        ProfileUpdate.model_validate(profile)
    except ValidationError as e:
        err = e.errors(include_url=False, include_input=False)[0]
        field = str(err["loc"][0])
        msg = f"column {columns.get(field, '?')} ({field}): {err['msg']}"
        raise RowError(msg) from e


def to_record(mapping: Mapping, cells: dict[str, Any]) -> tuple[str | None, Record]:
    """The employee id and the record of one row; raises :class:`RowError` (the id, if read, is on it)."""
    _, employee = _cell(cells, mapping.id_columns)
    if employee is None:
        msg = f"no employee id (column {' or '.join(mapping.id_columns)} is blank or missing)"
        raise RowError(msg)
    record: Record = {}
    used: dict[str, str] = {}
    try:
        for field in mapping.columns:
            column, text = _cell(cells, mapping.columns_for(field))
            if text is None:
                continue
            value = _value(mapping, field, column, text)
            if value is not None:
                name = field.removeprefix("attributes.")
                record[name] = value
                used[name] = column
        _check_profile(record, used)
    except RowError as e:
        raise RowError(e.reason, employee) from None
    record.setdefault("status", "active")
    return employee, record
