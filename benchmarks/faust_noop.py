"""A Faust agent that does nothing, for the side-by-sides of ``kafka_throughput`` and ``worker_scale`` (which run it as
a subprocess; not a benchmark of its own).

    .venv/bin/python -m benchmarks.faust_noop BROKER GROUP COUNT TOPIC [TOPIC ...]

It reads the topics from the start in consumer group GROUP and, at its COUNT-th record, prints ``noop COUNT
SECONDS`` (the time from its first record) and exits.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import faust


def build_parser() -> argparse.ArgumentParser:
    """The command line: a wrong one is refused with the usage (exit 2) before Faust starts."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("broker", help="host:port of a Kafka broker")
    parser.add_argument("group", help="the consumer group (and Faust app id)")
    parser.add_argument("count", type=int, help="records to read before it stops")
    parser.add_argument("topics", nargs="+", help="the topics to read")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    wanted = args.count
    group, topics = args.group, args.topics
    app = faust.App(group, broker=f"kafka://{args.broker}", store="memory://", web_enabled=False, autodiscover=False,
                    consumer_auto_offset_reset="earliest")
    source = app.topic(*topics, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    seen = [0]
    started = [0.0]

    async def noop(stream: Any) -> None:
        async for _ in stream:
            seen[0] += 1
            if seen[0] == 1:
                started[0] = time.perf_counter()
            if seen[0] == wanted:
                elapsed = time.perf_counter() - started[0]
                print(f"noop {wanted} {elapsed:.3f}", flush=True)
                os._exit(0)

    app.agent(source, name="noop")(noop)
    faust.Worker(app, loglevel="WARNING", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
