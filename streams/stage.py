"""The worker's two stages around the pure core, independent of Faust.

* ``EmployeeStage`` is keyed by employee: events and enrollment timers go to the journey core.
* ``MailboxStage`` is keyed by recipient: dispatched messages and deferral timers go to the mailbox.

Each input is handled as a unit of work (``streams.unit``): the table writes and the records to
produce, written ahead as one entry when there is more than one thing to keep together. Processing
is at-least-once; message ids are deterministic, so delivery drops repeats.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from types import MappingProxyType
from typing import Any, TypeVar

from pydantic import BaseModel

from wayfinder.journeys.decisions import made_later
from wayfinder.journeys.digest import DigestOutcome, Digests, DigestState
from wayfinder.journeys.effects import (
    Decide,
    Diagnostic,
    DigestInput,
    DigestTimer,
    Dispatch,
    Effect,
    ForgetMailbox,
    Gather,
    Lifecycle,
    MailboxInput,
    MailboxTimer,
    OpenTask,
    Refuse,
    Schedule,
    Skipped,
    Timer,
)
from wayfinder.journeys.engine import Engine, refused_after_erasure
from wayfinder.journeys.events import ERASURE, CloudEvent, DecodeError, decode_event
from wayfinder.journeys.mailbox import Mailbox, MailboxOutcome
from wayfinder.journeys.profile import RECIPIENT_FIELDS, DetailsToCome, Profile, as_recipient
from wayfinder.journeys.records import DeadLetter, Message, Task
from wayfinder.journeys.state import EmployeeState, MailboxState, Placing
from wayfinder.streams import held, ordering
from wayfinder.streams.clock import EPOCH, StreamClock
from wayfinder.streams.gate import GATE_PREFIX, gate_key, gated_at, gated_topic
from wayfinder.streams.interpreter import carry_out, diagnostic_position, log_diagnostic
from wayfinder.streams.metrics import StreamMetrics, event_type_label
from wayfinder.streams.ordering import encode_watermark
from wayfinder.streams.recipients import Holds, Line, RecipientPending, Retry, decode_retry, line_id, line_key
from wayfinder.streams.routing import partition_of
from wayfinder.streams.timers import TimerIndex
from wayfinder.streams.topics import INPUTS
from wayfinder.streams.unit import (
    MAX_ENTRY_PARTS,
    EntryTooLarge,
    Finished,
    Table,
    Work,
    WriteAheadLog,
    entry_input,
    entry_key,
    finish_interrupted,
    replay,
)
from wayfinder.streams.wire import (
    INPUT_KINDS,
    ParkedInput,
    Record,
    decode_digest_input,
    decode_mailbox_input,
    decode_ranked_timer,
    decode_timer,
    dumps,
    encode_digest_input,
    encode_mailbox_input,
    encode_timer,
    parse_time,
    timer_key,
    timer_owner,
    unknown_kind,
)
from wayfinder.vocabulary import Topic, input_topic

log = logging.getLogger(__name__)
_NEVER_TOO_LARGE = frozenset({Topic.DEAD_LETTERS, *INPUTS})
M = TypeVar("M", bound=BaseModel)
MAX_FIRES_PER_WAKE = 10_000  # timers fired for one input or tick; a bound, so one input never runs unbounded
WAITING_SAY_SECONDS = 20.0  # while a partition's time waits behind the same lines, where they are is said this often
CONTACT_FIELDS = RECIPIENT_FIELDS  # the directory topic's record of a person (``journeys.profile``)


@dataclass
class Incoming:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: float | None  # Kafka message time, seconds


class Stage:
    """Table access with a cache, the write-ahead entries, and the timer index of one stage."""

    name = "stage"
    keeps_entries = False  # TEST ONLY (streams.app TEST_KEEP_ENTRIES_SETTING): no entry of a kept unit is deleted
    # whether the broker answered for a partition's committed offset, none committed among the answers (the worker's
    # ``CommittedOffsets.knows``): the interrupted units of such a partition are all read again (``take_loaded``)
    answered: Callable[[str, int], bool] | None = None
    ticks_topic = ""
    digests_enabled = False  # the policy has digests: cancels, erasure and preferences go to digest boxes too
    origin = ""  # the input being processed (partition, topic, offset): orders ties of mailbox inputs
    max_record_bytes = 900_000  # below Kafka's default 1 MiB message limit; the worker sets its own setting
    # ``file:line:column`` of each journey, condition and step (``Definitions.positions``): a diagnostic's log line
    # points at the source, as ``simulate``'s summary does
    positions: Mapping[tuple[str, str], str] = MappingProxyType({})

    def __init__(self, table: Table, clock: StreamClock, metrics: StreamMetrics,
                 committed: Callable[[str, int], int | None]) -> None:
        self.table = table
        self.clock = clock
        self.metrics = metrics
        self.timers = TimerIndex()
        # Inputs kept in key order in the table, by key prefix (``<prefix><partition>:...``): the mailbox's in event
        # order (streams.ordering), the employees' waiting for their turn in time (streams.gate). Loaded with the
        # timers, journaled with each unit like them.
        self.queues: dict[str, ordering.Waiting] = {}
        self.wal = WriteAheadLog(table, committed)
        self._cache: dict[str, tuple[int, Any]] = {}
        self._finished: set[int] = set()  # partitions whose interrupted units were finished on assignment
        self._woken: list[str] = []  # the timers this unit's wake-up fired (not those fired before an owner's input)
        self._fire_cap: int | None = None  # timers a wake-up fires, after one too large for Kafka (``smaller``)
        self._others = 0  # timers of other owners this unit's input fired before it (the wall clock)
        self._tallies: list[Callable[[], object]] | None = None  # the unit's metrics, counted when it is kept
        self._touched: set[str] | None = None  # the cache keys the unit read or wrote (dropped if it is undone)
        self._kept_models: dict[str, tuple[bytes, BaseModel]] = {}  # the unit's writes of states, and their objects
        self._refused = "state"  # what was too large in the last unit tried (``fewer_inputs``)
        self._at_load: dict[int, list[Record]] = {}  # interrupted units' records, to go first (``take_loaded``)
        self._produced_at_load: set[str] = set()  # their entries: replayed when read again, without the records

    # -- partitions ---------------------------------------------------------------------------
    def ensure_loaded(self, partition: int) -> None:
        """On assignment: finish the units a crash interrupted, then index the partition's timers (once per
        assignment: finishing again would re-apply entries not yet pruned over keys later units changed back, a
        fired timer would come back, a state would go back in time)."""
        if self.timers.loaded(partition):
            return
        finished = 0
        if partition not in self._finished:
            done = finish_interrupted(self.table, partition, self.wal.committed, self.answered)
            finished = len(done.writes)
            self._finished.add(partition)
            if done.writes:
                self._log_finished(partition, done)
            if done.records:
                self._at_load[partition] = [self._as_now(r) for _, records in done.records for r in records]
                self._produced_at_load.update(key for key, _ in done.records)
            # went before a later unit of theirs was committed: replayed when read again, without the records
            self._produced_at_load.update(done.delivered)
        prefix = f"t:{partition}:"
        items = []
        queued: dict[str, list[str]] = {f"{q}{partition}:": [] for q in self.queues}
        for key in self.table.keys():
            if key.startswith(prefix):
                raw = self.table.get(key)
                if raw is not None:
                    timer, due = decode_timer(raw)
                    items.append((key, timer_owner(timer), due))
            else:
                for start, keys in queued.items():
                    if key.startswith(start):
                        keys.append(key)
        count = self.timers.load(partition, items)
        waiting = sum(self.queues[q].load(partition, queued[f"{q}{partition}:"]) for q in self.queues)
        log.info("%s: partition %d loaded with %d pending timers and %d kept inputs (%d interrupted writes "
                 "finished)", self.name, partition, count, waiting, finished)

    def needs_loading(self, partition: int) -> bool:
        """Whether the next input of ``partition`` loads it (``ensure_loaded``): the worker first learns the group's
        committed offsets (``finish_interrupted`` judges entries by them)."""
        return not self.timers.loaded(partition)

    def _log_finished(self, partition: int, done: Finished) -> None:
        """Which interrupted units were finished, and the committed offsets they were judged by (topic names,
        offsets and table keys: opaque ids)."""
        units = done.units()
        topics = sorted({entry_input(e)[0] for e in units})
        committed = " ".join(f"{t}={self.wal.committed(t, partition)}" for t in topics)
        shown = "; ".join(f"{e}: {' '.join(keys)}" for e, keys in list(units.items())[:10])
        log.info("%s: partition %d: finished %d interrupted unit(s) (committed: %s; %d complete entries deleted; %d "
                 "whose records went before a later unit was committed): %s", self.name, partition, len(units),
                 committed, done.pruned, len(done.delivered), shown)

    def sent(self) -> None:
        """The records of every unit so far are with the producer (``ordering.Waiting.held``)."""
        for queue in self.queues.values():
            queue.sent()

    def revoke(self, partition: int) -> None:
        self.timers.drop(partition)
        for queue in self.queues.values():
            queue.drop(partition)
        self._finished.discard(partition)
        self._at_load.pop(partition, None)
        self._produced_at_load = {k for k in self._produced_at_load if entry_input(k)[1] != partition}
        self._cache = {k: v for k, v in self._cache.items() if v[0] != partition}
        self.wal.forget(partition)

    # -- reading and writing -------------------------------------------------------------------
    def read(self, work: Work, key: str) -> bytes | None:
        if key in work.writes:
            return work.writes[key]
        return self.table.get(key)

    def cached(self, key: str) -> Any | None:
        if self._touched is not None:
            self._touched.add(key)
        hit = self._cache.get(key)
        return hit[1] if hit is not None else None

    def load_model(self, work: Work, key: str, model: type[M]) -> M | None:
        """The state under ``key``: this unit's own write, else the cache, else the table. The unit's own write is the
        object it was dumped from (``keep_model``) while that write is the unit's latest: not parsed back."""
        if key not in work.writes:
            hit = self.cached(key)
            if isinstance(hit, model):
                return hit
        else:
            kept = self._kept_models.get(key)
            if kept is not None and kept[0] is work.writes[key] and isinstance(kept[1], model):
                self.cached(key)  # (the unit touched it: dropped from the cache if the unit is undone)
                return kept[1]
        raw = self.read(work, key)
        return model.model_validate_json(raw) if raw is not None else None

    def keep_model(self, work: Work, partition: int, key: str, obj: BaseModel) -> None:
        """Write ``obj`` as the unit's value of ``key`` and remember it. A later input of the same key in the unit
        (an employee's timer fired before their event, several of their parked inputs at one tick) takes the object
        again: parsed back from the bytes just dumped it was the same state, at the cost of a parse."""
        value = obj.model_dump_json().encode("utf-8")
        work.writes[key] = value
        self.remember(partition, key, obj)
        self._kept_models[key] = (value, obj)

    def remember(self, partition: int, key: str, obj: Any | None) -> None:
        if self._touched is not None:
            self._touched.add(key)
        if obj is None:
            self._cache.pop(key, None)
        else:
            self._cache[key] = (partition, obj)

    def schedule(self, work: Work, partition: int, effect: Schedule, set_by: str = "") -> None:
        """``set_by``: the rank of the decision that sets the timer (``streams.ordering``), kept on the event clock."""
        key = f"t:{partition}:{timer_key(effect.timer)[2:]}"
        kept = ordering.kept_rank(set_by) if self.clock.mode == "event" else ""
        work.writes[key] = encode_timer(effect.timer, effect.due, kept)
        self.timers.add(partition, key, timer_owner(effect.timer), effect.due)

    def unschedule(self, work: Work, partition: int, timer: Timer) -> None:
        """Delete a pending timer that can no longer act (``Unschedule``); one already fired or never set writes
        nothing."""
        key = f"t:{partition}:{timer_key(timer)[2:]}"
        if key in self.timers:
            work.writes[key] = None
            self.timers.discard(key)

    def forget_timers(self, work: Work, partition: int, owner: str) -> None:
        """Delete ``owner``'s pending timers: an erased person's keys become tombstones (README "Erasure"). An input
        parked for its time is not a timer of theirs to forget: it is decided when its time comes (refused, as an
        input about an erased person is)."""
        for key in self.timers.owned(owner):
            if key.startswith(f"t:{partition}:") and "\x1fparked\x1f" not in key:
                work.writes[key] = None
                self.timers.discard(key)

    def due_timers(self, work: Work, partition: int, now: datetime, owner: str | None = None
                   ) -> Iterator[tuple[Any, datetime, str]]:
        """Due timers in due order, each with its due time and its rank (``streams.ordering``), to a fixed point: a
        timer that firing sets and that is due by ``now`` fires too, before the input that follows (as in
        ``simulate``). With the event clock only the owner's own timers
        fire before its input; the rest wait for a tick that moves the partition's clock. At most
        ``MAX_FIRES_PER_WAKE`` fire per input, and a wake-up (``owner`` None) fires at most ``_fire_cap`` when a
        wake-up was too large for Kafka; the rest wait for the next wake-up (the worker ticks while timers are due).
        An owner's timers before its input are never held back: they come before the input, as in ``simulate``."""
        # While a burst is fired in parts (``_fire_cap``), an input fires only its own timers before it: the
        # others wait for the wake-ups, which fire them capped (``smaller``).
        only = owner if (self.clock.mode == "event" or self.owners_only(partition)
                         or self._fire_cap is not None) else None
        for _ in range(MAX_FIRES_PER_WAKE):
            if owner is None and self._fire_cap is not None and len(self._woken) >= self._fire_cap:
                following = self.timers.next_due(partition)
                if following is None or following > now.timestamp():
                    self._fire_cap = None  # the last of the due timers fired: as below
                return
            found = self.timers.pop_next(partition, now, only)
            if found is None:
                if owner is None:
                    self._fire_cap = None  # every due timer fired: the next wake-up fires all that are due
                return
            key = found[0]
            raw = self.read(work, key)
            if raw is None:
                continue
            work.writes[key] = None
            timer, due, set_by = decode_ranked_timer(raw)
            if owner is None:
                self._woken.append(key)
            elif only is None and timer_owner(timer) != owner:
                self._others += 1
            self._count_fired(now, due)
            yield timer, due, ordering.timer_rank(due, set_by)
        log.warning("%s: more than %d timers due at once on partition %d; the rest fire on the next tick",
                    self.name, MAX_FIRES_PER_WAKE, partition)

    def _count_fired(self, now: datetime, due: datetime) -> None:
        """Timers fired and their lateness: wall time minus due, or with the event clock ``now`` (the partition's
        time the timer fires at) minus due."""
        at = now if self.clock.mode == "event" else self.clock.wall()
        self.tally(partial(self.metrics.timer_fired, self.name, (at - due).total_seconds()))

    # -- one input -------------------------------------------------------------------------------
    def process(self, msg: Incoming, handle: Callable[[Work, Incoming], None]) -> list[Record]:
        """Handle one input as a unit of work; returns the records to produce (in order): after an assignment,
        those of the units a crash interrupted first (``take_loaded``)."""
        records = self._process(msg, handle)
        return self.take_loaded(msg.partition) + records if self._at_load else records

    def take_loaded(self, partition: int) -> list[Record]:
        """The records of the partition's interrupted units, in the order they were kept, once (``ensure_loaded``
        found them; the worker produces them before the input that loaded the partition, or its dead letter)."""
        return self._at_load.pop(partition, [])

    def _process(self, msg: Incoming, handle: Callable[[Work, Incoming], None]) -> list[Record]:
        self.ensure_loaded(msg.partition)
        self.origin = f"{msg.partition:04d}:{msg.topic}:{msg.offset:012d}"
        replayed = self._replayed(msg)
        if replayed is not None:
            return replayed
        try:
            while True:
                work = Work()
                self._begin()
                try:
                    handle(work, msg)
                except Exception:
                    self._undo(msg.partition)
                    raise
                # A unit that cannot be made smaller may store its entry in parts (the same unit, not handled
                # again); one that can (``smaller``) is tried smaller first, its entry in one record.
                too_large = self._logged(msg, work, 1 if self._can_be_smaller() else MAX_ENTRY_PARTS)
                if too_large is None:
                    break
                self._undo(msg.partition)
                if self.smaller():
                    continue
                self._refused = too_large  # what a waiting input left out of the retry is refused for
                if not self.fewer_inputs():
                    return self._refuse_too_large(msg, too_large)
            self._commit()
            return self._kept(msg, work)
        finally:
            self._woken = []  # a unit decided without ``handle`` (``commit``) fired none
            self._others = 0
            self._tallies = None  # (kept or undone by now; should anything else have raised, not counted)
            self._touched = None
            self._kept_models = {}

    def _replayed(self, msg: Incoming) -> list[Record] | None:
        """The records of the input's unit if a crash interrupted it (its write-ahead entry is still there), but not
        its writes: the partition's load finished it (``replay``)."""
        replayed = replay(self.table, entry_key(msg.topic, msg.partition, msg.offset))
        if replayed is None:
            return None
        if replayed.key in self._produced_at_load:  # its records went when the partition was loaded
            self._produced_at_load.discard(replayed.key)
            replayed = replace(replayed, records=[])
        log.info("%s: replayed %d records of %s", self.name, len(replayed.records), replayed.key)
        return replayed.records

    def _as_now(self, record: Record) -> Record:
        """A record of an interrupted unit, as it is produced again (``EmployeeStage``: a directory record as the
        table has it now)."""
        return record

    def commit(self, msg: Incoming, work: Work) -> list[Record]:
        """Keep a unit decided without ``handle`` (its writes and records all or nothing, as ``process`` does)."""
        too_large = self._logged(msg, work, MAX_ENTRY_PARTS)
        if too_large is not None:
            return self._refuse_too_large(msg, too_large)
        return self._kept(msg, work)

    def _kept(self, msg: Incoming, work: Work) -> list[Record]:
        """A unit whose write-ahead entry is written: its writes go to the table, and entries of committed inputs
        go; its records are what to send."""
        self._write(work.writes)
        if not self.keeps_entries:
            self.wal.prune_partition(msg.partition)
        return work.records

    def failed(self, msg: Incoming, error: BaseException) -> list[Record]:
        """An input whose processing raised (``process`` undid its unit): its dead letter; the state stays as it was
        before the input."""
        self._count_refused(msg)
        return [failure_letter(msg, error, self.clock.wall())]

    def _count_refused(self, msg: Incoming) -> None:
        """An input dead-lettered after its unit was undone (its own counts went with the unit)."""

    def _logged(self, msg: Incoming, work: Work, parts: int = 1) -> str | None:
        """Write the unit's write-ahead entry (in up to ``parts`` records); what Kafka would refuse instead
        (``_too_large``, or the entry)."""
        too_large = self._too_large(work)
        if too_large is not None:
            return too_large
        try:
            self.wal.write(msg.topic, msg.partition, msg.offset, work, limit=self.max_record_bytes, parts=parts)
        except EntryTooLarge:
            return "entry"
        return None

    def _begin(self) -> None:
        """A unit starts: the in-memory indexes of the table journal what it changes (``_undo`` takes it back), and
        its metrics wait until it is kept (``tally``)."""
        self.timers.begin()
        for queue in self.queues.values():
            queue.begin()
        self._woken = []
        self._others = 0
        self._tallies = []
        self._touched = set()
        self._kept_models = {}

    def _commit(self) -> None:
        self.timers.commit()
        for queue in self.queues.values():
            queue.commit()
        self._touched = None
        tallies, self._tallies = self._tallies or [], None
        for count in tallies:
            count()

    def tally(self, count: Callable[[], object]) -> None:
        """Count a metric of the unit being handled once the unit is kept: a unit that is undone (tried again
        smaller, refused as too large, raised, or waiting for a recipient and tried again later) counts nothing,
        so what it decided is counted once, when it is decided for good. Outside a unit: at once."""
        if self._tallies is None:
            count()
        else:
            self._tallies.append(count)

    def _undo(self, partition: int) -> None:
        """A unit that is not kept: the core may have changed a cached state in place, so what the unit took from
        the cache or put in it is dropped (the rest stays: a busy mailbox another unit left is not read again from
        its thousands of keys); the timer index already holds the unit's timers and lacks those it fired, so it
        takes its changes back (``TimerIndex.rollback``; no scan of the table: an input that waits for a recipient
        is undone each time it comes round)."""
        if self._touched is None:
            self._cache.clear()  # (not in a unit: nothing says what changed)
        else:
            for key in self._touched:
                self._cache.pop(key, None)
        self._touched = None
        self.timers.rollback()
        for queue in self.queues.values():  # the kept inputs the unit added or took, as they were: no table scan
            queue.rollback()
        self._tallies = None

    def owners_only(self, partition: int) -> bool:
        """Whether an input fires only its own key's timers (the event clock does that always)."""
        return False

    def ready(self, partition: int) -> bool:
        """Whether the partition has work that only a wake-up (a tick) starts, besides due timers."""
        return False

    def smaller(self) -> bool:
        """After a unit too large for Kafka: whether handling the same input again would do less (then it is). A
        wake-up that fired several timers (a hiring burst's first days, all due at 09:00) fires half as many, and
        so does every wake-up after it until the due timers are done; the worker ticks a partition while it has
        timers due, so the rest fire a second later, in due order. An input that fired other owners' timers before
        it (the wall clock fires all that are due) is tried again firing only its own, and the wake-ups fire the
        others, half as many as it did at a time; until they are done, inputs fire only their own."""
        if not self._can_be_smaller():
            return False
        if self._others > 0:
            self._fire_cap = max(1, self._others // 2)
            log.warning("%s: an input firing %d other timers before it would write more than %d bytes; firing at "
                        "most %d per wake-up, and inputs only their own, until the due timers are done", self.name,
                        self._others, self.max_record_bytes, self._fire_cap)
            return True
        self._fire_cap = len(self._woken) // 2
        log.warning("%s: a wake-up firing %d timers would write more than %d bytes; firing at most %d per wake-up "
                    "until the due timers are done", self.name, len(self._woken), self.max_record_bytes,
                    self._fire_cap)
        return True

    def _can_be_smaller(self) -> bool:
        """Whether ``smaller`` would make the unit just tried do less: it fired other owners' timers before its
        input, or it was a wake-up that fired more than one."""
        return self._others > 0 or len(self._woken) > 1

    def fewer_inputs(self) -> bool:
        """After a unit too large for Kafka even with its entry in parts: whether it acted on several inputs that
        it can act on fewer of (the mailboxes' waiting inputs)."""
        return False

    def _only_wakes(self, msg: Incoming) -> bool:
        """Whether ``msg`` is a tick that does nothing but wake the partition (fire its due timers)."""
        return msg.topic == self.ticks_topic

    def _too_large(self, work: Work) -> str | None:
        """What in the unit Kafka would refuse (a changelog or output record above ``max_record_bytes``)."""
        limit = self.max_record_bytes
        if any(v is not None and len(k) + len(v) > limit for k, v in work.writes.items()):
            return "state"
        # A dead letter is cut to fit; an input forwarded to its partition is no larger than when it came.
        if any(r.value is not None and len(r.value) > limit and r.topic not in _NEVER_TOO_LARGE for r in work.records):
            return "record"
        return None

    def _refuse_too_large(self, msg: Incoming, what: str) -> list[Record]:
        """Kafka would refuse a write of this unit: the input becomes a dead letter (with a metric) instead of a
        write that fails again on every restart; the state stays as it was before the input."""
        log.error("%s: the %s written for %s[%d]@%d would exceed %d bytes; input dead-lettered", self.name, what,
                  msg.topic, msg.partition, msg.offset, self.max_record_bytes)
        self.metrics.dead_letters.labels(f"{what}_too_large").inc()
        self.metrics.processing_errors.labels(self.name).inc()
        self._count_refused(msg)
        reason = f"{what}_too_large: the {what} this input leads to would exceed {self.max_record_bytes} bytes"
        if len(self._woken) != 1 or not self._only_wakes(msg):
            return [dead_letter_record(msg, reason, self.clock.wall())]
        # A tick that fired one timer, which no unit can fire: the timer goes with the dead letter (its key says
        # whose and which), or every wake-up would try it again. (Any other input is itself the dead letter, as it
        # was: dropping the timer in its place would lose the input.)
        key = self._woken[0]
        timer = Incoming(msg.topic, msg.partition, msg.offset, key.encode("utf-8"), self.table.get(key), msg.timestamp)
        work = Work(writes={key: None}, records=[dead_letter_record(timer, f"{reason} (firing this timer; it is "
                                                                           "dropped)", self.clock.wall())])
        self.timers.begin()
        self.timers.discard(key)
        self._after_drop(work, msg.partition)  # the tick's work ends here: what it tells once its timers are done
        if self._logged(msg, work) is not None:
            self.timers.rollback()  # kept after all: due again at the next wake-up
            return work.records[:1]
        self.timers.commit()
        return self._kept(msg, work)

    def _after_drop(self, work: Work, partition: int) -> None:
        """A tick's unit that dropped a timer no unit can fire: what the stage's ticks say once every due timer has
        fired (``EmployeeStage``: the watermark)."""

    def _write(self, writes: dict[str, bytes | None]) -> None:
        for key, value in writes.items():
            self.table.set(key, value)

    def prune(self) -> None:
        """Delete the write-ahead entries of every input whose offset is committed (each input does this for
        its own topic and partition; this is for the end of a run)."""
        self.wal.prune_all()


class EmployeeStage(Stage):
    name = "employees"
    partitions: int | None = None  # set by the worker: inputs on the wrong partition for their key are forwarded
    topic_prefix = ""

    def __init__(self, table: Table, clock: StreamClock, metrics: StreamMetrics,
                 committed: Callable[[str, int], int | None], engine: Engine, *, ticks_topic: str,
                 max_event_bytes: int, directory: dict[str, Profile], recipient_wait_seconds: float = 0.0) -> None:
        super().__init__(table, clock, metrics, committed)
        self.engine = engine
        self.positions = engine.defs.positions
        self.digests_enabled = bool(engine.policy.digests)
        self.ticks_topic = ticks_topic
        self.max_event_bytes = max_event_bytes
        self.directory = directory
        self.holds = Holds(recipient_wait_seconds)  # inputs waiting for a recipient (streams.recipients)
        self._retry: Retry | None = None
        self._give_up = True
        self._firing: str | None = None  # the employee whose timer is firing
        # Inputs in time order across their topics on the event clock (streams.gate): the worker sets the topics
        # and ``drained`` (topic, partition, last offset seen -> nothing more to read there now); None: off.
        self.input_topics: tuple[str, ...] = ()
        self.drained: Callable[[str, int, int | None], bool] | None = None
        self.gated = self.queues[GATE_PREFIX] = ordering.Waiting(track_sending=True)
        self.release_per_unit = 500  # waiting inputs decided per input or wake-up
        self.order_wait_seconds = 60.0  # the longest an input waits for its turn (wall seconds)
        self._heads: dict[tuple[int, str], int] = {}  # (partition, topic) -> the latest input time read there
        # The wall clock: the latest time of the inputs decided on each partition, and since when (wall seconds) a
        # partition's wake-ups have held timers for inputs still to read, or the last input read then (``_fire_by``).
        self._read_to: dict[int, datetime] = {}
        self._holding_since: dict[int, float] = {}
        self._seen: dict[tuple[str, int], int] = {}  # (topic, partition) -> the last offset read there
        self._releasing: str | None = None  # the waiting input being decided
        self._hold_gated: set[str] = set()  # waiting inputs this unit holds for a recipient instead (``process``)
        self._gated_lines: dict[tuple[int, str], Line] = {}  # the lines the unit's held waiting inputs made
        self._wall = 0.0  # the wall time (seconds) the input being decided came at
        self._line_done: tuple[str, bytes | None] | None = None  # its line's write, once decided
        self._stale_seen: set[str] = set()  # stale lines already logged and counted
        self._waiting_logged: dict[int, tuple[list[str], float]] = {}  # the lines each partition's time was last
        # said to wait for, and when

    def _process(self, msg: Incoming, handle: Callable[[Work, Incoming], None]) -> list[Record]:
        """As ``Stage._process``; an input whose recipient the directory does not know yet goes round again
        (``streams.recipients``), and so do the inputs of the same employee behind it."""
        self.ensure_loaded(msg.partition)
        replayed = self._replayed(msg)
        if replayed is not None:
            return replayed
        wall = self.clock.wall().timestamp()
        if msg.topic in self.input_topics:
            self._seen[(msg.topic, msg.partition)] = msg.offset
        retry = decode_retry(msg.value) if msg.topic == self.ticks_topic else None
        self._line_done = None
        held = self._held(msg, retry, wall)
        if held is not None:
            return held
        self._retry, self._give_up, self._wall = retry, self.holds.give_up(retry, wall), wall
        self._hold_gated.clear()
        try:
            while True:
                self._gated_lines = {}
                try:
                    records = super()._process(msg, handle)
                    break
                except RecipientPending as pending:
                    if pending.gated is None or pending.gated in self._hold_gated:
                        raise
                    # a waiting input this unit decided needs a recipient not known yet: the unit is tried again,
                    # with that input held in its employee's line instead (the input that came is not held)
                    self._hold_gated.add(pending.gated)
        except RecipientPending as pending:  # the unit is undone (``Stage._undo``)
            if retry is not None:
                return self.commit(msg, Work(records=[self.holds.again(msg.partition, retry, head=True)]))
            log.info("%s: an input of %s[%d]@%d waits for a recipient the directory does not know yet",
                     self.name, msg.topic, msg.partition, msg.offset)
            key = msg.key
            if msg.topic == self.ticks_topic and pending.owner is not None:
                # A tick fired a timer whose message goes to a person not known yet: the wait is its owner's, in a
                # line of their own (a tick has no key: without a line, nothing measured the group's progress, so
                # the wait lasted the longest wait, and every tick meanwhile sent another retry round).
                key = pending.owner.encode("utf-8")
            waits = Retry(msg.topic, key, msg.value, msg.timestamp, wall, head=True)
            if self.holds.is_blocked(msg.partition, key):  # a stale line of the owner's: behind it
                return self._hold(msg, *self.holds.behind(msg.partition, replace(waits, head=False)))
            return self._hold(msg, *self.holds.first(msg.partition, waits,
                                                     origin=f"{msg.topic}:{msg.partition}:{msg.offset}"))
        finally:
            self._retry, self._give_up, self._wall, self._firing = None, True, 0.0, None
            self._hold_gated.clear()
        line, self._line_done = self._line_done, None
        self.holds.apply(line)  # written by ``handle`` in the unit
        for (partition, employee), made in self._gated_lines.items():  # and the lines of waiting inputs it held
            self.holds.apply((line_key(partition, employee), made.encode()))
        self._gated_lines = {}
        return records

    def _replayed(self, msg: Incoming) -> list[Record] | None:
        """As ``Stage._replayed``, but a person's directory record is sent as the table has them now: the directory
        is a view of the states, and the unit's own record may be older than a unit of another topic that ran since
        (seen after a kill -9: an engagement event had made a manager known by the id alone, their hire then gave
        the full contact, and the engagement event's replay sent the id alone again, so the manager's messages were
        ``no_recipient`` where ``simulate`` sent them)."""
        records = super()._replayed(msg)
        if records is None:
            return None
        return [self._as_now(r) for r in records]

    def _as_now(self, record: Record) -> Record:
        if record.topic != Topic.DIRECTORY or record.key is None:
            return record
        contact = _contact(self._load(Work(), record.key or ""))
        return replace(record, value=dumps(contact) if contact else None)

    def failed(self, msg: Incoming, error: BaseException) -> list[Record]:
        """As ``Stage.failed``; a waiting input whose turn it was is dead-lettered as the input it was (its topic,
        key and bytes), and its line moves on in the same unit, so the employee's next input is decided when it
        comes round instead of its line waiting until it goes stale."""
        try:
            retry = decode_retry(msg.value) if msg.topic == self.ticks_topic else None
        except Exception:  # the record itself is what failed: dead-lettered as it is
            retry = None
        if retry is None:
            return super().failed(msg, error)
        records = super().failed(Incoming(retry.topic, msg.partition, msg.offset, retry.key, retry.value,
                                          retry.timestamp), error)
        return self._with_line(msg, records, self.holds.turn_ended(msg.partition, retry, self.clock.wall().timestamp()))

    def _count_refused(self, msg: Incoming) -> None:
        """An event dead-lettered after its unit was undone (it raised, or Kafka would refuse its writes) is counted
        once among the events consumed, as a dead letter under its type: each event is counted once (its unit's
        ``processed`` went with the unit). A waiting input handled in its turn is the event it carries."""
        topic, value = (self._retry.topic, self._retry.value) if self._retry is not None else (msg.topic, msg.value)
        if topic == self.ticks_topic:
            return  # a tick: no event of its own
        try:
            event_type = json.loads(value or b"").get("type")
        except (ValueError, AttributeError, RecursionError):
            event_type = None
        self.metrics.events.labels(event_type_label(event_type if isinstance(event_type, str) else None),
                                   "dead_letter").inc()

    def _only_wakes(self, msg: Incoming) -> bool:
        return super()._only_wakes(msg) and self._retry is None  # a retry is an input that waited, handled now

    def _refuse_too_large(self, msg: Incoming, what: str) -> list[Record]:
        """As ``Stage._refuse_too_large``; a waiting input decided in its turn still moves its line on (the write
        ``handle`` made for it), in the dead letter's unit, so the table and the in-memory line agree."""
        records = super()._refuse_too_large(msg, what)
        self._gated_lines = {}  # the unit is not kept: neither are the lines its waiting inputs made
        line, self._line_done = self._line_done, None
        return self._with_line(msg, records, line)

    def _with_line(self, msg: Incoming, records: list[Record], line: tuple[str, bytes | None] | None
                   ) -> list[Record]:
        """``records`` kept as a unit with a line's write (then applied to the in-memory lines); with no write, or
        if not even that unit fits, the records alone (the line stays as it is and goes stale if its turn never
        comes round)."""
        if line is None:
            return records
        work = Work(records=records, writes=dict([line]))
        if self._logged(msg, work) is not None:
            return records
        kept = self._kept(msg, work)
        self.holds.apply(line)
        return kept

    def _held(self, msg: Incoming, retry: Retry | None, wall: float) -> list[Record] | None:
        """What an input does instead of being decided: wait behind the employee's waiting inputs, go round
        again before its turn, be dropped once its place has passed, or (a tick) wait for the partition's
        waiting inputs; None: decide it now."""
        p = msg.partition
        key = retry.key if retry is not None else None if msg.topic == self.ticks_topic else msg.key
        if retry is None and self.holds.is_blocked(p, key) and not self._kept_for_turn(msg):
            # a new input behind the employee's waiting ones (kept for its turn first: ``_line_up``)
            record, line = self.holds.behind(p, Retry(msg.topic, msg.key, msg.value, msg.timestamp, wall, head=False))
            return self._hold(msg, record, line)
        if retry is not None and retry.key is not None:
            place = self.holds.place(p, retry, wall)
            if place == "passed":
                return []  # a copy of a retry already decided (a replay after a crash made it)
            if place == "early":
                return self.commit(msg, Work(records=[self.holds.again(p, retry)]))
        tick = msg.topic == self.ticks_topic and (retry is None or retry.topic == self.ticks_topic)
        if tick:
            self._count_stale(p, wall)
        if tick and self.holds.any_blocked(p, wall) and (retry is None or not retry.head):
            if self.clock.mode == "wall" or (retry is None and not _tick_time(msg.value)):
                # The partition's time waits for the held input, and the worker ticks again (a tick that carries
                # no time only wakes the partition: sent round, each second's would go round until the wait ends).
                return []
            self._log_waiting(p, wall)
            again = retry or Retry(msg.topic, None, msg.value, msg.timestamp, wall, head=False)
            return self.commit(msg, Work(records=[self.holds.again(p, again)]))
        return None

    def _log_waiting(self, partition: int, wall: float) -> None:
        """Say which lines a partition's time waits behind, each time that set changes; while it stays the same,
        every ``WAITING_SAY_SECONDS`` say where each line is (its turn, how long since it moved and since its turn's
        retry came round, how far the group's progress is), so a wait that does not end shows why."""
        keys = self.holds.lines(partition, wall, stale=False)
        said = self._waiting_logged.get(partition)
        if said is None or said[0] != keys:
            self._waiting_logged[partition] = (keys, wall)
            log.info("%s: partition %d's time waits behind %d line(s) of waiting inputs: %s", self.name, partition,
                     len(keys), " ".join(keys[:10]))
        elif wall - said[1] >= WAITING_SAY_SECONDS:
            self._waiting_logged[partition] = (keys, wall)
            caught_up = self.holds.caught_up
            progress = "unmeasured" if caught_up is None else "not yet" if not caught_up else \
                f"{wall - caught_up:.0f} s ago"  # 0: measured, no mark reached yet
            log.info("%s: partition %d's time still waits behind %d line(s) (group caught up %s): %s", self.name,
                     partition, len(keys), progress,
                     "; ".join(self.holds.describe(key, wall) for key in keys[:10]))

    def _count_stale(self, partition: int, wall: float) -> None:
        """Log and count each line that went stale (``Holds.stale``): an input's retry was lost."""
        for key in self.holds.lines(partition, wall, stale=True):
            if key not in self._stale_seen:
                self._stale_seen.add(key)
                self.metrics.holds_stale.inc()
                log.warning("%s: the line %s has not moved for %.0f s: its retry was lost; it no longer holds the "
                            "partition's time", self.name, key, wall - self.holds.blocked[line_id(key)].since)
        if len(self._stale_seen) > len(self.holds.blocked):  # forget the lines that have ended since
            self._stale_seen = {k for k in self._stale_seen if line_id(k) in self.holds.blocked}

    def _hold(self, msg: Incoming, record: Record, line: tuple[str, bytes | None] | None) -> list[Record]:
        work = Work(records=[record])
        if line is not None:
            work.writes[line[0]] = line[1]
        records = self.commit(msg, work)
        self.holds.apply(line)
        return records

    def ensure_loaded(self, partition: int) -> None:
        super().ensure_loaded(partition)
        if partition not in self.holds.loaded:
            prefix = line_key(partition, "")
            self.holds.load(partition, [(k, raw) for k in self.table.keys()
                                        if k.startswith(prefix) and (raw := self.table.get(k)) is not None],
                            self.clock.wall().timestamp())

    def revoke(self, partition: int) -> None:
        super().revoke(partition)
        self.holds.drop(partition)
        self._heads = {k: v for k, v in self._heads.items() if k[0] != partition}
        self._seen = {k: v for k, v in self._seen.items() if k[1] != partition}
        self._read_to.pop(partition, None)
        self._holding_since.pop(partition, None)

    def ready(self, partition: int) -> bool:
        """Whether an input waiting for its turn in time could be decided now (the worker then ticks)."""
        key = self.gated.first(partition)
        return key is not None and self._turn(partition, key, self.table.get(key))

    def owners_only(self, partition: int) -> bool:
        # an input waits for a recipient here (streams.recipients)
        return self.holds.any_blocked(partition, self.clock.wall().timestamp())

    def handle(self, work: Work, msg: Incoming) -> None:
        if self._retry is not None:  # an input that waited for a recipient: handled as the original
            r = self._retry
            line = self._line_done = self.holds.done(msg.partition, r, self._wall)  # the next in line has its turn
            if line is not None:
                work.writes[line[0]] = line[1]
            msg = Incoming(r.topic, msg.partition, msg.offset, r.key, r.value, r.timestamp)
        if msg.topic == self.ticks_topic:
            tick = json.loads(msg.value or b"{}")
            if self._gating() and self._tick_releases(work, msg, tick.get("at")):
                return
            if tick.get("at"):
                self.clock.observe(msg.partition, parse_time(tick["at"]))
            # a tick that waited for a recipient of one employee's timer (``process``) fires that employee's timers
            owner = msg.key.decode("utf-8") if msg.key is not None else None
            self._fire(work, msg.partition, self._fire_by(msg.partition), owner)
            self._watermark(work, msg.partition)
            return
        raw = msg.value or b""
        try:
            event = decode_event(raw, max_bytes=self.max_event_bytes)
        except DecodeError as e:
            self.dead_letter(work, msg, str(e), e.code, e.event_type)
            return
        if self.forward_misrouted(work, msg, event.subject):
            return
        if self._retry is None and self._gating() and (self._gate(work, msg, event) or self._line_up(
                work, msg, event.subject)):
            return
        self._input(work, msg, event)

    def _input(self, work: Work, msg: Incoming, event: CloudEvent) -> None:
        """An input decoded, on its partition, decided in its turn."""
        raw = msg.value or b""
        now = self.clock.at_least(event.time, msg.partition)
        # In its turn by the gate (every other input topic read up to its time): what comes before it is decided.
        in_turn = self._gating() and msg.topic.removeprefix(self.topic_prefix) == Topic.DECISIONS and self._open(
            msg.partition, msg.topic, ordering.micros(event.time))
        if self._ahead_of_the_wall(event) or (
                self.clock.mode == "event" and not in_turn and event.time > self.clock.now(msg.partition)
                and made_later(self._load(work, event.subject), event)):
            # A review decision read before the events that make its message, an engagement event before the HRIS
            # events it follows (their topics are read at their own pace): kept as its subject's timer, decided at
            # its own time after their timers due by then, as simulate does. Not in its turn by the gate: kept so,
            # a preference change was applied only at the next tick, and other people's inputs decided before it
            # read the person as they were (a message to a manager was sent in the quiet hours they had just set).
            # On the wall clock, an input dated ahead of it (``_ahead_of_the_wall``) is kept so until its time.
            parked = ParkedInput(event.subject, msg.topic, raw.decode("utf-8"), msg.timestamp, msg.offset)
            key = f"t:{msg.partition}:{timer_key(parked)[2:]}"
            work.writes[key] = encode_timer(parked, event.time)
            self.timers.add(msg.partition, key, event.subject, event.time)
            return
        # The input's time as far as the clock has come: on the wall clock only an erasure comes dated ahead of it
        # (``_ahead_of_the_wall``: carried out at once), and it counts as happening now.
        upto = min(event.time, self.clock.wall()) if self.clock.mode == "wall" else event.time
        if self.clock.mode == "wall" or input_topic(event.type) is not Topic.ENGAGEMENT_EVENTS:
            # With the event clock, engagement events (their own topic, consumed at its own pace) may run
            # ahead of the HRIS events of the same person: they must not fire that person's timers.
            # The timers due by the input's own time fire before it, on either clock; those due between its time
            # and now fire after it, as in ``simulate``, so an input read late (a backlog, a worker that was down)
            # comes before what fell due after it happened. (An erasure dated a year ahead fired every timer of
            # the partition due within that year, sending other people's messages at once.)
            self._fire(work, msg.partition, upto, event.subject)
        if self.clock.mode == "wall":
            # How far the partition is read (``_fire_by``): an erasure dated ahead left it read to a future time, and
            # no backlog held its timers until that time passed.
            read = self._read_to.get(msg.partition)
            if read is None or upto > read:
                self._read_to[msg.partition] = upto
                # the backlog is being read and moves the partition's time on: the hold goes on. An input dated
                # before those read already moves nothing: a steady trickle of such inputs (late, backdated) on a
                # partition whose end is never known held its timers for good.
                if msg.partition in self._holding_since:
                    self._holding_since[msg.partition] = self.clock.wall().timestamp()
        self._decide(work, msg.partition, event, now, msg.timestamp, Place(msg.topic, msg.partition, msg.offset))

    def _fire_by(self, partition: int) -> datetime:
        """The time a wake-up fires the partition's timers due by: its clock. On the wall clock, while the partition's
        inputs are not read to their end (a worker back after a day down, a backlog), only those due by the latest
        input decided there (none before the first), so an input that happened before a timer fell due is decided
        before it, as when the worker was up and as in ``simulate``: a termination read after the downtime ends the
        journey before the wait that fell due after it sends its message. The hold gives way once the partition is
        read to its end, or when no input that moved its time on has been read there for ``order_wait_seconds`` (a
        partition whose end is never known must not hold its timers for good)."""
        now = self.clock.now(partition)
        if self.clock.mode != "wall" or self.drained is None or all(
                self.drained(topic, partition, self._seen.get((topic, partition))) for topic in self.input_topics):
            self._holding_since.pop(partition, None)
            return now
        wall = self.clock.wall().timestamp()
        if wall - self._holding_since.setdefault(partition, wall) >= self.order_wait_seconds:
            return now
        read = self._read_to.get(partition)
        return min(now, read) if read else EPOCH

    def _ahead_of_the_wall(self, event: CloudEvent) -> bool:
        """The wall clock: an input dated after now is kept as its subject's timer and decided when the wall clock
        reaches its time (SPEC §4: a step runs at the later of the two). Decided at once, its steps ran at its
        future time while the clock was now: its messages were recorded ``sent`` at that time and delivered at once,
        and the timers it fired before it (every owner's due by its time) sent other people's messages days or a
        year early. An erasure is carried out at once, whatever its time (its age never matters either)."""
        return self.clock.mode == "wall" and event.type != ERASURE and event.time > self.clock.wall()

    # -- inputs in time order across their topics (streams.gate) ------------------------------------
    def _gating(self) -> bool:
        return self.drained is not None and self.clock.mode == "event"

    def _gate(self, work: Work, msg: Incoming, event: CloudEvent) -> bool:
        """Whether the input waits for its turn (then it is kept, and the waiting inputs whose turn has come are
        decided); False: decide it now."""
        p, at = msg.partition, ordering.micros(event.time)
        self._heads[(p, msg.topic)] = max(at, self._heads.get((p, msg.topic), at))
        if self.gated.first(p) is None and self._open(p, msg.topic, at):
            return False
        key = gate_key(p, event.time, msg.topic, msg.offset)
        work.writes[key] = dumps({"topic": msg.topic, "subject": event.subject, "timestamp": msg.timestamp,
                                  "since": self._wall or self.clock.wall().timestamp(),
                                  "key": msg.key.decode("utf-8", "replace") if msg.key is not None else None,
                                  "value": (msg.value or b"").decode("utf-8")})
        self.gated.add(p, key)
        self._release_gated(work, p)
        return True

    def _open(self, partition: int, topic: str, at: int) -> bool:
        """Whether an input of ``topic`` at ``at`` may be decided: every other input topic of the partition has been
        read up to its time, or has nothing more to read now."""
        for other in self.input_topics:
            if other == topic or self._heads.get((partition, other), -1) >= at:
                continue
            if self.drained is None or not self.drained(other, partition, self._seen.get((other, partition))):
                return False
        return True

    def _turn(self, partition: int, key: str, raw: bytes | None) -> bool:
        """Whether the first waiting input may be decided: its topics allow (``_open``), or it has waited the longest
        (a partition whose high watermark is never known must not hold the others for good)."""
        if self._open(partition, gated_topic(key), gated_at(key)):
            return True
        since = json.loads(raw).get("since") if raw is not None else None
        return not isinstance(since, float | int) or self.clock.wall().timestamp() - since >= self.order_wait_seconds

    def _release_gated(self, work: Work, p: int, until: int | None = None) -> None:
        """Decide the waiting inputs whose turn has come, in order: up to ``until`` (a tick's time) whatever is
        read, else while the first one's topics allow (``_open``); at most ``release_per_unit`` at a time."""
        released = 0
        while (key := self.gated.first(p)) is not None:
            raw = self.read(work, key)
            if (until is None or gated_at(key) > until) and not self._turn(p, key, raw):
                return
            if released >= self.release_per_unit or _bytes(work.records) > self.max_record_bytes:
                return  # the rest by the next input or wake-up (``ready``)
            self.gated.pop(p)
            work.writes[key] = None
            if raw is None:
                continue
            released += 1
            d = json.loads(raw)
            msg = Incoming(str(d["topic"]), p, int(key.rsplit(":", 1)[1]),
                           str(d["key"]).encode("utf-8") if d.get("key") is not None else None,
                           str(d["value"]).encode("utf-8"), d.get("timestamp"))
            subject = str(d["subject"])
            # waits for a recipient (``process``), or behind the employee's inputs that do: in their line
            if self._line_up(work, msg, subject, held=key in self._hold_gated):
                continue
            self._releasing = key
            try:
                self._input(work, msg, decode_event(msg.value or b"", max_bytes=self.max_event_bytes))
            finally:
                self._releasing = None

    def _kept_for_turn(self, msg: Incoming) -> bool:
        """Whether ``msg`` is an input that the gate decides in its turn (``_gate``), rather than when it comes."""
        return self._gating() and msg.topic in self.input_topics

    def _line_up(self, work: Work, msg: Incoming, subject: str, *, held: bool = False) -> bool:
        """An input decided in its turn goes last in its employee's line of inputs waiting for a recipient, if they
        have one (in the table, or made earlier in this unit), or first in a new one if it is ``held`` itself
        (``process``); False: decide it now. So on the event clock an employee's new input joins their line only
        when its turn in time comes, never ahead of their earlier input still kept for its turn (put in the line
        as it came, an upsert of the 9th was decided before a task completed on the 24th of the month before, which
        was kept for its turn: the wait's timeout fired and nudged the manager, as ``simulate`` never did)."""
        p, employee = msg.partition, subject.encode("utf-8")
        if not held and not self.holds.is_blocked(p, employee) and (p, subject) not in self._gated_lines:
            return False
        retry = Retry(msg.topic, employee, msg.value, msg.timestamp, self._wall or self.clock.wall().timestamp(),
                      head=True)
        record, line = self.holds.hold(p, retry, f"{msg.topic}:{p}:{msg.offset}", self._gated_lines)
        work.records.append(record)
        work.writes[line[0]] = line[1]
        return True

    def _tick_releases(self, work: Work, msg: Incoming, at: str | None) -> bool:
        """Before a tick moves the clock to ``at`` (everything published before it is consumed), the waiting inputs
        up to ``at`` are decided; if more than a unit's share wait, the tick goes round again (True) after them."""
        until = ordering.micros(parse_time(at)) if at else None
        self._release_gated(work, msg.partition, until)
        first = self.gated.first(msg.partition)
        if until is None or first is None or gated_at(first) > until:
            return False
        work.records.append(Record(Topic.EMPLOYEE_TICKS, None, msg.value, partition=msg.partition))
        return True

    def _decide(self, work: Work, partition: int, event: CloudEvent, now: datetime, timestamp: float | None,
                place: Place | None) -> None:
        """The core's decision on one event of ``partition``, at ``now``, and what it leaves kept; ``place``: where the
        event was read, named by a dead letter the core refuses it with."""
        state = self._load(work, event.subject)
        contact = _contact(state)  # before the core runs: it updates the profile in place
        outcome = self.engine.on_event(state, event, now, self._lookup, self.directory.get)
        lifecycle = {e.kind for e in outcome.effects if isinstance(e, Lifecycle) and e.journey_id is None}
        outcome_kind = "duplicate" if "duplicate" in lifecycle else \
            "dead_letter" if any(isinstance(e, Refuse) for e in outcome.effects) else \
            "stale" if "stale" in lifecycle else "processed"  # each event counted once, with its type
        self.tally(self.metrics.events.labels(event_type_label(event.type), outcome_kind).inc)
        origin = ordering.input_origin(partition, place.topic.removeprefix(self.topic_prefix), place.offset) \
            if place is not None else ""  # (a parked input of a release before offsets were kept: none)
        self._apply(work, partition, event.subject, contact, outcome.state, outcome.effects, now, place, event.id,
                    ordering.input_rank(event.time, origin))
        if timestamp is not None and any(isinstance(e, _DECISIONS) for e in outcome.effects):
            self.tally(partial(self.metrics.latency.observe, max(0.0, self.clock.wall().timestamp() - timestamp)))

    def _after_drop(self, work: Work, partition: int) -> None:
        # The drop may have been the last due timer: without the watermark here the mailboxes kept what this tick
        # sent until the next tick (none comes on its own once no timer is due).
        self._watermark(work, partition)

    def _watermark(self, work: Work, partition: int) -> None:
        """Event clock: once every timer due by the partition's clock has fired, tell every mailbox partition
        that this partition will decide nothing earlier (``streams.ordering``)."""
        now = self.clock.now(partition)
        due = self.timers.next_due(partition)
        if self.clock.mode != "event" or (due is not None and due <= now.timestamp()):
            return
        waiting = self.gated.first(partition)
        if waiting is not None and gated_at(waiting) <= ordering.micros(now):
            return  # an input at or before it still waits for its turn
        mark = encode_watermark(partition, now)
        work.records.extend(Record(Topic.MAILBOX, None, mark, q) for q in range(self.partitions or 1))

    def forward_misrouted(self, work: Work, msg: Incoming, subject: str) -> bool:
        """An input not keyed by its subject (no key, or another one: SPEC says the key is the employee id), or on
        another partition than the worker's partitioner gives its subject (a producer that hashes keys differently),
        is forwarded, unchanged, keyed by its subject to the subject's partition (``streams.routing``): one
        employee's state and timers live in one partition, whoever produced the events."""
        key = subject.encode("utf-8")
        if self.partitions is None:
            return False
        right = partition_of(key, self.partitions)
        if right == msg.partition and msg.key == key:
            return False
        short = msg.topic.removeprefix(self.topic_prefix)
        work.records.append(Record(short, subject, msg.value, right))
        self.tally(self.metrics.repartitioned.labels(short).inc)
        return True

    def dead_letter(self, work: Work, msg: Incoming, reason: str, code: str, event_type: str | None = None) -> None:
        """``event_type``: the type of an event whose envelope was read (its data did not validate), counted under
        it as the events the engine knows are (``other`` when it was not read, or is not one of them)."""
        work.records.append(dead_letter_record(msg, reason, self.clock.wall()))
        self.tally(self.metrics.dead_letters.labels(code).inc)
        self.tally(self.metrics.events.labels(event_type_label(event_type), "dead_letter").inc)

    def _lookup(self, person_id: str) -> Profile | None:
        found = self.directory.get(person_id)
        if (found is None or not found.fields) and not self._give_up:
            # Not known here yet, or known by the id alone (their first input was an engagement event, their
            # profile is on its way): hold the input (streams.recipients); past the wait, decide with what is known.
            raise RecipientPending(person_id, self._firing, self._releasing)
        if found is None and self.holds.wait_seconds <= 0:
            # No hold (a wait of 0): a person this partition does not know yet is most likely another partition's,
            # on their way through the directory topic. The message is decided for their id; their mailbox takes
            # their time zone and quiet hours from the directory when it acts (``_as_known``). Only ``simulate``,
            # which knows everyone, can say ``no_recipient`` for certain (README "no_recipient").
            return DetailsToCome(id=person_id)
        return found

    def _load(self, work: Work, employee_id: str) -> EmployeeState | None:
        return self.load_model(work, f"s:{employee_id}", EmployeeState)

    def _fire(self, work: Work, partition: int, now: datetime, owner: str | None = None) -> None:
        for timer, due, rank in self.due_timers(work, partition, now, owner):
            if isinstance(timer, MailboxTimer | DigestTimer):
                continue
            self._firing = timer.employee_id  # whose timer a recipient not known yet holds (``process``)
            if isinstance(timer, ParkedInput):  # an input kept for its time (``handle``): decided now
                place = Place(timer.topic, partition, timer.offset) if timer.offset is not None else None
                self._decide(work, partition, decode_event(timer.value.encode("utf-8")),
                             self.clock.at_least(due, partition), None, place)
                continue
            state = self._load(work, timer.employee_id)
            contact = _contact(state)
            at = self.clock.at_least(due, partition)
            outcome = self.engine.on_timer(state, timer, at, self._lookup, self.directory.get)
            self._apply(work, partition, timer.employee_id, contact, outcome.state, outcome.effects, at, rank=rank)
        self._firing = None

    def _apply(self, work: Work, partition: int, employee_id: str, contact_before: dict[str, Any] | None,
               after: EmployeeState | None, effects: list[Effect], now: datetime, place: Place | None = None,
               event_id: str | None = None, rank: str = "") -> None:
        """Keep the state the core left; ``contact_before``: the person's contact details (``_contact``) taken
        before the core ran, as it changes the state it is given in place. A change goes to the directory. ``rank``:
        the decision's (``streams.ordering``)."""
        key = f"s:{employee_id}"
        if after is None:
            work.writes[key] = None
            self.remember(partition, key, None)
            self.directory.pop(employee_id, None)
        else:
            self.keep_model(work, partition, key, after)
        if after is not None and after.forgotten:  # erased: the record stays under ``s:<id>``, nothing else
            self.directory.pop(employee_id, None)
            self.forget_timers(work, partition, employee_id)
        contact_after = _contact(after)
        if contact_after != contact_before:
            if after is not None and not after.forgotten:  # an erased person is gone from it (a tombstone below)
                self.directory[employee_id] = as_recipient(after.profile)  # as the directory topic has them
            work.records.append(Record(Topic.DIRECTORY, employee_id, dumps(contact_after) if contact_after else None))
        carry_out(effects, StagePort(self, work, partition, now, place, event_id, rank), employee_id)
        if after is not None and after.forgotten:  # (after the erasure's own records: its audit first)
            self._refuse_parked(work, partition, after, now)

    def _refuse_parked(self, work: Work, partition: int, record: EmployeeState, now: datetime) -> None:
        """At an erasure (``record``: what is kept of the person), the inputs of theirs parked for their time
        (``_input``) that the core would refuse at that time are refused now, the same dead letter sooner, and their
        keys become tombstones: kept, their raw events (a feedback's text, an upsert's name) stayed in the table and
        its changelog until their time, a year for an input mis-dated on the wall clock. A hire dated after the
        erasure stays parked (it makes a new person under the old id, README "Erasure"), and so does every input
        parked for after it: the new person's, decided at its time."""
        parked: list[tuple[datetime, str, ParkedInput, CloudEvent]] = []
        for key in self.timers.owned(record.employee_id):
            raw = self.read(work, key) if key.startswith(f"t:{partition}:") and "\x1fparked\x1f" in key else None
            timer = decode_timer(raw)[0] if raw is not None else None
            if isinstance(timer, ParkedInput):
                event = decode_event(timer.value.encode("utf-8"))
                parked.append((event.time, key, timer, event))
        rehired = min((t for t, _, _, e in parked if not refused_after_erasure(record.erased_at, True, e)),
                      default=None)
        refused = sorted((p for p in parked if refused_after_erasure(record.erased_at, True, p[3])
                          and (rehired is None or p[0] < rehired)), key=lambda p: (p[0], p[1]))
        for _, key, _, _ in refused:  # gone before any is decided: deciding one comes back here (``_apply``)
            work.writes[key] = None
            self.timers.discard(key)
        for _, _, timer, event in refused:
            place = Place(timer.topic, partition, timer.offset) if timer.offset is not None else None
            self._decide(work, partition, event, now, None, place)


@dataclass(frozen=True)
class Place:
    """Where an input was read: its topic, partition and offset."""

    topic: str
    partition: int
    offset: int


@dataclass
class StagePort:
    """The interpreter's port for one unit of work of a stage: timers into the table, the rest as records."""

    stage: Stage
    work: Work
    partition: int
    now: datetime
    place: Place | None = None  # the input being decided, if any (a timer is none)
    event_id: str | None = None  # the event being decided, if any
    rank: str = ""  # the decision's rank (``streams.ordering``): "" in a mailbox, whose timers set no mailbox input

    def schedule(self, due: datetime, timer: Timer) -> None:
        self.stage.schedule(self.work, self.partition, Schedule(due, timer), self.rank)

    def unschedule(self, timer: Timer) -> None:
        self.stage.unschedule(self.work, self.partition, timer)

    def record(self, message: Message) -> None:
        value = message.model_dump_json().encode("utf-8")
        self.work.records.append(Record(Topic.OUTBOUND_MESSAGES, message.employee_id, value))
        if message.status == "pending_approval":
            self.work.records.append(Record(Topic.APPROVALS, message.employee_id, value))
            self.stage.tally(self.stage.metrics.approvals.labels(message.journey_id).inc)
        self.stage.tally(self.stage.metrics.decisions.labels(message.channel, message.status).inc)

    def _order(self) -> tuple[str, str]:
        """Where the next mailbox-topic record is made (the input and its place in the unit) and the decision's rank
        (on the event clock): they order ties of decision time in the mailbox stage (``streams.ordering``)."""
        origin = f"{self.stage.origin}:{sum(r.topic == Topic.MAILBOX for r in self.work.records):05d}"
        return origin, self.rank if self.stage.clock.mode == "event" else ""

    def to_mailbox(self, mailbox: str, item: MailboxInput) -> None:
        value = encode_mailbox_input(item, self.now, *self._order())
        if isinstance(item, Dispatch) and self._unknown(mailbox):
            value = value[:-1] + b',"unknown_recipient":true}'
        self.work.records.append(Record(Topic.MAILBOX, mailbox, value))

    def _unknown(self, mailbox: str) -> bool:
        """A recipient this partition does not know yet (their profile is on another partition, on its way
        through the directory topic): their box takes their time zone and quiet hours when it acts."""
        return mailbox not in getattr(self.stage, "directory", {mailbox: None})

    @property
    def digests(self) -> bool:
        return self.stage.digests_enabled

    def to_digest(self, mailbox: str, item: DigestInput) -> None:
        value = encode_digest_input(item, self.now, *self._order())
        if isinstance(item, Gather) and self._unknown(mailbox):
            value = value[:-1] + b',"unknown_recipient":true}'
        self.work.records.append(Record(Topic.MAILBOX, mailbox, value))

    def open_task(self, task: Task) -> None:
        record = task.closing_record()  # README "Exits and erasure": a close carries no title or note
        self.work.records.append(Record(Topic.TASKS, task.employee_id, record.model_dump_json().encode("utf-8")))
        if task.status == "open":
            self.stage.tally(self.stage.metrics.tasks.labels(task.journey_id).inc)

    def audit(self, entry: dict[str, Any]) -> None:
        self.work.records.append(Record(Topic.AUDIT, str(entry["employee_id"]), dumps(entry)))

    def refuse(self, effect: Refuse) -> None:
        """A refused input's letter names where it was read, as every other letter of the worker does (README: the
        topic, partition and offset; ``wayfinder status`` tells a letter written again after a rebalance by them);
        a message's letter (``of_input`` false: a render error) is the engine's own."""
        where = self.place if effect.of_input else None
        letter = DeadLetter(reason=effect.reason, raw=effect.raw, received_at=effect.at,
                            source=where.topic if where is not None else effect.source)
        self.work.records.append(Record(Topic.DEAD_LETTERS, None, _letter_value(letter, where)))
        self.stage.tally(self.stage.metrics.dead_letters.labels(effect.reason).inc)

    def skipped(self, effect: Skipped, subject: str) -> None:
        """A step its ``when`` skipped: nothing goes out, and the worker neither logs nor counts it (``preview``
        shows it)."""

    def observe(self, effect: Lifecycle | Diagnostic, subject: str) -> None:
        m, tally = self.stage.metrics, self.stage.tally
        if isinstance(effect, Diagnostic):
            ids: dict[str, str | int] = {"partition": self.partition}
            if self.place is not None:
                ids |= {"topic": self.place.topic, "offset": self.place.offset}
            if self.event_id is not None:
                ids["event_id"] = self.event_id
            where = diagnostic_position(effect, self.stage.positions)
            tally(partial(log_diagnostic, effect, subject, where, ids))  # logged once, with the unit kept
            tally(m.expression_failures.labels(effect.journey_id or "", effect.step_id or "", effect.kind).inc)
        elif effect.journey_id is not None:
            tally(m.enrollments.labels(effect.journey_id, effect.kind).inc)
            alone = {"enrolled": m.entered, "exited": m.exits, "completed": m.completions}.get(effect.kind)
            if alone is not None:
                tally(alone.labels(effect.journey_id).inc)


def _tick_time(raw: bytes | None) -> bool:
    """Whether a tick carries a time (``wayfinder publish``'s, on the event clock) rather than only waking."""
    try:
        tick = json.loads(raw or b"{}")
    except ValueError:
        return False
    return isinstance(tick, dict) and bool(tick.get("at"))


def failure_letter(msg: Incoming, error: BaseException, at: datetime) -> Record:
    """The dead letter of an input whose processing raised (the error's type only: its text may hold data)."""
    return dead_letter_record(msg, f"processing_error: {type(error).__name__} in {msg.topic}", at)


def dead_letter_record(msg: Incoming, reason: str, at: datetime) -> Record:
    """An input that cannot be used, for the dead-letter topic: why, the original bytes, and where it was."""
    letter = DeadLetter.of(reason, msg.value or b"", at, source=msg.topic)
    return Record(Topic.DEAD_LETTERS, msg.key.decode("utf-8", "replace") if msg.key else None,
                  _letter_value(letter, Place(msg.topic, msg.partition, msg.offset)))


def _letter_value(letter: DeadLetter, place: Place | None) -> bytes:
    """A dead letter as the topic holds it: with the partition and offset of the input it is, when it is one."""
    value = letter.model_dump(mode="json")
    if place is not None:
        value |= {"partition": place.partition, "offset": place.offset}
    return dumps(value)


_DECISIONS = (Decide, Dispatch, Gather, OpenTask, Refuse)
"""The effects that are decisions an event caused (``wayfinder_event_to_decision_seconds``): a message decided or on
its way to the recipient's mailbox, a task, a dead letter. Not a profile update, whose contact details go to the
directory topic, nor anything else a unit of several inputs wrote before this one."""

_Box = TypeVar("_Box", Dispatch, Gather)


def _as_known(item: _Box, person: Profile) -> _Box:
    """A message decided before its recipient was known on the deciding partition, with the recipient's own time
    zone and quiet hours (as the deciding partition would have used them had it known the recipient); all else
    (what it does while they are on leave) as the core decided."""
    return replace(item, timezone=person.timezone, quiet_hours=person.quiet_window)


def _bytes(records: list[Record]) -> int:
    return sum(len(r.value) for r in records if r.value is not None)


def _contact(state: EmployeeState | None) -> dict[str, Any] | None:
    if state is None or state.forgotten:
        return None
    p = state.profile
    contact: dict[str, Any] = {"id": p.id, **{f: p.fields[f] for f in CONTACT_FIELDS if f in p.fields}}
    if p.preferences:
        # a copy: the core changes the profile's preferences in place, and this is the "before" it is compared with
        # (the same dict, a person's later preference changes never reached the directory)
        contact["preferences"] = copy.deepcopy(p.preferences)
    return contact


def profile_from_contact(data: object) -> Profile:
    """A person as the directory topic has them. Raises ``ValueError`` for a record that is no JSON object with an id
    (the workers write none: its readers skip such a record and go on)."""
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
        msg = "a directory record is a JSON object with a person's id"
        raise ValueError(msg)
    prefs = data.get("preferences") or {}
    return Profile(id=str(data["id"]), fields={k: v for k, v in data.items() if k in CONTACT_FIELDS},
                   preferences=prefs if isinstance(prefs, dict) else {})


class MailboxStage(Stage):
    name = "mailboxes"

    directory: dict[str, Profile] = {}  # noqa: RUF012 - the worker's shared directory, set by the worker
    sources = 1  # employee partitions feeding the mailbox topic (their watermarks order it on the event clock)
    release_per_wake = 200  # waiting inputs acted on per input or tick; the worker ticks again while more are ready

    def __init__(self, table: Table, clock: StreamClock, metrics: StreamMetrics,
                 committed: Callable[[str, int], int | None], mailbox: Mailbox, *, ticks_topic: str,
                 digests: Digests | None = None) -> None:
        super().__init__(table, clock, metrics, committed)
        self.mailbox = mailbox
        self.ticks_topic = ticks_topic
        self.digests = digests
        self.waiting = self.queues[ordering.BUFFER_PREFIX] = ordering.Waiting()
        # what a mailbox held when read for this input, and where its ids are stored
        self._held_before: dict[str, tuple[held.HeldDict | None, held.Layout]] = {}
        self._limit: int | None = None  # fewer inputs per unit after a unit too large for Kafka
        self._released = 0

    def _process(self, msg: Incoming, handle: Callable[[Work, Incoming], None]) -> list[Record]:
        try:
            return super()._process(msg, handle)
        finally:
            self._limit = None

    def fewer_inputs(self) -> bool:
        """A unit that acted on several waiting inputs is tried again with one; one that acted on one, with none
        (that input becomes a dead letter on its own)."""
        if self._released == 0 or self._limit == 0:
            return False
        self._limit = 1 if self._released > 1 else 0
        return True

    def handle(self, work: Work, msg: Incoming) -> None:
        env = json.loads(msg.value or b"{}")
        p = msg.partition
        if self.clock.mode == "event":
            self._in_event_order(work, msg, env)
            return
        if msg.topic == self.ticks_topic or env.get("kind") == "tick":
            if env.get("at"):
                self.clock.observe(p, parse_time(env["at"]))
            self._fire(work, p, self.clock.now(p))
            return
        env["rid"] = (msg.key or b"").decode("utf-8")
        self._act(work, p, env)

    def _act(self, work: Work, p: int, env: dict[str, Any]) -> None:
        """One input for the mailbox of ``env["rid"]`` (the record's key), at its decision time; a digest input
        goes to the recipient's digest box instead."""
        if env.get("box") == "digest":
            self._digest_input(work, p, str(env["rid"]), env)
            return
        item, at = decode_mailbox_input(env)
        rid = str(env["rid"])
        if env.get("unknown_recipient") and isinstance(item, Dispatch) and rid in self.directory:
            item = _as_known(item, self.directory[rid])
        now = self.clock.at_least(at, p)
        self._fire(work, p, now, rid)
        self._keep(work, p, rid, self.mailbox.on_input(self._load(work, rid), item, now), now)
        if isinstance(item, ForgetMailbox):  # the recipient was erased: their timers' keys become tombstones
            self.forget_timers(work, p, rid)

    # -- the event clock: inputs in the order of their decisions (streams.ordering) ---------------------
    def _in_event_order(self, work: Work, msg: Incoming, env: dict[str, Any]) -> None:
        p = msg.partition
        kind = env.get("kind")
        if kind == "watermark":
            key = ordering.watermark_key(p)
            merged = ordering.merge_watermark(self.read(work, key), int(env["source"]), parse_time(env["at"]))
            if merged is not None:
                work.writes[key] = merged
        elif msg.topic != self.ticks_topic and kind != "tick":
            if kind not in INPUT_KINDS:  # refused as itself, never kept to fail every wake-up of its partition
                raise unknown_kind(kind)
            env["rid"] = (msg.key or b"").decode("utf-8")
            origin = str(env.get("o") or f"9999:{msg.topic}:{msg.offset:012d}")
            key = ordering.buffer_key(p, parse_time(env["at"]), origin, str(env.get("k") or ""))
            work.writes[key] = dumps(env)
            self.waiting.add(p, key)
        self._release(work, p)

    def _release(self, work: Work, p: int) -> None:
        """Act on the waiting inputs at or before the lowest watermark, in order; then fire what is due by it."""
        self._released = 0
        mark = ordering.lowest_watermark(self.read(work, ordering.watermark_key(p)), self.sources)
        if mark is None:
            return
        until = ordering.micros(mark)
        limit = self.release_per_wake if self._limit is None else self._limit
        while (key := self.waiting.first(p)) is not None and ordering.waiting_since(key) <= until:
            if self._released >= max(limit, 1) or _bytes(work.records) > self.max_record_bytes:
                return  # the rest on the next wake-up (the worker ticks while inputs are ready)
            self.waiting.pop(p)
            raw = self.read(work, key)
            if raw is None:
                continue
            work.writes[key] = None
            self._released += 1
            if limit == 0:
                self._refuse_waiting(work, p, raw)
                return
            self._act(work, p, json.loads(raw))
        self.clock.observe(p, mark)
        self._fire(work, p, mark)

    def _refuse_waiting(self, work: Work, p: int, raw: bytes) -> None:
        """A waiting input whose own unit would be too large for Kafka (its state, a record or the entry, as the
        unit tried with it found): a dead letter (its start), with a metric."""
        env = json.loads(raw)
        shown = dumps({k: env.get(k) for k in ("kind", "rid", "at", "o")})
        what = self._refused
        work.records.append(dead_letter_record(Incoming(Topic.MAILBOX, p, -1, None, shown, None),
                                               f"{what}_too_large: acting on this mailbox input would write more "
                                               f"than {self.max_record_bytes} bytes", self.clock.wall()))
        self.tally(self.metrics.dead_letters.labels(f"{what}_too_large").inc)

    def ready(self, partition: int) -> bool:
        """Whether waiting inputs could be acted on now (the worker then sends this partition a tick)."""
        key = self.waiting.first(partition)
        if key is None or not self.waiting_loaded(partition):
            return False
        mark = ordering.lowest_watermark(self.table.get(ordering.watermark_key(partition)), self.sources)
        return mark is not None and ordering.waiting_since(key) <= ordering.micros(mark)

    def waiting_loaded(self, partition: int) -> bool:
        return self.timers.loaded(partition)


    def _load(self, work: Work, rid: str) -> MailboxState | None:
        """The recipient's mailbox: as ``_keep`` last left it in the cache (this unit's writes included), else from
        this unit's writes or the table; what it holds is noted, object by object, with where its ids are stored,
        so that ``_keep`` writes only what changed."""
        state, known = self._cached_mailbox(work, rid)
        layout: held.Layout
        if known is not None:
            # What ``_keep`` left, this unit's own write included: a wake-up acting on many inputs to one busy
            # mailbox reads it once, not each time.
            layout = known
        else:
            raw = self.read(work, f"s:{rid}")
            if raw is None:
                state, layout = None, held.Layout()
            elif state is not None:
                layout = held.layout_of(raw, lambda k: self.read(work, k))
            else:
                state, layout = held.read_mailbox(raw, lambda k: self.read(work, k))
        marked: held.HeldDict | None = None
        if state is not None:
            if not isinstance(state.pending, held.HeldDict):
                state.pending = held.HeldDict(state.pending)
            marked = state.pending
            marked.mark()
        self._held_before[rid] = (marked, layout)
        return state

    def stored(self, rid: str) -> MailboxState | None:
        """The recipient's mailbox as the table holds it (its record joined with its held messages)."""
        raw = self.table.get(f"s:{rid}")
        return held.join(raw, self.table.get) if raw is not None else None

    def _keep(self, work: Work, partition: int, rid: str, out: MailboxOutcome, now: datetime) -> None:
        key = f"s:{rid}"
        raw = self.read(work, key)
        marked, layout = self._held_before.pop(rid)  # (``_load`` ran for this outcome)
        if out.state is not None or raw is not None:  # a forgotten mailbox: tombstones in the table and changelog
            work.writes.update(held.split(out.state, marked, layout, rid))
        self.remember(partition, f"L:{rid}", (out.state, layout) if out.state is not None else None)
        self.remember(partition, key, out.state)
        carry_out(out.effects, StagePort(self, work, partition, now), rid)

    # -- digest boxes (README "Digests"): state under ``g:<recipient>``, beside the mailbox ----------------
    def _digest_input(self, work: Work, partition: int, rid: str, env: dict[str, Any]) -> None:
        if self.digests is None:
            msg = "a digest input reached a mailbox stage built without digests (pass digests=Digests(...))"
            raise RuntimeError(msg)
        item, at = decode_digest_input(env)
        if env.get("unknown_recipient") and isinstance(item, Gather) and rid in self.directory:
            item = _as_known(item, self.directory[rid])
        now = self.clock.at_least(at, partition)
        self._fire(work, partition, now, rid)
        own = self._placing(work, rid) if isinstance(item, Gather) else None
        self._keep_digest(work, partition, rid, self.digests.on_input(self._load_digest(work, rid), item, now,
                                                                      own=own), now)
        if isinstance(item, ForgetMailbox):
            self.forget_timers(work, partition, rid)

    def _placing(self, work: Work, rid: str) -> Placing | None:
        """The recipient's time zone and quiet hours as their mailbox keeps them (``MailboxState.placing``), for their
        digest box to close by: from the mailbox ``_keep`` last left in the cache (this unit's write included), else
        from its record alone (not its held messages)."""
        state, _ = self._cached_mailbox(work, rid)
        if state is not None:
            return state.placing
        raw = self.read(work, f"s:{rid}")
        return held.placing_of(raw) if raw is not None else None

    def _cached_mailbox(self, work: Work, rid: str) -> tuple[MailboxState | None, held.Layout | None]:
        """The recipient's mailbox object in the cache when it is this unit's latest: with the layout ``_keep`` kept
        beside it (it remembers what it writes, this unit's own write included; an undone unit drops what it took
        from the cache), or without one when this unit has not written it (the table's record is what the object
        was dumped as); (None, None) when the cache cannot tell."""
        hit = self.cached(f"s:{rid}")
        if not isinstance(hit, MailboxState):
            return None, None
        known = self.cached(f"L:{rid}")  # the layout kept with the state object it describes
        if isinstance(known, tuple) and known[0] is hit:
            return hit, known[1]
        return (hit, None) if f"s:{rid}" not in work.writes else (None, None)

    def _load_digest(self, work: Work, rid: str) -> DigestState | None:
        return self.load_model(work, f"g:{rid}", DigestState)

    def _keep_digest(self, work: Work, partition: int, rid: str, out: DigestOutcome, now: datetime) -> None:
        key = f"g:{rid}"
        if out.state is not None:
            self.keep_model(work, partition, key, out.state)
        else:
            if self.read(work, key) is not None:
                work.writes[key] = None
            self.remember(partition, key, None)
        carry_out(out.effects, StagePort(self, work, partition, now), rid)

    def _fire(self, work: Work, partition: int, now: datetime, owner: str | None = None) -> None:
        for timer, due, _ in self.due_timers(work, partition, now, owner):
            if isinstance(timer, DigestTimer) and self.digests is not None:
                at = self.clock.at_least(due, partition)
                rid = timer.recipient_id
                self._keep_digest(work, partition, rid,
                                  self.digests.on_timer(self._load_digest(work, rid), timer, at), at)
                continue
            if not isinstance(timer, MailboxTimer):
                continue
            at = self.clock.at_least(due, partition)
            self._keep(work, partition, timer.recipient_id,
                       self.mailbox.on_timer(self._load(work, timer.recipient_id), timer, at), at)
