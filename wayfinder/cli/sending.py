"""``wayfinder sending pause|resume|status``: the stop switch, for an operator (see connectors/switch.py)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from wayfinder.connectors.switch import ControlFile, ControlRecord
from wayfinder.vocabulary import Topic

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sending", help="the stop switch: pause or resume sending, for one journey or all",
                       description="Pause or resume sending. Decisions go on; delivery holds the messages of a "
                       "paused journey (or all) and sends them in order on resume, or drops them with "
                       "--drop-held. Every pause and resume is kept with who, when and why.")
    p.add_argument("action", choices=["pause", "resume", "status"])
    p.add_argument("--journey", help="one journey's id [default: all sending]")
    p.add_argument("--operator", help="who does this (an opaque id; required for pause and resume)")
    p.add_argument("--reason", help="why (kept in the log)")
    p.add_argument("--drop-held", action="store_true", help="with resume: drop what the pause held")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--control", type=Path, help="the switch's log beside the messages (control.jsonl)")
    where.add_argument("--kafka", action="store_true", help="the control topic (WAYFINDER_BROKER, "
                       "WAYFINDER_TOPIC_PREFIX)")
    p.set_defaults(func=cmd_sending)


def cmd_sending(args: argparse.Namespace) -> int:
    if args.action == "status":
        return _status(args)
    if not args.operator:
        print("--operator is required: every pause and resume says who did it", file=sys.stderr)
        return 2
    if args.drop_held and args.action != "resume":
        print("--drop-held goes with resume", file=sys.stderr)
        return 2
    record = ControlRecord(action=args.action, journey_id=args.journey, operator_id=args.operator,
                           reason=args.reason, drop_held=args.drop_held, at=datetime.now(UTC))
    if args.kafka:
        _produce(record)
    else:
        ControlFile(args.control).append(record)
    scope = f"journey {args.journey}" if args.journey else "all sending"
    print(f"{args.action}d {scope}" + (" (held messages will be dropped)" if args.drop_held else ""))
    return 0


def _status(args: argparse.Namespace) -> int:
    if args.kafka:
        print("status from Kafka: see the wayfinder_sending_paused metric of `wayfinder deliver --kafka`",
              file=sys.stderr)
        return 2
    state = ControlFile(args.control).refresh().state()
    if not any(state.values()):
        print("sending: on")
    for scope, paused in state.items():
        if paused:
            print(f"paused: {'all sending' if scope == 'all' else 'journey ' + scope}")
    return 0


def _produce(record: ControlRecord) -> None:
    from kafka import KafkaProducer

    from wayfinder.streams.settings import WorkerSettings

    settings = WorkerSettings()
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    try:
        key = (record.journey_id or "all").encode("utf-8")
        producer.send(settings.topic(Topic.CONTROL), key=key, value=record.model_dump_json().encode("utf-8")).get(30)
    finally:
        producer.close()
