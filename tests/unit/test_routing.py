"""The worker's partitioner is the one `wayfinder publish` (kafka-python) and the worker's producer use."""

from __future__ import annotations

from kafka.partitioner.default import murmur2

from wayfinder.streams.routing import partition_of


def test_partition_of_agrees_with_kafka_python_for_every_key() -> None:
    for n in (1, 4, 6, 12):
        for i in range(500):
            key = f"E{i:05d}".encode()
            assert partition_of(key, n) == (murmur2(key) & 0x7FFFFFFF) % n  # kafka-python's own murmur2
