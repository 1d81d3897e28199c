"""Wayfinder's topics (SPEC §8), created up front with kafka-python's admin client."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from wayfinder.streams.settings import WorkerSettings

log = logging.getLogger(__name__)

INPUTS = ("hris.events", "engagement.events")
OUTPUTS = ("outbound.messages", "delivery.receipts", "approvals", "tasks", "dead-letters", "audit")
# Keyed like the inputs (employee) or by recipient; timers and the directory are internal.
INTERNAL = ("employee-ticks", "mailbox", "mailbox-ticks", "directory")
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


# The topics a worker consumes: its agents need them with the partition count the tables are built for.
CONSUMED = (*INPUTS, "employee-ticks", "mailbox", "mailbox-ticks")


class PartitionMismatch(RuntimeError):
    """An existing topic the worker reads has another partition count than the worker's setting."""


def partition_counts(settings: WorkerSettings, names: tuple[str, ...] = CONSUMED) -> dict[str, int]:
    """The partition count of each of ``names`` (short names) that exists on the broker, by full name."""
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, client_id="wayfinder-admin")
    try:
        existing = set(admin.list_topics())
        wanted = [settings.topic(n) for n in names if settings.topic(n) in existing]
        if not wanted:
            return {}
        return {d["name"]: len(d["partitions"]) for d in admin.describe_topics(wanted) if not d["error_code"]}
    finally:
        admin.close()


def check_partitions(settings: WorkerSettings, counts: dict[str, int]) -> None:
    """Refuse a worker whose partition setting disagrees with a topic it reads (tables and timers are laid
    out per partition: a different count would put a person's state where their events never arrive)."""
    wrong = [f"{name} has {counts[name]}" for n in CONSUMED
             if (name := settings.topic(n)) in counts and counts[name] != settings.partitions]
    if wrong:
        msg = (f"WAYFINDER_PARTITIONS (--partitions) is {settings.partitions} but topic {'; topic '.join(wrong)} "
               f"partitions: set WAYFINDER_PARTITIONS to the partition count of the existing topics (a worker "
               "cannot change the partition count of topics that already hold data)")
        raise PartitionMismatch(msg)


def check_worker_topics(settings: WorkerSettings) -> None:
    """At worker start-up: ``check_partitions`` against the broker; an unreachable broker is left to Faust,
    which waits for it (and the check is skipped, with a warning)."""
    try:
        counts = partition_counts(settings)
    except KafkaError as e:
        log.warning("could not read the partition counts of the input topics (%s); starting without the check",
                    type(e).__name__)
        return
    check_partitions(settings, counts)
