"""``wayfinder import snapshot`` on two 1,000,000-row exports: wall time and peak memory.

    .venv/bin/python -m benchmarks.hris_import                 # 1,000,000 employees, about 1% changing a day
    .venv/bin/python -m benchmarks.hris_import --rows 100000   # a quicker run

Writes two Workday-style CSV exports (the test fixtures' mapping) into a temporary folder: yesterday's,
and today's with hires, terminations, manager, job and location changes, leaves, births, a few unreadable
rows and duplicates. Then runs the real command in a subprocess and reports its time and peak resident
memory (getrusage of the child), which stays flat as rows grow: the rows live in SQLite on disk.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAPPING = ROOT / "tests" / "data" / "hris" / "workday-mapping.yaml"
HEADER = ["Employee_ID", "Legal_First_Name", "Preferred_Name", "Legal_Last_Name", "Primary_Work_Email",
          "Worker_Status", "Hire_Date", "Termination_Date", "Termination_Reason", "Business_Title", "Job_Level",
          "Supervisory_Organization", "Manager_ID", "Location", "Country", "Time_Zone", "Worker_Type", "Leave_Type",
          "Leave_Start_Date", "Estimated_Leave_End_Date", "Actual_Leave_End_Date", "Dependents", "Cost_Center"]
OFFICES = [("Berlin Office", "Germany", "Europe/Berlin"), ("Lisbon Office", "Portugal", "Europe/Lisbon"),
           ("Oslo Office", "Norway", "Europe/Oslo"), ("London Office", "United Kingdom", "Europe/London")]
TITLES = ["Engineer", "Analyst", "Designer", "Recruiter", "Accountant", "Sales Associate", "Support Agent"]
DEPARTMENTS = ["Engineering", "Finance", "Design", "People", "Sales", "Customer Success"]


def _row(i: int, rng: random.Random) -> list[str]:
    office = OFFICES[i % len(OFFICES)]
    hired = f"{2010 + i % 15}-{1 + i % 12:02d}-{1 + i % 28:02d}"
    manager = f"E{rng.randrange(1, 5000):07d}"
    return [f"E{i:07d}", f"Given{i}", "", f"Family{i}", f"e{i}@example.com", "Active", hired, "", "",
            TITLES[i % len(TITLES)], str(1 + i % 5), DEPARTMENTS[i % len(DEPARTMENTS)], manager,
            office[0], office[1], office[2], "Regular", "", "", "", "", "", f"CC-{i % 50}"]


def _today(row: list[str], rng: random.Random) -> list[str] | None:
    """Yesterday's row as today's export has it: about 1% change, a few are gone or unreadable."""
    r = rng.random()
    row = list(row)
    if r < 0.002:
        row[12] = f"E{rng.randrange(1, 5000):07d}"                         # new manager
    elif r < 0.004:
        row[9], row[10] = "Senior " + row[9], str(int(row[10]) + 1)         # promotion
    elif r < 0.005:
        row[13:16] = list(OFFICES[(OFFICES.index(tuple(row[13:16])) + 1) % len(OFFICES)])  # type: ignore[arg-type]
    elif r < 0.006:
        row[5], row[7], row[8] = "Terminated", "03/01/2026", "Voluntary Resignation"
    elif r < 0.007:
        row[5], row[17], row[18], row[19] = "On Leave", "Parental Leave", "2026-03-02", "2026-09-01"
    elif r < 0.008:
        row[21] = "child:2026-02-27"
    elif r < 0.0085:
        row[6] = "2026-02-31"                                               # unreadable date
    elif r < 0.009:
        return None                                                         # missing today
    return row


def write_exports(folder: Path, rows: int) -> tuple[Path, Path]:
    rng = random.Random(15)
    before, after = folder / "workday-2026-03-01.csv", folder / "workday-2026-03-02.csv"
    with before.open("w", newline="", encoding="utf-8") as b, after.open("w", newline="", encoding="utf-8") as a:
        wb, wa = csv.writer(b), csv.writer(a)
        wb.writerow(HEADER)
        wa.writerow([*HEADER[:12], "Manager_ID", *HEADER[13:]])
        for i in range(1, rows + 1):
            row = _row(i, rng)
            wb.writerow(row)
            today = _today(row, rng)
            if today is not None:
                wa.writerow(today)
                if rng.random() < 0.001:
                    wa.writerow(today)                                      # duplicate row
        for i in range(rows + 1, rows + 1 + rows // 200):                    # new hires
            row = _row(i, rng)
            row[6] = "03/16/2026"
            wa.writerow(row)
    return before, after


def build_parser() -> argparse.ArgumentParser:
    """The command line (the README's commands of this benchmark are checked against it)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    return parser


def main() -> None:
    args = build_parser().parse_args()
    wayfinder = str(Path(sys.executable).with_name("wayfinder"))
    with tempfile.TemporaryDirectory(prefix="hris-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        before, after = write_exports(folder, args.rows)
        print(f"wrote two exports of {args.rows:,} rows in {time.perf_counter() - started:.1f}s "
              f"({before.stat().st_size / 1e6:.0f} MB and {after.stat().st_size / 1e6:.0f} MB)")
        out = folder / "events.jsonl"
        started = time.perf_counter()
        done = subprocess.run([wayfinder, "import", "snapshot", "--previous", str(before), "--current", str(after),
                               "--mapping", str(MAPPING), "--out", str(out), "--work-dir", tmp],
                              capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - started
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = usage.ru_utime + usage.ru_stime
        print(done.stdout)
        print(f"import: {seconds:.1f}s wall, {cpu:.1f}s CPU ({2 * args.rows / cpu:,.0f} rows per CPU second), "
              f"peak RSS {usage.ru_maxrss / 1024:.0f} MiB, {out.stat().st_size / 1e6:.1f} MB of events")


if __name__ == "__main__":
    main()
