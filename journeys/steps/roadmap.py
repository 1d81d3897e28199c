"""``roadmap``: one message listing dated catalog items for the ``topics``, in dependency order, over the
``horizon`` from the employee's start date."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from wayfinder.catalog.graph import Selection
from wayfinder.journeys._durations import parse_duration
from wayfinder.journeys._time import zone
from wayfinder.journeys.model import Journey, RoadmapStep
from wayfinder.journeys.profile import Profile
from wayfinder.journeys.state import Enrollment
from wayfinder.journeys.steps.context import Next, Run
from wayfinder.journeys.steps.message import deliver


def run_roadmap(run: Run, journey: Journey, e: Enrollment, step: RoadmapStep, scope: dict[str, Any]) -> Next:
    action = step.roadmap
    deliver(run, journey, e, step, scope, action.channel, action.to,
            lambda: _select(run, e, step), lambda: run.defs.templates[action.template])
    return e.step + 1


def _select(run: Run, e: Enrollment, step: RoadmapStep) -> Selection:
    profile = run.state.profile
    start = start_date(profile, e, run.now)
    horizon = max(1, parse_duration(step.roadmap.horizon) // timedelta(days=1))
    return run.defs.catalog.roadmap(step.roadmap.topics, run.employee, start=start, horizon_days=horizon,
                                    delivered=run.state.delivered, opt_out_topics=profile.opt_out_topics)


def start_date(profile: Profile, e: Enrollment, now: datetime) -> date:
    """The day the roadmap starts: the profile's start date, else the trigger's, else today where they are."""
    for value in (profile.get("start_date"), e.trigger.get("data", {}).get("start_date")):
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                continue
        if isinstance(value, date):
            return value
    return now.astimezone(zone(profile.timezone)).date()
