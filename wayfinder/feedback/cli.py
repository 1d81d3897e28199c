"""``wayfinder feedback aggregate``: the catalog feedback document from engagement events, read from a file or
from the workers' topics on Kafka (the same decoding and the same counting either way)."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from wayfinder.feedback.aggregate import aggregate, feedback_document
from wayfinder.journeys.events import CloudEvent
from wayfinder.streams.embedded import ReadEvents, read_event_file, read_events
from wayfinder.vocabulary import Topic, parse_instant

# Engagement first: the erasure requests on hris.events are then read to end offsets found later, so a request
# that arrives while the engagement topic is read is still honoured (never the other way round).
TOPICS = (Topic.ENGAGEMENT_EVENTS, Topic.HRIS_EVENTS)

HEADER = ("# Everyone's ratings and clicks per resource, written by `wayfinder feedback aggregate`.\n"
          "# Counts only, no person. Ranking demotes poorly rated resources for everyone (README).\n")


def register(sub: Any) -> None:
    """Add ``feedback aggregate`` to the ``wayfinder`` command."""
    p = sub.add_parser("feedback", help="everyone's ratings and clicks per resource, for ranking")
    commands = p.add_subparsers(dest="feedback_command", required=True, metavar="COMMAND")
    a = commands.add_parser("aggregate", help="count ratings, opens and clicks per resource from engagement events "
                            "into a `kind: CatalogFeedback` document for the catalog folder",
                            description="Count ratings, opens and clicks per resource into a `kind: CatalogFeedback` "
                            "document. The events come from a file (--events) or from the workers' topics on Kafka "
                            "(--kafka): one of the two is required, not both.")
    source = a.add_mutually_exclusive_group(required=True)
    source.add_argument("--events", type=Path, help="CloudEvents, one JSON object per line (this or --kafka)")
    source.add_argument("--kafka", metavar="HOST:PORT[,...]", type=_brokers,
                        help="read the topics engagement.events and hris.events (its erasure requests) on these "
                        "brokers, each from its start to its end when the command starts (this or --events)")
    a.add_argument("--topic-prefix", default="wayfinder.", help="prefix of the topics with --kafka "
                   "[default: wayfinder.]")
    a.add_argument("--until", type=parse_instant, help="count events up to this time [default: the last event's]")
    a.add_argument("--out", type=Path, help="the YAML file to write, e.g. catalog/feedback.yaml [default: stdout]")
    a.add_argument("--min-ratings", type=int, default=5, help="fewer ratings do not count [default: 5]")
    a.add_argument("--min-opens", type=int, default=20, help="fewer opens do not count [default: 20]")
    a.add_argument("--prior-weight", type=float, default=10.0, help="smoothing toward the catalog's average, in "
                   "ratings (or opens) [default: 10]")
    a.set_defaults(func=cmd_aggregate)


def _brokers(text: str) -> list[str]:
    brokers = [b.strip() for b in text.split(",") if b.strip()]
    if not brokers:
        msg = "give the brokers as host:port, comma separated"
        raise argparse.ArgumentTypeError(msg)
    return brokers


class _Unreadable(Exception):
    """The source could not be read; the text is the one line to print."""


def _from_kafka(brokers: list[str], prefix: str) -> tuple[ReadEvents, str, str]:
    from wayfinder.streams.readback import TopicReadError, topic_reader  # Kafka's client: imported when it runs

    # kafka-python logs every refused connection: the one line printed for a _Unreadable says what went wrong
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    read = topic_reader(brokers, missing_ok=False, client_id="wayfinder-feedback")
    names = [prefix + t for t in TOPICS]
    try:
        values = [value for name in names for value in read(name)]
    except TopicReadError as e:
        raise _Unreadable(str(e)) from e
    return read_events(values, source=", ".join(names)), ", ".join(names), "record"


def _from_file(path: Path) -> tuple[ReadEvents, str, str]:
    try:
        return read_event_file(path), str(path), "line"
    except OSError as e:
        msg = f"cannot read {path}: {e.strerror}"
        raise _Unreadable(msg) from e


def _events(args: argparse.Namespace) -> tuple[list[CloudEvent], int, str, str]:
    """The decoded events (as ``simulate`` decodes them), how many could not be read, the source and its unit."""
    read, where, unit = _from_kafka(args.kafka, args.topic_prefix) if args.kafka else _from_file(args.events)
    return read.events, len(read.dead_letters), where, unit


def cmd_aggregate(args: argparse.Namespace) -> int:
    try:
        events, bad, where, unit = _events(args)
    except _Unreadable as e:
        print(f"wayfinder feedback aggregate: {e}", file=sys.stderr)
        return 2
    if not events:
        print(f"wayfinder feedback aggregate: {where}: no events", file=sys.stderr)
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
          + (f" ({bad} {unit}{'s' if bad > 1 else ''} could not be read)" if bad else ""), file=sys.stderr)
    return 0
