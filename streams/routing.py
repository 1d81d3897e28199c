"""Which partition a key belongs to, whoever produced the record.

Producers do not agree on where a key goes: Java clients, kafka-python and aiokafka hash keys with
murmur2, librdkafka (kcat, confluent-kafka, most Go, .NET and Node clients) with CRC32 by default. The
worker's own records (mailbox inputs, changelogs, the forwarded inputs below) all go through its aiokafka
producer, so murmur2 is the worker's partitioner; an input that arrived on another partition than
murmur2 gives for its subject, or that is not keyed by its subject, is forwarded there keyed by it (one
repartition hop) instead of being processed where it is, so an employee's state lives in one partition
whatever client produced the events, however it keyed them.
"""

from __future__ import annotations

from aiokafka.partitioner import murmur2


def partition_of(key: bytes, partitions: int) -> int:
    """The partition of ``key`` among ``partitions`` as the worker's producer (and Java's) chooses it."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions
