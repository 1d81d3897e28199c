"""``wayfinder deliver``'s arguments; its work is in :mod:`wayfinder.cli.delivery`, imported when it runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from wayfinder.cli.later import later


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("deliver", help="send messages.jsonl by email (SMTP) and to the intranet (webhooks)",
                       description="Deliver the sent and approved messages of a messages.jsonl. Settings come "
                       "from WAYFINDER_* environment variables (WAYFINDER_SMTP_URL, WAYFINDER_SENDER, "
                       "WAYFINDER_DESTINATIONS, ...). Safe to run twice: the ledger skips what was delivered.")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--messages", type=Path, help="messages.jsonl, or the folder that holds it")
    source.add_argument("--kafka", action="store_true", help="consume outbound.messages (broker, topic prefix and "
                        "app id from WAYFINDER_BROKER, WAYFINDER_TOPIC_PREFIX, WAYFINDER_APP_ID); receipts go to "
                        "delivery.receipts and failures to dead-letters")
    p.add_argument("--idle", type=float, default=5.0, help="with --kafka: stop after this many seconds without "
                   "a new message [default: 5]")
    p.add_argument("--receipts", type=Path, help="append receipts here [default: receipts.jsonl beside the messages]")
    p.add_argument("--dead-letters", type=Path, help="append failed messages here "
                   "[default: delivery_dead_letters.jsonl beside the messages]")
    p.add_argument("--ledger", type=Path, help="the send ledger (SQLite) [default: WAYFINDER_LEDGER_PATH, else "
                   "delivery_ledger.sqlite3 beside the messages]")
    p.add_argument("--concurrency", type=int, help="messages in flight at once per connector (email, the intranet "
                   "destination) [default: WAYFINDER_CONCURRENCY, 8]")
    p.add_argument("--retry-failed", action="store_true", help="try again the messages that failed in earlier runs")
    p.add_argument("--metrics-file", type=Path, help="write the delivery metrics here (Prometheus text format)")
    p.add_argument("--metrics-port", type=int, help="with --kafka: serve the delivery metrics on this port while "
                   "running (address: WAYFINDER_METRICS_HOST, default 127.0.0.1)")
    p.add_argument("--control", type=Path, help="the stop switch's log (wayfinder sending pause/resume) "
                   "[default: control.jsonl beside the messages; with --kafka the control topic]")
    p.set_defaults(func=later("wayfinder.cli.delivery", "cmd_deliver"))
