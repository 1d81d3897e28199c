"""The worker on a real broker: it refuses a WAYFINDER_PARTITIONS that disagrees with the topics it reads, and
it deletes write-ahead entries once their inputs are committed (the committed offsets the adapter reads)."""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient

from tests.real.kafka_world import WAYFINDER, KafkaWorld, kafka_world, read_topic
from wayfinder import examples_dir
from wayfinder.streams.partitions import CONSUMED, PartitionMismatch, check_worker_topics, partition_counts
from wayfinder.streams.publish import wait_caught_up
from wayfinder.streams.settings import WorkerSettings

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
    check_worker_topics(fresh)  # nothing exists yet: nothing to disagree with, and the worker creates them
    assert partition_counts(fresh) == {fresh.topic(n): 5 for n in CONSUMED}


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


def test_topics_create_refuses_a_partition_setting_the_existing_topics_disagree_with(world: KafkaWorld) -> None:
    env = world.env() | {"WAYFINDER_PARTITIONS": "6"}  # it said "14 already there (6 partitions)" and exited 0
    done = subprocess.run([WAYFINDER, "topics", "create"], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 1
    assert f"WAYFINDER_PARTITIONS (--partitions) is 6 but topic {world.prefix}hris.events has 2" in done.stderr
    assert done.stdout == ""
    again = subprocess.run([WAYFINDER, "topics", "create"], env=world.env(), capture_output=True, text=True,
                           timeout=60, check=False)
    assert again.returncode == 0 and "0 created, 14 already there (2 partitions" in again.stdout


def test_a_running_worker_deletes_the_write_ahead_entries_of_committed_inputs(world: KafkaWorld,
                                                                              tmp_path: Path) -> None:
    """The committed offsets the adapter reads from Faust's consumer are there, and are used, at run time."""
    lines = (examples_dir() / "events.jsonl").read_bytes().splitlines(keepends=True)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_bytes(b"".join(lines[: len(lines) // 2]))
    second.write_bytes(b"".join(lines[len(lines) // 2:]))
    world.start_worker()
    world.publish_file(first)
    assert wait_caught_up(world.settings, timeout=180), "the worker did not catch up"
    world.publish_file(second)  # inputs on the same partitions delete the entries of committed ones
    assert wait_caught_up(world.settings, timeout=180), "the worker did not catch up"
    topic = world.settings.topic("hris.events")
    admin = KafkaAdminClient(bootstrap_servers=world.broker)
    try:
        offsets = admin.list_group_offsets({world.app_id: None})[world.app_id]
    finally:
        admin.close()
    committed = {tp.partition: o.offset for tp, o in offsets.items() if tp.topic == topic}
    changelog = read_topic(world.broker, f"{world.app_id}-employees-changelog")
    deleted = [key.decode() for key, value in changelog if key and key.startswith(b"w:") and value is None]
    ours = [key.split(":") for key in deleted if key.startswith(f"w:{topic}:")]
    assert len(ours) > 10, "no write-ahead entry of a committed input was deleted"
    for _, _, partition, offset in ours:
        assert int(offset) < committed[int(partition)]
    # Before deleting, the worker marked each partition with the stamp of its latest unit it saw committed (README
    # "A unit produced again after a later one was committed"): one process's marks, on the partitions it pruned.
    marks = [(key.decode(), value.decode()) for key, value in changelog
             if key and key.startswith(b"wd:") and value is not None]
    assert {int(key.removeprefix("wd:")) for key, _ in marks} >= {int(p) for _, _, p, _ in ours}
    assert all(re.fullmatch(r"[0-9a-f]{16}:\d+", value) for _, value in marks), marks[:3]
    assert len({value.split(":")[0] for _, value in marks}) == 1  # written only by the process it names


def _entries(world: KafkaWorld) -> dict[str, bool]:
    """Each write-ahead entry in the employees changelog: whether it is still there (its last record not a delete)."""
    last: dict[str, bool] = {}
    for key, value in read_topic(world.broker, f"{world.app_id}-employees-changelog"):
        if key is not None and key.startswith(b"w:"):
            last[key.decode()] = value is not None
    return last


def test_a_worker_deletes_the_entries_a_killed_worker_left_of_committed_inputs(world: KafkaWorld) -> None:
    """A worker deletes its own entries as their inputs are committed; those of its last inputs are left when it is
    killed (the first worker here keeps them all: its own deletes, by a later input or a tick, raced the kill, and
    the test once found none left). The partition's next owner deletes them when it loads the partition, by the
    group's committed offsets (known from the broker before its first input), instead of taking them for
    interrupted units and applying them again over later changes. The second worker loads its partitions before
    Faust's committed offsets are known (the test switch holds them back a few seconds, as the race after a kill -9
    did)."""
    world.start_worker(WAYFINDER_TEST_KEEP_ENTRIES="1")  # deletes none of its entries: the kill leaves them all
    world.publish_file(examples_dir() / "events.jsonl")
    assert wait_caught_up(world.settings, timeout=180), "the worker did not catch up"
    world.workers[-1].kill()
    hris = f"w:{world.settings.topic('hris.events')}:"  # caught up: all committed (ticks may not be)
    left = [key for key, there in _entries(world).items() if there and key.startswith(hris)]
    assert left, "the killed worker left no entry of a committed input"
    second = world.start_worker(WAYFINDER_TEST_LATE_COMMITTED="1")  # Faust's own offsets come after the first inputs
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len(re.findall(r"employees: partition \d+ loaded", second.text())) < 2:
        time.sleep(0.5)
    after = _entries(world)
    assert [key for key in left if after[key]] == []
    finished = [line for line in second.text().splitlines() if "interrupted unit(s)" in line]
    assert not [line for line in finished if hris in line], "an entry of a committed input was applied again"
    assert "fetch waits set: 100 ms at the broker, prefetch hold 0.010 s" in second.text()  # the defaults


def test_a_quiet_partitions_entries_are_deleted_once_their_inputs_are_committed(world: KafkaWorld) -> None:
    """The last inputs' entries of a partition that reads nothing more hold their states (a person's name after
    their erasure): the worker ticks such a partition once their offsets are committed, and the tick's unit deletes
    them (before, they stayed until the partition's next input of the same topic; an audit of SPEC §9)."""
    worker = world.start_worker()
    world.publish_file(examples_dir() / "events.jsonl")
    assert wait_caught_up(world.settings, timeout=180), "the worker did not catch up"
    hris = f"w:{world.settings.topic('hris.events')}:"
    deadline = time.monotonic() + 60
    left = [key for key, there in _entries(world).items() if there and key.startswith(hris)]
    while left and time.monotonic() < deadline:
        time.sleep(1.0)
        left = [key for key, there in _entries(world).items() if there and key.startswith(hris)]
    assert left == []
    assert worker.process.poll() is None
