"""``task``: open a task for a person (manager, HR partner) instead of sending a message."""

from __future__ import annotations

from typing import Any, Literal

from wayfinder.journeys.decisions import escalation_contact
from wayfinder.journeys.definitions import Part
from wayfinder.journeys.effects import Diagnostic, OpenTask
from wayfinder.journeys.model import Journey, TaskStep
from wayfinder.journeys.profile import left, present
from wayfinder.journeys.records import Task, stable_id
from wayfinder.journeys.state import Enrollment, OpenTaskRef
from wayfinder.journeys.steps.context import Next, Run, recipient, recipient_as_seen, skipped
from wayfinder.journeys.templates import RenderError

Assignee = Literal["hr_partner", "manager", "review_escalation"]
ASSIGNEE_LEFT = "assignee_left"  # an open task's reason: it is not with the person the step named, who has left
_MOVED = {
    "manager": "(This task was for the employee's manager, who has left; it came to you instead.)",
    "hr_partner": "(This task was for the employee's HR partner, who has left; it came to you instead.)",
}


def run_task(run: Run, journey: Journey, e: Enrollment, step: TaskStep, scope: dict[str, Any]) -> Next:
    action = step.task
    if not skipped(run, journey, step.id, action.when, scope):
        _open(run, journey, e, step, scope)
    return e.step + 1


def _open(run: Run, journey: Journey, e: Enrollment, step: TaskStep, scope: dict[str, Any]) -> None:
    action = step.task
    assignee, assignee_id, moved = _assignee(run, action.assignee)
    # The task's reader is its assignee: ``recipient`` is them (as a message's is its reader), leniently, as a task
    # never waits for the directory to know them; validate checks a title's fields as a message's.
    reader = present(run.known(assignee_id), run.now) if assignee_id is not None else None
    context = {**scope, "employee": run.employee, "recipient": recipient_as_seen(reader, assignee_id),
               "resources": [], "roadmap": [],
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
    note = f"{texts[1]}\n\n{_MOVED[action.assignee]}" if moved else texts[1]
    task = Task(task_id=task_id, employee_id=run.state.employee_id, assignee=assignee,
                assignee_id=assignee_id, journey_id=journey.id, journey_version=journey.version, step_id=step.id,
                title=texts[0], note=note, created_at=run.now, reason=ASSIGNEE_LEFT if moved else None)
    run.effects.append(OpenTask(task))
    run.state.open_tasks[task_id] = OpenTaskRef(trigger_source=e.trigger.get("source"),
                                                trigger_id=e.trigger.get("id"), task=task)


def _assignee(run: Run, role: Assignee) -> tuple[Assignee, str | None, bool]:
    """Who gets a task for the person with ``role``, and whether it went to someone else because that person has
    left (``profile.left``): a manager's goes to the employee's HR partner, unless they left too; an HR partner's, or
    a manager's with no HR partner to take it, to the escalation contact (``decisions.escalation_contact``, as a
    review nobody made in time); with nobody there, to nobody by name (``assignee_id: null``: whoever reads the
    tasks picks it up). Never to the person who left, nor to the employee it is about. Asked of ``run.known``: a task
    never waits for the directory."""
    assignee_id, _ = recipient(run, role, profile_needed=False)
    if assignee_id is None or not left(run.known(assignee_id), run.now):
        return role, assignee_id, False
    employee = run.state.employee_id
    partner = run.state.profile.get("hr_partner_id")
    if (role == "manager" and isinstance(partner, str) and partner and partner not in (assignee_id, employee)
            and not left(run.known(partner), run.now)):
        return "hr_partner", partner, True
    contact = escalation_contact(run.state, run.defs.policy, run.known, run.now, (assignee_id, employee))
    return ("review_escalation", contact, True) if contact is not None else (role, None, True)
