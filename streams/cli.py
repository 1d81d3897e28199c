"""The Kafka commands: ``worker``, ``publish``, ``topics``."""

from __future__ import annotations

import argparse
import gc
import logging
import math
import sys
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pydantic import ValidationError

from wayfinder.streams.settings import PUBLISH_WAIT_SECONDS, WorkerSettings
from wayfinder.vocabulary import Topic, parse_instant

if TYPE_CHECKING:
    from wayfinder.streams.publish import Published

_FLAGS = {
    "broker": "--broker", "app_id": "--app-id", "topic_prefix": "--topic-prefix", "partitions": "--partitions",
    "replication": "--replication", "store": "--store", "data_dir": "--data-dir", "definitions": "--definitions",
    "clock": "--clock", "metrics_port": "--metrics-port", "log_level": "--log-level",
    "log_format": "--log-format",
}


def _env_help(*names: str) -> str:
    """The settings a command reads (all of them when none are named)."""
    lines = ["settings (a flag wins over its environment variable):"]
    for name, info in WorkerSettings.model_fields.items():
        if names and name not in names:
            continue
        flag = _FLAGS.get(name, "")
        described = info.description or ""
        default = "" if "[default:" in described else \
            f" [default: {info.default if info.default is not None else 'unset'}]"  # one default, not two
        lines.append(f"  WAYFINDER_{name.upper():<25} {flag:<16} {described}{default}")
    return "\n".join(lines)


def _settings_args(p: argparse.ArgumentParser, *names: str) -> None:
    for name in names:
        p.add_argument(_FLAGS[name], dest=name, default=None, metavar=name.upper(),
                       help=f"as WAYFINDER_{name.upper()} below")


def settings_from(args: argparse.Namespace) -> WorkerSettings:
    given: dict[str, Any] = {k: v for k in _FLAGS if (v := getattr(args, k, None)) is not None}
    try:
        return WorkerSettings(**given)
    except ValidationError as e:
        problems = "; ".join(f"{_setting_name(err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
                             if err["loc"] else err["msg"].removeprefix("Value error, ") for err in e.errors())
        msg = f"wayfinder: bad settings: {problems}"
        raise SystemExit(msg) from e


def _setting_name(loc: tuple[Any, ...]) -> str:
    """A setting as the operator wrote it: its environment variable, and its flag where it has one."""
    name = str(loc[0])
    flag = _FLAGS.get(name)
    return f"WAYFINDER_{name.upper()}" + (f" ({flag})" if flag else "")


def cmd_worker(args: argparse.Namespace) -> int:
    from wayfinder.journeys import DefinitionError
    from wayfinder.streams.app import DataDirInUse, create_app, serve_health, start_from_changelogs
    from wayfinder.streams.partitions import PartitionMismatch, check_worker_topics
    from wayfinder.telemetry import configure_logging, logging_config

    settings = settings_from(args)
    configure_logging(settings.log_level, settings.log_format)  # until Faust takes over with the same format
    try:
        wapp = create_app(settings)
        lock = start_from_changelogs(wapp)  # noqa: F841  # held (locked) while the worker runs
        serve_health(wapp)  # from start-up on: the topics check below can wait ~30 s for the broker
        check_worker_topics(settings, broker_away=wapp.health.waiting_for_broker)
    except (DefinitionError, PartitionMismatch, DataDirInUse) as e:
        print(e, file=sys.stderr)
        return 1
    worker = faust_worker(wapp.faust, settings, logging_config(settings.log_level, settings.log_format))
    settle_collector()
    worker.execute_from_commandline()
    return 0


def faust_worker(app: Any, settings: WorkerSettings, logging_config: Any, stdout: IO[str] | None = None) -> Any:
    """Faust's worker for ``app``, writing to ``stdout`` (the process's). Faust's start-up spinner writes terminal
    escapes (hide and show the cursor, backspaces): it is kept only for text lines on a terminal. In JSON lines they
    would break the one-object-a-line stream, and in a file, a pipe or a pod's log (``kubectl logs``) they were
    written into the log's first lines (seen 2026-12-06 in a worker's log redirected to a file)."""
    import faust

    out = sys.stdout if stdout is None else stdout
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True, logging_config=logging_config, stdout=out)
    if settings.log_format == "json" or not out.isatty():
        worker.spinner = None
    return worker


# Python runs a full collection after this many collections of the middle generation (its default: 10).
FULL_COLLECTION_AFTER = 100


def settle_collector() -> None:
    """Before the worker runs (README "Warm at start-up"): what start-up loaded lives as long as the process, so the
    collector stops walking it (``gc.freeze``); and full collections, each a pause of 70-80 ms that walks everything
    the worker keeps (the latency tail at 200 births/s), come ten times less often."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_AFTER)


def cmd_publish(args: argparse.Namespace) -> int:
    from wayfinder.streams.publish import publish

    settings = settings_from(args)
    from wayfinder.streams.publish import PublishError

    tick = _time(args.tick) if args.tick else None
    if args.wait is not None and tick is None:
        print("wayfinder publish: error: --wait: only with --tick (it is how long to wait for the workers before "
              "the tick)", file=sys.stderr)
        return 2
    try:
        result = publish(settings, args.file, tick=tick, wait_seconds=args.wait or PUBLISH_WAIT_SECONDS)
    except PublishError as e:
        print(f"wayfinder publish: {e}", file=sys.stderr)
        return 1
    print(published_summary(result, settings))
    if tick is not None:
        print(f"advanced the stream clock of every partition to {args.tick}")
    return 0


def published_summary(result: Published, settings: WorkerSettings) -> str:
    """What ``publish`` did, in one line. A line without a subject (not JSON, or an event without its ``subject``)
    is sent unkeyed and is no valid event: the line says that the workers will dead-letter it, so that the count is
    not read as events that will be processed (before 2026-12-06 it said only "N without a subject")."""
    per_topic = ", ".join(f"{settings.topic(t)} {n:,}" for t, n in sorted(result.by_topic.items()))
    dead_letters = settings.topic(Topic.DEAD_LETTERS)
    events = "event" if result.sent == 1 else "events"  # "published 1 events" read as a slip (2026-12-06)
    return (f"published {result.sent:,} {events}" + (f" ({per_topic})" if per_topic else "")
            + (f"; {result.unkeyed:,} line(s) not JSON or without a subject, which the workers will put on "
               f"{dead_letters}" if result.unkeyed else "")
            + (f"; {result.too_large:,} line(s) longer than an event may be ({settings.max_event_bytes:,} bytes) "
               f"to {dead_letters}" if result.too_large else ""))


def cmd_topics(args: argparse.Namespace) -> int:
    from wayfinder.streams.partitions import PartitionMismatch, check_partitions, partition_counts
    from wayfinder.streams.topics import create_topics

    settings = settings_from(args)
    try:  # as the worker would refuse them: "already there (6 partitions)" was said of 3-partition topics
        check_partitions(settings, partition_counts(settings))
    except PartitionMismatch as e:
        print(f"wayfinder topics create: {e}", file=sys.stderr)
        return 1
    from kafka.errors import InvalidReplicationFactorError

    try:
        created, present = create_topics(settings)
    except InvalidReplicationFactorError:
        # the broker said no, not that it is away: a replication factor above its number of brokers (1 on the
        # local single-node broker); topics created before this one are kept, a second run creates the rest
        print(f"wayfinder topics create: the broker refused replication {settings.replication} "
              "(WAYFINDER_REPLICATION, --replication): it cannot be more than the number of brokers in the "
              "cluster", file=sys.stderr)
        return 1
    for name in created:
        print(f"created {name}")
    print(f"{len(created)} created, {len(present)} already there "
          f"({settings.partitions} partitions, replication {settings.replication})")
    return 0


def _time(value: str) -> datetime:
    try:
        return parse_instant(value)
    except ValueError as e:
        msg = f"--tick: {e}"
        raise SystemExit(msg) from e


def _wait_seconds(value: str) -> float:
    """``--wait``: a positive, finite number of seconds."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds):
        msg = f"{value!r} is not a number of seconds"
        raise argparse.ArgumentTypeError(msg)
    if seconds <= 0:
        msg = f"{value} is not a positive number of seconds"
        raise argparse.ArgumentTypeError(msg)
    return seconds


def register(sub: Any) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("worker", help="the stream processor on Kafka (Faust)", epilog=_env_help(),
                       formatter_class=fmt)
    _settings_args(p, *_FLAGS)
    p.set_defaults(func=cmd_worker)

    publish_settings = ("broker", "topic_prefix", "app_id")
    p = sub.add_parser("publish", help="produce a file of events to Kafka, keyed by subject",
                       epilog=_env_help(*publish_settings), formatter_class=fmt)
    p.add_argument("file", type=Path, help="CloudEvents, one JSON object per line")
    p.add_argument("--tick", metavar="TIME", help="then advance the stream clock to TIME (workers with --clock "
                   "event): timers due by then fire")
    p.add_argument("--wait", metavar="SECONDS", type=_wait_seconds,
                   help=f"with --tick: how long to wait for the workers to catch up before the tick (default "
                   f"{PUBLISH_WAIT_SECONDS:g}); not caught up by then, no tick is sent and the command exits 1")
    _settings_args(p, *publish_settings)
    p.set_defaults(func=cmd_publish)

    topics_settings = ("broker", "topic_prefix", "partitions", "replication")
    p = sub.add_parser("topics", help="create Wayfinder's topics (idempotent)", epilog=_env_help(*topics_settings),
                       formatter_class=fmt)
    p.add_argument("action", choices=["create"])
    _settings_args(p, *topics_settings)
    p.set_defaults(func=cmd_topics)
    logging.getLogger("kafka").setLevel(logging.WARNING)
