"""``wayfinder feedback aggregate``: the catalog feedback document from a file of engagement events."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from wayfinder.feedback.aggregate import aggregate, feedback_document
from wayfinder.journeys.events import CloudEvent, DecodeError, decode_event
from wayfinder.streams.embedded import LongLine, file_lines
from wayfinder.vocabulary import parse_instant

HEADER = ("# Everyone's ratings and clicks per resource, written by `wayfinder feedback aggregate`.\n"
          "# Counts only, no person. Ranking demotes poorly rated resources for everyone (README).\n")


def register(sub: Any) -> None:
    """Add ``feedback aggregate`` to the ``wayfinder`` command."""
    p = sub.add_parser("feedback", help="everyone's ratings and clicks per resource, for ranking")
    commands = p.add_subparsers(dest="feedback_command", required=True, metavar="COMMAND")
    a = commands.add_parser("aggregate", help="count ratings, opens and clicks per resource from engagement events "
                            "into a `kind: CatalogFeedback` document for the catalog folder")
    a.add_argument("--events", type=Path, required=True, help="CloudEvents, one JSON object per line")
    a.add_argument("--until", type=parse_instant, help="count events up to this time [default: the last event's]")
    a.add_argument("--out", type=Path, help="the YAML file to write, e.g. catalog/feedback.yaml [default: stdout]")
    a.add_argument("--min-ratings", type=int, default=5, help="fewer ratings do not count [default: 5]")
    a.add_argument("--min-opens", type=int, default=20, help="fewer opens do not count [default: 20]")
    a.add_argument("--prior-weight", type=float, default=10.0, help="smoothing toward the catalog's average, in "
                   "ratings (or opens) [default: 10]")
    a.set_defaults(func=cmd_aggregate)


def _read(path: Path) -> tuple[list[CloudEvent], int]:
    events: list[CloudEvent] = []
    bad = 0
    with path.open("rb") as f:
        for line in file_lines(f):
            if isinstance(line, LongLine):
                bad += 1
                continue
            if not line.strip():
                continue
            try:
                events.append(decode_event(line))
            except DecodeError:
                bad += 1
    return events, bad


def cmd_aggregate(args: argparse.Namespace) -> int:
    try:
        events, bad = _read(args.events)
    except OSError as e:
        print(f"wayfinder feedback aggregate: cannot read {args.events}: {e.strerror}", file=sys.stderr)
        return 2
    if not events:
        print(f"wayfinder feedback aggregate: {args.events}: no events", file=sys.stderr)
        return 1
    until: datetime = args.until or max(e.time for e in events)
    counts = aggregate(events, until)
    doc = feedback_document(counts, until, min_ratings=args.min_ratings, min_opens=args.min_opens,
                            prior_weight=args.prior_weight)
    text = HEADER + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
    print(f"{len(counts)} resources from {len(events)} events up to {doc['as_of']}"
          + (f" ({bad} lines could not be read)" if bad else ""), file=sys.stderr)
    return 0
