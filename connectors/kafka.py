"""Delivery from and to Kafka: messages from ``outbound.messages``, receipts to ``delivery.receipts``,
failures to ``dead-letters``. The runner is the same one that delivers a ``messages.jsonl`` file.

Offsets are committed only after the runner has finished everything it read, so a crash makes
it read again rather than skip; the send ledger (keyed by ``message_id``) skips what was already
accepted, and the worker's repeats of a record (at-least-once) are skipped the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import BaseModel, ValidationError

from wayfinder.journeys.records import DeadLetter, Message


@dataclass
class KafkaMessages:
    """The messages on ``topic``, as an async iterable that stops after ``idle_seconds`` without any.

    Use it as an async context manager; call ``commit()`` once the runner has finished (the
    runner returns only when nothing is in flight), so no offset is committed for a message
    that was not delivered.
    """

    bootstrap: list[str]
    topic: str
    group: str
    idle_seconds: float = 5.0
    read: int = 0
    rejected: list[DeadLetter] = field(default_factory=list)
    _consumer: AIOKafkaConsumer | None = None
    _asked: dict[str, datetime] = field(default_factory=dict)
    _next: dict[TopicPartition, int] = field(default_factory=dict)

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

    async def commit(self) -> None:
        if self._consumer is not None and self._next:
            await self._consumer.commit(dict(self._next))

    async def __aiter__(self) -> AsyncIterator[Message]:
        consumer = self._consumer
        if consumer is None:
            msg = "use KafkaMessages as an async context manager"
            raise RuntimeError(msg)
        idle = 0.0
        while idle < self.idle_seconds:
            batches = await consumer.getmany(timeout_ms=1000, max_records=500)
            if not any(batches.values()):
                idle += 1.0
                continue
            idle = 0.0
            for tp, records in batches.items():
                for r in records:
                    self.read += 1
                    self._next[tp] = r.offset + 1
                    message = self._parse(r.value, tp, r.offset)
                    if message is not None:
                        if r.timestamp >= 0:
                            self._asked[message.message_id] = datetime.fromtimestamp(r.timestamp / 1000, UTC)
                        yield message

    def asked_at(self, message: Message) -> datetime | None:
        """When the worker put the message on the topic (the record's timestamp): when delivery was asked to
        send it, for the stop switch (once per record read; the runner asks right after it is yielded)."""
        return self._asked.pop(message.message_id, None)

    def _parse(self, value: bytes | None, tp: TopicPartition, offset: int) -> Message | None:
        try:
            return Message.model_validate_json(value or b"")
        except ValidationError as e:
            raw = (value or b"").decode("utf-8", errors="replace")
            self.rejected.append(DeadLetter(reason=f"invalid_message: {e.error_count()} problem(s)", raw=raw,
                                            received_at=datetime.now(UTC), source=f"{tp.topic}",
                                            line=offset))
            return None


class KafkaSink:
    """Writes records as JSON to a topic, keyed by ``message_id`` when the record has one."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self._producer = producer
        self.topic = topic
        self.written = 0
        self._pending: list[asyncio.Future[object]] = []

    async def write(self, record: BaseModel) -> None:
        key = getattr(record, "message_id", None)
        future = await self._producer.send(self.topic, record.model_dump_json().encode("utf-8"),
                                           key=key.encode("utf-8") if isinstance(key, str) else None)
        self._pending.append(future)
        self.written += 1

    async def close(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending)
            self._pending.clear()
