"""The worker's commits say how far an input partition is decided (``faust_adapter.KeptCommits``, ``streams.gate``).

Faust commits an input kept for its turn before it is decided. Another worker whose message waits for a recipient
reads the group's commits to know what has been decided; the commits carry the first kept offset in their metadata.
The first tests pin the two places in the installed faust-streaming the wrapper stands on; the others drive the
wrapper over a consumer built as Faust's is at those places (a flush, then aiokafka's ``commit`` with the offsets'
metadata empty), so that the order of the snapshot, the flush and the commit can be seen; the real path on a broker
is in ``tests/real/test_gate_kafka.py``."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping
from typing import Any

from aiokafka.structs import OffsetAndMetadata, TopicPartition
from faust.transport.consumer import Consumer as BaseConsumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.types import TP

from wayfinder.streams.faust_adapter import COMMIT_OFFSETS_ATTRIBUTE, KeptCommits
from wayfinder.streams.gate import KEPT_MARK, kept_mark, marked_kept
from wayfinder.streams.progress import decided

HRIS = TP("t.hris.events", 0)


def test_faust_flushes_its_producer_before_it_commits_and_aiokafka_is_handed_empty_metadata() -> None:
    """The wrapper's marks are taken before Faust's flush, and handed to aiokafka where Faust leaves them empty."""
    source = inspect.getsource(getattr(BaseConsumer, COMMIT_OFFSETS_ATTRIBUTE))
    assert "producer.flush()" in source and "self._commit(" in source
    assert source.index("producer.flush()") < source.index("self._commit(")
    thread = inspect.getsource(AIOKafkaConsumerThread._commit)
    assert 'OffsetAndMetadata(offset, "")' in thread and "consumer.commit(" in thread


def test_a_mark_names_the_first_kept_offset_and_reads_back() -> None:
    assert marked_kept(kept_mark(7)) == 7 and marked_kept(kept_mark(0)) == 0
    assert kept_mark(None) == f"{KEPT_MARK}-" and marked_kept(kept_mark(None)) is None
    for other in ("", None, "wayfinder.kept=x", "something else", "wayfinder.kept=-3"):
        assert marked_kept(other) is None  # an older worker's empty metadata: committed means decided, as before


def test_progress_is_held_back_to_the_first_kept_offset_a_commit_names() -> None:
    done = {("hris", 0): 40, ("hris", 1): 12, ("decisions", 0): 9}
    assert decided(done, {("hris", 0): 31, ("decisions", 0): 15}) == {("hris", 0): 31, ("hris", 1): 12,
                                                                      ("decisions", 0): 9}


class _Client:
    """aiokafka's consumer at the place Faust calls it."""

    def __init__(self) -> None:
        self.commits: list[dict[Any, OffsetAndMetadata]] = []

    async def commit(self, offsets: Any = None) -> None:
        self.commits.append(dict(offsets))


class _Consumer:
    """Faust's consumer at the places the wrapper stands on: ``_commit_offsets`` flushes, then hands aiokafka the
    offsets with empty metadata, then notes them as committed."""

    def __init__(self, flushed: asyncio.Event | None = None) -> None:
        self._thread = type("Thread", (), {})()
        self._thread._consumer = _Client()
        self._committed_offset: dict[TP, int] = {}
        self.flushed = flushed
        self.flushes = 0

    def assignment(self) -> set[TP]:
        return {HRIS, TP("t.employee-ticks", 0)}

    async def _commit_offsets(self, offsets: Mapping[TP, int], start_new_transaction: bool = True) -> bool:
        self.flushes += 1
        if self.flushed is not None:
            await self.flushed.wait()
        await self._thread._consumer.commit({TopicPartition(tp.topic, tp.partition): OffsetAndMetadata(o, "")
                                             for tp, o in offsets.items()})
        self._committed_offset.update(offsets)
        return True


class _App:
    def __init__(self, consumer: _Consumer) -> None:
        self.consumer = consumer


def _committed(consumer: _Consumer) -> Any:
    return lambda topic, partition: consumer._committed_offset.get(TP(topic, partition))


def _said(client: _Client) -> list[dict[tuple[str, int], tuple[int, str]]]:
    return [{(tp.topic, tp.partition): (m.offset, m.metadata) for tp, m in c.items()} for c in client.commits]


def test_a_commit_carries_the_marks_taken_before_the_flush() -> None:
    """An input decided while Faust flushes is still named: its records may have been handed to the producer after
    the flush began."""
    async def run() -> list[dict[tuple[str, int], tuple[int, str]]]:
        flushed = asyncio.Event()
        consumer = _Consumer(flushed)
        marks = {("t.hris.events", 0): kept_mark(3)}
        kept = KeptCommits(_App(consumer), lambda: dict(marks), _committed(consumer))
        kept.install()
        commit = asyncio.ensure_future(consumer._commit_offsets({HRIS: 10, TP("t.employee-ticks", 0): 4}))
        await asyncio.sleep(0)
        marks[("t.hris.events", 0)] = kept_mark(None)  # decided during the flush
        flushed.set()
        assert await commit
        return _said(consumer._thread._consumer)

    assert asyncio.run(run()) == [{("t.hris.events", 0): (10, kept_mark(3)), ("t.employee-ticks", 0): (4, "")}]


def test_a_mark_that_changes_is_committed_again_at_the_offset_committed_and_only_then() -> None:
    async def run() -> list[dict[tuple[str, int], tuple[int, str]]]:
        consumer = _Consumer()
        marks = {("t.hris.events", 0): kept_mark(3)}
        kept = KeptCommits(_App(consumer), lambda: dict(marks), _committed(consumer))
        kept.install()
        assert await kept.share() == 0  # nothing committed yet: no offset to commit again
        await consumer._commit_offsets({HRIS: 10})
        assert await kept.share() == 0  # the commit said it
        marks[("t.hris.events", 0)] = kept_mark(None)  # the kept input decided
        assert await kept.share(lambda tp: False) == 0  # a partition not loaded yet waits
        assert await kept.share() == 1
        assert await kept.share() == 0
        kept.forget([("t.hris.events", 0)])  # revoked, and back: another worker may have committed another mark
        assert await kept.share() == 1
        return _said(consumer._thread._consumer)

    assert asyncio.run(run()) == [{("t.hris.events", 0): (10, kept_mark(3))},
                                  {("t.hris.events", 0): (10, kept_mark(None))},
                                  {("t.hris.events", 0): (10, kept_mark(None))}]


def test_a_mark_committed_again_never_takes_the_offset_back_behind_faust() -> None:
    """Faust's commit of a later offset under way when the share starts: the share waits for it, and commits the
    offset it left."""
    async def run() -> list[dict[tuple[str, int], tuple[int, str]]]:
        flushed = asyncio.Event()
        consumer = _Consumer(flushed)
        consumer._committed_offset[HRIS] = 5
        marks = {("t.hris.events", 0): kept_mark(None)}
        kept = KeptCommits(_App(consumer), lambda: dict(marks), _committed(consumer))
        kept.install()
        faust_commit = asyncio.ensure_future(consumer._commit_offsets({HRIS: 12}))
        await asyncio.sleep(0)
        marks[("t.hris.events", 0)] = kept_mark(11)
        share = asyncio.ensure_future(kept.share())
        await asyncio.sleep(0)
        flushed.set()
        await faust_commit
        assert await share == 1
        return _said(consumer._thread._consumer)

    assert asyncio.run(run()) == [{("t.hris.events", 0): (12, kept_mark(None))},
                                  {("t.hris.events", 0): (12, kept_mark(11))}]


def test_the_wrapper_is_installed_once() -> None:
    consumer = _Consumer()
    kept = KeptCommits(_App(consumer), dict, _committed(consumer))
    kept.install()
    wrapped = consumer._commit_offsets
    assert consumer._commit_offsets is wrapped


def test_the_first_kept_offset_is_read_per_topic_and_partition_from_the_keys() -> None:
    from datetime import UTC, datetime, timedelta

    from wayfinder.streams.gate import first_waiting, gate_key, gated_at, gated_topic

    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    keys = [gate_key(n % 2, t0 + timedelta(minutes=(7 * n) % 50), topic, 10 + (n * 37) % 101)
            for n, topic in enumerate(["t.hris.events", "t.decisions", "odd:topic"] * 40)]
    want: dict[tuple[str, int], int] = {}
    for key in keys:
        place = (gated_topic(key), int(key.split(":")[1]))
        want[place] = min(want.get(place, 1 << 62), int(key.rsplit(":", 1)[1]))
        assert gated_at(key) >= 0
    assert first_waiting(keys) == want and len(want) == 6
    assert first_waiting([]) == {}
