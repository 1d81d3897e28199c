"""A Faust agent that does nothing, for the side-by-side in kafka_throughput.py (run as a subprocess).

    python -m benchmarks.faust_noop BROKER GROUP COUNT TOPIC [TOPIC ...]
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import faust


def main() -> None:
    broker, group, count, *topics = sys.argv[1:]
    wanted = int(count)
    app = faust.App(group, broker=f"kafka://{broker}", store="memory://", web_enabled=False, autodiscover=False,
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
