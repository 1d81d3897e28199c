"""``wayfinder import snapshot``: two exports in, the events that explain the difference out.

Both exports are streamed into one SQLite file on disk (a temporary folder), indexed by employee id,
and read back in id order side by side (a merge join), so memory stays flat whatever the export's size.
"""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from wayfinder.hris.baseline import Written, write_baseline
from wayfinder.hris.diff import WORKING, Change, Context, baseline, compare, to_event, unannounced
from wayfinder.hris.mapping import Mapping
from wayfinder.hris.records import (
    Keys,
    Record,
    RowError,
    RowReader,
    columns_dropped,
    csv_header,
    export_format,
    header_problem,
    keys_dropped,
    read_rows,
    respelt,
)

BATCH = 5000
SHOWN = 20  # the refused rows an import lists as file:row:column (all of them are in the dead letters)
MOSTLY_UNREAD = 10  # with more than half of its rows: an export that unreadable stops the import
# a date in a file name: a year 1900..2199 not inside a longer number (employees_1796112000.csv, a Unix time, is no
# export of 1796-11-20), then its month and day
_DATE_IN_NAME = re.compile(r"(?<!\d)((?:19|20|21)\d{2})-?(\d{2})-?(\d{2})")


class SnapshotError(RuntimeError):
    """The import cannot run at all (a missing file, no id column, no export date)."""


@dataclass
class Summary:
    """What an import read and what it found."""

    previous_rows: int = 0
    current_rows: int = 0
    employees: int = 0
    events: Counter[str] = field(default_factory=Counter)
    dead_letters: int = 0
    duplicates: int = 0
    superseded: int = 0
    absent: int = 0
    unreadable: int = 0
    unidentified: list[int] = field(default_factory=lambda: [0, 0])
    torn: list[int] = field(default_factory=lambda: [0, 0])
    held_back: int = 0
    unannounced: int = 0
    as_of: datetime | None = None
    baseline: Written | None = None
    refused: list[str] = field(default_factory=list)
    """The first :data:`SHOWN` dead letters as ``path:row:column: reason`` (no column where no one cell is why)."""

    def lines(self) -> list[str]:
        out = [f"compared {self.previous_rows:,} previous and {self.current_rows:,} current rows "
               f"({self.employees:,} employees), as of {self.as_of.isoformat() if self.as_of else '?'}"]
        for kind, n in sorted(self.events.items()):
            out.append(f"  {n:>9,}  {kind}")
        if not self.events:
            out.append("  no changes")
        notes = [(self.dead_letters, "rows could not be read (dead letters)"),
                 (self.duplicates, "duplicate rows ignored"),
                 (self.superseded, "rows of an earlier employment ignored (rehires)"),
                 (self.unreadable, "employees whose row could not be read in one export (no events for them)"),
                 (self.absent, "employees missing from the current export (absent: ignore)"),
                 (self.unidentified[0], "rows of the previous export could not be read, nor whose they are"),
                 (self.unidentified[1], "rows of the current export could not be read, nor whose they are"),
                 (self.torn[0], "rows of the previous export could not be split into the header's cells over "
                                "several lines (a stray quote): the rows they swallowed are of unknown employees"),
                 (self.torn[1], "rows of the current export could not be split into the header's cells over "
                                "several lines (a stray quote): the rows they swallowed are of unknown employees"),
                 (self.held_back, "employees missing from the current export: no conclusion (it has rows of "
                                  "unknown employees)"),
                 (self.unannounced, "employees new since the previous export, started before it: not announced "
                                    "as hired (it has rows of unknown employees, or they started more than 60 "
                                    "days before it: back after a missing row)")]
        out.extend(f"  {n:>9,}  {text}" for n, text in notes if n)
        return out


class _Progress:
    """A one-line progress bar on a terminal; silent elsewhere."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream if stream is not None and stream.isatty() else None
        self.label, self.done, self.total, self.shown = "", 0, 1, 0.0

    def start(self, label: str, total: int) -> None:
        self.label, self.done, self.total, self.shown = label, 0, max(total, 1), 0.0
        self.draw(force=True)

    def add(self, n: int) -> None:
        self.done += n
        self.draw()

    def draw(self, *, force: bool = False) -> None:
        if self.stream is None or (not force and time.monotonic() - self.shown < 0.2):
            return
        self.shown = time.monotonic()
        part = min(self.done / self.total, 1.0)
        bar = "#" * int(30 * part)
        self.stream.write(f"\r  {self.label:<22} [{bar:<30}] {part:4.0%}")
        self.stream.flush()

    def finish(self) -> None:
        if self.stream is not None:
            self.done = self.total
            self.draw(force=True)
            self.stream.write("\n")


@dataclass
class _Sides:
    mapping: Mapping
    db: sqlite3.Connection
    dead: TextIO
    summary: Summary
    progress: _Progress
    exports: tuple[Path | None, Path]
    as_of_seen: dict[int, str] = field(default_factory=dict)
    keys: tuple[Keys, Keys] = field(default_factory=lambda: (Keys(), Keys()))
    unread: tuple[Counter[str], Counter[str]] = field(default_factory=lambda: (Counter(), Counter()))
    """Per export, the rows that could not be read, by reason (reasons name columns, never values)."""

    def dead_letter(self, side: int, row: int, reason: str, employee: str | None, column: int | None = None) -> None:
        """A row of the previous (``side`` 0) or current export not imported; ``column`` is the place in the CSV
        header (1 for its first column) of the one cell that is why, when one is."""
        path = self.exports[side]
        assert path is not None  # noqa: S101 - only an export that was given has rows
        self.dead.write(json.dumps({"file": path.name, "row": row, "employee_id": employee, "reason": reason}) + "\n")
        self.summary.dead_letters += 1
        self.db.execute("INSERT INTO refused VALUES (?, ?)", (side, row))
        if len(self.summary.refused) < SHOWN:
            self.summary.refused.append(f"{path}:{row}{f':{column}' if column else ''}: {reason}")


def _stage(sides: _Sides, side: int, path: Path) -> int:
    """Read one export into the staging table; returns the rows read.

    A row that cannot be read but names an employee is staged without a record: that employee gets no event.
    A row read with only a guess of its id (:attr:`Row.guess`) is staged with its problem and settled later."""
    sides.progress.start(f"reading {path.name}"[:22], path.stat().st_size)
    batch: list[tuple[int, str, int, str | None, str | None]] = []
    reader = RowReader(sides.mapping, blank_status=None)  # settled by _statuses, beside the other export
    keys = sides.keys[side] if export_format(path, sides.mapping) == "jsonl" else None
    places = {name: n for n, name in enumerate(csv_header(path, sides.mapping) or [], start=1)}
    count = 0
    for row in read_rows(path, sides.mapping, sides.progress.add):
        count += 1
        if keys is not None and row.cells is not None:
            keys.add(row.cells)
        sides.summary.torn[side] += row.torn  # even when its guess is taken, the rows it swallowed are unknown
        try:
            if row.cells is None:
                if row.employee is not None:
                    raise RowError(row.problem or "unreadable", row.employee)
                if row.guess is not None:
                    batch.append((side, row.guess, row.number, None, row.problem))
                    continue
                sides.summary.unidentified[side] += 1
                raise RowError(row.problem or "unreadable")
            employee, record = reader.read(row.cells)
            if "as_of" in record:
                sides.as_of_seen.setdefault(side, record.pop("as_of"))
            batch.append((side, employee, row.number, json.dumps(record, separators=(",", ":")), None))
        except RowError as e:
            sides.dead_letter(side, row.number, e.reason, e.employee, places.get(e.column or ""))
            sides.unread[side][e.reason] += 1
            if e.employee is not None:
                batch.append((side, e.employee, row.number, None, None))
        finally:
            if len(batch) >= BATCH:
                sides.db.executemany("INSERT INTO rows VALUES (?, ?, ?, ?, ?)", batch)
                batch.clear()
    sides.db.executemany("INSERT INTO rows VALUES (?, ?, ?, ?, ?)", batch)
    sides.progress.finish()
    return count


def _mostly_unread(path: Path, rows: int, unread: Counter[str], paths: Paths) -> str | None:
    """An export more than half of whose rows (and at least :data:`MOSTLY_UNREAD` of them) could not be read has
    changed its format (a date column written another way, a renamed status value), not its people: comparing it
    would say nothing of most employees, and the daily job would keep it as the next day's baseline, so that day's
    changes were never announced either. A few bad rows of a small export are messy rows, read as before."""
    count = sum(unread.values())
    if count * 2 <= rows or count < MOSTLY_UNREAD:
        return None
    reason, times = unread.most_common(1)[0]
    return (f"{path}: {count:,} of its {rows:,} rows could not be read ({times:,} of them: {reason}); the export or "
            f"the mapping has changed. Nothing was compared and {paths.out} was not written; the rows are in "
            f"{paths.dead_letters}. Fix the mapping (or the export) and run the import again")


def _mostly_gone(sides: _Sides, paths: Paths) -> str | None:
    """An export with no rows, or missing more than half of those working in the previous export (and at least
    :data:`MOSTLY_UNREAD` of them), was cut short or lost rows (a report whose filter or permissions changed), not
    its people: compared, it rescinded every hire under way (and with ``absent: terminated`` terminated everyone
    missing), and the daily job kept it as the next baseline, so those hires came back with the ids taken back."""
    rows = sides.summary.current_rows
    if paths.previous is None:
        return None if rows else f"{paths.current}: the export has no rows. {_NOT_IMPORTED.format(out=paths.out)}"
    working, missing = sides.db.execute(
        "SELECT COUNT(*), COALESCE(SUM(NOT EXISTS (SELECT 1 FROM rows c WHERE c.side = 1 AND c.emp = p.emp)), 0)"
        " FROM (SELECT DISTINCT emp FROM rows WHERE side = 0 AND emp IS NOT NULL AND rec IS NOT NULL"
        " AND COALESCE(json_extract(rec, '$.status'), 'active') IN ('active', 'pending', 'leave')) p").fetchone()
    if not missing or (rows and (missing * 2 <= working or missing < MOSTLY_UNREAD)):
        return None
    if not rows:
        return (f"{paths.current}: the export has no rows, and {paths.previous} has {working:,} employees working: "
                f"{_CUT_SHORT}. " + _NOT_IMPORTED.format(out=paths.out))
    new = sides.db.execute(
        "SELECT COUNT(DISTINCT emp) FROM rows c WHERE side = 1 AND emp IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM rows p WHERE p.side = 0 AND p.emp = c.emp)").fetchone()[0]
    renamed = (f"; it has {new:,} employees {paths.previous} has not: are its ids written otherwise (leading zeros "
               "a spreadsheet dropped, another id column)?" if new * 2 >= missing else "")
    return (f"{paths.current}: the export lacks {missing:,} of the {working:,} employees working in {paths.previous}: "
            f"{_CUT_SHORT}{renamed or '.'} " + _NOT_IMPORTED.format(out=paths.out)
            + " (with --expect-many-gone if they are gone: a business sold, a filter changed on purpose)")


_CUT_SHORT = ("an export cut short, or a report that lost rows (its filter or permissions changed), not that many "
              "departures or rescinded hires")
_NOT_IMPORTED = "Nothing was compared and {out} was not written; check the export and run the import again"


def _settle_guesses(sides: _Sides) -> None:
    """Take a guessed id only where the other export has that employee and this one has no readable row of
    them (then it is most likely theirs); else the row is of an unknown employee, and absence means nothing."""
    guessed = sides.db.execute(
        "SELECT g.rowid, g.side, g.emp, g.row, g.problem,"
        " EXISTS (SELECT 1 FROM rows o WHERE o.side = 1 - g.side AND o.emp = g.emp)"
        " AND NOT EXISTS (SELECT 1 FROM rows s WHERE s.side = g.side AND s.emp = g.emp AND s.rec IS NOT NULL)"
        " FROM rows g WHERE g.problem IS NOT NULL ORDER BY g.side, g.row").fetchall()
    for _, side, employee, number, problem, taken in guessed:
        sides.dead_letter(side, number, problem, employee if taken else None)
        sides.unread[side][problem] += 1
        sides.summary.unidentified[side] += not taken
    sides.db.executemany("UPDATE rows SET emp = NULL WHERE rowid = ?", [(g[0],) for g in guessed if not g[5]])


def _grouped(db: sqlite3.Connection, side: int) -> Iterator[tuple[str, list[tuple[int, str | None]]]]:
    cursor = db.execute("SELECT emp, row, rec FROM rows WHERE side = ? AND emp IS NOT NULL ORDER BY emp, row",
                        (side,))
    for employee, rows in itertools.groupby(cursor, key=lambda r: r[0]):
        yield employee, [(r[1], r[2]) for r in rows]


UNREADABLE: Record = {"status": "unreadable"}


def _pick(sides: _Sides, side: int, employee: str, rows: list[tuple[int, str | None]]) -> Record:
    """One record per employee: the latest employment (rehires), the first of identical or clashing rows."""
    readable = [(n, text) for n, text in rows if text is not None]
    if not readable:
        return UNREADABLE
    records = [(n, text, json.loads(text)) for n, text in readable]
    latest = max((r.get("start_date") or "") for _, _, r in records)
    chosen = next(item for item in records if (item[2].get("start_date") or "") == latest)
    for n, text, rec in records:
        if n == chosen[0]:
            continue
        if text == chosen[1]:
            sides.summary.duplicates += 1
        elif (rec.get("start_date") or "") < latest:
            sides.summary.superseded += 1
        else:
            sides.dead_letter(side, n, f"another row ({chosen[0]}) has the same employee id and start date "
                                       "with other values; that row was used", employee)
    return chosen[2]  # type: ignore[no-any-return]


def _merged(sides: _Sides) -> Iterator[tuple[str, Record | None, Record | None]]:
    """Employees in id order with their previous and current record (None where an export lacks them)."""
    prev_it, cur_it = _grouped(sides.db, 0), _grouped(sides.db, 1)
    prev, cur = next(prev_it, None), next(cur_it, None)
    while prev is not None or cur is not None:
        if cur is None or (prev is not None and prev[0] < cur[0]):
            assert prev is not None  # noqa: S101
            yield prev[0], _pick(sides, 0, *prev), None
            prev = next(prev_it, None)
        elif prev is None or cur[0] < prev[0]:
            yield cur[0], None, _pick(sides, 1, *cur)
            cur = next(cur_it, None)
        else:
            yield cur[0], _pick(sides, 0, *prev), _pick(sides, 1, *cur)
            prev, cur = next(prev_it, None), next(cur_it, None)


def _export_date(path: Path, given: datetime | None, seen: str | None, zone: ZoneInfo) -> datetime | None:
    if given is not None:
        return given
    text = seen
    if text is None and (m := _DATE_IN_NAME.search(path.name)):
        text = "-".join(m.groups())
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def _statuses(prev: Record | None, cur: Record | None) -> tuple[Record | None, Record | None]:
    """A blank status cell says nothing: today's keeps the previous export's status (read as active, a
    termination was taken back and a leave ended). Yesterday's, or a new employee's, is active, as without a
    status column: a termination or a leave dated in today's export is still announced, with the id of any earlier
    announcement of it."""
    if prev is not None and "status" not in prev:
        prev = {**prev, "status": "active"}
    if cur is not None and "status" not in cur:
        cur = {**cur, "status": prev["status"] if prev is not None else "active"}
    return prev, cur


def _changes(ctx: Context, employee: str, prev: Record | None, cur: Record | None, *,
             has_previous: bool, summary: Summary) -> list[Change]:
    if prev is UNREADABLE or cur is UNREADABLE:
        summary.unreadable += 1
        return []
    known = prev is None or "status" in prev
    prev, cur = _statuses(prev, cur)
    if not has_previous:
        return baseline(cur, ctx) if cur is not None else []
    changes = compare(prev, cur, ctx, employee, prev_status_known=known)
    if cur is None and not changes and prev is not None and prev["status"] in WORKING:
        if not ctx.current_complete:
            summary.held_back += 1
        elif prev["status"] in ("active", "leave"):
            summary.absent += 1
    if prev is None and cur is not None and unannounced(cur, ctx):
        summary.unannounced += 1
    return changes


@dataclass(frozen=True)
class Paths:
    current: Path
    out: Path
    dead_letters: Path
    previous: Path | None = None
    work_dir: Path | None = None
    baseline: Path | None = None
    """Where to write the next run's previous export (:mod:`wayfinder.hris.baseline`), if anywhere."""



def _empty(path: Path) -> bool:
    """Whether the export holds nothing but white space (an export job that wrote no file, or an empty one)."""
    with path.open("rb") as f:
        return not f.read(1 << 16).removeprefix(b"\xef\xbb\xbf").strip() and not f.read(1)


def _check_headers(mapping: Mapping, paths: Paths) -> None:
    """Refuse exports that are not there, cannot be read at all, or whose CSV headers do not have the mapping's
    columns as the other export (or as written, but for case or separators) has them."""
    exports = [path for path in (paths.previous, paths.current) if path is not None]
    for path in exports:
        if not path.is_file():
            msg = f"{path}: no such export file"
            raise SnapshotError(msg)
        if _empty(path):  # not a header lacking the id column: fixing the mapping would not help
            msg = f"{path}: the export has no rows (the file is empty). " + _NOT_IMPORTED.format(
                out=paths.out)
            raise SnapshotError(msg)
        if problem := header_problem(path, mapping):
            raise SnapshotError(problem)
    if paths.previous is not None and (problem := columns_dropped(paths.previous, paths.current, mapping)):
        raise SnapshotError(problem)
    for path in exports:
        if (header := csv_header(path, mapping)) is not None and (problem := respelt(path, header, mapping)):
            raise SnapshotError(problem)


def _check_keys(sides: _Sides, paths: Paths) -> None:
    """What :func:`_check_headers` checks of CSV headers, for JSON lines, from the keys their records carry."""
    if paths.previous is not None and (problem := keys_dropped(paths.previous, paths.current, sides.keys,
                                                               sides.mapping)):
        raise SnapshotError(problem)
    for keys, path in zip(sides.keys, (paths.previous, paths.current), strict=True):
        if path is not None and keys.records and (
                problem := respelt(path, (k for k, n in keys.count.items() if n), sides.mapping, key=True)):
            raise SnapshotError(problem)


def run_import(mapping: Mapping, paths: Paths, *, as_of: datetime | None = None,
               previous_as_of: datetime | None = None, progress: TextIO | None = None,
               many_gone: bool = False) -> Summary:
    """Compare the exports and write the events and dead letters; raises :class:`SnapshotError` when it cannot.
    ``many_gone``: an export lacking most of the previous one's working employees is compared all the same (the
    operator says they are gone: ``--expect-many-gone``); one with no rows never is."""
    _check_headers(mapping, paths)
    summary = Summary()
    zone = ZoneInfo(mapping.timezone)
    with tempfile.TemporaryDirectory(prefix="wayfinder-import-", dir=paths.work_dir) as tmp, \
            paths.dead_letters.open("w", encoding="utf-8") as dead:
        db = sqlite3.connect(Path(tmp) / "stage.sqlite3")
        try:
            for pragma in ("journal_mode = OFF", "synchronous = OFF", "temp_store = FILE", "cache_size = -65536"):
                db.execute(f"PRAGMA {pragma}")
            db.execute("CREATE TABLE rows (side INTEGER, emp TEXT, row INTEGER, rec TEXT, problem TEXT)")
            db.execute("CREATE TABLE refused (side INTEGER, row INTEGER)")  # the dead letters' rows
            sides = _Sides(mapping, db, dead, summary, _Progress(progress), (paths.previous, paths.current))
            if paths.previous is not None:
                summary.previous_rows = _stage(sides, 0, paths.previous)
            summary.current_rows = _stage(sides, 1, paths.current)
            _check_keys(sides, paths)
            db.execute("CREATE INDEX by_emp ON rows (side, emp, row)")
            _settle_guesses(sides)
            for side, rows, path in ((0, summary.previous_rows, paths.previous), (1, summary.current_rows,
                                                                                  paths.current)):
                if path is not None and (problem := _mostly_unread(path, rows, sides.unread[side], paths)):
                    raise SnapshotError(problem)
            if (problem := _mostly_gone(sides, paths)) and not (many_gone and sides.summary.current_rows):
                raise SnapshotError(problem)
            when = _export_date(paths.current, as_of, sides.as_of_seen.get(1), zone)
            if when is None:
                msg = (f"{paths.current}: no export date: give --as-of, map an as_of column, "
                       "or put the date in the file name (employees-2026-03-02.csv)")
                raise SnapshotError(msg)
            before = (_export_date(paths.previous, previous_as_of, sides.as_of_seen.get(0), zone)
                      if paths.previous is not None else None) or when - timedelta(days=1)
            ctx = Context(mapping.source, when, when.date(), before.date(), mapping.absent,
                          previous_complete=not (summary.unidentified[0] or summary.torn[0]),
                          current_complete=not (summary.unidentified[1] or summary.torn[1]),
                          levels=tuple(mapping.job_levels))
            summary.as_of = when
            _write(sides, ctx, paths, summary)
            if paths.baseline is not None:
                summary.baseline = write_baseline(db, mapping, paths.current, paths.previous, paths.baseline,
                                                  current_complete=ctx.current_complete)
        finally:
            db.close()
    return summary


def _write(sides: _Sides, ctx: Context, paths: Paths, summary: Summary) -> None:
    total = summary.previous_rows + summary.current_rows
    sides.progress.start("comparing", total)
    with paths.out.open("w", encoding="utf-8") as out:
        for employee, prev, cur in _merged(sides):
            summary.employees += 1
            sides.progress.add((prev is not None) + (cur is not None))
            for change in _changes(ctx, employee, prev, cur, has_previous=paths.previous is not None,
                                   summary=summary):
                event: dict[str, Any] = to_event(ctx.source, ctx.time, employee, change)
                out.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
                summary.events[change.type] += 1
    sides.progress.finish()
