"""Rows of an export read into records: the mapped fields of one employee, or a reason the row cannot be read.

A record is a plain dict of JSON values (dates as ISO strings), so it can be staged on disk as it is.
Reasons name the row, the column and the field, never the value: exports carry personal data.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError

from wayfinder.hris.mapping import LIST_FIELDS, PROFILE_FIELDS, STATUSES, Mapping
from wayfinder.journeys.events import EARLIEST, LATEST, DependentAdded, LeaveType
from wayfinder.journeys.profile import ProfileUpdate
from wayfinder.jsonrows import NotAnObject, json_lines

Record = dict[str, Any]
LEAVE_TYPES = frozenset(get_args(LeaveType))
DEPENDENT_REASONS = tuple(v for part in get_args(DependentAdded.model_fields["reason"].annotation)
                          for v in get_args(part))  # birth, adoption, foster, marriage: SPEC §2
# dates that may be open: HR systems write 9999-12-31 (SAP, Workday) or 0001-01-01 for "no end", which the engine
# cannot schedule (a dead letter there); such a placeholder is no date. termination_date is one unless terminated.
OPEN_ENDS = ("leave_expected_return_date", "leave_return_date")
_SCHEDULABLE = (EARLIEST.isoformat(), LATEST.isoformat())
_OUTSIDE = f"a date outside {_SCHEDULABLE[0]}..{_SCHEDULABLE[1]}, which Wayfinder cannot schedule"
_DEFAULT_STATUS = {s: s for s in STATUSES} | {"on leave": "leave", "inactive": "terminated"}
_DEFAULT_REASON = {"child": "birth", "spouse": "marriage"}
# how exports word a relationship, as SPEC §2 words it (a mapping's ``values.dependents`` adds its own)
_DEFAULT_RELATIONSHIP = {"son": "child", "daughter": "child", "husband": "spouse", "wife": "spouse"}


class Refusal(ValueError):
    """Why an HRIS input is refused: ``reason`` names columns and fields, never values (inputs carry personal data)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RowError(Refusal):
    """Why a row cannot be read. ``employee`` is the id when it was read; ``column`` the column whose cell could not
    be read, when one cell is the reason; ``code`` a short fixed word for the kind of reason, where the reader gives
    one (the intake's metrics count rejected webhook items by it: ``webhooks.REJECT_CODES``)."""

    def __init__(self, reason: str, employee: str | None = None, column: str | None = None,
                 code: str | None = None) -> None:
        super().__init__(reason)
        self.employee = employee
        self.column = column
        self.code = code


def _cell(column: str, field: str, what: str) -> RowError:
    """A cell that cannot be read: the reason names its column and field, never its value."""
    return RowError(f"column {column} ({field}): {what}", column=column)


@dataclass(frozen=True)
class Row:
    """One data row: its number as a spreadsheet shows it (the header is row 1), its cells, or why it failed.

    ``guess`` is, for a row that cannot be read, what stands where its id would be: only a guess, since a stray
    separator or a broken quote may have moved it (the import takes it only where the other export agrees).
    ``employee`` is, for a row whose cells were read but whose text was not all UTF-8, its id, where that id was
    read whole: the row is that employee's, like a row with a date in no listed format.
    ``torn`` is true for a CSV row that could not be split into the header's cells and ran over more than one
    line: a stray quote swallowed the line breaks after it, and with them rows of people that are in the file."""

    number: int
    cells: dict[str, Any] | None
    problem: str | None = None
    guess: str | None = None
    employee: str | None = None
    torn: bool = False


def _not_text(number: int, cells: dict[str, Any], problem: str, ids: tuple[str, ...], guess: str | None) -> Row:
    """A row read whole from text that is not all UTF-8: not imported; whose it is is known unless the invalid byte
    is in its id (then only ``guess``, what stands there, is)."""
    try:
        employee = _employee_id(cells, ids)
    except RowError:
        employee = None
    if employee is not None and "\ufffd" not in employee:
        return Row(number, None, problem, employee=employee)
    return Row(number, None, problem, guess)


# -- reading files ------------------------------------------------------------------------------
class _Lines:
    """The lines of an export as text, noting the lines that are not UTF-8.

    Such a line is still read (an invalid byte as U+FFFD), so the row it belongs to keeps its number and a guess
    of whose it is, but that row is not imported: its cells would hold a value the export does not."""

    def __init__(self, path: Path, on_bytes: Callable[[int], None] | None, *, keep: bool = False) -> None:
        self.path, self.on_bytes = path, on_bytes
        self.invalid: int | None = None  # where the first invalid byte is in its line, since :meth:`taken`
        self.kept: list[bytes] | None = [] if keep else None  # the lines' bytes since :meth:`bytes_taken`

    def __iter__(self) -> Iterator[str]:
        on_bytes = self.on_bytes
        with self.path.open("rb") as f:
            first = True
            for raw in f:
                if on_bytes is not None:
                    on_bytes(len(raw))
                if first:
                    raw, first = raw.removeprefix(b"\xef\xbb\xbf"), False
                if self.kept is not None:
                    self.kept.append(raw)
                try:
                    yield raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    if self.invalid is None:
                        self.invalid = e.start
                    yield raw.decode("utf-8", errors="replace")

    def taken(self) -> str | None:
        """Why the lines read since the last call cannot be imported, if one of them is not UTF-8."""
        invalid, self.invalid = self.invalid, None
        return None if invalid is None else f"not UTF-8 text (at byte {invalid} of the line)"

    def bytes_taken(self) -> bytes:
        """The bytes of the lines read since the last call, as the file has them (without a leading BOM)."""
        assert self.kept is not None  # noqa: S101 - only lines read with keep=True are kept
        text, self.kept[:] = b"".join(self.kept), []
        return text


def _csv_rows(path: Path, mapping: Mapping, on_bytes: Callable[[int], None] | None) -> Iterator[Row]:
    lines = _Lines(path, on_bytes)
    reader = csv.reader(lines, delimiter=mapping.delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return
    lines.taken()  # a header that is not UTF-8 is refused before (header_problem)
    places = [header.index(c) for c in mapping.id_columns if c in header]
    number = 1
    while True:
        number += 1
        line = reader.line_num
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            lines.taken()
            yield Row(number, None, f"not readable as CSV ({e})")
            continue
        not_text = lines.taken()
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            guess = next((t for i in places if i < len(cells) and (t := _text(cells[i]))), None)
            yield Row(number, None, f"the row has {len(cells)} cells, the header has {len(header)}", guess,
                      torn=reader.line_num - line > 1)
            continue
        by_name = dict(zip(header, cells, strict=True))
        if not_text is not None:
            yield _not_text(number, by_name, not_text, mapping.id_columns, None)
            continue
        yield Row(number, by_name)


def _json_guess(line: str, ids: tuple[str, ...]) -> str | None:
    """The value of the first ``"id": value`` (a string or a number) in a line that is not valid JSON."""
    for column in ids:
        if m := re.search(re.escape(json.dumps(column)) + r'\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?)', line):
            try:
                return _text(json.loads(m.group(1)))
            except ValueError:
                continue
    return None


def _jsonl_rows(path: Path, mapping: Mapping, on_bytes: Callable[[int], None] | None) -> Iterator[Row]:
    last = [""]
    lines = _Lines(path, on_bytes)

    def kept() -> Iterator[str]:
        for line in lines:
            last[0] = line
            yield line

    for number, obj in json_lines(kept()):
        if (not_text := lines.taken()) is not None:
            guess = _json_guess(last[0], mapping.id_columns)
            cells = {} if isinstance(obj, NotAnObject) else obj
            yield _not_text(number, cells, not_text, mapping.id_columns, guess)
        elif isinstance(obj, NotAnObject):
            found = "invalid JSON" if obj.found is None else f"a {obj.found}"
            guess = _json_guess(last[0], mapping.id_columns) if obj.found is None else None
            yield Row(number, None, f"not a JSON object ({found})", guess)
        else:
            yield Row(number, obj)


def export_format(path: Path, mapping: Mapping) -> str:
    if mapping.format != "auto":
        return mapping.format
    return "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson", ".json") else "csv"


def read_rows(path: Path, mapping: Mapping, on_bytes: Callable[[int], None] | None = None) -> Iterator[Row]:
    """Every data row of an export, in file order, as cells by column name."""
    if export_format(path, mapping) == "jsonl":
        return _jsonl_rows(path, mapping, on_bytes)
    return _csv_rows(path, mapping, on_bytes)


def raw_rows(path: Path, mapping: Mapping) -> Iterator[tuple[int, bytes]]:
    """Every row of an export as its bytes in the file (a CSV row's line breaks with it, a quoted cell's too),
    numbered as :func:`read_rows` numbers them: a CSV header is row 1 (a leading BOM is left out). Blank rows too."""
    lines = _Lines(path, None, keep=True)
    if export_format(path, mapping) == "jsonl":
        for number, _ in enumerate(lines, start=1):
            yield number, lines.bytes_taken()
        return
    reader = csv.reader(lines, delimiter=mapping.delimiter)
    for number in itertools.count(1):
        try:
            next(reader)
        except StopIteration:
            return
        except csv.Error:
            pass
        yield number, lines.bytes_taken()


def csv_header(path: Path, mapping: Mapping) -> list[str] | None:
    """The column names of a CSV export (None for JSON lines, whose rows name their fields each)."""
    if export_format(path, mapping) != "csv":
        return None
    return [h.strip() for h in next(csv.reader(_Lines(path, None), delimiter=mapping.delimiter), [])]


def _spelling(name: str) -> str:
    return "".join(c for c in name.casefold() if c not in "_- .")


def _respelt(columns: Iterable[str], names: Iterable[str]) -> str:
    """``; the export has worker_status ...`` when a name there is one of ``columns`` but for case, underscores,
    hyphens, dots or spaces, else nothing. Only such a name is pointed to, never a look-alike: a header that is a
    row of data (an export saved without one) cannot be told by its cells, which are a person's."""
    wanted = {_spelling(c) for c in columns}
    near = sorted(n for n in set(names) if _spelling(n) in wanted and n not in columns)
    if not near:
        return ""
    return (f"; it has {near[0]}, the same name but for case or separators (names are compared exactly: write "
            "that spelling in the mapping, or add it to the list)")


def columns_dropped(previous: Path, current: Path, mapping: Mapping) -> str | None:
    """Why two CSV exports cannot be compared: a field the mapping reads has a column in one header and none in the
    other (a renamed or dropped column reads as blank in every row, so its values would all seem to change: a
    status column gone reads as everyone active, ending leaves and taking back terminations). None when each field
    has its columns in both headers or in neither."""
    headers = csv_header(previous, mapping), csv_header(current, mapping)
    if headers[0] is None or headers[1] is None:
        return None
    before, now = set(headers[0]), set(headers[1])
    for field in mapping.columns:
        columns = mapping.columns_for(field)
        had, has = bool(before & set(columns)), bool(now & set(columns))
        if had != has:
            which, where = (previous, current) if had else (current, previous)
            named = " or ".join(columns)
            return (f"{where}: no column {named} (the mapping's column for {field}), which {which} has; "
                    f"rename it back in the export, or add its new name to the mapping ({field}: [old, new])"
                    + _respelt(columns, headers[1] if had else headers[0]))
    return None


def respelt(path: Path, names: Iterable[str], mapping: Mapping, *, key: bool = False) -> str | None:
    """Why an export is refused whatever the other export says (or with none): a field the mapping reads has none
    of its columns (JSON keys) in the export, which has one of them spelt otherwise only in case or separators. It
    would read as blank in every row: a first import, or one whose previous export was the same, took a ``Status``
    column for the mapping's ``status`` as no status at all, everyone active. Names are compared exactly, as the
    refusals above compare them; only such a respelling is refused, never a column merely missing."""
    present = set(names)
    for field in mapping.columns:
        columns = mapping.columns_for(field)
        if present & set(columns):
            continue
        if near := _respelt(columns, present):
            what = "record has the key" if key else "column"
            return (f"{path}: no {what} {' or '.join(columns)} (the mapping's column for {field}), so it would read "
                    f"as blank in every row{near}")
    return None


def _text_problem(path: Path) -> str | None:
    """Why an export is not lines of UTF-8 text, told from its first line: UTF-16 (Excel's "Unicode Text"), or
    lines ended by a carriage return alone (Excel for Mac's "CSV (Macintosh)"). Either read as one line with NUL
    bytes or line breaks inside it, and the csv module stopped the import with a traceback."""
    with path.open("rb") as f:
        first = f.readline(1 << 20)
    if first.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in first:
        return f"{path}: the export is UTF-16 text (or has NUL bytes); save the export as UTF-8"
    if b"\r" in first.removesuffix(b"\r\n"):
        return (f"{path}: its lines end in a carriage return alone (as \"CSV (Macintosh)\" saves them); save the "
                "export as UTF-8 with LF or CRLF line endings")
    return None


class Keys:
    """How many records of a JSON-lines export carry each key: such an export has no header, so what
    :func:`columns_dropped` tells from two headers is told from these, counted as the rows are read."""

    def __init__(self) -> None:
        self.records = 0
        self.count: Counter[str] = Counter()

    def add(self, cells: dict[str, Any]) -> None:
        self.records += 1
        self.count.update(cells.keys())


def keys_dropped(previous: Path, current: Path, keys: tuple[Keys, Keys], mapping: Mapping) -> str | None:
    """Why two JSON-lines exports cannot be compared: a field the mapping reads has a key in every record of the
    previous export and in no record of the current one (renamed or dropped: read as blank in every row, as a
    CSV column gone is). A key only some records carry (a termination date) may go with them: not refused."""
    before, now = keys
    if before.records == 0 or now.records == 0:
        return None
    for name in mapping.columns:
        columns = mapping.columns_for(name)
        had = any(before.count[c] == before.records for c in columns)
        if had and not any(now.count[c] for c in columns):
            named = " or ".join(columns)
            return (f"{current}: no record has the key {named} (the mapping's column for {name}), which every "
                    f"record of {previous} has; rename it back in the export, or add its new name to the mapping "
                    f"({name}: [old, new])" + _respelt(columns, (k for k, n in now.count.items() if n)))
    return None


def _json_array(path: Path) -> str | None:
    """Why a JSON export is not JSON lines: it is one JSON array (what many HR systems call a JSON export). Read line
    by line, each line was a row that is not an object, and the import said the export or the mapping had changed."""
    with path.open("rb") as f:
        start = f.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip()
    if not start.startswith(b"["):
        return None
    return (f"{path}: the export is one JSON array, not JSON lines (one object per line); write each record on a "
            f"line of its own (jq -c '.[]' {path.name} > {path.stem}.jsonl), or export it as CSV")


def header_problem(path: Path, mapping: Mapping) -> str | None:
    """Why an export cannot be imported at all (it is not lines of UTF-8 text; a CSV header is not UTF-8 or lacks
    the id column), or None."""
    if problem := _text_problem(path):
        return problem
    if export_format(path, mapping) != "csv":
        return _json_array(path)
    lines = _Lines(path, None)
    try:
        header = next(csv.reader(lines, delimiter=mapping.delimiter), [])
    except csv.Error as e:  # the csv module's reason names no value
        return f"{path}: the header row is not readable as CSV ({e})"
    if (not_text := lines.taken()) is not None:  # a column name it spoils would read as blank in every row
        return f"{path}: the header row is {not_text}; save the export as UTF-8"
    names = [h.strip() for h in header]
    read = {*mapping.id_columns, *(c for f in mapping.columns for c in mapping.columns_for(f))}
    if twice := sorted({n for n in names if n in read and names.count(n) > 1}):
        return (f"{path}: the column {twice[0]} is in the header {names.count(twice[0])} times, and which one to "
                "read cannot be told; keep one of them in the export")
    if not set(names) & set(mapping.id_columns):
        for other in (";", "\t", "|"):  # an export saved with another separator (Excel in German settings: ";")
            if other != mapping.delimiter and any(
                    n.strip() in mapping.id_columns for h in header for n in h.split(other)):
                return (f"{path}: the header's columns are separated by {other!r}, not {mapping.delimiter!r}; "
                        f"set delimiter: {other!r} in the mapping, or save the export with {mapping.delimiter!r}")
        return (f"{path}: none of the id columns {', '.join(mapping.id_columns)} is in the header; "
                "fix id_column in the mapping" + _respelt(mapping.id_columns, names))
    return None


# -- cells to a record --------------------------------------------------------------------------
def _text(value: Any) -> str | None:
    """A cell's text; a JSON number that is whole reads as an integer (``1.0`` is ``1``, as a CSV would say)."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()  # a number: objects, lists and true/false never get here (_scalar, _employee_id)
    return text or None


def _what(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, dict):
        return "an object"
    return "a list" if isinstance(value, list) else "a number that is not whole"


def id_text(value: Any) -> str | None:
    """An employee id as text: text, or a whole JSON number (a JSON export's ``"id": 7`` is ``7``, as a CSV writes
    it); None when absent or blank. True or false, an object, a list or a fraction is no id: ValueError saying
    which (never the value), so the row or item names nobody."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if value is None or isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return _text(value)
    raise ValueError(_what(value))


def _employee_id(cells: dict[str, Any], columns: tuple[str, ...]) -> str | None:
    """The id in the first id column with a value (blank cells count as absent), as :func:`id_text` reads it."""
    for column in columns:
        try:
            text = id_text(cells.get(column))
        except ValueError as e:
            raise _cell(column, "id", f"{e}, where an id (text or a whole number) is expected") from e
        if text is not None:
            return text
    return None


def _scalar(field: str, column: str, value: Any) -> str | None:
    """A JSON cell that is not text: a number reads as a CSV writes it (a whole one as an integer), but is no email
    address; true or false only in an attribute (as ``true`` / ``false``); an object in no field."""
    if isinstance(value, bool):
        if field.startswith("attributes."):
            return "true" if value else "false"
        raise _cell(column, field, "true or false, where text is expected")
    if isinstance(value, dict | list):
        raise _cell(column, field, f"{_what(value)}, where one value is expected")
    if field == "email":
        raise _cell(column, "email", "a number, where an address is expected")
    return _text(value)


def _first(cells: dict[str, Any], field: str, columns: tuple[str, ...]) -> tuple[str, str | list[str] | None]:
    """The first column present with a value, and that value; blank cells count as absent. The common case (CSV:
    every cell a string) is inline: it runs for every cell.

    A JSON list stays a list, of its items' texts (blank items dropped): a list field's values, as they are."""
    for column in columns:
        value = cells.get(column)
        if value is None:
            continue
        text: str | list[str] | None
        if value.__class__ is str:
            text = value.strip()
        elif isinstance(value, list):
            items = (v.strip() if isinstance(v, str) else _scalar(field, column, v) for v in value if v is not None)
            text = [t for t in items if t]
        else:
            text = _scalar(field, column, value)
        if text:
            return column, text
    return "", None


@lru_cache(maxsize=65536)
def parse_date(text: str, formats: tuple[str, ...]) -> date | None:
    """The date ``text`` is in the first of ``formats`` that reads it (exports repeat dates: cached)."""
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date, no time of day
        except ValueError:
            continue
    return None


@dataclass(frozen=True)
class _Plan:
    """How one mapped field is read, worked out once per mapping."""

    field: str
    name: str
    columns: tuple[str, ...]
    kind: str  # text, date, list, dependents, status, leave_type
    table: dict[str, str | None] | None
    folded: dict[str, str | None] | None
    formats: tuple[str, ...]

    def mapped(self, value: str) -> str | None:
        if self.table is None or self.folded is None:
            return value
        if value in self.table:
            return self.table[value]
        return self.folded.get(value.casefold(), value)

    def date(self, column: str, text: str) -> str:
        parsed = parse_date(text, self.formats)
        if parsed is None:
            raise _cell(column, self.field, f"matches none of the date formats {', '.join(self.formats)}; add one "
                        "under dates")
        return parsed.isoformat()


def _kind(mapping: Mapping, field: str) -> str:
    if field in ("dependents", "status", "leave_type"):
        return field
    if mapping.is_date(field):
        return "date"
    return "list" if field in LIST_FIELDS else "text"


def _plan(mapping: Mapping, field: str) -> _Plan:
    table = mapping.values.get(field)
    if field == "status":
        table = {**_DEFAULT_STATUS, **(table or {})}
    folded = {k.casefold(): v for k, v in table.items()} if table else None
    return _Plan(field, field.removeprefix("attributes."), mapping.columns_for(field), _kind(mapping, field),
                 table or None, folded, mapping.date_formats(field))


class RowReader:
    """Reads rows of one mapping's exports into records (the mapping worked out once, not per row).

    ``blank_status`` is the status of a row whose status cell is blank (or that has no status column); None leaves
    it out of the record, for the snapshot import to take from the other export (a blank cell is no change)."""

    def __init__(self, mapping: Mapping, *, blank_status: str | None = "active") -> None:
        self.mapping = mapping
        self.blank_status = blank_status
        self.ids = mapping.id_columns
        self.plans = [_plan(mapping, f) for f in mapping.columns]
        self.dates = [(p.name, p.field) for p in self.plans if p.kind == "date"]
        self.separator = mapping.list_separator

    def _dependents(self, plan: _Plan, column: str, entries: list[str]) -> list[list[str | None]]:
        """``child:2026-03-01[:adoption]`` entries (of a cell, split on the list separator, or of a JSON list)."""
        found: list[list[str | None]] = []
        for entry in (e.strip() for e in entries):
            if not entry:
                continue
            parts = [p.strip() for p in entry.split(":", 2)]
            if len(parts) < 2 or not parts[0]:
                raise _cell(column, "dependents", "an entry is not relationship:date[:reason]")
            relationship = parts[0].casefold()
            if plan.folded is not None and relationship in plan.folded:
                mapped = plan.folded[relationship]
                if mapped is None:  # the mapping says this is no dependent a journey reads (a parent, say)
                    continue
                relationship = mapped.casefold()
            else:
                relationship = _DEFAULT_RELATIONSHIP.get(relationship, relationship)
            when = plan.date(column, parts[1])
            if not _SCHEDULABLE[0] <= when <= _SCHEDULABLE[1]:
                raise _cell(column, "dependents", f"an entry has {_OUTSIDE}")
            reason = parts[2].casefold() if len(parts) > 2 and parts[2] else _DEFAULT_REASON.get(relationship)
            if reason is not None and reason not in DEPENDENT_REASONS:  # the engine refuses the event: invalid_data
                raise _cell(column, "dependents",
                            f"an entry's reason is not one of {', '.join(DEPENDENT_REASONS)} (SPEC §2)")
            found.append([relationship, when, reason])
        return sorted(found, key=lambda d: (d[0] or "", d[1] or ""))

    def _listed(self, plan: _Plan, column: str, items: list[str]) -> Any:
        """A JSON list: each item a value of a list field (mapped one by one), or an entry of ``dependents``."""
        if plan.kind == "list":
            return [v for v in map(plan.mapped, items) if v is not None]
        if plan.kind == "dependents":
            return self._dependents(plan, column, items)
        raise _cell(column, plan.field, "a list, where one value is expected")

    def _value(self, plan: _Plan, column: str, text: str | list[str]) -> Any:
        if isinstance(text, list):
            return self._listed(plan, column, text)
        value = plan.mapped(text)
        if value is None or plan.kind == "text":
            return value
        if plan.kind == "date":
            return plan.date(column, value)
        if plan.kind == "list":
            return [v.strip() for v in value.split(self.separator) if v.strip()]
        if plan.kind == "dependents":
            return self._dependents(plan, column, value.split(self.separator))
        if plan.kind == "status" and value not in STATUSES:
            raise _cell(column, "status", f"a value that values.status does not map to one of {', '.join(STATUSES)}")
        if plan.kind == "leave_type" and value not in LEAVE_TYPES:
            return "other"
        return value

    def _placeholders(self, record: Record, columns: dict[str, str]) -> None:
        """Dates the engine cannot schedule (it dead-letters the whole event: a leave lost for its expected return
        9999-12-31). An open end (:data:`OPEN_ENDS`, or the termination date of someone not terminated) is no date,
        so it is left out; any other such date makes the row a dead letter, naming its column and field."""
        for name, field in self.dates:
            value = record.get(name)
            if not isinstance(value, str) or _SCHEDULABLE[0] <= value <= _SCHEDULABLE[1]:
                continue
            if name in OPEN_ENDS or (name == "termination_date" and record.get("status") != "terminated"):
                del record[name]
                continue
            raise _cell(columns[name], field, _OUTSIDE)

    def read(self, cells: dict[str, Any]) -> tuple[str, Record]:
        """The employee id and the record of one row; raises :class:`RowError` (with the id, if read)."""
        employee = _employee_id(cells, self.ids)
        if employee is None:
            msg = f"no employee id (column {' or '.join(self.ids)} is blank or missing)"
            raise RowError(msg)
        record: Record = {}
        used: dict[str, str] = {}
        try:
            for plan in self.plans:
                column, text = _first(cells, plan.field, plan.columns)
                if text is None:
                    continue
                value = self._value(plan, column, text)
                if value is not None:
                    record[plan.name] = value
                    used[plan.name] = column
            self._placeholders(record, used)
            _check_profile(record, used)
        except RowError as e:
            raise RowError(e.reason, employee, e.column) from None
        if self.blank_status is not None:
            record.setdefault("status", self.blank_status)
        return employee, record


def _check_profile(record: Record, columns: dict[str, str]) -> None:
    profile = {k: v for k, v in record.items() if k in PROFILE_FIELDS}
    try:
        ProfileUpdate.model_validate(profile)
    except ValidationError as e:
        err = e.errors(include_url=False, include_input=False)[0]
        field = str(err["loc"][0])
        column = columns.get(field)
        raise (_cell(column, field, err["msg"]) if column else RowError(f"column ? ({field}): {err['msg']}")) from e


def to_record(mapping: Mapping, cells: dict[str, Any]) -> tuple[str, Record]:
    """One row read with ``mapping`` (for many rows, build a :class:`RowReader` once)."""
    return RowReader(mapping).read(cells)
