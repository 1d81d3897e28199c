"""Why ``wayfinder preview`` produced nothing: which of trigger, audience or eligibility did not match."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wayfinder.catalog.model import skill_key
from wayfinder.journeys.engine import event_view
from wayfinder.journeys.events import CloudEvent, iso
from wayfinder.journeys.loader import Definitions
from wayfinder.journeys.model import Journey, LearningPathStep, RoadmapStep, SendStep, WaitForStep
from wayfinder.journeys.profile import Profile, apply_event
from wayfinder.journeys.state import EmployeeState
from wayfinder.streams.embedded import EmbeddedRunner

HORIZON = timedelta(days=400)
"""How far past the last event preview runs every timer (other people's too: the mailbox they share)."""
FOLLOW_UP_TO = timedelta(days=3653)
"""How far past the last event preview follows the previewed enrollment's own waits (a wait of two years)."""
FOLLOW_WAKES = 24
"""How many of its waits preview follows past ``HORIZON``: a journey that loops on a wait goes on for ever."""


def follow(runner: EmbeddedRunner, journey_id: str, employee_id: str, last: datetime) -> None:
    """After the run to ``last + HORIZON``: on to each later wake of this employee's enrollment in the journey, up to
    ``FOLLOW_UP_TO`` and ``FOLLOW_WAKES`` wakes, so that a message after a long wait is shown (it was left out,
    unsaid, past 400 days)."""
    for _ in range(FOLLOW_WAKES):
        state = runner.states.get(employee_id)
        e = state.enrollments.get(journey_id) if state is not None else None
        if e is None or e.wake_at is None or e.wake_at > last + FOLLOW_UP_TO or (
                runner.clock is not None and e.wake_at <= runner.clock):
            return
        runner.advance_to(e.wake_at)


def still_waiting(journey: Journey, state: EmployeeState | None, zone_name: str | None) -> str | None:
    """Where the employee's enrollment still waits when the preview ends (a ``wait_for`` nothing answered, a wait
    beyond what preview follows), said as the core left it; None when it ended."""
    e = state.enrollments.get(journey.id) if state is not None else None
    if e is None or e.version != journey.version or not 0 <= e.step < len(journey.steps):
        return None
    step = journey.steps[e.step]
    if isinstance(step, WaitForStep) and e.waiting == "event":
        said = f"waits at step {step.id} for the next {step.wait_for.event} event" + (
            " that its condition (when) accepts" if step.wait_for.when is not None else "")
        if e.wake_at is None:
            return said + " (no timeout: the employee stays in the journey until one comes)"
        target = step.wait_for.on_timeout or (journey.steps[e.step + 1].id if e.step + 1 < len(journey.steps)
                                              else None)
        then = f"goes on at step {target}" if target is not None else "ends"
        return said + f"; if none comes by {local_time(e.wake_at, zone_name)} ({iso(e.wake_at)}), it {then}"
    if e.waiting == "timer" and e.wake_at is not None:
        return (f"waits at step {step.id} until {local_time(e.wake_at, zone_name)} ({iso(e.wake_at)}); preview stops "
                f"here (it runs 400 days past the last event, then follows up to {FOLLOW_WAKES} more waits within ten "
                "years)")
    return None


_PYTHON_ERROR = re.compile(r"(\w+): (.*)", re.DOTALL)
_KINDS = {"str": "text", "int": "a whole number", "float": "a number", "dict": "a map", "list": "a list",
          "NoneType": "nothing", "bool": "true or false"}


def plain_failure(error: str) -> str:
    """An expression's failure as HR operations read it: no Python names (``KeyError: 'x'`` is a missing field)."""
    gave = re.fullmatch(r"condition gave (\w+), not a bool", error)
    if gave:
        return f"it gives {_KINDS.get(gave[1], gave[1])}, not true or false"
    found = _PYTHON_ERROR.fullmatch(error)
    if found is None:
        return error
    kind, rest = found.groups()
    if kind == "KeyError":
        field = "a field it reads" if rest == "'…'" else f"the field {rest}"
        return f"{field} is missing"
    if kind == "TypeError":
        return f"a type mismatch: {rest}"
    if kind == "ZeroDivisionError":
        return "a division by zero"
    return rest if kind.endswith(("Error", "Exception")) else error


def _condition(name: str, result: tuple[bool, str | None]) -> str | None:
    ok, error = result
    if error is not None:
        plain = plain_failure(error)
        hint = "; has() tests for a field that may not be there" if plain.endswith(" is missing") else ""
        return f"the {name} could not be evaluated ({plain}), which counts as false{hint}"
    return None if ok else f"the {name} is false for this employee"


def _eligibility(journey: Journey, defs: Definitions, employee: dict[str, object]) -> list[str]:
    out = []
    for step in journey.steps:
        topics: Sequence[str] = ()
        if isinstance(step, SendStep) and step.send.resources is not None:
            topics = step.send.resources.topics
        elif isinstance(step, RoadmapStep):
            topics = step.roadmap.topics
        if topics and not defs.catalog.select(topics, employee, limit=50).resources:
            out.append(f"step {step.id}: no resource about {', '.join(topics)} is eligible for this employee "
                       "(catalog eligibility)")
        if isinstance(step, LearningPathStep):
            out.extend(_no_path(step, defs, employee))
    return out


def _no_path(step: LearningPathStep, defs: Definitions, employee: dict[str, object]) -> list[str]:
    """Why a learning path step had nothing to send."""
    attributes = employee.get("attributes")
    aspiration = attributes.get("aspiration") if isinstance(attributes, dict) else None
    name = step.learning_path.role or (aspiration if isinstance(aspiration, str) else None)
    role = defs.catalog.role_for(name) if name else None
    if role is None:
        return [f"step {step.id}: no target role (the step names none and the employee's aspiration is "
                "missing or not a role of the catalog)"]
    plan = defs.catalog.learning_path(role, employee, start=date(2000, 1, 3), horizon_days=1, pace_days=1).path
    if plan is not None and not plan.missing:
        return [f"step {step.id}: the profile already has every skill role {role.id} needs"]
    if plan is not None and not plan.resources:
        return [f"step {step.id}: no resource this employee may get teaches {', '.join(plan.unreachable)}"]
    return [f"step {step.id}: the first item of the path falls after the horizon ({step.learning_path.horizon})"]


def why_nothing(journey: Journey, defs: Definitions, events: Sequence[CloudEvent], employee_id: str) -> list[str]:
    """Reasons, in the order the engine meets them, that the journey gave this employee nothing."""
    if journey.status == "paused":
        return [f"journey {journey.id} is paused: it enrolls no one"]
    profile = Profile(id=employee_id)
    reasons: list[str] = []
    matched = False
    for event in sorted((e for e in events if e.subject == employee_id), key=lambda e: e.time):
        apply_event(profile, event.type, event.data)
        if event.type != journey.trigger.event:
            continue
        view = event_view(event)
        scope = {"employee": profile.view(), "event": view, "trigger": view, "now": event.time}
        why = [r for r in (
            _condition("trigger condition (trigger.when)", journey.trigger.when.test(scope))
            if journey.trigger.when is not None else None,
            _condition("audience", journey.audience.test(scope)) if journey.audience is not None else None,
        ) if r is not None]
        if why:  # the engine stops at the first that does not match
            made_up = " (preview made this event up: give its data with --data '{...}')" if (
                event.source == "wayfinder/preview" and not event.data) else ""
            reasons = [f"{event.type} at {iso(event.time)}: {why[0]}{made_up}"]
        else:
            matched = True
            reasons = _eligibility(journey, defs, profile.view())
    if not matched and not reasons:
        return [f"no {journey.trigger.event} event for this employee"]
    if matched and not reasons:
        return ["the trigger and audience matched, but every step was skipped (a send or task `when`) "
                "or ended first"]
    return reasons


class Timezones:
    """Each person's timezone at any time, as the events set it (to show times as the recipient read them)."""

    def __init__(self, events: Sequence[CloudEvent]) -> None:
        profiles: dict[str, Profile] = {}
        self._changes: dict[str, list[tuple[datetime, str]]] = {}
        for event in sorted(events, key=lambda e: e.time):
            profile = profiles.setdefault(event.subject, Profile(id=event.subject))
            apply_event(profile, event.type, event.data)
            changes = self._changes.setdefault(event.subject, [])
            if not changes or changes[-1][1] != profile.timezone:
                changes.append((event.time, profile.timezone))

    def at(self, person: str, when: datetime) -> str | None:
        zone = None
        for since, name in self._changes.get(person, []):
            if since > when:
                break
            zone = name
        return zone


def local_time(when: datetime, zone_name: str | None) -> str:
    """``2026-03-02 10:00 Europe/Berlin`` (UTC when the zone is unknown)."""
    name = zone_name or "UTC"
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        name, zone = "UTC", ZoneInfo("UTC")
    return f"{when.astimezone(zone):%Y-%m-%d %H:%M} {name}"


def _step_topics(journey: Journey, step_id: str) -> Sequence[str]:
    step = journey.steps[journey.step_index[step_id]] if step_id in journey.step_index else None
    if isinstance(step, SendStep) and step.send.resources is not None:
        return step.send.resources.topics
    if isinstance(step, RoadmapStep):
        return step.roadmap.topics
    return ()


def _teaches_line(journey: Journey, defs: Definitions, step_id: str, resource_id: str,
                  employee: dict[str, object]) -> str | None:
    """For a learning path item: the skills it teaches that the person lacks."""
    step = journey.steps[journey.step_index[step_id]] if step_id in journey.step_index else None
    resource = defs.catalog.resources.get(resource_id)
    if not isinstance(step, LearningPathStep) or resource is None:
        return None
    skills = employee.get("skills")
    have = {skill_key(s) for s in skills if isinstance(s, str)} if isinstance(skills, list) else set()
    new = [s for s in resource.teaches if skill_key(s) not in have]
    needs = [s for s in resource.requires_skills]
    return (f"teaches {', '.join(new) or 'nothing new'} (on the path that covers the role's missing skills)"
            + (f"; comes after what teaches {', '.join(needs)}" if needs else ""))


def profile_then(events: Sequence[CloudEvent], employee_id: str, at: datetime,
                 erased_at: datetime | None = None) -> dict[str, object]:
    """The employee's profile as their events up to ``at`` made it (the time a message was made), in the order the
    runner reads them: a later move or change of role does not explain an earlier message's resources. After an
    erasure (``erased_at``) only later events count: a hire re-created the person from nothing."""
    profile = Profile(id=employee_id)
    for event in sorted((e for e in events if e.subject == employee_id and e.time <= at
                         and (erased_at is None or e.time > erased_at)), key=lambda e: e.time):
        apply_event(profile, event.type, event.data, event.time)
    return profile.view()


def why_resources(journey: Journey, defs: Definitions, step_id: str, resources: Sequence[str],
                  state: EmployeeState | None, employee: dict[str, object] | None = None) -> list[str]:
    """Why each resource of a message was chosen, as ``preview`` prints it: the ranking's reasons with their
    points (topic, department, location, role, language, learning style, this person's engagement) and what
    every employee's feedback says about it. ``employee``: the profile when the message was made (default: the
    state's)."""
    if not resources:
        return []
    if employee is None:
        employee = state.profile.view() if state is not None else {}
    feedback = state.feedback if state is not None else {}
    topics = _step_topics(journey, step_id)
    step = journey.steps[journey.step_index[step_id]] if step_id in journey.step_index else None
    out = ["Why these resources:"]
    for rid in resources:
        if isinstance(step, RoadmapStep):  # every eligible item is on it, in requires order: no ranking
            reasons = [f"an item about {', '.join(topics)} you may get, in requires order"]
        else:
            reasons = defs.catalog.why(rid, topics, employee, feedback)
        extra = [_teaches_line(journey, defs, step_id, rid, employee), defs.catalog.variant_note(rid, employee)]
        out.append(f"  - {rid}: " + "; ".join([*(x for x in extra if x), *reasons]))
    return out
