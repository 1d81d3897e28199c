"""What every step kind shares: the run context of one core call, expressions tested with diagnostics,
recipients, message ids, timers and the end of an enrollment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from jinja2 import Undefined

from wayfinder.journeys.definitions import Definitions
from wayfinder.journeys.effects import Diagnostic, Effect, EnrollmentTimer, Lifecycle, Schedule, Skipped
from wayfinder.journeys.model import Journey
from wayfinder.journeys.profile import KNOWN_FIELDS, Profile, present
from wayfinder.journeys.records import message_key
from wayfinder.journeys.state import EmployeeState, Enrollment

Directory = Callable[[str], Profile | None]
"""Looks up another person's profile (a manager, an HR partner) by id; None when unknown."""

Next = int | Literal["stop", "end"]
"""What a step says comes next: the index of the next step, ``"stop"`` (the enrollment now waits, or the step
ended it itself) or ``"end"`` (the enrollment is complete)."""


@dataclass
class Run:
    """What one call of the core works with: the state it changes, the time, and the effects so far."""

    defs: Definitions
    state: EmployeeState
    now: datetime
    directory: Directory
    view: dict[str, Any] | None  # the employee as expressions see it; None: made when first read
    effects: list[Effect]
    # Who is known now, never waiting for anyone (a worker's directory as it is): whether a task's assignee has
    # left. A task needs no one's profile, so it does not wait for the directory (README "no_recipient").
    known: Directory

    @property
    def employee(self) -> dict[str, Any]:
        """The employee's profile as expressions and templates see it. Made when first read, as most events
        (engagement, tasks) test nothing: the profile changes only before a run starts."""
        if self.view is None:
            self.view = self.state.profile.view()
        return self.view


def scope(run: Run, extra: dict[str, Any]) -> dict[str, Any]:
    """What an expression sees: the employee, the time, and ``extra`` (event, trigger)."""
    return {"employee": run.employee, "now": run.now, **extra}


def test(run: Run, expr: Any, journey: Journey, step_id: str | None, extra: dict[str, Any]) -> bool:
    """A condition; one that fails at run time counts as false and leaves a diagnostic."""
    return tested(run, expr, journey, step_id, extra)[0]


def tested(run: Run, expr: Any, journey: Journey, step_id: str | None,
           extra: dict[str, Any]) -> tuple[bool, str | None]:
    """``test``, and why a condition that failed at run time counted as false (its diagnostic's detail: what went
    wrong, never a value), else None."""
    ok, error = expr.test(scope(run, extra))
    if error is not None:
        run.effects.append(Diagnostic("expression_failed", journey.id, step_id, error))
    return bool(ok), error


def skipped(run: Run, journey: Journey, step_id: str, when: Any, extra: dict[str, Any]) -> bool:
    """Whether a step's ``when`` skips it (false, or failed and so counted false); a skip is noted as ``Skipped``,
    with why it failed if it did, for a runner that shows an employee's path (``preview``)."""
    if when is None:
        return False
    holds, failed = tested(run, when, journey, step_id, extra)
    if not holds:
        run.effects.append(Skipped(journey.id, step_id, run.now, when.source, failed))
    return not holds


def recipient(run: Run, role: str, *, profile_needed: bool = True) -> tuple[str | None, Profile | None]:
    """The id and (when known) the profile of the person with ``role`` for this employee; without
    ``profile_needed`` the directory is not asked. A manager or HR partner who has left (``profile.left``) has no
    profile here, as a person nobody knows: a message to them is ``no_recipient``. The person themselves named as
    their own manager or HR partner holds no role for themselves (a note to "the manager" about their own child's
    birth or their own bereavement, a task to arrange their own cover, went to them)."""
    profile = run.state.profile
    if role == "employee":
        return profile.id, profile
    rid = profile.get("manager_id" if role == "manager" else "hr_partner_id")
    if not isinstance(rid, str) or not rid or rid == profile.id:
        return None, None  # nobody else holds the role: as without one (an HR system may make a tree's head their own)
    return rid, present(run.directory(rid), run.now) if profile_needed else None


def recipient_as_seen(person: Profile | None, recipient_id: str | None) -> dict[str, Any]:
    """The reader as templates see them (a message's recipient, a task's assignee): the fields a profile always has
    are there, empty when not known here yet (printed as nothing; a template's ``default`` applies). In a worker
    another partition's person comes from the directory, which may lag (no profile, or one that has no name yet):
    the text then renders as it did before strict templates instead of failing; ``simulate``, whose directory is
    whole, renders the real values."""
    view = (person or Profile(id=recipient_id or "")).view()
    # Lenient, not strict: it prints as nothing and is false, and ``|default(...)`` still applies to it.
    view.update({name: Undefined(name=f"recipient.{name}") for name in KNOWN_FIELDS if name not in view})
    return view


def message_id(run: Run, journey: Journey, e: Enrollment, step_id: str) -> str:
    """Deterministic from (employee, journey, version, enrollment, step) and the visit after the first."""
    return message_key(run.state.employee_id, journey.id, journey.version, e.enrollment_id, step_id,
                       e.visits.get(step_id, 1))


def schedule(run: Run, e: Enrollment, due: datetime) -> None:
    """Wake this enrollment at ``due``; the token tells a current timer from a stale one."""
    e.wake_at = due
    run.effects.append(Schedule(due, EnrollmentTimer(run.state.employee_id, e.journey_id,
                                                     e.enrollment_id, e.token)))


def finish(run: Run, journey: Journey, kind: Literal["completed", "exited"]) -> None:
    """End the enrollment in ``journey``. A completed one whose exits test its trigger keeps that trigger
    (``EmployeeState.finished_triggers``): an exit still stops what it left waiting (for a reviewer, quiet hours or
    the cap), and its ``when`` reads the trigger as it did while the enrollment ran."""
    e = run.state.enrollments.pop(journey.id, None)
    if e is not None and kind == "completed" and any(
            rule.when is not None and rule.when.reads("trigger") for rule in journey.exit_on):
        run.state.finished_triggers[journey.id] = e.trigger
    run.effects.append(Lifecycle(kind, journey.id))
