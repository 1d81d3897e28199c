"""``wayfinder status``."""

from __future__ import annotations

import argparse
import json
import logging
from datetime import UTC, datetime


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("status", help="is the installation healthy: workers, lag per partition, dead letters, "
                       "paused sending, pending timers and reviews (exit 1 when not)",
                       description="Reads the consumer groups and topics from Kafka (WAYFINDER_BROKER, "
                       "WAYFINDER_APP_ID, WAYFINDER_TOPIC_PREFIX) and each given endpoint's /readyz and "
                       "/metrics. Exit 0 healthy, 1 unhealthy (every problem is printed).")
    p.add_argument("--worker", action="append", default=[], metavar="URL", help="a worker's metrics server, e.g. "
                   "http://wayfinder-worker-0.wayfinder-worker:9108 (repeat for each worker)")
    p.add_argument("--deliver", action="append", default=[], metavar="URL", help="deliver --kafka's metrics server")
    p.add_argument("--serve", action="append", default=[], metavar="URL", help="wayfinder serve's address")
    p.add_argument("--max-lag", type=int, default=1000, help="unhealthy when a topic is more than this many "
                   "messages behind [default: 1000]")
    p.add_argument("--max-dead-letters", type=int, default=10, help="unhealthy when more dead letters came in the "
                   "last hour [default: 10]")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    for flag, dest in (("--broker", "broker"), ("--app-id", "app_id"), ("--topic-prefix", "topic_prefix")):
        p.add_argument(flag, dest=dest, default=None, metavar=dest.upper())
    p.set_defaults(func=cmd_status)


def cmd_status(args: argparse.Namespace) -> int:
    from wayfinder.ops.status import Bounds, as_json, gather, render  # Kafka's client: imported when it runs
    from wayfinder.streams.cli import settings_from

    # kafka-python logs every refused connection and cannot decode Faust's group metadata: the report says it all.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    settings = settings_from(args)
    endpoints = [("worker", u) for u in args.worker] + [("deliver", u) for u in args.deliver] + [
        ("serve", u) for u in args.serve]
    report = gather(settings, endpoints, datetime.now(UTC), Bounds(args.max_lag, args.max_dead_letters))
    print(json.dumps(as_json(report), indent=2) if args.json else render(report, settings))
    return 0 if report.healthy else 1
