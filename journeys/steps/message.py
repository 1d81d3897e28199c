"""How a message is made, shared by ``send`` and ``roadmap``: the recipient's opt-outs, the catalog
selection, rendering with the explanation, and where it goes (the recipient's mailbox, or a human first
when it is sensitive)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wayfinder.catalog.graph import CATALOG_FACTS, RankReason, Selection
from wayfinder.journeys.decisions import held_because, hold_for_review
from wayfinder.journeys.digest import digest_rule
from wayfinder.journeys.effects import Decide, Diagnostic, Dispatch, Gather
from wayfinder.journeys.explain import explain
from wayfinder.journeys.holdout import in_holdout
from wayfinder.journeys.leave import rule_for
from wayfinder.journeys.model import Journey, LearningPathStep, RoadmapStep, SendStep
from wayfinder.journeys.profile import DetailsToCome, Profile, name_of
from wayfinder.journeys.records import Message
from wayfinder.journeys.state import Enrollment
from wayfinder.journeys.steps.context import Run, message_id, recipient, recipient_as_seen
from wayfinder.journeys.templates import MessageTemplate, RenderError

Select = Callable[[list[str]], Selection]
"""The catalog items for this message, leaving out the topics its recipient opted out of (asked only once the
recipient may receive it)."""
Template = Callable[[], MessageTemplate]


def _an_address(value: object) -> bool:
    """Text that may be an email address: one '@' with something on each side and no spaces. The email
    connector still parses it strictly when it sends (``parse_address``); this only tells "no address"."""
    if not isinstance(value, str) or value.count("@") != 1:
        return False
    local, domain = value.split("@")
    return bool(local) and bool(domain) and not any(c.isspace() for c in value)


def deliver(run: Run, journey: Journey, e: Enrollment, step: SendStep | RoadmapStep | LearningPathStep,
            scope: dict[str, Any], channel: str, role: str, select: Select, template: Template) -> None:
    """Decide one message from ``step`` on ``channel`` to the person with ``role``."""
    recipient_id, person = recipient(run, role)
    base = Message(
        message_id=message_id(run, journey, e, step.id), employee_id=run.state.employee_id,
        recipient_id=recipient_id, recipient_role=role, journey_id=journey.id, journey_version=journey.version,
        step_id=step.id, channel=channel, status="suppressed", scheduled_for=run.now, created_at=run.now,
        preferences_url=run.defs.policy.preferences_url,
    )
    if in_holdout(run.state.employee_id, journey.id, journey.holdout_share) and not _sensitive(
            run, journey, e, _topics(select(person.opt_out_topics if person is not None else []))
            if run.defs.policy.sensitive_topics else []):
        # The control group; a message that would wait for a person (a sensitive moment) is never held out.
        run.effects.append(Decide(base.with_status("suppressed", reason="holdout")))
        return
    if recipient_id is None or person is None:  # no id on the profile, or nobody known by that id (issue 9)
        run.effects.append(Decide(base.with_status("suppressed", reason="no_recipient")))
        return
    if channel == "email" and not _an_address(person.get("email")) and not isinstance(person, DetailsToCome):
        # a profile with no address (a person known by id alone, or one whose upserts never gave an email), or
        # with text that is no address at all (blank, no '@'): nothing could deliver it
        run.effects.append(Decide(base.with_status("suppressed", reason="no_recipient")))
        return
    if channel in person.opt_out_channels:
        run.effects.append(Decide(base.with_status("suppressed", reason="opted_out_channel")))
        return
    # the reader's topics, as their mailbox checks them again when a held message goes: a manager's opt-out reached
    # only what quiet hours held, and the employee's stripped or suppressed the note to their manager (2026-12-06)
    selection = select(person.opt_out_topics)
    if selection.all_opted_out:
        run.effects.append(Decide(base.with_status("suppressed", reason="opted_out_topic")))
        return
    for err in selection.errors:
        run.effects.append(Diagnostic("expression_failed", journey.id, step.id, err))
    if selection.requires_cycle:
        run.effects.append(Diagnostic("roadmap_requires_cycle", journey.id, step.id, "the requires of the "
                                      "alternatives picked form a cycle; ordered by the requires as written"))
    asked = not isinstance(step, SendStep) or step.send.resources is not None  # a list: the step's point or part
    nothing_listed = asked and not selection.resources and not selection.roadmap
    message = _render(run, journey, e, step.id, scope, base, person, selection, template, nothing_listed)
    if message is not None:
        _route(run, journey, e, message, person)


def _render(run: Run, journey: Journey, e: Enrollment, step_id: str, scope: dict[str, Any], base: Message,
            person: Profile | None, selection: Selection, template: Template, nothing_listed: bool) -> Message | None:
    """The message with its text; None (and a failed decision) when the template does not render (a text that
    renders empty does, when the list the step asked for came back empty: ``nothing_listed``)."""
    catalog = run.defs.catalog
    policy = run.defs.policy
    resources = [catalog.view(r.id) for r in selection.resources]
    topics = _topics(selection)
    recipient_view = recipient_as_seen(person, base.recipient_id)
    explanation = explain(journey, e.trigger, base.recipient_role, run.employee, run.defs, scope,
                          lambda err: run.effects.append(Diagnostic("explanation_failed", journey.id, step_id, err)),
                          now=run.now)
    context = {
        **scope, "employee": run.employee, "recipient": recipient_view, "resources": resources,
        "roadmap": [item.view() for item in selection.roadmap], "explanation": explanation,
        "preferences_url": policy.preferences_url,
    }
    locale = person.locale if person is not None else run.state.profile.locale
    try:
        rendered = template().render(context, locale, footer=(explanation, policy.preferences_url),
                                     nothing_listed=nothing_listed)
    except RenderError as err:
        run.effects.append(Diagnostic("render_failed", journey.id, step_id, str(err)))
        run.effects.append(Decide(base.with_status("failed", reason="render_error")))
        return None
    # Data minimisation (SPEC §3: only what a journey, template or catalog rule reads leaves the engine): the address
    # goes with an email only (its channel delivers to it), and the name a digest's template greets by (preferred or
    # given) with a message gathered into a digest only; an intranet post is by id, an email's To: is the address.
    emailed = base.channel == "email"
    name = None
    rule = digest_rule(policy, base.recipient_role, journey.id, base.channel)
    digest = run.defs.templates.get(rule.template) if rule is not None else None
    if person is not None and digest is not None and digest.reads("recipient", "name"):
        name = name_of(person.fields)
    return base.model_copy(update={
        "subject": rendered.subject, "text": rendered.text, "html": rendered.html,
        "resources": [r.id for r in selection.resources], "topics": topics, "explanation": explanation,
        "locale": locale, "recipient_email": person.get("email") if person is not None and emailed else None,
        "recipient_name": name, "ranking": _ranking_for(base, selection),
    })


def _ranking_for(base: Message, selection: Selection) -> dict[str, list[RankReason]]:
    """Why each resource ranked where it did, as the record keeps it: all of it in a message to the employee; in one
    to their manager or HR partner only the catalog's facts (the topic, everyone's feedback), as the why page shows
    them, since the rest (their department, learning style, clicks) is about someone else than its reader."""
    if base.delivers_to_employee:
        return selection.ranking
    return {rid: [r for r in reasons if r.why in CATALOG_FACTS] for rid, reasons in selection.ranking.items()}


def _route(run: Run, journey: Journey, e: Enrollment, message: Message, person: Profile | None) -> None:
    """A sensitive message waits for a human; any other goes to its recipient's mailbox."""
    if message.delivers_to_employee:  # a manager's resources are not the employee's (they may still get them)
        run.state.delivered.update(message.resources)
    if _sensitive(run, journey, e, message.topics):
        run.effects.extend(hold_for_review(run.state, message, run.now, run.defs.policy))
        return
    mailbox = message.mailbox
    run.state.mailboxes.add(mailbox)
    tz = person.timezone if person is not None else run.state.profile.timezone
    quiet = person.quiet_window if person is not None else None
    weekend = run.defs.policy.working_days.weekend_country((person or run.state.profile).get("country"))
    if digest_rule(run.defs.policy, message.recipient_role, journey.id, message.channel) is not None:
        run.effects.append(Gather(mailbox, message.with_status("deferred"), tz, quiet,
                                  rule_for(journey, message.recipient_role, e.trigger, run.state.leave),
                                  weekend_country=weekend))
        return
    run.effects.append(Dispatch(mailbox, message.with_status("deferred"), tz, quiet,
                                rule_for(journey, message.recipient_role, e.trigger, run.state.leave),
                                weekend_country=weekend))


def _topics(selection: Selection) -> list[str]:
    return sorted({t for r in selection.resources for t in r.topics})


def _sensitive(run: Run, journey: Journey, e: Enrollment, topics: list[str]) -> bool:
    trigger = e.trigger.get("type")
    return bool(held_because(journey.sensitivity, trigger if isinstance(trigger, str) else None, e.sensitive,
                             topics, run.defs.catalog.lineage, run.defs.policy))
