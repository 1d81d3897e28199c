"""``roadmap``: one message listing dated catalog items for the ``topics``, in dependency order, over the
``horizon`` from the day the journey's trigger is about (a hire's start date, a return from leave, ...)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from wayfinder.catalog.graph import Selection
from wayfinder.journeys._durations import parse_duration
from wayfinder.journeys._time import day_of, zone
from wayfinder.journeys.events import EARLIEST, LATEST, day_fields
from wayfinder.journeys.model import Journey, RoadmapStep
from wayfinder.journeys.profile import Profile
from wayfinder.journeys.state import Enrollment
from wayfinder.journeys.steps.context import Next, Run
from wayfinder.journeys.steps.message import deliver
from wayfinder.vocabulary import EventType

# Triggers about the start of employment, whose start date the profile keeps up to date (an upsert may move it).
_HIRES = frozenset({EventType.HIRED, EventType.UPSERTED})


def run_roadmap(run: Run, journey: Journey, e: Enrollment, step: RoadmapStep, scope: dict[str, Any]) -> Next:
    action = step.roadmap
    deliver(run, journey, e, step, scope, action.channel, action.to,
            lambda opted: _select(run, e, step, opted), lambda: run.defs.templates[action.template])
    return e.step + 1


def _select(run: Run, e: Enrollment, step: RoadmapStep, opt_out_topics: list[str]) -> Selection:
    profile = run.state.profile
    start = start_date(profile, e, run.now)
    horizon = max(1, parse_duration(step.roadmap.horizon) // timedelta(days=1))
    return run.defs.catalog.roadmap(step.roadmap.topics, run.employee, start=start, horizon_days=horizon,
                                    delivered=run.state.delivered, opt_out_topics=opt_out_topics)


def start_date(profile: Profile, e: Enrollment, now: datetime) -> date:
    """Day 1 of the roadmap: the day the trigger is about. A hire (or an upsert carrying a start date): the
    profile's start date, else the trigger's. Any other trigger: its own date (a return from leave's
    ``return_date``, else ``start_date``, else ``date``), else the day of its ``time`` where the employee is. Last,
    today where they are."""
    trigger: Mapping[str, Any] = e.trigger
    data = trigger.get("data") or {}
    kind = str(trigger.get("type"))
    values = [data.get(name) for name in day_fields(kind)]
    if kind in _HIRES and "start_date" in data:
        values.insert(0, profile.get("start_date"))
    tz = zone(profile.timezone)
    for value in (*values, trigger.get("time")):
        day = day_of(value, tz)
        if day is not None and EARLIEST <= day <= LATEST:  # a company's own type may say 9999-12-31 for "none"
            return day
    return now.astimezone(tz).date()
