"""The worker's start-up check that its partition setting matches the topics it reads (kafka-python admin)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from wayfinder.streams.settings import WorkerSettings
from wayfinder.streams.topics import INPUTS, create_topics
from wayfinder.vocabulary import Topic

log = logging.getLogger(__name__)

# The topics a worker consumes: its agents need them with the partition count the tables are built for.
CONSUMED = (*INPUTS, Topic.EMPLOYEE_TICKS, Topic.MAILBOX, Topic.MAILBOX_TICKS)


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
               "partitions: set WAYFINDER_PARTITIONS to the partition count of the existing topics (a worker "
               "cannot change the partition count of topics that already hold data)")
        raise PartitionMismatch(msg)


def check_worker_topics(settings: WorkerSettings, *, retry_seconds: float = 5.0,
                        sleep: Callable[[float], None] = time.sleep,
                        broker_away: Callable[[bool], None] = lambda _away: None) -> None:
    """At worker start-up: ``check_partitions`` against the broker, then create the topics that are missing
    and wait until every one is ready (``topics.create_topics``), so that the group's first assignment covers
    them all. A broker that cannot be reached is waited for here, asked again every ``retry_seconds`` after each
    try's own timeout, with a warning each time: Faust, started without one, gives up after about 30 s and the
    process exits (a rolling restart of Kafka would put starting workers in a crash loop). The health server is up
    meanwhile (/healthz alive, /readyz not ready: not joined, and ``broker_away`` is told while the broker does not
    answer, so that the readiness says so and where it was asked)."""
    while True:
        try:
            counts = partition_counts(settings)
            break
        except KafkaError as e:
            broker_away(True)
            log.warning("the broker does not answer (%s) at %s (WAYFINDER_BROKER); waiting for it before joining the "
                        "group, asking again in %gs", type(e).__name__, ", ".join(settings.bootstrap_servers),
                        retry_seconds)
            sleep(retry_seconds)
    broker_away(False)
    check_partitions(settings, counts)
    try:
        created, _ = create_topics(settings)
    except KafkaError as e:
        log.warning("could not create or see every topic (%s); Faust picks up late topics at its next "
                    "metadata refresh", type(e).__name__)
        return
    if created:
        log.warning("created %d missing topics (%d partitions each)", len(created), settings.partitions)
