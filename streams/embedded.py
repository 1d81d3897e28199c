"""The embedded runner: the journey core on a virtual clock, with no Kafka (SPEC §7 ``simulate``).

Events run in time order (ties in file order). Before each event, every timer due at or
before its time fires, in due order; after the last event, timers up to ``until`` fire. Before an input of a
mailbox (or digest box), that box's own timers due by then fire first, as in the worker's mailbox stage.
"""

from __future__ import annotations

import heapq
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from wayfinder.journeys.digest import DigestOutcome, Digests, DigestState
from wayfinder.journeys.effects import (
    Diagnostic,
    DigestInput,
    DigestTimer,
    Effect,
    EnrollmentTimer,
    ForgetMailbox,
    Lifecycle,
    MailboxInput,
    RecipientTimer,
    Refuse,
    ReviewTimer,
    Skipped,
    Timer,
)
from wayfinder.journeys.engine import Engine
from wayfinder.journeys.events import MAX_EVENT_BYTES, CloudEvent, DecodeError, decode_event, stated_time
from wayfinder.journeys.loader import Definitions
from wayfinder.journeys.mailbox import HeldByPerson, Mailbox, MailboxOutcome
from wayfinder.journeys.profile import Profile, as_recipient
from wayfinder.journeys.records import (
    MAX_DEAD_LETTER_RAW,
    DeadLetter,
    Message,
    Task,
    erased_since,
    note_erasure,
    task_erased_since,
)
from wayfinder.journeys.state import EmployeeState, MailboxState
from wayfinder.streams.interpreter import carry_out, diagnostic_position, log_diagnostic
from wayfinder.streams.wire import timer_owner
from wayfinder.vocabulary import parse_instant

log = logging.getLogger(__name__)


RENDER_REASONS = 3


@dataclass
class Stats:
    events: int = 0
    duplicates: int = 0
    stale: int = 0
    lifecycle: Counter[tuple[str, str]] = field(default_factory=Counter)
    diagnostics: Counter[str] = field(default_factory=Counter)
    diagnostic_sites: Counter[tuple[str, str | None, str | None]] = field(default_factory=Counter)
    # The render failures' details per site, each once, the first RENDER_REASONS: which template, part and line,
    # and the kind of error (they quote no data, unlike an expression's, which stays in the DEBUG log).
    render_failures: dict[tuple[str | None, str | None], list[str]] = field(default_factory=dict)


UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class ReadEvents:
    events: list[CloudEvent]
    dead_letters: list[DeadLetter]
    lines: list[int] = field(default_factory=list)  # the line of each event, in ``events``' order


@dataclass(frozen=True)
class LongLine:
    """A line of an events file longer than an event may be: its first bytes (for the dead letter) and its length
    in bytes, the line end not counted. The rest was read past in pieces, never held (:func:`file_lines`)."""

    head: bytes
    size: int
    characters: int  # as UTF-8 (each byte that does not continue a character begins one)

    def error(self, max_bytes: int = MAX_EVENT_BYTES) -> DecodeError:
        return DecodeError(code="too_large", detail=f"event is {self.size} bytes, the limit is {max_bytes}")

    def dead_letter(self, received_at: datetime, source: str, line: int) -> DeadLetter:
        return DeadLetter.of(str(self.error()), self.head, received_at, source=source, line=line,
                             characters=self.characters)


_CONTINUATION = bytes(range(0x80, 0xC0))  # the bytes that continue a UTF-8 character


def file_lines(f: BinaryIO, max_bytes: int = MAX_EVENT_BYTES) -> Iterator[bytes | LongLine]:
    """The lines of an events file, each with its line end, in memory one at a time and at most about
    ``max_bytes`` long: a longer line is a :class:`LongLine` (a 400 MB line was read whole, and copied twice,
    before it was refused as too large)."""
    while True:
        line = f.readline(max_bytes + 2)  # the longest event, with room for "\r\n"
        if not line:
            return
        if line.endswith(b"\n") or len(line) < max_bytes + 2:
            yield line
            continue
        first, size, tail = line, len(line), line[-2:]
        characters = len(line.translate(None, _CONTINUATION))
        while not line.endswith(b"\n"):
            line = f.readline(1 << 20)
            if not line:
                break
            size += len(line)
            characters += len(line.translate(None, _CONTINUATION))
            tail = (tail + line)[-2:]
        ending = 2 if tail == b"\r\n" else 1 if tail.endswith(b"\n") else 0
        head = _whole_characters(first[:min(size - ending, MAX_DEAD_LETTER_RAW)])
        yield LongLine(head, size - ending, characters - ending)


def _whole_characters(head: bytes) -> bytes:
    """``head`` without a UTF-8 character its cut left unfinished (not an invalid byte of the line's own)."""
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.reason == "unexpected end of data":
            return head[:e.start]
    return head


def read_events(lines: Iterable[str | bytes | LongLine], source: str = "events") -> ReadEvents:
    """Decode every line; bad lines become dead letters (their time: the last good event before them)."""
    events: list[CloudEvent] = []
    numbers: list[int] = []
    dead: list[tuple[int, str, str | bytes | LongLine]] = []
    last_time: list[datetime | None] = []
    current: datetime | None = None
    for number, raw in enumerate(lines, start=1):
        if isinstance(raw, LongLine):
            dead.append((number, "", raw))
            last_time.append(current)
            continue
        if number == 1:  # a byte order mark, as some editors on Windows write, is not part of the first event
            raw = raw.removeprefix(UTF8_BOM) if isinstance(raw, bytes) else raw.removeprefix("\ufeff")
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        text = text.rstrip("\r\n")
        if not text.strip():
            continue
        try:  # the bytes themselves when there are bytes: an invalid UTF-8 byte is a dead letter, not U+FFFD
            event = decode_event(raw.rstrip(b"\r\n") if isinstance(raw, bytes) else text)
        except DecodeError as e:
            dead.append((number, str(e), raw.rstrip(b"\r\n") if isinstance(raw, bytes) else text))
            last_time.append(current)
            continue
        events.append(event)
        numbers.append(number)
        current = event.time
    first = min((e.time for e in events), default=None)
    letters = []
    for (number, reason, line), when in zip(dead, last_time, strict=True):
        at = when or first
        if at is None:
            at = datetime(1970, 1, 1, tzinfo=UTC)
        letters.append(line.dead_letter(at, source, number) if isinstance(line, LongLine)
                       else DeadLetter.of(reason, line, at, source=source, line=number))
    return ReadEvents(events, letters, numbers)


class EmbeddedRunner:
    """Drives the core over a stream of events on a virtual clock and keeps every output in memory."""

    def __init__(self, defs: Definitions, *, include_drafts: bool = False, keep_skipped: bool = False) -> None:
        self.engine = Engine(defs, include_drafts=include_drafts)
        self.mailbox = Mailbox(defs.policy)
        self.states: dict[str, EmployeeState] = {}
        self.erased: dict[str, EmployeeState] = {}  # the erased-id records (``EmployeeState.erased_record``)
        self.mailboxes: dict[str, MailboxState] = {}
        self.digest_core = Digests(defs.policy, defs.templates)
        self.digest_boxes: dict[str, DigestState] = {}
        self.messages: dict[str, Message] = {}
        self.approvals: dict[str, Message] = {}
        self.tasks: dict[str, Task] = {}
        self.dead_letters: list[DeadLetter] = []
        self.audit_records: list[dict[str, Any]] = []
        self._erasures: dict[str, datetime] = {}  # each erased id's latest erasure, for the tasks closed after it
        self.stats = Stats()
        # (employee, journey): when an event ended the enrollment early, and its type (for preview)
        self.exits: dict[tuple[str, str], list[tuple[datetime, str]]] = defaultdict(list)
        # with ``keep_skipped`` (preview): the steps each employee's ``when`` skipped, in order; simulate keeps none
        self.skips: dict[str, list[Skipped]] | None = defaultdict(list) if keep_skipped else None
        self._feeding: str | None = None  # the type of the event being fed
        self.clock: datetime | None = None
        self._timers: list[tuple[datetime, int, Timer]] = []
        self._seq = 0
        self._owned: dict[str, set[int]] = {}  # the pending timers of each owner (employee, recipient), by sequence
        self._cancelled: set[int] = set()  # timers of an erased owner, still in the heap: they do not fire
        self._keys: dict[Timer, int] = {}  # each pending timer's sequence, to forget it (``unschedule``)
        self._due: dict[int, tuple[datetime, Timer]] = {}  # each pending timer by its sequence (``_fire_own``)
        # each recipient's own timers (of its mailbox or digest box) by due time, for ``_fire_own``; an entry whose
        # timer fired, was replaced or cancelled stays until it reaches the top (``_trim``)
        self._boxes: dict[str, list[tuple[datetime, int]]] = {}
        self._now = datetime.min.replace(tzinfo=UTC)
        self._where: tuple[str, int] | None = None  # the file and line of the event being fed, when known
        self._event_id: str | None = None  # the id of the event being fed, for the log lines of its diagnostics

    # -- the clock --------------------------------------------------------------------------
    @property
    def pending_timers(self) -> int:
        return len(self._timers) - len(self._cancelled)

    def timers(self) -> list[tuple[datetime, Timer]]:
        """The timers still pending, in due order."""
        return [(due, timer) for due, seq, timer in sorted(self._timers, key=lambda t: (t[0], t[1]))
                if seq not in self._cancelled]

    def advance_to(self, until: datetime) -> None:
        """Fire every timer due at or before ``until``, in due order (ties in the order they were set)."""
        while self._timers and self._timers[0][0] <= until:
            due, seq, timer = heapq.heappop(self._timers)
            if self._keys.get(timer) == seq:
                del self._keys[timer]
            self._due.pop(seq, None)
            if seq in self._cancelled:
                self._cancelled.discard(seq)
                continue
            owner = timer_owner(timer)
            owned = self._owned.get(owner, set())
            owned.discard(seq)
            if not owned:
                self._owned.pop(owner, None)
            if isinstance(timer, RecipientTimer):
                self._trim(owner)
            self.clock = max(self.clock or due, due)
            self._fire(timer, due)
        self.clock = max(self.clock or until, until)

    def feed(self, event: CloudEvent, where: tuple[str, int] | None = None) -> None:
        """``where``: the file and line the event was read from; a dead letter of the event (refused, or its
        processing failed) names them, as a bad line's does (else the event's own ``source``)."""
        self.advance_to(event.time)
        self.stats.events += 1
        now = max(self.clock or event.time, event.time)
        try:
            outcome = self.engine.on_event(self._state(event.subject), event, now, self._directory)
        except Exception as error:  # a fault in the core loses this event, never the run (as the worker does)
            self._failed(error, "event")
            source, line = where if where is not None else (event.source, None)
            self.dead_letters.append(DeadLetter(reason=f"processing_error: {type(error).__name__} in events",
                                                raw=event.model_dump_json(), received_at=now, source=source,
                                                line=line))
            return
        self._keep(event.subject, outcome.state)
        self._where, self._event_id, self._feeding = where, event.id, event.type
        try:
            self._carry_out(outcome.effects, now, event.subject)
        finally:
            self._where, self._event_id, self._feeding = None, None, None

    def _failed(self, error: Exception, what: str) -> None:
        """Counted and logged by the error's type only (its text may hold data)."""
        self.stats.diagnostics["processing_error"] += 1
        log.error("processing_error: %s while processing a %s; it is dropped and the run goes on",
                  type(error).__name__, what)

    def run(self, events: Iterable[CloudEvent], until: datetime | None = None,
            places: Sequence[tuple[str, int] | None] = ()) -> None:
        """``places``: the file and line of each event, in ``events``' order, when known (see :meth:`feed`)."""
        ordered = sorted(enumerate(events), key=lambda p: (p[1].time, p[0]))
        for n, event in ordered:
            self.feed(event, places[n] if n < len(places) else None)
        end = until or (ordered[-1][1].time if ordered else None)
        if end is not None:
            self.advance_to(end)

    # -- internals --------------------------------------------------------------------------
    def _directory(self, person_id: str) -> Profile | None:
        """Another person, as the worker's directory has them (``as_recipient``): the two runners render alike."""
        state = self.states.get(person_id)
        return as_recipient(state.profile) if state is not None else None

    def _state(self, employee_id: str) -> EmployeeState | None:
        return self.states.get(employee_id) or self.erased.get(employee_id)

    def _keep(self, employee_id: str, state: EmployeeState | None) -> None:
        if state is not None and state.forgotten:  # erased: the record only, and none of the person's timers
            self.states.pop(employee_id, None)
            self.erased[employee_id] = state
            self._forget_timers(employee_id)
        elif state is None:
            self.states.pop(employee_id, None)
        else:
            self.erased.pop(employee_id, None)
            self.states[employee_id] = state

    def _forget_timers(self, owner: str) -> None:
        """Cancel every pending timer of ``owner`` (as the worker deletes their keys: README "Erasure")."""
        self._cancelled.update(self._owned.pop(owner, set()))
        self._boxes.pop(owner, None)  # its box's timers are all among them

    def _fire(self, timer: Timer, due: datetime) -> None:
        try:
            self._fire_one(timer, due)
        except Exception as error:  # a fault in the core loses this timer, never the run
            self._failed(error, "timer")

    def _fire_own(self, mailbox: str, now: datetime) -> None:
        """Before an input of a mailbox (or digest box) at ``now``, fire its own timers due by then, in due order
        (ties in the order they were set), as the worker's mailbox stage does before each input: one due at the very
        time of the timer whose effect the input is would otherwise fire after it. Looks at the box's own timers by
        due time only: a box holding thousands of deferred messages costs one look when none of its timers is due."""
        if not self._timers or self._timers[0][0] > now:  # nothing anywhere is due: the common case
            return
        while (top := self._trim(mailbox)) is not None and top[0] <= now:
            due, seq = heapq.heappop(self._boxes[mailbox])
            timer = self._due.pop(seq)[1]
            del self._keys[timer]
            self._cancelled.add(seq)  # taken out here: the heap drops it when it comes up
            self._owned[mailbox].discard(seq)
            self._fire(timer, due)

    def _trim(self, mailbox: str) -> tuple[datetime, int] | None:
        """The earliest pending timer of ``mailbox``'s own, after dropping the entries of timers that fired, were
        set again or cancelled (an erasure): none left, the box's entry goes."""
        heap = self._boxes.get(mailbox)
        while heap:
            seq = heap[0][1]
            if seq in self._due and seq not in self._cancelled:
                return heap[0]
            heapq.heappop(heap)
        self._boxes.pop(mailbox, None)
        return None

    def _fire_one(self, timer: Timer, due: datetime) -> None:
        if isinstance(timer, EnrollmentTimer | ReviewTimer):
            employee_id = timer.employee_id
            outcome = self.engine.on_timer(self._state(employee_id), timer, due, self._directory)
            self._keep(employee_id, outcome.state)
            self._carry_out(outcome.effects, due, employee_id)
        elif isinstance(timer, DigestTimer):
            rid = timer.recipient_id
            self._digest_outcome(rid, self.digest_core.on_timer(self.digest_boxes.get(rid), timer, due), due)
        else:
            self._mailbox_outcome(timer.recipient_id,
                                  self.mailbox.on_timer(self.mailboxes.get(timer.recipient_id), timer, due), due)

    def _carry_out(self, effects: list[Effect], now: datetime, subject: str) -> None:
        self._now = now
        carry_out(effects, self, subject)

    def _mailbox_outcome(self, mailbox: str, out: MailboxOutcome, now: datetime) -> None:
        if out.state is not None and type(out.state.pending) is dict:  # held with an index by person, as the worker
            out.state.pending = HeldByPerson(out.state.pending)  # holds them (once: the mailbox changes it in place)
        _store(self.mailboxes, mailbox, out.state)
        self._carry_out(out.effects, now, mailbox)

    def _digest_outcome(self, mailbox: str, out: DigestOutcome, now: datetime) -> None:
        _store(self.digest_boxes, mailbox, out.state)
        self._carry_out(out.effects, now, mailbox)

    # -- the port (streams.interpreter) ---------------------------------------------------------
    @property
    def digests(self) -> bool:
        return self.digest_core.enabled

    def to_digest(self, mailbox: str, item: DigestInput) -> None:
        now = self._now
        self._fire_own(mailbox, now)
        self._now = now
        box = self.mailboxes.get(mailbox)  # the recipient's choices as their mailbox heard them, to close by
        self._digest_outcome(mailbox, self.digest_core.on_input(self.digest_boxes.get(mailbox), item, now,
                                                                own=box.placing if box is not None else None), now)
        if isinstance(item, ForgetMailbox):
            self._forget_timers(mailbox)

    def schedule(self, due: datetime, timer: Timer) -> None:
        # A timer set again replaces the one it had, as in the worker, whose table keeps one per timer key: the
        # earlier one firing too woke the mailbox at a time it no longer meant (README "Timers set again").
        self.unschedule(timer)
        heapq.heappush(self._timers, (due, self._seq, timer))
        self._owned.setdefault(timer_owner(timer), set()).add(self._seq)
        self._keys[timer] = self._seq
        self._due[self._seq] = (due, timer)
        if isinstance(timer, RecipientTimer):
            heapq.heappush(self._boxes.setdefault(timer.recipient_id, []), (due, self._seq))
        self._seq += 1

    def unschedule(self, timer: Timer) -> None:
        seq = self._keys.pop(timer, None)
        if seq is not None:
            self._due.pop(seq, None)
            self._cancelled.add(seq)
            self._owned.get(timer_owner(timer), set()).discard(seq)

    def record(self, message: Message) -> None:
        self.messages[message.message_id] = message
        if message.status == "pending_approval":
            self.approvals[message.message_id] = message
        else:
            self.approvals.pop(message.message_id, None)

    def to_mailbox(self, mailbox: str, item: MailboxInput) -> None:
        now = self._now
        self._fire_own(mailbox, now)
        self._now = now
        self._mailbox_outcome(mailbox, self.mailbox.on_input(self.mailboxes.get(mailbox), item, now), now)
        if isinstance(item, ForgetMailbox):  # the recipient was erased
            self._forget_timers(mailbox)

    def open_task(self, task: Task) -> None:
        if task.status != "open" or task.task_id not in self.tasks:  # a replay's open keeps the first; a close wins
            if self._erasures and not task.content_erased and task_erased_since(self._erasures, task):
                task = task.without_content()  # closed after its assignee's erasure: their state kept its text
            self.tasks[task.task_id] = task

    def audit(self, entry: dict[str, Any]) -> None:
        self.audit_records.append(entry)
        if entry.get("action") == "privacy.erasure":  # what is kept of messages about or to them: no content
            erased = {entry["employee_id"]: parse_instant(str(entry["at"]))}
            note_erasure(self._erasures, entry)
            for mid, m in list(self.messages.items()):  # a digest that went says what each message in it said
                if not m.content_erased and erased_since(erased, m):
                    self.messages[mid] = m.without_content()
            for tid, t in list(self.tasks.items()):  # a task already completed is no longer in their state
                if not t.content_erased and task_erased_since(erased, t):
                    self.tasks[tid] = t.without_content()

    def refuse(self, effect: Refuse) -> None:
        # A refused event's letter names its file and line; a message's (render_error) is the engine's own, as on
        # the worker: the event that led to it was processed and is no bad line.
        where = self._where if effect.of_input else None
        source, line = where if where is not None else (effect.source, None)
        self.dead_letters.append(DeadLetter(reason=effect.reason, raw=effect.raw, received_at=effect.at,
                                            source=source, line=line))

    def skipped(self, effect: Skipped, subject: str) -> None:
        if self.skips is not None:
            self.skips[subject].append(effect)

    def observe(self, effect: Lifecycle | Diagnostic, subject: str) -> None:
        if isinstance(effect, Diagnostic):
            log_diagnostic(effect, subject, diagnostic_position(effect, self.engine.defs.positions),
                           {"event_id": self._event_id} if self._event_id is not None else None)
            self.stats.diagnostics[effect.kind] += 1
            self.stats.diagnostic_sites[(effect.kind, effect.journey_id, effect.step_id)] += 1
            if effect.kind == "render_failed":
                reasons = self.stats.render_failures.setdefault((effect.journey_id, effect.step_id), [])
                if effect.detail not in reasons and len(reasons) < RENDER_REASONS:  # each once, a few
                    reasons.append(effect.detail)
        elif effect.kind == "duplicate":
            self.stats.duplicates += 1
        elif effect.kind == "stale":
            self.stats.stale += 1
        else:
            self.stats.lifecycle[(effect.journey_id or "", effect.kind)] += 1
            if effect.kind == "exited" and effect.journey_id is not None and self.clock is not None:
                self.exits[(subject, effect.journey_id)].append((self.clock, self._feeding or "an event"))

    # -- results ----------------------------------------------------------------------------
    def summary(self) -> dict[str, dict[str, Any]]:
        """Per journey: enrolled, completed, exited, messages by status, suppressed by reason, tasks."""
        out: dict[str, dict[str, Any]] = defaultdict(summary_row)
        for (jid, kind), n in self.stats.lifecycle.items():
            out[jid][kind] += n
        for m in self.messages.values():
            row = out[m.journey_id]
            if m.status == "suppressed":
                row["suppressed"][m.reason or "unknown"] += 1
            elif m.status in row:
                row[m.status] += 1
        for t in self.tasks.values():
            out[t.journey_id]["tasks"] += 1
        return dict(sorted(out.items()))


def summary_row() -> dict[str, Any]:
    """One journey's line of the summary: lifecycle counts, messages by status, suppressions by reason, tasks."""
    return {"enrolled": 0, "completed": 0, "exited": 0, "erased": 0, "sent": 0, "approved": 0, "deferred": 0,
            "pending_approval": 0, "rejected": 0, "failed": 0, "suppressed": Counter(), "tasks": 0}


_S = TypeVar("_S")


def _store(table: dict[str, _S], key: str, state: _S | None) -> None:
    """Store a core's new state under ``key``; ``None`` (the core forgot it) removes the entry."""
    if state is None:
        table.pop(key, None)
    else:
        table[key] = state


def read_event_file(path: Path) -> ReadEvents:
    with path.open("rb") as f:
        return read_events(file_lines(f), source=path.name)


def last_stated(letters: Iterable[DeadLetter], last: datetime | None) -> datetime | None:
    """The time a run over an events file goes to without ``--until``: the last event's, counting an event whose
    envelope was valid but whose data was not (``invalid_data``: its time was checked as a good event's is)."""
    times = [t for t in (stated_time(d.raw) for d in letters if d.reason.startswith("invalid_data")) if t is not None]
    return max([*times, *([last] if last is not None else [])], default=None)
