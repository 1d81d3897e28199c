"""What one round of an input that waits for its recipient costs the employee stage, against the partition's size.

    .venv/bin/python -m benchmarks.hold_retry --employees 2000 --rounds 200

An input whose recipient the directory does not know yet goes round on the ticks topic until it is decided
(``streams.recipients``); each time it comes round its unit is undone. This builds one partition's state from
the first events of an organisation's year (``benchmarks.org_load``; no waiting, tables on dicts, the event
clock), so the partition holds the timers those events set, then switches waiting on, empties the directory and
sends events until one is held (its message goes to a person the directory does not know). It reports the
pending timers, the table's keys and the CPU time per round of the held input, best of ``--repeat`` runs of
``--rounds`` rounds each.

To compare with another tree of the code, run the same command with that tree first on ``PYTHONPATH`` (the
script itself from this tree): ``PYTHONPATH=../wayfinder-base:. .venv/bin/python benchmarks/hold_retry.py``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from prometheus_client import CollectorRegistry

import wayfinder
from benchmarks.org_load import generate
from wayfinder.journeys.engine import Engine
from wayfinder.streams.app import load_definitions
from wayfinder.streams.clock import StreamClock
from wayfinder.streams.metrics import StreamMetrics
from wayfinder.streams.publish import route
from wayfinder.streams.settings import WorkerSettings
from wayfinder.streams.stage import EmployeeStage, Incoming
from wayfinder.streams.unit import DictTable
from wayfinder.streams.wire import Record
from wayfinder.vocabulary import Topic


def build(employees: int) -> tuple[EmployeeStage, list[bytes]]:
    """A stage whose partition 0 has decided the year of ``employees`` people (all of it, on one partition)."""
    defs = load_definitions(WorkerSettings(store="memory", clock="event"))
    stage = EmployeeStage(DictTable(), StreamClock("event"), StreamMetrics(CollectorRegistry()), lambda t, p: 1 << 62,
                          Engine(defs), ticks_topic="ticks", max_event_bytes=1_000_000, directory={})
    lines = [line.encode() for line in generate(employees, 7)]
    return stage, lines


def held_round(stage: EmployeeStage, lines: list[bytes], start: int) -> tuple[Record, int]:
    """Switch waiting on and send events from ``start`` until one is held; its retry record and the next offset."""
    stage.holds.wait_seconds = 3600.0  # no round in this run reaches the wait's end
    stage.directory.clear()  # nobody is known: the next event with a message waits
    for offset in range(start, len(lines)):
        topic, key = route(lines[offset])
        records = stage.process(Incoming(topic, 0, offset, key, lines[offset], None), stage.handle)
        retries = [r for r in records if r.topic == Topic.EMPLOYEE_TICKS]
        if retries:
            return retries[0], offset + 1
    msg = "no event of the year waits for a recipient"
    raise SystemExit(msg)


def build_parser() -> argparse.ArgumentParser:
    """The command line (the README's commands of this benchmark are checked against it)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--share", type=float, default=0.5, help="the share of the year decided before the hold")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    return parser


def main() -> None:
    args = build_parser().parse_args()
    stage, lines = build(args.employees)
    before = int(len(lines) * args.share)
    for offset in range(before):
        topic, key = route(lines[offset])
        stage.process(Incoming(topic, 0, offset, key, lines[offset], None), stage.handle)
    retry, offset = held_round(stage, lines, before)
    best = float("inf")
    for _ in range(args.repeat):
        started = time.process_time()
        for _ in range(args.rounds):
            [retry] = [r for r in stage.process(Incoming("ticks", 0, offset, None, retry.value, None), stage.handle)
                       if r.topic == Topic.EMPLOYEE_TICKS]
            offset += 1
        best = min(best, (time.process_time() - started) / args.rounds)
    keys = sum(1 for _ in stage.table.keys())
    print(f"code: {Path(wayfinder.__file__).resolve().parent.parent}")
    print(f"{args.employees} employees, {before:,} events decided on one partition: {len(stage.timers):,} pending "
          f"timers, {keys:,} table keys; one round of a held input: {best * 1000:.3f} ms of CPU "
          f"(best of {args.repeat} x {args.rounds} rounds)")


if __name__ == "__main__":
    main()
