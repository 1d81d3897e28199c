"""Decisions by people (SPEC §11): a reviewer approves, edits or rejects a message that waits for a person;
an employee changes what they get; a review nobody makes in time is escalated. Pure functions over the
employee's state, called by the engine; like every input they are deterministic."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html import escape
from typing import Any

from wayfinder.journeys._durations import parse_duration
from wayfinder.journeys.effects import (
    Decide,
    Dispatch,
    Effect,
    LeaveRule,
    OpenTask,
    Preferences,
    Refuse,
    ReviewTimer,
    Schedule,
)
from wayfinder.journeys.events import CloudEvent
from wayfinder.journeys.model import Policy
from wayfinder.journeys.profile import Profile
from wayfinder.journeys.records import Message, Task, stable_id
from wayfinder.journeys.state import EmployeeState
from wayfinder.journeys.templates import split_footer, text_to_html, with_footer
from wayfinder.vocabulary import parse_instant

__all__ = ["choices", "escalate", "hold_for_review", "kept_choices", "preferences_changed", "review_decided"]

Subtopics = Callable[[str], frozenset[str]]
"""A topic and every topic below it (``CatalogGraph.subtopics``)."""

EDITABLE = ("subject", "text", "html")


def hold_for_review(state: EmployeeState, message: Message, now: datetime, policy: Policy) -> list[Effect]:
    """Keep a sensitive message for a person and set the review window's timer."""
    held = message.with_status("pending_approval", reason="sensitive")
    state.awaiting_approval[held.message_id] = held
    due = now + parse_duration(policy.review_window)
    return [Decide(held), Schedule(due, ReviewTimer(state.employee_id, held.message_id))]


def review_decided(state: EmployeeState, event: CloudEvent, now: datetime,
                   recipient: Profile | None, on_leave: LeaveRule = "defer", policy: Policy | None = None
                   ) -> list[Effect]:
    """Approve (the message goes through the recipient's mailbox from now) or reject; refuse a decision on a
    message that is not pending, or by the person the message is about or for."""
    data = event.data
    held = state.awaiting_approval.get(str(data["message_id"]))
    if held is None:
        return [Refuse("not_pending", event.model_dump_json(), event.source, now)]
    reviewer = str(data["reviewer_id"])
    if reviewer in (held.employee_id, held.recipient_id):
        return [Refuse("self_review", event.model_dump_json(), event.source, now)]
    del state.awaiting_approval[held.message_id]
    decided = held.model_copy(update={"reviewer_id": reviewer, "reviewed_at": now})
    # A decision after the review window closes the escalation task it opened: nothing is left for that person.
    closed = [] if policy is None else [OpenTask(t.cancelled("decided", now)) for t in _escalated(state, held, now,
                                                                                                  policy)]
    if data["decision"] == "reject":
        reason = data.get("reason") or "rejected_by_reviewer"
        state.delivered.difference_update(held.resources)  # never delivered: they may be offered again (SPEC §5)
        return [Decide(decided.with_status("rejected", reason=str(reason), at=now)), *closed]
    edits = data.get("edits") or {}
    if any(edits.get(k) for k in EDITABLE):
        decided = _edited(decided, edits)
    mailbox = held.recipient_id or held.employee_id
    state.mailboxes.add(mailbox)
    timezone = recipient.timezone if recipient is not None else state.profile.timezone
    quiet = recipient.quiet_window if recipient is not None else None
    return [Dispatch(mailbox, decided.with_status("deferred", at=now), timezone, quiet, on_leave), *closed]


def _edited(message: Message, edits: dict[str, Any]) -> Message:
    """The reviewer's parts, with the explanation and the preferences link still at the end."""
    original = {k: getattr(message, k) for k in EDITABLE}
    update: dict[str, Any] = {"original": original}
    if edits.get("subject"):
        update["subject"] = str(edits["subject"])
        if message.html and not (edits.get("text") or edits.get("html")):  # the HTML document's title is the subject
            old, new = (f"<title>{escape(str(t or ''))}</title>" for t in (message.subject, update["subject"]))
            update["html"] = message.html.replace(old, new, 1)
    if edits.get("text") or edits.get("html"):
        text = str(edits.get("text") or split_footer(message.text or "")[0])
        html = str(edits["html"]) if edits.get("html") else text_to_html(text)
        update["text"], update["html"] = with_footer(text, html, message.explanation or "",
                                                     message.preferences_url or "", locale=message.locale,
                                                     title=str(update.get("subject", message.subject) or ""))
    return message.model_copy(update=update)


def preferences_changed(state: EmployeeState, event: CloudEvent, now: datetime, subtopics: Subtopics) -> list[Effect]:
    """Each preference the event carries replaces the old one; the person's mailbox learns them at once."""
    data = event.data
    prefs = state.profile.preferences
    for key in ("opt_out_channels", "opt_out_topics", "quiet_hours", "paused_until"):
        if key in data:
            prefs[key] = data[key]
    if data.get("locale"):
        state.profile.fields["locale"] = data["locale"]
    return [choices(state, now, subtopics)]


def kept_choices(state: EmployeeState) -> tuple[Any, ...]:
    """The choices a mailbox keeps (opt-outs, pause), to tell whether an upsert changed them."""
    prefs = state.profile.preferences
    return prefs.get("opt_out_channels"), prefs.get("opt_out_topics"), prefs.get("paused_until")


def choices(state: EmployeeState, now: datetime, subtopics: Subtopics) -> Preferences:
    """What the person chose, for their mailbox and digest box, which check it again when a held message goes: an
    opted-out topic stands for the topics below it too (SPEC §5), as when a message is made."""
    until = state.profile.preferences.get("paused_until")
    topics = sorted({t for topic in state.profile.opt_out_topics for t in subtopics(topic)})
    return Preferences(state.employee_id, tuple(state.profile.opt_out_channels), tuple(topics),
                       parse_instant(until) if isinstance(until, str) else None, now,
                       state.profile.timezone, state.profile.quiet_window)


def escalate(state: EmployeeState, timer: ReviewTimer, now: datetime, policy: Policy) -> list[Effect]:
    """Nobody decided within the review window: the message stays undelivered and a person gets a task."""
    held = state.awaiting_approval.get(timer.message_id)
    if held is None:
        return []
    return [OpenTask(_escalation(state, held, now, policy))]


def _escalation(state: EmployeeState, held: Message, at: datetime, policy: Policy) -> Task:
    hr_partner = state.profile.get("hr_partner_id")
    assignee = policy.review_escalation or (hr_partner if isinstance(hr_partner, str) else None)
    return Task(task_id=stable_id("t", held.message_id, "review_escalation"), employee_id=state.employee_id,
                assignee="review_escalation", assignee_id=assignee, journey_id=held.journey_id,
                journey_version=held.journey_version, step_id=held.step_id,
                title="A message has waited too long for review",
                note=f"Message {held.message_id} ({held.journey_id}, step {held.step_id}) has had no decision "
                     f"for {policy.review_window}. It will not be sent unless someone approves it.",
                created_at=at)


def _escalated(state: EmployeeState, held: Message, now: datetime, policy: Policy) -> list[Task]:
    """The escalation task of ``held``, if its review window had ended before ``now`` (its timer fired)."""
    due = held.created_at + parse_duration(policy.review_window)
    return [_escalation(state, held, due, policy)] if due <= now else []
