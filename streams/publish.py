"""``wayfinder publish``: put a file of events on Kafka, keyed by subject (kafka-python producer)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError, KafkaTimeoutError

from wayfinder.jsonrows import NotAnObject, json_object
from wayfinder.streams.embedded import UTF8_BOM, LongLine, file_lines
from wayfinder.streams.settings import PUBLISH_WAIT_SECONDS, WorkerSettings
from wayfinder.streams.topics import INPUTS
from wayfinder.streams.wire import encode_tick
from wayfinder.vocabulary import Topic, input_topic

TICKS = (Topic.EMPLOYEE_TICKS, Topic.MAILBOX_TICKS)  # the stream clock of each stage (``--tick``)

SETTLE_EVERY = 10_000  # sends between two checks of what Kafka accepted


class PublishError(RuntimeError):
    """Kafka did not accept every event, or the workers did not catch up before a tick."""


@dataclass
class Published:
    sent: int = 0
    by_topic: dict[str, int] = field(default_factory=dict)
    unkeyed: int = 0
    too_large: int = 0  # lines longer than an event may be, put on the dead-letter topic instead


def route(line: bytes) -> tuple[str, bytes | None]:
    """The topic (short name) and key of one raw event line; lines that are not events go unkeyed to hris."""
    try:
        obj = json_object(line)
    except NotAnObject:
        return Topic.HRIS_EVENTS, None
    subject = obj.get("subject")
    key = subject.encode("utf-8") if isinstance(subject, str) and subject else None
    kind = obj.get("type")
    return input_topic(kind if isinstance(kind, str) else ""), key


def _progress(stream: TextIO) -> Callable[[int, int, int], None]:
    def show(events: int, done: int, total: int) -> None:
        """``events`` sent so far; ``done`` of the file's ``total`` bytes read."""
        width = 30
        filled = width * done // max(total, 1)
        stream.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {events:,} events")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return show


def wait_caught_up(settings: WorkerSettings, *, timeout: float = PUBLISH_WAIT_SECONDS, poll: float = 0.5) -> bool:
    """Wait until the workers' group has consumed everything on the inputs and the mailbox topic."""
    names = [settings.topic(n) for n in (*INPUTS, Topic.MAILBOX)]
    with closing(KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)) as admin, \
            closing(KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False)) as consumer:
        # each closed however the other's making or the wait ends (a consumer that cannot reach a broker gone
        # since the admin was made left the admin's connections open)
        tps = [TopicPartition(t, p) for t in names for p in sorted(consumer.partitions_for_topic(t) or ())]
        deadline = time.monotonic() + timeout
        settled = 0
        while time.monotonic() < deadline:
            try:
                ends = consumer.end_offsets(tps)
                done = admin.list_group_offsets({settings.app_id: None}).get(settings.app_id, {})
            except (KafkaError, KeyError) as e:  # a broker that just came back is still loading its groups: ask
                # again (kafka-python's end_offsets raises KeyError for a partition whose leader it lost meanwhile)
                if isinstance(e, KafkaError) and not e.retriable:
                    raise
                settled = 0
                time.sleep(poll)
                continue
            behind = sum(max(0, ends[tp] - (done[tp].offset if tp in done else 0)) for tp in tps)
            settled = settled + 1 if behind == 0 else 0
            if settled >= 3:
                return True
            time.sleep(poll)
        return False


def _producer(settings: WorkerSettings) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all", linger_ms=5, retries=10,
                         batch_size=256 * 1024, max_request_size=4 * 1024 * 1024)


def publish(settings: WorkerSettings, path: Path, *, tick: datetime | None = None,
            progress: TextIO | None = sys.stderr, wait: Callable[[WorkerSettings], bool] | None = None,
            connect: Callable[[WorkerSettings], KafkaProducer] | None = None,
            now: Callable[[], datetime] = lambda: datetime.now(UTC),
            wait_seconds: float = PUBLISH_WAIT_SECONDS) -> Published:
    """Produce the events of ``path``; with ``tick``, wait for the workers (``wait``, by default
    ``wait_caught_up`` for ``wait_seconds``) and then advance the stream clock. Workers that do not catch up in
    time are an
    error (``PublishError``) and no tick is sent: a tick ahead of unprocessed events would fire timers
    before the events that should come first. A line longer than the workers take (``max_event_bytes``) is read
    past in pieces and goes to the dead-letter topic as ``too_large`` (with the file's name and the line), as
    ``simulate`` writes it: Kafka would refuse the longest, and the rest would only be refused by the worker."""
    show = _progress(progress) if progress is not None else None
    total = path.stat().st_size
    producer = (connect or _producer)(settings)
    result = Published()
    pending: list[Any] = []  # sends not yet checked: at most SETTLE_EVERY, so memory does not grow with the file
    failed: list[Any] = []  # the first send Kafka refused; ``refused`` counts them all
    count = refused = 0

    def settle() -> None:
        nonlocal count, refused
        producer.flush()
        for sent in pending:
            if sent.failed():
                refused += 1
                failed[:] = failed or [sent]
        count += len(pending)
        pending.clear()

    try:
        with path.open("rb") as f:  # a line at a time: a file of millions of events is never held whole
            for number, line in enumerate(file_lines(f, settings.max_event_bytes), start=1):
                if isinstance(line, LongLine):
                    letter = line.dead_letter(now(), path.name, number)
                    result.too_large += 1
                    pending.append(producer.send(settings.topic(Topic.DEAD_LETTERS), key=None,
                                                 value=letter.model_dump_json().encode("utf-8")))
                    continue
                # a line as simulate reads it: its end taken off, not split at a carriage return inside it (JSON
                # whitespace), and the file's byte order mark, if any, not part of its first event
                part = line.rstrip(b"\r\n")
                if number == 1:
                    part = part.removeprefix(UTF8_BOM)
                if not part.decode("utf-8", errors="replace").strip():  # blank as simulate reads it (NBSP too)
                    continue
                topic, key = route(part)
                result.by_topic[topic] = result.by_topic.get(topic, 0) + 1  # before: a topic it waits for
                pending.append(producer.send(settings.topic(topic), key=key, value=part))
                result.sent += 1
                result.unkeyed += key is None
                if show is not None and result.sent % 1000 == 0:
                    show(result.sent, f.tell(), total)
                if len(pending) >= SETTLE_EVERY:
                    settle()
        settle()
        if show is not None:
            show(result.sent, total, total)
        if failed:
            msg = f"{refused:,} of {count:,} events were not accepted by Kafka: {failed[0].exception}"
            raise PublishError(msg)
        if tick is not None:
            caught_up = wait or (lambda s: wait_caught_up(s, timeout=wait_seconds))
            _tick_when_caught_up(settings, producer, tick, caught_up, wait_seconds)
    except KafkaTimeoutError as e:  # the broker answered, maybe, and has no such topic: say that, not "no broker"
        _no_such_topic(settings, result, tick, e)
        raise
    finally:
        producer.close()
    return result


def _tick_when_caught_up(settings: WorkerSettings, producer: KafkaProducer, tick: datetime,
                         wait: Callable[[WorkerSettings], bool], wait_seconds: float) -> None:
    if not wait(settings):
        msg = (f"the events are published, but the workers (group {settings.app_id}) did not catch up "
               f"within {wait_seconds:g} s (--wait), so the stream clock was not advanced: check that the workers "
               "run, then tick again with an empty file (`wayfinder publish EMPTY_FILE --tick TIME`), with a "
               "longer --wait for a large file")
        raise PublishError(msg)
    send_ticks(producer, settings, tick)
    producer.flush()


def _no_such_topic(settings: WorkerSettings, result: Published, tick: datetime | None, error: Exception) -> None:
    """A send that timed out: :class:`PublishError` naming the topics it wrote to that the broker does not have
    (kafka-python waits for a missing topic's metadata until it times out); nothing when all are there or the
    broker cannot be asked (the timeout stands)."""
    used = {settings.topic(t) for t in result.by_topic}
    if result.too_large:
        used.add(settings.topic(Topic.DEAD_LETTERS))
    if tick is not None:
        used |= {settings.topic(n) for n in TICKS}
    try:
        with closing(KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers,
                                      request_timeout_ms=10_000)) as admin:
            missing = sorted(used - set(admin.list_topics()))
    except KafkaError:
        return
    if missing:
        msg = (f"no topic {', '.join(missing)} on the broker: create the topics with `wayfinder topics create` "
               "(with the partitions the workers run with)")
        raise PublishError(msg) from error


def send_ticks(producer: KafkaProducer, settings: WorkerSettings, at: datetime) -> None:
    """Advance the stream clock of every partition to ``at`` (workers running with ``clock=event``)."""
    for name in TICKS:
        topic = settings.topic(name)
        for p in sorted(producer.partitions_for(topic) or ()):
            producer.send(topic, value=encode_tick(at), partition=p)
