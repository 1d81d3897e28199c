"""The Faust application, built by a factory (no module-level app), around the pure core.

Agents decode, call the core through the stages in ``streams.stage``, keep state in Faust
tables, and produce the effects; no journey rule lives here.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import itertools
import json
import logging
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, cast

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.types import TP
from prometheus_client import CollectorRegistry

from wayfinder import examples_dir
from wayfinder.clock import utc_now
from wayfinder.journeys.decisions import review_window
from wayfinder.journeys.digest import Digests
from wayfinder.journeys.engine import Engine
from wayfinder.journeys.loader import Definitions, Sources, load_or_raise
from wayfinder.journeys.mailbox import Mailbox
from wayfinder.journeys.profile import Profile
from wayfinder.streams.clock import EPOCH, StreamClock
from wayfinder.streams.faust_adapter import (
    COMMITTED_ATTRIBUTE,
    CommittedOffsets,
    FaustTable,
    KeptCommits,
    Rereader,
    Restore,
    check_on_start,
    shorten_fetch_waits,
)
from wayfinder.streams.gate import first_waiting, kept_mark
from wayfinder.streams.health import LagProbe, OffsetWatch, RestoreWatch, WorkerHealth
from wayfinder.streams.metrics import PendingReviews, ScanPace, StreamMetrics, measure_state
from wayfinder.streams.progress import CatchUp, read_decided
from wayfinder.streams.settings import WorkerSettings
from wayfinder.streams.stage import (
    EmployeeStage,
    Incoming,
    MailboxStage,
    Stage,
    failure_letter,
    profile_from_contact,
)
from wayfinder.streams.topics import INPUTS, topic_specs
from wayfinder.streams.wire import Record, encode_tick
from wayfinder.telemetry import HealthServer, add_standard_collectors, serve
from wayfinder.vocabulary import Topic

log = logging.getLogger(__name__)
STATE_INTERVAL_SECONDS = 15.0  # tables are measured at the lag interval, but not more often than this
PROGRESS_INTERVAL_SECONDS = 2.0  # how often the group's progress is read while an input waits for a recipient
KEPT_SHARE_SECONDS = 1.0  # how often commits say again how far input partitions are decided (streams.gate)
PROGRESS_SLOW_SECONDS = 30.0  # a progress mark older than this (and than the wait) is said in the log, this often
EMIT_RETRY_MAX_SECONDS = 30.0  # longest wait between two tries to send an input's state and records
EXIT_UNDELIVERED = 75  # EX_TEMPFAIL: a record the broker did not take in time; restarted, the worker sends it again
TEST_CRASH_SETTING = "WAYFINDER_TEST_CRASH_MARKER"
TEST_DROP_SETTING = "WAYFINDER_TEST_DROP_ONCE"
TEST_STALL_SETTING = "WAYFINDER_TEST_STALL_RESTORE_ONCE"
TEST_LATE_COMMITTED_SETTING = "WAYFINDER_TEST_LATE_COMMITTED"
TEST_KEEP_ENTRIES_SETTING = "WAYFINDER_TEST_KEEP_ENTRIES"  # TEST ONLY: the worker deletes no entry of its inputs
LATE_COMMITTED_SECONDS = 5.0
COMMITTED_ATTEMPTS = 3  # asks for the committed offsets before a partition's first input, a second apart
COMMITTED_TIMEOUT_SECONDS = 10.0
RESTORE_CHECK_SECONDS = 2.0  # how often the worker looks at a table restore in progress


def load_definitions(settings: WorkerSettings) -> Definitions:
    root = settings.definitions or examples_dir()
    return load_or_raise(Sources(paths=[root / "journeys", root / "catalog"], templates=[root / "templates"],
                                 policy=root / "policy.yaml" if (root / "policy.yaml").exists() else None))


@dataclass
class WayfinderApp:
    """The Faust app and what its agents work with (exposed for tests and the benchmark)."""

    faust: faust.App
    settings: WorkerSettings
    metrics: StreamMetrics
    employees: EmployeeStage
    mailboxes: MailboxStage
    directory: dict[str, Profile]
    health: WorkerHealth
    registry: CollectorRegistry


def create_app(settings: WorkerSettings, *, registry: CollectorRegistry | None = None,
               wall: Callable[[], datetime] = utc_now, definitions: Definitions | None = None) -> WayfinderApp:
    """A fresh Faust app with its agents, timers and tables; nothing is shared between two apps."""
    definitions = definitions or load_definitions(settings)
    definitions.warm()  # before the first input, not in the middle of it (README "Warm at start-up")
    return _Builder(settings, registry if registry is not None else CollectorRegistry(), wall, definitions).build()


class DataDirInUse(RuntimeError):
    """Another worker holds this data folder (``start_from_changelogs``)."""


def start_from_changelogs(wapp: WayfinderApp) -> IO[bytes] | None:
    """With RocksDB tables: lock the data folder for this process and drop the tables' local files, so that
    Faust restores them from their changelogs alone (README "Guarantee"). The worker writes its changelog records
    on its own producer, so a local store can hold writes that never reached Kafka (killed before they left);
    restored over such a store, a table mixed the two, and a key only the local store held (a new person's first
    state, a new timer) outlived the restart: the input that wrote it, read again, was a duplicate and its messages
    never went. Faust replays the whole changelog at start anyway (it keeps no offset of these writes), so this
    costs no restore time. The returned lock file is held while the process lives; ``None`` for memory tables."""
    settings = wapp.settings
    if settings.store != "rocksdb":
        return None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    lock = (settings.data_dir / "worker.lock").open("ab")
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as e:
        lock.close()
        msg = (f"{settings.data_dir}: another worker uses this data folder (WAYFINDER_DATA_DIR); give each worker "
               "its own")
        raise DataDirInUse(msg) from e
    tables = Path(wapp.faust.conf.tabledir)
    dropped = [path for name in TABLES for path in sorted(tables.glob(f"{name}-*.db"))]
    for path in dropped:
        shutil.rmtree(path)
    if dropped:
        log.info("dropped %d local table partition(s) at start: the tables are restored from their changelogs",
                 len(dropped))
    return lock


TABLES = ("employees", "mailboxes")


class _Builder:
    def __init__(self, settings: WorkerSettings, registry: CollectorRegistry, wall: Callable[[], datetime],
                 defs: Definitions) -> None:
        self.settings = settings
        self.registry = registry
        self.metrics = StreamMetrics(registry)
        add_standard_collectors(registry, "worker")
        self.health = WorkerHealth(settings, self.metrics, restore=RestoreWatch(settings.restore_stall_seconds))
        self.metrics.review_window.set(review_window(defs.policy).total_seconds())
        self._lag = LagProbe(settings)
        self.clock = StreamClock(settings.clock, wall)
        self.app = faust.App(
            settings.app_id, broker=settings.broker,
            store="memory://" if settings.store == "memory" else "rocksdb://",
            datadir=str(settings.data_dir), web_enabled=False, autodiscover=False,
            topic_partitions=settings.partitions, topic_replication_factor=settings.replication,
            consumer_auto_offset_reset="earliest", producer_linger=settings.producer_linger,
            producer_compression_type=settings.compression, producer_request_timeout=settings.producer_request_timeout,
            broker_commit_every=settings.broker_commit_every,
            broker_commit_interval=settings.broker_commit_interval,
            table_standby_replicas=settings.table_standby_replicas,
            stream_buffer_maxsize=settings.stream_buffer_maxsize,
            broker_session_timeout=settings.broker_session_timeout,
            broker_heartbeat_interval=settings.broker_heartbeat_interval,
            consumer_group_instance_id=settings.group_instance_id,
            # a topic that was missing at the group's first assignment is picked up within this (5 min default)
            consumer_metadata_max_age_ms=30_000,
        )
        agent_topics = {settings.topic(n) for n in (*INPUTS, Topic.EMPLOYEE_TICKS, Topic.MAILBOX, Topic.MAILBOX_TICKS)}
        check_on_start(self.app, agent_topics.__contains__)
        self._agent_topics = sorted(agent_topics)
        self._committed = CommittedOffsets(self.app)
        self.directory: dict[str, Profile] = {}
        self.tables = {name: self._table(name) for name in TABLES}
        self.employees = EmployeeStage(
            self.tables["employees"], self.clock, self.metrics, self._committed, Engine(defs),
            ticks_topic=settings.topic(Topic.EMPLOYEE_TICKS), max_event_bytes=settings.max_event_bytes,
            directory=self.directory, recipient_wait_seconds=settings.recipient_wait_seconds)
        self.mailboxes = MailboxStage(self.tables["mailboxes"], self.clock, self.metrics, self._committed,
                                      Mailbox(defs.policy), ticks_topic=settings.topic(Topic.MAILBOX_TICKS),
                                      digests=Digests(defs.policy, defs.templates))
        for stage in (self.employees, self.mailboxes):
            stage.max_record_bytes = settings.max_record_bytes
        self.employees.partitions, self.employees.topic_prefix = settings.partitions, settings.topic_prefix
        self.mailboxes.sources = settings.partitions
        self.mailboxes.directory = self.directory
        self.employees.holds.max_wait_seconds = settings.recipient_max_wait_seconds
        self.employees.input_topics = tuple(settings.topic(n) for n in INPUTS)
        self._kept: KeptCommits | None = None  # commits that say how far an input partition is decided
        if settings.clock == "event" and settings.order_wait_seconds > 0:  # inputs in time order (streams.gate)
            self.employees.drained = self._drained
            self.employees.order_wait_seconds = settings.order_wait_seconds
            self._kept = KeptCommits(self.app, self._kept_marks, self._committed)
        elif settings.order_wait_seconds > 0:  # the wall clock: timers wait for a backlog's inputs (``_fire_by``)
            self.employees.drained = self._drained
            self.employees.order_wait_seconds = settings.order_wait_seconds
        self._catch_up = CatchUp()
        self._progress_said = 0.0  # when a slow progress was last said (wall seconds)
        self._offsets = OffsetWatch()  # inputs Faust fetched and never delivered are read again
        self._reread = Rereader(self.app)
        self._queues: dict[str, Any] = {}  # each agent's stream queue, by stage: what it has yet to take
        self._drop = drop_once()
        self._restore = Restore(self.app)
        self._directory_read: dict[int, int] = {}  # how far the directory reader has read, by partition
        if settings.recipient_wait_seconds > 0:
            self.employees.holds.caught_up = 0.0  # measured (streams.progress): waits end by the group's progress
        self._last_tick: dict[tuple[str, int], float] = {}
        self._state_pace = ScanPace()
        self._fault = crash_marker()
        self._written = sorted({spec.name for spec in topic_specs(settings)}
                               | {table.changelog_topic for table in self.tables.values()})
        self._tracking: object = None  # the aiokafka producer that tracks the worker's topics (``_send``)
        # tests/real/test_kafka_partitions.py keeps every entry of a worker it kills, for the next owner to delete
        # (the worker's own deletes, by a later input or tick of the partition, raced the kill)
        self._prune_ticks = not os.environ.get(TEST_KEEP_ENTRIES_SETTING)
        self.employees.keeps_entries = self.mailboxes.keeps_entries = not self._prune_ticks
        self.employees.answered = self.mailboxes.answered = self._committed.knows

    def build(self) -> WayfinderApp:
        app, s = self.app, self.settings
        app.agent(self._topic(*(s.topic(n) for n in (*INPUTS, Topic.EMPLOYEE_TICKS))), name="employees")(
            self._agent(self.employees, self.employees.handle))
        app.agent(self._topic(s.topic(Topic.MAILBOX), s.topic(Topic.MAILBOX_TICKS)), name="mailboxes")(
            self._agent(self.mailboxes, self.mailboxes.handle))
        app.timer(s.timer_tick_seconds)(self._tick)
        app.timer(s.lag_interval_seconds)(self._measure_lag)
        app.timer(max(s.lag_interval_seconds, STATE_INTERVAL_SECONDS))(self._measure_state)
        app.timer(1.0)(self._beat)
        if s.recipient_wait_seconds > 0:
            app.timer(PROGRESS_INTERVAL_SECONDS)(self._measure_progress)
        if self._kept is not None:
            app.timer(KEPT_SHARE_SECONDS)(self._share_kept)
        app.on_partitions_revoked.connect(self._on_revoked)  # type: ignore[arg-type]  # mode stubs are narrower
        app.on_partitions_assigned.connect(self._on_assigned)  # type: ignore[arg-type]
        app.on_rebalance_complete.connect(self._on_rebalance_complete)  # type: ignore[arg-type]
        app.task(self._read_directory)
        started = app.on_start

        async def on_start() -> None:  # app.timer and app.task start only once the first restore is done
            await started()  # check_on_start's checks first (Restore's among them)
            if self._kept is not None:
                self._kept.install()
            if os.environ.get(TEST_STALL_SETTING):
                stall_restore_once(app)
            if os.environ.get(TEST_LATE_COMMITTED_SETTING):
                committed_late(app)
            if s.restore_stall_seconds > 0:
                app.add_future(self._watch_restore(self._restore))

        app.on_start = on_start  # type: ignore[method-assign]
        return WayfinderApp(app, s, self.metrics, self.employees, self.mailboxes, self.directory, self.health,
                            self.registry)

    def _topic(self, *names: str) -> Any:
        return self.app.topic(*names, key_type=bytes, value_type=bytes, key_serializer="raw",
                              value_serializer="raw", partitions=self.settings.partitions)

    def _table(self, name: str) -> FaustTable:
        return FaustTable(self.app.Table(name, default=None, partitions=self.settings.partitions, key_type=bytes,
                                         value_type=bytes))

    def _send(self) -> Callable[..., Awaitable[Any]]:
        """A send on Faust's producer whose delivery is watched (``_undelivered``); its aiokafka client is told
        (once per producer) every topic the worker writes to. aiokafka keeps in its metadata only the topics it was
        told of, once it was told of any: a topic it knew from a fetch of every topic (Faust's topic creation at
        start does one) was dropped as soon as a missing topic was asked for (a deleted dead-letter topic, a topic
        created after the start), and a batch held for it then had no leader: the producer asked for metadata in a
        busy loop and its flush, which every commit waits for, hung for the producer's request timeout (README "A
        topic deleted under a running worker")."""
        producer: Any = self.app.producer
        raw = producer._ensure_producer()  # the aiokafka producer behind Faust's (no public handle)
        if raw is not self._tracking:
            for name in self._written:
                raw.client.add_topic(name)
            self._tracking = raw
        return self._send_watched

    async def _send_watched(self, *args: Any) -> Any:
        delivery = cast("asyncio.Future[Any]", await self.app.producer.send(*args))  # aiokafka's future (typed
        # Awaitable by Faust)
        delivery.add_done_callback(self._undelivered)
        return delivery

    def _undelivered(self, delivery: asyncio.Future[Any]) -> None:
        """A record the producer gave up on (not taken within ``WAYFINDER_PRODUCER_REQUEST_TIMEOUT``: a broker
        away that long, a partition without a leader) stops the worker at once, as a kill would. Faust's commit
        waits for the producer's batches but not for their success: it went on and committed the input, and the
        record was lost. Stopped before that commit (this runs before the commit's wait returns), the worker is
        restarted, reads the input again and finishes its write-ahead entry (README "Undelivered records")."""
        if delivery.cancelled() or delivery.exception() is None:
            return
        log.critical("a record was not delivered within WAYFINDER_PRODUCER_REQUEST_TIMEOUT (%.0fs): %s; the worker "
                     "stops before its input is committed (exit %d) and reads it again when restarted",
                     self.settings.producer_request_timeout, type(delivery.exception()).__name__, EXIT_UNDELIVERED)
        for handler in logging.getLogger().handlers:
            with contextlib.suppress(Exception):  # a handler whose stream is gone must not keep the worker going
                handler.flush()
        os._exit(EXIT_UNDELIVERED)

    async def _produce(self, records: list[Record]) -> None:
        send = self._send()
        for r in records:
            await send(self.settings.topic(r.topic), r.key.encode("utf-8") if r.key is not None else None,
                       r.value, r.partition, None, None)

    async def _emit(self, name: str, changelog: str, m: Any, writes: list[tuple[bytes, bytes | None]],
                    records: list[Record]) -> None:
        """Send an input's state (first: a record never leaves before its state) and records, until Kafka takes
        them. A failure here (the producer, the broker) counts as a crash of the agent and is tried again after a
        back-off, in the agent's loop: raised to Faust, the input would be acked and committed unprocessed (the
        lag would read 0 and its records would never leave). So the input stays uncommitted and the lag shows it
        while the agent crash-loops on it; the state's writes are sent again with it (the same values)."""
        for attempt in itertools.count():
            try:
                send = self._send()  # the producer of this try (Faust's may be another after a restart)
                for key, value in writes:
                    await send(changelog, key, value, m.partition, None, None)
                if self._fault is not None and self._fault in (m.value or b""):
                    raise InjectedFault(TEST_CRASH_SETTING)  # test only: never set outside that test
                await self._produce(records)
                return
            except Exception as e:  # any failure to send is retried, never dropped
                delay = min(EMIT_RETRY_MAX_SECONDS, 2.0**attempt)
                self._crashed(name, e, f"{m.topic}[{m.partition}]@{m.offset} is sent again in {delay:.0f}s",
                              {"topic": m.topic, "partition": m.partition, "offset": m.offset})
                await asyncio.sleep(delay)

    def _agent(self, stage: Stage, handle: Callable[[Any, Incoming], None]) -> Callable[[Any], Any]:
        table = self.tables[stage.name]
        self.metrics.agent_crashes.labels(stage.name)  # 0 from the start: rate() and alerts see the first one
        self.metrics.processing_errors.labels(stage.name)
        self.metrics.timers_fired.labels(stage.name)  # and the dashboard's timer panels have a series before one fires
        self.metrics.timer_lateness.labels(stage.name)
        self.metrics.skipped.labels(stage.name)
        self.metrics.reread.labels(stage.name)

        async def agent(stream: Any) -> None:
            self.metrics.agent_starts.labels(stage.name).inc()
            try:
                await consume(stream)
            except Exception as e:  # counted, then Faust's supervisor restarts the agent
                self._crashed(stage.name, e)
                raise

        async def consume(stream: Any) -> None:
            changelog = table.changelog_topic
            self._queues[stage.name] = getattr(getattr(stream, "channel", None), "queue", None)  # _seek_stalled
            async for event in stream.events():
                m = event.message
                if self._drop is not None and self._drop.drops(m.topic, m.partition, m.offset):
                    self._reread.pass_by(m)  # test only (WAYFINDER_TEST_DROP_ONCE): as a record Faust dropped
                    continue
                first = not self._offsets.knows(m.topic, m.partition)  # since the partition was assigned
                if (first or stage.needs_loading(m.partition)) and not self._committed.knows(m.topic, m.partition):
                    await self._learn_committed({m.partition}, attempts=COMMITTED_ATTEMPTS)  # before ``_watch``
                if not await self._watch(stage.name, m):
                    continue
                msg = Incoming(m.topic, m.partition, m.offset, m.key, m.value, m.timestamp)
                started = time.perf_counter()
                try:
                    records = stage.process(msg, handle)
                except Exception as e:  # never lose an input silently: dead-letter it and go on
                    log.exception("%s: processing failed at %s[%d]@%d", stage.name, m.topic, m.partition,
                                  m.offset, extra={"stage": stage.name, "topic": m.topic, "partition": m.partition,
                                                   "offset": m.offset})
                    self.metrics.processing_errors.labels(stage.name).inc()
                    self.metrics.dead_letters.labels("processing_error").inc()  # one letter, whichever way below
                    try:
                        records = stage.failed(msg, e)
                    except Exception:  # the dead letter alone, whatever else failed
                        log.exception("%s: dead-lettering %s[%d]@%d failed", stage.name, m.topic, m.partition,
                                      m.offset)
                        records = [failure_letter(msg, e, self.clock.wall())]
                    records = stage.take_loaded(m.partition) + records  # interrupted units' records first
                self._processed(stage.name, m.topic, time.perf_counter() - started)
                # No pause here for a retry that goes round again: its way through Kafka (the producer's linger)
                # paces it, and an agent that awaits in its loop after a restart lost fetched inputs (README
                # "no_recipient").
                await self._emit(stage.name, changelog, m, list(table.drain()), records)
                stage.sent()

        agent.__name__ = f"{stage.name}_agent"
        return agent

    async def _watch(self, stage: str, m: Any) -> bool:
        """Whether to process the record: one behind offsets the consumer skipped is passed by, and the partition
        read again from the first missing offset (``streams.health.OffsetWatch``, ``Rereader``)."""
        if not self._offsets.knows(m.topic, m.partition):
            # The partition's first record since it was assigned: it must be the one at the group's committed
            # offset (where Faust seeks), or the records before it were fetched and dropped (README "Offsets
            # skipped"). Seen after a kill -9: the first waiting input's retry, one offset before the first record
            # delivered, was never processed, and its employee's inputs were lost.
            start = self._committed.start(m.topic, m.partition)
            if start is not None:
                self._offsets.expect(m.topic, m.partition, start)
        rereading = self._offsets.rereading(m.topic, m.partition)
        seen = self._offsets.see(m.topic, m.partition, m.offset, time.monotonic())
        if seen.lost:
            self._lost(stage, m, seen.lost)
        if seen.reread_from is not None:
            self.metrics.reread.labels(stage).inc()
            log.warning("%s: %d offset(s) of %s[%d] before %d were never delivered to the agent: reading the "
                        "partition again from %d", stage, m.offset - seen.reread_from, m.topic, m.partition, m.offset,
                        seen.reread_from)
            try:
                await self._reread.seek(m.topic, m.partition, seen.reread_from)
            except Exception as e:  # e.g. revoked meanwhile: the gap is given up, and this record processed
                lost = self._offsets.give_up(m.topic, m.partition, m.offset)
                self._reread.done(m.topic, m.partition)
                self._lost(stage, m, lost, f" ({type(e).__name__})")
                return True
        if not seen.process:
            self._reread.pass_by(m)
            return False
        if rereading:
            self._reread.done(m.topic, m.partition)
        return True

    def _lost(self, stage: str, m: Any, count: int, why: str = "") -> None:
        self.metrics.skipped.labels(stage).inc(count)
        log.error("%s: %d offset(s) of %s[%d] before %d were never delivered to the agent and could not be read "
                  "again%s: lost inputs", stage, count, m.topic, m.partition, m.offset, why)

    async def _tick(self) -> None:
        """Ask a partition's agent to fire its due timers (or to load them after an assignment)."""
        assigned = self.app.consumer.assignment()
        for stage in (self.employees, self.mailboxes):
            for tp in assigned:
                if tp.topic != stage.ticks_topic:
                    continue
                p = tp.partition
                due = stage.timers.next_due(p)
                wanted = not stage.timers.loaded(p) or (due is not None and due <= self.clock.now(p).timestamp()) \
                    or stage.ready(p) or (self._prune_ticks and stage.wal.prunable(p, stage.ticks_topic))
                key = (stage.ticks_topic, p)
                if wanted and self._last_tick.get(key, 0.0) < time.monotonic() - 1.0:
                    self._last_tick[key] = time.monotonic()
                    await self._send()(stage.ticks_topic, None, encode_tick(None), p, None, None)
                self.metrics.stream_time.labels(stage.name, str(p)).set(self.clock.now(p).timestamp())
            self.metrics.pending_timers.labels(stage.name).set(len(stage.timers))

    def _processed(self, stage: str, topic: str, seconds: float) -> None:
        self.metrics.processing.labels(stage, topic.removeprefix(self.settings.topic_prefix)).observe(seconds)

    async def _measure_state(self) -> None:
        """Bytes and largest entry of each table (``streams.metrics.measure_state``), paced (``ScanPace``)."""
        if not self._state_pace.due(time.monotonic()):
            return
        reviews = PendingReviews()
        for name, table in self.tables.items():
            total, largest = await measure_state(table.keys, table.get, reviews.see if name == "employees" else None,
                                                 self._state_pace)
            self.metrics.state_bytes.labels(name).set(total)
            self.metrics.state_largest.labels(name).set(largest)
        self.metrics.reviews_pending.set(reviews.count)
        self.metrics.review_oldest.set(reviews.age(self._latest()))
        self._state_pace.done(time.monotonic())

    def _latest(self) -> datetime:
        """The worker's time: the wall clock, or with the event clock the latest of its partitions' times."""
        if self.clock.mode == "wall":
            return self.clock.wall()
        times = [self.clock.now(p) for t, p in self.health.assigned if t == self.employees.ticks_topic]
        return max(times, default=EPOCH)

    def _drained(self, topic: str, partition: int, seen: int | None) -> bool:
        """Whether the worker has read everything of an input partition that the consumer knows is there (its high
        watermark, from the last fetch): the last offset the stage read (``seen``), or where reading started."""
        try:
            high = self.app.consumer.highwater(TP(topic, partition))
        except Exception:  # not assigned (a rebalance), no fetch yet: not known to be read to its end
            return False
        if not isinstance(high, int):
            return False
        position = seen + 1 if seen is not None else self._committed.start(topic, partition)
        return high == 0 or (position is not None and position >= high)

    async def _measure_lag(self) -> None:
        """The lag of the assigned agent partitions, from the broker (``streams.health``); a broker that does
        not answer leaves the last values and makes /readyz fail once they are stale."""
        try:
            lag = await self._lag.measure(self.health.assigned)
        except Exception as e:  # the broker is away: say so once per failure, keep the worker running
            self.metrics.lag_failures.inc()
            log.warning("lag not measured: %s", type(e).__name__)
            await self._lag.close()
            return
        self.health.measured_lag(lag)

    def _employees_unloaded(self) -> set[int]:
        """The employee partitions this worker holds and has not loaded yet (their kept inputs not known here)."""
        stage = self.employees
        return {tp.partition for tp in self.app.consumer.assignment()
                if tp.topic == stage.ticks_topic and stage.needs_loading(tp.partition)}

    def _kept_marks(self) -> dict[tuple[str, int], str]:
        """What a commit of each assigned input partition says of the inputs kept there for their turn
        (``streams.gate``): the first one's offset; a partition not loaded yet says 0 (its kept inputs are not known
        here), and ``share`` leaves it for after its load."""
        stage = self.employees
        first = first_waiting(stage.gated.held())
        return {(tp.topic, tp.partition): kept_mark(0 if stage.needs_loading(tp.partition)
                                                    else first.get((tp.topic, tp.partition)))
                for tp in self.app.consumer.assignment() if tp.topic in stage.input_topics}

    async def _share_kept(self) -> None:
        """Commit again the input partitions whose first kept input changed since their last commit (a kept input
        decided since): how far they are decided is what other workers' waits read (``streams.progress``)."""
        if self._kept is None:
            return
        try:
            await self._kept.share(lambda tp: not self.employees.needs_loading(tp[1]))
        except Exception as e:  # a rebalance, the broker away: the next commit or round says it
            log.info("kept inputs not shared: %s", type(e).__name__)

    async def _measure_progress(self) -> None:
        """While an input waits for a recipient: how far the group has got (``streams.progress``)."""
        holds = self.employees.holds
        if not holds.blocked:
            return
        try:
            ends, done, directory_ends = await read_decided(self._lag.progress, self.employees.gated,
                                                            self._employees_unloaded)
        except Exception as e:  # the broker is away: waits go on (the longest wait still ends them)
            log.warning("progress not measured: %s", type(e).__name__)
            await self._lag.close()
            return
        wall = self.clock.wall().timestamp()
        holds.caught_up = self._catch_up.observe(wall, ends, done, directory_ends, self._directory_read)
        age = wall - self._catch_up.marks[0].at  # the oldest mark not reached yet
        if age > max(holds.wait_seconds, PROGRESS_SLOW_SECONDS) and wall - self._progress_said >= PROGRESS_SLOW_SECONDS:
            self._progress_said = wall  # said at most every PROGRESS_SLOW_SECONDS
            log.warning("waits for recipients end by the group's progress, and its oldest mark not reached is %.0f s "
                        "old; it waits for: %s", age, "; ".join(self._catch_up.waiting_for()[:8]) or "the next reading")

    async def _beat(self) -> None:
        self.health.beat = time.monotonic()
        self.metrics.holds.set(len(self.employees.holds.blocked))
        self.metrics.waiting_for_order.set(len(self.employees.gated))
        await self._seek_stalled()

    async def _seek_stalled(self) -> None:
        """Seek again each partition read again whose missing offset has not come (``OffsetWatch.stalled``): the
        agent learns of a gap only from a record, so a seek whose records were lost, with none after them, would
        leave it waiting for good."""
        assigned = {(tp.topic, tp.partition) for tp in self.app.consumer.assignment()}
        mailbox_topics = (self.settings.topic(Topic.MAILBOX), self.settings.topic(Topic.MAILBOX_TICKS))

        def stage_of(topic: str) -> str:
            return self.mailboxes.name if topic in mailbox_topics else self.employees.name

        def idle(topic: str) -> bool:  # the agent has taken every record queued: the missing one is not among them
            queue = self._queues.get(stage_of(topic))
            return queue is None or not queue.qsize()

        for topic, partition, offset in self._offsets.stalled(time.monotonic(), idle=idle):
            # still read again: a revocation during an earlier seek here forgot it (and its read mark, which the
            # seek would put back for a partition no longer watched)
            if (topic, partition) not in assigned or not self._offsets.rereading(topic, partition):
                continue
            stage = stage_of(topic)
            self.metrics.reread.labels(stage).inc()
            log.warning("%s: offset %d of %s[%d] has not come since the partition was read again from it: reading "
                        "it again", stage, offset, topic, partition)
            try:
                await self._reread.seek(topic, partition, offset)
            except Exception as e:  # e.g. revoked meanwhile: the next beat tries again if it is still ours
                log.warning("%s: %s[%d] could not be read again (%s)", stage, topic, partition, type(e).__name__)

    def _crashed(self, name: str, exc: BaseException, then: str = "Faust restarts it",
                 where: dict[str, str | int] | None = None) -> None:
        """``where``: the input the agent is stuck on (topic, partition, offset), keys of the JSON line too."""
        log.error("agent %s crashed (%s); %s", name, type(exc).__name__, then, extra={**(where or {}), "agent": name})
        self.health.crashed(name)

    async def _on_assigned(self, sender: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
        assigned: set[TP] = args[0] if args else kwargs.get("assigned", set())
        self.health.on_assigned({(tp.topic, tp.partition) for tp in assigned})
        wait, hold = self.settings.fetch_max_wait_ms, self.settings.prefetch_backoff
        if shorten_fetch_waits(self.app, wait, hold):
            log.info("fetch waits set: %d ms at the broker, prefetch hold %.3f s", wait, hold)
        else:
            log.warning("the consumer's fetch waits could not be set: Faust's and aiokafka's own stay")
        await self._learn_committed({tp.partition for tp in assigned if tp.topic in self._agent_topics})

    async def _learn_committed(self, partitions: set[int], attempts: int = 1) -> None:
        """The group's committed offsets of the agents' topics on ``partitions``, from the broker, for the stages'
        write-ahead entries (``CommittedOffsets``): asked when partitions are assigned, and again before a
        partition's first input if that did not answer. A broker that does not answer is logged; the partition is
        then loaded with what Faust knows."""
        if not partitions:
            return
        tps = [(t, p) for t in self._agent_topics for p in sorted(partitions)]
        for attempt in range(attempts):
            try:
                got = await asyncio.wait_for(self._lag.committed(tps), COMMITTED_TIMEOUT_SECONDS)
                starts = await self._starts([tp for tp, offset in got.items() if offset is None])
                self._committed.learn(got, starts)  # together: an agent's first record may come meanwhile
                return
            except Exception as e:  # the broker, a timeout: said, and the partition loads with what Faust knows
                log.warning("the group's committed offsets of partitions %s could not be read (%s)%s",
                            sorted(partitions), type(e).__name__,
                            "" if attempt + 1 < attempts else ": interrupted units are judged by what Faust knows")
                with contextlib.suppress(Exception):
                    await self._lag.close()
                if attempt + 1 < attempts:
                    await asyncio.sleep(1.0)

    async def _starts(self, tps: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """Where partitions the group never committed start (their first offset), so that their first record is
        checked as well (``_watch``); unanswered, their first record is taken as it comes."""
        if not tps:
            return {}
        try:
            return await asyncio.wait_for(self._lag.beginnings(tps), COMMITTED_TIMEOUT_SECONDS)
        except Exception as e:  # the broker, a timeout: the first record is not checked
            log.warning("the first offsets of partitions never committed could not be read (%s)", type(e).__name__)
            return {}

    async def _on_rebalance_complete(self, sender: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
        # Faust also says "complete" for a restore interrupted to start again (by a rebalance or the restore watch):
        # still rebalancing while changelog records are to be restored.
        self.health.joined, self.health.rebalancing = True, self._restore.moved() is not None

    async def _on_revoked(self, sender: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
        revoked: set[TP] = args[0] if args else kwargs.get("revoked", set())
        self.health.rebalancing = True
        self._offsets.forget({(tp.topic, tp.partition) for tp in revoked})
        self._committed.forget((tp.topic, tp.partition) for tp in revoked)
        if self._kept is not None:
            self._kept.forget((tp.topic, tp.partition) for tp in revoked)
        self._reread.forget({(tp.topic, tp.partition) for tp in revoked})
        for tp in revoked:
            with contextlib.suppress(KeyError):
                self.metrics.lag.remove(tp.topic, str(tp.partition))
            for stage in (self.employees, self.mailboxes):
                if tp.topic == stage.ticks_topic:
                    stage.revoke(tp.partition)
                    with contextlib.suppress(KeyError):
                        self.metrics.stream_time.remove(stage.name, str(tp.partition))

    async def _watch_restore(self, restore: Restore) -> None:
        """Start again a table restore that receives nothing (``faust_adapter.Restore``, ``health.RestoreWatch``)."""
        watch = self.health.restore
        while True:
            await asyncio.sleep(RESTORE_CHECK_SECONDS)
            moved = restore.moved()
            stuck = watch.stuck
            if watch.check(moved, time.monotonic()):
                self.metrics.restore_restarts.inc()
                log.warning("a table restore has received no changelog record for %.0fs (waiting for %s): starting "
                            "it again (%d of %d)", time.monotonic() - (moved or 0.0), restore.waiting(),
                            watch.restarts, watch.restarts_allowed)
                restore.restart()
            elif watch.stuck is not None and stuck is None:
                log.error("a table restore has received no changelog record for %.0fs after %d restarts (waiting for "
                          "%s): the worker reports itself not alive", watch.stuck, watch.restarts, restore.waiting())

    async def _read_directory(self) -> None:
        # The agents do not wait for the directory: an agent that waited (before or inside its loop) lost inputs
        # after a restart, Faust dropping what it had fetched for the stream meanwhile (README "no_recipient").
        positions = self._directory_read if self.settings.recipient_wait_seconds > 0 else None  # for the waits
        await follow_directory(self.settings, self.directory, positions=positions)



class InjectedFault(RuntimeError):
    """Raised by the test-only fault switch (``WAYFINDER_TEST_CRASH_MARKER``)."""


def crash_marker() -> bytes | None:
    """TEST ONLY (tests/real/test_crash_loop_live.py): with ``WAYFINDER_TEST_CRASH_MARKER`` set, every try to send
    the records of an input whose raw bytes contain the marker fails, after its state was sent, as a failing
    producer would: the agent crash-loops on that input. Unset, as everywhere but that test, nothing changes."""
    marker = os.environ.get(TEST_CRASH_SETTING)
    return marker.encode("utf-8") if marker else None


@dataclass
class DropOnce:
    """TEST ONLY (tests/real/test_offsets_reread_kafka.py): ``WAYFINDER_TEST_DROP_ONCE=TOPIC:PARTITION:OFFSET`` makes
    the agent let that record go, unprocessed and unacknowledged, the first time it is delivered: what Faust does
    to a record it fetched during a rebalance (README "Offsets skipped"). Unset, as everywhere but that test,
    nothing changes."""

    topic: str
    partition: int
    offset: int
    done: bool = False

    def drops(self, topic: str, partition: int, offset: int) -> bool:
        if self.done or (topic, partition, offset) != (self.topic, self.partition, self.offset):
            return False
        self.done = True
        return True


def stall_restore_once(app: Any) -> None:
    """TEST ONLY (tests/real/test_restore_stall_kafka.py): with ``WAYFINDER_TEST_STALL_RESTORE_ONCE`` set, the first
    table restore that has changelog records to read loses its place right after Faust sought the changelog
    partitions (they are sought to their end), so it receives nothing, as the restore a CI run saw stall. Unset, as
    everywhere but that test, nothing changes."""
    recovery = app.tables.recovery
    seek = recovery._seek_offsets
    done = False

    async def seek_then_lose_the_place(consumer: Any, tps: set[TP], offsets: Any, title: str) -> None:
        nonlocal done
        await seek(consumer, tps, offsets, title)
        if not done and title == "active" and recovery.need_recovery():
            done = True
            await consumer.seek_wait({tp: recovery.active_highwaters[tp] + 1 for tp in tps})

    recovery._seek_offsets = seek_then_lose_the_place


def committed_late(app: Any) -> None:
    """TEST ONLY (tests/real/test_kafka_partitions.py): with ``WAYFINDER_TEST_LATE_COMMITTED`` set, Faust's
    committed-offset mapping is emptied right after each seek to the committed offsets and filled again
    ``LATE_COMMITTED_SECONDS`` later (what Faust committed meanwhile kept), so a partition's first inputs come while
    Faust does not know its offsets, as when they reach the agent before Faust's seek is done (``CommittedOffsets``).
    Unset, as everywhere but that test, nothing changes."""
    consumer = app.consumer
    perform_seek = consumer.perform_seek

    async def refill(offsets: Any, saved: dict[Any, Any]) -> None:
        await asyncio.sleep(LATE_COMMITTED_SECONDS)
        for tp, offset in saved.items():
            if offsets.get(tp) is None:
                offsets[tp] = offset

    async def perform_seek_then_forget() -> None:
        await perform_seek()
        offsets = getattr(consumer, COMMITTED_ATTRIBUTE)
        saved = dict(offsets)
        offsets.clear()
        app.add_future(refill(offsets, saved))

    consumer.perform_seek = perform_seek_then_forget


def drop_once() -> DropOnce | None:
    value = os.environ.get(TEST_DROP_SETTING)
    if not value:
        return None
    topic, partition, offset = value.rsplit(":", 2)
    return DropOnce(topic, int(partition), int(offset))


def serve_health(wapp: WayfinderApp) -> HealthServer | None:
    """Start ``/metrics``, ``/healthz`` and ``/readyz`` (before Faust starts, so they answer from start-up on);
    ``None`` when the metrics port is unset."""
    s = wapp.settings
    if s.metrics_port is None:
        return None
    try:
        server = serve(wapp.registry, host=s.metrics_host, port=s.metrics_port, alive=wapp.health.alive,
                       ready=wapp.health.ready)
    except OSError as e:  # a port in use, an address that is not this machine's: say which setting
        msg = (f"wayfinder: cannot serve metrics on {s.metrics_host}:{s.metrics_port} "
               f"(WAYFINDER_METRICS_HOST, WAYFINDER_METRICS_PORT): {e.strerror or type(e).__name__}")
        raise SystemExit(msg) from e
    log.warning("metrics on %s/metrics (health: /healthz, /readyz)", server.url)
    return server


async def follow_directory(settings: WorkerSettings, directory: dict[str, Profile],
                           read: asyncio.Event | None = None, positions: dict[int, int] | None = None) -> None:
    """Keep every recipient's contact details from the compacted directory topic (a hand-made global table). Once
    the topic is read to the end offsets it had when its partitions were assigned, this is logged and ``read`` (if
    given) is set. ``positions`` (if given) says how far it has read each partition (the next offset)."""
    consumer = AIOKafkaConsumer(settings.topic(Topic.DIRECTORY), bootstrap_servers=settings.bootstrap_servers,
                                enable_auto_commit=False, group_id=None, auto_offset_reset="earliest")
    started = time.monotonic()
    ends: dict[TopicPartition, int] | None = None
    caught_up = False
    try:
        await consumer.start()  # a start that fails is stopped too: what it had connected is closed
        while True:
            if ends is None and consumer.assignment():
                ends = await consumer.end_offsets(list(consumer.assignment()))
            if not caught_up and ends is not None and all([await consumer.position(tp) >= end
                                                           for tp, end in ends.items()]):
                caught_up = True
                log.info("directory read: %d people in %.1f s", len(directory), time.monotonic() - started)
                if read is not None:
                    read.set()
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for records in batches.values():
                for r in records:
                    key = r.key.decode("utf-8") if r.key else ""
                    if r.value is None:
                        directory.pop(key, None)
                        continue
                    try:
                        directory[key] = profile_from_contact(json.loads(r.value))
                    except ValueError as e:  # not a worker's record (no id, not JSON): skipped, the reader goes on
                        log.warning("directory: skipped the record at partition %d offset %d (%s)", r.partition,
                                    r.offset, type(e).__name__)
            if positions is not None:
                for tp in consumer.assignment():
                    positions[tp.partition] = await consumer.position(tp)
            await asyncio.sleep(0)
    finally:
        await consumer.stop()
