"""Wayfinder's topics (SPEC §8), created up front with kafka-python's admin client."""

from __future__ import annotations

from dataclasses import dataclass

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from wayfinder.streams.settings import WorkerSettings
from wayfinder.vocabulary import Topic

INPUTS = (Topic.HRIS_EVENTS, Topic.ENGAGEMENT_EVENTS, Topic.DECISIONS)
OUTPUTS = (Topic.OUTBOUND_MESSAGES, Topic.DELIVERY_RECEIPTS, Topic.APPROVALS, Topic.TASKS, Topic.DEAD_LETTERS,
           Topic.AUDIT)
# Keyed like the inputs (employee) or by recipient; timers and the directory are internal.
INTERNAL = (Topic.EMPLOYEE_TICKS, Topic.MAILBOX, Topic.MAILBOX_TICKS, Topic.DIRECTORY, Topic.CONTROL)
COMPACTED = (Topic.DIRECTORY,)
# Read from their beginning to rebuild what they hold and with no personal data: the stop switch (every pause and
# resume; ``deliver`` and ``serve`` fold it at start) and the erasure audit records. The broker's default
# retention (7 days) deleted a pause, and ``deliver`` then sent what the operator held.
KEPT = (Topic.CONTROL, Topic.AUDIT)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication: int
    compacted: bool
    kept: bool = False  # never deleted by retention

    @property
    def configs(self) -> dict[str, str]:
        if self.compacted:
            return {"cleanup.policy": "compact"}
        return {"retention.ms": "-1"} if self.kept else {}


def topic_specs(settings: WorkerSettings) -> list[TopicSpec]:
    return [TopicSpec(settings.topic(n), settings.partitions, settings.replication, n in COMPACTED, n in KEPT)
            for n in (*INPUTS, *OUTPUTS, *INTERNAL)]


# How long to wait for every topic to be usable: a KRaft broker answers CreateTopics before its metadata
# cache has the topic, and a consumer that joins its group in between is assigned none of its partitions
# (Faust ignores a missing topic and only asks again at the next metadata refresh).
READY_TIMEOUT_MS = 60_000


def create_topics(settings: WorkerSettings) -> tuple[list[str], list[str]]:
    """Create what is missing and wait until every topic has a leader for each partition; returns (created,
    already there). Safe to run again; ``kafka.errors.KafkaTimeoutError`` if a topic is still not ready after
    ``READY_TIMEOUT_MS``."""
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, client_id="wayfinder-admin")
    try:
        existing = set(admin.list_topics())
        created: list[str] = []
        present: list[str] = []
        for spec in topic_specs(settings):
            if spec.name in existing:
                present.append(spec.name)
                continue
            try:
                admin.create_topics([NewTopic(spec.name, spec.partitions, spec.replication,
                                              topic_configs=spec.configs)])
                created.append(spec.name)
            except TopicAlreadyExistsError:
                present.append(spec.name)
        admin.wait_for_topics([spec.name for spec in topic_specs(settings)], timeout_ms=READY_TIMEOUT_MS)
        return created, present
    finally:
        admin.close()
