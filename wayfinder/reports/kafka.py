"""The reports' second source: what the workers put on Kafka, read from the start of each topic to its end.

``outbound.messages`` (the latest record per ``message_id`` is its state) and ``tasks`` are the
decisions; ``hris.events``, ``engagement.events`` and ``decisions`` are the events (in time order,
ties in topic, partition and offset order). Reading stops at the end offsets found when it starts,
so it finishes even while workers keep writing.
"""

from __future__ import annotations

from wayfinder.journeys.model import Fairness, Journey
from wayfinder.reports.inputs import InputError, ReportInputs, build, json_rows, read_events, read_messages, read_tasks
from wayfinder.streams.readback import Reader, TopicReadError
from wayfinder.streams.readback import topic_reader as read_back
from wayfinder.vocabulary import Topic

EVENT_TOPICS = (Topic.HRIS_EVENTS, Topic.ENGAGEMENT_EVENTS, Topic.DECISIONS)
MESSAGES_TOPIC = Topic.OUTBOUND_MESSAGES
TASKS_TOPIC = Topic.TASKS


def topic_reader(bootstrap: list[str], *, timeout: float = 60.0) -> Reader:
    """Every value on a topic (``wayfinder.streams.readback``; [] for a missing topic), its errors as the
    report's :class:`InputError`."""
    read = read_back(bootstrap, timeout=timeout)

    def report_read(topic: str) -> list[bytes]:
        try:
            return read(topic)
        except TopicReadError as e:
            raise InputError(str(e)) from e

    return report_read


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
