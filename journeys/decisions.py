"""Decisions by people (SPEC §11): a reviewer approves, edits or rejects a message that waits for a person;
an employee changes what they get; a review nobody makes in time is escalated. Pure functions over the
employee's state, called by the engine; like every input they are deterministic."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any

from wayfinder.journeys._durations import parse_duration
from wayfinder.journeys.boxes import withdrawn
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
    Unschedule,
)
from wayfinder.journeys.events import SENSITIVE_EVENT_TYPES, CloudEvent
from wayfinder.journeys.layout import html_to_text
from wayfinder.journeys.model import Policy
from wayfinder.journeys.profile import Profile, left, present
from wayfinder.journeys.records import Message, Task, stable_id
from wayfinder.journeys.state import EmployeeState, OpenTaskRef
from wayfinder.journeys.templates import split_footer, text_to_html, with_footer_of
from wayfinder.vocabulary import EventType, Topic, input_topic, parse_instant

__all__ = ["HeldBecause", "choices", "escalate", "escalation_contact", "escalation_task_id", "held_because",
           "hold_for_review", "kept_choices", "made_later", "preferences_changed", "review_decided", "review_ended",
           "review_window"]

Subtopics = Callable[[str], frozenset[str]]
"""A topic and every topic below it (``CatalogGraph.subtopics``)."""

Lookup = Callable[[str], Profile | None]
"""Another person's profile by id (``steps.Directory``)."""

EDITABLE = ("subject", "text", "html")


@dataclass(frozen=True)
class HeldBecause:
    """Why a message waits for a person (README "Sensitive"), each that applies: its journey is marked sensitive, a
    sensitive event (a wellbeing signal) started it or moved it on, and the policy's ``sensitive_topics`` its
    resources are about (each such topic of the policy, not the resource's own subtopic)."""

    journey: bool = False
    event: bool = False
    topics: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.journey or self.event or bool(self.topics)


def held_because(sensitivity: str, trigger_type: str | None, moved_by_sensitive_event: bool, topics: Iterable[str],
                 lineage: Callable[[str], frozenset[str]], policy: Policy) -> HeldBecause:
    """The one rule for whether a message waits for a person, with its reasons: the engine holds a message when any
    applies, and the review page says which (it said only "sensitive", leaving the reviewer to guess whether the
    journey or a resource's topic had asked for it)."""
    sensitive = frozenset(policy.sensitive_topics)
    found = sorted({s for t in topics for s in lineage(t) & sensitive})
    return HeldBecause(journey=sensitivity == "sensitive",
                       event=moved_by_sensitive_event or trigger_type in SENSITIVE_EVENT_TYPES,
                       topics=tuple(found))


def review_window(policy: Policy) -> timedelta:
    """How long a message waits for a person before its review is escalated (``Policy.review_window``)."""
    return parse_duration(policy.review_window)


def hold_for_review(state: EmployeeState, message: Message, now: datetime, policy: Policy) -> list[Effect]:
    """Keep a sensitive message for a person and set the review window's timer."""
    held = message.with_status("pending_approval", reason="sensitive")
    state.awaiting_approval[held.message_id] = held
    due = now + review_window(policy)
    return [Decide(held), Schedule(due, ReviewTimer(state.employee_id, held.message_id))]


def made_later(state: EmployeeState | None, event: CloudEvent) -> bool:
    """Whether an input from a topic of its own may have come before the HRIS events it follows: an engagement
    event, a preference change, a task claimed or completed, or a review decision naming a message this person's
    state does not hold for review, dated after the last HRIS event the state has seen. Their topics are read at
    their own pace (a replay on Kafka), so the events that make the message, or the messages whose ranking an
    engagement event or whose sending a preference would change, may still be on their way. The worker on the
    event clock then decides it at its own time, after the person's timers due by then, as ``simulate`` does
    (decided at once, an approval was ``not_pending``, a click re-ranked earlier messages, an opt-out suppressed a
    message made before it and a new locale was undone by the upsert before it)."""
    if event.type == EventType.REVIEW_DECIDED:
        if state is not None and str(event.data.get("message_id")) in state.awaiting_approval:
            return False
    elif input_topic(event.type) not in (Topic.ENGAGEMENT_EVENTS, Topic.DECISIONS):
        return False
    return state is None or state.clock is None or event.time > state.clock


def review_decided(state: EmployeeState, event: CloudEvent, now: datetime,
                   recipient: Profile | None, on_leave: LeaveRule = "defer", *, weekend_country: str | None = None
                   ) -> list[Effect]:
    """Approve (the message goes through the recipient's mailbox from now) or reject; refuse a decision on a
    message that is not pending, or by the person the message is about or for. ``weekend_country``: the recipient's
    weekend, for their mailbox (``MessageForBox``)."""
    data = event.data
    held = state.awaiting_approval.get(str(data["message_id"]))
    if held is None:
        return [Refuse("not_pending", event.model_dump_json(), event.source, now)]
    reviewer = str(data["reviewer_id"])
    if reviewer.strip() in (held.employee_id, held.recipient_id):  # " M1" is M1 too
        return [Refuse("self_review", event.model_dump_json(), event.source, now)]
    del state.awaiting_approval[held.message_id]
    decided = held.model_copy(update={"reviewer_id": reviewer, "reviewed_at": now})
    # The window's timer goes; a decision after the window closes the escalation task it opened.
    closed = review_ended(state, held, "decided", now)
    if held.about_someone_else and recipient is None:
        # The recipient is gone since it was made (erased): nothing goes, and nothing of them stays in the record.
        return [Decide(withdrawn(decided, "no_recipient", now)), *closed]
    if data["decision"] == "reject":
        reason = str(data.get("reason") or "").strip() or "rejected_by_reviewer"  # spaces say no reason either
        if held.delivers_to_employee:  # never delivered: they may be offered again (SPEC §5)
            state.delivered.difference_update(held.resources)
        return [Decide(decided.with_status("rejected", reason=str(reason), at=now)), *closed]
    edits = data.get("edits") or {}
    if any(edits.get(k) for k in EDITABLE):
        decided = _edited(decided, edits)
    mailbox = held.mailbox
    state.mailboxes.add(mailbox)
    timezone = recipient.timezone if recipient is not None else state.profile.timezone
    quiet = recipient.quiet_window if recipient is not None else None
    return [Dispatch(mailbox, decided.with_status("deferred", at=now), timezone, quiet, on_leave,
                     weekend_country=weekend_country), *closed]


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
        # an edited HTML part alone gives the text part its words: the original's text went out beside it (what a
        # reviewer took out of a sensitive message still reached whoever reads the plain part)
        text = str(edits.get("text") or (html_to_text(str(edits["html"])) if edits.get("html")
                                         else split_footer(message.text or "")[0]))
        html = str(edits["html"]) if edits.get("html") else text_to_html(text)
        update["text"], update["html"] = with_footer_of(text, html, message.text or "", message.explanation or "",
                                                        message.preferences_url or "", locale=message.locale,
                                                        title=str(update.get("subject", message.subject) or ""),
                                                        authored=bool(edits.get("html")))
    return message.model_copy(update=update)


def preferences_changed(state: EmployeeState, event: CloudEvent, now: datetime, subtopics: Subtopics,
                        policy: Policy) -> list[Effect]:
    """Each preference the event carries replaces the old one; the person's mailbox learns them at once."""
    data = event.data
    prefs = state.profile.preferences
    for key in ("opt_out_channels", "opt_out_topics", "quiet_hours", "paused_until"):
        if key in data:
            prefs[key] = data[key]
    if "locale" in data:  # the person's own, kept beside the HR system's (Profile.locale); null takes it away
        if data["locale"]:
            prefs["locale"] = data["locale"]
        else:
            prefs.pop("locale", None)
    return [choices(state, now, subtopics, policy)]


def kept_choices(state: EmployeeState, policy: Policy) -> tuple[Any, ...]:
    """What a mailbox keeps or places its messages by (opt-outs, pause, quiet hours, timezone, the weekend of their
    country where the policy lists it), to tell whether an upsert changed it."""
    prefs = state.profile.preferences
    return (prefs.get("opt_out_channels"), prefs.get("opt_out_topics"), prefs.get("paused_until"),
            state.profile.quiet_hours, state.profile.timezone,
            policy.working_days.weekend_country(state.profile.get("country")))


def choices(state: EmployeeState, now: datetime, subtopics: Subtopics, policy: Policy) -> Preferences:
    """What the person chose, for their mailbox and digest box, which check it again when a held message goes: an
    opted-out topic stands for the topics below it too (SPEC §5), as when a message is made."""
    until = state.profile.preferences.get("paused_until")
    topics = sorted({t for topic in state.profile.opt_out_topics for t in subtopics(topic)})
    return Preferences(state.employee_id, tuple(state.profile.opt_out_channels), tuple(topics),
                       parse_instant(until) if isinstance(until, str) else None, now,
                       state.profile.timezone, state.profile.quiet_window,
                       policy.working_days.weekend_country(state.profile.get("country")))


def escalate(state: EmployeeState, timer: ReviewTimer, now: datetime, policy: Policy, lookup: Lookup
             ) -> list[Effect]:
    """Nobody decided within the review window: the message stays undelivered and a person gets a task, kept open
    in the state until it is completed, or closed when the message is decided, suppressed or erased."""
    held = state.awaiting_approval.get(timer.message_id)
    if held is None:
        return []
    if held.about_someone_else and present(lookup(held.recipient_id or ""), now) is None:
        # Its recipient is gone since it was made (erased, or left): it can never go, so nobody is asked to review
        # it, and nothing of them stays in the record (as a decision on it would leave it; an audit of SPEC §9 found
        # the erased manager's name kept and a task opened to review a message to nobody).
        del state.awaiting_approval[held.message_id]
        return [Decide(withdrawn(held, "no_recipient", now))]
    task = Task(task_id=_escalation_id(held), employee_id=state.employee_id, assignee="review_escalation",
                assignee_id=escalation_contact(state, policy, lookup, now, (held.recipient_id, held.employee_id)),
                journey_id=held.journey_id,
                journey_version=held.journey_version, step_id=held.step_id,
                title="A message has waited too long for review",
                note=f"Message {held.message_id} ({held.journey_id}, step {held.step_id}) has had no decision "
                     f"for {policy.review_window}. It will not be sent unless someone approves it.",
                created_at=now)
    state.open_tasks[task.task_id] = OpenTaskRef(trigger_source=None, trigger_id=None, task=task)
    return [OpenTask(task)]


def _escalation_id(held: Message) -> str:
    return escalation_task_id(held.message_id)


def escalation_task_id(message_id: str) -> str:
    """The id of the task a review nobody made in time opens (``escalate``): one per message."""
    return stable_id("t", message_id, "review_escalation")


def escalation_contact(state: EmployeeState, policy: Policy, lookup: Lookup, now: datetime,
                       not_to: tuple[str | None, ...]) -> str | None:
    """``Policy.review_escalation``; without one, the HR partner's lead (their manager), or the HR partner when
    their lead is not known and they have not left. Nobody (None: the task is for the reviewers) when the one found
    is one of ``not_to``: for a review, those who could not decide on the message (its recipient or the employee it
    is about: an HR partner with no lead was asked to review the message to themselves, and each decision of theirs
    was refused as self_review); for a task whose assignee left, that person and the employee."""
    if policy.review_escalation:
        contact: str | None = policy.review_escalation
    else:
        hr_partner = state.profile.get("hr_partner_id")
        if not isinstance(hr_partner, str) or not hr_partner:
            return None
        partner = lookup(hr_partner)
        lead = partner.get("manager_id") if partner is not None else None
        contact = (lead if isinstance(lead, str) and lead and lead != hr_partner
                   else None if left(partner, now) else hr_partner)
    return None if contact in not_to else contact


def review_ended(state: EmployeeState, held: Message, reason: str, at: datetime) -> list[Effect]:
    """``held`` is no longer waiting for a person (``decided``, or the reason it was withdrawn): the timer of its
    review window goes while the window is open; once it has ended, the escalation task it opened is closed (an
    erasure leaves ids only)."""
    ref = state.open_tasks.pop(_escalation_id(held), None)
    if ref is None:
        return [Unschedule(ReviewTimer(state.employee_id, held.message_id))]  # no matter if it fired
    return [OpenTask(ref.task.erased(at) if reason == "erased" else ref.task.cancelled(reason, at))]
