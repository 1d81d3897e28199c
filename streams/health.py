"""The worker's health: consumer lag from the group's committed offsets, and what ``/healthz`` and ``/readyz``
answer (``wayfinder.telemetry`` serves them).

Lag is asked of the broker, not of the worker's fetcher: the group's committed offset of each input partition
against the partition's log end offset. A fetcher that runs ahead of a crashing agent, a stall, or a consumer
cut off from the broker therefore cannot make the lag look smaller than it is. Only the topics the agents read
count (the inputs, the mailbox and the two tick topics); Faust's changelogs and internal topics do not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wayfinder.streams.gate import marked_kept
from wayfinder.streams.metrics import StreamMetrics
from wayfinder.streams.progress import decided
from wayfinder.streams.settings import WorkerSettings
from wayfinder.streams.topics import INPUTS
from wayfinder.telemetry import Verdict
from wayfinder.vocabulary import Topic

log = logging.getLogger(__name__)

AGENT_TOPICS = (*INPUTS, Topic.EMPLOYEE_TICKS, Topic.MAILBOX, Topic.MAILBOX_TICKS)
# The event loop beats once a second; a loop silent for this long is stuck, and the worker is not alive.
STUCK_AFTER_SECONDS = 60.0
# Agent crashes in the last window that make the worker not ready (a crash loop).
CRASH_WINDOW_SECONDS = 300.0


def partition_lag(ends: Mapping[Any, int], committed: Mapping[Any, int | None],
                  starts: Mapping[Any, int]) -> dict[Any, int]:
    """Messages not yet processed per partition: log end offset minus the committed offset. A partition the
    group never committed is read from its start (``auto_offset_reset=earliest``), so all of it is lag."""
    lag = {}
    for tp, end in ends.items():
        done = committed.get(tp)
        lag[tp] = max(0, end - (done if done is not None else starts.get(tp, 0)))
    return lag


# A table restore that stopped moving is started again at most this many times in a row; after that the worker
# says it is not alive, so that its orchestrator restarts it (README "Stalled restores").
RESTORE_RESTARTS = 3


@dataclass
class RestoreWatch:
    """When a table restore that receives no changelog record is started again (``faust_adapter.Restore``), and
    when the worker gives up on it. ``stall_seconds`` 0: never."""

    stall_seconds: float
    restarts_allowed: int = RESTORE_RESTARTS
    restarts: int = 0  # in the current restore
    restarted: float = 0.0  # when last started again (a restart takes a moment to show in ``moved``)
    stuck: float | None = None  # seconds without a record, once the restarts are used up

    def check(self, moved: float | None, now: float) -> bool:
        """``moved``: when the restore started or last received a record (``None``: no restore is waiting for
        one). True: start it again now."""
        if moved is None:
            self.restarts, self.restarted, self.stuck = 0, 0.0, None
            return False
        still = now - max(moved, self.restarted)
        if self.stall_seconds <= 0 or still < self.stall_seconds:
            self.stuck = None
            return False
        if self.restarts < self.restarts_allowed:
            self.restarts += 1
            self.restarted = now
            return True
        self.stuck = still
        return False


@dataclass
class WorkerHealth:
    """What the worker knows of itself, updated by the app's signals and timers; read by the probes (from the
    health server's thread: plain reads of numbers and sets)."""

    settings: WorkerSettings
    metrics: StreamMetrics
    clock: Callable[[], float] = time.monotonic
    started: float = field(default_factory=time.monotonic)
    beat: float | None = None
    joined: bool = False
    broker_away: bool = False  # at start-up, before joining: the broker did not answer the topics check
    rebalancing: bool = False
    assigned: frozenset[tuple[str, int]] = frozenset()
    lag: dict[tuple[str, int], int] = field(default_factory=dict)
    measured: float | None = None
    crashes: list[float] = field(default_factory=list)
    restore: RestoreWatch = field(default_factory=lambda: RestoreWatch(0.0))

    def __post_init__(self) -> None:
        self.metrics.ready.set_function(lambda: 1.0 if self.ready().ok else 0.0)
        self.metrics.lag_age.set_function(self.lag_age)

    def lag_age(self) -> float:
        """Seconds since the lag was last measured (since start-up before the first measurement)."""
        return max(0.0, self.clock() - (self.measured if self.measured is not None else self.started))

    def alive(self) -> Verdict:
        """Alive unless the event loop stopped beating (before the first beat: starting, so alive)."""
        if self.beat is not None and self.clock() - self.beat > STUCK_AFTER_SECONDS:
            return Verdict.of([f"the event loop has not run for {self.clock() - self.beat:.0f}s"])
        if self.restore.stuck is not None:
            return Verdict.of([f"a table restore has received nothing for {self.restore.stuck:.0f}s, started again "
                               f"{self.restore.restarts} times"])
        return Verdict(True)

    def ready(self) -> Verdict:
        reasons = [] if self.joined else [self._not_joined()]
        if self.rebalancing:
            reasons.append("rebalancing or restoring tables")
        reasons += self._lag_reasons()
        recent = [t for t in self.crashes if self.clock() - t < CRASH_WINDOW_SECONDS]
        if len(recent) >= 3:
            reasons.append(f"{len(recent)} agent crashes in the last {CRASH_WINDOW_SECONDS:.0f}s")
        return Verdict.of(reasons)

    def _not_joined(self) -> str:
        if self.broker_away:
            return (f"the broker does not answer at {', '.join(self.settings.bootstrap_servers)} (WAYFINDER_BROKER); "
                    "waiting for it before joining the consumer group")
        return "waiting to join the consumer group (no assignment yet)"

    def waiting_for_broker(self, away: bool) -> None:
        self.broker_away = away

    def _lag_reasons(self) -> list[str]:
        if not self.joined or not self.assigned:
            return []
        stale_after = 3 * self.settings.lag_interval_seconds + 10
        if self.measured is None:
            return ["lag not measured yet"]
        if self.clock() - self.measured > stale_after:
            return [f"lag not measured for over {stale_after:.0f}s: the broker does not answer"]
        behind = sum(n for tp, n in self.lag.items() if tp in self.assigned)
        if behind > self.settings.ready_max_lag:
            return [f"{behind} messages behind on the assigned partitions (WAYFINDER_READY_MAX_LAG "
                    f"{self.settings.ready_max_lag})"]
        return []

    def crashed(self, agent: str) -> None:
        now = self.clock()
        self.crashes = [t for t in self.crashes if now - t < CRASH_WINDOW_SECONDS] + [now]
        self.metrics.agent_crashes.labels(agent).inc()

    def on_assigned(self, assigned: set[tuple[str, int]]) -> None:
        """After a rebalance: the agents' partitions only (Faust also assigns its changelogs)."""
        names = {self.settings.topic(t) for t in AGENT_TOPICS}
        mine = frozenset(tp for tp in assigned if tp[0] in names)
        for tp in self.assigned - mine:
            with contextlib.suppress(KeyError):
                self.metrics.lag.remove(tp[0], str(tp[1]))
        self.assigned = mine
        self.metrics.rebalances.inc()
        for topic in names:
            self.metrics.assigned.labels(topic).set(sum(1 for t, _ in mine if t == topic))

    def measured_lag(self, lag: Mapping[tuple[str, int], int]) -> None:
        """A measurement of the partitions assigned when it began: those revoked meanwhile are not shown (their
        gauges went with the rebalance and must not come back)."""
        self.lag = {tp: n for tp, n in lag.items() if tp in self.assigned}
        self.measured = self.clock()
        for (topic, partition), n in self.lag.items():
            self.metrics.lag.labels(topic, str(partition)).set(n)


# How long a partition's agent passes by the records behind a gap, waiting for the consumer to read the missing
# ones again, before it gives them up as lost and goes on.
REREAD_LIMIT_SECONDS = 60.0
# How long a partition read again may go without its missing offset coming before it is sought to it again (the
# records of a seek can be lost the way the first ones were; with nothing after them to show it, the agent waited).
REREAD_AGAIN_SECONDS = 5.0


@dataclass(frozen=True)
class Seen:
    """What an agent does with a record of an input partition (``OffsetWatch.see``).

    ``process``: hand it to the stage. Otherwise the record lies behind a gap and is passed by, neither processed
    nor acknowledged, and read again in order once the missing offsets come back. ``reread_from``: seek the
    partition back to this offset (the first missing one). ``lost``: offsets given up as lost, counted and
    logged."""

    process: bool
    reread_from: int | None = None
    lost: int = 0


PROCESS = Seen(True)
PASS_BY = Seen(False)


@dataclass
class _Gap:
    missing: int  # the first offset never delivered
    passed: int  # the highest offset passed by since
    since: float
    sought: float  # when the partition was last sought back to ``missing``


@dataclass
class OffsetWatch:
    """The next offset each agent partition should deliver, so that no input is processed past one the consumer
    skipped.

    Faust hands an agent each partition's records in offset order, and Wayfinder's topics are written by producers
    without transactions, so the offsets of one partition come one after the other. A jump forward means records
    were fetched and never delivered (README "Offsets skipped"): the record that shows the gap and those behind it
    are passed by, the partition is read again from the first missing offset, and processing goes on when that
    offset comes. The gap is given up (counted as lost) only when the partition's records come round again without
    it, which is what a gap that can never fill looks like (a deleted segment; a transaction marker, were a producer
    ever to use transactions), or after ``limit`` seconds. A jump back is a seek to the committed offset after a
    rebalance or a restart (a replay), and starts the count again; a revoked partition is forgotten, as its next
    owner may move it on."""

    limit: float = REREAD_LIMIT_SECONDS
    next: dict[tuple[str, int], int] = field(default_factory=dict)
    gaps: dict[tuple[str, int], _Gap] = field(default_factory=dict)

    def knows(self, topic: str, partition: int) -> bool:
        """Whether a record of the partition was seen since it was assigned (or a start expected)."""
        return (topic, partition) in self.next or (topic, partition) in self.gaps

    def expect(self, topic: str, partition: int, offset: int) -> None:
        """Where the partition's first record must be (the group's committed offset): a first record past it is a
        jump forward like any other, one before it a replay."""
        self.next.setdefault((topic, partition), offset)

    def see(self, topic: str, partition: int, offset: int, now: float) -> Seen:
        tp = (topic, partition)
        gap = self.gaps.get(tp)
        if gap is not None:
            return self._behind(tp, gap, offset, now)
        expected = self.next.get(tp)
        if expected is not None and offset > expected:
            self.gaps[tp] = _Gap(expected, offset, now, now)
            return Seen(False, reread_from=expected)
        self.next[tp] = offset + 1
        return PROCESS

    def _behind(self, tp: tuple[str, int], gap: _Gap, offset: int, now: float) -> Seen:
        if offset > gap.passed and now - gap.since < self.limit:
            gap.passed = offset  # fetched before the partition was read again: it comes again after the gap
            return PASS_BY
        del self.gaps[tp]
        self.next[tp] = offset + 1
        # ``offset <= missing``: the missing record itself, or a replay from further back. Otherwise the partition
        # came round again (or the wait ran out) without the missing offsets: they are lost.
        return PROCESS if offset <= gap.missing else Seen(True, lost=offset - gap.missing)

    def give_up(self, topic: str, partition: int, offset: int) -> int:
        """The partition could not be read again (e.g. revoked meanwhile): its gap is given up and the record at
        ``offset`` processed after all; how many offsets are lost."""
        tp = (topic, partition)
        gap = self.gaps.pop(tp, None)
        self.next[tp] = offset + 1
        return offset - gap.missing if gap is not None else 0

    def rereading(self, topic: str, partition: int) -> bool:
        return (topic, partition) in self.gaps

    def stalled(self, now: float, after: float = REREAD_AGAIN_SECONDS,
                idle: Callable[[str], bool] = lambda topic: True) -> list[tuple[str, int, int]]:
        """The partitions read again whose missing offset has not come ``after`` seconds since they were sought
        back to it, with that offset, as (topic, partition, offset); each is counted as sought again now (the
        caller seeks it). A record passed by meanwhile does not count: records queued before the seek come then.
        Only partitions whose agent is ``idle`` (has taken every record queued for it) are stalled: one agent takes
        many partitions, and while it works through a backlog the missing record may be queued behind others;
        seeking again then only queues the partition's records once more, to be processed twice."""
        late = [(tp, gap) for tp, gap in self.gaps.items() if now - gap.sought >= after and idle(tp[0])]
        for _, gap in late:
            gap.sought = now
        return [(topic, partition, gap.missing) for (topic, partition), gap in late]

    def forget(self, tps: set[tuple[str, int]]) -> None:
        for tp in tps:
            self.next.pop(tp, None)
            self.gaps.pop(tp, None)


class LagProbe:
    """Asks the broker for the group's committed offsets and the log end offsets (own connections, on the
    worker's event loop)."""

    def __init__(self, settings: WorkerSettings) -> None:
        self._settings = settings
        self._admin: Any = None
        self._consumer: Any = None
        self._starting = asyncio.Lock()  # the worker's timers and its assignments ask at the same time

    async def measure(self, assigned: frozenset[tuple[str, int]]) -> dict[tuple[str, int], int]:
        if not assigned:
            return {}
        ends, done = await self._offsets(sorted(assigned))
        return {tp: max(0, end - done[tp]) for tp, end in ends.items()}

    async def progress(self) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], int], dict[int, int]]:
        """For ``streams.progress``: the log end offsets of every partition of the input topics, how far the group
        has decided each (its committed offset, or the first offset of an input kept there for its turn that the
        commit names: ``streams.gate``), and the end offsets of the directory topic by partition."""
        s = self._settings
        directory = s.topic(Topic.DIRECTORY)
        tps = [(s.topic(t), p) for t in INPUTS for p in range(s.partitions)]
        kept: dict[tuple[str, int], int] = {}  # what the group's commits say is kept (on the event clock)
        ends, done = await self._offsets([*tps, *((directory, p) for p in range(s.partitions))],
                                         kept if s.clock == "event" and s.order_wait_seconds > 0 else None)
        return ({tp: ends[tp] for tp in tps}, decided({tp: done[tp] for tp in tps}, kept),
                {p: end for (t, p), end in ends.items() if t == directory})

    async def committed(self, partitions: list[tuple[str, int]],
                        kept: dict[tuple[str, int], int] | None = None) -> dict[tuple[str, int], int | None]:
        """The group's committed offset of each partition (``None``: none committed); with ``kept``, the first
        offset of an input kept there that the commit names (``streams.gate.kept_mark``) is put in it."""
        from aiokafka import TopicPartition

        admin, _ = await self._clients()
        tps = [TopicPartition(t, p) for t, p in partitions]
        got = await admin.list_consumer_group_offsets(self._settings.app_id, partitions=tps)
        if kept is not None:
            kept.update({(tp.topic, tp.partition): first for tp, c in got.items()
                         if c is not None and (first := marked_kept(c.metadata)) is not None})
        return {(tp.topic, tp.partition): (c.offset if c is not None and c.offset >= 0 else None)
                for tp, c in got.items()}

    async def beginnings(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """The first offset in the log of each partition."""
        from aiokafka import TopicPartition

        _, consumer = await self._clients()
        starts = await consumer.beginning_offsets([TopicPartition(t, p) for t, p in partitions])
        return {(tp.topic, tp.partition): offset for tp, offset in starts.items()}

    async def _offsets(self, partitions: list[tuple[str, int]], kept: dict[tuple[str, int], int] | None = None
                       ) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], int]]:
        """The log end offset of each partition, and how far the group has processed it: its committed offset, or
        the partition's first offset if it never committed (``partition_lag``); ``kept`` as ``committed``'s."""
        from aiokafka import TopicPartition

        committed = await self.committed(partitions, kept)
        _, consumer = await self._clients()
        tps = [TopicPartition(t, p) for t, p in partitions]
        ends = await consumer.end_offsets(tps)
        starts = await consumer.beginning_offsets(tps)
        lag = partition_lag(ends, {tp: committed.get((tp.topic, tp.partition)) for tp in tps}, starts)
        return ({(tp.topic, tp.partition): end for tp, end in ends.items()},
                {(tp.topic, tp.partition): end - lag[tp] for tp, end in ends.items()})

    async def _clients(self) -> tuple[Any, Any]:
        async with self._starting:
            if self._admin is None:
                self._admin, self._consumer = await self._start()
        return self._admin, self._consumer

    async def _start(self) -> tuple[Any, Any]:
        from aiokafka import AIOKafkaConsumer
        from aiokafka.admin import AIOKafkaAdminClient

        servers = self._settings.bootstrap_servers
        admin = AIOKafkaAdminClient(bootstrap_servers=servers, client_id=f"{self._settings.app_id}-lag",
                                    request_timeout_ms=10_000)
        consumer = AIOKafkaConsumer(bootstrap_servers=servers, group_id=None, enable_auto_commit=False,
                                    request_timeout_ms=10_000)
        try:
            await admin.start()
            await consumer.start()
        except BaseException:  # neither is kept: what did start is closed, not left open until the process ends
            with contextlib.suppress(Exception):  # the failure to start is the one to raise
                await _stop(admin, consumer)
            raise
        return admin, consumer

    async def close(self) -> None:
        """Drop the clients (after a failure: the next reading starts new ones). They are let go before they are
        closed, so a reading that starts meanwhile gets new clients rather than ones being closed."""
        admin, consumer, self._admin, self._consumer = self._admin, self._consumer, None, None
        if admin is not None:
            await _stop(admin, consumer)


async def _stop(admin: Any, consumer: Any) -> None:
    """Close both clients, the consumer even if the admin's close fails (a client never started closes at once)."""
    try:
        await admin.close()
    finally:
        await consumer.stop()
