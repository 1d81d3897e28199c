"""The reports' second source: what the workers put on Kafka, read from the start of each topic to its end.

``outbound.messages`` (the latest record per ``message_id`` is its state) and ``tasks`` are the
decisions; ``hris.events``, ``engagement.events`` and ``decisions`` are the events (in time order,
ties in topic, partition and offset order). Reading stops at the end offsets found when it starts,
so it finishes even while workers keep writing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from wayfinder.journeys.model import Fairness, Journey
from wayfinder.reports.inputs import InputError, ReportInputs, build, json_rows, read_events, read_messages, read_tasks
from wayfinder.vocabulary import Topic

EVENT_TOPICS = (Topic.HRIS_EVENTS, Topic.ENGAGEMENT_EVENTS, Topic.DECISIONS)
MESSAGES_TOPIC = Topic.OUTBOUND_MESSAGES
TASKS_TOPIC = Topic.TASKS

Reader = Callable[[str], list[bytes]]


def topic_reader(bootstrap: list[str], *, timeout: float = 60.0) -> Reader:
    """A function that returns every value on a topic, oldest first per partition ([] for a missing topic)."""

    def read(topic: str) -> list[bytes]:
        try:
            consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                     client_id="wayfinder-report")
        except KafkaError as e:
            msg = f"cannot reach the Kafka brokers given with --kafka ({type(e).__name__}); check the address"
            raise InputError(msg) from e
        try:
            partitions = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in sorted(partitions)]
            if not tps:
                return []
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            ends = consumer.end_offsets(tps)
            values: list[bytes] = []
            deadline = time.monotonic() + timeout
            while any(consumer.position(tp) < ends[tp] for tp in tps):
                if time.monotonic() > deadline:
                    msg = f"{topic}: not read to its end within {timeout:.0f}s; is the broker reachable?"
                    raise InputError(msg)
                for records in consumer.poll(timeout_ms=500).values():
                    values += [r.value for r in records if r.value is not None]
            return values
        finally:
            consumer.close()

    return read


def kafka_inputs(read: Reader, prefix: str, journeys: dict[str, Journey], fairness: Fairness) -> ReportInputs:
    """The report's inputs from the topics (names: ``prefix`` + the short names in SPEC §8)."""
    messages_topic, tasks_topic = prefix + MESSAGES_TOPIC, prefix + TASKS_TOPIC
    raw_messages = read(messages_topic)
    if not raw_messages:
        msg = f"{messages_topic}: no records; check --kafka and --topic-prefix"
        raise InputError(msg)
    messages = read_messages(json_rows(raw_messages, messages_topic), messages_topic)
    tasks = read_tasks(json_rows(read(tasks_topic), tasks_topic), tasks_topic)
    lines = [value for name in EVENT_TOPICS for value in read(prefix + name)]
    events, skipped = read_events(lines)
    return build(journeys, fairness, messages, tasks, events, skipped)
