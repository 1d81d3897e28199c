"""``branch``: ``if`` true jumps to ``then``, else to ``else`` (default: the next step)."""

from __future__ import annotations

from typing import Any

from wayfinder.journeys.model import BranchStep, Journey
from wayfinder.journeys.state import Enrollment
from wayfinder.journeys.steps.context import Next, Run, test


def run_branch(run: Run, journey: Journey, e: Enrollment, step: BranchStep, scope: dict[str, Any]) -> Next:
    ok = test(run, step.branch.if_, journey, step.id, scope)
    target = step.branch.then if ok else step.branch.else_
    return journey.step_index[target] if target is not None else e.step + 1
