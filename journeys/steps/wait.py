"""``wait``: ``for`` a duration, or ``until`` a date or time (with ``offset`` and ``at``) in the employee's
timezone; a time already past continues at once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wayfinder.journeys._time import read_time, set_time_of_day, shift, zone
from wayfinder.journeys.effects import Diagnostic
from wayfinder.journeys.model import Journey, WaitStep, to_time
from wayfinder.journeys.state import Enrollment
from wayfinder.journeys.steps.context import Next, Run, finish, schedule
from wayfinder.journeys.steps.context import scope as expression_scope


def run_wait(run: Run, journey: Journey, e: Enrollment, step: WaitStep, scope: dict[str, Any]) -> Next:
    found = _due(run, journey, step, scope)
    if found is None:
        finish(run, journey, "exited")
        return "stop"
    due, instant = found
    if due <= run.now:
        return e.step + 1
    e.waiting = "timer"
    e.wake_instant = instant
    e.token += 1
    schedule(run, e, due)
    return "stop"


def wait_due(run: Run, journey: Journey, step: WaitStep, scope: dict[str, Any]) -> datetime | None:
    """When the wait ends, worked out now; None (with a diagnostic) when ``until`` does not give a time."""
    found = _due(run, journey, step, scope)
    return found[0] if found is not None else None


def _due(run: Run, journey: Journey, step: WaitStep, scope: dict[str, Any]) -> tuple[datetime, bool] | None:
    """When the wait ends, and whether that is an instant (``until`` a timestamp, without ``at``) rather than a
    local date or time of day; None (with a diagnostic) when ``until`` does not give a time."""
    tz = zone(run.state.profile.timezone)
    w = step.wait
    if w.until is None:  # an instant too, but a move never works a ``wait: for`` out again (``Engine._moved_zone``)
        return shift(run.now, w.for_ or "0s", tz), False
    value, error = w.until.evaluate(expression_scope(run, scope))
    try:
        if error is not None:
            raise ValueError(error)
        due, is_date = read_time(value, tz)
        if w.offset is not None:
            due = shift(due, w.offset, tz)
    except ValueError as err:
        run.effects.append(Diagnostic("expression_failed", journey.id, step.id, f"wait until: {err}"))
        return None
    if w.at is not None:
        return set_time_of_day(due, to_time(w.at), tz), False
    return due, not is_date
