"""``learning_path``: one message listing the fewest catalog resources that teach the skills a role needs and
the employee lacks, prerequisites first, one due every ``pace`` within the ``horizon`` (extension)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from wayfinder.catalog.graph import Selection
from wayfinder.catalog.model import RoleSpec
from wayfinder.journeys._durations import parse_duration
from wayfinder.journeys._time import zone
from wayfinder.journeys.effects import Diagnostic
from wayfinder.journeys.model import Journey, LearningPathStep
from wayfinder.journeys.state import Enrollment
from wayfinder.journeys.steps.context import Next, Run
from wayfinder.journeys.steps.message import deliver

ASPIRATION = "aspiration"
"""The profile field (kept as ``employee.attributes.aspiration``) naming the role someone aims for."""


def run_learning_path(run: Run, journey: Journey, e: Enrollment, step: LearningPathStep,
                      scope: dict[str, Any]) -> Next:
    action = step.learning_path
    role = _target(run, journey, step)
    if role is None:
        return e.step + 1
    own = run.state.profile.opt_out_topics
    selection = _select(run, journey, step, role, own)
    if not selection.resources:  # nothing to learn here, or nothing due within the horizon: no message
        return e.step + 1
    deliver(run, journey, e, step, scope, action.channel, action.to,
            lambda opted: selection if opted == own else _select(run, journey, step, role, opted, report=False),
            lambda: run.defs.templates[action.template])
    return e.step + 1


def _target(run: Run, journey: Journey, step: LearningPathStep) -> RoleSpec | None:
    """The role of the step, else the one the employee aspires to; None (and a diagnostic) when not known."""
    catalog = run.defs.catalog
    name = step.learning_path.role
    if name is None:
        value = run.state.profile.attributes.get(ASPIRATION)
        name = value if isinstance(value, str) and value.strip() else None
        if name is None:
            run.effects.append(Diagnostic("learning_path_no_target", journey.id, step.id,
                                          "the employee has no aspiration and the step names no role"))
            return None
    role = catalog.role_for(name)
    if role is None:
        run.effects.append(Diagnostic("learning_path_no_target", journey.id, step.id,
                                      "the employee's aspiration is not a role of the catalog"))
    return role


def _select(run: Run, journey: Journey, step: LearningPathStep, role: RoleSpec, opt_out_topics: list[str], *,
            report: bool = True) -> Selection:
    """The path for the employee, less the topics ``opt_out_topics`` (its reader's); ``report``: say what it
    cannot reach (once: a path to a manager is chosen again with the manager's opt-outs)."""
    action = step.learning_path
    profile = run.state.profile
    start = run.now.astimezone(zone(profile.timezone)).date()
    selection = run.defs.catalog.learning_path(
        role, run.employee, start=start, horizon_days=max(1, parse_duration(action.horizon) // timedelta(days=1)),
        pace_days=max(1, parse_duration(action.pace) // timedelta(days=1)), opt_out_topics=opt_out_topics,
        feedback=run.state.feedback)
    plan = selection.path
    if report and plan is not None and plan.unreachable:
        run.effects.append(Diagnostic("learning_path_incomplete", journey.id, step.id,
                                      f"role {role.id}: no resource this employee may get teaches "
                                      + ", ".join(plan.unreachable)))
    return selection
