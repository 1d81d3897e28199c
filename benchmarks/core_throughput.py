"""Throughput of the pure journey core on one core, and its cost as the number of journeys grows.

    .venv/bin/python benchmarks/core_throughput.py                 # 1,000,000 events
    .venv/bin/python benchmarks/core_throughput.py --events 200000 # quicker

Part 1 replicates the bundled events (each replica is a new set of employees with new ids)
to the requested count and runs them through decode + the embedded runner (core, mailbox,
timers) on the bundled journeys. Part 2 runs the same 50,000 events with 10, 100 and 1,000
active journeys (the extra journeys trigger on event types that do not occur, as most of a
real company's journeys do for any one event) and reports the time per event for each, as a
ratio to the 10-journey run measured in the same process.
"""

from __future__ import annotations

import argparse
import gc
import json
import time

from wayfinder import examples_dir
from wayfinder.journeys.loader import Definitions, Sources, load_or_raise
from wayfinder.journeys.model import Journey
from wayfinder.streams.embedded import EmbeddedRunner, read_events

_REFS = ("manager_id", "hr_partner_id", "old_manager_id", "new_manager_id")


def replicate(lines: list[str], count: int) -> list[str]:
    """``count`` event lines: copies of the bundled ones with subjects, ids and references renamed."""
    parsed = [json.loads(line) for line in lines if line.strip().startswith("{") and _valid_json(line)]
    out: list[str] = []
    replica = 0
    while len(out) < count:
        suffix = f"-r{replica}"
        for obj in parsed:
            e = dict(obj)
            e["id"] = f"{e['id']}{suffix}"
            e["subject"] = f"{e['subject']}{suffix}"
            data = dict(e.get("data") or {})
            for ref in _REFS:
                if isinstance(data.get(ref), str):
                    data[ref] = f"{data[ref]}{suffix}"
            if "id" in data:
                data["id"] = e["subject"]
            e["data"] = data
            out.append(json.dumps(e))
            if len(out) == count:
                break
        replica += 1
    return out


def _valid_json(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def bundled() -> Definitions:
    ex = examples_dir()
    return load_or_raise(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                                 policy=ex / "policy.yaml"))


def with_journeys(defs: Definitions, total: int) -> Definitions:
    """The bundled journeys plus filler journeys up to ``total``, each on its own unused event type."""
    journeys = dict(defs.journeys)
    template = next(iter(defs.journeys.values()))
    n = 0
    while len(journeys) < total:
        filler = Journey.model_validate({
            "apiVersion": "wayfinder/v1", "kind": "Journey", "id": f"filler-{n}", "name": f"Filler {n}",
            "owner": "bench@example.com", "trigger": {"event": f"bench.unused.{n}", "when": "employee.country == 'DE'"},
            "steps": [{"id": "s", "send": {"channel": "email", "subject": "x", "body": "y"}}],
        })
        journeys[(filler.id, 1)] = filler
        n += 1
    del template
    return Definitions(journeys=journeys, templates=defs.templates, inline=defs.inline, catalog=defs.catalog,
                       policy=defs.policy)


def run(defs: Definitions, lines: list[str]) -> tuple[float, EmbeddedRunner]:
    gc.collect()
    started = time.perf_counter()
    read = read_events(lines)
    runner = EmbeddedRunner(defs)
    runner.run(read.events)
    return time.perf_counter() - started, runner


def build_parser() -> argparse.ArgumentParser:
    """The command line (the README's commands of this benchmark are checked against it)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--scaling-events", type=int, default=50_000)
    return parser


def main() -> None:
    args = build_parser().parse_args()
    source = (examples_dir() / "events.jsonl").read_text(encoding="utf-8").splitlines()
    defs = bundled()

    lines = replicate(source, args.events)
    seconds, runner = run(defs, lines)
    decided = len(runner.messages)
    print(f"part 1: {len(lines):,} events, {len(defs.journeys)} journeys: {seconds:.1f} s, "
          f"{len(lines) / seconds:,.0f} events/s on one core ({decided:,} message decisions, "
          f"{len(runner.tasks):,} tasks)")
    del runner, lines

    sample = replicate(source, args.scaling_events)
    base: float | None = None
    for total in (10, 100, 1000):
        extended = with_journeys(defs, total)
        seconds, _ = run(extended, sample)
        per_event = seconds / len(sample) * 1e6
        base = base or per_event
        print(f"part 2: {total:>5} journeys: {per_event:7.1f} µs/event ({per_event / base:.2f}x the 10-journey run)")


if __name__ == "__main__":
    main()
