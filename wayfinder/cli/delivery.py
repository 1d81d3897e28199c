"""``wayfinder deliver``: send the messages of a ``messages.jsonl`` by email and to the intranet.

Safe to run twice: the send ledger (next to the messages file unless told otherwise) skips what
was already accepted. Exit status 0 when nothing failed, 1 when a message failed for good (it is
in the dead-letter file with the reason), 2 when the configuration is wrong, 130 when stopped by
Ctrl-C or SIGTERM (sends under way finish first; what is left goes out on the next run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, TypeVar

from prometheus_client import CollectorRegistry, write_to_textfile
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsError

from wayfinder.clock import utc_now
from wayfinder.connectors.base import ConnectorDeps, build_connectors
from wayfinder.connectors.erasures import KafkaErasures
from wayfinder.connectors.ledger import LedgerBusy, SqliteLedger
from wayfinder.connectors.metrics import DeliveryMetrics
from wayfinder.connectors.receipts import JsonlSink, MessageFile
from wayfinder.connectors.runner import DeliveryRunner, DeliverySummary
from wayfinder.connectors.settings import DeliverySettings
from wayfinder.connectors.switch import CONTROL_FILE, ControlFile, KafkaControl
from wayfinder.connectors.webhook import http_client
from wayfinder.journeys.records import Message
from wayfinder.safety.erasure import redact_failed_deliveries
from wayfinder.vocabulary import Topic

log = logging.getLogger(__name__)
# The send ledger's file when WAYFINDER_LEDGER_PATH is unset: beside the messages file, or with --kafka in the working
# directory (which a read-only root filesystem cannot take: the manifests set the variable).
LEDGER_FILE = "delivery_ledger.sqlite3"
COMMIT_EVERY_SECONDS = 5.0  # deliver --kafka: how often what is settled is committed (``wayfinder status`` reads it)


@dataclass
class DeliverHealth:
    """What ``deliver --kafka``'s ``/readyz`` says: ready once it consumes outbound.messages, unless a connector's
    circuit breaker is open (its server keeps refusing)."""

    registry: CollectorRegistry
    consuming: bool = False
    waiting_for: str | None = None  # the Kafka client that cannot reach the broker yet

    def ready(self) -> Any:
        from wayfinder.telemetry import Verdict

        waiting = f"waiting for the Kafka broker ({self.waiting_for})" if self.waiting_for else "connecting to Kafka"
        reasons = [] if self.consuming else [f"not consuming outbound.messages yet ({waiting})"]
        for family in self.registry.collect():
            if family.name == "wayfinder_delivery_circuit_state":
                reasons += [f"the circuit to connector {s.labels['connector']} is open"
                            for s in family.samples if s.value == 1]
        return Verdict.of(reasons)


@dataclass(frozen=True)
class _Paths:
    messages: Path
    receipts: Path
    dead_letters: Path
    ledger: Path
    control: Path


def _env_name(loc: tuple[int | str, ...]) -> str:
    """The variable a problem at ``loc`` is in: a nested one (``WAYFINDER_RETRY__MAX_ATTEMPTS``) when that is
    what was set, else the top one with the place inside it (``WAYFINDER_RETRY (max_attempts)``, JSON)."""
    nested = "WAYFINDER_" + "__".join(str(part).upper() for part in loc)
    if len(loc) > 1 and nested in os.environ:
        return nested
    head = f"WAYFINDER_{str(loc[0]).upper()}" if loc else "WAYFINDER_*"
    rest = ".".join(str(part) for part in loc[1:])
    return f"{head} ({rest})" if rest else head


_Settings = TypeVar("_Settings", bound=BaseSettings)


def _load(kind: type[_Settings], overrides: dict[str, Any], err: TextIO) -> _Settings | None:
    """Settings of ``kind`` from the environment and ``overrides``; None, with one line per problem on ``err`` that
    names the variable, when they are wrong."""
    try:
        return kind(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as e:
        for error in e.errors(include_input=False, include_url=False):
            print(f"configuration error: {_env_name(error['loc'])}: {error['msg'].removeprefix('Value error, ')}",
                  file=err)
    except SettingsError as e:
        print(unreadable_setting(e), file=err)
    return None


_UNREADABLE = re.compile(r'field "([a-z0-9_]+)"')


def unreadable_setting(e: SettingsError) -> str:
    """The line for a variable pydantic-settings could not even parse (the JSON of a nested setting): its name and
    where the JSON broke, never its value (a destination's URL is a secret)."""
    found = _UNREADABLE.search(str(e))
    name = _env_name((found.group(1),)) if found else "WAYFINDER_*"
    cause = e.__cause__
    where = (f" ({cause.msg} at line {cause.lineno} column {cause.colno})"
             if isinstance(cause, json.JSONDecodeError) else "")
    return f"configuration error: {name}: not valid JSON{where}"


def _paths(args: argparse.Namespace, settings: DeliverySettings) -> _Paths:
    messages: Path = args.messages / "messages.jsonl" if args.messages.is_dir() else args.messages
    folder = messages.parent
    return _Paths(messages=messages, receipts=args.receipts or folder / "receipts.jsonl",
                  dead_letters=args.dead_letters or folder / "delivery_dead_letters.jsonl",
                  ledger=settings.ledger_path or folder / LEDGER_FILE,
                  control=args.control or folder / CONTROL_FILE)


@contextmanager
def _stop_on_signals(runner: DeliveryRunner) -> Iterator[None]:
    """Ctrl-C or SIGTERM: stop reading, let sends under way finish (a second one abandons them)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()

    def on_signal() -> None:
        if runner.stopping and task is not None:
            task.cancel()
            return
        print("stopping: finishing the sends under way; the rest is left for the next run "
              "(press Ctrl-C again to abandon them, which leaves them in doubt)", file=sys.stderr)
        runner.stop()

    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, on_signal)
    try:
        yield
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def _metrics_file_writable(path: Path | None) -> bool:
    """Whether ``--metrics-file`` can be written at the end: said before anything is sent (exit 2), not as a failure
    after every message went (it is written through a file beside it, then renamed)."""
    if path is None:
        return True
    folder = path.parent
    if path.is_dir() or not folder.is_dir() or not os.access(folder, os.W_OK):
        why = "a folder" if path.is_dir() else f"{folder} is not a folder it can write to"
        print(f"wayfinder deliver: cannot write --metrics-file {path} ({why})", file=sys.stderr)
        return False
    return True


def _open_before_sending(sink: JsonlSink, flag: str) -> None:
    """A receipt that cannot be written after the server accepted is lost for good (the ledger skips the message
    from then on), so the sinks are opened before the first send and an unwritable one stops the run (exit 2)."""
    try:
        sink.open()
    except OSError as e:
        msg = f"cannot write {sink.path} ({e.strerror or type(e).__name__}); give another {flag}"
        raise ValueError(msg) from e


async def deliver_file(settings: DeliverySettings, paths: _Paths, *, retry_failed: bool,
                       registry: CollectorRegistry) -> tuple[DeliverySummary, MessageFile]:
    """Deliver one messages file with connectors built from settings; closes everything it opens."""

    metrics = DeliveryMetrics(registry)
    ledger = SqliteLedger(paths.ledger)
    receipts, dead_letters = JsonlSink(paths.receipts), JsonlSink(paths.dead_letters)
    source = MessageFile(paths.messages, received_at=utc_now())
    control = ControlFile(paths.control)
    erased: set[str] = set()
    try:
        async with http_client(settings) as http:
            connectors = build_connectors(settings, ConnectorDeps(http=http))
            try:
                _open_before_sending(receipts, "--receipts")
                _open_before_sending(dead_letters, "--dead-letters")
                runner = DeliveryRunner(connectors, ledger=ledger, receipts=receipts, dead_letters=dead_letters,
                                        settings=settings, metrics=metrics,
                                        retry_failed=retry_failed, switch=control.current, hold="skip")
                with _stop_on_signals(runner):
                    summary = await runner.run(source)
                erased = runner.erased_ids
            finally:
                await asyncio.gather(*(c.close() for c in connectors.values()))
        for letter in source.rejected:
            await dead_letters.write(letter)
            metrics.not_a_message()
    finally:
        await receipts.close()
        await dead_letters.close()
        ledger.close()
    # a message that failed before its person's erasure left its content in an earlier run's dead letter
    redact_failed_deliveries(paths.dead_letters, erased)
    return summary, source


def _counts(counter: Counter[str]) -> str:
    return f"  ({', '.join(f'{k} {n}' for k, n in counter.most_common())})" if counter else ""


def print_summary(summary: DeliverySummary, source: MessageFile, paths: _Paths, elapsed: float, out: TextIO) -> None:
    print(f"deliver {paths.messages}: {source.read} messages read, {summary.attempts} attempts, {elapsed:.2f}s",
          file=out)
    _print_rows(summary, out)
    if source.rejected:
        print(f"  {len(source.rejected)} line(s) were not message records (in the dead letters)", file=out)
    print(f"\n  receipts: {paths.receipts}\n  dead letters: {paths.dead_letters}\n  ledger: {paths.ledger}", file=out)


def _print_rows(summary: DeliverySummary, out: TextIO) -> None:
    s = summary
    rows = [
        ("delivered", s.delivered, _counts(s.delivered_by_channel)),
        ("failed (in the dead letters)", s.failed_total, _counts(s.failed)),
        ("skipped, already delivered", s.skipped_already_delivered, ""),
        ("skipped, already failed", s.skipped_already_failed, "  (--retry-failed tries them again)"
         if s.skipped_already_failed else ""),
        ("skipped, not for delivery", sum(s.skipped_by_status.values()), _counts(s.skipped_by_status)),
        ("skipped, channel not set up", sum(s.skipped_no_connector.values()), _counts(s.skipped_no_connector)),
    ]
    for label, count, extra in rows:
        print(f"  {label:<30}{count:>7}{extra}", file=out)
    if s.held_by_switch:
        print(f"  {s.held_by_switch} message(s) held by the stop switch (wayfinder sending resume): the next run "
              "sends them, in order", file=out)
    if s.dropped_by_switch:
        print(f"  {s.dropped_by_switch} message(s) dropped: an operator resumed sending with --drop-held", file=out)
    if s.left_for_next_run:
        print(f"  {s.left_for_next_run} message(s) were waiting (to retry, or for their connector) when the run was "
              "stopped; the next run sends them", file=out)
    if s.not_reached:
        print(f"  {s.not_reached} message(s) read were not reached before the run was stopped; the next run sends "
              "them", file=out)
    if s.resent_in_doubt:
        print(f"  {s.resent_in_doubt} message(s) were being sent when an earlier run stopped and were sent again "
              "(a recipient may see them twice)", file=out)


_T = TypeVar("_T")


def _nowhere(settings: DeliverySettings) -> bool:
    """True (and said on stderr) when no connector is configured."""
    if settings.smtp_url is None and not settings.destinations:
        print("nothing to deliver to: set WAYFINDER_SMTP_URL and WAYFINDER_SENDER for email, "
              "and/or WAYFINDER_DESTINATIONS for the intranet", file=sys.stderr)
        return True
    return False


def _run(work: Coroutine[Any, Any, _T], again: str) -> _T | int:
    """Run a delivery; a busy ledger or a configuration error is said on stderr and comes back as exit code 2, an
    interrupted run as 130 (``again``: what the next run does with the messages that were in flight)."""
    try:
        return asyncio.run(work)
    except asyncio.CancelledError:
        print(f"abandoned: the messages that were being sent are in doubt; the next run {again} "
              "(WAYFINDER_IN_DOUBT=hold fails them for a person instead)", file=sys.stderr)
        return 130
    except LedgerBusy as e:
        print(f"wayfinder deliver: {e}", file=sys.stderr)
    except (ValueError, LookupError) as e:
        print(f"configuration error: {e}", file=sys.stderr)
    return 2


def cmd_deliver(args: argparse.Namespace) -> int:
    settings = _load(DeliverySettings, {"concurrency": args.concurrency, "ledger_path": args.ledger}, sys.stderr)
    if settings is None:
        return 2
    if args.kafka:
        return _deliver_kafka(args, settings)
    paths = _paths(args, settings)
    if not paths.messages.is_file():
        print(f"{paths.messages}: no such messages file (wayfinder simulate --out DIR writes DIR/messages.jsonl)",
              file=sys.stderr)
        return 2
    if _nowhere(settings) or not _metrics_file_writable(args.metrics_file):
        return 2
    registry = CollectorRegistry()
    started = time.perf_counter()
    ran = _run(deliver_file(settings, paths, retry_failed=args.retry_failed, registry=registry), "sends them again")
    if isinstance(ran, int):
        return ran
    summary, source = ran
    print_summary(summary, source, paths, time.perf_counter() - started, sys.stdout)
    if args.metrics_file:
        write_to_textfile(str(args.metrics_file), registry)
    if summary.stopped:
        return 130
    return 1 if summary.failed_total or source.rejected else 0


def _deliver_kafka(args: argparse.Namespace, settings: DeliverySettings) -> int:
    from wayfinder.streams.settings import WorkerSettings

    if _nowhere(settings) or not _metrics_file_writable(args.metrics_file):
        return 2
    worker = _load(WorkerSettings, {}, sys.stderr)
    if worker is None:
        return 2
    ledger = settings.ledger_path or Path(LEDGER_FILE)
    registry = CollectorRegistry()
    health = DeliverHealth(registry)
    if args.metrics_port is not None:
        from wayfinder.telemetry import add_standard_collectors, serve

        add_standard_collectors(registry, "deliver")
        try:
            server = serve(registry, host=worker.metrics_host, port=args.metrics_port, ready=health.ready)
        except OSError as e:  # a port in use, an address that is not this machine's: say which setting
            print(f"wayfinder deliver: cannot serve metrics on {worker.metrics_host}:{args.metrics_port} "
                  f"(WAYFINDER_METRICS_HOST, --metrics-port): {e.strerror or type(e).__name__}", file=sys.stderr)
            return 2
        log.warning("metrics on %s/metrics (health: /healthz, /readyz)", server.url)
    started = time.perf_counter()
    ran = _run(deliver_kafka(settings, worker, ledger, idle=args.idle, retry_failed=args.retry_failed,
                             registry=registry, health=health), "reads them again and sends them again")
    if isinstance(ran, int):
        return ran
    summary, rejected = ran.summary, ran.rejected
    if summary.stopped:
        print("stopped: what was not finished is read again by the next run", file=sys.stderr)
    print(f"deliver {worker.topic(Topic.OUTBOUND_MESSAGES)}: {ran.read} records read, {summary.attempts} attempts, "
          f"{time.perf_counter() - started:.2f}s")
    if args.retry_failed:
        print(f"  --retry-failed: {ran.retried} message(s) that had failed found again on the topic and tried again"
              + (f"; {ran.not_found} no longer on it (retention): see their dead letters" if ran.not_found else ""))
    _print_rows(summary, sys.stdout)
    if rejected:
        print(f"  {rejected} record(s) were not messages (in {worker.topic(Topic.DEAD_LETTERS)})")
    print(f"\n  receipts: {worker.topic(Topic.DELIVERY_RECEIPTS)}\n  ledger: {ledger}")
    if args.metrics_file:
        write_to_textfile(str(args.metrics_file), registry)
    if summary.stopped:
        return 130
    return 1 if summary.failed_total or rejected else 0


async def _reaching_kafka(connect: Callable[[], Awaitable[_T]], what: str, health: DeliverHealth | None,
                         *, first_delay: float = 1.0, max_delay: float = 30.0) -> _T:
    """``connect()``, tried again with backoff while the broker cannot be reached: the process (and its /healthz)
    stays up and /readyz says what it waits for, as a worker does, instead of dying at start-up."""
    from aiokafka.errors import KafkaConnectionError

    delay = first_delay
    while True:
        try:
            connected = await connect()
        except KafkaConnectionError:
            if health is not None:
                health.waiting_for = what
            log.warning("cannot reach the Kafka broker (%s); trying again in %.0f s", what, delay)
            await asyncio.sleep(delay)
            delay = min(2 * delay, max_delay)
            continue
        if health is not None:
            health.waiting_for = None
        return connected


@dataclass(frozen=True)
class KafkaRun:
    """What ``deliver --kafka`` did: the runner's summary, the records read from the group's offsets and those that
    were not messages; with ``--retry-failed``, the failed messages found again on the topic and those not found."""

    summary: DeliverySummary
    read: int
    rejected: int
    retried: int = 0
    not_found: int = 0


async def deliver_kafka(settings: DeliverySettings, worker: Any, ledger_path: Path, *, idle: float,
                        retry_failed: bool, registry: CollectorRegistry,
                        health: DeliverHealth | None = None) -> KafkaRun:
    """Deliver what is on outbound.messages until the topic is idle; receipts and failures go back to Kafka.
    While the broker cannot be reached at start-up it is tried again (see ``_reaching_kafka``).

    With ``retry_failed``, first the messages the ledger says failed for good, read again from the start of the
    topic (``FailedAgain``): the group's committed offsets are past them, since a message that failed was settled
    like any other (before 2026-12-03 ``--retry-failed`` read only from those offsets, so it retried nothing). The
    ledger still guards each: one accepted meanwhile, or twice on the topic, is sent once."""
    from aiokafka import AIOKafkaProducer

    from wayfinder.connectors.kafka import FailedAgain, KafkaMessages, KafkaSink

    async def producer_started() -> AIOKafkaProducer:
        producer = AIOKafkaProducer(bootstrap_servers=worker.bootstrap_servers, acks="all", linger_ms=5)
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        return producer

    ledger = SqliteLedger(ledger_path)
    async with AsyncExitStack() as stack:
        stack.callback(ledger.close)
        producer = await _reaching_kafka(producer_started, "the producer of delivery.receipts", health)
        stack.push_async_callback(producer.stop)
        receipts = KafkaSink(producer, worker.topic(Topic.DELIVERY_RECEIPTS))
        dead_letters = KafkaSink(producer, worker.topic(Topic.DEAD_LETTERS))
        source = await _reaching_kafka(lambda: stack.enter_async_context(KafkaMessages(
            worker.bootstrap_servers, worker.topic(Topic.OUTBOUND_MESSAGES), f"{worker.app_id}-delivery",
            idle_seconds=idle)), "the consumer of outbound.messages", health)
        control = await _reaching_kafka(lambda: stack.enter_async_context(KafkaControl(
            worker.bootstrap_servers, worker.topic(Topic.CONTROL))), "the reader of the control topic", health)
        erasures = await _reaching_kafka(lambda: stack.enter_async_context(KafkaErasures(
            worker.bootstrap_servers, worker.topic(Topic.AUDIT))), "the reader of the audit topic", health)
        again = FailedAgain([], set())
        if retry_failed:
            failed = ledger.failed_ids()
            again = await _reaching_kafka(lambda: FailedAgain.read(
                worker.bootstrap_servers, worker.topic(Topic.OUTBOUND_MESSAGES), failed),
                "the reader of outbound.messages for --retry-failed", health)
            # said in the log, not only in the summary: a deliver that runs until stopped prints that at its end
            log.warning("--retry-failed: %d message(s) that had failed found again on %s, tried again first; "
                        "%d no longer on it (its retention removed them: their dead letters hold them)",
                        len(again.messages), worker.topic(Topic.OUTBOUND_MESSAGES), len(again.missing))
        http = await stack.enter_async_context(http_client(settings))
        if health is not None:
            health.consuming = True
        connectors = build_connectors(settings, ConnectorDeps(http=http))

        async def keep() -> None:
            """What is settled so far, kept: the rejected records' dead letters written, every receipt and dead
            letter on the broker, then the offsets committed (``KafkaMessages.commit``: never past a record that
            is not settled)."""
            await source.write_rejected(dead_letters)
            await receipts.flush()
            await dead_letters.flush()
            await source.commit()

        async def keep_every(seconds: float) -> None:
            while True:
                await asyncio.sleep(seconds)
                try:
                    await keep()
                except Exception as e:  # the broker away: kept at the next turn (or at the end) instead
                    log.warning("could not commit what deliver has settled (%s); trying again in %.0f s",
                                type(e).__name__, seconds)

        metrics = DeliveryMetrics(registry)
        source.on_lag = metrics.lag_measured
        source.on_rejected = metrics.not_a_message
        try:
            runner = DeliveryRunner(connectors, ledger=ledger, receipts=receipts, dead_letters=dead_letters,
                                    settings=settings, metrics=metrics,
                                    retry_failed=retry_failed, switch=control.current, hold="wait",
                                    asked_at=lambda m: again.asked_at(m) or source.asked_at(m), unrouted="fail",
                                    erased=erasures.about_erased)
            source.stopped = lambda: runner.stopping  # a stop ends the reading too, not only the sending

            async def failed_then_new() -> AsyncIterator[Message]:
                """The failed messages found again first (``settle`` passes over them: no offset is theirs),
                then the group's records."""
                for message in again.messages:
                    if runner.stopping:
                        return
                    yield message
                async for message in source:
                    yield message

            keeping = asyncio.create_task(keep_every(COMMIT_EVERY_SECONDS))
            try:
                with _stop_on_signals(runner):
                    summary = await runner.run(failed_then_new(), settled=source.settle)
            finally:
                keeping.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keeping
        finally:
            await asyncio.gather(*(c.close() for c in connectors.values()))
        await keep()  # a stop leaves what it did not finish uncommitted: the next run reads it again
        return KafkaRun(summary, source.read, len(source.rejected), len(again.messages), len(again.missing))
