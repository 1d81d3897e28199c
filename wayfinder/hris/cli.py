"""The HR system commands: ``wayfinder import snapshot`` and ``wayfinder intake``."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROWS_REFUSED = 65  # EX_DATAERR: imported, but rows (or values) were refused: their employees got no events

def _time(value: str) -> datetime:
    """A date (midnight UTC) or an RFC 3339 time with an offset."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as e:
        msg = f"{value!r} is not a date (2026-03-02) or an RFC 3339 time (2026-03-02T06:00:00+01:00)"
        raise argparse.ArgumentTypeError(msg) from e
    if parsed.tzinfo is None:
        msg = f"{value!r} has no offset: add Z or +01:00"
        raise argparse.ArgumentTypeError(msg)
    return parsed


def cmd_snapshot(args: argparse.Namespace) -> int:
    from wayfinder.hris.mapping import MappingError, load_mapping
    from wayfinder.hris.snapshot import Paths, SnapshotError, run_import

    try:
        mapping = load_mapping(args.mapping)
    except MappingError as e:
        print(e, file=sys.stderr)
        return 1
    dead = args.dead_letters or args.out.with_name(args.out.stem + ".dead_letters.jsonl")
    paths = Paths(current=args.current, out=args.out, dead_letters=dead, previous=args.previous,
                  work_dir=args.work_dir, baseline=args.baseline_out)
    try:
        summary = run_import(mapping, paths, as_of=args.as_of, previous_as_of=args.previous_as_of,
                             progress=sys.stderr, many_gone=args.expect_many_gone)
    except SnapshotError as e:
        print(f"wayfinder import: {e}", file=sys.stderr)
        return 1
    for line in summary.refused:
        print(line, file=sys.stderr)
    if summary.dead_letters > len(summary.refused):
        print(f"... and {summary.dead_letters - len(summary.refused):,} more in {dead}", file=sys.stderr)
    print("\n".join(summary.lines()))
    print(f"wrote {args.out} ({sum(summary.events.values()):,} events) and {dead} ({summary.dead_letters:,})")
    if summary.baseline is not None:
        print(f"wrote {args.baseline_out} ({summary.baseline.rows:,} rows, {summary.baseline.kept:,} of them the "
              "previous export's, for rows refused today)")
    if summary.dead_letters:
        print(f"wayfinder import: {summary.dead_letters:,} row(s) not imported (exit {ROWS_REFUSED}): the events of "
              f"the other rows are written; fix these rows in the export, or the mapping", file=sys.stderr)
        return ROWS_REFUSED
    return 0


def cmd_intake(args: argparse.Namespace) -> int:
    import uvicorn
    from prometheus_client import CollectorRegistry

    from wayfinder.hris.intake import IntakeConfig, create_app, kafka_sink
    from wayfinder.hris.mapping import MappingError, load_mapping
    from wayfinder.hris.sinks import FileSink
    from wayfinder.streams.cli import settings_from
    from wayfinder.telemetry import add_standard_collectors

    mappings: dict[str, Any] = {}
    try:
        for item in args.mapping:
            system, _, file = item.partition("=")
            if system not in ("bamboohr", "personio") or not file:
                print(f"wayfinder intake: --mapping {item!r}: write bamboohr=FILE or personio=FILE", file=sys.stderr)
                return 1
            mappings[system] = load_mapping(Path(file))
    except MappingError as e:
        print(e, file=sys.stderr)
        return 1
    config = IntakeConfig.from_env(mappings)
    sink = FileSink(args.out) if args.out else kafka_sink(settings_from(args), config.settings.kafka_timeout_seconds)
    registry = CollectorRegistry()
    add_standard_collectors(registry, "intake")
    app = create_app(config, sink, clock=lambda: datetime.now(UTC), registry=registry)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("import", help="turn HR system exports into events (snapshot comparison)")
    inner = p.add_subparsers(dest="import_command", required=True, metavar="KIND")
    s = inner.add_parser("snapshot", help="compare two exports (CSV or JSON lines) and write the events that "
                         "explain the difference")
    s.add_argument("--previous", type=Path, help="the previous export; without it only profiles are loaded "
                   "(first run: nobody is announced as hired)")
    s.add_argument("--current", type=Path, required=True, help="today's export")
    s.add_argument("--mapping", type=Path, required=True, help="the mapping file (kind: Mapping)")
    s.add_argument("--out", type=Path, required=True, help="events, one CloudEvent per line (for wayfinder publish)")
    s.add_argument("--dead-letters", type=Path, help="rows that could not be read [default: OUT's name "
                   "+ .dead_letters.jsonl]")
    s.add_argument("--as-of", type=_time, help="the current export's date or time [default: its as_of column, "
                   "else a date in its file name]")
    s.add_argument("--previous-as-of", type=_time, help="the previous export's date [default: as for --as-of, "
                   "else the day before]")
    s.add_argument("--baseline-out", type=Path, metavar="FILE", help="write the next run's --previous here: "
                   "this export, each refused row replaced by that employee's previous row (left out without one)")
    s.add_argument("--work-dir", type=Path, help="where the on-disk index goes [default: the system's temp folder]")
    s.add_argument("--expect-many-gone", action="store_true",
                   help="compare an export that lacks more than half of the previous one's working employees (a "
                        "business sold, a filter changed on purpose); without it such an export stops the import")
    s.set_defaults(func=cmd_snapshot)

    p = sub.add_parser("intake", help="receive BambooHR and Personio webhooks and produce events to Kafka")
    p.add_argument("--mapping", action="append", required=True, metavar="SYSTEM=FILE",
                   help="bamboohr=FILE or personio=FILE (repeat for both); only mapped systems are served")
    p.add_argument("--host", default="127.0.0.1", help="[default: 127.0.0.1]")
    p.add_argument("--port", type=int, default=8080, help="[default: 8080]")
    p.add_argument("--out", type=Path, help="append events to this JSON-lines file instead of Kafka (embedded)")
    p.add_argument("--broker", dest="broker", default=None, metavar="BROKER",
                   help="kafka://host:port[;...] [default: WAYFINDER_BROKER, else kafka://127.0.0.1:9092]")
    p.add_argument("--topic-prefix", dest="topic_prefix", default=None, metavar="PREFIX",
                   help="[default: WAYFINDER_TOPIC_PREFIX, else wayfinder.]")
    p.set_defaults(func=cmd_intake)
