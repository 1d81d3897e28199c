"""The events people's actions become (SPEC §11, and the extensions documented in the README).

Every id is deterministic: a review decision's from what was decided (so a double submit is one
decision), the others' also from the (injected) time of the action and from the last decision recorded about the
same subject before it (``after``): two people's actions never share an id, even at one time (the embedded world
stamps every decision at the end of its run), while the same form sent twice at once is one event.

:func:`recordable` is the check a backend makes before it writes an event: the engine decodes it as it decodes
every input, and one it would refuse is never written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from wayfinder.journeys.events import CloudEvent, DecodeError, decode_event, iso
from wayfinder.journeys.records import stable_id
from wayfinder.jsonrows import one_line

SOURCE = "wayfinder/serve"
REVIEW_DECIDED = "wayfinder.review.decided"
PREFERENCES_CHANGED = "wayfinder.preferences.changed"
TASK_CLAIMED = "wayfinder.task.claimed"
TASK_COMPLETED = "wayfinder.task.completed"
SENDING_PAUSED = "wayfinder.sending.paused"
SENDING_RESUMED = "wayfinder.sending.resumed"
ALL_JOURNEYS = "all"


class Unrecordable(ValueError):
    """An event the engine would refuse (``code``: its dead letter's reason, e.g. ``date_out_of_range``)."""

    def __init__(self, code: str) -> None:
        super().__init__(f"the engine would refuse this event ({code})")
        self.code = code


def recordable(event: CloudEvent) -> CloudEvent:
    """``event`` when the engine reads it back as it was written (``decode_event`` on its line); else
    :class:`Unrecordable`, so a backend never writes what the engine would dead-letter."""
    try:
        decode_event(to_line(event))
    except DecodeError as e:
        raise Unrecordable(e.code) from None
    return event


def _event(type_: str, subject: str, data: dict[str, Any], at: datetime, *, timed: bool,
           after: str | None = None) -> CloudEvent:
    parts: list[object] = [type_, subject, json.dumps(data, sort_keys=True)]
    if timed:
        parts.append(iso(at))
        if after is not None:
            parts.append(after)
    return CloudEvent(specversion="1.0", id=stable_id("wd", *parts), source=SOURCE, type=type_, time=at,
                      subject=subject, data=data)


def review_decided(*, employee_id: str, message_id: str, decision: Literal["approve", "reject"], reviewer_id: str,
                   at: datetime, reason: str | None = None, edits: dict[str, str] | None = None) -> CloudEvent:
    data: dict[str, Any] = {"message_id": message_id, "decision": decision, "reviewer_id": reviewer_id}
    if reason:
        data["reason"] = reason
    if edits:
        data["edits"] = edits
    return _event(REVIEW_DECIDED, employee_id, data, at, timed=False)


def preferences_changed(*, employee_id: str, changes: dict[str, Any], at: datetime,
                        after: str | None = None) -> CloudEvent:
    """``changes`` holds only SPEC §11 fields, each replacing that preference; ``after``: the id of the last
    decision recorded about the person (``Store.last_about``)."""
    return _event(PREFERENCES_CHANGED, employee_id, changes, at, timed=True, after=after)


def task_event(kind: Literal["claimed", "completed"], *, employee_id: str, task_id: str, actor_id: str,
               at: datetime, note: str | None = None, journey_id: str | None = None,
               step_id: str | None = None, after: str | None = None, on_behalf_of: str | None = None) -> CloudEvent:
    """A task claimed or completed; ``journey_id`` and ``step_id`` (the task's) let a journey's ``wait_for``
    pick its own task: ``when: event.data.step_id == "call"``. ``on_behalf_of``: the assignee the actor acted for
    (``access.acts_for``), when the actor is not the assignee."""
    data: dict[str, Any] = {"task_id": task_id, "actor_id": actor_id, "journey_id": journey_id, "step_id": step_id}
    if note:
        data["note"] = note
    if on_behalf_of:
        data["on_behalf_of"] = on_behalf_of
    type_ = TASK_CLAIMED if kind == "claimed" else TASK_COMPLETED
    return _event(type_, employee_id, data, at, timed=True, after=after)


def sending_switched(*, paused: bool, journey_id: str | None, actor_id: str, at: datetime,
                     reason: str | None = None, after: str | None = None) -> CloudEvent:
    """Pause or resume sending for one journey or (``journey_id=None``) for all; subject is the journey or 'all'."""
    data: dict[str, Any] = {"journey_id": journey_id, "actor_id": actor_id}
    if reason:
        data["reason"] = reason
    return _event(SENDING_PAUSED if paused else SENDING_RESUMED, journey_id or ALL_JOURNEYS, data, at, timed=True,
                  after=after)


WORDS: dict[str, tuple[str, ...]] = {REVIEW_DECIDED: ("reason", "edits"), TASK_CLAIMED: ("note",),
                                     TASK_COMPLETED: ("note",)}
"""What a person writes into a decision about its subject, in their own words: a reviewer's reason and edits (the
message's text as it went), a task's note."""


def without_words(event: CloudEvent) -> CloudEvent | None:
    """``event`` without what a person wrote in it (``WORDS``), as it is kept once its subject is erased (the engine
    decides it as before: an erasure takes the content and a rejection's words out of the record anyway); None when
    it holds no such words."""
    said = [k for k in WORDS.get(event.type, ()) if k in event.data]
    if not said:
        return None
    return event.model_copy(update={"data": {k: v for k, v in event.data.items() if k not in said}})


def as_kept(event: CloudEvent, erased: Mapping[str, datetime]) -> CloudEvent | None:
    """What stays of a decision once its subject is erased (``erased``: id -> the latest erasure): one made up to the
    erasure without what a person wrote in it (``without_words``); None when it stays as it is. The one rule of the
    folder's ``decisions.jsonl`` and of ``serve --kafka``'s decisions read from the topic."""
    at = erased.get(event.subject)
    return without_words(event) if at is not None and event.time <= at else None


def to_line(event: CloudEvent) -> str:
    """The event as one line of ``decisions.jsonl`` (or a record's value): a line for every reader of lines
    (``jsonrows.one_line``, as the other files ``serve`` writes)."""
    return one_line(json.dumps(event.model_dump(mode="json") | {"time": iso(event.time)}, ensure_ascii=False))
