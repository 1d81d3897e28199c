"""The embedded backend: ``wayfinder serve --out DIR`` on the output folder of ``demo`` or ``simulate``.

Decisions are appended to ``DIR/decisions.jsonl``; then the embedded engine runs again over the
original events plus every decision, and its results are written back to ``DIR`` (the same files
``simulate`` writes), so the pages and ``wayfinder deliver --messages DIR`` see the new state.

The embedded world has its own clock (the events' virtual time). A decision is stamped at the
later of the wall clock, the end of the simulated run, and the creation of the message decided
on, so that the engine always sees it after the message it is about; the run then goes on for
``settle`` past the last decision, so an approved message can leave quiet hours, and on to the time of an approved
message still deferred then when that is at most ``SETTLE_LIMIT`` after its decision (a weekend's quiet hours); one
deferred further (a pause to next year) stays ``deferred`` at its time.

``record`` writes only what the engine reads back (``events.recordable``); a line of ``decisions.jsonl`` it cannot
read (written by hand, or by an older ``serve``) is a dead letter of the run, as any bad input line is, and the
pages start all the same.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from wayfinder.connectors.switch import CONTROL_FILE, ControlFile, ControlRecord, Switch
from wayfinder.journeys.events import CloudEvent, DecodeError, decode_event
from wayfinder.journeys.loader import Definitions
from wayfinder.journeys.records import DeadLetter
from wayfinder.safety.erasure import erasures
from wayfinder.streams.embedded import EmbeddedRunner, last_stated, read_event_file
from wayfinder.web.events import as_kept, recordable, to_line
from wayfinder.web.store import Store

log = logging.getLogger(__name__)
Check = Callable[[Store], None]
"""Run by ``record`` under its lock, against the store as it is then: raises to refuse the event (e.g. a 409 when
the message was decided meanwhile), so checking and recording are one step."""
DECISIONS_FILE = "decisions.jsonl"
SETTLE_ROUNDS = 5  # runs on to an approved message's time, at most this many times (a cap may defer it again)
SETTLE_LIMIT = timedelta(days=4)  # ... when it is at most this long after its decision (quiet hours, a weekend)
Writer = Callable[[EmbeddedRunner, Path], None]


@dataclass(frozen=True)
class World:
    """Where the embedded engine's inputs are: definitions, the events file, how far the clock ran."""

    defs: Definitions
    events: Path | None = None  # None on Kafka: the events are on their topics
    until: datetime | None = None
    settle: timedelta = timedelta(days=1)


class Backend(Protocol):
    """What the pages use: the embedded engine's output folder, or the Kafka topics (``kafka_backend``)."""

    world: World
    store: Store
    trigger_events: list[CloudEvent]
    lifecycle: dict[str, dict[str, int]]

    def now(self, *, not_before: datetime | None = None) -> datetime: ...

    def record(self, event: CloudEvent, *, check: Check | None = None) -> bool: ...

    def control(self, record: ControlRecord) -> None: ...

    def switch(self) -> Switch:
        """The stop switch as ``wayfinder deliver`` reads it (whoever set it: these pages or ``wayfinder sending``)."""
        ...

    def ready_reasons(self) -> list[str]:
        """Why the pages are not ready (for ``/readyz``); empty when they are."""
        ...

    def loading(self) -> str | None:
        """Why no page but ``/healthz`` and ``/readyz`` may answer yet (the store is still being read), else None."""
        ...

    def live_reasons(self) -> list[str]:
        """Why the process should be restarted (for ``/healthz``); empty while it can do its work."""
        ...


class EmbeddedBackend:
    """Holds the latest run; ``record`` appends a decision and runs the engine again."""

    def __init__(self, out: Path, world: World, *, write: Writer, now: Callable[[], datetime]) -> None:
        self.out = out
        self.world = world
        self._write = write
        self._now = now
        self._lock = threading.Lock()
        self.store = Store()
        self.lifecycle: dict[str, dict[str, int]] = {}
        self.trigger_events: list[CloudEvent] = []
        self.base_until: datetime | None = None
        self._control = ControlFile(out / CONTROL_FILE)
        self.reload()

    def loading(self) -> str | None:
        """Never: the run's results are read when the backend is made, before ``serve`` listens."""
        return None

    def live_reasons(self) -> list[str]:
        return []

    def ready_reasons(self) -> list[str]:
        """Ready when the run's folder is there and writable (decisions are appended to it)."""
        ok = self.out.is_dir() and os.access(self.out, os.W_OK)
        return [] if ok else ["the output folder is missing or read-only"]

    @property
    def decisions_path(self) -> Path:
        return self.out / DECISIONS_FILE

    def now(self, *, not_before: datetime | None = None) -> datetime:
        """The embedded world's time for a new decision (see the module's doc)."""
        candidates = [self._now()] + [t for t in (self.base_until, not_before) if t is not None]
        return max(candidates)

    def _read_decisions(self) -> tuple[list[CloudEvent], list[DeadLetter], list[int]]:
        if not self.decisions_path.is_file():
            return [], [], []
        read = read_event_file(self.decisions_path)
        for letter in read.dead_letters:  # the line number and the reason's code only: no personal data
            log.warning("%s:%s: not a decision event (%s): a dead letter of the run", DECISIONS_FILE, letter.line,
                        letter.reason.split(":")[0])
        return read.events, read.dead_letters, read.lines

    def reload(self) -> None:
        """Read the events and decisions again and run the engine over them; write its results."""
        if self.world.events is None:
            msg = "the embedded backend needs the events file"
            raise ValueError(msg)
        read = read_event_file(self.world.events)
        self.trigger_events = read.events
        last = max((e.time for e in read.events), default=None)
        self.base_until = self.world.until or last_stated(read.dead_letters, last)  # as simulate runs
        decisions, bad_decisions, decision_lines = self._read_decisions()
        runner = EmbeddedRunner(self.world.defs)
        runner.dead_letters.extend([*read.dead_letters, *bad_decisions])
        ends = [t for t in (self.base_until, *(d.time + self.world.settle for d in decisions)) if t is not None]
        about_people = [(d, n) for d, n in zip(decisions, decision_lines, strict=True)  # the switch: not for the
                        if not d.type.startswith("wayfinder.sending.")]  # engine (no employee)
        # each event with its file and line, so a refused one's dead letter names them as simulate's does (decided
        # 2026-12-06: after a first decision, the folder's letters named the event's CloudEvents source, no line)
        places: list[tuple[str, int] | None] = [*((self.world.events.name, n) for n in read.lines),
                                                *((DECISIONS_FILE, n) for _, n in about_people)]
        runner.run([*read.events, *(d for d, _ in about_people)], max(ends) if ends else None, places)
        for _ in range(SETTLE_ROUNDS):  # an approved message deferred past the settle (a weekend's quiet hours, a
            waiting = [m.scheduled_for for m in runner.messages.values()  # pause) goes at its time, as it would
                       if m.status == "deferred" and m.reviewer_id is not None and m.reviewed_at is not None
                       and m.scheduled_for <= m.reviewed_at + SETTLE_LIMIT]  # not a pause to 2030: the whole
            # world would run to then, every other person's messages of the years between sent by ``deliver``
            if not waiting:
                break
            runner.advance_to(max(waiting))
        self._write(runner, self.out)
        erased = erasures(runner.audit_records)
        if erased:
            decisions = self._forget_words(decisions, erased)
        counts: dict[str, Counter[str]] = {}
        for (jid, kind), n in runner.stats.lifecycle.items():
            counts.setdefault(jid, Counter())[kind] += n
        self.lifecycle = {jid: dict(c) for jid, c in counts.items()}
        self.store = Store(messages=dict(runner.messages), tasks=dict(runner.tasks),
                           profiles={pid: s.profile for pid, s in runner.states.items()},
                           decisions=decisions, switch=self.switch, erased=frozenset(runner.erased))

    def _forget_words(self, decisions: list[CloudEvent], erased: dict[str, datetime]) -> list[CloudEvent]:
        """The decisions as they stay once their subjects are erased: one made up to its subject's erasure loses
        what a person wrote in it (``events.without_words``), in the store and in ``decisions.jsonl`` (rewritten
        whole, then renamed; the other lines byte for byte). Its id, time, decision and actor stay: the engine
        decides it as before, and the records it made of that person already say nothing of what was written."""
        plain: dict[tuple[str, str], CloudEvent] = {}
        for d in decisions:
            kept = as_kept(d, erased)
            if kept is not None:
                plain[(d.source, d.id)] = kept
        if not plain:
            return decisions
        lines = []
        with self.decisions_path.open(encoding="utf-8") as f:
            for line in f:
                try:
                    event = decode_event(line.encode("utf-8"))
                except DecodeError:  # a line the run dead-letters: kept as written
                    lines.append(line)
                    continue
                kept = plain.get((event.source, event.id))
                lines.append(line if kept is None else to_line(kept) + "\n")
        spare = self.decisions_path.with_name(DECISIONS_FILE + ".erasing")
        with spare.open("w", encoding="utf-8") as f:
            f.writelines(lines)
            f.flush()
            os.fsync(f.fileno())
        spare.replace(self.decisions_path)
        return [plain.get((d.source, d.id), d) for d in decisions]

    def record(self, event: CloudEvent, *, check: Check | None = None) -> bool:
        """Append a decision and run the engine again; False when the same event was already recorded. An event the
        engine would refuse raises ``events.Unrecordable`` and nothing is written; ``check`` (see ``Check``) runs
        under the lock first."""
        recordable(event)
        with self._lock:
            if check is not None:
                check(self.store)
            if any(d.id == event.id and d.source == event.source for d in self.store.decisions):
                return False
            with self.decisions_path.open("a", encoding="utf-8") as f:
                f.write(to_line(event) + "\n")
                f.flush()
                os.fsync(f.fileno())
            self.reload()
            return True

    def control(self, record: ControlRecord) -> None:
        """The stop switch that ``wayfinder deliver --messages DIR`` reads beside the messages."""
        self._control.append(record)

    def switch(self) -> Switch:
        """The control log beside the messages, read again when it changed (as ``deliver`` reads it)."""
        return self._control.refresh()


def read_decisions(path: Path) -> list[dict[str, object]]:
    """The decision events of a ``decisions.jsonl``, as JSON objects (for tools and tests)."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
