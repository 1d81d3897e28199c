"""The core at an organisation's scale, as ratios measured in one run (issue 10).

    .venv/bin/python -m benchmarks.org_scale                      # 20,000 employees
    .venv/bin/python -m benchmarks.org_scale --employees 5000     # quicker

1. core events/s on one core: the organisation-shaped year (``benchmarks/org_load.py``) through decode and
   the streaming simulate (core, mailbox, timers, files written);
2. time per event with 10, 100 and 1,000 journeys that share the bundled trigger types (the extra ones have
   audiences by country, department and level, as a company's many journeys do), on the first events of
   that year;
3. time per event with and without one recipient holding 10,000 deferred messages (the mailbox of the
   organisation's busy hiring manager, who is messaged during the run, is filled first; then the same
   events run);
4. state at rest per person (as the worker stores it), and peak memory per employee: the largest resident
   set of a separate simulate process of the year, against one of a quarter of the people.

``--breakdown`` runs the year alone and says which parts of the state at rest make up its bytes, per person,
with the run's CPU time and peak memory; ``--events FILE`` runs an ``org_load`` file instead (a million employees'
year is generated to a file first, so that it is never held in memory).
Times are this process's CPU time (``time.process_time``), so that other work on a shared machine does not
count; parts 2 and 3 feed their runners in turns of 200 events for the same reason.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from pydantic_core import to_json

from benchmarks.core_throughput import bundled
from benchmarks.org_load import DEPARTMENTS, PLACES, build, generate
from wayfinder.journeys.definitions import InlineKey, Part
from wayfinder.journeys.effects import Dispatch
from wayfinder.journeys.loader import Definitions
from wayfinder.journeys.model import Journey
from wayfinder.journeys.templates import MessageTemplate
from wayfinder.scale import StreamingRunner, simulate_streaming
from wayfinder.streams.embedded import EmbeddedRunner, read_events

TYPES = ("hris.employee.hired", "hris.leave.started", "hris.leave.ended", "hris.job.changed",
         "hris.manager.changed", "hris.dependent.added", "hris.employee.relocated")


def sharing(defs: Definitions, total: int) -> Definitions:
    """The bundled journeys plus journeys on the same trigger types, each for one country, department, level."""
    journeys = dict(defs.journeys)
    inline = dict(defs.inline)
    n = 0
    while len(journeys) < total:
        country = PLACES[n % len(PLACES)][1]
        dept = DEPARTMENTS[(n // len(PLACES)) % len(DEPARTMENTS)]
        level = f"L{n % 6 + 1}"
        j = Journey.model_validate({
            "apiVersion": "wayfinder/v1", "kind": "Journey", "id": f"local-{n}", "name": f"Local {n}",
            "owner": "bench@example.com", "trigger": {"event": TYPES[n % len(TYPES)]},
            "audience": f'employee.country == "{country}" && employee.department == "{dept}" '
                        f'&& employee.job_level == "{level}"',
            "steps": [{"id": "s", "send": {"channel": "intranet", "subject": "x", "body": "y"}}]})
        journeys[(j.id, 1)] = j
        inline[InlineKey.of(j, "s", Part.MESSAGE)] = MessageTemplate(f"{j.id}/s", "x", "y")
        n += 1
    return Definitions(journeys=journeys, templates=defs.templates, inline=inline, catalog=defs.catalog,
                       policy=defs.policy)


def timed(defs: Definitions, events: Path, out: Path) -> tuple[float, StreamingRunner]:
    gc.collect()
    t0 = time.process_time()
    runner = simulate_streaming(defs, events, None, out)
    return time.process_time() - t0, runner


def interleaved(runners: list[EmbeddedRunner], lines: list[str], chunk: int = 200) -> list[float]:
    """Seconds per event of each runner over the same events, fed to them in turn ``chunk`` events at a time,
    so that a shared, loaded machine slows them alike."""
    events = read_events(lines).events
    spent = [0.0] * len(runners)
    for start in range(0, len(events), chunk):
        part = events[start:start + chunk]
        for i, runner in enumerate(runners):
            gc.collect()
            t0 = time.process_time()
            for event in part:
                runner.feed(event)
            spent[i] += time.process_time() - t0
    return [s / len(events) for s in spent]


def busy_runner(defs: Definitions, first: str, held: int, who: str) -> EmbeddedRunner:
    """A runner whose mailbox of ``who`` holds ``held`` deferred messages (months behind the cap)."""
    from wayfinder.journeys.records import Message
    from wayfinder.vocabulary import parse_instant

    runner = EmbeddedRunner(defs)
    start = parse_instant(first) - timedelta(days=1)
    runner._now = start
    for n in range(held):
        m = Message(message_id=f"m-busy-{n:06d}", employee_id=f"X{n}", recipient_id=who,
                    recipient_role="manager", journey_id="onboarding", journey_version=1, step_id="s",
                    channel="email", status="deferred", scheduled_for=start, created_at=start, subject="s", text="t")
        runner.to_mailbox(who, Dispatch(who, m, "Europe/Berlin", None))
    return runner


def peak_rss(events: Path) -> float:
    """Peak resident memory (bytes) of a separate ``wayfinder simulate`` of the file (VmHWM: ``ru_maxrss``
    keeps the parent's across exec)."""
    with tempfile.TemporaryDirectory() as out:
        code = ("import sys; from wayfinder.cli import main; "
                f"main(['simulate', '--events', {str(events)!r}, '--until', '2027-01-31T00:00:00Z', '--out', {out!r}]);"
                "print(next(x.split()[1] for x in open('/proc/self/status') if x.startswith('VmHWM')),"
                " file=sys.stderr)")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(done.stderr.strip().splitlines()[-1]) * 1024.0


def at_rest(runner: EmbeddedRunner) -> int:
    """The bytes of every state kept at the end (employees, mailboxes, digest boxes), as the worker stores them
    (JSON in UTF-8)."""
    kept = [*runner.states.values(), *runner.mailboxes.values(), *runner.digest_boxes.values()]
    return sum(len(s.model_dump_json().encode("utf-8")) for s in kept)


_INNER = {"profile", "enrollments", "open_tasks", "awaiting_approval", "pending", "on_leave", "open"}
"""Parts broken down one level further: the profile's own, and the fields of the records these maps hold."""


def _parts(text: str, kind: str, into: dict[str, int]) -> None:
    """Add the bytes of each top-level key of one stored state (``"key":value`` and its comma; the braces are
    ``kind.{}``) to ``into``, and one level below for the parts in ``_INNER``."""
    data = json.loads(text)
    into[f"{kind}.{{}}"] = into.get(f"{kind}.{{}}", 0) + len(text.encode("utf-8")) - sum(
        len(to_json({k: v})) - 1 for k, v in data.items())
    for key, value in data.items():
        name = f"{kind}.{key}"
        into[name] = into.get(name, 0) + len(to_json({key: value})) - 1
        if key in _INNER and isinstance(value, dict):
            inner = value if key == "profile" else {}
            if key != "profile":
                for record in value.values():
                    for k, v in (record.items() if isinstance(record, dict) else ()):
                        inner[k] = [*inner.get(k, []), v]
            for k, v in inner.items():
                sub = f"{name}.{k}" if key == "profile" else f"{name}.*.{k}"
                size = len(to_json({k: v})) - 1 if key == "profile" else sum(len(to_json({k: x})) - 1 for x in v)
                into[sub] = into.get(sub, 0) + size


def breakdown(runner: EmbeddedRunner) -> list[tuple[str, float]]:
    """Bytes per person kept at the end (as ``at_rest`` counts them), by part, largest first: ``employee.seen`` is
    the ``"seen":{...},`` of every employee state; ``employee.profile.fields`` is within ``employee.profile``."""
    parts: dict[str, int] = {}
    for kind, states in (("employee", runner.states.values()), ("mailbox", runner.mailboxes.values()),
                         ("digest", runner.digest_boxes.values())):
        for state in states:
            _parts(state.model_dump_json(), kind, parts)
    people = len(runner.states)
    return sorted(((name, size / people) for name, size in parts.items()), key=lambda p: -p[1])


def print_breakdown(employees: int, seed: int, events_file: Path | None = None) -> None:
    """The state at rest by part after the year of ``employees`` (or after the events of ``events_file``, read
    as the streaming simulate reads them, so that a year of a million people needs no copy of it in memory)."""
    with tempfile.TemporaryDirectory() as tmp:
        events = events_file
        if events is None:
            events = Path(tmp) / "org.jsonl"
            with events.open("w", encoding="utf-8") as f:
                f.writelines(line + "\n" for line in generate(employees, seed))
        seconds, whole = timed(bundled(), events, Path(tmp) / "out")
    count = whole.stats.events
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    print(f"simulate of {count:,} events in {seconds:,.1f} s of CPU ({count / max(seconds, 1e-9):,.0f} events/s), "
          f"this process's peak resident set {peak:,.0f} MB")
    people = len(whole.states)
    if not people:
        print("state at rest: nobody was kept (no events about people)")
        return
    print(f"state at rest: {at_rest(whole) / people:,.0f} bytes per person kept ({people:,} people, "
          f"{len(whole.mailboxes):,} mailboxes, {len(whole.digest_boxes):,} digest boxes), by part:")
    for name, size in breakdown(whole):
        if size >= 0.05:
            print(f"  {name:<48} {size:8,.1f}")


def build_parser() -> argparse.ArgumentParser:
    """The command line (the README's commands of this benchmark are checked against it)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sample", type=int, default=20_000, help="events for parts 2 and 3")
    parser.add_argument("--breakdown", action="store_true", help="only the state at rest, by part")
    parser.add_argument("--events", type=Path, help="with --breakdown: an org_load file to run instead of "
                        "generating the year (for a million employees: generate it first with org_load)")
    return parser


def main() -> None:
    args = build_parser().parse_args()
    if args.breakdown:
        print_breakdown(args.employees, args.seed, args.events)
        return
    defs = bundled()
    with tempfile.TemporaryDirectory() as tmp:
        events = Path(tmp) / "org.jsonl"
        lines = list(generate(args.employees, args.seed))
        events.write_text("\n".join(lines) + "\n", encoding="utf-8")
        quarter = Path(tmp) / "quarter.jsonl"
        quarter_lines = list(generate(args.employees // 4, args.seed))
        quarter.write_text("\n".join(quarter_lines) + "\n", encoding="utf-8")
        before, _ = timed(defs, quarter, Path(tmp) / "q1")  # the quarter before and after: the machine is shared
        seconds, whole = timed(defs, events, Path(tmp) / "out")
        after, _ = timed(defs, quarter, Path(tmp) / "q2")
        rate, small_rate = len(lines) / seconds, 2 * len(quarter_lines) / (before + after)
        print(f"1. core on one core: {len(lines):,} events of {args.employees:,} employees' year in {seconds:.1f} s: "
              f"{rate:,.0f} events/s (target 20,000)")
        print(f"   a quarter of the people ({len(quarter_lines):,} events, run before and after): {small_rate:,.0f} "
              f"events/s; the whole run's time per event is {small_rate / rate:.2f}x the quarter's (target <= 1.5x)")
        sample = lines[args.employees:args.employees + args.sample]  # past the initial profiles: the year's mix
        profiles = lines[:args.employees]
        cases = [(10, True), (100, True), (1000, True), (1000, False)]
        runners = []
        for total, indexed in cases:
            runner = EmbeddedRunner(sharing(defs, total))
            if not indexed:  # every journey on the type tested, as before the audience index
                runner.engine.audiences.groups = {t: [] for t in runner.engine.audiences.groups}
            for e in read_events(profiles).events:
                runner.feed(e)
            runners.append(runner)
        times = interleaved(runners, sample)
        for (total, indexed), t in zip(cases, times, strict=True):
            label = "" if indexed else " without the audience index"
            print(f"2. {total:>5} journeys sharing trigger types{label}: {t * 1e6:7.1f} µs/event "
                  f"({t / times[0]:.2f}x the 10-journey run; target 1,000 <= 1.5x)")
        first = read_events(sample[:1]).events[0].time.isoformat()
        quiet = EmbeddedRunner(defs)
        manager = build(args.employees, args.seed).busy  # the org's busy hiring manager: messaged in the sample
        busy = busy_runner(defs, first, 10_000, manager)
        for r in (quiet, busy):
            for e in read_events(profiles).events:
                r.feed(e)
        tq, tb = interleaved([quiet, busy], sample)
        print(f"3. per event, nobody holding: {tq * 1e6:.1f} µs; the busy hiring manager holding 10,000: "
              f"{tb * 1e6:.1f} µs ({tb / tq:.2f}x; target <= 1.5x)")
        people = len(whole.states)
        print(f"4. state at rest: {at_rest(whole) / people:,.0f} bytes per person kept ({people:,} people, "
              f"{len(whole.mailboxes):,} mailboxes; target <= 2 KB)")
        big, small = peak_rss(events), peak_rss(quarter)
        grown = (big - small) / (args.employees - args.employees // 4)
        print(f"   peak memory of simulate: {big / 2**20:,.0f} MB for {args.employees:,} employees, "
              f"{small / 2**20:,.0f} MB for {args.employees // 4:,}: {grown:,.0f} bytes per more employee")


if __name__ == "__main__":
    main()
