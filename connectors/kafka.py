"""Delivery from and to Kafka: messages from ``outbound.messages``, receipts to ``delivery.receipts``,
failures to ``dead-letters``. The runner is the same one that delivers a ``messages.jsonl`` file.

Offsets are committed as the runner settles what it read (``Settled``): never past a record that is not settled
(delivered, failed for good, skipped, or a dead letter written), and only once the receipts written so far are
on the broker, so a crash or a stop makes it read again rather than skip; the send ledger (keyed by
``message_id``) skips what was already accepted, and the worker's repeats of a record (at-least-once) are skipped
the same way.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import BaseModel, ValidationError

from wayfinder.clock import utc_now
from wayfinder.connectors.receipts import record_problems
from wayfinder.journeys.records import DeadLetter, Message

log = logging.getLogger(__name__)
SINK_PATIENCE_SECONDS = 900.0  # how long a receipt not taken by the broker is sent again before giving up


@dataclass
class Settled:
    """Which offsets of each partition may be committed: up to (not past) the first record read and not settled."""

    read_to: dict[TopicPartition, int] = field(default_factory=dict)  # the offset after the last record read
    open: dict[TopicPartition, set[int]] = field(default_factory=dict)

    def read(self, tp: TopicPartition, offset: int) -> None:
        self.read_to[tp] = offset + 1
        self.open.setdefault(tp, set()).add(offset)

    def settle(self, tp: TopicPartition, offset: int) -> None:
        self.open.get(tp, set()).discard(offset)

    def committable(self) -> dict[TopicPartition, int]:
        return {tp: self.first_open(tp, end) for tp, end in self.read_to.items()}

    def first_open(self, tp: TopicPartition, end: int) -> int:
        """The first offset of ``tp`` read and not settled, else the offset after the last read (``end``)."""
        return min(self.open[tp]) if self.open.get(tp) else end


@dataclass
class KafkaMessages:
    """The messages on ``topic``, as an async iterable that stops after ``idle_seconds`` without any.

    Use it as an async context manager. The runner says when a message it was given is settled (``settle``);
    ``commit()`` commits up to the first record that is not, so no offset is committed for a message that was
    not delivered (a stop leaves what it did not finish for the next run). Records that are not messages are
    kept in ``rejected`` and settled once ``write_rejected`` has written them.
    """

    bootstrap: list[str]
    topic: str
    group: str
    idle_seconds: float = 5.0
    read: int = 0
    rejected: list[DeadLetter] = field(default_factory=list)
    _consumer: AIOKafkaConsumer | None = None
    _asked: dict[str, datetime] = field(default_factory=dict)
    _settled: Settled = field(default_factory=Settled)
    _where: dict[int, tuple[TopicPartition, int]] = field(default_factory=dict)  # by id() of a message given out
    _unwritten: list[tuple[DeadLetter, TopicPartition, int]] = field(default_factory=list)
    _committed: dict[TopicPartition, int] = field(default_factory=dict)
    stopped: Callable[[], bool] = lambda: False  # asked between polls: a stopped run reads nothing more
    on_lag: Callable[[str, int, int], None] | None = None  # (topic, partition, lag) after each poll
    on_rejected: Callable[[], None] | None = None  # each record that is not a message, once its dead letter is written

    async def __aenter__(self) -> KafkaMessages:
        self._consumer = AIOKafkaConsumer(self.topic, bootstrap_servers=self.bootstrap, group_id=self.group,
                                          enable_auto_commit=False, auto_offset_reset="earliest")
        try:
            await self._consumer.start()
        except BaseException:
            await self.__aexit__()  # a broker away: nothing left open (the caller may try again)
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    def settle(self, message: Message) -> None:
        """The runner is done with ``message``: delivered, failed for good, or skipped (not stopped before)."""
        where = self._where.pop(id(message), None)
        if where is not None:
            self._settled.settle(*where)
            self._settled_lag(where[0])

    async def write_rejected(self, sink: KafkaSink) -> None:
        """Write the dead letters of the records that were not messages, which settles them."""
        while self._unwritten:
            letter, tp, offset = self._unwritten[0]
            await sink.write_data(letter.model_dump(mode="json") | {"partition": tp.partition, "offset": offset})
            del self._unwritten[0]
            self._settled.settle(tp, offset)
            if self.on_rejected is not None:
                self.on_rejected()

    async def commit(self) -> None:
        """Commit up to the first record read and not settled, in each partition, if that moved."""
        offsets = {tp: n for tp, n in self._settled.committable().items() if self._committed.get(tp) != n}
        if self._consumer is not None and offsets:
            await self._consumer.commit(offsets)
            self._committed.update(offsets)

    async def __aiter__(self) -> AsyncIterator[Message]:
        consumer = self._consumer
        if consumer is None:
            msg = "use KafkaMessages as an async context manager"
            raise RuntimeError(msg)
        idle = 0.0
        while idle < self.idle_seconds and not self.stopped():
            batches = await consumer.getmany(timeout_ms=1000, max_records=500)
            if self.on_lag is not None:
                await self._measure(consumer, batches, self.on_lag)
            if not any(batches.values()):
                idle += 1.0
                continue
            idle = 0.0
            for tp, records in batches.items():
                for r in records:
                    self.read += 1
                    self._settled.read(tp, r.offset)
                    message = self._parse(r.value, tp, r.offset)
                    if message is not None:
                        if r.timestamp >= 0:
                            self._asked[message.message_id] = datetime.fromtimestamp(r.timestamp / 1000, UTC)
                        self._where[id(message)] = (tp, r.offset)
                        yield message

    async def _measure(self, consumer: AIOKafkaConsumer, batches: dict[TopicPartition, list[Any]],
                       on_lag: Callable[[str, int, int], None]) -> None:
        """Each assigned partition's lag as the fetches last saw its end: what is not settled yet, the batch just
        read included (a partition not fetched from yet is left out)."""
        first_open = self._settled.committable()
        for tp in consumer.assignment():
            end = consumer.highwater(tp)
            if end is None:
                continue
            records = batches.get(tp)
            start = records[0].offset if records else first_open.get(tp)
            if start is None:
                start = await consumer.position(tp)
            elif tp in first_open:
                start = min(start, first_open[tp])
            on_lag(tp.topic, tp.partition, max(0, end - start))

    def _settled_lag(self, tp: TopicPartition) -> None:
        """A partition's lag again once a message of it is settled (a batch of slow sends takes a while)."""
        end = self._consumer.highwater(tp) if self._consumer is not None else None
        read_to = self._settled.read_to.get(tp)
        if self.on_lag is not None and end is not None and read_to is not None:
            self.on_lag(tp.topic, tp.partition, max(0, end - self._settled.first_open(tp, read_to)))

    def asked_at(self, message: Message) -> datetime | None:
        """When the worker put the message on the topic (the record's timestamp): when delivery was asked to
        send it, for the stop switch (once per record read; the runner asks right after it is yielded)."""
        return self._asked.pop(message.message_id, None)

    def _parse(self, value: bytes | None, tp: TopicPartition, offset: int) -> Message | None:
        try:
            return Message.model_validate_json(value or b"")
        except ValidationError as e:
            # as the worker's dead letters: why (which fields), the bytes as they came, the topic, partition, offset
            letter = DeadLetter.of(f"not a message record: {record_problems(e)}", value or b"", utc_now(),
                                   source=tp.topic)
            self.rejected.append(letter)
            self._unwritten.append((letter, tp, offset))
            return None


class KafkaSink:
    """Writes records as JSON to a topic, keyed by ``message_id`` when the record has one. A record the broker did
    not take (it was away longer than the producer waits) is sent again at ``flush``, for up to
    :data:`SINK_PATIENCE_SECONDS`: a receipt written after the server accepted the message is never dropped
    while the process runs (the ledger skips the message from then on)."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self._producer = producer
        self.topic = topic
        self.written = 0
        self._pending: list[tuple[bytes | None, bytes, asyncio.Future[object]]] = []

    async def write(self, record: BaseModel) -> None:
        key = getattr(record, "message_id", None)
        value = record.model_dump_json().encode("utf-8")
        await self._send(key.encode("utf-8") if isinstance(key, str) else None, value)
        self.written += 1

    async def write_data(self, data: dict[str, Any]) -> None:
        """A record given as JSON data (a dead letter with where it was read), with no key."""
        await self._send(None, json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
        self.written += 1

    async def _send(self, key: bytes | None, value: bytes) -> None:
        future = await self._producer.send(self.topic, value, key=key)
        self._pending.append((key, value, future))

    async def flush(self) -> None:
        """Wait until the broker has every record written so far, sending again what it did not take."""
        gave_up_at = time.monotonic() + SINK_PATIENCE_SECONDS
        delay = 1.0
        while self._pending:
            pending = list(self._pending)  # taken off only once known (a cancelled flush leaves them for the next)
            results = await asyncio.gather(*(asyncio.shield(future) for _, _, future in pending),
                                           return_exceptions=True)
            del self._pending[:len(pending)]
            failed = [(key, value) for (key, value, _), result in zip(pending, results, strict=True)
                      if isinstance(result, Exception)]
            while failed:
                if time.monotonic() > gave_up_at:
                    msg = (f"{len(failed)} record(s) for {self.topic} were not taken by the broker in "
                           f"{SINK_PATIENCE_SECONDS:.0f}s")
                    raise RuntimeError(msg)
                log.warning("%d record(s) for %s were not taken by the broker; sending them again in %.0f s",
                            len(failed), self.topic, delay)
                await asyncio.sleep(delay)
                delay = min(2 * delay, 30.0)
                left = []
                for key, value in failed:
                    try:
                        await self._send(key, value)
                    except KafkaError:  # no metadata yet: the broker is still away
                        left.append((key, value))
                failed = left

    async def close(self) -> None:
        await self.flush()


@dataclass
class FailedAgain:
    """The messages the ledger says failed for good, as ``deliver --kafka --retry-failed`` finds them again on
    ``outbound.messages``: read from the start of the topic, not from the delivery group's committed offsets (the
    failed messages were settled and committed when they failed, so the group never reads them again). The latest
    record of each failed ``message_id`` is kept (a later record of the same message, such as its person's erasure,
    wins), up to the end offsets the topic had when asked. Nothing is committed: the group's offsets are the
    ordinary run's. ``missing`` are the failed ids no longer on the topic (its retention removed them): their
    dead letters still hold them."""

    messages: list[Message]
    missing: set[str]
    _asked: dict[str, datetime] = field(default_factory=dict)

    @classmethod
    async def read(cls, bootstrap: list[str], topic: str, failed: set[str],
                   stopped: Callable[[], bool] = lambda: False) -> FailedAgain:
        latest: dict[str, tuple[Message, datetime | None]] = {}
        if failed:
            consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                        auto_offset_reset="earliest")  # no group: every partition, none committed
            try:
                await consumer.start()
                latest = await _latest_of(consumer, topic, failed, stopped)
            finally:
                await consumer.stop()
        found = [latest[mid] for mid in sorted(latest)]
        return cls([m for m, _ in found], failed - set(latest),
                   {m.message_id: t for m, t in found if t is not None})

    def asked_at(self, message: Message) -> datetime | None:
        """When the worker put the record on the topic (as ``KafkaMessages.asked_at``), once per message."""
        return self._asked.pop(message.message_id, None)


async def _latest_of(consumer: AIOKafkaConsumer, topic: str, ids: set[str],
                     stopped: Callable[[], bool]) -> dict[str, tuple[Message, datetime | None]]:
    """The latest record (and its timestamp) of each message id in ``ids``, from the start of every partition of
    ``topic`` to the end offsets it has now. Records that are not messages are passed over: the ordinary run
    dead-lettered them when it first read them."""
    tps = sorted(tp for tp in consumer.assignment() if tp.topic == topic)  # all of them: the consumer has no group
    latest: dict[str, tuple[Message, datetime | None]] = {}
    if not tps:
        return latest
    await consumer.seek_to_beginning(*tps)
    ends = await consumer.end_offsets(tps)
    left = {tp for tp in tps if await consumer.position(tp) < ends[tp]}  # a partition retention emptied: none
    while left and not stopped():
        batches = await consumer.getmany(*left, timeout_ms=1000, max_records=2000)
        for tp, records in batches.items():
            for r in records:
                if r.offset >= ends[tp]:
                    break
                try:
                    message = Message.model_validate_json(r.value or b"")
                except ValidationError:
                    continue
                if message.message_id in ids:
                    latest[message.message_id] = (
                        message, datetime.fromtimestamp(r.timestamp / 1000, UTC) if r.timestamp >= 0 else None)
        left = {tp for tp in left if await consumer.position(tp) < ends[tp]}
    return latest
