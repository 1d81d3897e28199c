"""What the worker's Faust adapter (streams/faust_adapter.py) relies on in the installed faust-streaming.

These tests fail when a faust-streaming release moves a private attribute the adapter reads; the
messages say what to change. A real ``faust.App`` is built (memory store) but never started, so no
broker is needed.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from aiokafka.consumer.fetcher import Fetcher, FetchResult
from faust.transport.consumer import Consumer as BaseConsumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.types import TP
from faust.types.tuples import ConsumerMessage
from mode.utils.queues import FlowControlEvent, FlowControlQueue

from wayfinder.streams.faust_adapter import (
    COMMITTED_ATTRIBUTE,
    FETCH_WAIT_ATTRIBUTE,
    FETCHER_PATH,
    HOLD_ATTRIBUTE,
    READ_MARKS_ATTRIBUTE,
    RECOVERY_ATTRIBUTES,
    CommittedOffsets,
    FaustInternalsChanged,
    FaustTable,
    FetchWanted,
    ReadMarks,
    Rereader,
    Restore,
    ResumeKeepsQueued,
    check_on_start,
    read_unread_from_the_start,
    shorten_fetch_waits,
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


def test_offsets_learned_from_the_broker_answer_until_faust_knows_its_own(app: Any) -> None:
    """Faust resumes a new assignment before its seek fills the mapping: what the broker said answers meanwhile."""
    offsets = getattr(app.consumer, COMMITTED_ATTRIBUTE)
    committed = CommittedOffsets(app)
    assert not committed.knows("t.hris.events", 2)
    committed.learn({("t.hris.events", 2): 30, ("t.employee-ticks", 2): None})
    assert committed.knows("t.hris.events", 2) and committed.knows("t.employee-ticks", 2)
    assert committed("t.hris.events", 2) == 30
    assert committed("t.employee-ticks", 2) is None  # the group never committed it
    offsets[TP("t.hris.events", 2)] = 41  # Faust's own, after its seek or a commit
    assert committed("t.hris.events", 2) == 41
    del offsets[TP("t.hris.events", 2)]
    committed.forget([("t.hris.events", 2)])  # revoked: another worker may commit past it
    assert not committed.knows("t.hris.events", 2)
    assert committed("t.hris.events", 2) is None


def test_where_a_partition_starts_is_its_committed_offset_else_its_first_offset(app: Any) -> None:
    """What an agent's first record of a partition is checked against (README "Offsets skipped"): the broker's
    answers since the assignment, not Faust's mapping (it may still hold an earlier assignment's offsets)."""
    committed = CommittedOffsets(app)
    assert committed.start("t.hris.events", 2) is None  # not asked yet: the first record is taken as it comes
    committed.learn({("t.hris.events", 2): 30, ("t.employee-ticks", 2): None})
    getattr(app.consumer, COMMITTED_ATTRIBUTE)[TP("t.hris.events", 2)] = 25
    assert committed.start("t.hris.events", 2) == 30
    assert committed.start("t.employee-ticks", 2) is None  # never committed, and its first offset not known
    committed.learn({("t.employee-ticks", 2): None}, {("t.employee-ticks", 2): 7})
    assert committed.start("t.employee-ticks", 2) == 7
    committed.forget([("t.hris.events", 2), ("t.employee-ticks", 2)])
    assert committed.start("t.hris.events", 2) is None and committed.start("t.employee-ticks", 2) is None


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
        tables: Any = SimpleNamespace(recovery=SimpleNamespace())
        flow_control: Any = FlowControlEvent()

        async def on_start(self) -> None:
            started.append("faust")

    app = StubApp()
    check_on_start(app)
    with pytest.raises(FaustInternalsChanged, match="Changed has no _committed_offset mapping"):
        asyncio.run(app.on_start())
    assert started == ["faust"]  # Faust's own start ran first
    app.consumer = _SeekingConsumer({TP("in", 0): None})
    setattr(app.consumer, COMMITTED_ATTRIBUTE, {})
    setattr(app.consumer, READ_MARKS_ATTRIBUTE, {})
    app.consumer._unacked_messages = set()
    app.consumer.flow_active, app.consumer._active_partitions = True, set()
    app.consumer._getmany = _FetchingConsumer()._getmany
    with pytest.raises(FaustInternalsChanged, match="no in_recovery, need_recovery"):
        asyncio.run(app.on_start())  # a recovery service without what the restore watch reads: refused at start
    app.tables.recovery = SimpleNamespace(**dict.fromkeys(RECOVERY_ATTRIBUTES))
    app.consumer._read_offset = {}
    asyncio.run(app.on_start())
    assert isinstance(getattr(app.consumer, READ_MARKS_ATTRIBUTE), ReadMarks)  # in place before anything is read
    assert app.consumer._getmany.wants_now  # so is the fetch of wanted partitions only
    assert app.flow_control.resume.keeps_queued  # and queued records kept on a resume of a running flow
    assert started == ["faust", "faust", "faust"]
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


def test_the_rereader_seeks_in_the_consumers_thread_which_faust_seek_does_not(app: Any) -> None:
    """Faust's ``Consumer.seek`` calls aiokafka's seek from the agents' thread while the consumer's thread may be
    draining the fetched records: seen in CI, the fetcher's ``del self._records[tp]`` raised ``KeyError`` and the
    worker crashed. ``seek_wait`` runs the seek in the consumer's thread."""
    seek_wait = inspect.unwrap(AIOKafkaConsumerThread.seek_wait)
    assert "call_thread" in seek_wait.__code__.co_names, (
        f"the consumer thread's seek_wait no longer runs in that thread (call_thread): {FIX}")


def test_the_fetch_loop_drops_records_below_faust_read_marks_which_the_rereader_replaces(app: Any) -> None:
    drain = inspect.unwrap(BaseConsumer._drain_messages)
    assert READ_MARKS_ATTRIBUTE in drain.__code__.co_names, (
        f"faust.transport.consumer.Consumer._drain_messages no longer reads {READ_MARKS_ATTRIBUTE}: {FIX}")
    consumer = app.consumer
    consumer._read_offset[TP("in", 0)] = 7
    Rereader(app).install()
    marks = consumer._read_offset
    assert isinstance(marks, ReadMarks)
    assert marks[TP("in", 0)] == 7  # what Faust had is kept
    assert marks[TP("in", 1)] is None  # and a partition never read has no mark, as in Faust's defaultdict
    Rereader(app).install()
    assert consumer._read_offset is marks  # installed once


def test_a_partition_read_again_has_no_read_mark_until_the_missing_offset_came() -> None:
    consumer = _RereadConsumer()
    consumer._read_offset = ReadMarks({TP("in", 0): 40, TP("in", 1): 3})
    reread = Rereader(_App(consumer))
    asyncio.run(reread.seek("in", 0, 12))
    assert consumer.sought == [(TP("in", 0), 12)]
    consumer._read_offset[TP("in", 0)] = 55  # records fetched before the seek move Faust's mark on ...
    assert consumer._read_offset[TP("in", 0)] is None  # ... but it drops nothing read again
    assert consumer._read_offset[TP("in", 1)] == 3
    reread.done("in", 0)
    assert consumer._read_offset[TP("in", 0)] is None  # starts again from the records read again
    consumer._read_offset[TP("in", 0)] = 13
    assert consumer._read_offset[TP("in", 0)] == 13
    asyncio.run(reread.seek("in", 1, 2))
    reread.forget({("in", 1)})  # revoked while read again
    assert consumer._read_offset[TP("in", 1)] == 3


def test_a_record_passed_by_is_never_acknowledged_so_faust_does_not_commit_past_it(app: Any) -> None:
    consumer = app.consumer
    message = ConsumerMessage("in", 0, 5, 0.0, 0, [], b"k", b"v", None, 1, 1, tp=TP("in", 0))
    consumer._unacked_messages.add(message)
    Rereader(app).pass_by(message)
    assert message not in consumer._unacked_messages
    assert message.ack(consumer) is False  # the stream's ack does nothing ...
    assert 5 not in consumer._acked_index[TP("in", 0)]  # ... and Faust never counts offset 5 done


def test_the_rereader_refuses_a_consumer_without_the_internals_it_needs() -> None:
    consumer = _RereadConsumer()
    del consumer._unacked_messages
    with pytest.raises(FaustInternalsChanged, match="_unacked_messages"):
        Rereader(_App(consumer)).install()


def test_a_restore_is_watched_through_faust_recovery_service(app: Any) -> None:
    restore = Restore(app)
    restore.check()  # every attribute the watch reads is there in this release
    recovery = app.tables.recovery
    assert restore.moved() is None, "no restore in progress"
    changelog, other = TP("app-t-changelog", 0), TP("app-t-changelog", 1)
    recovery.active_tps.update({changelog, other})
    recovery.active_highwaters.update({changelog: 9, other: 4})
    recovery.active_offsets.update({changelog: 2, other: 4})
    recovery._set_recovery_started()
    started = recovery._recovery_started_at
    assert restore.moved() == started
    recovery._active_events_received_at[changelog] = started + 5
    assert restore.moved() == started + 5
    assert restore.waiting() == "app-t-changelog[0] restored to 2 of 9 (fetching: False, read mark: None)"
    assert not recovery.signal_recovery_start.is_set()
    restore.restart()
    assert recovery.signal_recovery_start.is_set(), "Faust's recovery loop starts again on this signal"
    recovery.active_offsets[changelog] = 9
    assert restore.moved() is None, "nothing left to restore"


def test_faust_recovery_loop_seeks_the_changelogs_again_when_signalled() -> None:
    from faust.tables.recovery import Recovery

    loop = inspect.unwrap(Recovery._restart_recovery.fun).__code__.co_names  # a mode ServiceTask
    assert "signal_recovery_start" in loop and "_seek_offsets" in loop, (
        f"faust.tables.recovery.Recovery._restart_recovery no longer restarts on its signal: {FIX}")


def test_the_restore_watch_refuses_a_recovery_service_without_what_it_reads() -> None:
    class _Recovery:
        in_recovery = False

    class _Tables:
        recovery = _Recovery()

    class _AppWithTables:
        tables = _Tables()

    with pytest.raises(FaustInternalsChanged, match="need_recovery"):
        Restore(_AppWithTables()).check()


class _RereadConsumer:
    def __init__(self) -> None:
        self._read_offset: MutableMapping[TP, int | None] = {}
        self._unacked_messages: set[Any] = set()
        self.sought: list[tuple[TP, int]] = []

    async def seek_wait(self, partitions: dict[TP, int]) -> None:  # in the consumer's thread; not ``seek``
        self.sought.extend(partitions.items())


class _App:
    def __init__(self, consumer: Any) -> None:
        self.consumer = consumer


CHANGELOG, INPUT = TP("app-employees-changelog", 2), TP("in", 2)


def test_a_fetch_waiting_through_a_rebalance_leaves_the_records_no_one_wants_in_aiokafka() -> None:
    """The stalled restore (module doc of faust_adapter, ``FetchWanted``): the fetch loop's call waits in aiokafka
    while a rebalance pauses every partition; the records that then arrive (a changelog a restore has just sought to
    its start) must stay in aiokafka's buffer, not be handed to a fetch loop that throws them away."""
    consumer = _FetchingConsumer()
    consumer._active_partitions = {INPUT}
    FetchWanted(_App(consumer)).install()
    asyncio.run(consumer._getmany(active_partitions=consumer._active_partitions, timeout=1.0))
    asked = consumer.asked[-1]  # what aiokafka's Fetcher.fetched_records is given by the waiting call
    consumer.flow_active = False  # the rebalance: Faust stops its flow and pauses every partition
    consumer._active_partitions.clear()
    fetcher = _BufferedFetcher({CHANGELOG: [0, 1, 2, 3], INPUT: [7]})
    assert asyncio.run(Fetcher.fetched_records(fetcher, asked)) == {}
    assert fetcher.positions() == {CHANGELOG: 0, INPUT: 7}  # nothing consumed: a seek or a later call gets them
    consumer.flow_active = True  # the restore resumes the flow for the changelog partition only
    consumer._active_partitions.add(CHANGELOG)
    assert asyncio.run(Fetcher.fetched_records(fetcher, asked)) == {CHANGELOG: [0, 1, 2, 3]}
    assert fetcher.positions() == {CHANGELOG: 4, INPUT: 7}


def test_aiokafka_reads_an_empty_partition_set_as_every_partition_which_is_why_faust_needs_the_view() -> None:
    fetcher = _BufferedFetcher({CHANGELOG: [0, 1], INPUT: [7]})
    drained = asyncio.run(Fetcher.fetched_records(fetcher, set()))
    assert drained == {CHANGELOG: [0, 1], INPUT: [7]}, "aiokafka changed how it reads the partitions asked for: " + FIX


def test_the_fetch_of_wanted_partitions_is_installed_once_and_refuses_a_consumer_without_its_internals() -> None:
    consumer = _FetchingConsumer()
    FetchWanted(_App(consumer)).install()
    installed = consumer._getmany
    FetchWanted(_App(consumer)).install()
    assert consumer._getmany is installed
    asyncio.run(consumer._getmany(active_partitions=None, timeout=1.0))
    assert consumer.asked[-1] is None  # a client-only app asks for every partition, as in Faust
    with pytest.raises(FaustInternalsChanged, match="_active_partitions"):
        FetchWanted(_App(_FetchingConsumer.without_active())).install()


def test_faust_passes_its_active_partitions_to_the_getmany_the_adapter_wraps(app: Any) -> None:
    wait = inspect.unwrap(BaseConsumer._wait_next_records)
    assert "_getmany" in wait.__code__.co_names and "_get_active_partitions" in wait.__code__.co_names, (
        f"faust.transport.consumer.Consumer._wait_next_records no longer hands _getmany its active partitions: {FIX}")
    assert callable(app.consumer._getmany)
    assert isinstance(app.consumer._active_partitions, (set, type(None)))


class _FetchingConsumer:
    """What ``FetchWanted`` reads of Faust's consumer; ``asked``: what each ``_getmany`` call passed on to aiokafka."""

    def __init__(self) -> None:
        self.flow_active = True
        self._active_partitions: set[TP] = set()
        self.asked: list[Any] = []

    async def _getmany(self, active_partitions: Any, timeout: float) -> dict[TP, list[Any]]:
        self.asked.append(active_partitions)
        return {}

    @classmethod
    def without_active(cls) -> Any:
        consumer = cls()
        del consumer._active_partitions
        return consumer


class _State:
    paused = False

    def __init__(self, position: int) -> None:
        self.position = position

    def consumed_to(self, offset: int) -> None:
        self.position = offset


class _Assignment:
    active = True

    def __init__(self) -> None:
        self.states: dict[TP, _State] = {}

    def state_value(self, tp: TP) -> _State:
        return self.states[tp]


class _PartitionRecords:
    """aiokafka's buffered records of one partition, reduced to their offsets."""

    def __init__(self, offsets: list[int]) -> None:
        self.offsets = offsets
        self.next_fetch_offset = offsets[0]

    def __iter__(self) -> Iterator[int]:
        for offset in self.offsets:
            self.next_fetch_offset = offset + 1
            yield offset


class _Subscriptions:
    reassignment_in_progress = False

    def is_assigned(self, tp: TP) -> bool:
        return True


class _BufferedFetcher:
    """What aiokafka's ``Fetcher.fetched_records`` reads: records fetched for each partition, not yet handed out."""

    def __init__(self, buffered: dict[TP, list[int]]) -> None:
        self.assignment = _Assignment()
        self._records: dict[TP, FetchResult] = {}
        for tp, offsets in buffered.items():
            self.assignment.states[tp] = _State(offsets[0])
            records = _PartitionRecords(offsets)
            self._records[tp] = FetchResult(tp, assignment=self.assignment, partition_records=records, backoff=0)
        self._subscriptions = _Subscriptions()
        self._closed = False
        self._wait_consume_future = None

    def _notify(self, future: Any) -> None:
        pass

    def positions(self) -> dict[TP, int]:
        return {tp: state.position for tp, state in self.assignment.states.items()}


def test_the_fetch_waits_are_shortened_on_aiokafkas_fetcher_behind_faust_consumer() -> None:
    fetcher = SimpleNamespace(**{FETCH_WAIT_ATTRIBUTE: 1500, HOLD_ATTRIBUTE: 0.1})
    consumer = SimpleNamespace(_thread=SimpleNamespace(_consumer=SimpleNamespace(_fetcher=fetcher)))
    assert shorten_fetch_waits(_App(consumer), 100, 0.01) is True
    assert getattr(fetcher, FETCH_WAIT_ATTRIBUTE) == 100
    assert getattr(fetcher, HOLD_ATTRIBUTE) == 0.01
    not_started = SimpleNamespace(_thread=SimpleNamespace(_consumer=None))  # before Faust's consumer thread starts
    assert shorten_fetch_waits(_App(not_started)) is False


def test_a_partition_holding_records_holds_the_next_fetch_back_only_as_long_as_the_prefetch_hold() -> None:
    """aiokafka's own ``FetchResult.calculate_backoff``: what the hold is, measured from when the records came."""
    fresh = FetchResult(CHANGELOG, assignment=None, partition_records=None, backoff=0.01)
    assert 0 < fresh.calculate_backoff() <= 0.01
    assert HOLD_ATTRIBUTE in Fetcher._proc_fetch_request.__code__.co_names, FIX  # each result takes it


def test_faust_builds_the_consumer_the_waits_are_set_on_and_aiokafka_reads_them_per_fetch(app: Any) -> None:
    """Faust's consumer keeps its thread, the thread aiokafka's consumer (once started), that consumer its Fetcher
    (``start``), and the Fetcher reads the wait each time it builds a fetch request: setting it at an assignment
    bounds every later fetch."""
    from aiokafka import AIOKafkaConsumer
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    thread_attribute, consumer_attribute, fetcher_attribute = FETCHER_PATH
    thread = getattr(app.consumer, thread_attribute)
    assert isinstance(thread, AIOKafkaConsumerThread), FIX
    assert hasattr(thread, consumer_attribute), FIX
    assert fetcher_attribute in AIOKafkaConsumer.start.__code__.co_names, FIX
    assert FETCH_WAIT_ATTRIBUTE in Fetcher._get_actions_per_node.__code__.co_names, FIX
    faust_wait = inspect.getsource(AIOKafkaConsumerThread._create_worker_consumer)
    assert "fetch_max_wait_ms=1500" in faust_wait, "Faust's fetch wait changed: are shorter fetch waits still needed?"


def test_a_resume_of_a_running_flow_keeps_the_records_queued_for_the_agents(app: Any) -> None:
    """Seen in CI (2026-12-06): Faust resumes the flow during a restore and again when it is done, after it resumed
    the input partitions and sought them to the committed offsets. mode's resume empties every stream queue, so the
    records fetched in between, already marked read, were thrown away: the restarted worker's agents were handed
    their partitions from the middle on. A resume after a suspension (a rebalance) still empties them."""
    flow = app.flow_control
    queue: Any = FlowControlQueue(flow_control=flow, clear_on_resume=True)
    ResumeKeepsQueued(app).install()
    flow.resume()  # the restore's: the flow was suspended (initially, or by the rebalance)
    queue.put_nowait("offset 0")  # fetched after the input partitions were resumed
    flow.resume()  # the restore is done
    assert queue.qsize() == 1, "a resume of a running flow threw queued records away"
    flow.suspend()  # the next rebalance
    flow.resume()
    assert queue.qsize() == 0  # records queued before a suspension are the old assignment's: emptied as in Faust
    installed = flow.resume
    ResumeKeepsQueued(app).install()
    assert flow.resume is installed


def test_mode_flow_control_empties_the_queues_on_every_resume_which_is_why_the_adapter_wraps_it(app: Any) -> None:
    flow = app.flow_control
    queue: Any = FlowControlQueue(flow_control=flow, clear_on_resume=True)
    flow.resume()
    queue.put_nowait("offset 0")
    flow.resume()
    assert queue.qsize() == 0, "mode's FlowControlEvent.resume no longer empties the queues of a running flow: " + FIX


def test_faust_stream_queues_are_emptied_on_resume(app: Any) -> None:
    channel = app.channel()
    assert channel.queue._flow_control is app.flow_control and channel.queue._clear_on_resume, (
        "Faust's stream queues are no longer emptied on resume: ResumeKeepsQueued may no longer be needed: " + FIX)


def test_an_agents_stream_takes_its_records_from_its_channels_queue(app: Any) -> None:
    """``_Builder._seek_stalled`` reads whether an agent has records queued from its stream's ``channel.queue``:
    so do both of Faust's stream iterators (the C one where it is built, as here, and the Python one)."""
    import faust.streams

    stream = app.stream(app.channel())
    assert stream.channel.queue.qsize() == 0
    assert "chan_queue = chan.queue" in inspect.getsource(faust.streams.Stream._py_aiter), FIX
    if getattr(faust.streams, "_CStreamIterator", None) is not None:
        source = Path(faust.__file__).parent / "_cython" / "streams.pyx"
        assert "self.chan_queue = self.channel.queue" in source.read_text(encoding="utf-8"), FIX


def test_a_record_of_an_earlier_generation_kept_in_a_queue_is_never_handed_to_the_agent(app: Any) -> None:
    """What keeping the queues on a resume of a running flow relies on: a record queued for an assignment that a
    rebalance has since replaced (one still on its way into a full queue when the rebalance emptied it) is passed
    over by Faust's stream, its partition perhaps another worker's now; only the new generation's are handed over."""
    from faust.events import Event

    ResumeKeepsQueued(app).install()
    stream = app.stream(app.channel())

    def event(offset: int, generation: int) -> Any:
        message = ConsumerMessage("t", 0, offset, 0.0, 0, {}, None, b"v", None, generation_id=generation)
        return Event(app, None, offset, {}, message)

    async def run() -> list[int]:
        app.consumer_generation_id = 1
        app.flow_control.resume()  # the restore's
        stream.channel.queue.put_nowait(event(5, 1))
        app.consumer_generation_id = 2  # a rebalance (its suspension's emptying came before the record did)
        app.flow_control.resume()  # the restore is done: the queue is kept
        stream.channel.queue.put_nowait(event(7, 2))
        handed: list[int] = []
        async for each in stream.events():
            handed.append(each.message.offset)
            if each.message.offset == 7:
                break
        return handed

    asyncio.set_event_loop(app.loop)
    try:
        assert app.loop.run_until_complete(asyncio.wait_for(run(), 10)) == [7], FIX
    finally:
        asyncio.set_event_loop(None)
