"""``wait_for``: wait for an event of a type (with an optional ``when``); after ``timeout`` go on at
``on_timeout`` (default: the next step)."""

from __future__ import annotations

from typing import Any

from wayfinder.journeys._time import shift, zone
from wayfinder.journeys.model import Journey, WaitForStep
from wayfinder.journeys.state import Enrollment
from wayfinder.journeys.steps.context import Next, Run, schedule, test


def run_wait_for(run: Run, e: Enrollment, step: WaitForStep) -> Next:
    e.waiting = "event"
    e.token += 1
    if step.wait_for.timeout is not None:
        schedule(run, e, shift(run.now, step.wait_for.timeout, zone(run.state.profile.timezone)))
    return "stop"


def resumed_by(run: Run, journey: Journey, e: Enrollment, step: WaitForStep, event_type: str,
               view: dict[str, Any]) -> bool:
    """Whether the event (``view``) is the one the enrollment waits for."""
    if step.wait_for.event != event_type:
        return False
    when = step.wait_for.when
    return when is None or test(run, when, journey, step.id, {"event": view, "trigger": e.trigger})


def after_timeout(journey: Journey, e: Enrollment, step: WaitForStep) -> int:
    """The step to go on with when the wait timed out."""
    target = step.wait_for.on_timeout
    return journey.step_index[target] if target else e.step + 1
