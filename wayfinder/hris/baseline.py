"""``wayfinder import snapshot --baseline-out``: the next run's previous export, written by the import.

It is the current export as the file has it (its bytes, its header and its order), but for the rows the import did
not take (the dead letters). Where such a row was an employee's only row, that employee's rows of the previous export
that the import did take stand in its place (none, when it took none: a new employee's refused row is left out). So
the next run compares a row fixed since with the last row of that employee that was read, and a change the refused
row hid (a termination, a new manager) is announced then. Where the current export has rows of unknown employees
(no conclusion is drawn from absence), the employees missing from it keep their previous rows too, at the end.

A kept row is copied byte for byte; only where the two exports' CSV headers differ (columns in another order) is it
written again value for value under the current header (a column the previous export lacked left blank).
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from wayfinder.hris.mapping import Mapping
from wayfinder.hris.records import csv_header, raw_rows

BOM = b"\xef\xbb\xbf"

# The rows each export's employees were read from and not refused (staged as ``rows``, dead letters in ``refused``).
_ACCEPTED = """CREATE TEMP TABLE accepted AS SELECT side, emp, row FROM rows r
    WHERE emp IS NOT NULL AND rec IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM refused f WHERE f.side = r.side AND f.row = r.row)"""
# What the baseline holds, in order: each accepted current row at its place (its number), and the accepted previous
# rows of an employee with none in the current export at the place of their first (refused) current row, or at the
# end (anchor NULL) when the current export has no row of theirs and absence concludes nothing.
_PLAN = """CREATE TEMP TABLE plan AS SELECT * FROM (
    SELECT row AS anchor, 1 AS side, row FROM accepted WHERE side = 1
    UNION ALL
    SELECT (SELECT MIN(c.row) FROM rows c WHERE c.side = 1 AND c.emp = p.emp), 0, p.row FROM accepted p
    WHERE p.side = 0 AND NOT EXISTS (SELECT 1 FROM accepted k WHERE k.side = 1 AND k.emp = p.emp))
    WHERE anchor IS NOT NULL OR ?"""


@dataclass(frozen=True)
class Written:
    rows: int
    kept: int
    """Of them, the previous export's rows."""


def _chosen(rows: Iterator[tuple[int, bytes]], numbers: Iterable[int]) -> Iterator[tuple[int, bytes]]:
    """The rows whose numbers are ``numbers`` (ascending), read in one pass."""
    for wanted in numbers:
        for number, raw in rows:
            if number == wanted:
                yield number, raw
                break


def _ended(raw: bytes, ending: bytes) -> bytes:
    """A row ends with its line break (the file's last row may have none, and another row may come after it)."""
    return raw if raw.endswith(b"\n") else raw + ending


class _Recast:
    """A previous export's CSV row, under the current export's header when the two headers differ."""

    def __init__(self, before: list[str] | None, after: list[str] | None, delimiter: str, ending: bytes) -> None:
        self.before, self.after, self.delimiter = before, after, delimiter
        self.ending = ending.decode("ascii")

    def __call__(self, raw: bytes) -> bytes:
        if self.before is None or self.after is None or self.before == self.after:
            return raw
        cells = next(csv.reader(io.StringIO(raw.decode("utf-8"), newline=""), delimiter=self.delimiter))
        by_name = dict(zip(self.before, cells, strict=False))
        out = io.StringIO()
        csv.writer(out, delimiter=self.delimiter, lineterminator=self.ending).writerow(
            [by_name.get(name, "") for name in self.after])
        return out.getvalue().encode("utf-8")


def write_baseline(db: sqlite3.Connection, mapping: Mapping, current: Path, previous: Path | None, out: Path, *,
                   current_complete: bool) -> Written:
    """Write the next run's previous export to ``out`` (replaced whole, once written) from the staged rows."""
    db.execute("CREATE INDEX IF NOT EXISTS refused_rows ON refused (side, row)")
    db.execute(_ACCEPTED)
    db.execute("CREATE INDEX accepted_emp ON accepted (side, emp)")
    db.execute(_PLAN, (not current_complete,))
    db.execute("CREATE TEMP TABLE carried (row INTEGER PRIMARY KEY, raw BLOB)")
    if previous is not None:
        numbers = (n for (n,) in db.execute("SELECT row FROM plan WHERE side = 0 ORDER BY row"))
        db.executemany("INSERT INTO carried VALUES (?, ?)", _chosen(raw_rows(previous, mapping), numbers))
    header = csv_header(current, mapping)
    rows = raw_rows(current, mapping)
    first = next(rows, (0, b""))[1]
    ending = b"\r\n" if first.endswith(b"\r\n") else b"\n"
    recast = _Recast(csv_header(previous, mapping) if previous is not None else None, header, mapping.delimiter,
                     ending)
    with current.open("rb") as f:
        bom = BOM if f.read(len(BOM)) == BOM else b""
    rows = raw_rows(current, mapping)
    part = out.with_name(f".{out.name}.part")
    written = kept = 0
    with part.open("wb") as f:
        f.write(bom)
        if header is not None:
            f.write(_ended(next(rows)[1], ending))
        plan = db.execute("SELECT p.side, p.row, c.raw FROM plan p LEFT JOIN carried c ON p.side = 0 AND c.row = "
                          "p.row ORDER BY p.anchor IS NULL, p.anchor, p.side DESC, p.row")
        for side, number, raw in plan:
            if side == 1:
                f.write(_ended(next(_chosen(rows, [number]))[1], ending))
            else:
                f.write(_ended(recast(raw), ending))
                kept += 1
            written += 1
    part.replace(out)
    return Written(written, kept)
