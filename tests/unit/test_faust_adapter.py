"""What the worker's Faust adapter (streams/faust_adapter.py) relies on in the installed faust-streaming.

These tests fail when a faust-streaming release moves a private attribute the adapter reads; the
messages say what to change. A real ``faust.App`` is built (memory store) but never started, so no
broker is needed.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator, MutableMapping
from typing import Any

import faust
import pytest
from faust.transport.consumer import Consumer as BaseConsumer
from faust.types import TP

from wayfinder.streams.faust_adapter import (
    COMMITTED_ATTRIBUTE,
    CommittedOffsets,
    FaustInternalsChanged,
    FaustTable,
    check_on_start,
    read_unread_from_the_start,
)

FIX = ("faust-streaming changed: update wayfinder/streams/faust_adapter.py to where this release keeps it, "
       "or pin faust-streaming in pyproject.toml to a release these tests pass with")
# Faust methods that keep the committed-offset mapping current: after a commit, and when a partition is
# assigned (seek to the committed offset) or revoked.
MAINTAINERS = ("_commit_offsets", "perform_seek", "on_partitions_revoked")


@pytest.fixture
def app() -> Iterator[Any]:
    loop = asyncio.new_event_loop()
    app = faust.App("adapter-probe", broker="kafka://127.0.0.1:9", store="memory://", web_enabled=False,
                    autodiscover=False, loop=loop)
    try:
        yield app
    finally:
        # A consumer, even unstarted, owns the event loop of its (unstarted) thread.
        thread = getattr(getattr(app, "_consumer", None), "_thread", None)
        if thread is not None:
            thread.thread_loop.close()
        loop.close()


def test_faust_consumers_declare_and_maintain_the_committed_offset_mapping(app: Any) -> None:
    assert COMMITTED_ATTRIBUTE in BaseConsumer.__annotations__, (
        f"faust.transport.consumer.Consumer no longer declares {COMMITTED_ATTRIBUTE}: {FIX}")
    driver = app.transport.Consumer
    assert issubclass(driver, BaseConsumer), (
        f"the aiokafka driver's consumer {driver.__module__}.{driver.__qualname__} is no longer a "
        f"faust.transport.consumer.Consumer: {FIX}")
    for name in MAINTAINERS:
        method = getattr(driver, name, None)
        code = getattr(inspect.unwrap(method), "__code__", None) if method is not None else None
        assert code is not None and COMMITTED_ATTRIBUTE in code.co_names, (
            f"{driver.__qualname__}.{name} no longer updates {COMMITTED_ATTRIBUTE}: write-ahead entries would "
            f"be deleted too early or never; {FIX}")


def test_a_consumer_holds_the_next_offset_to_read_per_topic_partition(app: Any) -> None:
    consumer = app.consumer  # created, not started: no connection
    offsets = getattr(consumer, COMMITTED_ATTRIBUTE, None)
    assert isinstance(offsets, MutableMapping), (
        f"{type(consumer).__qualname__}.{COMMITTED_ATTRIBUTE} is {type(offsets).__name__}, not a mapping: {FIX}")
    committed = CommittedOffsets(app)
    committed.check()
    assert committed("t.hris.events", 2) is None
    offsets[TP("t.hris.events", 2)] = 41
    assert committed("t.hris.events", 2) == 41
    assert committed("t.hris.events", 3) is None


def test_a_consumer_without_the_mapping_is_refused_with_what_to_change() -> None:
    class Changed:
        pass

    class Stub:
        consumer = Changed()

    with pytest.raises(FaustInternalsChanged, match=r"Changed has no _committed_offset mapping .*"
                       r"pin faust-streaming .*faust_adapter\.py"):
        CommittedOffsets(Stub()).check()


def test_the_check_runs_when_the_app_starts_not_at_the_first_commit() -> None:
    started: list[str] = []

    class Changed:
        pass

    class StubApp:
        consumer: Any = Changed()

        async def on_start(self) -> None:
            started.append("faust")

    app = StubApp()
    check_on_start(app)
    with pytest.raises(FaustInternalsChanged, match="Changed has no _committed_offset mapping"):
        asyncio.run(app.on_start())
    assert started == ["faust"]  # Faust's own start ran first
    app.consumer = _SeekingConsumer({TP("in", 0): None})
    setattr(app.consumer, COMMITTED_ATTRIBUTE, {})
    asyncio.run(app.on_start())
    assert started == ["faust", "faust"]
    asyncio.run(app.consumer.seek_to_committed())
    assert app.consumer.sought == []  # no input topics named: nothing is sought


def test_a_table_exposes_the_store_and_changelog_the_adapter_uses(app: Any) -> None:
    table = app.Table("employees", default=None, partitions=2, key_type=bytes, value_type=bytes)
    data = table.data
    for name in ("get", "keys", "__setitem__", "__delitem__", "__contains__"):
        assert callable(getattr(data, name, None)), f"Table.data has no {name}: {FIX}"
    topic = getattr(table.changelog_topic, "get_topic_name", None)
    assert callable(topic), f"Table.changelog_topic has no get_topic_name(): {FIX}"
    adapter = FaustTable(table)
    assert adapter.changelog_topic == "adapter-probe-employees-changelog"
    adapter.set("s:e1", b"state")
    adapter.set("t:0:x", b"timer")
    assert adapter.get("s:e1") == b"state"
    assert data.get(b"s:e1") == b"state"  # in the store itself, under the key's bytes
    assert sorted(adapter.keys()) == ["s:e1", "t:0:x"]
    adapter.set("s:e1", None)
    adapter.set("s:gone", None)
    assert adapter.get("s:e1") is None
    assert b"s:e1" not in data
    assert adapter.drain() == [(b"s:e1", b"state"), (b"t:0:x", b"timer"), (b"s:e1", None), (b"s:gone", None)]
    assert adapter.drain() == []


class _SeekingConsumer:
    """Records the seeks the wrapper asks for; ``committed`` is what aiokafka's seek_to_committed answered."""

    def __init__(self, committed: dict[TP, int | None]) -> None:
        self.committed = committed
        self.sought: list[dict[TP, int]] = []

    async def seek_to_committed(self) -> dict[TP, int | None]:
        return self.committed

    async def seek_wait(self, partitions: dict[TP, int]) -> None:
        self.sought.append(dict(partitions))


def test_input_partitions_without_a_committed_offset_are_read_from_their_start() -> None:
    committed: dict[TP, int | None] = {TP("in", 0): None, TP("in", 1): 0, TP("in", 2): 7,
                                       TP("app-table-changelog", 0): None}
    consumer = _SeekingConsumer(committed)
    read_unread_from_the_start(consumer, lambda topic: topic == "in")
    assert asyncio.run(consumer.seek_to_committed()) == committed
    assert consumer.sought == [{TP("in", 0): 0, TP("in", 1): 0}]


def test_faust_seeks_to_committed_offsets_through_the_consumer_method_the_adapter_wraps(app: Any) -> None:
    perform_seek = inspect.unwrap(BaseConsumer.perform_seek)
    assert "seek_to_committed" in perform_seek.__code__.co_names, (
        f"faust.transport.consumer.Consumer.perform_seek no longer calls seek_to_committed: {FIX}")
    assert callable(getattr(app.transport.Consumer, "seek_wait", None)), (
        f"the aiokafka driver's consumer has no seek_wait: {FIX}")
