"""Holding an input until the directory knows a recipient (issue 9), in the worker only.

``simulate`` knows every profile when it decides, so a message to a person nobody has a profile for is
``suppressed`` with reason ``no_recipient`` at once. In a worker, another partition's person reaches this
partition through the compacted ``directory`` topic a moment later, so "not known" may only mean "not
known here yet". The employee stage then does not decide: the input goes back, whole, to the end of its
partition of ``employee-ticks`` (a *retry*, carrying the original topic, key, bytes and when it was first
held), and is processed again when it comes round. Inputs of the same employee that come while one is held
go behind it, so one person's inputs keep their order. Past ``recipient_wait_seconds`` (wall clock) from the
first hold the input is decided with the directory as it is, so an unknown recipient is ``no_recipient``, as
in ``simulate``. Other employees' inputs are not held up.

While an input waits on a partition, the partition's time waits with it: timers fire only for the employee
whose own input is processed, and a tick goes round behind the held input (event clock: its time and the
watermark it sends must not pass the held input's) or, on the wall clock, is dropped (the worker ticks again
within a second). Otherwise a held employee's timer (a ``wait_for`` timeout) could fire before the held
input that would have cancelled it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field, replace
from typing import Any

from wayfinder.streams.wire import Record
from wayfinder.vocabulary import Topic

__all__ = ["RETRY_KIND", "Holds", "RecipientPending", "Retry", "decode_retry"]

RETRY_KIND = "recipient_retry"


class RecipientPending(Exception):
    """Raised by the worker's directory lookup: this input needs a person the directory does not know yet."""

    def __init__(self, person_id: str | None) -> None:
        super().__init__("a recipient is not in the directory yet")
        self.person_id = person_id


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
                 first_held=float(obj["first_held"]), head=bool(obj.get("head")), seq=int(obj.get("seq", 0)))


def retry_record(retry: Retry, partition: int) -> Record:
    key = retry.key.decode("utf-8", "replace") if retry.key is not None else None
    value = {"kind": RETRY_KIND, "topic": retry.topic, "key": key, "timestamp": retry.timestamp,
             "value": base64.b64encode(retry.value).decode("ascii") if retry.value is not None else None,
             "first_held": retry.first_held, "head": retry.head, "seq": retry.seq}
    return Record(Topic.EMPLOYEE_TICKS, key, json.dumps(value).encode("utf-8"), partition=partition)


@dataclass
class Line:
    """One employee's held inputs: the next place to give, and whose turn it is."""

    next_seq: int = 1
    turn: int = 0


@dataclass
class Holds:
    """Which employees (per partition) have inputs waiting, in what order; in memory, so after a restart the
    retries, still on their topic, are decided as they come round (README "no_recipient": weak spots).

    The retries of one employee go round on the ticks topic, and the employee's new inputs arrive on their own
    topics between them, so the order they come round in is not the order they came in: each has its place
    (``seq``), and one that comes round before its turn goes round again."""

    wait_seconds: float
    blocked: dict[tuple[int, str], Line] = field(default_factory=dict)

    @staticmethod
    def _id(key: bytes) -> str:
        return key.decode("utf-8", "replace")

    def is_blocked(self, partition: int, key: bytes | None) -> bool:
        return key is not None and (partition, self._id(key)) in self.blocked

    def any_blocked(self, partition: int) -> bool:
        return any(p == partition for p, _ in self.blocked)

    def in_turn(self, partition: int, retry: Retry) -> bool:
        line = self.blocked.get((partition, self._id(retry.key))) if retry.key is not None else None
        return line is None or retry.seq == line.turn

    def give_up(self, retry: Retry | None, wall: float) -> bool:
        """Decide with the directory as it is: waiting is off, or this input has waited long enough."""
        return self.wait_seconds <= 0 or (retry is not None and wall - retry.first_held >= self.wait_seconds)

    def first(self, partition: int, retry: Retry) -> Record:
        """An input that waits for its recipient, of an employee with nothing waiting yet: first in its line."""
        if retry.key is not None:
            self.blocked[(partition, self._id(retry.key))] = Line()
        return retry_record(replace(retry, head=True, seq=0), partition)

    def behind(self, partition: int, retry: Retry) -> Record:
        """A new input of an employee whose earlier inputs wait: last in the line."""
        line = self.blocked[(partition, self._id(retry.key or b""))]
        seq, line.next_seq = line.next_seq, line.next_seq + 1
        return retry_record(replace(retry, head=False, seq=seq), partition)

    def again(self, partition: int, retry: Retry, *, head: bool = False) -> Record:
        """Round again, keeping its place in the line."""
        return retry_record(replace(retry, head=head or retry.head), partition)

    def done(self, partition: int, retry: Retry) -> None:
        """A retry was decided: the next in its line has its turn; an empty line is gone."""
        if retry.key is None:
            return
        key = (partition, self._id(retry.key))
        line = self.blocked.get(key)
        if line is None:
            return
        line.turn = retry.seq + 1
        if line.turn >= line.next_seq:
            del self.blocked[key]

    def drop(self, partition: int) -> None:
        self.blocked = {k: v for k, v in self.blocked.items() if k[0] != partition}
