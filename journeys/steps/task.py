"""``task``: open a task for a person (manager, HR partner) instead of sending a message."""

from __future__ import annotations

from typing import Any

from wayfinder.journeys.definitions import Part
from wayfinder.journeys.effects import Diagnostic, OpenTask
from wayfinder.journeys.model import Journey, TaskStep
from wayfinder.journeys.records import Task, stable_id
from wayfinder.journeys.state import Enrollment, OpenTaskRef
from wayfinder.journeys.steps.context import Next, Run, recipient, test
from wayfinder.journeys.templates import RenderError


def run_task(run: Run, journey: Journey, e: Enrollment, step: TaskStep, scope: dict[str, Any]) -> Next:
    action = step.task
    if action.when is None or test(run, action.when, journey, step.id, scope):
        _open(run, journey, e, step, scope)
    return e.step + 1


def _open(run: Run, journey: Journey, e: Enrollment, step: TaskStep, scope: dict[str, Any]) -> None:
    action = step.task
    assignee_id, _ = recipient(run, action.assignee, profile_needed=False)
    context = {**scope, "employee": run.employee, "recipient": {}, "resources": [], "roadmap": [],
               "explanation": "", "preferences_url": run.defs.policy.preferences_url}
    texts = []
    for part in (Part.TITLE, Part.NOTE):
        template = run.defs.inline_template(journey, step.id, part)
        try:
            texts.append(template.render_text(context))
        except RenderError as err:
            run.effects.append(Diagnostic("render_failed", journey.id, step.id, str(err)))
            texts.append(getattr(action, part.value))
    task_id = stable_id("t", run.state.employee_id, journey.id, journey.version, e.enrollment_id, step.id,
                        e.visits.get(step.id, 1))
    task = Task(task_id=task_id, employee_id=run.state.employee_id, assignee=action.assignee,
                assignee_id=assignee_id, journey_id=journey.id, journey_version=journey.version, step_id=step.id,
                title=texts[0], note=texts[1], created_at=run.now)
    run.effects.append(OpenTask(task))
    run.state.open_tasks[task_id] = OpenTaskRef(trigger_source=e.trigger.get("source"),
                                                trigger_id=e.trigger.get("id"), task=task)
