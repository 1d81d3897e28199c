"""Reading a topic back whole: every value from the start of each partition to the end offsets found when the
reading starts, so it finishes even while workers keep writing. The commands that read what is on Kafka instead
of a file (``wayfinder report ... --kafka``, ``wayfinder feedback aggregate --kafka``) read through this one
reader; what a value means is theirs to decide."""

from __future__ import annotations

import time
from collections.abc import Callable

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

Reader = Callable[[str], list[bytes]]

CONNECT_SECONDS = 30.0  # kafka-python's own default for finding a broker of the list


class TopicReadError(RuntimeError):
    """A topic that could not be read: one line that names the topic or the setting, never a record's content."""


def topic_reader(bootstrap: list[str], *, timeout: float = 60.0, missing_ok: bool = True,
                 connect_seconds: float | None = None, client_id: str = "wayfinder-report") -> Reader:
    """A function that returns every value on a topic, oldest first per partition, partitions in order.

    A topic the brokers do not have reads as ``[]``, or with ``missing_ok=False`` is a :class:`TopicReadError`
    (a command whose answer would be wrong without it: the erasure requests are on ``hris.events``).
    ``connect_seconds``: how long to look for a broker of the list [default: ``CONNECT_SECONDS``]."""
    connect_ms = int((CONNECT_SECONDS if connect_seconds is None else connect_seconds) * 1000)

    def read(topic: str) -> list[bytes]:
        try:
            consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                     client_id=client_id, bootstrap_timeout_ms=connect_ms)
        except KafkaError as e:
            msg = f"cannot reach the Kafka brokers given with --kafka ({type(e).__name__}); check the address"
            raise TopicReadError(msg) from e
        try:
            partitions = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in sorted(partitions)]
            if not tps:
                if missing_ok:
                    return []
                msg = f"{topic}: no such topic on the brokers; check --kafka and --topic-prefix"
                raise TopicReadError(msg)
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            ends = consumer.end_offsets(tps)
            values: list[bytes] = []
            deadline = time.monotonic() + timeout
            while any(consumer.position(tp) < ends[tp] for tp in tps):
                if time.monotonic() > deadline:
                    msg = f"{topic}: not read to its end within {timeout:.0f}s; is the broker reachable?"
                    raise TopicReadError(msg)
                for records in consumer.poll(timeout_ms=500).values():
                    values += [r.value for r in records if r.value is not None]
            return values
        except KafkaError as e:  # a broker lost while reading: the same one line, not a traceback
            msg = f"{topic}: not read to its end ({type(e).__name__}); is the broker reachable?"
            raise TopicReadError(msg) from e
        finally:
            consumer.close()

    return read
