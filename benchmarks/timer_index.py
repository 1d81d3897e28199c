"""Pending timers at scale: memory of the in-memory index and the cost of finding what is due.

    .venv/bin/python -m benchmarks.timer_index            # 1,000,000 timers over 30 days, 6 partitions

Reports the index's memory (tracemalloc), the time to rebuild it (as after a partition is
assigned), and how long one wake-up takes to pop the timers due in a second while the other
999,000+ stay pending: the index is a heap per partition, so a wake-up touches only what is due.
"""

from __future__ import annotations

import argparse
import random
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

from wayfinder.streams.timers import TimerIndex

START = datetime(2026, 1, 1, tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    """The command line (the README's commands of this benchmark are checked against it)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timers", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=6)
    return parser


def main() -> None:
    args = build_parser().parse_args()
    rng = random.Random(7)
    span = 30 * 86400
    items = [(f"t:{i % args.partitions}:E{i}\x1fjourney\x1fe-{i:024x}\x1f1", f"E{i}",
              START + timedelta(seconds=rng.randrange(span))) for i in range(args.timers)]
    by_partition: dict[int, list[tuple[str, str, datetime]]] = {}
    for k, o, d in items:
        by_partition.setdefault(int(k.split(":")[1]), []).append((k, o, d))
    index = TimerIndex()
    started = time.perf_counter()
    for p, part in by_partition.items():
        index.load(p, part)
    load_seconds = time.perf_counter() - started
    tracemalloc.start()
    measured = TimerIndex()
    for p, part in by_partition.items():
        measured.load(p, part)
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del measured
    print(f"{len(index):,} pending timers in {args.partitions} partitions: index {current / 1e6:.0f} MB "
          f"({current / len(index):.0f} bytes a timer), rebuilt in {load_seconds:.1f} s")
    now = START + timedelta(days=10)
    for p in range(args.partitions):
        index.pop_due(p, now)  # what is due by day 10 fired
    worst = 0.0
    fired = 0
    for step in range(1, 61):  # one wake-up a second for a minute
        t = now + timedelta(seconds=step)
        started = time.perf_counter()
        for p in range(args.partitions):
            fired += len(index.pop_due(p, t))
        worst = max(worst, time.perf_counter() - started)
    print(f"one wake-up a second for 60 s with {len(index):,} pending: {fired} fired, "
          f"slowest wake-up {worst * 1000:.2f} ms (all partitions)")


if __name__ == "__main__":
    main()
