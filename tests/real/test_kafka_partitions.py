"""The worker refuses to start when WAYFINDER_PARTITIONS disagrees with the topics it reads (real broker)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.real.kafka_world import WAYFINDER, KafkaWorld, kafka_world
from wayfinder.streams.settings import WorkerSettings
from wayfinder.streams.topics import CONSUMED, PartitionMismatch, check_worker_topics, partition_counts

pytestmark = pytest.mark.kafka


@pytest.fixture
def world(kafka_broker: str, tmp_path: Path) -> Iterator[KafkaWorld]:
    yield from kafka_world(kafka_broker, tmp_path, partitions=2)


def test_the_partition_counts_of_the_topics_a_worker_reads_are_read_from_the_broker(world: KafkaWorld) -> None:
    counts = partition_counts(world.settings)
    assert counts == {world.settings.topic(n): 2 for n in CONSUMED}
    check_worker_topics(world.settings)  # agrees: no error
    fresh = WorkerSettings(broker=world.settings.broker, topic_prefix=f"t{uuid.uuid4().hex[:10]}.", partitions=5)
    assert partition_counts(fresh) == {}
    check_worker_topics(fresh)  # nothing exists yet: nothing to disagree with


def test_a_different_partition_setting_is_refused_naming_the_setting_and_the_topics(world: KafkaWorld) -> None:
    other = world.settings.model_copy(update={"partitions": 3})
    with pytest.raises(PartitionMismatch, match=rf"WAYFINDER_PARTITIONS \(--partitions\) is 3 but topic "
                       rf"{world.prefix}hris\.events has 2; topic {world.prefix}engagement\.events has 2; .*"
                       r"set WAYFINDER_PARTITIONS to the partition count of the existing topics"):
        check_worker_topics(other)


def test_the_worker_command_exits_before_starting_faust_on_a_mismatch(world: KafkaWorld) -> None:
    env = world.env() | {"WAYFINDER_PARTITIONS": "3"}
    done = subprocess.run([WAYFINDER, "worker"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert f"WAYFINDER_PARTITIONS (--partitions) is 3 but topic {world.prefix}hris.events has 2" in done.stderr
    assert "[^Worker]" not in done.stdout + done.stderr  # Faust never started
    world.start_worker()  # the matching setting starts (and passes the start-up check of Faust's internals)
