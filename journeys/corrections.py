"""Corrections from HR systems (``hris.correction``, an extension to SPEC §2): an earlier event, named by its
``source`` and ``id``, did not happen (``rescind``) or happened with other values (``amend``). Pure helpers
for the engine: which enrollments the original started, and the amended trigger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wayfinder.journeys.records import Task
from wayfinder.journeys.state import EmployeeState, Enrollment

__all__ = ["amended_trigger", "close_tasks", "started_by"]


def started_by(state: EmployeeState, original: Any, amend: Any = None) -> list[Enrollment]:
    """The active enrollments whose trigger was the original event. For an amendment (``amend``: the correction's
    data) that names no such trigger, those whose trigger is of its ``original_type`` from the same source and
    holds every ``old`` value it changes: a second correction of one field names the event as the HR system saw it
    after the first (an id made from the corrected value, which no event had), and the kept trigger, amended by
    the first, holds those values. A change without ``old`` holds for any such trigger: a webhook knows only the new
    value (a start date moved), and the employee's kept hire from that source is the one it corrects."""
    if not isinstance(original, dict):
        return []
    source, oid = original.get("source"), original.get("id")
    found = [e for e in state.enrollments.values() if e.trigger.get("source") == source and e.trigger.get("id") == oid]
    if found or not isinstance(amend, dict) or not isinstance(amend.get("changes"), dict) or not amend["changes"]:
        return found
    kind, changes = amend.get("original_type"), amend["changes"]
    if not isinstance(kind, str):
        return []

    def holds(trigger: dict[str, Any]) -> bool:
        data = trigger.get("data") or {}
        return all(isinstance(c, dict) and ("old" not in c or data.get(str(f)) == c["old"]) for f, c in changes.items())

    return [e for e in state.enrollments.values() if e.trigger.get("source") == source
            and e.trigger.get("type") == kind and holds(e.trigger)]


def amended_trigger(trigger: dict[str, Any], changes: Any) -> dict[str, Any]:
    """The kept trigger with the corrected fields of its data (``changes``: ``{field: {old, new}}``)."""
    if not isinstance(changes, dict):
        return trigger
    data = dict(trigger.get("data") or {})
    for field, change in changes.items():
        if isinstance(change, dict) and "new" in change:
            data[str(field)] = change["new"]
    return {**trigger, "data": data}


def close_tasks(state: EmployeeState, original: Any, reason: str, at: datetime) -> list[Task]:
    """The open tasks the original event's journeys opened (active or already ended), now ``cancelled`` with
    ``reason``; they are no longer kept as open."""
    if not isinstance(original, dict):
        return []
    source, oid = original.get("source"), original.get("id")
    ids = [tid for tid, ref in state.open_tasks.items() if ref.trigger_source == source and ref.trigger_id == oid]
    return [state.open_tasks.pop(tid).task.cancelled(reason, at) for tid in sorted(ids)]


def task_done(state: EmployeeState, data: dict[str, Any], at: datetime) -> Task | None:
    """A task completed by a person (``wayfinder.task.completed``) is no longer open: a later correction leaves it.
    Its latest record, ``completed``; None when it was not open (done already, cancelled, or not this person's)."""
    ref = state.open_tasks.pop(str(data.get("task_id")), None)
    if ref is None:
        return None
    actor = data.get("actor_id")
    return ref.task.completed(actor if isinstance(actor, str) else None, at)
