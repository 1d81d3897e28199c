"""The Kafka backend: ``wayfinder serve --kafka`` over what the workers put on the broker.

A thread follows ``outbound.messages`` (the latest record of a ``message_id`` is its state; pending reviews are
the ``pending_approval`` ones), ``tasks`` (the latest record of a ``task_id``), ``decisions`` (what people
decided, from any ``serve``) and the compacted ``directory`` (profiles: names, locale, preferences and the HR
partner, for access and the preferences page), each from its beginning, so the local store is rebuilt from
the topics whenever ``serve`` starts. People's decisions, preference changes, task claims and completions
are produced to ``decisions`` (keyed by the employee, acknowledged by all replicas before the page answers);
the stop switch goes to the ``control`` topic that ``wayfinder deliver --kafka`` reads (and that this backend
follows too, folding it with the switch's own rules, for the overview's paused state), not to ``decisions``: it is
not an event about an employee. It follows ``audit`` too: a message about or to a person erased since it was made
(and a digest that went with one) is kept without its content, as ``simulate``'s files and ``deliver --kafka`` keep
it (``records.erased_since``): ``outbound.messages`` is not rewritten by an erasure.

The store a page sees is replaced whole after each batch read (never changed under a reader), so pages need
no lock; a decision this process produced is in its store at once, before the topic brings it back.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from wayfinder.connectors.erasures import note as note_erasure
from wayfinder.connectors.switch import ControlRecord, Switch
from wayfinder.journeys.events import CloudEvent, DecodeError, decode_event
from wayfinder.journeys.profile import Profile
from wayfinder.journeys.records import Message, Task, erased_since, task_as_read, task_erased_since
from wayfinder.streams.settings import WorkerSettings
from wayfinder.streams.stage import profile_from_contact
from wayfinder.vocabulary import Topic
from wayfinder.web import events as ev
from wayfinder.web.backend import Check, World
from wayfinder.web.events import as_kept, recordable, to_line
from wayfinder.web.store import Store

__all__ = ["KafkaBackend"]

log = logging.getLogger(__name__)
FOLLOWED = (Topic.OUTBOUND_MESSAGES, Topic.TASKS, Topic.DECISIONS, Topic.DIRECTORY, Topic.CONTROL, Topic.AUDIT)
SWITCH_EVENTS = (ev.SENDING_PAUSED, ev.SENDING_RESUMED)
NOT_READ = "the Kafka topics are not read to their end yet"
STOPPED = "serve stopped following the Kafka topics (see its log)"
SLOW_READ_SECONDS = 60.0  # still reading after this long: said once in the log (/readyz says it all along)


class KafkaBackend:
    """The pages' backend on Kafka: ``store``, ``now``, ``record`` and ``control`` like ``EmbeddedBackend``."""

    def __init__(self, settings: WorkerSettings, world: World, *, now: Callable[[], datetime],
                 ack_timeout: float = 10.0) -> None:
        self.settings = settings
        self.world = world
        self.trigger_events: list[CloudEvent] = []  # the HRIS events stay on their topic: no trigger is shown
        self.lifecycle: dict[str, dict[str, int]] = {}  # enrollments are the workers' (their metrics say)
        self._now = now
        self._ack_timeout = ack_timeout
        self._lock = threading.Lock()
        self._recording = threading.Lock()  # one record at a time: its check and its write are one step
        self._messages: dict[str, Message] = {}
        self._tasks: dict[str, Task] = {}
        self._profiles: dict[str, Profile] = {}
        self._profiles_as_of: dict[str, datetime] = {}
        self._erased: set[str] = set()  # a tombstone on the directory: the person was erased
        self._erasures: dict[str, datetime] = {}  # from the audit topic: who was erased, and when (the latest)
        self._decisions: list[CloudEvent] = []
        self._decision_keys: set[tuple[str, str]] = set()
        self._switch = Switch()
        self._switched: set[ControlRecord] = set()  # applied already (a record this process produced comes back)
        self._switch_view = Switch()
        self.store = Store()
        self._stop = threading.Event()
        self._caught_up = threading.Event()
        self._producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all", retries=5)
        self._thread = threading.Thread(target=self._follow, name="wayfinder-serve-kafka", daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------
    def follow(self) -> None:
        """Start following the topics and return at once: ``loading`` says when they are read to their end."""
        self._thread.start()

    def start(self, timeout: float = 60.0) -> bool:
        """Start following the topics; True once everything on them when starting has been read."""
        self.follow()
        return self._caught_up.wait(timeout)

    def loading(self) -> str | None:
        """Why no page may be shown yet (the store is not read to the topics' end: a review queue, a task inbox
        would be half of it), else None."""
        return None if self._caught_up.is_set() else NOT_READ

    def live_reasons(self) -> list[str]:
        """Why the process is of no more use (for a liveness probe): the thread that follows the topics died, so
        restarting is the cure. Empty while it follows them, before it starts, and once ``close`` stopped it."""
        if self._thread.ident is None or self._thread.is_alive() or self._stop.is_set():
            return []
        return [STOPPED]

    def ready_reasons(self) -> list[str]:
        """Why the pages are not ready (for a readiness probe): empty once the topics were read to their end
        and the thread still follows them."""
        reasons = [] if self._caught_up.is_set() else [NOT_READ]
        if not self._thread.is_alive():
            reasons.append(STOPPED)
        return reasons

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._producer.close(timeout=5)

    # -- what the pages call -----------------------------------------------------------------
    def now(self, *, not_before: datetime | None = None) -> datetime:
        """The wall clock; never before ``not_before`` (a decision comes after the message it is about)."""
        now = self._now()
        return max(now, not_before) if not_before is not None else now

    def record(self, event: CloudEvent, *, check: Check | None = None) -> bool:
        """Produce a decision to the decisions topic and wait for the broker; False when already recorded. The stop
        switch's events are not for the workers: they are kept from the control topic (``control``). An event the
        workers would refuse raises ``events.Unrecordable``; ``check`` runs first, with no other record between."""
        recordable(event)
        with self._recording:
            if check is not None:
                check(self.store)
            return self._record(event)

    def _record(self, event: CloudEvent) -> bool:
        with self._lock:
            if (event.source, event.id) in self._decision_keys:
                return False
        if event.type in SWITCH_EVENTS:
            with self._lock:
                self._add_decision(event)
                self._publish()
            return True
        future = self._producer.send(self.settings.topic(Topic.DECISIONS), key=event.subject.encode("utf-8"),
                                     value=to_line(event).encode("utf-8"))
        future.get(timeout=self._ack_timeout)  # raises when the broker did not take it: the page shows an error
        with self._lock:
            self._add_decision(event)
            self._publish()
        return True

    def control(self, record: ControlRecord) -> None:
        """The stop switch for ``deliver --kafka``: a record on the control topic."""
        key = (record.journey_id or "all").encode("utf-8")  # as `wayfinder sending`: one scope, one partition, in order
        future = self._producer.send(self.settings.topic(Topic.CONTROL), key=key,
                                     value=record.model_dump_json().encode("utf-8"))
        future.get(timeout=self._ack_timeout)
        with self._lock:
            self._switch_to(record)
            self._publish()

    def switch(self) -> Switch:
        """The stop switch as ``deliver --kafka`` folds it from the control topic (a copy: never changed under
        a reader)."""
        return self._switch_view

    # -- following the topics ----------------------------------------------------------------
    def _follow(self) -> None:
        consumer = KafkaConsumer(bootstrap_servers=self.settings.bootstrap_servers, enable_auto_commit=False,
                                 group_id=None)
        try:
            names = {self.settings.topic(t): t for t in FOLLOWED}
            tps = [TopicPartition(name, p) for name in names for p in sorted(consumer.partitions_for_topic(name) or ())]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            ends = consumer.end_offsets(tps)
            slow_at: float | None = time.monotonic() + SLOW_READ_SECONDS
            while not self._stop.is_set():
                batches = consumer.poll(timeout_ms=500, max_records=5000)
                if batches:
                    with self._lock:
                        for tp, records in batches.items():
                            for r in records:
                                self._apply(names[tp.topic], r.key, r.value, r.timestamp)
                        self._publish()
                if not self._caught_up.is_set() and all(consumer.position(tp) >= ends[tp] for tp in tps):
                    self._caught_up.set()
                elif slow_at is not None and not self._caught_up.is_set() and time.monotonic() >= slow_at:
                    slow_at = None
                    log.warning("serve: still reading the Kafka topics after %.0f s; the pages answer 503 (and "
                                "/readyz says why) until they are read to their end", SLOW_READ_SECONDS)
        except Exception:  # the pages keep the last store; the log says why it stopped following
            log.exception("serve: stopped following the Kafka topics")
            raise
        finally:
            consumer.close()

    def _apply(self, topic: str, key: bytes | None, value: bytes | None, timestamp: int | None = None) -> None:
        try:
            if topic == Topic.OUTBOUND_MESSAGES and value is not None:
                m = Message.model_validate_json(value)
                self._messages[m.message_id] = self._kept(m)
            elif topic == Topic.TASKS and value is not None:
                t = Task.model_validate_json(value)
                self._tasks[t.task_id] = self._kept_task(task_as_read(self._tasks.get(t.task_id), t))
            elif topic == Topic.DIRECTORY:
                person = (key or b"").decode("utf-8")
                if value is None:
                    self._profiles.pop(person, None)
                    self._profiles_as_of.pop(person, None)
                    self._erased.add(person)
                else:
                    self._profiles[person] = profile_from_contact(json.loads(value))
                    self._erased.discard(person)
                    if timestamp is not None and timestamp >= 0:  # when the worker wrote it: what it had by then
                        self._profiles_as_of[person] = datetime.fromtimestamp(timestamp / 1000, UTC)
            elif topic == Topic.DECISIONS and value is not None:
                self._add_decision(decode_event(value))
            elif topic == Topic.CONTROL and value is not None:
                self._switch_to(ControlRecord.model_validate_json(value))
            elif topic == Topic.AUDIT:
                self._erase(value)
        except (ValueError, DecodeError) as e:  # the workers dead-letter bad inputs; here they are skipped
            log.warning("serve: skipped a record of %s that could not be read (%s)", topic, type(e).__name__)

    def _kept(self, message: Message) -> Message:
        """The message as the pages may show it: without its content when it says something of a person erased
        since it was made (the topic keeps what the worker decided before the erasure)."""
        if self._erasures and not message.content_erased and erased_since(self._erasures, message):
            return message.without_content()
        return message

    def _kept_task(self, task: Task) -> Task:
        """The task as the pages may show it: without its title and note when it is about or for a person erased
        since it was opened (``tasks`` is not rewritten by an erasure; a completed task stays there as it was)."""
        if self._erasures and not task.content_erased and task_erased_since(self._erasures, task):
            return task.without_content()
        return task

    def _erase(self, value: bytes | None) -> None:
        """An audit record: a new erasure takes the content of what was kept of that person (before it, on any
        partition: the topics are read side by side). Any other record costs O(1): ``note_erasure`` says whether the
        map changed (it was copied and compared on every audit record, O(erasures) each at start-up)."""
        if note_erasure(self._erasures, value):
            self._messages = {mid: self._kept(m) for mid, m in self._messages.items()}
            self._tasks = {tid: self._kept_task(t) for tid, t in self._tasks.items()}
            self._decisions = [as_kept(d, self._erasures) or d for d in self._decisions]  # a task's notes, a reason

    def _switch_to(self, record: ControlRecord) -> None:
        if record not in self._switched:
            self._switched.add(record)
            self._switch.apply(record)

    def _add_decision(self, event: CloudEvent) -> None:
        if (event.source, event.id) not in self._decision_keys:
            self._decision_keys.add((event.source, event.id))
            self._decisions.append(as_kept(event, self._erasures) or event)

    def _publish(self) -> None:
        self.store = Store(messages=dict(self._messages), tasks=dict(self._tasks), profiles=dict(self._profiles),
                           decisions=sorted(self._decisions, key=_decision_order), switch=self.switch,
                           erased=frozenset(self._erased), profiles_as_of=dict(self._profiles_as_of))
        self._switch_view = copy.deepcopy(self._switch)


def _decision_order(event: CloudEvent) -> Any:
    return event.time
