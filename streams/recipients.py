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
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
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
    """An input sent round again: where it came from, its bytes, and since when (wall seconds) it waits."""

    topic: str
    key: bytes | None
    value: bytes | None
    timestamp: float | None
    first_held: float
    head: bool  # held for its own recipient (else: behind another input of the same employee)


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
                 first_held=float(obj["first_held"]), head=bool(obj.get("head")))


def retry_record(retry: Retry, partition: int) -> Record:
    key = retry.key.decode("utf-8", "replace") if retry.key is not None else None
    value = {"kind": RETRY_KIND, "topic": retry.topic, "key": key, "timestamp": retry.timestamp,
             "value": base64.b64encode(retry.value).decode("ascii") if retry.value is not None else None,
             "first_held": retry.first_held, "head": retry.head}
    return Record(Topic.EMPLOYEE_TICKS, key, json.dumps(value).encode("utf-8"), partition=partition)


@dataclass
class Holds:
    """Which employees (per partition) have an input waiting for a recipient; in memory, so after a restart
    the retries, still in order on their topic, hold the employee again when the first one comes round."""

    wait_seconds: float
    blocked: dict[tuple[int, str], bool] = field(default_factory=dict)

    def is_blocked(self, partition: int, key: bytes | None) -> bool:
        return key is not None and (partition, key.decode("utf-8", "replace")) in self.blocked

    def give_up(self, retry: Retry | None, wall: float) -> bool:
        """Decide with the directory as it is: waiting is off, or this input has waited long enough."""
        return self.wait_seconds <= 0 or (retry is not None and wall - retry.first_held >= self.wait_seconds)

    def hold(self, partition: int, retry: Retry) -> Record:
        if retry.key is not None:
            self.blocked[(partition, retry.key.decode("utf-8", "replace"))] = True
        return retry_record(retry, partition)

    def release(self, partition: int, key: bytes | None) -> None:
        if key is not None:
            self.blocked.pop((partition, key.decode("utf-8", "replace")), None)

    def drop(self, partition: int) -> None:
        self.blocked = {k: v for k, v in self.blocked.items() if k[0] != partition}
