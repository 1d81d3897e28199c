"""What a message was built from: the trigger event, and which profile fields its rules read."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date

from wayfinder.catalog import CatalogGraph, RankReason
from wayfinder.catalog.applies import resource_title
from wayfinder.catalog.graph import CATALOG_FACTS
from wayfinder.journeys.definitions import Definitions, Part
from wayfinder.journeys.events import DAY_FIELDS, CloudEvent
from wayfinder.journeys.model import Journey, LearningPathStep, RoadmapStep
from wayfinder.journeys.records import Message, enrollment_id, message_key
from wayfinder.journeys.templates import footer_explanation
from wayfinder.vocabulary import EventType

# What started a journey, as a reader names it (the message ids of the web catalogs); a company's own event type
# is shown as it is named.
EVENT_LABELS: dict[str, str] = {
    "hris.employee.upserted": "An update of the employee record",
    "hris.employee.hired": "A hire",
    "hris.employee.started": "A first day at work",
    "hris.dependent.added": "A new dependent in the family record",
    "hris.leave.started": "The start of a leave",
    "hris.leave.ended": "The end of a leave",
    "hris.job.changed": "A job change",
    "hris.manager.changed": "A change of manager",
    "hris.employee.relocated": "A change of work location",
    "hris.employee.terminated": "The end of employment",
    "hris.correction": "A correction of the employee record",
    "onboarding.task.completed": "An onboarding task done",
    "engagement.message.opened": "A message opened",
    "engagement.message.clicked": "A link clicked",
    "engagement.message.feedback": "Feedback on a message",
    "engagement.resource.rated": "A rating of a resource",
    "wellbeing.signal": "A wellbeing signal",
}


# Named only to the person it is about: to their manager or HR partner it may say what they are not to know.
_PRIVATE = frozenset({"wellbeing.signal"})
SOMETHING_RECORDED = "Something recorded about the person"


def event_label(event_type: str, say: Callable[[str], str], *, about_reader: bool = True) -> str:
    """The event type that started a journey in the reader's words (``say`` translates a message id). Read by
    someone else than the person it is about, a company's own type or a private one is not named (as in the
    explanation they get)."""
    label = EVENT_LABELS.get(event_type)
    if not about_reader and (label is None or event_type in _PRIVATE):
        return say(SOMETHING_RECORDED)
    return say(label) if label is not None else event_type


def day_of(event: CloudEvent) -> date | None:
    """The day ``event`` says it happened (``DAY_FIELDS``; the event's ``time`` is when the HR system recorded it),
    or None when its type names none or the value is not a date (then only the record's time is known)."""
    # A hire's ``start_date`` is the first day at work ahead, not the day of the hire: its record's time stays the day.
    name = DAY_FIELDS.get(event.type) if event.type != EventType.HIRED else None
    value = event.data.get(name) if name is not None else None
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


_FIELD = re.compile(r"(?<![\w.])employee\.(?:attributes\.)?([A-Za-z_][A-Za-z0-9_]*)")
_VISITS = 50  # a step a message was made at more than once (a loop): the visits looked for
_RECIPIENT = re.compile(r"(?<![\w.])recipient\.(?:attributes\.)?([A-Za-z_][A-Za-z0-9_]*)")


def trigger_of(events: Iterable[CloudEvent], message: Message, journey: Journey | None) -> CloudEvent | None:
    """The event that started the enrollment this message belongs to (the one whose enrollment id its message id
    is made from; the latest event of the trigger type named one that started nothing, a re-entry refused)."""
    if journey is None:
        return None
    for e in events:
        if e.subject != message.employee_id or e.type != journey.trigger.event:
            continue
        enrollment = enrollment_id(e.source, e.id)
        if any(message.message_id == message_key(message.employee_id, message.journey_id, message.journey_version,
                                                 enrollment, message.step_id, visit) for visit in range(1, _VISITS)):
            return e
    return None


def explanation_as_sent(message: Message) -> str | None:
    """The explanation as the message's footer says it, in the message's language (the record's is English)."""
    return footer_explanation(message.text or "") or message.explanation


def fields_used(journey: Journey | None, message: Message, defs: Definitions, rules: Iterable[str] = ()) -> list[str]:
    """The reader's profile fields this message used: for a message to the employee it is about, those the journey's
    trigger and audience, the message's own step (its ``when``) and its template read of them, and the resources'
    eligibility (``rules``); for a message to a manager or HR partner, only what its template reads of the
    recipient (the rest is about the person the message is about, not the reader)."""
    if journey is None:
        return []
    step = next((s for s in journey.steps if s.id == message.step_id), None)
    action = next((getattr(step, k) for k in ("send", "roadmap", "learning_path") if hasattr(step, k)), None)
    when = getattr(action, "when", None) or getattr(step, "when", None)
    templates = [t for key, t in defs.inline.items() if (key.journey, key.version, key.step) == (
        journey.id, journey.version, message.step_id) and key.part == Part.MESSAGE]
    named = defs.templates.get(getattr(action, "template", None) or "")
    if named is not None:
        templates.append(named)
    written = [source for t in templates for source in t.sources]
    names = {m for text in written for m in _RECIPIENT.findall(text)}
    if message.recipient_role == "employee":
        conditions = [c.source for c in (journey.trigger.when, journey.audience, when) if c is not None]
        names.update(m for text in (*conditions, *rules, *written) for m in _FIELD.findall(text))
        # and what ranked its resources ("Why these resources" names them: "meant for your location")
        names.update(_RANKED_BY[r.why] for reasons in message.ranking.values() for r in reasons
                     if r.why in _RANKED_BY)
    return sorted(names - {"attributes"})


# The profile field each of the ranking's reasons read (``CatalogGraph.reasons``); the others read the catalog or
# the person's engagement, not their profile.
_RANKED_BY = {"department": "department", "location": "location", "role": "role", "language": "locale",
              "format": "learning_style"}



# Why the ranking put a resource in a message, as its reader says it (``CatalogGraph.reasons``: what the message's
# record carries). Read by someone else than the person it is about (their manager or HR partner), only what the
# catalog says is shown: the topic and everyone's feedback; the rest is about that person.
_REASONS: dict[str, str] = {
    "topic": "it is about {topic}",
    "subtopic": "it is about a part of {topic}",
    "department": "it is meant for your department",
    "location": "it is meant for your location",
    "role": "it is meant for your role",
    "language": "it is in your language",
    "related": "you liked the related “{title}”",
    "colleagues": "placed lower: colleagues rated it poorly or rarely opened it",
}
_ENGAGEMENT = ("you opened, clicked or rated it well before", "placed lower: you rated it poorly before")
_FORMATS: dict[str, str] = {
    "video": "it is a video, which suits your learning style",
    "reading": "it is something to read, which suits your learning style",
    "hands_on": "it is hands-on, which suits your learning style",
    "cohort": "it is learned in a group, which suits your learning style",
}
NOT_KEPT = "the reasons were not kept with this message"
ON_ROADMAP = "an item of this roadmap, in the order its items build on each other"
ON_PATH = "a step of this learning path: it teaches a skill the path needs"
FOR_SOMEONE_ELSE = ("These were chosen for the person this message is about: what their details added to the choice "
                    "is not shown here.")


def why_chosen(message: Message, journey: Journey | None, catalog: CatalogGraph, locale: str | None,
               say: Callable[..., str], *, about_reader: bool) -> list[tuple[str, str]]:
    """For each resource the message listed, its title and one line on why it was chosen, in the reader's words,
    from the reasons the ranking gave when the message was made (``Message.ranking``); a roadmap's or a learning
    path's items by what they are on. To a reader the message is not about (``about_reader`` false: their manager
    or HR partner), only the catalog's facts: the topic and everyone's feedback."""
    step = next((s for s in journey.steps if s.id == message.step_id), None) if journey is not None else None
    out: list[tuple[str, str]] = []
    for rid in message.resources:
        r = catalog.resources.get(rid)
        title = resource_title(r, locale) if r is not None else rid
        if isinstance(step, RoadmapStep):
            line = say(ON_ROADMAP)
        elif isinstance(step, LearningPathStep):
            line = say(ON_PATH)
        elif rid not in message.ranking:  # made before the record kept them (6 Dec 2026), or by another engine
            line = say(NOT_KEPT)
        else:
            said = [_in_words(reason, catalog, locale, say) for reason in message.ranking[rid]
                    if about_reader or reason.why in CATALOG_FACTS]
            line = "; ".join(s for s in said if s)
        out.append((title, line))
    return out


def _in_words(reason: RankReason, catalog: CatalogGraph, locale: str | None, say: Callable[..., str]) -> str:
    """One ranking reason in the reader's words ('' for one that moved nothing: a rating of 0)."""
    if reason.why in ("topic", "subtopic"):
        topic = catalog.topics.get(reason.about or "")
        return say(_REASONS[reason.why], topic=topic.title_for(locale) if topic is not None else reason.about)
    if reason.why == "related":
        other = catalog.resources.get(reason.about or "")
        return say(_REASONS["related"], title=resource_title(other, locale) if other is not None else reason.about)
    if reason.why == "engagement":
        return say(_ENGAGEMENT[0]) if reason.points > 0 else say(_ENGAGEMENT[1]) if reason.points < 0 else ""
    if reason.why == "format":
        return say(_FORMATS[reason.about]) if reason.about in _FORMATS else ""
    return say(_REASONS[reason.why])
