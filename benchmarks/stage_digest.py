"""A fingerprint of everything the worker's two stages do over a file of events, to show that a change to the stages'
own work changes none of it (README "Where issue 10 stands").

    .venv/bin/python -m benchmarks.org_load --employees 2000 --seed 7 --out org2000.jsonl
    .venv/bin/python -m benchmarks.stage_digest --events org2000.jsonl

The events go through ``benchmarks.worker_scale.drive_stages`` (the stages alone, without Kafka) with a fixed wall
clock and fixed write-ahead owner and stamps. Two SHA-256 digests are printed: ``raw`` over every record the stages
send (the stage, topic, key, partition and value bytes, in order) and every table write (the stage, key and value
bytes, in order, interleaved with the records as they happened); ``decoded`` the same with each write-ahead entry
replaced by what it decodes to (its writes, records, the digests of the keys before, its stamp and owner): a change
that only encodes an entry differently (its compression) keeps ``decoded`` and changes ``raw``.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.worker_scale import Watch, drive_stages
from wayfinder.streams.unit import ENTRY_PREFIX, PART_PREFIX, DictTable, Work, read_entry
from wayfinder.streams.wire import Record, dumps

WALL = datetime(2030, 1, 1, tzinfo=UTC)
"""The wall clock of the run: dead letters and the time an input waits since carry it."""


class Fingerprint:
    """The two digests, fed in order."""

    def __init__(self) -> None:
        self.raw = hashlib.sha256()
        self.decoded = hashlib.sha256()
        self.records = self.writes = 0
        self.tables = {"employees": DictTable(), "mailboxes": DictTable()}  # as the run left them so far

    def record(self, stage: str, r: Record) -> None:
        self.records += 1
        part = dumps(["r", stage, r.topic, r.key, r.partition, None if r.value is None else r.value.hex()])
        self.raw.update(part)
        self.decoded.update(part)

    def write(self, stage: str, key: str, value: bytes | None) -> None:
        self.writes += 1
        table = self.tables[stage]
        table.set(key, value)
        self.raw.update(dumps(["w", stage, key, None if value is None else value.hex()]))
        if value is not None and key.startswith(PART_PREFIX):
            self.decoded.update(dumps(["w", stage, key, "part"]))  # in the entry, decoded when its key is written
        elif value is not None and key.startswith(ENTRY_PREFIX):
            work = Work.decode(read_entry(table, key, value))
            self.decoded.update(dumps(["w", stage, key, {
                "writes": [[k, None if v is None else v.hex()] for k, v in work.writes.items()],
                "records": [[r.topic, r.key, r.partition, None if r.value is None else r.value.hex()]
                            for r in work.records],
                "before": work.before, "seq": work.seq, "owner": work.owner}]))
        else:
            self.decoded.update(dumps(["w", stage, key, None if value is None else value.hex()]))


def fingerprint(events: Path) -> Fingerprint:
    found = Fingerprint()
    stamps = itertools.count(1)
    drive_stages(events, Watch(found.record, found.write, lambda: WALL, "stage-digest", lambda: next(stamps)))
    return found


def build_parser() -> argparse.ArgumentParser:
    """The command line (the README's commands of this benchmark are checked against it)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=Path, required=True, help="an org_load file (JSON lines)")
    return parser


def main() -> None:
    args = build_parser().parse_args()
    found = fingerprint(args.events)
    print(f"{found.records:,} records, {found.writes:,} table writes; raw sha256 {found.raw.hexdigest()}; decoded "
          f"sha256 {found.decoded.hexdigest()}")


if __name__ == "__main__":
    main()
