"""Wayfinder's topics (SPEC §8), created up front with kafka-python's admin client."""

from __future__ import annotations

from dataclasses import dataclass

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from wayfinder.streams.settings import WorkerSettings

INPUTS = ("hris.events", "engagement.events", "decisions")
OUTPUTS = ("outbound.messages", "delivery.receipts", "approvals", "tasks", "dead-letters", "audit")
# Keyed like the inputs (employee) or by recipient; timers and the directory are internal.
INTERNAL = ("employee-ticks", "mailbox", "mailbox-ticks", "directory", "control")
COMPACTED = ("directory",)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication: int
    compacted: bool


def topic_specs(settings: WorkerSettings) -> list[TopicSpec]:
    return [TopicSpec(settings.topic(n), settings.partitions, settings.replication, n in COMPACTED)
            for n in (*INPUTS, *OUTPUTS, *INTERNAL)]


def create_topics(settings: WorkerSettings) -> tuple[list[str], list[str]]:
    """Create what is missing; returns (created, already there). Safe to run again."""
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, client_id="wayfinder-admin")
    try:
        existing = set(admin.list_topics())
        created: list[str] = []
        present: list[str] = []
        for spec in topic_specs(settings):
            if spec.name in existing:
                present.append(spec.name)
                continue
            configs = {"cleanup.policy": "compact"} if spec.compacted else {}
            try:
                admin.create_topics([NewTopic(spec.name, spec.partitions, spec.replication, topic_configs=configs)])
                created.append(spec.name)
            except TopicAlreadyExistsError:
                present.append(spec.name)
        return created, present
    finally:
        admin.close()
