"""Where the worker leans on faust-streaming beyond its public API, in one place.

* ``FaustTable``: a Faust table seen through the stages' small ``Table`` protocol, writing to the
  table's store (``Table.data``) directly and collecting the changelog records for the agent.
* ``CommittedOffsets``: the consumer group's committed offset of an input partition, read from the
  consumer's private ``_committed_offset`` mapping (Faust keeps it up to date on every commit and
  on every assignment); the stages delete write-ahead entries below it.

* ``KeptCommits``: the worker's commits of an input partition carry, in the offset's metadata, the first offset of
  an input kept there for its turn (``streams.gate``), so that every worker can tell committed from decided. It wraps
  the consumer's ``_commit_offsets`` (Faust's flush and commit) and, for the offsets that commit hands aiokafka,
  aiokafka's ``commit`` in the consumer's thread (Faust builds the metadata empty there).
* ``read_unread_from_the_start``: a partition of an input that no one has committed an offset for is read
  from its first record after every seek to the committed offsets. Faust seeks back to the committed
  offsets when a rebalance drops records it had fetched (``Consumer.getmany`` while the flow is
  stopped), and aiokafka's ``seek_to_committed`` does not move a partition without a committed offset
  (or one at 0): records that arrived on a new partition during a rebalance were fetched, dropped and
  never read again. Seeking such a partition to its beginning is what ``auto_offset_reset=earliest``
  means; a record read twice is deduplicated by its event id and the write-ahead log.
* ``Rereader``: when an agent finds a partition's offsets jumping forward (records Faust fetched and never handed
  over, README "Offsets skipped"), it seeks the partition back to the first missing offset, passes by the records
  queued behind the gap without acknowledging them (``Message.acked`` set, so Faust neither counts them acked
  nor commits past them), and while it waits Faust's read mark for the partition (``Consumer._read_offset``,
  which makes the fetch loop drop records below it as already read) answers "none", so the records read again
  are not dropped by a mark that records fetched before the seek moved on.
* ``ResumeKeepsQueued``: mode's flow control (``app.flow_control``) empties the stream queues on every ``resume``,
  also when the flow already runs. Faust resumes it once during a restore and again when the restore is done, after
  it resumed the input partitions and sought them to the committed offsets: records fetched in between were queued
  for the agents and marked read, then thrown away by the second resume, and the fetch loop dropped them again as
  read when they came back (README "Offsets skipped"; seen in CI on 2026-12-06: a restarted worker's agents handed
  their partitions' records from the middle on). ``resume`` is left to do nothing while the flow runs; a resume
  after a suspension (a rebalance) empties the queues as before.
* ``FetchWanted``: Faust's fetch loop asks aiokafka for the records of its active partitions by passing the set it
  keeps (``Consumer._active_partitions``) itself, and a call waits up to a second. aiokafka reads that set when
  records arrive, not when asked, and reads an empty set as "every partition". A rebalance empties the set (every
  partition paused) while such a call waits, so the call hands out whatever arrives next, table changelogs included,
  moving aiokafka's position past them; Faust throws the records away (its flow is stopped) and seeks only what has a
  committed offset back, which a changelog never has. When that happens after Faust sought a changelog partition
  for a table restore, the restore waits for records it will never get (a CI run stalled so). ``FetchWanted`` hands
  aiokafka, in place of the set, a view that is never empty and holds a partition only while Faust's flow runs and
  the partition is active: records nobody wants stay in aiokafka's buffer until a seek replaces them or Faust asks.
* ``Restore``: Faust restores the table partitions a worker is given from their changelogs before the agents run,
  and waits for the last changelog record without a limit. A CI run once saw a restore receive nothing for two
  minutes, its changelog partitions fetched and yet no record delivered, while the other worker restored at once
  (the cause, found since: see ``FetchWanted``; this stays as a safety net). ``Restore`` tells when the restore
  last moved and starts it again as a rebalance would: the changelog partitions are sought again to what was
  restored, which also resets Faust's read marks and aiokafka's fetch positions and buffers for them
  (``streams.health.RestoreWatch`` decides when). Faust's fetch loop is left running: stopping it during a restore
  crashes the app (Faust's ``Fetcher`` treats a cancel while rebalancing as a crash to be restarted by a supervisor
  it does not have).

All of these are private to Faust and may change in any release. ``tests/unit/test_faust_adapter.py``
checks them against the installed Faust, and ``CommittedOffsets.check`` refuses to start a worker
whose consumer lacks the mapping (without it, write-ahead entries would never be deleted).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, MutableSet
from typing import Any

from faust.types import TP

COMMITTED_ATTRIBUTE = "_committed_offset"
READ_MARKS_ATTRIBUTE = "_read_offset"
UNACKED_ATTRIBUTE = "_unacked_messages"
ACTIVE_ATTRIBUTE = "_active_partitions"
GETMANY_ATTRIBUTE = "_getmany"
# What ``Restore`` reads of Faust's ``Recovery`` service (``app.tables.recovery``) and calls on the app.
RECOVERY_ATTRIBUTES = ("in_recovery", "need_recovery", "active_tps", "active_offsets", "active_highwaters",
                       "_recovery_started_at", "_active_events_received_at", "signal_recovery_start")


class FaustInternalsChanged(RuntimeError):
    """The installed faust-streaming no longer has what the worker relies on."""


def _changed(consumer: Any, lacks: str, needed_by: str, where: str) -> FaustInternalsChanged:
    cls = type(consumer)
    return FaustInternalsChanged(
        f"{cls.__module__}.{cls.__qualname__} has {lacks}: this faust-streaming release is not supported by the "
        f"worker's {needed_by}; pin faust-streaming to a release that tests/unit/test_faust_adapter.py passes "
        f"with, or change wayfinder/streams/faust_adapter.py ({where}")


class FaustTable:
    """A Faust table seen through the small ``Table`` protocol the stages use (str keys, bytes values).

    Writes go to the table's store at once and their changelog records are collected, then
    produced by the agent on the raw producer, in order, before the unit's output records. This
    skips Faust's per-key changelog path (a buffered publish per write, several times slower);
    Faust still restores the table from the same changelog topic.
    """

    def __init__(self, table: Any) -> None:
        self._t = table
        self.pending: list[tuple[bytes, bytes | None]] = []

    @property
    def changelog_topic(self) -> str:
        return str(self._t.changelog_topic.get_topic_name())

    def get(self, key: str) -> bytes | None:
        value = self._t.data.get(key.encode("utf-8"))
        return value if isinstance(value, bytes) else None

    def set(self, key: str, value: bytes | None) -> None:
        k = key.encode("utf-8")
        store = self._t.data
        if value is None:
            if k in store:
                del store[k]
        else:
            store[k] = value
        self.pending.append((k, value))

    def keys(self) -> Iterator[str]:
        return (k.decode("utf-8") for k in list(self._t.data.keys()))

    def drain(self) -> list[tuple[bytes, bytes | None]]:
        out, self.pending = self.pending, []
        return out


class CommittedOffsets:
    """``committed(topic, partition)``: the next offset the group will read, or ``None`` when not known.

    Faust fills its mapping when it seeks a new assignment to the committed offsets, but it resumes the partitions
    before that seek and awaits it, so the first records of a partition can reach an agent while the mapping is
    still empty (seen after a kill -9: a worker judged every write-ahead entry of the partition interrupted and
    brought ended lines back). So the worker asks the broker (``learn``) before a partition's first input, and what
    it learned answers where Faust's mapping has nothing."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._learned: dict[tuple[str, int], int | None] = {}
        self._starts: dict[tuple[str, int], int] = {}  # the first offset of partitions the group never committed

    def learn(self, offsets: Mapping[tuple[str, int], int | None],
              starts: Mapping[tuple[str, int], int] | None = None) -> None:
        """The group's committed offsets as the broker gave them (``None``: none committed), and the first offsets
        in the log of those never committed (read from there: ``earliest``)."""
        self._starts.update(starts or {})
        self._learned.update(offsets)

    def knows(self, topic: str, partition: int) -> bool:
        """Whether the broker's answer for the partition was learned (since its assignment)."""
        return (topic, partition) in self._learned

    def start(self, topic: str, partition: int) -> int | None:
        """Where Faust starts reading the partition since its assignment, as the broker said: the committed offset,
        else (nothing committed) the partition's first offset; None: not asked, or not answered."""
        committed = self._learned.get((topic, partition))
        return committed if committed is not None else self._starts.get((topic, partition))

    def forget(self, tps: Iterable[tuple[str, int]]) -> None:
        """Revoked partitions: another worker may commit past what was learned."""
        for tp in tps:
            self._learned.pop(tp, None)
            self._starts.pop(tp, None)

    def check(self) -> None:
        """Raise at start-up if the app's consumer has no committed-offset mapping (see the module doc)."""
        consumer = self._app.consumer
        offsets = getattr(consumer, COMMITTED_ATTRIBUTE, None)
        if not isinstance(offsets, MutableMapping):
            raise _changed(consumer, f"no {COMMITTED_ATTRIBUTE} mapping (found {type(offsets).__name__})",
                           "write-ahead log", "CommittedOffsets) to read the committed offsets where this release "
                           "keeps them")

    def __call__(self, topic: str, partition: int) -> int | None:
        offsets = getattr(self._app.consumer, COMMITTED_ATTRIBUTE, {})
        value = offsets.get(TP(topic, partition))
        return value if isinstance(value, int) else self._learned.get((topic, partition))


def read_unread_from_the_start(consumer: Any, is_input: Callable[[str], bool]) -> None:
    """Wrap ``consumer.seek_to_committed`` (the Faust consumer's, which ``perform_seek`` calls) so that input
    partitions without a committed offset are sought to their beginning (see the module doc)."""
    seek_to_committed = consumer.seek_to_committed

    async def seek_to_committed_or_beginning() -> Mapping[TP, int | None]:
        committed: Mapping[TP, int | None] = await seek_to_committed()
        unread = [tp for tp, offset in committed.items() if (offset is None or offset <= 0) and is_input(tp.topic)]
        if unread:  # offset 0 of a log whose start has been deleted resets to its earliest record
            await consumer.seek_wait(dict.fromkeys(unread, 0))
        return committed

    consumer.seek_to_committed = seek_to_committed_or_beginning


class ReadMarks(defaultdict[TP, "int | None"]):
    """Faust's read marks (``Consumer._read_offset``, a ``defaultdict`` of ``None``), except that a partition being
    read again has none, so the fetch loop drops none of its records (see the module doc)."""

    def __init__(self, marks: Mapping[TP, int | None]) -> None:
        super().__init__(lambda: None, marks)
        self.rereading: set[TP] = set()

    def __getitem__(self, tp: TP) -> int | None:
        return None if tp in self.rereading else super().__getitem__(tp)


class Rereader:
    """Reads a partition of an agent's input again from an offset the consumer skipped (see the module doc)."""

    def __init__(self, app: Any) -> None:
        self._app = app

    def install(self) -> None:
        """Put ``ReadMarks`` in place of the consumer's read marks; before the fetch loop starts (it binds them)."""
        consumer = self._app.consumer
        marks = getattr(consumer, READ_MARKS_ATTRIBUTE, None)
        if not isinstance(marks, MutableMapping) or not isinstance(getattr(consumer, UNACKED_ATTRIBUTE, None),
                                                                   MutableSet):
            raise _changed(consumer, f"no {READ_MARKS_ATTRIBUTE} mapping or no {UNACKED_ATTRIBUTE} set",
                           "re-reading of skipped offsets", "Rereader)")
        if not isinstance(marks, ReadMarks):
            setattr(consumer, READ_MARKS_ATTRIBUTE, ReadMarks(marks))

    def _marks(self) -> ReadMarks | None:
        marks = getattr(self._app.consumer, READ_MARKS_ATTRIBUTE, None)
        return marks if isinstance(marks, ReadMarks) else None

    async def seek(self, topic: str, partition: int, offset: int) -> None:
        """Read ``topic[partition]`` again from ``offset``."""
        tp = TP(topic, partition)
        marks = self._marks()
        if marks is not None:
            marks.rereading.add(tp)
        # Not Faust's ``consumer.seek``: it calls aiokafka's seek from this thread while the consumer's thread may
        # be draining the fetched records (the fetcher's ``del self._records[tp]`` raised KeyError and the worker
        # crashed); ``seek_wait`` seeks in the consumer's thread and sets the read mark as ``seek`` does
        await self._app.consumer.seek_wait({tp: offset})

    def done(self, topic: str, partition: int) -> None:
        """The missing offset came (or was given up): the partition's read mark starts again from nothing."""
        tp = TP(topic, partition)
        marks = self._marks()
        if marks is not None and tp in marks.rereading:
            marks.rereading.discard(tp)
            marks.pop(tp, None)

    def forget(self, tps: set[tuple[str, int]]) -> None:
        marks = self._marks()
        if marks is not None:
            marks.rereading.difference_update(TP(t, p) for t, p in tps)

    def pass_by(self, message: Any) -> None:
        """Let a delivered record go without processing it and without Faust counting it acknowledged."""
        message.acked = True
        getattr(self._app.consumer, UNACKED_ATTRIBUTE).discard(message)


class ResumeKeepsQueued:
    """Makes ``app.flow_control.resume`` leave the stream queues alone while the flow already runs (module doc)."""

    def __init__(self, app: Any) -> None:
        self._app = app

    def install(self) -> None:
        """Wrap the flow control's ``resume``; once."""
        flow = self._app.flow_control
        resume, is_active = getattr(flow, "resume", None), getattr(flow, "is_active", None)
        if not callable(resume) or not callable(is_active):
            raise _changed(flow, "no resume or is_active", "keeping of queued records", "ResumeKeepsQueued)")
        if getattr(resume, "keeps_queued", False):
            return

        def resume_if_suspended() -> None:
            if not is_active():
                resume()

        resume_if_suspended.keeps_queued = True  # type: ignore[attr-defined]
        flow.resume = resume_if_suspended


class WantedNow:
    """The partitions Faust wants records of, read at the moment aiokafka hands records out (see the module doc):
    never empty to aiokafka's ``if partitions`` test, and holding none while Faust's flow is stopped."""

    def __init__(self, consumer: Any) -> None:
        self._consumer = consumer

    def __bool__(self) -> bool:
        return True

    def __contains__(self, tp: object) -> bool:
        consumer = self._consumer
        active = getattr(consumer, ACTIVE_ATTRIBUTE, None)
        return bool(consumer.flow_active) and active is not None and tp in active


class FetchWanted:
    """Makes the fetch loop's calls to aiokafka take only the records Faust wants when they arrive (module doc)."""

    def __init__(self, app: Any) -> None:
        self._app = app

    def install(self) -> None:
        """Wrap the consumer's ``_getmany`` (the call ``Consumer._wait_next_records`` makes); before the fetch loop
        starts. Installed once."""
        consumer = self._app.consumer
        getmany = getattr(consumer, GETMANY_ATTRIBUTE, None)
        if not callable(getmany) or not hasattr(consumer, "flow_active") or not hasattr(consumer, ACTIVE_ATTRIBUTE):
            raise _changed(consumer, f"no {GETMANY_ATTRIBUTE}, flow_active or {ACTIVE_ATTRIBUTE}",
                           "fetching of wanted partitions only", "FetchWanted)")
        if getattr(getmany, "wants_now", False):
            return
        wanted = WantedNow(consumer)

        async def getmany_wanted(active_partitions: Any, timeout: float) -> Any:
            return await getmany(active_partitions=None if active_partitions is None else wanted, timeout=timeout)

        getmany_wanted.wants_now = True  # type: ignore[attr-defined]
        setattr(consumer, GETMANY_ATTRIBUTE, getmany_wanted)


class Restore:
    """Faust's restore of the worker's table partitions from their changelogs, seen from outside (module doc)."""

    def __init__(self, app: Any) -> None:
        self._app = app

    def check(self) -> None:
        """Raise if Faust's recovery service lacks what ``moved`` and ``restart`` use."""
        recovery = self._app.tables.recovery
        missing = [a for a in RECOVERY_ATTRIBUTES if not hasattr(recovery, a)]
        if missing:
            raise _changed(recovery, f"no {', '.join(missing)}", "watch over table restores", "Restore)")

    def moved(self) -> float | None:
        """While changelog records are still to be restored: when (``time.monotonic``) the restore started or
        last received one of them; otherwise ``None``."""
        r = self._app.tables.recovery
        if not r.in_recovery or not r.need_recovery():
            return None
        received = r._active_events_received_at
        return float(max([r._recovery_started_at or 0.0, *(received.get(tp, 0.0) for tp in r.active_tps)]))

    def waiting(self) -> str:
        """What the restore waits for, and where the consumer stands on it (changelog names and offsets only), for
        the log: what a stall's cause may be read from."""
        r = self._app.tables.recovery
        consumer = self._app.consumer
        active = getattr(consumer, ACTIVE_ATTRIBUTE, None) or set()
        marks = getattr(consumer, READ_MARKS_ATTRIBUTE, {})
        parts = []
        for tp in sorted(r.active_tps):
            if r.active_highwaters[tp] > r.active_offsets[tp]:
                parts.append(f"{tp.topic}[{tp.partition}] restored to {r.active_offsets[tp]} of "
                             f"{r.active_highwaters[tp]} (fetching: {tp in active}, read mark: {marks.get(tp)})")
        return "; ".join(parts) or "nothing"

    def restart(self) -> None:
        """Start the restore again as a rebalance would (Faust's recovery loop takes the signal): the changelog
        partitions are sought again to what was restored."""
        self._app.tables.recovery.signal_recovery_start.set()


COMMIT_OFFSETS_ATTRIBUTE = "_commit_offsets"  # Faust's: flushes the producer, then commits (``KeptCommits``)
CLIENT_PATH = ("_thread", "_consumer")  # Faust's consumer -> its thread -> aiokafka's consumer


class KeptCommits:
    """The worker's commits of input partitions say how far each is *decided* (``streams.gate``, module doc).

    Faust commits an offset with empty metadata, after flushing the producer. Wrapped here, each commit of an input
    partition carries ``marks()``'s metadata for it (``gate.kept_mark``: the first offset of an input kept there),
    taken *before* that flush: an input taken from the kept ones since is still named, and one taken before had its
    records handed to the producer (``ordering.Waiting.held``), so the flush puts them on the broker before the commit
    that no longer names it. aiokafka's client is handed the metadata for exactly the offsets Faust commits.

    A commit is made only when an offset moves, so ``share`` commits a partition's offset again, unchanged, when its
    mark is not the one last committed (a kept input decided since; a partition taken over). Commits are one at a
    time, and ``share`` reads the offset to commit again inside that turn: it never commits behind Faust."""

    def __init__(self, app: Any, marks: Callable[[], Mapping[tuple[str, int], str]],
                 committed: Callable[[str, int], int | None]) -> None:
        self._app = app
        self._marks = marks
        self._committed = committed
        self._turn = asyncio.Lock()
        self._original: Any = None  # Faust's ``_commit_offsets``
        self._pending: dict[tuple[str, int], tuple[int, str]] = {}  # the commit under way: offset, metadata
        self.said: dict[tuple[str, int], str] = {}  # the metadata last committed here, by input partition

    def install(self) -> None:
        """Wrap the consumer's ``_commit_offsets``; once."""
        consumer = self._app.consumer
        commit_offsets = getattr(consumer, COMMIT_OFFSETS_ATTRIBUTE, None)
        if not callable(commit_offsets) or not hasattr(consumer, "_thread"):
            raise _changed(consumer, f"no {COMMIT_OFFSETS_ATTRIBUTE} or _thread", "commits of kept inputs",
                           "KeptCommits)")
        if getattr(commit_offsets, "marks_kept", False):
            return
        self._original = commit_offsets

        async def commit_marked(offsets: Mapping[TP, int], start_new_transaction: bool = True) -> bool:
            async with self._turn:
                return await self._commit(offsets, start_new_transaction)

        commit_marked.marks_kept = True  # type: ignore[attr-defined]
        setattr(consumer, COMMIT_OFFSETS_ATTRIBUTE, commit_marked)

    def forget(self, tps: Iterable[tuple[str, int]]) -> None:
        """Revoked partitions: another worker may commit another mark before they come back here."""
        for tp in tps:
            self.said.pop(tp, None)

    async def share(self, ready: Callable[[tuple[str, int]], bool] = lambda tp: True) -> int:
        """Commit again, at the offset committed, each assigned input partition that is ``ready`` and whose mark
        changed since it was last committed here; how many."""
        async with self._turn:
            marks = self._marks()
            again: dict[TP, int] = {}
            for tp in self._app.consumer.assignment():
                mark, offset = marks.get((tp.topic, tp.partition)), self._committed(tp.topic, tp.partition)
                if (mark is not None and offset is not None and self.said.get((tp.topic, tp.partition)) != mark
                        and ready((tp.topic, tp.partition))):
                    again[tp] = offset
            if again:
                await self._commit(again, True, marks)
            return len(again)

    async def _commit(self, offsets: Mapping[TP, int], start_new_transaction: bool,
                      marks: Mapping[tuple[str, int], str] | None = None) -> bool:
        """Faust's commit, with ``marks`` (read now if not given) taken before its flush."""
        if marks is None:
            marks = self._marks()
        self._pending = {(tp.topic, tp.partition): (offset, marks[(tp.topic, tp.partition)])
                         for tp, offset in offsets.items() if (tp.topic, tp.partition) in marks}
        self._wrap_client()
        try:
            done = bool(await self._original(offsets, start_new_transaction=start_new_transaction))
        finally:
            pending, self._pending = self._pending, {}
        if done:
            self.said.update({tp: mark for tp, (_, mark) in pending.items()})
        return done

    def _wrap_client(self) -> None:
        """Hand aiokafka's ``commit`` (in the consumer's thread) the metadata of the commit under way."""
        client = self._app.consumer
        for attribute in CLIENT_PATH:
            client = getattr(client, attribute, None)
        if client is None or getattr(client.commit, "marks_kept", False):
            return
        commit = client.commit

        async def commit_marked(offsets: Any = None) -> Any:
            if offsets:
                offsets = {tp: self._marked(tp, meta) for tp, meta in offsets.items()}
            return await commit(offsets)

        commit_marked.marks_kept = True  # type: ignore[attr-defined]
        client.commit = commit_marked

    def _marked(self, tp: Any, meta: Any) -> Any:
        from aiokafka.structs import OffsetAndMetadata

        pending = self._pending.get((tp.topic, tp.partition))
        if pending is None or not isinstance(meta, OffsetAndMetadata) or meta.offset != pending[0] or meta.metadata:
            return meta
        return OffsetAndMetadata(meta.offset, pending[1])


# Faust's consumer -> its thread -> aiokafka's consumer -> aiokafka's Fetcher, and the two waits on it.
FETCHER_PATH = ("_thread", "_consumer", "_fetcher")
FETCH_WAIT_ATTRIBUTE = "_fetch_max_wait_ms"
HOLD_ATTRIBUTE = "_prefetch_backoff"


def shorten_fetch_waits(app: Any, wait_ms: int = 100, hold_seconds: float = 0.01) -> bool:
    """Set aiokafka's fetch wait (Faust builds its consumer with 1,500 ms, not a setting) and prefetch hold (aiokafka's
    0.1 s) on the app's consumer (README "Warm at start-up"); ``False`` when the consumer is not built as this expects
    (its thread not started yet: nothing changed). Called on each assignment."""
    fetcher = app.consumer
    for attribute in FETCHER_PATH:
        fetcher = getattr(fetcher, attribute, None)
    if (fetcher is None or not isinstance(getattr(fetcher, FETCH_WAIT_ATTRIBUTE, None), int)
            or not isinstance(getattr(fetcher, HOLD_ATTRIBUTE, None), int | float)):
        return False
    setattr(fetcher, FETCH_WAIT_ATTRIBUTE, wait_ms)
    setattr(fetcher, HOLD_ATTRIBUTE, hold_seconds)
    return True


def check_on_start(app: Any, is_input: Callable[[str], bool] = lambda topic: False) -> None:
    """Make ``app`` run ``CommittedOffsets.check`` when it starts, before it connects or reads anything, and
    read the unread input partitions (``is_input``) from their start (``read_unread_from_the_start``), put the
    read marks ``Rereader`` needs in place, keep queued records on a resume of a running flow
    (``ResumeKeepsQueued``), make the fetch loop take only wanted records (``FetchWanted``), and
    check that the recovery service has what ``Restore`` reads."""
    started = app.on_start

    async def on_start() -> None:
        await started()
        CommittedOffsets(app).check()
        Rereader(app).install()
        ResumeKeepsQueued(app).install()
        FetchWanted(app).install()
        Restore(app).check()
        read_unread_from_the_start(app.consumer, is_input)

    app.on_start = on_start
