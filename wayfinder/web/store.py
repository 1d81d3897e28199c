"""What the pages show, folded from the engine's outputs and the decisions people made.

Pure: no I/O. A backend feeds it messages, tasks, profiles and the decision events; it answers
"what is pending", "what has been decided", the tasks with their claims and notes, each person's
current preferences and the stop switch (read through ``switch``, the backend's reader of the control log that
``deliver`` reads).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wayfinder.connectors.switch import ControlRecord, Switch
from wayfinder.journeys.decisions import escalation_task_id
from wayfinder.journeys.events import CloudEvent
from wayfinder.journeys.profile import Profile
from wayfinder.journeys.records import WENT, Message, Task
from wayfinder.vocabulary import iso, parse_instant
from wayfinder.web import events as ev

PREFERENCE_FIELDS = ("opt_out_channels", "opt_out_topics", "quiet_hours", "locale", "paused_until")


@dataclass
class TaskView:
    task: Task
    claimed_by: str | None = None
    completed_by: str | None = None
    completed_at: datetime | None = None
    notes: list[tuple[str, datetime, str, str | None]] = field(default_factory=list)  # who, when, text, for whom
    claimed_for: str | None = None  # the assignee whom the claimer or completer acted for (``on_behalf_of``)
    completed_for: str | None = None

    @property
    def state(self) -> str:
        if self.task.status == "cancelled":
            return "cancelled"  # the event that started its journey was rescinded (hris.correction)
        if self.task.status == "completed":
            return "completed"  # the engine's record of it: the completion came from another writer
        return "completed" if self.completed_by else "claimed" if self.claimed_by else "open"


@dataclass
class Store:
    messages: dict[str, Message] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    profiles: dict[str, Profile] = field(default_factory=dict)
    decisions: list[CloudEvent] = field(default_factory=list)
    switch: Callable[[], Switch] = Switch
    erased: frozenset[str] = frozenset()  # people erased (privacy.erasure.requested): nothing is kept or taken
    # How far each profile has come: the decisions up to this time are in it already (None: every decision is,
    # as after an embedded run; a person not here: none is). A later one is laid over it until the engine has it.
    profiles_as_of: dict[str, datetime] | None = None

    def last_about(self, subject: str) -> str | None:
        """The id of the last decision recorded about ``subject`` (an employee, or a journey for the switch):
        a new action's id is made from it (``events._event``), so it never repeats an earlier one's."""
        return next((e.id for e in reversed(self.decisions) if e.subject == subject), None)

    # -- reviews ----------------------------------------------------------------------------
    def decided(self) -> dict[str, CloudEvent]:
        """message id -> the first review decision recorded for it (later ones are refused by the core)."""
        out: dict[str, CloudEvent] = {}
        for e in self.decisions:
            if e.type == ev.REVIEW_DECIDED:
                out.setdefault(str(e.data.get("message_id")), e)
        return out

    def escalated_to(self, message_id: str) -> str | None:
        """The assignee of the open escalation task of a review nobody made in time (the HR partner's lead, or
        ``Policy.review_escalation``), who may decide that message; None when there is none open."""
        task = self.tasks.get(escalation_task_id(message_id))
        if task is None or task.assignee != "review_escalation" or task.status != "open":
            return None
        if any(e.type == ev.TASK_COMPLETED and e.data.get("task_id") == task.task_id for e in self.decisions):
            return None
        return task.assignee_id

    def pending(self) -> list[Message]:
        """Messages waiting for a person: pending in the engine's output and not decided here yet."""
        decided = self.decided()
        waiting = [m for m in self.messages.values() if m.status == "pending_approval" and m.message_id not in decided]
        return sorted(waiting, key=lambda m: (m.created_at, m.message_id))

    # -- tasks ------------------------------------------------------------------------------
    def knows(self, person_id: str) -> bool:
        """Whether the HR data tells anything of ``person_id`` (not erased, not an id alone that no record filled)."""
        profile = self.profiles.get(person_id)
        return profile is not None and bool(profile.fields)

    def task_views(self) -> list[TaskView]:
        # a task the engine has as completed (by these pages or another writer: the events, another serve) is
        # completed by whom its record says; it showed the Claim and Complete buttons when the completion was not
        # one of these pages' decisions, and took a claim of it
        views = {tid: TaskView(task, completed_by=task.closed_by if task.status == "completed" else None,
                               completed_at=task.closed_at if task.status == "completed" else None)
                 for tid, task in self.tasks.items()}
        for e in self.decisions:
            view = views.get(str(e.data.get("task_id"))) if e.type in (ev.TASK_CLAIMED, ev.TASK_COMPLETED) else None
            if view is None:
                continue
            actor = str(e.data.get("actor_id"))
            behalf = str(e.data["on_behalf_of"]) if e.data.get("on_behalf_of") else None
            if e.data.get("note"):
                view.notes.append((actor, e.time, str(e.data["note"]), behalf))
            if e.type == ev.TASK_CLAIMED and view.claimed_by is None:
                view.claimed_by, view.claimed_for = actor, behalf
            elif e.type == ev.TASK_COMPLETED and view.completed_by is None:
                view.completed_by, view.completed_at, view.completed_for = actor, e.time, behalf
        return sorted(views.values(), key=lambda v: (v.task.created_at, v.task.task_id))

    # -- preferences ------------------------------------------------------------------------
    def preferences(self, person_id: str) -> dict[str, Any]:
        """The person's preferences as the engine has them (their profile: HRIS's and their own changes, the newest
        of each winning), then the changes they made that the engine has not had yet, in order. ``paused_until`` is
        an RFC 3339 instant in UTC, or None; ``locale`` is the language they chose, None while the HR system's (or
        none) is the one in force."""
        profile = self.profiles.get(person_id)
        prefs: dict[str, Any] = {"opt_out_channels": [], "opt_out_topics": [], "quiet_hours": None,
                                 "locale": profile.own_locale if profile else None, "paused_until": None}
        if profile is not None:
            for name in ("opt_out_channels", "opt_out_topics", "quiet_hours"):
                if profile.preferences.get(name) is not None:
                    prefs[name] = profile.preferences[name]
            prefs["paused_until"] = _instant(profile.preferences.get("paused_until"))
        if self.profiles_as_of is None:
            return prefs  # the profile has every change already (replaying them would undo a newer upsert's)
        known = self.profiles_as_of.get(person_id)
        for e in self.decisions:
            if e.type == ev.PREFERENCES_CHANGED and e.subject == person_id and (known is None or e.time > known):
                prefs.update({k: v for k, v in e.data.items() if k in PREFERENCE_FIELDS})
        return prefs

    # -- the stop switch --------------------------------------------------------------------
    def paused(self) -> dict[str, ControlRecord]:
        """journey id (or ``all``) -> the pause record in force, as ``deliver`` sees the switch."""
        return self.switch().in_force()

    # -- the operations overview ------------------------------------------------------------
    def overview(self, lifecycle: dict[str, dict[str, int]], journeys: Iterable[str]) -> dict[str, dict[str, int]]:
        """Per journey: enrolled, sent, deferred, waiting for review, approved (not yet sent), rejected, exited."""
        rows: dict[str, dict[str, int]] = {}
        for jid in sorted(set(journeys) | set(lifecycle)):
            rows[jid] = {"enrolled": lifecycle.get(jid, {}).get("enrolled", 0), "sent": 0, "deferred": 0,
                         "waiting": 0, "approved": 0, "rejected": 0,
                         "exited": lifecycle.get(jid, {}).get("exited", 0)}
        decided = self.decided()
        for m in self.messages.values():
            row = rows.setdefault(m.journey_id, {"enrolled": 0, "sent": 0, "deferred": 0, "waiting": 0,
                                                 "approved": 0, "rejected": 0, "exited": 0})
            decision = decided.get(m.message_id)
            if m.status in WENT:
                row["sent"] += 1
            elif m.status == "deferred":
                row["deferred"] += 1
            elif m.status == "rejected" or (m.status == "pending_approval" and decision is not None
                                             and decision.data.get("decision") == "reject"):
                row["rejected"] += 1
            elif m.status == "pending_approval" and decision is None:
                row["waiting"] += 1
            elif m.status == "pending_approval":
                row["approved"] += 1  # approved here; the engine has not taken it up yet
        return rows


def _instant(value: Any) -> str | None:
    """A pause as HRIS sent it (RFC 3339 text, or a datetime) as the pages keep it: UTC with a ``Z``."""
    if isinstance(value, datetime):
        when: datetime | None = value
    else:
        try:
            when = parse_instant(value) if isinstance(value, str) else None
        except ValueError:
            when = None
    return iso(when) if when is not None and when.tzinfo is not None else None
