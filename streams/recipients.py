"""Holding an input until the directory knows a recipient (issue 9), in the worker only.

``simulate`` knows every profile when it decides, so a message to a person nobody has a profile for is
``suppressed`` with reason ``no_recipient`` at once. In a worker, another partition's person reaches this
partition through the compacted ``directory`` topic a moment later, so "not known" may only mean "not
known here yet". The employee stage then does not decide: the input goes back, whole, to the end of its
partition of ``employee-ticks`` (a *retry*, carrying the original topic, key, bytes and when it was first
held), and is processed again when it comes round. Inputs of the same employee that come while one is held
go behind it, so one person's inputs keep their order. Once it has waited ``recipient_wait_seconds`` (wall
clock) and the group has caught up past the wait's end (``streams.progress``), or at the latest after
``recipient_max_wait_seconds``, the input is decided with the directory as it is, so an unknown recipient is
``no_recipient``, as in ``simulate``. Other employees' inputs are not held up.

Each employee's held inputs form a line kept in the stage's table (``h:<partition>:<employee>``, written in
the unit of work that produces the retries), so after a crash or a rebalance the line is known again and
copies of retries that a replay produced are dropped once their place has passed.

While an input waits on a partition, the partition's time waits with it: timers fire only for the employee
whose own input is processed, and a tick goes round behind the held input (event clock: its time and the
watermark it sends must not pass the held input's) or, on the wall clock, is dropped (the worker ticks again
within a second). Otherwise a held employee's timer (a ``wait_for`` timeout) could fire before the held
input that would have cancelled it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from wayfinder.streams.wire import Record
from wayfinder.vocabulary import Topic

__all__ = ["LINE_PREFIX", "RETRY_KIND", "Holds", "Line", "RecipientPending", "Retry", "decode_retry", "line_id",
           "line_key"]

RETRY_KIND = "recipient_retry"
STALE_SLACK_SECONDS = 60.0


class RecipientPending(Exception):
    """Raised by the worker's directory lookup: this input needs a person the directory does not know yet.
    ``owner``: the employee whose timer was firing (a tick's input has no employee of its own), else None;
    ``gated``: the key of the input that waited for its turn (``streams.gate``) being decided, else None."""

    def __init__(self, person_id: str | None, owner: str | None = None, gated: str | None = None) -> None:
        super().__init__("a recipient is not in the directory yet")
        self.person_id = person_id
        self.owner = owner
        self.gated = gated


@dataclass(frozen=True)
class Retry:
    """An input sent round again: where it came from, its bytes, since when (wall seconds) it waits, and its place
    in its employee's line (``seq``: inputs of one employee are decided in that order)."""

    topic: str
    key: bytes | None
    value: bytes | None
    timestamp: float | None
    first_held: float
    head: bool  # held for its own recipient (else: behind another input of the same employee)
    seq: int = 0
    line: str = ""  # the line it has its place in (``Line.origin``); "": written before lines had one, or a tick


def decode_retry(raw: bytes | None) -> Retry | None:
    """The retry in a record of the ticks topic, or None for a tick."""
    try:
        obj: Any = json.loads(raw or b"{}")
    except ValueError:
        return None
    if not isinstance(obj, dict) or obj.get("kind") != RETRY_KIND:
        return None
    value = obj.get("value")
    return Retry(topic=str(obj["topic"]), key=str(obj["key"]).encode("utf-8") if obj.get("key") is not None else None,
                 value=base64.b64decode(value) if value is not None else None, timestamp=obj.get("timestamp"),
                 first_held=float(obj["first_held"]), head=bool(obj.get("head")), seq=int(obj.get("seq", -1)),
                 line=str(obj.get("line") or ""))


def retry_record(retry: Retry, partition: int) -> Record:
    key = retry.key.decode("utf-8", "replace") if retry.key is not None else None
    value = {"kind": RETRY_KIND, "topic": retry.topic, "key": key, "timestamp": retry.timestamp,
             "value": base64.b64encode(retry.value).decode("ascii") if retry.value is not None else None,
             "first_held": retry.first_held, "head": retry.head, "seq": retry.seq}
    if retry.line:
        value["line"] = retry.line
    return Record(Topic.EMPLOYEE_TICKS, key, json.dumps(value).encode("utf-8"), partition=partition)


LINE_PREFIX = "h:"


@dataclass
class Line:
    """One employee's held inputs: the next place to give, whose turn it is, when the line last moved (wall
    seconds: created, or a turn decided) and which input started it (``origin``, ``topic:partition:offset``);
    kept in the stage's table under ``h:<partition>:<employee>``, so a restart knows it too. Places start at 0 in
    every line of an employee, so a retry names its line: a copy a replay made of an ended line's retry is then
    not taken for a later line's input at the same place (``Holds.place``)."""

    next_seq: int = 1
    turn: int = 0
    since: float = 0.0
    origin: str = ""  # "": written before lines had one (no copy is told apart from them)
    seen: float = field(default=0.0, compare=False)  # in memory only: when the retry whose turn it is last came round

    def encode(self) -> bytes:
        d: dict[str, Any] = {"next": self.next_seq, "turn": self.turn, "since": self.since}
        if self.origin:
            d["line"] = self.origin
        return json.dumps(d).encode("utf-8")

    @classmethod
    def decode(cls, raw: bytes) -> Line:
        d = json.loads(raw)
        return cls(int(d["next"]), int(d["turn"]), float(d.get("since", 0.0)), str(d.get("line") or ""))


def line_key(partition: int, employee: str) -> str:
    return f"{LINE_PREFIX}{partition}:{employee}"


def line_id(key: str) -> tuple[int, str]:
    """The partition and employee of a line's table key (``line_key`` read back)."""
    partition, employee = key.removeprefix(LINE_PREFIX).split(":", 1)
    return int(partition), employee


@dataclass
class Holds:
    """Which employees (per partition) have inputs waiting, and in what order.

    The retries of one employee go round on the ticks topic, and the employee's new inputs arrive on their own
    topics between them, so the order they come round in is not the order they came in: each has its place
    (``seq``); one that comes round before its turn goes round again, one whose place has passed (a copy a
    restart made) is dropped. The lines live in the stage's table, written in the same unit of work as the
    retry records (the stage passes ``(key, value)`` writes along); this object is their in-memory view."""

    wait_seconds: float
    max_wait_seconds: float = float("inf")  # the most an input waits whatever the progress (the worker's setting)
    caught_up: float | None = None  # ``streams.progress``: wall seconds; None: not measured, the clock alone decides
    blocked: dict[tuple[int, str], Line] = field(default_factory=dict)
    loaded: set[int] = field(default_factory=set)

    @staticmethod
    def _id(key: bytes) -> str:
        return key.decode("utf-8", "replace")

    def load(self, partition: int, items: Iterable[tuple[str, bytes]], wall: float) -> None:
        """The lines of a newly assigned partition, from the table's ``h:<partition>:`` keys, at ``wall``. A line
        written before lines kept the time they last moved counts from now, so it can still go stale."""
        prefix = f"{LINE_PREFIX}{partition}:"
        for key, raw in items:
            line = Line.decode(raw)
            self.blocked[(partition, key.removeprefix(prefix))] = replace(line, since=line.since or wall, seen=wall)
        self.loaded.add(partition)

    def is_blocked(self, partition: int, key: bytes | None) -> bool:
        return key is not None and (partition, self._id(key)) in self.blocked

    def any_blocked(self, partition: int, wall: float | None = None) -> bool:
        """Whether an input waits on the partition (with ``wall``: in a line that is not stale)."""
        return any(p == partition and (wall is None or not self.stale(line, wall))
                   for (p, _), line in self.blocked.items())

    def place(self, partition: int, retry: Retry, wall: float) -> str:
        """``turn``: decide it now; ``early``: round again; ``passed``: already decided (drop it)."""
        line = self.blocked.get((partition, self._id(retry.key))) if retry.key is not None else None
        if retry.seq < 0:
            return "turn"  # a retry written before places existed: decided as it comes
        if line is None:
            return "passed" if retry.key is not None else "turn"
        where = self._where(line, retry, wall)
        if where == "turn" and retry.seq == line.turn:
            line.seen = wall  # the retry whose turn it is still comes round
        return where

    def _where(self, line: Line, retry: Retry, wall: float) -> str:
        """``place`` for a retry of an employee who has a line."""
        if retry.line and line.origin and retry.line != line.origin:
            return "passed"  # a copy of a retry of the employee's earlier line, which has ended: all of it decided
        if retry.seq > line.turn and self.stale(line, wall):
            return "turn"  # the turn's retry is lost: the next that comes round goes on
        return "turn" if retry.seq == line.turn else "early" if retry.seq > line.turn else "passed"

    def give_up(self, retry: Retry | None, wall: float) -> bool:
        """Decide with the directory as it is: waiting is off, or this input has waited long enough. Long enough:
        the wait has passed and (where progress is measured) the group has caught up past the wait's end, so a
        recipient published within the wait is known by now (``streams.progress``); or the longest wait passed."""
        if self.wait_seconds <= 0:
            return True
        if retry is None:
            return False
        waited = wall - retry.first_held
        if waited < self.wait_seconds:
            return False
        if self.caught_up is None or waited >= max(self.max_wait_seconds, self.wait_seconds):
            return True
        return self.caught_up >= retry.first_held + self.wait_seconds

    def first(self, partition: int, retry: Retry, origin: str) -> tuple[Record, tuple[str, bytes | None] | None]:
        """An input that waits for its recipient, of an employee with nothing waiting yet: first in a new line,
        named by the input (``origin``). Returns the retry record and the line's write (None for an input without
        a key)."""
        if retry.key is None:
            return retry_record(replace(retry, head=True, seq=0), partition), None
        record = retry_record(replace(retry, head=True, seq=0, line=origin), partition)
        return record, (line_key(partition, self._id(retry.key)), Line(since=retry.first_held, origin=origin).encode())

    def behind(self, partition: int, retry: Retry) -> tuple[Record, tuple[str, bytes | None]]:
        """A new input of an employee whose earlier inputs wait: last in the line."""
        employee = self._id(retry.key or b"")
        line = self.blocked[(partition, employee)]
        after = Line(line.next_seq + 1, line.turn, line.since, line.origin)
        return (retry_record(replace(retry, head=False, seq=line.next_seq, line=line.origin), partition),
                (line_key(partition, employee), after.encode()))

    def hold(self, partition: int, retry: Retry, origin: str, made: dict[tuple[int, str], Line]
             ) -> tuple[Record, tuple[str, bytes | None]]:
        """An input held within a unit that may hold several (``streams.gate``): first in a new line, or last in
        the employee's line, whether that line is in the table or was made earlier in the unit (``made``, which
        this updates; the caller applies its writes once the unit is kept)."""
        employee = self._id(retry.key or b"")
        line = made.get((partition, employee)) or self.blocked.get((partition, employee))
        if line is None:
            record = retry_record(replace(retry, head=True, seq=0, line=origin), partition)
            after = Line(since=retry.first_held, origin=origin)
        else:
            record = retry_record(replace(retry, head=False, seq=line.next_seq, line=line.origin), partition)
            after = Line(line.next_seq + 1, line.turn, line.since, line.origin)
        made[(partition, employee)] = after
        return record, (line_key(partition, employee), after.encode())

    def again(self, partition: int, retry: Retry, *, head: bool = False) -> Record:
        """Round again, keeping its place in the line."""
        return retry_record(replace(retry, head=head or retry.head), partition)

    def done(self, partition: int, retry: Retry, wall: float) -> tuple[str, bytes | None] | None:
        """The line's write once ``retry`` is decided at ``wall``: the next in line has its turn; an empty line is
        deleted."""
        if retry.key is None or retry.seq < 0:
            return None
        employee = self._id(retry.key)
        line = self.blocked.get((partition, employee))
        if line is None:
            return None
        after = Line(line.next_seq, retry.seq + 1, wall, line.origin)
        return line_key(partition, employee), None if after.turn >= after.next_seq else after.encode()

    def turn_ended(self, partition: int, retry: Retry, wall: float) -> tuple[str, bytes | None] | None:
        """The line's write once ``retry`` ended without a decision (dead-lettered) in what was its turn, as
        ``done``; None if it was not its line's turn (``place``)."""
        line = self.blocked.get((partition, self._id(retry.key))) if retry.key is not None else None
        if line is None or retry.seq < 0 or self._where(line, retry, wall) != "turn":
            return None
        return self.done(partition, retry, wall)

    def stale(self, line: Line, wall: float) -> bool:
        """Whether no retry of a line has come round for far longer than a round takes (twice the wait, and a
        minute more), nor has the line moved. A waiting retry goes round again and again until it is decided, so a
        stale line has lost the retry whose turn it is (a bug, or a record Kafka lost): kept as it is, it would hold
        the employee's inputs and the partition's time for good. So a stale line holds neither: its retries are
        decided as they come (in the order they come), ticks pass it, and it ends with the employee's next decided
        input."""
        last = max(line.since, line.seen)
        return bool(last) and wall - last > 2 * self.wait_seconds + STALE_SLACK_SECONDS

    def lines(self, partition: int, wall: float, *, stale: bool) -> list[str]:
        """The keys of the partition's lines that are stale (or, ``stale=False``, that still hold it), sorted."""
        return sorted(line_key(p, employee) for (p, employee), line in self.blocked.items()
                      if p == partition and self.stale(line, wall) == stale)

    def describe(self, key: str, wall: float) -> str:
        """Where a line is, for the log (its key, places and ages only: opaque ids)."""
        line = self.blocked.get(line_id(key))
        if line is None:
            return f"{key} ended"
        seen = f"{wall - line.seen:.0f} s ago" if line.seen else "not yet"
        return (f"{key} turn {line.turn} of {line.next_seq}, moved {wall - line.since:.0f} s ago, its turn's retry "
                f"seen {seen}")

    def apply(self, write: tuple[str, bytes | None] | None) -> None:
        """Make the in-memory view what a committed line write says."""
        if write is None:
            return
        key, value = write
        if value is None:
            self.blocked.pop(line_id(key), None)
        else:
            before = self.blocked.get(line_id(key))
            self.blocked[line_id(key)] = replace(Line.decode(value), seen=before.seen if before is not None else 0.0)

    def drop(self, partition: int) -> None:
        self.blocked = {k: v for k, v in self.blocked.items() if k[0] != partition}
        self.loaded.discard(partition)
